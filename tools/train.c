/* tabpipe-train: a classifier from a labelled stream. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/stream.h"
#include "registry/version.h"
#include "tool.h"
#include "train/train.h"

static const char usage[] =
    "usage: tabpipe-train [-q] [--activation gelu|relu] [--batch n]\n"
    "           [--checkpoint file [--resume]] [--class-weight w] [--clip x]\n"
    "           [--d-ff n] [--d-model n] [--db conninfo] [--device cpu|cuda]\n"
    "           [--dropout p] [--encoder file] [--epochs n] [--head-hidden n]\n"
    "           [--heads n] [--layers n] [--lr x] [--name model] [--patience n]\n"
    "           [--seed n] [--threads n] [--threshold f1|x] [--warmup x]\n"
    "           [--weight-decay x] --valid file -o model [file]\n";

int
main(int argc, char **argv)
{
	enum { O_CHECKPOINT = 256, O_CLASS_WEIGHT, O_DB, O_ENCODER, O_NAME,
		O_PATIENCE, O_RESUME, O_THRESHOLD, O_VALID };
	static const struct option longopts[] = {
		TOOL_TRAIN_OPTIONS,
		{"checkpoint", required_argument, NULL, O_CHECKPOINT},
		{"class-weight", required_argument, NULL, O_CLASS_WEIGHT},
		{"db", required_argument, NULL, O_DB},
		{"encoder", required_argument, NULL, O_ENCODER},
		{"name", required_argument, NULL, O_NAME},
		{"help", no_argument, NULL, 'h'},
		{"output", required_argument, NULL, 'o'},
		{"patience", required_argument, NULL, O_PATIENCE},
		{"quiet", no_argument, NULL, 'q'},
		{"resume", no_argument, NULL, O_RESUME},
		{"threshold", required_argument, NULL, O_THRESHOLD},
		{"valid", required_argument, NULL, O_VALID},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	tp_train_opts o;
	tp_train_result res;
	tp_encoding enc = {0}, venc = {0};
	tp_batch train = {0}, valid = {0};
	tp_model m = {0};
	tp_model_meta meta = {.parts = TP_WITH_HEAD};
	const char *path = "-", *valid_path = NULL, *out = NULL;
	const char *conninfo = NULL, *name = NULL, *encoder = NULL;
	tp_st_file encoder_file = {0};
	tool_progress progress = {0};
	cJSON *params = NULL, *inputs = NULL, *result = NULL;
	int c, rc;
	tp_err e = {0};

	tool_init("train", usage);
	tp_train_defaults(&o);
	o.progress = tool_epoch_report;
	o.ctx = &progress;
	while ((c = getopt_long(argc, argv, "ho:qV", longopts, NULL)) != -1) {
		if (tool_train_option(c, optarg, &o))
			continue;
		switch (c) {
		case O_CHECKPOINT: o.checkpoint = optarg; break;
		case O_CLASS_WEIGHT:
			if (strcmp(optarg, "balanced") == 0)
				o.balanced = 1;
			else {
				char *comma = strchr(optarg, ',');
				if (comma == NULL)
					tool_die(TP_EUSAGE, "--class-weight: \"%s\" is not \"balanced\" or two weights W0,W1", optarg);
				*comma = '\0';
				o.class_weight[0] = (float)tool_double(optarg, "--class-weight", 1e-9, 1e9);
				o.class_weight[1] = (float)tool_double(comma + 1, "--class-weight", 1e-9, 1e9);
			}
			break;
		case O_DB: conninfo = optarg; break;
		case O_ENCODER: encoder = optarg; break;
		case 'h': tool_usage(0);
		case O_NAME: name = optarg; break;
		case 'o': out = optarg; break;
		case O_PATIENCE: o.patience = (int)tool_long(optarg, "--patience", 1, 1000000); break;
		case 'q': progress.quiet = 1; break;
		case O_RESUME: o.resume = 1; break;
		case O_THRESHOLD:
			o.threshold = strcmp(optarg, "f1") == 0 ? -1 :
			    tool_double(optarg, "--threshold", 0, 1);
			break;
		case O_VALID: valid_path = optarg; break;
		case 'V': tool_version();
		default: tool_usage(TP_EUSAGE);
		}
	}
	path = tool_input(argc, argv, path);
	if (valid_path == NULL || out == NULL)
		tool_die(TP_EUSAGE, "--valid and -o are required: early stopping and the threshold need a validation stream, and the model a file");
	if (o.resume && o.checkpoint == NULL)
		tool_die(TP_EUSAGE, "--resume needs --checkpoint");
	if ((rc = tp_config_check(&o.model, &e)) != TP_OK)
		tool_die(rc, "%s", e.msg);
	o.device = tool_device();
	if (name != NULL && strcmp(out, "-") == 0)
		tool_die(TP_EUSAGE, "--name registers the model file: give -o a file, not standard output");
	progress.db = tool_db_open(conninfo);
	if (name != NULL && progress.db == NULL)
		tool_die(TP_EUSAGE, "--name registers the model in the registry: give a database with --db or TABPIPE_DB");

	if ((rc = tp_stream_load(path, &enc, &train, &e)) != TP_OK ||
	    (rc = tp_stream_load(valid_path, &venc, &valid, &e)) != TP_OK)
		goto fail;
	params = tool_train_params(&o);
	cJSON_AddNumberToObject(params, "patience", o.patience);
	if (o.balanced)
		cJSON_AddStringToObject(params, "class_weight", "balanced");
	else if (o.class_weight[0] > 0)
		cJSON_AddItemToObject(params, "class_weight",
		    cJSON_CreateFloatArray(o.class_weight, 2));
	if (o.threshold >= 0)
		cJSON_AddNumberToObject(params, "threshold", o.threshold);
	if (o.checkpoint != NULL)
		cJSON_AddStringToObject(params, "checkpoint", o.checkpoint);
	if (name != NULL)
		cJSON_AddStringToObject(params, "name", name);
	inputs = cJSON_CreateObject();
	char valid_fingerprint[65];
	tp_batch_fingerprint(&valid, valid_fingerprint);
	tp_batch_fingerprint(&train, meta.data_fingerprint);
	cJSON_AddStringToObject(inputs, "train", meta.data_fingerprint);
	cJSON_AddStringToObject(inputs, "valid", valid_fingerprint);
	cJSON_AddStringToObject(inputs, "encoding", enc.fingerprint);
	if (encoder != NULL) {
		if ((rc = tp_st_open(&encoder_file, encoder, &e)) != TP_OK)
			goto fail;
		o.encoder = &encoder_file;
		cJSON_AddStringToObject(inputs, "encoder", encoder_file.sha256);
	}
	progress.run = tool_run_start(progress.db, params, inputs);
	if (progress.run > 0)
		snprintf(meta.run_id, sizeof(meta.run_id), "%lld",
		    (long long)progress.run);
	if (enc.target_col < 0) {
		rc = tp_err_set(&e, TP_EDATA, "%s: the stream has no target: ingest it with --target", path);
		goto fail;
	}
	if (strcmp(enc.fingerprint, venc.fingerprint) != 0) {
		rc = tp_err_set(&e, TP_EDATA,
		    "%s: encoded with %.12s..., the training stream with %.12s...: ingest both with one encoding",
		    valid_path, venc.fingerprint, enc.fingerprint);
		goto fail;
	}
	if ((rc = tp_train(&o, &enc, &train, &valid, &m, &res, &e)) != TP_OK)
		goto fail;
	meta.threshold = res.threshold;
	if ((rc = tp_model_save(out, &m, &enc, &meta, &e)) != TP_OK)
		goto fail;
	result = cJSON_CreateObject();
	cJSON_AddNumberToObject(result, "valid_auc", res.valid_auc);
	cJSON_AddNumberToObject(result, "valid_f1", res.valid_f1);
	cJSON_AddNumberToObject(result, "threshold", res.threshold);
	cJSON_AddNumberToObject(result, "best_epoch", res.best_epoch);
	cJSON_AddNumberToObject(result, "epochs", res.epochs_run);
	if (name != NULL) {
		char sha[65];
		int version;
		if ((rc = tp_file_sha256(out, sha, &e)) != TP_OK ||
		    (rc = tp_version_register(progress.db, name, out, sha, progress.run,
		    result, &version, &e)) != TP_OK)
			goto fail;
		cJSON_AddStringToObject(result, "model", name);
		cJSON_AddNumberToObject(result, "version", version);
		if (!progress.quiet)
			fprintf(stderr, "%s: registered %s version %d\n", tool_name(),
			    name, version);
	}
	if (!progress.quiet)
		fprintf(stderr, "%s: best epoch %d of %d: valid AUC %.4f, threshold %.4f (valid F1 %.4f); model in %s\n",
		    tool_name(), res.best_epoch, res.epochs_run, res.valid_auc,
		    res.threshold, res.valid_f1, out);
	goto done;
fail:
	rc = tool_report(&e);
done:
	rc = tool_run_finish(progress.db, progress.run, rc, e.msg, result);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(result);
	tp_st_close(&encoder_file);
	tp_model_free(&m);
	tp_batch_free(&train);
	tp_batch_free(&valid);
	tp_encoding_free(&enc);
	tp_encoding_free(&venc);
	return tool_finish(rc);
}
