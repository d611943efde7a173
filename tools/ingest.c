/* tabpipe-ingest: CSV, or a query's rows, to a tensor stream. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/encoding.h"
#include "data/ingest.h"
#include "data/stream.h"
#include "tool.h"

typedef struct {
	const char *db, *encoding, *fit, *output, *prefix, *query, *rejects;
	int quiet;
} settings;

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static const tp_opt options[] = {
	TP_DB_OPTION(settings, db),
	{OPT(encoding), .name = "encoding", .arg = "file",
	    .type = TP_OPT_STRING, .usage = "[--encoding file | --fit file]",
	    .help = "apply the encoding of file"},
	{OPT(fit), .name = "fit", .arg = "file", .type = TP_OPT_STRING,
	    .usage = "", .help = "fit an encoding and save it to file"},
	{OPT(output), .name = "output", .letter = 'o', .arg = "file",
	    .type = TP_OPT_STRING, .help = "where the stream goes"},
	{OPT(prefix), .name = "out", .arg = "prefix", .type = TP_OPT_STRING,
	    .usage = "", .help = "with --split: the parts' files' prefix"},
	{OPT(query), .name = "query", .arg = "sql", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD, .help = "read the rows of a query"},
	TOOL_QUIET(settings, quiet),
	{OPT(rejects), .name = "rejects", .arg = "file",
	    .type = TP_OPT_STRING, .help = "where skipped rows go, as read"},
	{0},
};

static int quiet;

static void
print_reject(void *ctx, const char *msg)
{
	(void)ctx;
	if (!quiet)
		tool_warn("rejected: %s", msg);
}

/* The options that do not go together. */
static void
check(const settings *s, const tp_ingest_opts *o, int nfiles)
{
	if (s->encoding != NULL && s->fit != NULL)
		tool_die(TP_EUSAGE, "--encoding applies an encoding, --fit makes one: give one of them");
	if (s->encoding != NULL && (o->schema || o->target || o->positive || o->id))
		tool_die(TP_EUSAGE, "--encoding already says the columns' kinds: --schema, --target, --positive and --id go with fitting");
	if (s->encoding != NULL && (o->max_vocab != 0 || o->min_count != 1))
		tool_die(TP_EUSAGE, "--encoding already holds the vocabularies: --max-vocab and --min-count go with fitting");
	if (s->prefix != NULL && s->output != NULL)
		tool_die(TP_EUSAGE, "--split writes PREFIX.train.tps and the others: -o goes without it");
	if ((o->nsplit > 0) != (s->prefix != NULL))
		tool_die(TP_EUSAGE, "--split and --out go together: --split 70/15/15 --out PREFIX writes PREFIX.train.tps, PREFIX.valid.tps and PREFIX.test.tps");
	if (s->rejects != NULL && strcmp(s->rejects, "-") == 0 &&
	    s->prefix == NULL && (s->output == NULL || strcmp(s->output, "-") == 0))
		tool_die(TP_EUSAGE, "--rejects - and the stream would both go to standard output");
	if (o->max_rejects == 0 && s->rejects != NULL)
		tool_die(TP_EUSAGE, "--rejects needs --max-rejects: without it the first bad row stops the run");
	if (s->query != NULL && nfiles > 0)
		tool_die(TP_EUSAGE, "--query reads the rows of a query: give it no file");
	if (o->shard.n > 0 && (s->encoding == NULL || o->nsplit > 0 ||
	    s->query != NULL))
		tool_die(TP_EUSAGE, "--shard encodes its part of CSV files into one stream: it takes --encoding (fit the encoding on the whole input first), and no --split or --query");
	if (s->prefix == NULL && (s->output == NULL || strcmp(s->output, "-") == 0))
		tool_binary_stdout();
}

/* Each output is a data set of the run. */
static int
record(tp_db *db, int64_t run, const settings *s, char **files, int nfiles,
    const tp_ingest_outputs *out, const tp_encoding *enc,
    const tp_ingest_counts *counts, tp_err *e)
{
	const char *from = s->query != NULL ? s->query : nfiles == 1 ?
	    files[0] : "several files";
	int rc = TP_OK;

	for (int i = 0; db != NULL && i < out->n && rc == TP_OK; i++) {
		size_t len = strlen(from) + strlen(out->name[i]) + 5;
		char *source = malloc(len);
		if (source == NULL)
			return tp_err_nomem(e, "the data set's source");
		snprintf(source, len, "%s -> %s", from, out->name[i]);
		rc = tp_db_dataset(db, run, source, out->fingerprint[i],
		    enc->fingerprint, counts->written[i], counts->rejected, e);
		free(source);
	}
	return rc;
}

