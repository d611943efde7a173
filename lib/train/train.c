#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/rng.h"
#include "model/modelfile.h"
#include "model/optim.h"
#include "model/safetensors.h"
#include "train/regression.h"
#include "train/shrink.h"
#include "train/train.h"
#ifdef TP_CUDA
#include "model/cuda/adamw.h"
#include "model/cuda/model.h"
#endif

void
tp_train_defaults(tp_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->model = tp_default_config;
	o->epochs = 30;
	o->batch = 256;
	o->lr = 1e-3f;
	o->weight_decay = 1e-2f;
	o->clip = 1.0f;
	o->warmup = 0.05f;
	o->seed = 1;
	o->threads = 2;
	o->members = 1;
	o->patience = 5;
	o->threshold = -1;
	o->shrink = TP_SHRINK_BAYES;
	o->model.additive = 1;
	o->corruption = TP_CORRUPT_MASK;
	o->rate = 0.3f;
	o->tau = 0.5f;
}

void
tp_pretrain_defaults(tp_train_opts *o)
{
	tp_train_defaults(o);
	o->epochs = 10;
	o->model.additive = 0;  /* an encoder has no classifier to add to */
}

#define OPT(field) .key = #field, .offset = offsetof(tp_train_opts, field)
#define SIGNED (TP_OPT_RECORD | TP_OPT_SIGN)

/* --buffer-rows n: recorded and signed only when given, so that a run
 * without it records and signs what it did before the option was. */
static int
parse_buffer_rows(void *settings, const char *arg, const char *from,
    tp_err *e)
{
	static const tp_opt rows = {.key = "buffer_rows", .type = TP_OPT_LONG,
	    .min = 1, .max = 1e12};
	tp_train_opts *o = settings;

	return tp_opt_set(&rows, &o->buffer_rows, arg, from, e);
}

static cJSON *
buffer_rows_json(const void *settings)
{
	const tp_train_opts *o = settings;

	return o->buffer_rows > 0 ? cJSON_CreateNumber((double)o->buffer_rows) :
	    NULL;
}

const tp_opt tp_train_options[] = {
	{OPT(epochs), .name = "epochs", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 1000000, .flags = SIGNED,
	    .help = "the most epochs to run"},
	{OPT(batch), .name = "batch", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 1 << 20, .flags = SIGNED, .help = "rows a step"},
	{OPT(buffer_rows), .name = "buffer-rows", .arg = "n",
	    .type = TP_OPT_CUSTOM, .flags = SIGNED, .parse = parse_buffer_rows,
	    .json = buffer_rows_json,
	    .help = "read the input by blocks in a random order through a "
	    "shuffle buffer of n rows, not whole into memory"},
	{OPT(lr), .name = "lr", .arg = "x", .type = TP_OPT_FLOAT, .min = 0,
	    .max = 1e30, .flags = SIGNED, .help = "the peak learning rate"},
	{OPT(weight_decay), .name = "weight-decay", .arg = "x",
	    .type = TP_OPT_FLOAT, .min = 0, .max = 1e9, .flags = SIGNED,
	    .help = "AdamW's decoupled weight decay"},
	{OPT(clip), .name = "clip", .arg = "x", .type = TP_OPT_FLOAT, .min = 0,
	    .max = 1e9, .flags = SIGNED,
	    .help = "the largest gradient norm; 0 does not clip"},
	{OPT(warmup), .name = "warmup", .arg = "x", .type = TP_OPT_FLOAT,
	    .min = 0, .max = 1, .flags = SIGNED,
	    .help = "the share of the steps that warm the learning rate up"},
	{OPT(seed), .name = "seed", .arg = "n", .type = TP_OPT_U64,
	    .flags = SIGNED,
	    .help = "the seed of the weights, the order of rows and dropout"},
	{OPT(threads), .name = "threads", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 256, .flags = SIGNED,
	    .help = "CPU threads that share each batch"},
	TP_DEVICE_OPTION(tp_train_opts, device),
	{0},
};

/* --class-weight balanced|W0,W1, set only when the whole is good. */
static int
parse_class_weight(void *settings, const char *arg, const char *from,
    tp_err *e)
{
	static const tp_opt weight = {.key = "w", .type = TP_OPT_FLOAT,
	    .min = 1e-9, .max = 1e9};
	tp_train_opts *o = settings;
	const char *comma = strchr(arg, ',');
	float w[2];
	char w0[64];
	int rc;

	if (strcmp(arg, "balanced") == 0) {
		o->balanced = 1;
		return TP_OK;
	}
	if (comma == NULL || (size_t)(comma - arg) >= sizeof(w0))
		return tp_err_set(e, TP_EUSAGE, "%s: \"%s\" is not \"balanced\" "
		    "or two weights W0,W1", from, arg);
	memcpy(w0, arg, (size_t)(comma - arg));
	w0[comma - arg] = '\0';
	if ((rc = tp_opt_set(&weight, &w[0], w0, from, e)) != TP_OK ||
	    (rc = tp_opt_set(&weight, &w[1], comma + 1, from, e)) != TP_OK)
		return rc;
	o->balanced = 0;
	memcpy(o->class_weight, w, sizeof(w));
	return TP_OK;
}

static cJSON *
class_weight_json(const void *settings)
{
	const tp_train_opts *o = settings;

	if (o->balanced)
		return cJSON_CreateString("balanced");
	if (o->class_weight[0] > 0 && o->class_weight[1] > 0)
		return cJSON_CreateFloatArray(o->class_weight, 2);
	return NULL;
}

