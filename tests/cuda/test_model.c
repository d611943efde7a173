/* The whole model on the GPU against lib/model/model.c on one thread, from the
 * golden test's model files (default sizes, 3 categorical and 4 numeric
 * features; one of them with an additive part) with dropout turned on: the supervised and contrastive steps'
 * losses and every tensor's gradient, predictions, a few AdamW steps'
 * loss curve, and the trained weights brought back into the host model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_test.h"
#include "model/cuda/adamw.h"
#include "model/cuda/model.h"
#include "model/modelfile.h"

enum { ROWS = 64, STEPS = 3 };

/* After a few AdamW steps the weights agree less closely than one step's
 * outputs: at the first step Adam's update is about lr * sign(g), so a
 * gradient within rounding of zero may move its weight by lr either way. */
#define TRAINED_TOL 1e-2

typedef struct {
	tp_model cpu, host;       /* the CPU's, and the one the GPU mirrors */
	tp_encoding enc;
	tp_cuda_model gm;
	int32_t cat[2 * ROWS * 8];
	float num[2 * ROWS * 8];
	int8_t label[ROWS];
} fixture;

/* Makes both models read their tables shrunk, with factors of every size
 * and each table's rows weighed alike. */
static void
shrink(fixture *f)
{
	const tp_model *m = &f->cpu;
	float *b = malloc(2 * (size_t)m->vocab_rows * sizeof(float));
	float *w = b + m->vocab_rows;
	tp_err e = {0};

	ck_assert_ptr_nonnull(b);
	for (int j = 0; j < m->ncat; j++) {
		int end = j + 1 < m->ncat ? m->vocab_offset[j + 1] : m->vocab_rows;
		for (int v = m->vocab_offset[j]; v < end; v++) {
			b[v] = (float)(v % 5) / 4;
			w[v] = 1.0f / (float)(end - m->vocab_offset[j]);
		}
	}
	ck_assert_int_eq(tp_model_shrink(&f->cpu, b, w, &e), TP_OK);
	ck_assert_int_eq(tp_model_shrink(&f->host, b, w, &e), TP_OK);
	free(b);
}

/* The fixture, of the golden model file `file`, with both models' tables
 * shrunk (tp_model_shrink) when shrunk is set. */
