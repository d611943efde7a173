/*
 * test_score: device names, the CPU always there and CUDA refused by a
 * build without it, tp_score over batches that are not a multiple of its
 * chunk against tp_model_predict one row at a time, and a scorer on the
 * CPU giving tp_score's very bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "model/score.h"
#include "suites.h"

static const tp_config small = {
	.layers = 2, .d_model = 8, .heads = 2, .d_ff = 12, .head_hidden = 6,
	.proj_dim = 4, .dropout = 0.1f, .activation = TP_GELU,
};

START_TEST(device_names)
{
	enum tp_device d = TP_DEVICE_CUDA;

	ck_assert_int_eq(tp_device_parse("cpu", &d), 0);
	ck_assert_int_eq(d, TP_DEVICE_CPU);
	ck_assert_int_eq(tp_device_parse("cuda", &d), 0);
	ck_assert_int_eq(d, TP_DEVICE_CUDA);
	/* Others are refused and leave d alone. */
	static const char *const bad[] = {"", "CPU", "gpu", "cuda:0", "cpu ",
	    "cud"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(tp_device_parse(bad[i], &d) == -1, "\"%s\" taken",
		    bad[i]);
		ck_assert_int_eq(d, TP_DEVICE_CUDA);
	}
	ck_assert_str_eq(tp_device_name(TP_DEVICE_CPU), "cpu");
	ck_assert_str_eq(tp_device_name(TP_DEVICE_CUDA), "cuda");
	/* A name and its parse go round. */
	ck_assert_int_eq(tp_device_parse(tp_device_name(TP_DEVICE_CPU), &d), 0);
	ck_assert_int_eq(d, TP_DEVICE_CPU);
}
END_TEST

START_TEST(device_check)
{
	tp_err e = {0};

	ck_assert_int_eq(tp_device_check(TP_DEVICE_CPU, &e), TP_OK);
#ifndef TP_CUDA
	/* Never the CPU instead: an error that says why. */
	e.msg[0] = '\0';
	ck_assert_int_eq(tp_device_check(TP_DEVICE_CUDA, &e), TP_EUNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(e.msg, "built without CUDA"));
	ck_assert_ptr_nonnull(strstr(e.msg, "make CUDA=1"));

	/* The scorer is set to NULL, whatever it held. */
	static char sentinel;
	tp_scorer *s = (tp_scorer *)(void *)&sentinel;
	tp_encoding enc;
	tp_model m;
	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 1, 1, &e), TP_OK);
	e.msg[0] = '\0';
	ck_assert_int_eq(tp_scorer_open(&s, &m, TP_DEVICE_CUDA, &e),
	    TP_EUNAVAILABLE);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(e.msg, "built without CUDA"));
	tp_model_free(&m);
	tp_encoding_free(&enc);
#endif
}
END_TEST

/*
 * tp_score against tp_model_predict of each row alone: rows of a chunk go
 * through the model together, and each row's probability is the same bits
 * as alone (the forward's products are tp_gemm_rows'); rows mixed up or
 * left out of the last, partial chunk would differ (and a row left out
 * stays NaN). _i chooses the chunk: the rows planned (16), or 256 when
 * none were.
 */
START_TEST(score_rows)
{
	const int planned = _i == 0 ? 16 : 0;
	const size_t n = _i == 0 ? 37 : 300;
	tp_encoding enc;
	tp_model m;
	tp_batch b;
	tp_err e = {0};
	float one;

	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 3, 2, &e), TP_OK);
	if (planned > 0)
		ck_assert_int_eq(tp_model_plan(&m, planned, &e), TP_OK);
	fixture_rows(&b, n, 5);
	float *prob = malloc(n * sizeof(float));
	ck_assert_ptr_nonnull(prob);
	for (size_t i = 0; i < n; i++)
		prob[i] = NAN;
	ck_assert_int_eq(tp_score(&m, &b, prob, &e), TP_OK);
	ck_assert_int_eq(m.planned, planned > 0 ? planned : 256);
	double lo = 1, hi = 0;
	for (size_t i = 0; i < n; i++) {
		tp_model_predict(&m, b.cat + 2 * i, b.num + 2 * i, 1, &one);
		ck_assert_msg(memcmp(&prob[i], &one, sizeof(one)) == 0,
		    "row %zu of %zu: tp_score %.9g, alone %.9g", i, n,
		    (double)prob[i], (double)one);
		lo = fmin(lo, prob[i]);
		hi = fmax(hi, prob[i]);
	}
	/* Rows that differ, so that a row scored as another is seen. */
	ck_assert_msg(hi - lo > 1e-3, "all rows score %g to %g", lo, hi);
	free(prob);
	tp_batch_free(&b);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(scorer_cpu)
{
	enum { N = 53 };
	tp_encoding enc;
	tp_model m;
	tp_batch b, empty;
	tp_scorer *s = NULL;
	tp_err e = {0};
	float want[N], got[N];

	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 8, 1, &e), TP_OK);
	ck_assert_int_eq(tp_model_plan(&m, 20, &e), TP_OK);
	fixture_rows(&b, N, 6);
	ck_assert_int_eq(tp_score(&m, &b, want, &e), TP_OK);
	ck_assert_int_eq(tp_scorer_open(&s, &m, TP_DEVICE_CPU, &e), TP_OK);
	ck_assert_ptr_nonnull(s);
	memset(got, 0xff, sizeof(got));
	ck_assert_int_eq(tp_scorer_run(s, &b, got, &e), TP_OK);
	ck_assert_mem_eq(got, want, sizeof(want));
	/* Again, and an empty batch, on the same scorer. */
	memset(got, 0xff, sizeof(got));
	ck_assert_int_eq(tp_scorer_run(s, &b, got, &e), TP_OK);
	ck_assert_mem_eq(got, want, sizeof(want));
	ck_assert_int_eq(tp_batch_init(&empty, 2, 2, 1, &e), TP_OK);
	ck_assert_int_eq(tp_scorer_run(s, &empty, got, &e), TP_OK);
	tp_scorer_close(s);
	tp_scorer_close(NULL);
	tp_batch_free(&empty);
	tp_batch_free(&b);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
score_suite(void)
{
	Suite *s = suite_create("score");
	TCase *tc = tcase_create("score");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, device_names);
	tcase_add_test(tc, device_check);
	tcase_add_loop_test(tc, score_rows, 0, 2);
	tcase_add_test(tc, scorer_cpu);
	suite_add_tcase(s, tc);
	return s;
}