/* --threshold f1|x: f1 is kept as -1. */
static int
parse_threshold(void *settings, const char *arg, const char *from,
    tp_err *e)
{
	static const tp_opt number = {.key = "threshold",
	    .type = TP_OPT_DOUBLE, .min = 0, .max = 1};
	tp_train_opts *o = settings;

	if (strcmp(arg, "f1") == 0) {
		o->threshold = -1;
		return TP_OK;
	}
	return tp_opt_set(&number, &o->threshold, arg, from, e);
}

static cJSON *
threshold_json(const void *settings)
{
	const tp_train_opts *o = settings;

	return o->threshold >= 0 ? cJSON_CreateNumber(o->threshold) : NULL;
}

static const char *const shrinkages[] = {"none", "bayes", NULL};
/* The index is the config's flag: none 0, regression 1. */
static const char *const additives[] = {"none", "regression", NULL};

const tp_opt tp_classify_options[] = {
	{OPT(members), .name = "members", .arg = "k", .type = TP_OPT_INT,
	    .min = 1, .max = TP_MAX_MEMBERS, .flags = TP_OPT_RECORD,
	    .help = "models in the ensemble, their log-odds averaged"},
	{OPT(patience), .name = "patience", .arg = "n", .type = TP_OPT_INT,
	    .min = 1, .max = 1000000, .flags = SIGNED,
	    .help = "epochs without a better validation AUC before stopping"},
	{OPT(class_weight), .name = "class-weight", .arg = "w",
	    .type = TP_OPT_CUSTOM, .flags = SIGNED, .parse = parse_class_weight,
	    .json = class_weight_json,
	    .help = "the classes' weights in the loss: balanced, or W0,W1"},
	{OPT(threshold), .name = "threshold", .arg = "f1|x",
	    .type = TP_OPT_CUSTOM, .flags = SIGNED, .parse = parse_threshold,
	    .json = threshold_json,
	    .help = "the decision threshold: the best F1's, or x"},
	/* The model's config records it (model/config.h). */
	{.key = "additive", .name = "additive", .type = TP_OPT_CHOICE,
	    .offset = offsetof(tp_train_opts, model.additive),
	    .choices = additives,
	    .help = "learn the residual of an additive regression of the labelled rows, or no such part"},
	{OPT(shrink), .name = "shrink", .type = TP_OPT_CHOICE,
	    .choices = shrinkages, .flags = SIGNED,
	    .help = "categorical tokens as they are, or shrunk toward their columns' means"},
	{OPT(checkpoint), .name = "checkpoint", .arg = "file",
	    .type = TP_OPT_STRING, .flags = TP_OPT_RECORD,
	    .usage = "[--checkpoint file [--resume]]",
	    .help = "where to keep a checkpoint after each epoch"},
	{OPT(resume), .name = "resume", .type = TP_OPT_FLAG, .usage = "",
	    .help = "go on from the checkpoint"},
	{0},
};

static const char *const corruptions[] = {"mask", "resample", NULL};

const tp_opt tp_pretrain_options[] = {
	{OPT(corruption), .name = "corruption", .type = TP_OPT_CHOICE,
	    .choices = corruptions, .flags = TP_OPT_RECORD,
	    .help = "how a view corrupts a feature"},
	{OPT(rate), .name = "rate", .arg = "p", .type = TP_OPT_FLOAT, .min = 0,
	    .max = 1, .flags = TP_OPT_RECORD,
	    .help = "the chance that a feature of a view is corrupted"},
	{.key = "temperature", .offset = offsetof(tp_train_opts, tau),
	    .name = "temperature", .arg = "t", .type = TP_OPT_FLOAT,
	    .min = 1e-3, .max = 1e3, .flags = TP_OPT_RECORD,
	    .help = "NT-Xent's temperature"},
	{0},
};

int
tp_train_check(const tp_train_opts *o, tp_err *e)
{
	if (o->buffer_rows > 0 && o->buffer_rows < o->batch)
		return tp_err_set(e, TP_EUSAGE,
		    "--buffer-rows %ld is less than --batch %d: the shuffle buffer holds a batch at least",
		    o->buffer_rows, o->batch);
	if (o->members > 1 && o->checkpoint != NULL)
		return tp_err_set(e, TP_EUSAGE,
		    "--checkpoint keeps one model's training: it cannot be used with --members %d",
		    o->members);
	return TP_OK;
}

uint64_t
tp_member_seed(uint64_t seed, int j)
{
	return seed + (uint64_t)j * UINT64_C(0x9e3779b97f4a7c15);
}

/*
 * Where the steps of training run: the host model and optimiser, or their
 * mirrors on the GPU. The host optimiser is made either way: on the GPU it
 * holds the moments that a checkpoint saves and a resumed run starts from.
 */
typedef struct {
	tp_model *m;
	tp_adamw opt;
#ifdef TP_CUDA
	int gpu;
	tp_cuda g;
	tp_cuda_model cm;
	tp_cuda_adamw gopt;
#endif
} engine;

/* Room for steps of rows rows and the optimiser; on the GPU, the device is
 * opened but nothing is sent until engine_start. */
static int
engine_open(engine *en, const tp_train_opts *o, tp_model *m,
    const tp_adamw_config *oc, int rows, tp_err *e)
{
	int rc;

	en->m = m;
	if (o->device == TP_DEVICE_CPU)
		return (rc = tp_model_plan(m, rows, e)) != TP_OK ? rc :
		    tp_adamw_init(&en->opt, oc, m->nfloats, e);
#ifdef TP_CUDA
	en->gpu = 1;
	return (rc = tp_adamw_init(&en->opt, oc, m->nfloats, e)) != TP_OK ? rc :
	    tp_cuda_open(&en->g, 0, e);
#else
	return tp_device_check(o->device, e);
#endif
}

/* Sends the weights and the moments, as the host has them now (fresh, or
 * from a checkpoint), to the device. */
