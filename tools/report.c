/* tabpipe-report: one self-contained HTML file of a model's card, its
 * performance, drift, data quality and registry history, from the JSON
 * reports of the other tools, the model file and the registry. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "model/safetensors.h"
#include "registry/version.h"
#include "report/history.h"
#include "report/report.h"
#include "tool.h"

typedef struct {
	const char *db, *model, *notes, *out, *svg_dir;
	int quiet;
} settings;

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static const tp_opt options[] = {
	TP_DB_OPTION(settings, db),
	{OPT(model), .name = "model", .letter = 'm', .arg = "model",
	    .type = TP_OPT_STRING,
	    .help = "the model's card: a file, or a registry reference (NAME@production)"},
	{OPT(notes), .name = "notes", .arg = "file", .type = TP_OPT_STRING,
	    .help = "intended use and limitations, plain text"},
	{OPT(out), .name = "output", .letter = 'o', .arg = "report.html",
	    .type = TP_OPT_STRING, .help = "where the document goes"},
	{OPT(svg_dir), .name = "svg-dir", .arg = "dir", .type = TP_OPT_STRING,
	    .help = "write each chart as DIR/NAME.svg too"},
	TOOL_QUIET(settings, quiet),
	{0},
};

/* What the report is made of, to free. */
typedef struct {
	cJSON *docs[16];
	int ndocs;
	cJSON *card, *registry;
	char *notes;
	tp_versioned_model vm;
} inputs;

static void
inputs_free(inputs *in)
{
	for (int i = 0; i < in->ndocs; i++)
		cJSON_Delete(in->docs[i]);
	cJSON_Delete(in->card);
	cJSON_Delete(in->registry);
	free(in->notes);
	tp_versioned_model_free(&in->vm);
}

/* Reads each operand and puts it where its content says it belongs. */
static int
read_reports(int first, int argc, char **argv, inputs *in, tp_report_input *ri,
    tp_err *e)
{
	for (int i = first; i < argc; i++) {
		const char *path = argv[i];
		char *text;
		size_t len;
		cJSON *j;
		int rc;

		if (in->ndocs == 16)
			return tp_err_set(e, TP_EUSAGE, "%s: too many reports", path);
		if ((rc = tp_read_file(path, &text, &len, e)) != TP_OK)
			return rc;
		j = cJSON_ParseWithLength(text, len);
		if (j == NULL) {
			const char *at = cJSON_GetErrorPtr();
			long off = at && at >= text && at <= text + len ? at - text : 0;
			free(text);
			return tp_err_set(e, TP_EDATA, "%s: not JSON: byte %ld", path,
			    off);
		}
		free(text);
		in->docs[in->ndocs++] = j;
		switch (tp_report_kind(j)) {
		case TP_REPORT_EVALUATION:
			if (ri->nevaluations == 2)
				return tp_err_set(e, TP_EUSAGE, "%s: a third evaluation: "
				    "give the champion's and the challenger's only", path);
			ri->evaluation[ri->nevaluations++] =
			    (tp_report_doc){.json = j, .source = path};
			break;
		case TP_REPORT_VALIDATION:
			if (ri->validation.json)
				return tp_err_set(e, TP_EUSAGE, "%s: a second validation "
				    "report, after %s", path, ri->validation.source);
			ri->validation = (tp_report_doc){.json = j, .source = path};
			break;
		case TP_REPORT_DRIFT:
			if (ri->drift.json)
				return tp_err_set(e, TP_EUSAGE, "%s: a second drift report, "
				    "after %s", path, ri->drift.source);
			ri->drift = (tp_report_doc){.json = j, .source = path};
			break;
		default:
			return tp_err_set(e, TP_EDATA, "%s: not a report of "
			    "tabpipe-evaluate, tabpipe-validate or tabpipe-drift", path);
		}
	}
	return TP_OK;
}

/* The model's card from its file's metadata, and its registry's history
 * when it is a registered version. */
static int
read_model(const settings *s, tp_db *db, inputs *in, tp_err *e)
{
	tp_st_file f = {0};
	int rc;

	if ((rc = tp_version_load(&in->vm, db, s->model, TP_WITH_HEAD, 1,
	    e)) != TP_OK)
		return rc;
	if ((rc = tp_st_open(&f, in->vm.path, e)) != TP_OK)
		return rc;
	if (strcmp(f.sha256, in->vm.meta.sha256) != 0)
		rc = tp_err_set(e, TP_EDATA, "%s: the file changed while it was "
		    "read", in->vm.path);
	else
		rc = tp_report_card(cJSON_GetObjectItemCaseSensitive(f.header,
		    "__metadata__"), in->vm.path, f.sha256, &in->card, e);
	tp_st_close(&f);
	if (rc == TP_OK && db != NULL && in->vm.version.id > 0)
		rc = tp_history_load(db, in->vm.version.id,
		    in->vm.meta.data_fingerprint, &in->registry, e);
	return rc;
}

