/* tabpipe-train: a classifier from a labelled stream. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/metrics.h"
#include "data/shard.h"
#include "data/stream.h"
#include "model/modelfile.h"
#include "model/safetensors.h"
#include "registry/version.h"
#include "tool.h"
#include "train/regression.h"
#include "train/train.h"

typedef struct {
	const char *db, *encoder, *name, *out, *valid, *reasons, *teacher;
	int quiet;
} settings;

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static const tp_opt options[] = {
	TP_DB_OPTION(settings, db),
	{OPT(encoder), .name = "encoder", .arg = "file", .type = TP_OPT_STRING,
	    .help = "start from the encoder of a pretrained model file"},
	{OPT(name), .name = "name", .arg = "model", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD,
	    .help = "register the model file as the next version of model"},
	TOOL_QUIET(settings, quiet),
	{OPT(reasons), .name = "reasons", .arg = "file", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD,
	    .help = "reason-code texts for the model to keep (tabpipe-reasons(5))"},
	{OPT(teacher), .name = "teacher", .arg = "model", .type = TP_OPT_STRING,
	    .help = "learn the probabilities of a model file (an ensemble) instead of the labels"},
	{OPT(valid), .name = "valid", .arg = "file", .type = TP_OPT_STRING,
	    .flags = TP_OPT_REQUIRED, .help = "the validation stream"},
	{OPT(out), .name = "output", .letter = 'o', .arg = "model",
	    .type = TP_OPT_STRING, .flags = TP_OPT_REQUIRED,
	    .help = "where the model goes"},
	{0},
};

/* The progress callback's context: the tool's report of each epoch, and
 * the epochs' history that the model file keeps. With a checkpoint the
 * history is kept beside it too (CHECKPOINT.history), since a resumed run
 * reports only the epochs it runs and the checkpoint, lib/train's, has no
 * room for it: the file is written before each checkpoint, so that it
 * holds the checkpoint's epochs and, when the run was killed between the
 * two, one more, which a resumed run runs again and drops. */
typedef struct {
	tool_progress tool;
	cJSON *history;      /* the epochs so far, in order */
	char *kept;          /* CHECKPOINT.history, or NULL */
	int resumed;         /* the first report after --resume is to come */
	int warned;          /* the history could not be kept once: said */
} epochs_progress;

/* What the history keeps of an epoch: the report, but for its times,
 * which would make two runs of the same seed differ in their bytes. */
static cJSON *
epoch_json(const tp_epoch_report *r)
{
	cJSON *j = cJSON_CreateObject();

	if (r->members > 1)
		cJSON_AddNumberToObject(j, "member", r->member);
	cJSON_AddNumberToObject(j, "epoch", r->epoch);
	cJSON_AddNumberToObject(j, "loss", r->loss);
	cJSON_AddNumberToObject(j, "valid_auc", r->valid_auc);
	cJSON_AddNumberToObject(j, "valid_loss", r->valid_loss);
	cJSON_AddBoolToObject(j, "best", r->best);
	return j;
}

/* Drops the epochs from `from` on, those a resumed run runs again, and
 * what is no epoch (a file edited by hand). */
static void
history_cut(cJSON *history, int from)
{
	for (int i = cJSON_GetArraySize(history) - 1; i >= 0; i--) {
		const cJSON *ep = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetArrayItem(history, i), "epoch");
		if (!cJSON_IsNumber(ep) || ep->valuedouble >= from)
			cJSON_DeleteItemFromArray(history, i);
	}
}

static void
history_keep(epochs_progress *p)
{
	char *text = cJSON_PrintUnformatted(p->history);
	tp_outfile o = {0};
	tp_err e = {0};
	int rc;

	if (text == NULL)
		rc = tp_err_nomem(&e, "the history");
	else if ((rc = tp_outfile_open(&o, p->kept, &e)) == TP_OK) {
		fprintf(o.f, "%s\n", text);
		rc = tp_outfile_commit(&o, &e);
	}
	free(text);
	/* The history is a record, not the work: the run goes on without
	 * it, said once. */
	if (rc != TP_OK && !p->warned) {
		tool_report(&e);
		tool_warn("the history of the epochs is not kept beside the "
		    "checkpoint: a resumed run's model file will lack the "
		    "epochs before it");
		p->warned = 1;
	}
}