static int
engine_start(engine *en, int rows, tp_err *e)
{
#ifdef TP_CUDA
	size_t bytes = en->m->nfloats * sizeof(float);
	int rc;

	if (!en->gpu)
		return TP_OK;
	if ((rc = tp_cuda_model_init(&en->g, &en->cm, en->m, e)) != TP_OK ||
	    (rc = tp_cuda_model_plan(&en->g, &en->cm, rows, e)) != TP_OK ||
	    (rc = tp_cuda_adamw_init(&en->g, &en->gopt, &en->opt.cfg,
	    en->m->nfloats, e)) != TP_OK ||
	    (rc = tp_cuda_upload(&en->g, en->gopt.m, en->opt.m, bytes, e)) != TP_OK ||
	    (rc = tp_cuda_upload(&en->g, en->gopt.v, en->opt.v, bytes, e)) != TP_OK)
		return rc;
	en->gopt.t = en->opt.t;
#else
	(void)en;
	(void)rows;
	(void)e;
#endif
	return TP_OK;
}

static float
engine_classify(engine *en, const tp_batch *mb, const float *target,
    const float *class_weight, int n)
{
#ifdef TP_CUDA
	if (en->gpu)
		return tp_cuda_model_classify_step(&en->g, &en->cm, mb->cat,
		    mb->num, mb->label, target, class_weight, n, 1);
#endif
	return tp_model_classify_step(en->m, mb->cat, mb->num, mb->label,
	    target, class_weight, n, 1);
}

static float
engine_contrast(engine *en, const tp_batch *mb, int n, float tau)
{
#ifdef TP_CUDA
	if (en->gpu)
		return tp_cuda_model_contrast_step(&en->g, &en->cm, mb->cat,
		    mb->num, n, tau);
#endif
	return tp_model_contrast_step(en->m, mb->cat, mb->num, n, tau);
}

/* The optimiser's step; returns the gradient norm. */
static float
engine_update(engine *en)
{
#ifdef TP_CUDA
	if (en->gpu) {
		float norm = tp_cuda_adamw_step(&en->g, &en->gopt, en->cm.params,
		    en->cm.grads, en->m->param, en->m->nparam);
		en->opt.t = en->gopt.t;
		return norm;
	}
#endif
	return tp_adamw_step(&en->opt, en->m);
}

/* A step that gave no finite number: a failure of the device, if there was
 * one, rather than a divergence. */
static int
engine_failure(engine *en, tp_err *e)
{
#ifdef TP_CUDA
	if (en->gpu)
		return tp_cuda_sync(&en->g, e);
#else
	(void)en;
	(void)e;
#endif
	return TP_OK;
}

static int
engine_score(engine *en, const tp_batch *b, float *prob, tp_err *e)
{
#ifdef TP_CUDA
	if (en->gpu)
		return tp_score_cuda(&en->g, &en->cm, b, prob, e);
#endif
	return tp_score(en->m, b, prob, e);
}

/* Brings the device's weights (and with moments, the optimiser's moments)
 * back to the host, where the best epoch and checkpoints are kept. */
static int
engine_fetch(engine *en, int moments, tp_err *e)
{
#ifdef TP_CUDA
	size_t bytes = en->m->nfloats * sizeof(float);
	int rc;

	if (!en->gpu)
		return TP_OK;
	if ((rc = tp_cuda_model_download(&en->g, &en->cm, e)) != TP_OK)
		return rc;
	if (moments &&
	    ((rc = tp_cuda_download(&en->g, en->opt.m, en->gopt.m, bytes, e)) != TP_OK ||
	    (rc = tp_cuda_download(&en->g, en->opt.v, en->gopt.v, bytes, e)) != TP_OK))
		return rc;
#else
	(void)en;
	(void)moments;
	(void)e;
#endif
	return TP_OK;
}

static void
engine_close(engine *en)
{
#ifdef TP_CUDA
	tp_cuda_adamw_free(&en->gopt);
	tp_cuda_model_free(&en->cm);
	tp_cuda_close(&en->g);
#endif
	tp_adamw_free(&en->opt);
}

static int
optimiser_config(const tp_train_opts *o, size_t rows, tp_adamw_config *c,
    tp_err *e)
{
	long per_epoch = (long)((rows + (size_t)o->batch - 1) / (size_t)o->batch);

	if (rows == 0)
		return tp_err_set(e, TP_EDATA, "no rows to train on");
	*c = (tp_adamw_config){
		.lr = o->lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
		.weight_decay = o->weight_decay, .clip = o->clip,
		.total = per_epoch * o->epochs,
	};
	c->warmup = (long)(o->warmup * (float)c->total);
	return TP_OK;
}

/* What a checkpoint must agree with to be resumed: every signed option
 * (TP_OPT_SIGN), the encoder's and the teacher's bytes and the data's, as
 * compact JSON; NULL without memory. To free. */
static char *
signature(const tp_train_opts *o, const tp_encoding *enc,
    const tp_rows *train, const tp_batch *valid)
{
	cJSON *j = cJSON_CreateObject();
	char ft[65], fv[65], *text = NULL;

	tp_rows_fingerprint(train, ft);
	tp_batch_fingerprint(valid, fv);
	if (j != NULL &&
	    tp_opt_json(tp_config_options, &o->model, TP_OPT_SIGN, j, NULL) == TP_OK &&
	    tp_opt_json(tp_train_options, o, TP_OPT_SIGN, j, NULL) == TP_OK &&
	    tp_opt_json(tp_classify_options, o, TP_OPT_SIGN, j, NULL) == TP_OK &&
	    (o->encoder == NULL ||
	    cJSON_AddStringToObject(j, "encoder", o->encoder->sha256) != NULL) &&
	    (o->teacher == NULL ||
	    cJSON_AddStringToObject(j, "teacher", o->teacher_sha256) != NULL) &&
	    cJSON_AddStringToObject(j, "encoding", enc->fingerprint) != NULL &&
	    cJSON_AddStringToObject(j, "train", ft) != NULL &&
	    cJSON_AddStringToObject(j, "valid", fv) != NULL)
		text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return text;
}

