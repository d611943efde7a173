/* tabpipe-pretrain: a contrastive encoder from an unlabelled stream. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "data/stream.h"
#include "model/modelfile.h"
#include "tool.h"
#include "train/train.h"

static const char usage[] =
    "usage: tabpipe-pretrain [-q] [--activation gelu|relu] [--batch n]\n"
    "           [--clip x] [--corruption mask|resample] [--d-ff n]\n"
    "           [--d-model n] [--db conninfo] [--device cpu|cuda] [--dropout p]\n"
    "           [--epochs n] [--head-hidden n] [--heads n] [--layers n] [--lr x]\n"
    "           [--rate p] [--seed n] [--temperature t] [--threads n]\n"
    "           [--warmup x] [--weight-decay x] -o encoder [file]\n";

int
main(int argc, char **argv)
{
	enum { O_CORRUPTION = 256, O_DB, O_RATE, O_TEMPERATURE };
	static const struct option longopts[] = {
		TOOL_TRAIN_OPTIONS,
		{"corruption", required_argument, NULL, O_CORRUPTION},
		{"db", required_argument, NULL, O_DB},
		{"help", no_argument, NULL, 'h'},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"rate", required_argument, NULL, O_RATE},
		{"temperature", required_argument, NULL, O_TEMPERATURE},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	tp_train_opts o;
	tp_encoding enc = {0};
	tp_batch data = {0};
	tp_model m = {0};
	tp_model_meta meta = {.threshold = 0.5, .parts = TP_WITH_PROJECTOR};
	const char *path = "-", *out = NULL, *conninfo = NULL;
	tool_progress progress = {0};
	cJSON *params = NULL, *inputs = NULL;
	int c, rc;
	tp_err e = {0};

	tool_init("pretrain", usage);
	tp_train_defaults(&o);
	o.epochs = 10;
	o.progress = tool_epoch_report;
	o.ctx = &progress;
	while ((c = getopt_long(argc, argv, "ho:qV", longopts, NULL)) != -1) {
		if (tool_train_option(c, optarg, &o))
			continue;
		switch (c) {
		case O_CORRUPTION:
			if (strcmp(optarg, "mask") == 0)
				o.corruption = TP_CORRUPT_MASK;
			else if (strcmp(optarg, "resample") == 0)
				o.corruption = TP_CORRUPT_RESAMPLE;
			else
				tool_die(TP_EUSAGE, "--corruption: \"%s\" is not mask or resample", optarg);
			break;
		case O_DB: conninfo = optarg; break;
		case 'h': tool_usage(0);
		case 'o': out = optarg; break;
		case 'q': progress.quiet = 1; break;
		case O_RATE: o.rate = (float)tool_double(optarg, "--rate", 0, 1); break;
		case O_TEMPERATURE:
			o.tau = (float)tool_double(optarg, "--temperature", 1e-3, 1e3);
			break;
		case 'V': tool_version();
		default: tool_usage(TP_EUSAGE);
		}
	}
	path = tool_input(argc, argv, path);
	if (out == NULL)
		tool_die(TP_EUSAGE, "-o is required: where the encoder goes");
	if (o.batch < 2)
		tool_die(TP_EUSAGE, "--batch %d: contrastive pretraining compares the rows of a batch, it needs at least 2", o.batch);
	if ((rc = tp_config_check(&o.model, &e)) != TP_OK)
		tool_die(rc, "%s", e.msg);
	o.device = tool_device();

	progress.db = tool_db_open(conninfo);
	if ((rc = tp_stream_load(path, &enc, &data, &e)) != TP_OK)
		goto fail;
	tp_batch_fingerprint(&data, meta.data_fingerprint);
	params = tool_train_params(&o);
	cJSON_AddStringToObject(params, "corruption",
	    o.corruption == TP_CORRUPT_MASK ? "mask" : "resample");
	cJSON_AddNumberToObject(params, "rate", o.rate);
	cJSON_AddNumberToObject(params, "temperature", o.tau);
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "data", meta.data_fingerprint);
	cJSON_AddStringToObject(inputs, "encoding", enc.fingerprint);
	progress.run = tool_run_start(progress.db, params, inputs);
	if (progress.run > 0)
		snprintf(meta.run_id, sizeof(meta.run_id), "%lld",
		    (long long)progress.run);
	if ((rc = tp_pretrain(&o, &enc, &data, &m, &e)) != TP_OK ||
	    (rc = tp_model_save(out, &m, &enc, &meta, &e)) != TP_OK)
		goto fail;
	if (!progress.quiet)
		fprintf(stderr, "%s: encoder in %s\n", tool_name(), out);
	goto done;
fail:
	rc = tool_report(&e);
done:
	rc = tool_run_finish(progress.db, progress.run, rc, e.msg, NULL);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	tp_model_free(&m);
	tp_batch_free(&data);
	tp_encoding_free(&enc);
	return tool_finish(rc);
}
