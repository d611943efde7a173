/* tabpipe-pretrain: a contrastive encoder from an unlabelled stream. */
#include <stddef.h>
#include <stdlib.h>

#include "data/shard.h"
#include "data/stream.h"
#include "model/modelfile.h"
#include "tool.h"
#include "train/train.h"

typedef struct {
	const char *db, *out;
	int quiet;
} settings;

/* The progress callback's context: the tool's report of each epoch, and
 * the epochs' history that the encoder's file keeps. */
typedef struct {
	tool_progress tool;
	cJSON *history;
} epochs_progress;

/* Pretraining has no validation: an epoch's loss is all there is. */
static void
epoch_report(void *ctx, const tp_epoch_report *r)
{
	epochs_progress *p = ctx;
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "epoch", r->epoch);
	cJSON_AddNumberToObject(j, "loss", r->loss);
	cJSON_AddItemToArray(p->history, j);
	tool_epoch_report(&p->tool, r);
}

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
	tp_shard shard = {0};
	tool_options families[] = {
		{tp_config_options, &o.model}, {tp_train_options, &o},
		{tp_pretrain_options, &o}, {options, &s},
		{tp_shard_options, &shard}, {NULL, NULL},
	};
	const tp_encoding *enc;
	tp_rows *data = NULL;
	tp_model m = {0};
	tp_model_meta meta = {.threshold = 0.5, .parts = TP_WITH_PROJECTOR};
	epochs_progress progress = {0};
	cJSON *params = NULL, *inputs = NULL;
	char **files;
	tp_err e = {0};
	int n, rc;

	tp_pretrain_defaults(&o);
	tool_init("pretrain", families, "[file ...]", NULL);
	tool_parse(argc, argv);
	files = tool_inputs(argc, argv, &n);
	if (s.out == NULL)
		tool_die(TP_EUSAGE, "-o is required: where the encoder goes");
	if (o.batch < 2)
		tool_die(TP_EUSAGE, "--batch %d: contrastive pretraining compares the rows of a batch, it needs at least 2", o.batch);
	if ((rc = tp_config_check(&o.model, &e)) != TP_OK ||
	    (rc = tp_train_check(&o, &e)) != TP_OK)
		tool_die(rc, "%s", e.msg);
	tool_device(o.device);
	progress.tool.db = tool_db_open(s.db);
	progress.tool.quiet = s.quiet;
	o.progress = epoch_report;
	o.ctx = &progress;
	if ((progress.history = cJSON_CreateArray()) == NULL)
		tool_die(TP_EINTERNAL, "out of memory");

	if ((rc = tp_rows_open(&data, files, n, &shard, (size_t)o.buffer_rows,
	    &e)) != TP_OK)
		goto fail;
	enc = tp_rows_encoding(data);
	tp_rows_fingerprint(data, meta.data_fingerprint);
	params = tool_params();
	inputs = cJSON_CreateObject();
	cJSON_AddStringToObject(inputs, "data", meta.data_fingerprint);
	cJSON_AddStringToObject(inputs, "encoding", enc->fingerprint);
	progress.tool.run = tool_run_start(progress.tool.db, params, inputs);
	if (progress.tool.run > 0)
		snprintf(meta.run_id, sizeof(meta.run_id), "%lld",
		    (long long)progress.tool.run);
	if ((rc = tp_pretrain_rows(&o, enc, data, &m, &e)) != TP_OK)
		goto fail;
	if ((meta.history = cJSON_PrintUnformatted(progress.history)) == NULL) {
		rc = tp_err_nomem(&e, "the history");
		goto fail;
	}
	if ((rc = tp_model_save(s.out, &m, enc, &meta, &e)) != TP_OK)
		goto fail;
	if (!s.quiet)
		fprintf(stderr, "%s: encoder in %s\n", tool_name(), s.out);
	goto done;
fail:
	rc = tool_report(&e);
done:
	rc = tool_run_finish(progress.tool.db, progress.tool.run, rc, e.msg, NULL);
	cJSON_Delete(params);
	cJSON_Delete(inputs);
	cJSON_Delete(progress.history);
	tp_model_meta_free(&meta);
	tp_model_free(&m);
	tp_rows_close(data);
	return tool_finish(rc);
}