static void
epoch_report(void *ctx, const tp_epoch_report *r)
{
	epochs_progress *p = ctx;

	if (p->resumed) {
		history_cut(p->history, r->epoch);
		int kept = cJSON_GetArraySize(p->history);
		if (kept < r->epoch - 1)
			tool_warn("%s holds %d of the %d epochs of the checkpoint: "
			    "the model file's history lacks the others", p->kept,
			    kept, r->epoch - 1);
		p->resumed = 0;
	}
	cJSON_AddItemToArray(p->history, epoch_json(r));
	if (p->kept != NULL)
		history_keep(p);
	tool_epoch_report(&p->tool, r);
}

/* The history of the checkpoint to resume from, or an empty one. A
 * history that cannot be read beside a checkpoint that can is said, and
 * the model file's starts at the resumed epoch; a missing checkpoint is
 * tp_train's to refuse. */
static int
history_open(epochs_progress *p, const tp_train_opts *o, tp_err *e)
{
	char *text = NULL;
	size_t len;
	tp_err why = {0};

	if (o->checkpoint != NULL) {
		size_t n = strlen(o->checkpoint) + sizeof(".history");
		if ((p->kept = malloc(n)) == NULL)
			return tp_err_nomem(e, "a file name");
		snprintf(p->kept, n, "%s.history", o->checkpoint);
	}
	if (o->resume) {
		p->resumed = 1;
		if (tp_read_file(p->kept, &text, &len, &why) != TP_OK) {
			if (access(o->checkpoint, F_OK) == 0)
				tool_warn("%s; the model file's history starts at "
				    "the resumed epoch", why.msg);
		} else if (!cJSON_IsArray(p->history = cJSON_Parse(text))) {
			tool_warn("%s: not a history of epochs; the model file's "
			    "history starts at the resumed epoch", p->kept);
			cJSON_Delete(p->history);
			p->history = NULL;
		}
		free(text);
	}
	if (p->history == NULL && (p->history = cJSON_CreateArray()) == NULL)
		return tp_err_nomem(e, "the history");
	return TP_OK;
}

/* The run's inputs: the fingerprints of the data, of its encoding and of
 * the encoder's and the teacher's bytes. */
static cJSON *
inputs(const tp_rows *train, const tp_batch *valid, const tp_encoding *enc,
    const tp_train_opts *o, char train_fingerprint[65])
{
	cJSON *j = cJSON_CreateObject();
	char valid_fingerprint[65];

	tp_rows_fingerprint(train, train_fingerprint);
	tp_batch_fingerprint(valid, valid_fingerprint);
	cJSON_AddStringToObject(j, "train", train_fingerprint);
	cJSON_AddStringToObject(j, "valid", valid_fingerprint);
	cJSON_AddNumberToObject(j, "train_rows", (double)tp_rows_count(train));
	cJSON_AddNumberToObject(j, "valid_rows", (double)valid->n);
	cJSON_AddStringToObject(j, "encoding", enc->fingerprint);
	if (o->encoder != NULL)
		cJSON_AddStringToObject(j, "encoder", o->encoder->sha256);
	if (o->teacher != NULL)
		cJSON_AddStringToObject(j, "teacher", o->teacher_sha256);
	return j;
}

/* The streams and the teacher must be one encoding, and the training
 * stream labelled. */