/* Without -m, the registry's history of the version the first evaluation
 * measured, when it is one. */
static int
read_evaluated(tp_db *db, const tp_report_input *ri, inputs *in, tp_err *e)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(ri->evaluation[0].json,
	    "model");
	const cJSON *sha = cJSON_GetObjectItemCaseSensitive(m, "sha256");
	tp_model_version v = {0};
	int rc;

	if (!cJSON_IsString(sha))
		return TP_OK;
	if ((rc = tp_version_by_sha256(db, sha->valuestring, &v, e)) == TP_OK &&
	    v.id > 0)
		rc = tp_history_load(db, v.id, NULL, &in->registry, e);
	tp_version_free(&v);
	return rc;
}

/* Each chart as DIR/NAME.svg. */
static int
write_svgs(const char *dir, const tp_report *r, tp_err *e)
{
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return tp_err_set(e, TP_ECREAT, "%s: %s", dir, strerror(errno));
	for (int i = 0; i < r->ncharts; i++) {
		size_t n = strlen(dir) + strlen(r->charts[i].name) + 6;
		char *path = malloc(n);
		tp_outfile o;
		int rc;

		if (path == NULL)
			return tp_err_nomem(e, "a chart's name");
		snprintf(path, n, "%s/%s.svg", dir, r->charts[i].name);
		if ((rc = tp_outfile_open(&o, path, e)) == TP_OK) {
			fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", o.f);
			fputs(r->charts[i].svg, o.f);
			rc = tp_outfile_commit(&o, e);
		}
		free(path);
		if (rc != TP_OK)
			return rc;
	}
	return TP_OK;
}

int
main(int argc, char **argv)
{
	settings s = {.out = "report.html"};
	tool_options families[] = {{options, &s}, {NULL, NULL}};
	tp_report_input ri = {.generator = "tabpipe-report " TABPIPE_VERSION};
	inputs in = {0};
	tp_report r = {0};
	tp_outfile o = {0};
	tp_db *db = NULL;
	size_t len;
	int first, rc;
	tp_err e = {0};

	tool_init("report", families, "[report.json ...]", NULL);
	first = tool_parse(argc, argv);
	if (first == argc && s.model == NULL && s.notes == NULL)
		tool_die(TP_EUSAGE, "nothing to report: give the JSON reports of "
		    "tabpipe-evaluate, -validate or -drift, or a model with -m");
	if ((rc = read_reports(first, argc, argv, &in, &ri, &e)) != TP_OK)
		goto fail;
	if (s.notes != NULL && (rc = tp_read_file(s.notes, &in.notes, &len,
	    &e)) != TP_OK)
		goto fail;
	db = tool_db_open(s.db);
	if (s.model != NULL && (rc = read_model(&s, db, &in, &e)) != TP_OK)
		goto fail;
	if (s.model == NULL && db != NULL && ri.nevaluations > 0 &&
	    (rc = read_evaluated(db, &ri, &in, &e)) != TP_OK)
		goto fail;
	ri.card = in.card;
	ri.registry = in.registry;
	ri.notes = in.notes;
	if ((rc = tp_report_make(&r, &ri, &e)) != TP_OK)
		goto fail;
	if ((rc = tp_outfile_open(&o, s.out, &e)) != TP_OK)
		goto fail;
	fwrite(r.html, 1, r.len, o.f);
	if ((rc = tp_outfile_commit(&o, &e)) != TP_OK)
		goto fail;
	if (s.svg_dir != NULL && (rc = write_svgs(s.svg_dir, &r, &e)) != TP_OK)
		goto fail;
	if (!s.quiet)
		tool_warn("%s: %d chart%s%s%s", s.out, r.ncharts,
		    r.ncharts == 1 ? "" : "s", s.svg_dir != NULL ? ", also in " : "",
		    s.svg_dir != NULL ? s.svg_dir : "");
	goto done;
fail:
	rc = tool_report(&e);
done:
	tp_report_free(&r);
	inputs_free(&in);
	tp_db_close(db);
	return tool_finish(rc);
}