static void
load_file(fixture *f, const char *file, int shrunk)
{
	const char *dir = getenv("TP_TESTDATA");
	char path[4096];
	tp_model_meta meta;
	tp_encoding enc2;
	tp_err e = {0};
	tp_rng r;

	ck_assert_msg(dir != NULL, "TP_TESTDATA is not set: run with "
	    "TP_TESTDATA=tests/data");
	snprintf(path, sizeof(path), "%s/golden/%s", dir, file);
	memset(f, 0, sizeof(*f));
	memset(&enc2, 0, sizeof(enc2));
	ck_assert_msg(tp_model_load(path, &f->cpu, &f->enc, &meta,
	    TP_WITH_HEAD | TP_WITH_PROJECTOR, 1, &e) == TP_OK, "%s", e.msg);
	ck_assert_msg(tp_model_load(path, &f->host, &enc2, &meta,
	    TP_WITH_HEAD | TP_WITH_PROJECTOR, 1, &e) == TP_OK, "%s", e.msg);
	tp_encoding_free(&enc2);
	ck_assert(f->cpu.ncat <= 8 && f->cpu.nnum <= 8);
	f->cpu.cfg.dropout = f->host.cfg.dropout = 0.1f;
	ck_assert_msg(tp_model_plan(&f->cpu, 2 * ROWS, &e) == TP_OK, "%s",
	    e.msg);
	if (shrunk)
		shrink(f);
	ck_assert_msg(tp_cuda_model_init(gpu, &f->gm, &f->host, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_msg(tp_cuda_model_plan(gpu, &f->gm, 2 * ROWS, &e) == TP_OK,
	    "%s", e.msg);
	/* Rows of each table: its vocabulary and index 0, missing. */
	tp_rng_seed(&r, 40);
	for (int b = 0; b < 2 * ROWS; b++) {
		for (int j = 0; j < f->cpu.ncat; j++) {
			const tp_model *m = &f->cpu;
			int end = j + 1 < m->ncat ? m->vocab_offset[j + 1] :
			    m->vocab_rows;
			f->cat[b * m->ncat + j] = (int32_t)tp_rng_below(&r,
			    (uint64_t)(end - m->vocab_offset[j]));
		}
		for (int j = 0; j < f->cpu.nnum; j++)
			f->num[b * f->cpu.nnum + j] = tp_rng_float(&r) < 0.1f ?
			    NAN : (float)tp_rng_normal(&r);
	}
	for (int b = 0; b < ROWS; b++)
		f->label[b] = (int8_t)tp_rng_below(&r, 2);
}

static void
load(fixture *f)
{
	load_file(f, "weights.safetensors", 0);
}

static void
unload(fixture *f)
{
	tp_cuda_model_free(&f->gm);
	tp_model_free(&f->cpu);
	tp_model_free(&f->host);
	tp_encoding_free(&f->enc);
}

/* Every tensor of the GPU's gradients against the CPU's. */
static void
check_grads(fixture *f, const char *step)
{
	char what[160];

	for (int k = 0; k < f->cpu.nparam; k++) {
		const tp_param *p = &f->cpu.param[k];
		snprintf(what, sizeof(what), "%s: gradient of %s", step,
		    p->name);
		check_close(f->gm.grads + p->offset, f->cpu.grads + p->offset,
		    p->numel, what);
	}
}

/* _i: 1 with soft targets for the labels, 0 without, 2 without and with
 * the tables shrunk, 3 without and of the model with an additive part. */
START_TEST(classify)
{
	static const char *const what[] = {"model classify step",
	    "model classify step, soft targets",
	    "model classify step, shrunk tables",
	    "model classify step, additive part"};
	NEED_GPU(what[_i]);
	static const float weight[2] = {0.6f, 3.0f};
	float target[ROWS];
	fixture f;
	load_file(&f, _i == 3 ? "additive.safetensors" : "weights.safetensors",
	    _i == 2);
	for (int b = 0; b < ROWS; b++)
		target[b] = (float)(b + 1) / (ROWS + 2);
	const float *soft = _i == 1 ? target : NULL;
	float loss = tp_model_classify_step(&f.cpu, f.cat, f.num, f.label,
	    soft, weight, ROWS, 1);
	float gloss = tp_cuda_model_classify_step(gpu, &f.gm, f.cat, f.num,
	    f.label, soft, weight, ROWS, 1);
	check_scalar(gloss, loss, TOL, "classify loss");
	check_grads(&f, "classify");
	unload(&f);
}
END_TEST

START_TEST(contrast)
{
	NEED_GPU("model contrast step");
	fixture f;
	load(&f);
	float loss = tp_model_contrast_step(&f.cpu, f.cat, f.num, ROWS, 0.5f);
	float gloss = tp_cuda_model_contrast_step(gpu, &f.gm, f.cat, f.num,
	    ROWS, 0.5f);
	check_scalar(gloss, loss, TOL, "contrast loss");
	check_grads(&f, "contrast");
	unload(&f);
}
END_TEST

/* _i: 1 of the model with an additive part, 0 of the one without. */
START_TEST(predict)
{
	NEED_GPU(_i ? "model predict, additive part" : "model predict");
	float prob[ROWS], gprob[ROWS];
	tp_err e = {0};
	fixture f;
	load_file(&f, _i ? "additive.safetensors" : "weights.safetensors", 0);
	tp_model_predict(&f.cpu, f.cat, f.num, ROWS, prob);
	ck_assert_msg(tp_cuda_model_predict(gpu, &f.gm, f.cat, f.num, ROWS,
	    gprob, &e) == TP_OK, "%s", e.msg);
	for (int b = 0; b < ROWS; b++)
		check_scalar(gprob[b], prob[b], TOL, "predicted probability");
	unload(&f);
}
END_TEST

START_TEST(train)
{
	NEED_GPU("model training");
	tp_adamw_config cfg = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
	    .eps = 1e-8f, .weight_decay = 0.01f, .warmup = 1, .total = STEPS,
	    .clip = 1.0f};
	tp_adamw cpu_opt;
	tp_cuda_adamw gpu_opt;
	tp_err e = {0};
	char what[160];
	fixture f;
	load(&f);
	ck_assert_msg(tp_adamw_init(&cpu_opt, &cfg, f.cpu.nfloats, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_msg(tp_cuda_adamw_init(gpu, &gpu_opt, &cfg, f.host.nfloats,
	    &e) == TP_OK, "%s", e.msg);
	for (int s = 0; s < STEPS; s++) {
		float loss = tp_model_classify_step(&f.cpu, f.cat, f.num,
		    f.label, NULL, NULL, ROWS, 1);
		float gloss = tp_cuda_model_classify_step(gpu, &f.gm, f.cat,
		    f.num, f.label, NULL, NULL, ROWS, 1);
		snprintf(what, sizeof(what), "loss at step %d", s);
		check_scalar(gloss, loss, TOL, what);
		float norm = tp_adamw_step(&cpu_opt, &f.cpu);
		float gnorm = tp_cuda_adamw_step(gpu, &gpu_opt, f.gm.params,
		    f.gm.grads, f.host.param, f.host.nparam);
		snprintf(what, sizeof(what), "gradient norm at step %d", s);
		check_scalar(gnorm, norm, TOL, what);
	}
	/* The trained weights come back into the host model, which a model
	 * file is written from. */
	ck_assert_msg(tp_cuda_model_download(gpu, &f.gm, &e) == TP_OK, "%s",
	    e.msg);
	for (int k = 0; k < f.cpu.nparam; k++) {
		const tp_param *p = &f.cpu.param[k];
		size_t at;
		double err = rel_err(f.host.params + p->offset,
		    f.cpu.params + p->offset, p->numel, &at);
		ck_assert_msg(err < TRAINED_TOL, "trained %s: relative error "
		    "%g at element %zu", p->name, err, at);
	}
	tp_adamw_free(&cpu_opt);
	tp_cuda_adamw_free(&gpu_opt);
	unload(&f);
}
END_TEST

Suite *
cuda_model_suite(void)
{
	Suite *s = suite_create("cuda_model");
	TCase *tc = tcase_create("cuda_model");

	tcase_add_checked_fixture(tc, NULL, release);
	tcase_add_loop_test(tc, classify, 0, 4);
	tcase_add_test(tc, contrast);
	tcase_add_loop_test(tc, predict, 0, 2);
	tcase_add_test(tc, train);
	suite_add_tcase(s, tc);
	return s;
}