static int
check_streams(const settings *s, const char *path, const tp_encoding *enc,
    const tp_encoding *venc, const tp_encoding *tenc, tp_err *e)
{
	if (enc->target_col < 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: the stream has no target: ingest it with --target", path);
	if (strcmp(enc->fingerprint, venc->fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: encoded with %.12s..., the training stream with %.12s...: ingest both with one encoding",
		    s->valid, venc->fingerprint, enc->fingerprint);
	if (s->teacher != NULL && strcmp(enc->fingerprint, tenc->fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: a model of the encoding %.12s..., the training stream's is %.12s...: the teacher must be trained on streams of the same ingest",
		    s->teacher, tenc->fingerprint, enc->fingerprint);
	return TP_OK;
}

/* The run's result; with --name, the model registered as a version. */
static int
finish(const settings *s, tool_progress *p, const tp_train_result *res,
    cJSON **result, tp_err *e)
{
	char sha[65], text[16];
	int rc, version;

	*result = cJSON_CreateObject();
	cJSON_AddNumberToObject(*result, "valid_auc", res->valid_auc);
	cJSON_AddNumberToObject(*result, "valid_f1", res->valid_f1);
	cJSON_AddNumberToObject(*result, "threshold", res->threshold);
	cJSON_AddNumberToObject(*result, "best_epoch", res->best_epoch);
	cJSON_AddNumberToObject(*result, "epochs", res->epochs_run);
	if (!isnan(res->additive_penalty)) {
		cJSON *a = cJSON_AddObjectToObject(*result, "additive");
		cJSON_AddNumberToObject(a, "penalty", res->additive_penalty);
		cJSON_AddNumberToObject(a, "seconds", res->additive_seconds);
		cJSON_AddNumberToObject(a, "valid_auc", res->additive_auc);
	}
	if (res->members > 1) {
		cJSON *members = cJSON_AddArrayToObject(*result, "members");
		for (int j = 0; j < res->members; j++) {
			cJSON *mj = cJSON_CreateObject();
			cJSON_AddNumberToObject(mj, "valid_auc",
			    res->member[j].valid_auc);
			cJSON_AddNumberToObject(mj, "best_epoch",
			    res->member[j].best_epoch);
			cJSON_AddNumberToObject(mj, "epochs",
			    res->member[j].epochs_run);
			cJSON_AddItemToArray(members, mj);
		}
	}
	if (s->name != NULL) {
		if ((rc = tp_file_sha256(s->out, sha, e)) != TP_OK ||
		    (rc = tp_version_register(p->db, s->name, s->out, sha, p->run,
		    *result, &version, e)) != TP_OK)
			return rc;
		cJSON_AddStringToObject(*result, "model", s->name);
		cJSON_AddNumberToObject(*result, "version", version);
		if (!s->quiet)
			fprintf(stderr, "%s: registered %s version %d\n", tool_name(),
			    s->name, version);
	}
	if (s->quiet)
		return TP_OK;
	if (!isnan(res->additive_penalty)) {
		char alone[48] = "";
		if (!isnan(res->additive_auc))
			snprintf(alone, sizeof(alone), ", valid AUC alone %.4f",
			    res->additive_auc);
		fprintf(stderr, "%s: the additive regression: L2 penalty %g%s, fitted in %.1f s\n",
		    tool_name(), res->additive_penalty, alone,
		    res->additive_seconds);
	}
	if (res->members > 1) {
		for (int j = 0; j < res->members; j++)
			fprintf(stderr, "%s: member %d: best epoch %d of %d: valid AUC %s\n",
			    tool_name(), j + 1, res->member[j].best_epoch,
			    res->member[j].epochs_run,
			    tool_auc_text(res->member[j].valid_auc, text));
		fprintf(stderr, "%s: the ensemble of %d: valid AUC %s, threshold %.4f (valid F1 %.4f); model in %s\n",
		    tool_name(), res->members, tool_auc_text(res->valid_auc, text),
		    res->threshold, res->valid_f1, s->out);
	} else
		fprintf(stderr, "%s: best epoch %d of %d: valid AUC %s, threshold %.4f (valid F1 %.4f); model in %s\n",
		    tool_name(), res->best_epoch, res->epochs_run,
		    tool_auc_text(res->valid_auc, text), res->threshold,
		    res->valid_f1, s->out);
	return TP_OK;
}

int
main(int argc, char **argv)
{
	settings s = {0};
	tp_train_opts o;
	tp_shard shard = {0};
	tool_options families[] = {
		{tp_config_options, &o.model}, {tp_train_options, &o},
		{tp_classify_options, &o}, {options, &s},
		{tp_shard_options, &shard}, {NULL, NULL},
	};
	tp_train_result res;
	tp_encoding venc = {0};
	const tp_encoding *enc = NULL;
	tp_rows *train = NULL;
	tp_batch valid = {0};
	tp_st_file encoder = {0};
	tp_model m = {0}, teacher = {0};
	tp_encoding tenc = {0};
	tp_model_meta meta = {.parts = TP_WITH_HEAD}, tmeta = {0};
	epochs_progress progress = {0};
	cJSON *params = NULL, *in = NULL, *result = NULL;
	char **files, *path;
	tp_err e = {0};
	int n, rc;

	tp_train_defaults(&o);
	tool_init("train", families, "[file ...]", NULL);
	tool_parse(argc, argv);
	files = tool_inputs(argc, argv, &n);
	/* The training input in messages. */
	if ((path = tp_shard_name(files[0], n, &shard)) == NULL)
		tool_die(TP_EINTERNAL, "out of memory");
	if (s.valid == NULL || s.out == NULL)
		tool_die(TP_EUSAGE, "--valid and -o are required: early stopping and the threshold need a validation stream, and the model a file");
	if (o.resume && o.checkpoint == NULL)
		tool_die(TP_EUSAGE, "--resume needs --checkpoint");
	if ((rc = tp_config_check(&o.model, &e)) != TP_OK ||
	    (rc = tp_train_check(&o, &e)) != TP_OK)
		tool_die(rc, "%s", e.msg);
	tool_device(o.device);
	if (s.name != NULL && strcmp(s.out, "-") == 0)
		tool_die(TP_EUSAGE, "--name registers the model file: give -o a file, not standard output");
	progress.tool.db = tool_db_open(s.db);
	if (s.name != NULL && progress.tool.db == NULL)
		tool_die(TP_EUSAGE, "--name registers the model in the registry: give a database with --db or TABPIPE_DB");
	o.progress = epoch_report;
	o.ctx = &progress;
	progress.tool.quiet = s.quiet;

	if ((rc = history_open(&progress, &o, &e)) != TP_OK ||
	    (rc = tp_rows_open(&train, files, n, &shard, (size_t)o.buffer_rows,
	    &e)) != TP_OK ||
	    (rc = tp_stream_load(s.valid, &venc, &valid, &e)) != TP_OK ||
	    (s.encoder != NULL &&
	    (rc = tp_st_open(&encoder, s.encoder, &e)) != TP_OK) ||
	    (s.teacher != NULL && (rc = tp_model_load(s.teacher, &teacher, &tenc,
	    &tmeta, TP_WITH_HEAD, o.threads, &e)) != TP_OK))
		goto fail;
	o.encoder = s.encoder != NULL ? &encoder : NULL;
	o.teacher = s.teacher != NULL ? &teacher : NULL;
	o.teacher_sha256 = tmeta.sha256;
	enc = tp_rows_encoding(train);
	params = tool_params();
	in = inputs(train, &valid, enc, &o, meta.data_fingerprint);
	progress.tool.run = tool_run_start(progress.tool.db, params, in);
	if (progress.tool.run > 0)
		snprintf(meta.run_id, sizeof(meta.run_id), "%lld",
		    (long long)progress.tool.run);
	if ((rc = check_streams(&s, path, enc, &venc, &tenc, &e)) != TP_OK)
		goto fail;
	if (!s.quiet && !tp_labels_of_both_classes(valid.label, valid.n))
		tool_warn("%s: the validation rows are of one class: there is no AUC to stop early on, so %s kept",
		    s.valid, o.model.additive ? "the additive regression alone is" :
		    "the first epoch's weights are");
	/* The fit takes seconds, some 7 on 200,000 rows (the most it reads),
	 * before the first epoch's line; a resumed run's checkpoint holds it. */
	if (!s.quiet && o.model.additive && !o.resume)
		fprintf(stderr, "%s: fitting the additive regression first, its penalty by %d-fold cross-validation\n",
		    tool_name(), TP_REGRESSION_FOLDS);
	if ((s.reasons != NULL && (rc = tp_reasons_load(&meta.reasons, s.reasons,
	    enc, &e)) != TP_OK) ||
	    (rc = tp_rows_reference(train, enc, &meta.reference, &e)) != TP_OK ||
	    (rc = tp_train_rows(&o, enc, train, &valid, &m, &res, &e)) != TP_OK)
		goto fail;
	meta.threshold = res.threshold;
	if (o.threshold >= 0)
		snprintf(meta.threshold_rule, sizeof(meta.threshold_rule),
		    "given: %.9g", o.threshold);
	else
		snprintf(meta.threshold_rule, sizeof(meta.threshold_rule),
		    "best F1 on the validation rows");
	/* A run resumed from its last epoch reports none: its history is the
	 * checkpoint's, as far as the checkpoint went, and so is the one kept
	 * beside it from now on. (An ensemble has no checkpoint, and its
	 * members' epochs repeat numbers.) */
	if (res.members == 1)
		history_cut(progress.history, res.epochs_run + 1);
	if (progress.kept != NULL)
		history_keep(&progress);
	if ((meta.history = cJSON_PrintUnformatted(progress.history)) == NULL) {
		rc = tp_err_nomem(&e, "the history");
		goto fail;
	}
	if ((rc = tp_model_save(s.out, &m, enc, &meta, &e)) != TP_OK ||
	    (rc = finish(&s, &progress.tool, &res, &result, &e)) != TP_OK)
		goto fail;
	goto done;
fail:
	rc = tool_report(&e);
done:
	rc = tool_run_finish(progress.tool.db, progress.tool.run, rc, e.msg, result);
	cJSON_Delete(params);
	cJSON_Delete(in);
	cJSON_Delete(result);
	cJSON_Delete(progress.history);
	free(progress.kept);
	tp_model_meta_free(&meta);
	tp_st_close(&encoder);
	tp_model_free(&m);
	tp_model_free(&teacher);
	tp_encoding_free(&tenc);
	tp_model_meta_free(&tmeta);
	tp_batch_free(&valid);
	tp_encoding_free(&venc);
	tp_rows_close(train);
	free(path);
	return tool_finish(rc);
}
