/* tabpipe-evaluate: a model's measures on a labelled stream. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "data/partial.h"
#include "data/shard.h"
#include "data/stream.h"
#include "quality/evaluate.h"
#include "quality/fairness.h"
#include "quality/importance.h"
#include "registry/version.h"
#include "tool.h"

typedef struct {
	int bins, threads, importance, repeats, min_group_rows, attribution_rows,
	    steps;
	uint64_t seed;
	enum tp_device device;
	const char *db, *model, *out, *group, *group_file;
	int json, quiet, partial, merge;
} settings;

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static const tp_opt options[] = {
	{OPT(bins), .name = "bins", .arg = "n", .type = TP_OPT_INT, .min = 1,
	    .max = 10000, .flags = TP_OPT_RECORD,
	    .help = "equal-width bins of the calibration table"},
	{OPT(repeats), .name = "repeats", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 1000, .flags = TP_OPT_RECORD,
	    .help = "shuffles of each feature for --importance"},
	{OPT(seed), .name = "seed", .arg = "n", .type = TP_OPT_U64,
	    .flags = TP_OPT_RECORD, .help = "the seed of --importance's shuffles"},
	{OPT(threads), .name = "threads", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 256, .flags = TP_OPT_RECORD,
	    .help = "CPU threads that score"},
	TP_DEVICE_OPTION(settings, device),
	TP_DB_OPTION(settings, db),
	{OPT(group), .name = "group", .arg = "column", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD,
	    .help = "measures by group of this column's values (fairness)"},
	{OPT(group_file), .name = "group-file", .arg = "file.csv",
	    .type = TP_OPT_STRING, .flags = TP_OPT_RECORD,
	    .help = "a CSV that holds --group's column, matched by id"},
	{OPT(min_group_rows), .name = "min-group-rows", .arg = "n",
	    .type = TP_OPT_INT, .min = 1, .max = 1000000000,
	    .flags = TP_OPT_RECORD,
	    .help = "rows a group needs to be compared with --group"},
	{OPT(importance), .name = "importance", .type = TP_OPT_FLAG,
	    .flags = TP_OPT_RECORD,
	    .help = "the AUC lost when each feature is shuffled, and its mean |attribution|"},
	{OPT(attribution_rows), .name = "attribution-rows", .arg = "n",
	    .type = TP_OPT_INT, .min = 1, .max = 1000000000,
	    .flags = TP_OPT_RECORD,
	    .help = "rows whose attributions --importance averages"},
	{OPT(steps), .name = "steps", .arg = "n", .type = TP_OPT_INT, .min = 1,
	    .max = TP_EXPLAIN_MAX_STEPS, .flags = TP_OPT_RECORD,
	    .help = "quadrature steps of the attributions"},
	{OPT(json), .name = "json", .type = TP_OPT_FLAG,
	    .help = "the full report as JSON, on a terminal too"},
	{OPT(partial), .name = "partial", .type = TP_OPT_FLAG,
	    .flags = TP_OPT_RECORD,
	    .help = "write the partial result of the input, to merge"},
	{OPT(merge), .name = "merge", .type = TP_OPT_FLAG, .flags = TP_OPT_RECORD,
	    .help = "the files are partial results: merge them"},
	{OPT(model), .name = "model", .letter = 'm', .arg = "model",
	    .type = TP_OPT_STRING,
	    .help = "the model file, or a registry reference (NAME@production)"},
	{OPT(out), .name = "output", .letter = 'o', .arg = "report.json",
	    .type = TP_OPT_STRING, .help = "where the report goes"},
	TOOL_QUIET(settings, quiet),
	{0},
};

/* The model an evaluation is of: the one loaded, or the one the
 * partials name. */
typedef struct {
	const char *name;       /* as given, or its SHA-256 */
	int version;            /* registered version, 0 for none */
	int64_t version_id;     /* its model_versions.id, 0 for none */
	char sha256[65];
} model_id;

/* The partial of the input, every block scored on the device; with keep,
 * its rows and their probabilities kept too. */
