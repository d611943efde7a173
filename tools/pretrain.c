/* tabpipe-pretrain: a contrastive encoder from an unlabelled stream. */
#include <stddef.h>
#include <stdlib.h>

#include "data/stream.h"
#include "model/modelfile.h"
#include "tool.h"
#include "train/train.h"

typedef struct {
	const char *db, *out;
	int quiet;
} settings;

static const tp_opt options[] = {
	TP_DB_OPTION(settings, db),
	{.key = "out", .offset = offsetof(settings, out), .name = "output",
	    .letter = 'o', .arg = "encoder", .type = TP_OPT_STRING,
	    .flags = TP_OPT_REQUIRED, .help = "where the encoder goes"},
	TOOL_QUIET(settings, quiet),
	{0},
};

int
main(int argc, char **argv)
{
	settings s = {0};
	tp_train_opts o;
	tool_options families[] = {
		{tp_config_options, &o.model}, {tp_train_options, &o},
		{tp_pretrain_options, &o}, {options, &s}, {NULL, NULL},
	};
	tp_encoding enc = {0};
	tp_batch data = {0};
	tp_model m = {0};
	tp_model_meta meta = {.threshold = 0.5, .parts = TP_WITH_PROJECTOR};
	tool_progress progress = {0};
	cJSON *params = NULL, *inputs = NULL;
	const char *path;
	tp_err e = {0};
	int rc;

	tp_pretrain_defaults(&o);
	tool_init("pretrain", families, "[file]", NULL);
	tool_parse(argc, argv);
	path = tool_input(argc, argv, "-");
	if (s.out == NULL)
		tool_die(TP_EUSAGE, "-o is required: where the encoder goes");
	if (o.batch < 2)
		tool_die(TP_EUSAGE, "--batch %d: contrastive pretraining compares the rows of a batch, it needs at least 2", o.batch);
	if ((rc = tp_config_check(&o.model, &e)) != TP_OK)
		tool_die(rc, "%s", e.msg);
	tool_device(o.device);
	progress.db = tool_db_open(s.db);
	progress.quiet = s.quiet;
	o.progress = tool_epoch_report;
	o.ctx = &progress;

	if ((rc = tp_stream_load(path, &enc, &data, &e)) != TP_OK)
		goto fail;
	tp_batch_fingerprint(&data, meta.data_fingerprint);
	params = tool_params();
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "data", meta.data_fingerprint);
	cJSON_AddStringToObject(inputs, "encoding", enc.fingerprint);
	progress.run = tool_run_start(progress.db, params, inputs);
	if (progress.run > 0)
		snprintf(meta.run_id, sizeof(meta.run_id), "%lld",
		    (long long)progress.run);
	if ((rc = tp_pretrain(&o, &enc, &data, &m, &e)) != TP_OK ||
	    (rc = tp_model_save(s.out, &m, &enc, &meta, &e)) != TP_OK)
		goto fail;
	if (!s.quiet)
		fprintf(stderr, "%s: encoder in %s\n", tool_name(), s.out);
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