/* Everything the next epoch depends on. */
typedef struct {
	int epoch;            /* epochs done */
	int best_epoch, bad_epochs;
	double best_auc, threshold, f1;
} progress_state;

static int
save_checkpoint(const char *path, const tp_model *m, const tp_adamw *opt,
    const float *best, const progress_state *s, const char *sig, tp_err *e)
{
	char buf[8][64];
	cJSON *md = cJSON_CreateObject();
	int64_t n = (int64_t)m->nfloats;
	tp_tensor t[] = {
		{"params", TP_F32, 1, {n}, m->params},
		{"best", TP_F32, 1, {n}, best},
		{"adam.m", TP_F32, 1, {n}, opt->m},
		{"adam.v", TP_F32, 1, {n}, opt->v},
	};
	int rc;

	if (md == NULL)
		return tp_err_nomem(e, "a checkpoint");
	snprintf(buf[0], 64, "%d", s->epoch);
	snprintf(buf[1], 64, "%d", s->best_epoch);
	snprintf(buf[2], 64, "%d", s->bad_epochs);
	snprintf(buf[3], 64, "%.17g", s->best_auc);
	snprintf(buf[4], 64, "%.17g", s->threshold);
	snprintf(buf[5], 64, "%.17g", s->f1);
	snprintf(buf[6], 64, "%ld", opt->t);
	snprintf(buf[7], 64, "%llu", (unsigned long long)m->step);
	cJSON_AddStringToObject(md, "format", "tabpipe-checkpoint");
	cJSON_AddStringToObject(md, "signature", sig);
	cJSON_AddStringToObject(md, "epoch", buf[0]);
	cJSON_AddStringToObject(md, "best_epoch", buf[1]);
	cJSON_AddStringToObject(md, "bad_epochs", buf[2]);
	cJSON_AddStringToObject(md, "best_auc", buf[3]);
	cJSON_AddStringToObject(md, "threshold", buf[4]);
	cJSON_AddStringToObject(md, "f1", buf[5]);
	cJSON_AddStringToObject(md, "adam_t", buf[6]);
	cJSON_AddStringToObject(md, "model_step", buf[7]);
	rc = tp_st_save(path, t, 4, md, e);
	cJSON_Delete(md);
	return rc;
}

static int
load_checkpoint(const char *path, tp_model *m, tp_adamw *opt, float *best,
    progress_state *s, const char *sig, tp_err *e)
{
	tp_st_file f;
	int64_t n = (int64_t)m->nfloats;
	float *dst[] = {m->params, best, opt->m, opt->v};
	static const char *const names[] = {"params", "best", "adam.m", "adam.v"};
	static const char *const keys[] = {"epoch", "best_epoch", "bad_epochs",
	    "best_auc", "threshold", "f1", "adam_t", "model_step"};
	int rc;

	if ((rc = tp_st_open(&f, path, e)) != TP_OK)
		return rc;
	const char *fmt = tp_st_meta(&f, "format"), *fsig = tp_st_meta(&f, "signature");
	if (fmt == NULL || strcmp(fmt, "tabpipe-checkpoint") != 0) {
		rc = tp_err_set(e, TP_EDATA, "%s: not a tabpipe checkpoint", path);
		goto out;
	}
	/* Resuming from damaged moments or weights would go on silently
	 * wrong: a checkpoint without the digest of its tensors is refused,
	 * as a model file is. */
	if (!f.verified) {
		rc = tp_err_set(e, TP_EDATA, "%s: the checkpoint has no %s, the "
		    "digest of its tensors: start afresh without --resume", path,
		    TP_ST_DIGEST);
		goto out;
	}
	if (fsig == NULL || strcmp(fsig, sig) != 0) {
		rc = tp_err_set(e, TP_EUSAGE,
		    "%s: made by a run with other options or data: resume with the same ones, or start afresh without --resume",
		    path);
		goto out;
	}
	for (int i = 0; i < 8; i++)
		if (tp_st_meta(&f, keys[i]) == NULL) {
			rc = tp_err_set(e, TP_EDATA, "%s: no \"%s\" in the checkpoint",
			    path, keys[i]);
			goto out;
		}
	for (int i = 0; i < 4; i++) {
		tp_tensor t;
		if ((rc = tp_st_find(&f, names[i], TP_F32, 1, &n, &t, e)) != TP_OK)
			goto out;
		memcpy(dst[i], t.data, m->nfloats * sizeof(float));
	}
	s->epoch = atoi(tp_st_meta(&f, "epoch"));
	s->best_epoch = atoi(tp_st_meta(&f, "best_epoch"));
	s->bad_epochs = atoi(tp_st_meta(&f, "bad_epochs"));
	s->best_auc = strtod(tp_st_meta(&f, "best_auc"), NULL);
	s->threshold = strtod(tp_st_meta(&f, "threshold"), NULL);
	s->f1 = strtod(tp_st_meta(&f, "f1"), NULL);
	opt->t = strtol(tp_st_meta(&f, "adam_t"), NULL, 10);
	m->step = strtoull(tp_st_meta(&f, "model_step"), NULL, 10);
out:
	tp_st_close(&f);
	return rc;
}