static int
measure(const settings *s, tp_versioned_model *vm, tp_shard_reader *r,
    const char *path, tp_eval_partial *part, tp_batch *keep, float **prob,
    char data[65], tp_err *e)
{
	const tp_encoding *enc = tp_shard_reader_encoding(r);
	tp_scorer *scorer = NULL;
	int rc;

	if (strcmp(enc->fingerprint, vm->enc.fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: encoded with %.12s..., the model %s with %.12s...: ingest it with the model's encoding (tabpipe-ingest --encoding)",
		    path, enc->fingerprint, s->model, vm->enc.fingerprint);
	if ((rc = tp_eval_partial_init(part, vm->meta.threshold, s->bins, e)) != TP_OK)
		return rc;
	if ((rc = tp_scorer_open(&scorer, &vm->model, s->device, e)) != TP_OK)
		return tp_err_prefix(e, "%s", s->model);
	rc = tp_eval_partial_read(part, r, scorer, keep, prob, data, e);
	tp_scorer_close(scorer);
	return rc;
}

/* What an evaluation of the whole input says of its labels. */
static int
judge(const tp_evaluation *ev, const char *path, tp_err *e)
{
	if (ev->labelled == 0)
		return tp_err_set(e, TP_EDATA, "%s: no row has a label: evaluating takes the target's values", path);
	if (ev->positives == 0 || ev->positives == ev->labelled)
		tool_warn("%s: every labelled row is %s: AUC, Gini, KS and the ROC curve are null%s",
		    path, ev->positives ? "positive" : "negative",
		    ev->positives ? "" : ", and so are average precision and the precision-recall curve");
	return TP_OK;
}

/* v in format, or "n/a" where the measure is not defined (NaN). The text
 * lives in one of 16 buffers taken in turn: enough for the numbers of one
 * printf. */
static const char *
num(const char *format, double v)
{
	static char buf[16][32];
	static int next;
	char *b = buf[next++ % 16];

	if (isnan(v))
		return "n/a";
	snprintf(b, sizeof(buf[0]), format, v);
	return b;
}

/* The calibration in a few lines: the bins that have rows, with the
 * row-weighted mean of |predicted - observed| (the expected calibration
 * error); more than 10 such bins would not fit the screen, and the JSON
 * has them. */
static void
summary_calibration(const tp_evaluation *ev)
{
	double gap = 0;
	int used = 0;

	for (int b = 0; b < ev->nbins; b++) {
		const tp_calibration_bin *c = &ev->calibration[b];
		if (c->rows == 0)
			continue;
		used++;
		gap += (double)c->rows * fabs(c->mean_predicted - c->observed_rate);
	}
	printf("\nCalibration, %d bins: mean gap between predicted and observed %s\n",
	    ev->nbins, num("%.4f", gap / (double)ev->labelled));
	if (used > 10) {
		printf("  %d bins have rows: --json lists them\n", used);
		return;
	}
	for (int b = 0; b < ev->nbins; b++) {
		const tp_calibration_bin *c = &ev->calibration[b];
		if (c->rows > 0)
			printf("  %c%.3f, %.3f]  %8llu rows  predicted %.4f  observed %.4f\n",
			    b == 0 ? '[' : '(', c->lower, c->upper,
			    (unsigned long long)c->rows, c->mean_predicted,
			    c->observed_rate);
	}
}

/* The measures by group in a few lines: a line a group (10 at most; the
 * JSON has them all), the groups under four-fifths marked with a "*", the
 * small ones, which are not compared, with a "~". */
static void
summary_fairness(const tp_fairness *f, const char *column)
{
	int small = 0;

	printf("\nBy %.20s, approved when p < %.4f: %d under 4/5 of the reference\n",
	    column, f->threshold, f->adverse);
	printf("  %-11s %7s %6s %6s %8s %6s %6s %6s %6s %6s\n", "group", "rows",
	    "pos", "AUC", "approved", "impact", "TPR", "FPR", "pred", "obs");
	for (int k = 0; k < f->ngroups; k++) {
		const tp_fairness_group *g = &f->groups[k];
		small += g->small;
		if (k >= 10)
			continue;
		printf("  %-11.11s %7llu%c%6llu %6s %8s %5s%c %6s %6s %6s %6s\n",
		    g->name, (unsigned long long)g->rows, g->small ? '~' : ' ',
		    (unsigned long long)g->positives, num("%.4f", g->auc),
		    num("%.1f%%", 100 * g->approval_rate),
		    num("%.3f", g->impact_ratio), g->adverse ? '*' : ' ',
		    num("%.3f", g->tpr), num("%.3f", g->fpr),
		    num("%.3f", g->mean_predicted), num("%.3f", g->observed_rate));
	}
	if (f->ngroups > 10)
		printf("  %d groups in all: --json lists them\n", f->ngroups);
	if (small > 0)
		printf("  ~ %d group%s of under %llu rows: not compared\n", small,
		    small == 1 ? "" : "s", (unsigned long long)f->min_rows);
	if (f->reference >= 0 && f->min_rows > 1)
		printf("  reference, the most approved of %llu rows or more: %.30s\n",
		    (unsigned long long)f->min_rows, f->groups[f->reference].name);
	else if (f->reference >= 0)
		printf("  reference, the most approved: %.30s\n",
		    f->groups[f->reference].name);
	else if (f->ngroups > 0)
		printf("  no group has %llu rows: none is compared (--min-group-rows)\n",
		    (unsigned long long)f->min_rows);
	if (!isnan(f->tpr_gap))
		printf("  largest TPR gap %.4f: %.25s against %.25s\n", f->tpr_gap,
		    f->groups[f->tpr_highest].name, f->groups[f->tpr_lowest].name);
}

/* The features that matter most to the model's AUC: the first 8 (the
 * JSON has them all), with their mean |attribution| when measured. */
static void
summary_importance(const tp_importance *imp)
{
	printf("\nAUC lost when a feature is shuffled, %d times (seed %llu)%s\n",
	    imp->repeats, (unsigned long long)imp->seed,
	    imp->attributed > 0 ? ";\nmean |attribution| in log-odds" : "");
	for (int k = 0; k < imp->nfeatures && k < 8; k++) {
		printf("  %-30.30s %8.4f +- %.4f", imp->features[k].name,
		    imp->features[k].mean, imp->features[k].std);
		if (imp->attributed > 0)
			printf("   %8.4f", imp->features[k].attribution);
		putchar('\n');
	}
	if (imp->attributed > 0)
		printf("  attributions of %llu rows, %d steps: gap %.3g on average, of a mean change %.3g\n",
		    (unsigned long long)imp->attributed, imp->steps, imp->gap.mean,
		    imp->gap.mean_change);
	if (imp->nfeatures > 8)
		printf("  %d features in all: --json lists them\n", imp->nfeatures);
}

/* The report as a person reads it on a terminal: one screen (under 40
 * lines of 80 columns) of what the JSON holds, without the curves'
 * thousands of points. */
static void
summary(const settings *s, const model_id *id, const tp_evaluation *ev,
    const tp_fairness *f, const tp_importance *imp, const char *data)
{
	size_t len = strlen(id->name);
	const char *name = len > 40 ? id->name + len - 37 : id->name;

	printf("Model %s%s", len > 40 ? "..." : "", name);
	if (id->version > 0)
		printf(", version %d", id->version);
	printf(" (%.12s)\n", id->sha256);
	printf("Data %.12s: %llu rows, %llu labelled, %llu positive (%s%%)\n\n",
	    data,
	    (unsigned long long)ev->rows, (unsigned long long)ev->labelled,
	    (unsigned long long)ev->positives,
	    num("%.1f", 100.0 * (double)ev->positives / (double)ev->labelled));
	printf("AUC %s   Gini %s   KS %s%s   PR-AUC %s\n",
	    num("%.4f", ev->auc), num("%.4f", ev->gini), num("%.4f", ev->ks),
	    isnan(ev->ks_threshold) ? "" : num(" at %.4f", ev->ks_threshold),
	    num("%.4f", ev->pr_auc));
	printf("Log loss %s   Brier %s\n\n", num("%.4f", ev->log_loss),
	    num("%.4f", ev->brier));
	printf("Threshold %.4f: precision %.4f  recall %.4f  F1 %.4f  accuracy %.4f\n\n",
	    ev->threshold, ev->precision, ev->recall, ev->f1, ev->accuracy);
	printf("            predicted 1  predicted 0\n");
	printf("  actual 1  %11llu  %11llu\n", (unsigned long long)ev->tp,
	    (unsigned long long)ev->fn);
	printf("  actual 0  %11llu  %11llu\n\n", (unsigned long long)ev->fp,
	    (unsigned long long)ev->tn);
	printf("Gains by decile, highest scores first\n");
	printf("  decile      rows  positives  min score  cum rows  cum pos  lift  cum lift\n");
	for (int d = 0; d < TP_DECILES; d++) {
		const tp_gains_decile *g = &ev->gains[d];
		printf("  %6d  %8llu  %9llu  %9s  %8s  %7s  %4s  %8s\n",
		    d + 1, (unsigned long long)g->rows,
		    (unsigned long long)g->positives, num("%.4f", g->score_min),
		    num("%.1f%%", 100 * g->cumulative_rows_share),
		    num("%.1f%%", 100 * g->cumulative_positives_share),
		    num("%.2f", g->lift), num("%.2f", g->cumulative_lift));
	}
	summary_calibration(ev);
	if (s->group != NULL)
		summary_fairness(f, s->group);
	if (s->importance)
		summary_importance(imp);
	printf("\nThe full report, with the curves: --json, or -o report.json\n");
}

/* The report, or the partial with --partial, to --output. */
static int
write_out(const settings *s, const tp_partial *env, const tp_eval_partial *part,
    cJSON *json, tp_err *e)
{
	cJSON *doc, *body;
	int rc;

	if (!s->partial)
		return tool_write_report(s->out, json, e);
	if ((doc = tp_partial_json(env)) == NULL ||
	    (body = cJSON_AddObjectToObject(doc, "evaluate")) == NULL ||
	    !tp_eval_partial_json(part, body)) {
		cJSON_Delete(doc);
		return tp_err_nomem(e, "the partial");
	}
	rc = tool_write_report(s->out, doc, e);
	cJSON_Delete(doc);
	return rc;
}

int
main(int argc, char **argv)
{
	settings s = {.bins = 10, .threads = 2, .repeats = 5,
	    .attribution_rows = 1000, .steps = TP_EXPLAIN_STEPS,
	    .min_group_rows = 30, .out = "-"};
	tp_shard shard = {0};
	tool_options families[] = {
		{options, &s}, {tp_shard_options, &shard}, {NULL, NULL},
	};
	tp_versioned_model vm = {0};
	tp_shard_reader *r = NULL;
	tp_partial env = {0};
	tp_eval_partial part = {0};
	tp_batch b = {0};
	tp_evaluation ev = {0};
	tp_grouping groups = {0};
	tp_fairness fair = {0};
	tp_importance imp = {0};
	model_id id = {0};
	float *prob = NULL;
	cJSON *params = NULL, *inputs = NULL, *json = NULL, *result = NULL;
	char data[65], **files, *path;
	int64_t run = 0, recorded = 0;
	int n, whole;
	tp_db *db;
	tp_err e = {0};
	int rc, terminal;

	tool_init("evaluate", families, "[file ...]", NULL);
	tool_parse(argc, argv);
	files = tool_inputs(argc, argv, &n);
	/* The input in messages. */
	if ((path = tp_shard_name(files[0], n, &shard)) == NULL)
		tool_die(TP_EINTERNAL, "out of memory");
	if (s.model == NULL && !s.merge)
		tool_die(TP_EUSAGE, "-m is required: name the model file or registry reference to evaluate");
	if ((s.partial || s.merge) && (s.group != NULL || s.importance))
		tool_die(TP_EUSAGE, "--group and --importance need every row in one run: not with --partial or --merge");
	if (s.merge && (tool_given("bins") || tool_given("threads") ||
	    tool_given("device") || shard.n > 0))
		tool_die(TP_EUSAGE, "--merge takes the settings of its partials: no --bins, --threads, --device or --shard");
	if (s.merge && n == 1 && strcmp(files[0], "-") == 0)
		tool_die(TP_EUSAGE, "--merge: name the partials to merge");
	if (s.partial && s.json)
		tool_die(TP_EUSAGE, "--json is of the report: --partial writes a partial");
	if (tool_given("repeats") && !s.importance)
		tool_die(TP_EUSAGE, "--repeats needs --importance: it counts the shuffles of each feature");
	if ((tool_given("attribution_rows") || tool_given("steps")) &&
	    !s.importance)
		tool_die(TP_EUSAGE, "--attribution-rows and --steps need --importance: they are of its attributions");
	if (s.group_file != NULL && s.group == NULL)
		tool_die(TP_EUSAGE, "--group-file needs --group: name the column of the file to group by");
	if (tool_given("min_group_rows") && s.group == NULL)
		tool_die(TP_EUSAGE, "--min-group-rows needs --group: it is the rows a group needs to be compared");
	/* As git and jq choose: a person at a terminal gets a screen, a
	 * script (a pipe, a file, -o, --json) the report it always had. */
	terminal = !s.json && !s.partial && !tool_given("out") &&
	    isatty(STDOUT_FILENO);
	/* Fairness and importance take every row of one run; the rest a
	 * block at a time. */
	whole = s.group != NULL || s.importance;
	if (!s.merge)
		tool_device(s.device);
	db = tool_db_open(s.db);
	params = tool_params();
	inputs = cJSON_CreateObject();

	if (s.merge) {
		cJSON *partials = cJSON_AddArrayToObject(inputs, "partials");
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(partials, cJSON_CreateString(files[i]));
		run = tool_run_start(db, params, inputs);
		if ((rc = tp_partial_fold(files, n, "evaluate", &env,
		    tp_eval_partial_fold, &part, &e)) != TP_OK)
			goto fail;
		id = (model_id){env.model, part.version, part.version_id, ""};
		snprintf(id.sha256, sizeof(id.sha256), "%s", env.model);
		/* -m names the model the partials must be of, and its version
		 * in this registry. */
		if (s.model != NULL) {
			if ((rc = tp_version_load(&vm, db, s.model, TP_WITH_HEAD, 1,
			    &e)) != TP_OK)
				goto fail;
			if (strcmp(vm.meta.sha256, id.sha256) != 0) {
				rc = tp_err_set(&e, TP_EDATA,
				    "%s: a partial of the scores of %.12s..., -m %s is %.12s...",
				    files[0], id.sha256, s.model, vm.meta.sha256);
				goto fail;
			}
			id = (model_id){s.model, vm.version.version, vm.version.id, ""};
			snprintf(id.sha256, sizeof(id.sha256), "%s", vm.meta.sha256);
		}
		tp_partial_fingerprint(&env, data);
	} else {
		if ((rc = tp_version_load(&vm, db, s.model, TP_WITH_HEAD |
		    (s.importance ? TP_WITH_EXPLAIN : 0), s.threads, &e)) != TP_OK ||
		    (rc = tp_shard_reader_open(&r, files, n, &shard, &e)) != TP_OK)
			goto fail;
		id = (model_id){s.model, vm.version.version, vm.version.id, ""};
		snprintf(id.sha256, sizeof(id.sha256), "%s", vm.meta.sha256);
		cJSON_AddStringToObject(inputs, "encoding",
		    tp_shard_reader_encoding(r)->fingerprint);
		cJSON_AddStringToObject(inputs, "model", vm.meta.sha256);
		run = tool_run_start(db, params, inputs);
		if ((rc = measure(&s, &vm, r, path, &part, whole ? &b : NULL, &prob,
		    data, &e)) != TP_OK ||
		    (rc = tp_partial_init(&env, "evaluate",
		    tp_shard_reader_encoding(r)->fingerprint, vm.meta.sha256,
		    part.rows, data, path, &e)) != TP_OK)
			goto fail;
		part.version = id.version;
		part.version_id = id.version_id;
	}
	if (s.partial) {
		if ((rc = write_out(&s, &env, &part, NULL, &e)) != TP_OK)
			goto fail;
		result = cJSON_CreateObject();
		cJSON_AddStringToObject(result, "partial", data);
		cJSON_AddNumberToObject(result, "rows", (double)part.rows);
		if (!s.quiet)
			fprintf(stderr, "%s: %llu rows: a partial of %d part%s\n",
			    tool_name(), (unsigned long long)part.rows,
			    cJSON_GetArraySize(env.parts),
			    cJSON_GetArraySize(env.parts) == 1 ? "" : "s");
		goto done;
	}
	if ((rc = tp_eval_partial_finish(&ev, &part, &e)) != TP_OK ||
	    (rc = judge(&ev, s.merge ? files[0] : path, &e)) != TP_OK)
		goto fail;
	if (s.group != NULL && ((rc = s.group_file != NULL ?
	    tp_grouping_from_csv(&groups, tp_shard_reader_encoding(r), &b,
	    s.group, s.group_file, &e) : tp_grouping_from_stream(&groups,
	    tp_shard_reader_encoding(r), &b, s.group, &e)) != TP_OK ||
	    (rc = tp_fairness_measure(&fair, prob, b.label, groups.group, b.n,
	    (const char *const *)groups.names, groups.ngroups,
	    vm.meta.threshold, (uint64_t)s.min_group_rows, &e)) != TP_OK))
		goto fail;
	if (s.importance && (rc = tp_importance_measure(&imp, &vm.model,
	    tp_shard_reader_encoding(r), &b, s.repeats, s.seed, &e)) != TP_OK) {
		tp_err_prefix(&e, "%s: --importance", path);
		goto fail;
	}
	if (s.importance && vm.meta.reference.rows == 0)
		tool_warn("%s has no reference profile (its file was written before models kept one): --importance gives no attributions",
		    s.model);
	else if (s.importance && (rc = tp_importance_attribute(&imp,
	    &vm.model, &vm.meta.reference, &b, (size_t)s.attribution_rows,
	    s.steps, &e)) != TP_OK) {
		tp_err_prefix(&e, "%s: --importance", path);
		goto fail;
	}
	if ((json = tp_evaluation_json(&ev, id.sha256, id.version, data)) == NULL ||
	    (s.group != NULL && !cJSON_AddItemToObject(json, "fairness",
	    tp_fairness_json(&fair, s.group))) || (s.importance &&
	    !cJSON_AddItemToObject(json, "importance", tp_importance_json(&imp)))) {
		rc = tp_err_nomem(&e, "the report");
		goto fail;
	}
	if (terminal)
		summary(&s, &id, &ev, &fair, &imp, data);
	else
		rc = write_out(&s, &env, &part, json, &e);
	if (rc != TP_OK || (db != NULL && (rc = tp_evaluation_record(db, run,
	    id.version_id, id.sha256, data, ev.rows, json, &recorded, &e)) != TP_OK))
		goto fail;
	result = cJSON_CreateObject();
	cJSON_AddNumberToObject(result, "evaluation", (double)recorded);
	cJSON_AddStringToObject(result, "stream", data);
	cJSON_AddItemToObject(result, "auc", cJSON_Duplicate(cJSON_GetObjectItem(json, "auc"), 0));
	cJSON_AddItemToObject(result, "f1", cJSON_Duplicate(cJSON_GetObjectItem(json, "f1"), 0));
	/* The summary on the screen already says what this line does. */
	if (!s.quiet && !terminal)
		fprintf(stderr, "%s: %llu rows, %llu labelled, %llu positive: AUC %.4f, KS %.4f, F1 %.4f at threshold %.4f\n",
		    tool_name(), (unsigned long long)ev.rows,
		    (unsigned long long)ev.labelled, (unsigned long long)ev.positives,
		    ev.auc, ev.ks, ev.f1, ev.threshold);
	goto done;
fail:
	rc = tool_report(&e);
done:
	rc = tool_run_finish(db, run, rc, e.msg, result);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(json);
	cJSON_Delete(result);
	tp_evaluation_free(&ev);
	tp_eval_partial_free(&part);
	tp_partial_free(&env);
	tp_fairness_free(&fair);
	tp_importance_free(&imp);
	tp_grouping_free(&groups);
	free(prob);
	tp_batch_free(&b);
	tp_shard_reader_close(r);
	tp_versioned_model_free(&vm);
	free(path);
	return tool_finish(rc);
}
