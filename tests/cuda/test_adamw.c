/* The CUDA AdamW step against lib/model/optim.c's over a few steps: clipping,
 * warm-up, decay on the marked tensors only. */
#include <string.h>

#include "cuda_test.h"
#include "model/cuda/adamw.h"

/* Tensors that decay and tensors that do not, side by side, as a model's
 * weights and biases are. */
static const struct { int numel, decay; } shapes[] = {
	{300, 1}, {7, 0}, {120, 1}, {45, 1}, {5, 0}, {64, 0},
};
enum { NP = sizeof(shapes) / sizeof(shapes[0]), STEPS = 4 };

/* _i: 1 with clipping (the gradients are made large enough), 0 without. */
START_TEST(adamw)
{
	NEED_GPU(_i ? "adamw with clipping" : "adamw");
	tp_param param[NP];
	size_t n = 0;
	memset(param, 0, sizeof(param));
	for (int k = 0; k < NP; k++) {
		param[k].offset = n;
		param[k].numel = (size_t)shapes[k].numel;
		param[k].decay = shapes[k].decay;
		n += param[k].numel;
	}
	tp_adamw_config cfg = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f,
	    .eps = 1e-8f, .weight_decay = 0.05f, .warmup = 2, .total = 10,
	    .clip = _i ? 1.0f : 0.0f};
	tp_rng r;
	tp_rng_seed(&r, 30 + _i);
	tp_model m;
	memset(&m, 0, sizeof(m));
	m.param = param;
	m.nparam = NP;
	m.nfloats = n;
	m.params = host_randn(n, &r, 1);
	m.grads = host_randn(n, &r, 1);
	tp_adamw cpu;
	tp_cuda_adamw o;
	tp_err e = {0};
	ck_assert_msg(tp_adamw_init(&cpu, &cfg, n, &e) == TP_OK, "%s", e.msg);
	ck_assert_msg(tp_cuda_adamw_init(gpu, &o, &cfg, n, &e) == TP_OK, "%s",
	    e.msg);
	float *gparams = dev_copy(m.params, n * sizeof(float));
	float *ggrads = dev_copy(m.grads, n * sizeof(float));

	for (int step = 0; step < STEPS; step++) {
		float *g = host_randn(n, &r, _i ? 2.0f : 0.01f);
		memcpy(m.grads, g, n * sizeof(float));
		ck_assert_msg(tp_cuda_upload(gpu, ggrads, g, n * sizeof(float),
		    &e) == TP_OK, "%s", e.msg);
		float norm = tp_adamw_step(&cpu, &m);
		float gnorm = tp_cuda_adamw_step(gpu, &o, gparams, ggrads,
		    param, NP);
		check_scalar(gnorm, norm, TOL, "adamw gradient norm");
		check_close(ggrads, m.grads, n, "adamw clipped gradients");
		check_close(gparams, m.params, n, "adamw parameters");
		check_close(o.m, cpu.m, n, "adamw first moments");
		check_close(o.v, cpu.v, n, "adamw second moments");
	}
	ck_assert_int_eq(o.t, cpu.t);
	tp_adamw_free(&cpu);
	tp_cuda_adamw_free(&o);
}
END_TEST

Suite *
cuda_adamw_suite(void)
{
	Suite *s = suite_create("cuda_adamw");
	TCase *tc = tcase_create("cuda_adamw");

	tcase_add_checked_fixture(tc, NULL, release);
	tcase_add_loop_test(tc, adamw, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