/* The source's buffer must hold a batch. */
static int
check_source(const tp_train_opts *o, const tp_rows *rows, tp_err *e)
{
	size_t buffer = tp_rows_buffer(rows);

	if (buffer > 0 && buffer < (size_t)o->batch)
		return tp_err_set(e, TP_EUSAGE,
		    "a shuffle buffer of %zu rows is less than --batch %d: it holds a batch at least",
		    buffer, o->batch);
	return TP_OK;
}

/* The next n rows of the epoch into mb: as many as the epoch was counted
 * to have, or the input changed under the reading. */
static int
next_batch(tp_rows *rows, tp_batch *mb, int n, tp_err *e)
{
	long got = tp_rows_next(rows, mb, (size_t)n, e);

	if (got < 0)
		return e->code;
	if (got != n)
		return tp_err_set(e, TP_EINTERNAL,
		    "an epoch gave %ld rows where %d were due", got, n);
	return TP_OK;
}

/* The run's teacher (o->teacher) open on its device, and its probability
 * of each training row held in memory, scored once for all the members
 * and epochs: it has no dropout, so its probabilities do not change. A
 * buffer's rows are not known before they come: taught is NULL then. */
typedef struct {
	tp_scorer *scorer;
	float *taught;
} teaching;

static int
teaching_open(teaching *t, const tp_train_opts *o, const tp_rows *train,
    tp_err *e)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (o->teacher == NULL)
		return TP_OK;
	if ((rc = tp_scorer_open(&t->scorer, o->teacher, o->device, e)) !=
	    TP_OK)
		return rc;
	if (tp_rows_positions(train) == NULL)
		return TP_OK;
	if ((t->taught = malloc((tp_rows_count(train) + 1) *
	    sizeof(float))) == NULL)
		return tp_err_nomem(e, "the teacher's probabilities");
	return tp_scorer_run(t->scorer, tp_rows_pool(train), t->taught, e);
}

static void
teaching_close(teaching *t)
{
	tp_scorer_close(t->scorer);
	free(t->taught);
}

/* The teacher's probabilities of the batch's rows into soft: looked up
 * when the rows are in memory, else scored now. */
static int
teach(const teaching *t, const tp_rows *train, const tp_batch *mb,
    float *soft, tp_err *e)
{
	const size_t *at = tp_rows_positions(train);

	if (t->scorer == NULL)
		return TP_OK;
	if (t->taught == NULL || at == NULL)
		return tp_scorer_run(t->scorer, mb, soft, e);
	for (size_t i = 0; i < mb->n; i++)
		soft[i] = t->taught[at[i]];
	return TP_OK;
}

static int
not_finite(float loss, float norm, int epoch, long step, const char *ckpt,
    tp_err *e)
{
	return tp_err_set(e, TP_EDATA,
	    "training diverged: the %s is %g at epoch %d, step %ld; stopped%s%s%s (try a lower --lr)",
	    isfinite(loss) ? "gradient norm" : "loss",
	    isfinite(loss) ? (double)norm : (double)loss, epoch, step,
	    ckpt ? ", the last checkpoint " : "", ckpt ? ckpt : "",
	    ckpt ? " is kept" : "");
}

/* Makes m's forward read its categorical tables shrunk by the factors
 * that train's labels give (train/shrink.h). */
static int
shrink_tables(tp_rows *train, tp_model *m, tp_err *e)
{
	float *b = malloc(2 * (size_t)m->vocab_rows * sizeof(float));
	int rc;

	if (b == NULL)
		return tp_err_nomem(e, "the shrinkage factors");
	if ((rc = tp_shrink_factors(train, m, b, b + m->vocab_rows, e)) ==
	    TP_OK)
		rc = tp_model_shrink(m, b, b + m->vocab_rows, e);
	free(b);
	return rc;
}

/* The threshold of validation scores prob: the one given, or the best
 * F1's (its F1 into *f1). */
static double
decision_threshold(const tp_train_opts *o, const float *prob,
    const tp_batch *valid, double *f1, tp_err *e)
{
	if (o->threshold >= 0)
		return o->threshold;
	return tp_best_f1_threshold(prob, valid->label, valid->n, f1, e);
}

/* Rows the additive regression is fitted to at most: a sample of more
 * (train/regression.h). */
#define ADDITIVE_ROWS 200000

/* Fits m's additive part to the labelled rows of train, or with a
 * teacher to every row toward the teacher's probability, the rows
 * weighted by class_weight (NULL: alike) as the training's loss weighs
 * them, its L2 penalty into *penalty and its seconds into *seconds; and
 * starts the classifier's output at zero, so that training starts from
 * the regression and learns what it leaves. The members of an ensemble
 * after the first copy the first's fit: the rows and the fit draw
 * nothing from a member's seed, so fitting again would give the same
 * weights. */
static int
fit_additive(tp_rows *train, const teaching *teacher,
    const float *class_weight, const tp_model *first, tp_model *m,
    double *penalty, double *seconds, tp_err *e)
{
	const int part[] = {m->ix.additive_w, m->ix.additive_knot};
	const tp_param *w = &m->param[m->ix.head3_w];
	const tp_param *b = &m->param[m->ix.head3_b];

	if (first == NULL) {
		tp_additive a = tp_model_additive(m);
		tp_batch rows = {0};
		float *target = NULL;
		double t0 = tp_clock();
		int rc, taught = teacher->scorer != NULL;

		if ((rc = tp_regression_rows(train, m->ncat, m->nnum,
		    ADDITIVE_ROWS, taught, &rows, e)) == TP_OK && taught &&
		    (target = malloc((rows.n + 1) * sizeof(float))) == NULL)
			rc = tp_err_nomem(e, "the teacher's probabilities");
		if (rc == TP_OK && taught)
			rc = tp_scorer_run(teacher->scorer, &rows, target, e);
		if (rc == TP_OK)
			rc = tp_regression_fit(&a, &rows, target, class_weight,
			    penalty, e);
		free(target);
		tp_batch_free(&rows);
		if (rc != TP_OK)
			return rc;
		*seconds = tp_clock() - t0;
	} else
		for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++)
			if (part[i] >= 0)
				memcpy(m->params + m->param[part[i]].offset,
				    first->params + first->param[part[i]].offset,
				    m->param[part[i]].numel * sizeof(float));
	memset(m->params + w->offset, 0, w->numel * sizeof(float));
	memset(m->params + b->offset, 0, b->numel * sizeof(float));
	return TP_OK;
}

