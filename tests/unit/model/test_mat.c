/* The matrix products against a plain double-precision product, for
 * every transposition, on the sizes the layers use: one attention head,
 * one row of the classifier head, and a slice of a batch. */
#include <math.h>
#include <stdlib.h>

#include "base/rng.h"
#include "model/mat.h"
#include "suites.h"

static float
op(const float *x, int ld, int trans, int r, int c)
{
	return trans ? x[(size_t)c * ld + r] : x[(size_t)r * ld + c];
}

/* Checks tp_gemm on (m,n,k) for every transposition, beta 0 over a C
 * full of NaN (it must not be read) and beta 0.5, with leading
 * dimensions wider than the rows. */
static void
check_gemm(int m, int n, int k)
{
	tp_rng r;
	int pad = 3, big = (m > n ? m : n) + k + pad;
	size_t size = (size_t)big * big;
	float *a = malloc(size * sizeof(float)), *b = malloc(size * sizeof(float));
	float *c = malloc(size * sizeof(float)), *c0 = malloc(size * sizeof(float));

	ck_assert(a && b && c && c0);
	tp_rng_seed(&r, (uint64_t)(m * 10007 + n * 101 + k));
	for (size_t i = 0; i < size; i++) {
		a[i] = (float)tp_rng_normal(&r);
		b[i] = (float)tp_rng_normal(&r);
		c0[i] = (float)tp_rng_normal(&r);
	}
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++)
			for (int with_beta = 0; with_beta < 2; with_beta++) {
				int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad;
				int ldc = n + pad;
				float alpha = 0.75f, beta = with_beta ? 0.5f : 0.0f;
				for (size_t i = 0; i < size; i++)
					c[i] = with_beta ? c0[i] : NAN;
				tp_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta,
				    c, ldc);
				for (int i = 0; i < m; i++)
					for (int j = 0; j < n; j++) {
						double s = 0, mag = 0;
						for (int p = 0; p < k; p++) {
							double t = (double)op(a, lda, ta, i, p) *
							    op(b, ldb, tb, p, j);
							s += t;
							mag += fabs(t);
						}
						double want = alpha * s +
						    (with_beta ? beta * c0[(size_t)i * ldc + j] : 0);
						double got = c[(size_t)i * ldc + j];
						ck_assert_msg(fabs(got - want) <= 1e-5 * (mag + 1),
						    "gemm %dx%dx%d ta %d tb %d beta %g: C[%d,%d] = %g, want %g",
						    m, n, k, ta, tb, (double)beta, i, j, got, want);
					}
			}
	free(a);
	free(b);
	free(c);
	free(c0);
}

START_TEST(small_and_large)
{
	/* One attention head (22 features, 8 channels) both ways, a row of
	 * the classifier head, odd sizes, a slice, and no terms at all. */
	check_gemm(22, 22, 8);
	check_gemm(22, 8, 22);
	check_gemm(1, 2, 64);
	check_gemm(7, 13, 5);
	check_gemm(3, 65, 4);
	check_gemm(300, 64, 64);
	check_gemm(1, 1, 0);
}
END_TEST

START_TEST(batched)
{
	enum { M = 5, N = 6, K = 7, COUNT = 3 };
	float a[COUNT * M * K], b[COUNT * K * N], c[COUNT * M * N], one[M * N];
	tp_rng r;

	tp_rng_seed(&r, 7);
	for (int i = 0; i < COUNT * M * K; i++)
		a[i] = (float)tp_rng_normal(&r);
	for (int i = 0; i < COUNT * K * N; i++)
		b[i] = (float)tp_rng_normal(&r);
	tp_gemm_batched(0, 0, M, N, K, 1.0f, a, K, M * K, b, N, K * N, 0.0f,
	    c, N, M * N, COUNT);
	for (int i = 0; i < COUNT; i++) {
		tp_gemm(0, 0, M, N, K, 1.0f, a + i * M * K, K, b + i * K * N, N,
		    0.0f, one, N);
		for (int j = 0; j < M * N; j++)
			ck_assert_float_eq(c[i * M * N + j], one[j]);
	}
}
END_TEST

Suite *
mat_suite(void)
{
	Suite *s = suite_create("mat");
	TCase *tc = tcase_create("gemm");

	tcase_add_test(tc, small_and_large);
	tcase_add_test(tc, batched);
	suite_add_tcase(s, tc);
	return s;
}
