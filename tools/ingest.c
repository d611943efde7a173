/* tabpipe-ingest: CSV, or a query's rows, to a tensor stream. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/encoding.h"
#include "data/ingest.h"
#include "data/stream.h"
#include "tool.h"

static const char usage[] =
    "usage: tabpipe-ingest [-q] [--db conninfo] [--encoding file | --fit file]\n"
    "           [--id name]\n"
    "           [--max-rejects n] [--max-vocab n] [--min-count n] [-o file]\n"
    "           [--positive value] [--query sql] [--rejects file]\n"
    "           [--schema file] [--seed n] [--split parts --out prefix]\n"
    "           [--target name] [file ...]\n";

static const char *const part_names[2][TP_SPLIT_MAX] = {
	{"train", "test", NULL},
	{"train", "valid", "test"},
};

static int quiet;

static void
print_reject(void *ctx, const char *msg)
{
	(void)ctx;
	if (!quiet)
		tool_warn("rejected: %s", msg);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 255, O_ENCODING = 256, O_FIT, O_ID, O_MAX_REJECTS, O_MAX_VOCAB,
		O_MIN_COUNT, O_OUT, O_POSITIVE, O_QUERY, O_REJECTS, O_SCHEMA, O_SEED,
		O_SPLIT, O_TARGET };
	static const struct option longopts[] = {
		{"db", required_argument, NULL, O_DB},
		{"encoding", required_argument, NULL, O_ENCODING},
		{"fit", required_argument, NULL, O_FIT},
		{"help", no_argument, NULL, 'h'},
		{"id", required_argument, NULL, O_ID},
		{"max-rejects", required_argument, NULL, O_MAX_REJECTS},
		{"max-vocab", required_argument, NULL, O_MAX_VOCAB},
		{"min-count", required_argument, NULL, O_MIN_COUNT},
		{"output", required_argument, NULL, 'o'},
		{"out", required_argument, NULL, O_OUT},
		{"positive", required_argument, NULL, O_POSITIVE},
		{"query", required_argument, NULL, O_QUERY},
		{"quiet", no_argument, NULL, 'q'},
		{"rejects", required_argument, NULL, O_REJECTS},
		{"schema", required_argument, NULL, O_SCHEMA},
		{"seed", required_argument, NULL, O_SEED},
		{"split", required_argument, NULL, O_SPLIT},
		{"target", required_argument, NULL, O_TARGET},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	tp_ingest_opts o = {.min_count = 1, .on_reject = print_reject};
	const char *encoding_path = NULL, *fit_path = NULL, *output = NULL;
	const char *prefix = NULL, *rejects_path = NULL, *conninfo = NULL;
	const char *query = NULL;
	char fingerprint[TP_SPLIT_MAX][65], names[TP_SPLIT_MAX][4096];
	cJSON *params = NULL, *result = NULL;
	tp_db *db = NULL;
	int64_t run = 0;
	char *stdin_only[] = {"-"};
	tp_outfile out[TP_SPLIT_MAX] = {0}, rejects = {0};
	tp_stream_writer *w[TP_SPLIT_MAX] = {0};
	tp_ingest_counts counts;
	tp_encoding enc = {0};
	tp_input *in = NULL;
	tp_err e = {0};
	int c, nin = 0, nout, rc;

	tool_init("ingest", usage);
	while ((c = getopt_long(argc, argv, "ho:qV", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB: conninfo = optarg; break;
		case O_ENCODING: encoding_path = optarg; break;
		case O_FIT: fit_path = optarg; break;
		case 'h': tool_usage(0);
		case O_ID: o.id = optarg; break;
		case O_MAX_REJECTS:
			o.max_rejects = tool_long(optarg, "--max-rejects", 0, LONG_MAX / 2);
			break;
		case O_MAX_VOCAB:
			o.max_vocab = tool_long(optarg, "--max-vocab", 0, INT32_MAX - 1);
			break;
		case O_MIN_COUNT:
			o.min_count = tool_long(optarg, "--min-count", 1, LONG_MAX);
			break;
		case 'o': output = optarg; break;
		case O_OUT: prefix = optarg; break;
		case O_POSITIVE: o.positive = optarg; break;
		case 'q': quiet = 1; break;
		case O_QUERY: query = optarg; break;
		case O_REJECTS: rejects_path = optarg; break;
		case O_SCHEMA: o.schema = optarg; break;
		case O_SEED: o.seed = tool_u64(optarg, "--seed"); break;
		case O_SPLIT:
			if (tp_ingest_parse_split(&o, optarg, &e) != TP_OK)
				tool_die(TP_EUSAGE, "%s", e.msg);
			break;
		case O_TARGET: o.target = optarg; break;
		case 'V': tool_version();
		default: tool_usage(TP_EUSAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (encoding_path != NULL && fit_path != NULL)
		tool_die(TP_EUSAGE, "--encoding applies an encoding, --fit makes one: give one of them");
	if (encoding_path != NULL && (o.schema || o.target || o.positive || o.id))
		tool_die(TP_EUSAGE, "--encoding already says the columns' kinds: --schema, --target, --positive and --id go with fitting");
	if (encoding_path != NULL && (o.max_vocab != 0 || o.min_count != 1))
		tool_die(TP_EUSAGE, "--encoding already holds the vocabularies: --max-vocab and --min-count go with fitting");
	if (prefix != NULL && output != NULL)
		tool_die(TP_EUSAGE, "--split writes PREFIX.train.tps and the others: -o goes without it");
	if (output == NULL)
		output = "-";
	if ((o.nsplit > 0) != (prefix != NULL))
		tool_die(TP_EUSAGE, "--split and --out go together: --split 70/15/15 --out PREFIX writes PREFIX.train.tps, PREFIX.valid.tps and PREFIX.test.tps");
	if (rejects_path != NULL && strcmp(rejects_path, "-") == 0 &&
	    prefix == NULL && strcmp(output, "-") == 0)
		tool_die(TP_EUSAGE, "--rejects - and the stream would both go to standard output");
	if (o.max_rejects == 0 && rejects_path != NULL)
		tool_die(TP_EUSAGE, "--rejects needs --max-rejects: without it the first bad row stops the run");
	if (query != NULL && argc > 0)
		tool_die(TP_EUSAGE, "--query reads the rows of a query: give it no file");
	if (argc == 0 && query == NULL) {
		argc = 1;
		argv = stdin_only;
	}
	if (prefix == NULL && strcmp(output, "-") == 0)
		tool_binary_stdout();
	db = tool_db_open(conninfo);
	if (query != NULL && db == NULL)
		tool_die(TP_EUSAGE, "--query runs in a database: give one with --db or TABPIPE_DB");
	params = cJSON_CreateObject();
	if (query != NULL)
		cJSON_AddStringToObject(params, "query", query);
	else {
		cJSON *sources = cJSON_AddArrayToObject(params, "inputs");
		for (int i = 0; i < argc; i++)
			cJSON_AddItemToArray(sources, cJSON_CreateString(argv[i]));
	}
	cJSON_AddStringToObject(params, "mode", encoding_path ? "apply" : "fit");
	if (o.target != NULL)
		cJSON_AddStringToObject(params, "target", o.target);
	if (o.nsplit > 1) {
		cJSON *parts = cJSON_AddArrayToObject(params, "split");
		for (int i = 0; i < o.nsplit; i++)
			cJSON_AddItemToArray(parts, cJSON_CreateNumber(o.split[i]));
		cJSON_AddNumberToObject(params, "seed", (double)o.seed);
	}
	run = tool_run_start(db, params, NULL);

	nin = query != NULL ? 1 : argc;
	if ((rc = query != NULL ? tp_input_query(&in, db, query, &e) :
	    tp_inputs_open(&in, argv, argc, encoding_path == NULL, &e)) != TP_OK)
		goto fail;
	if (encoding_path != NULL)
		rc = tp_encoding_load(&enc, encoding_path, &e);
	else if ((rc = tp_ingest_fit(&o, in, nin, &enc, &e)) == TP_OK &&
	    fit_path != NULL)
		rc = tp_encoding_save(&enc, fit_path, &e);
	if (rc != TP_OK)
		goto fail;

	nout = o.nsplit > 1 ? o.nsplit : 1;
	for (int i = 0; i < nout; i++) {
		const char *name = output;
		if (prefix != NULL) {
			snprintf(names[i], sizeof(names[i]), "%s.%s.tps", prefix,
			    part_names[o.nsplit == 3][i]);
			name = names[i];
		} else
			snprintf(names[i], sizeof(names[i]), "%s",
			    strcmp(output, "-") ? output : "standard output");
		if ((rc = tp_outfile_open(&out[i], name, &e)) != TP_OK ||
		    (rc = tp_stream_writer_open(&w[i], out[i].f,
		    out[i].path ? out[i].path : "standard output", &enc, &e)) != TP_OK)
			goto fail;
	}
	if (rejects_path != NULL) {
		if ((rc = tp_outfile_open(&rejects, rejects_path, &e)) != TP_OK)
			goto fail;
		o.rejects = rejects.f;
	}
	if ((rc = tp_ingest_write(&o, in, nin, &enc, w, &counts, &e)) != TP_OK)
		goto fail;
	for (int i = 0; i < nout; i++) {
		rc = tp_stream_writer_close(w[i], fingerprint[i], &e);
		w[i] = NULL;
		if (rc != TP_OK || (rc = tp_outfile_commit(&out[i], &e)) != TP_OK)
			goto fail;
	}
	if (rejects_path != NULL && (rc = tp_outfile_commit(&rejects, &e)) != TP_OK)
		goto fail;
	result = cJSON_CreateObject();
	cJSON_AddNumberToObject(result, "read", (double)counts.read);
	cJSON_AddNumberToObject(result, "rejected", (double)counts.rejected);
	cJSON_AddStringToObject(result, "encoding", enc.fingerprint);
	for (int i = 0; db != NULL && i < nout; i++) {
		const char *from = query != NULL ? query : argc == 1 ? argv[0] :
		    "several files";
		size_t len = strlen(from) + strlen(names[i]) + 5;
		char *source = malloc(len);
		if (source == NULL) {
			rc = tp_err_nomem(&e, "the data set's source");
			goto fail;
		}
		snprintf(source, len, "%s -> %s", from, names[i]);
		rc = tp_db_dataset(db, run, source, fingerprint[i], enc.fingerprint,
		    counts.written[i], counts.rejected, &e);
		free(source);
		if (rc != TP_OK)
			goto fail;
	}
	if (!quiet) {
		fprintf(stderr, "%s: %llu rows read, %llu rejected, %llu written",
		    tool_name(), (unsigned long long)counts.read,
		    (unsigned long long)counts.rejected,
		    (unsigned long long)(counts.written[0] + counts.written[1] +
		    counts.written[2]));
		for (int i = 0; nout > 1 && i < nout; i++)
			fprintf(stderr, "%s%s %llu", i ? ", " : " (",
			    part_names[o.nsplit == 3][i],
			    (unsigned long long)counts.written[i]);
		fputs(nout > 1 ? ")\n" : "\n", stderr);
	}
	tp_inputs_close(in, nin);
	tp_encoding_free(&enc);
	rc = tool_run_finish(db, run, TP_OK, NULL, result);
	cJSON_Delete(params);
	cJSON_Delete(result);
	return tool_finish(rc);
fail:
	rc = tool_report(&e);
	/* A query's cursor lives on the connection that finishing closes. */
	tp_inputs_close(in, nin);
	rc = tool_run_finish(db, run, rc, e.msg, NULL);
	cJSON_Delete(params);
	cJSON_Delete(result);
	for (int i = 0; i < TP_SPLIT_MAX; i++) {
		tp_stream_writer_abort(w[i]);
		tp_outfile_abort(&out[i]);
	}
	tp_outfile_abort(&rejects);
	tp_encoding_free(&enc);
	tool_finish(rc);
	return rc;
}