/* Trains member `member` of the run (0 for one model) with the options o
 * of that member, and the run's teacher; first is the run's first member,
 * NULL for it. */
static int
train_model(const tp_train_opts *o, int member, const tp_encoding *enc,
    tp_rows *train, const tp_batch *valid, const teaching *teacher,
    const tp_model *first, tp_model *m, tp_train_result *res, tp_err *e)
{
	engine en = {0};
	tp_adamw_config oc;
	tp_batch mb = {0};
	progress_state st = {.best_auc = -1, .threshold = 0.5};
	size_t rows = (size_t)tp_rows_count(train);
	float *best = NULL, *prob = NULL, *soft = NULL, cw[2] = {1, 1};
	double pos = 0, neg = 0;
	const float *class_weight = NULL;
	char *sig = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	res->additive_penalty = res->additive_seconds = res->additive_auc =
	    NAN;
	if (valid->n == 0)
		return tp_err_set(e, TP_EDATA, "the validation stream has no rows");
	if ((rc = check_source(o, train, e)) != TP_OK ||
	    (rc = optimiser_config(o, rows, &oc, e)) != TP_OK ||
	    (rc = tp_model_init(m, &o->model, enc, o->seed, o->threads, e)) != TP_OK)
		return rc;
	if (o->encoder != NULL &&
	    (rc = tp_model_load_encoder(o->encoder, m, enc, e)) != TP_OK)
		goto out;
	if (o->shrink == TP_SHRINK_BAYES && m->ncat > 0 &&
	    (rc = shrink_tables(train, m, e)) != TP_OK)
		goto out;
	tp_rows_labels(train, &neg, &pos);
	/* A teacher gives every row its target; labels alone must show
	 * both classes, or the model learns a constant and early stopping
	 * keeps whichever epoch came first. */
	if (o->teacher == NULL && (pos == 0 || neg == 0)) {
		rc = tp_err_set(e, TP_EDATA,
		    "the training rows' labels are of one class (%.0f of 0, %.0f of 1): a model needs both to learn from",
		    neg, pos);
		goto out;
	}
	if (o->balanced) {
		if (pos == 0 || neg == 0) {
			rc = tp_err_set(e, TP_EDATA, "balanced class weights need both classes in the training rows");
			goto out;
		}
		cw[0] = (float)((pos + neg) / (2 * neg));
		cw[1] = (float)((pos + neg) / (2 * pos));
		class_weight = cw;
	} else if (o->class_weight[0] > 0 && o->class_weight[1] > 0) {
		memcpy(cw, o->class_weight, sizeof(cw));
		class_weight = cw;
	}
	/* A resumed run's checkpoint holds the fit. */
	if (m->cfg.additive && !o->resume && (rc = fit_additive(train, teacher,
	    class_weight, first, m, &res->additive_penalty,
	    &res->additive_seconds, e)) != TP_OK)
		goto out;
	/* The head starts at the class prior the weighted loss sees; without
	 * it, the first epochs of a small or unbalanced data set go to
	 * learning the base rate, and the validation AUC sinks meanwhile
	 * (early stopping then keeps an epoch before any real learning). */
	if (pos > 0 && neg > 0 && !m->cfg.additive)
		tp_model_set_prior(m, cw[1] * pos / (cw[1] * pos + cw[0] * neg));
	if ((rc = engine_open(&en, o, m, &oc, o->batch, e)) != TP_OK ||
	    (rc = tp_batch_init(&mb, enc->ncat, enc->nnum, (size_t)o->batch,
	    e)) != TP_OK)
		goto out;
	if ((best = malloc(m->nfloats * sizeof(float))) == NULL ||
	    (prob = malloc((valid->n + 1) * sizeof(float))) == NULL ||
	    (o->teacher != NULL &&
	    (soft = malloc((size_t)o->batch * sizeof(float))) == NULL)) {
		rc = tp_err_nomem(e, "training");
		goto out;
	}
	memcpy(best, m->params, m->nfloats * sizeof(float));
	if ((sig = signature(o, enc, train, valid)) == NULL) {
		rc = tp_err_nomem(e, "a checkpoint's signature");
		goto out;
	}
	if (o->resume && (rc = load_checkpoint(o->checkpoint, m, &en.opt, best,
	    &st, sig, e)) != TP_OK)
		goto out;
	if ((rc = engine_start(&en, o->batch, e)) != TP_OK)
		goto out;
	/* The regression alone is a candidate: the model kept is never the
	 * regression made worse on the validation rows. */
	if (m->cfg.additive && st.epoch == 0) {
		double auc;
		if ((rc = engine_score(&en, valid, prob, e)) != TP_OK)
			goto out;
		if ((auc = tp_roc_auc(prob, 1, valid->label, valid->n, e)) < 0) {
			rc = e->code;
			goto out;
		}
		st.best_auc = isnan(auc) ? 0 : auc;
		st.threshold = decision_threshold(o, prob, valid, &st.f1, e);
		res->additive_auc = auc;
	}

	while (st.epoch < o->epochs && st.bad_epochs < o->patience) {
		double t0 = tp_clock(), sum = 0;
		long steps = 0;
		int epoch = st.epoch + 1;
		if ((rc = tp_rows_epoch(train, o->seed, epoch, e)) != TP_OK)
			goto out;
		for (size_t r = 0; r < rows; r += (size_t)o->batch) {
			int n = rows - r < (size_t)o->batch ?
			    (int)(rows - r) : o->batch;
			if ((rc = next_batch(train, &mb, n, e)) != TP_OK ||
			    (rc = teach(teacher, train, &mb, soft, e)) != TP_OK)
				goto out;
			float loss = engine_classify(&en, &mb, soft, class_weight,
			    n);
			float norm = engine_update(&en);
			if (!isfinite(loss) || !isfinite(norm)) {
				if ((rc = engine_failure(&en, e)) == TP_OK)
					rc = not_finite(loss, norm, epoch, en.opt.t,
					    o->checkpoint, e);
				goto out;
			}
			sum += loss;
			steps++;
		}
		double secs = tp_clock() - t0;
		if ((rc = engine_score(&en, valid, prob, e)) != TP_OK ||
		    (rc = engine_fetch(&en, o->checkpoint != NULL, e)) != TP_OK)
			goto out;
		double auc = tp_roc_auc(prob, 1, valid->label, valid->n, e);
		if (auc < 0) {
			rc = e->code;
			goto out;
		}
		tp_epoch_report rep = {
			.member = member + 1, .members = o->members,
			.epoch = epoch, .epochs = o->epochs, .loss = sum / (double)steps,
			.valid_auc = auc,
			.valid_loss = tp_log_loss(prob, valid->label, valid->n),
			.rows_per_s = (double)rows / secs, .seconds = secs,
		};
		/* NaN (one class only) never improves; the first epoch does. */
		if (auc > st.best_auc || st.best_auc < 0) {
			st.best_auc = isnan(auc) ? 0 : auc;
			st.best_epoch = epoch;
			st.bad_epochs = 0;
			memcpy(best, m->params, m->nfloats * sizeof(float));
			st.threshold = decision_threshold(o, prob, valid, &st.f1, e);
			rep.best = 1;
		} else
			st.bad_epochs++;
		st.epoch = epoch;
		/* The report before the checkpoint: what the callback keeps of
		 * the epoch (the tool's history) then always holds the
		 * checkpoint's epochs, whenever the run is killed, and a
		 * resumed run drops the ones past it. */
		if (o->progress != NULL)
			o->progress(o->ctx, &rep);
		if (o->checkpoint != NULL &&
		    (rc = save_checkpoint(o->checkpoint, m, &en.opt, best, &st,
		    sig, e)) != TP_OK)
			goto out;
	}
	memcpy(m->params, best, m->nfloats * sizeof(float));
	/* The file keeps the tables that the best epoch read. */
	tp_model_fold(m);
	res->threshold = st.threshold;
	res->valid_auc = tp_labels_of_both_classes(valid->label, valid->n) ?
	    st.best_auc : NAN;
	res->valid_f1 = st.f1;
	res->best_epoch = st.best_epoch;
	res->epochs_run = st.epoch;
out:
	engine_close(&en);
	tp_batch_free(&mb);
	free(sig);
	free(best);
	free(prob);
	free(soft);
	if (rc != TP_OK)
		tp_model_free(m);
	return rc;
}