static void
summary(const tp_ingest_opts *o, const tp_ingest_counts *counts, int nout)
{
	fprintf(stderr, "%s: %llu rows read, %llu rejected, %llu written",
	    tool_name(), (unsigned long long)counts->read,
	    (unsigned long long)counts->rejected,
	    (unsigned long long)(counts->written[0] + counts->written[1] +
	    counts->written[2]));
	for (int i = 0; nout > 1 && i < nout; i++)
		fprintf(stderr, "%s%s %llu", i ? ", " : " (", tp_ingest_part(o, i),
		    (unsigned long long)counts->written[i]);
	fputs(nout > 1 ? ")\n" : "\n", stderr);
}

/* The categorical columns fitted with about a value a training row. */
static void
warn_row_names(const tp_encoding *enc, uint64_t rows)
{
	for (int j = 0; j < enc->ncols; j++)
		if (tp_column_names_rows(&enc->cols[j], rows))
			tool_warn("column %d (%s): %zu categories in %llu training rows: about a value a row, as an identifier or free text has, which a model learns by heart; ignore the column (--schema) or keep its frequent values (--min-count)",
			    j + 1, enc->cols[j].name, enc->cols[j].vocab.n,
			    (unsigned long long)rows);
}

/* The run's parameters: the options, where the rows came from, and
 * whether the encoding was fitted or applied. */
static cJSON *
params(const settings *s, char **files, int nfiles)
{
	cJSON *j = tool_params();

	if (s->query == NULL) {
		cJSON *sources = cJSON_AddArrayToObject(j, "inputs");
		for (int i = 0; i < nfiles; i++)
			cJSON_AddItemToArray(sources, cJSON_CreateString(files[i]));
	}
	cJSON_AddStringToObject(j, "mode", s->encoding ? "apply" : "fit");
	return j;
}

int
main(int argc, char **argv)
{
	settings s = {0};
	tp_ingest_opts o = {.min_count = 1, .on_reject = print_reject};
	tool_options families[] = {
		{tp_ingest_options, &o}, {options, &s},
		{tp_shard_options, &o.shard}, {NULL, NULL},
	};
	char *stdin_only[] = {"-"}, **files;
	tp_ingest_outputs out = {0};
	tp_ingest_counts counts = {0};
	cJSON *run_params = NULL, *result = NULL;
	tp_encoding enc = {0};
	tp_input *in = NULL;
	int first, nfiles, nin, rc;
	int64_t run;
	tp_db *db;
	tp_err e = {0};

	tool_init("ingest", families, "[file ...]", NULL);
	first = tool_parse(argc, argv);
	files = argv + first;
	nfiles = argc - first;
	check(&s, &o, nfiles);
	quiet = s.quiet;
	if (nfiles == 0 && s.query == NULL) {
		files = stdin_only;
		nfiles = 1;
	}
	db = tool_db_open(s.db);
	if (s.query != NULL && db == NULL)
		tool_die(TP_EUSAGE, "--query runs in a database: give one with --db or TABPIPE_DB");
	run_params = params(&s, files, s.query ? 0 : nfiles);
	run = tool_run_start(db, run_params, NULL);

	nin = s.query != NULL ? 1 : nfiles;
	out = (tp_ingest_outputs){.output = s.output ? s.output : "-",
	    .prefix = s.prefix, .rejects = s.rejects};
	if ((rc = s.query != NULL ? tp_input_query(&in, db, s.query, &e) :
	    tp_inputs_open(&in, files, nfiles, s.encoding == NULL, &e)) != TP_OK)
		goto fail;
	if (s.encoding != NULL)
		rc = tp_encoding_load(&enc, s.encoding, &e);
	else if ((rc = tp_ingest_fit(&o, in, nin, &enc, &e)) == TP_OK &&
	    s.fit != NULL)
		rc = tp_encoding_save(&enc, s.fit, &e);
	if (rc != TP_OK ||
	    (rc = tp_ingest_files(&o, in, nin, &enc, &out, &counts, &e)) != TP_OK ||
	    (rc = record(db, run, &s, files, nfiles, &out, &enc, &counts, &e)) !=
	    TP_OK)
		goto fail;
	result = cJSON_CreateObject();
	cJSON_AddNumberToObject(result, "read", (double)counts.read);
	cJSON_AddNumberToObject(result, "rejected", (double)counts.rejected);
	cJSON_AddStringToObject(result, "encoding", enc.fingerprint);
	if (!s.quiet) {
		summary(&o, &counts, out.n);
		if (s.encoding == NULL)
			warn_row_names(&enc, counts.written[0]);
	}
	goto done;
fail:
	rc = tool_report(&e);
done:
	/* A query's cursor lives on the connection that finishing closes. */
	tp_inputs_close(in, nin);
	rc = tool_run_finish(db, run, rc, e.msg, result);
	cJSON_Delete(run_params);
	cJSON_Delete(result);
	tp_encoding_free(&enc);
	return tool_finish(rc);
}