/* The validation AUC, threshold and F1 of the ensemble m into res. */
static int
ensemble_result(const tp_train_opts *o, tp_model *m, const tp_batch *valid,
    tp_train_result *res, tp_err *e)
{
	tp_scorer *sc = NULL;
	float *prob = malloc((valid->n + 1) * sizeof(float));
	int rc;

	if (prob == NULL)
		return tp_err_nomem(e, "the validation scores");
	if ((rc = tp_scorer_open(&sc, m, o->device, e)) == TP_OK &&
	    (rc = tp_scorer_run(sc, valid, prob, e)) == TP_OK) {
		res->valid_auc = tp_roc_auc(prob, 1, valid->label, valid->n, e);
		res->valid_f1 = 0;
		if (res->valid_auc < 0)
			rc = e->code;
		else
			res->threshold = decision_threshold(o, prob, valid,
			    &res->valid_f1, e);
	}
	tp_scorer_close(sc);
	free(prob);
	return rc;
}

int
tp_train_rows(const tp_train_opts *o, const tp_encoding *enc,
    tp_rows *train, const tp_batch *valid, tp_model *m,
    tp_train_result *res, tp_err *e)
{
	tp_model more[TP_MAX_MEMBERS - 1];
	tp_train_opts mo = *o;
	teaching teacher;
	int k = o->members > 1 ? o->members : 1, n = 0, rc;

	if ((rc = teaching_open(&teacher, o, train, e)) != TP_OK ||
	    (rc = train_model(o, 0, enc, train, valid, &teacher, NULL, m, res,
	    e)) != TP_OK) {
		teaching_close(&teacher);
		return rc;
	}
	res->members = k;
	res->member[0] = (tp_member_result){res->valid_auc, res->best_epoch,
	    res->epochs_run};
	for (; n < k - 1; n++) {
		tp_train_result r;
		mo.seed = tp_member_seed(o->seed, n + 1);
		if ((rc = train_model(&mo, n + 1, enc, train, valid, &teacher,
		    m, &more[n], &r, e)) != TP_OK)
			goto out;
		res->member[n + 1] = (tp_member_result){r.valid_auc,
		    r.best_epoch, r.epochs_run};
	}
	if (k > 1 && ((rc = tp_model_join(m, more, k - 1, e)) != TP_OK ||
	    (rc = ensemble_result(o, m, valid, res, e)) != TP_OK))
		goto out;
	teaching_close(&teacher);
	return TP_OK;
out:
	teaching_close(&teacher);
	for (int j = 0; j < n; j++)
		tp_model_free(&more[j]);
	tp_model_free(m);
	return rc;
}

int
tp_train(const tp_train_opts *o, const tp_encoding *enc,
    const tp_batch *train, const tp_batch *valid, tp_model *m,
    tp_train_result *res, tp_err *e)
{
	tp_rows *rows;
	int rc;

	if ((rc = tp_rows_memory(&rows, train, e)) != TP_OK)
		return rc;
	rc = tp_train_rows(o, enc, rows, valid, m, res, e);
	tp_rows_close(rows);
	return rc;
}

/* Makes slot i and slot i + B of mb two corrupted views of the row in
 * slot i, a corrupted feature resampled from a row of pool. */
static void
make_views(tp_batch *mb, int i, int B, const tp_batch *pool,
    const tp_train_opts *o, tp_rng *rng)
{
	int ncat = mb->ncat, nnum = mb->nnum;

	memcpy(mb->cat + (size_t)(i + B) * ncat, mb->cat + (size_t)i * ncat,
	    (size_t)ncat * sizeof(int32_t));
	memcpy(mb->num + (size_t)(i + B) * nnum, mb->num + (size_t)i * nnum,
	    (size_t)nnum * sizeof(float));
	mb->id[i + B] = mb->id[i];
	mb->label[i + B] = mb->label[i];
	for (int v = 0; v < 2; v++) {
		int slot = i + v * B;
		int32_t *cat = mb->cat + (size_t)slot * ncat;
		float *num = mb->num + (size_t)slot * nnum;
		for (int j = 0; j < ncat + nnum; j++) {
			if (tp_rng_float(rng) >= o->rate)
				continue;
			size_t from = o->corruption == TP_CORRUPT_RESAMPLE ?
			    (size_t)tp_rng_below(rng, pool->n) : 0;
			if (j < ncat)
				cat[j] = o->corruption == TP_CORRUPT_MASK ? 0 :
				    pool->cat[from * ncat + (size_t)j];
			else
				num[j - ncat] = o->corruption == TP_CORRUPT_MASK ?
				    NAN : pool->num[from * nnum + (size_t)(j - ncat)];
		}
	}
}

int
tp_pretrain_rows(const tp_train_opts *o, const tp_encoding *enc,
    tp_rows *data, tp_model *m, tp_err *e)
{
	engine en = {0};
	tp_adamw_config oc;
	tp_batch mb = {0};
	size_t rows = (size_t)tp_rows_count(data);
	tp_rng rng;
	int rc;

	if (rows < 2)
		return tp_err_set(e, TP_EDATA, "pretraining needs at least 2 rows, the stream has %zu",
		    rows);
	if ((rc = check_source(o, data, e)) != TP_OK ||
	    (rc = optimiser_config(o, rows, &oc, e)) != TP_OK ||
	    (rc = tp_model_init(m, &o->model, enc, o->seed, o->threads, e)) != TP_OK)
		return rc;
	if ((rc = engine_open(&en, o, m, &oc, 2 * o->batch, e)) != TP_OK ||
	    (rc = tp_batch_init(&mb, enc->ncat, enc->nnum, 2 * (size_t)o->batch,
	    e)) != TP_OK ||
	    (rc = engine_start(&en, 2 * o->batch, e)) != TP_OK)
		goto out;
	tp_rng_seed(&rng, o->seed ^ UINT64_C(0x5ca4f00d));
	for (int epoch = 1; epoch <= o->epochs; epoch++) {
		double t0 = tp_clock(), sum = 0;
		long steps = 0;
		if ((rc = tp_rows_epoch(data, o->seed, epoch, e)) != TP_OK)
			goto out;
		for (size_t r = 0; r < rows; r += (size_t)o->batch) {
			int n = rows - r < (size_t)o->batch ?
			    (int)(rows - r) : o->batch;
			/* A batch of one row has no negative pair. */
			if (n < 2)
				break;
			if ((rc = next_batch(data, &mb, n, e)) != TP_OK)
				goto out;
			for (int i = 0; i < n; i++)
				make_views(&mb, i, n, tp_rows_pool(data), o, &rng);
			float loss = engine_contrast(&en, &mb, n, o->tau);
			float norm = engine_update(&en);
			if (!isfinite(loss) || !isfinite(norm)) {
				if ((rc = engine_failure(&en, e)) == TP_OK)
					rc = not_finite(loss, norm, epoch, en.opt.t, NULL, e);
				goto out;
			}
			sum += loss;
			steps++;
		}
		double secs = tp_clock() - t0;
		tp_epoch_report rep = {
			.member = 1, .members = 1,
			.epoch = epoch, .epochs = o->epochs,
			.loss = steps ? sum / (double)steps : NAN, .valid_auc = NAN,
			.valid_loss = NAN, .rows_per_s = (double)rows / secs,
			.seconds = secs,
		};
		if (o->progress != NULL)
			o->progress(o->ctx, &rep);
	}
	rc = engine_fetch(&en, 0, e);
out:
	engine_close(&en);
	tp_batch_free(&mb);
	if (rc != TP_OK)
		tp_model_free(m);
	return rc;
}

int
tp_pretrain(const tp_train_opts *o, const tp_encoding *enc,
    const tp_batch *data, tp_model *m, tp_err *e)
{
	tp_rows *rows;
	int rc;

	if ((rc = tp_rows_memory(&rows, data, e)) != TP_OK)
		return rc;
	rc = tp_pretrain_rows(o, enc, rows, m, e);
	tp_rows_close(rows);
	return rc;
}
