/* The matrix products against a plain double-precision product, for
 * every transposition, on the sizes the layers use: one attention head,
 * one row of the classifier head, and a slice of a batch; and the rows of
 * tp_gemm_rows the same bits in a product of any number of rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "model/mat.h"
#include "suites.h"

static float
op(const float *x, int ld, int trans, int r, int c)
{
	return trans ? x[(size_t)c * ld + r] : x[(size_t)r * ld + c];
}

/* Element (i,j) of op(A) op(B) in double precision, and in *mag the sum
 * of its terms' magnitudes, which bounds float32's rounding. */
static double
reference(const float *a, int lda, int ta, const float *b, int ldb, int tb,
    int i, int j, int k, double *mag)
{
	double s = 0;

	*mag = 0;
	for (int p = 0; p < k; p++) {
		double t = (double)op(a, lda, ta, i, p) * op(b, ldb, tb, p, j);
		s += t;
		*mag += fabs(t);
	}
	return s;
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
						double mag, s = reference(a, lda, ta, b,
						    ldb, tb, i, j, k, &mag);
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

/* Checks tp_gemm_rows on (m,n,k) in its three ways (no bias, a bias,
 * adding to C), leading dimensions wider than the rows: against the
 * double product, and C's columns beyond n left as they were. */
static void
check_rows(int m, int n, int k)
{
	tp_rng r;
	int pad = 3, lda = k + pad, ldb = n + pad, ldc = n + pad;
	size_t csize = (size_t)m * ldc;
	float *a = malloc(((size_t)m * lda + 1) * sizeof(float));
	float *b = malloc(((size_t)k * ldb + 1) * sizeof(float));
	float *bias = malloc(((size_t)n + 1) * sizeof(float));
	float *c = malloc(csize * sizeof(float));
	float *c0 = malloc(csize * sizeof(float));

	ck_assert(a && b && bias && c && c0);
	tp_rng_seed(&r, (uint64_t)(m * 10007 + n * 101 + k));
	for (size_t i = 0; i < (size_t)m * lda; i++)
		a[i] = (float)tp_rng_normal(&r);
	for (size_t i = 0; i < (size_t)k * ldb; i++)
		b[i] = (float)tp_rng_normal(&r);
	for (int j = 0; j < n; j++)
		bias[j] = (float)tp_rng_normal(&r);
	for (size_t i = 0; i < csize; i++)
		c0[i] = (float)tp_rng_normal(&r);
	for (int way = 0; way < 3; way++) {
		int with_bias = way == 1, add = way == 2;
		for (size_t i = 0; i < csize; i++)
			c[i] = add ? c0[i] : NAN;
		tp_gemm_rows(m, n, k, a, lda, b, ldb, with_bias ? bias : NULL, add,
		    c, ldc);
		for (int i = 0; i < m; i++) {
			for (int j = 0; j < n; j++) {
				double start = with_bias ? bias[j] :
				    add ? c0[(size_t)i * ldc + j] : 0, mag;
				double s = start + reference(a, lda, 0, b, ldb, 0, i, j,
				    k, &mag);
				mag += fabs(start);
				double got = c[(size_t)i * ldc + j];
				ck_assert_msg(fabs(got - s) <= 1e-5 * (mag + 1),
				    "rows %dx%dx%d way %d: C[%d,%d] = %g, want %g",
				    m, n, k, way, i, j, got, s);
			}
			for (int j = n; j < ldc; j++) {
				float was = add ? c0[(size_t)i * ldc + j] : NAN;
				ck_assert_mem_eq(&c[(size_t)i * ldc + j], &was,
				    sizeof(was));
			}
		}
	}
	free(a);
	free(b);
	free(bias);
	free(c);
	free(c0);
}

/*
 * Both products on the sizes the layers use and around them: one attention
 * head (22 features, 8 channels) both ways, the model's in-projection of a
 * 22-token row, a row of the classifier head, widths around tp_gemm_rows's
 * tiles of 8 and 16, a slice of a batch, and no terms at all.
 */
START_TEST(small_and_large)
{
	static const int sizes[][3] = {
		{22, 22, 8}, {22, 8, 22}, {22, 96, 32}, {1, 2, 64}, {7, 13, 5},
		{3, 65, 4}, {5, 24, 3}, {9, 31, 17}, {300, 64, 64}, {1, 1, 0},
		{3, 40, 0},
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check_gemm(sizes[i][0], sizes[i][1], sizes[i][2]);
		check_rows(sizes[i][0], sizes[i][1], sizes[i][2]);
	}
}
END_TEST

enum { ALONE_ROWS = 70, ALONE_K = 32 };

/* Products of 1 to 70 rows of a by b, n wide, against each row alone. */
static void
check_alone(const float *a, const float *b, const float *bias, int add,
    const float *c0, int n)
{
	static float c[ALONE_ROWS * 96], one[96];

	for (int m = 1; m <= ALONE_ROWS; m++) {
		memcpy(c, c0, (size_t)m * n * sizeof(float));
		tp_gemm_rows(m, n, ALONE_K, a, ALONE_K, b, n, bias, add, c, n);
		for (int i = 0; i < m; i++) {
			memcpy(one, c0 + i * n, (size_t)n * sizeof(float));
			tp_gemm_rows(1, n, ALONE_K, a + i * ALONE_K, ALONE_K, b, n,
			    bias, add, one, n);
			ck_assert_msg(memcmp(c + i * n, one,
			    (size_t)n * sizeof(float)) == 0,
			    "width %d, add %d: row %d of %d is not the row alone",
			    n, add, i, m);
		}
	}
}

/*
 * What a row of tp_gemm_rows is does not depend on the rows with it: each
 * row of products of 1 to 70 rows is the same bits as that row alone, for
 * widths that take every path (tiles of 16 and 8, single columns), with a
 * bias and adding to what C holds (the last block's repeated row must not
 * add twice). An optimised GEMM fails this on some processors (OpenBLAS
 * 0.3.21's Haswell and Zen kernels, for most rows from 4 on).
 */
START_TEST(rows_alone)
{
	static const int widths[] = {96, 2, 13, 24, 64};
	static float a[ALONE_ROWS * ALONE_K], b[ALONE_K * 96], bias[96],
	    c0[ALONE_ROWS * 96];
	tp_rng r;

	tp_rng_seed(&r, 3);
	for (int i = 0; i < ALONE_ROWS * ALONE_K; i++)
		a[i] = (float)tp_rng_normal(&r);
	for (int i = 0; i < ALONE_K * 96; i++)
		b[i] = (float)tp_rng_normal(&r);
	for (int i = 0; i < 96; i++)
		bias[i] = (float)tp_rng_normal(&r);
	for (int i = 0; i < ALONE_ROWS * 96; i++)
		c0[i] = (float)tp_rng_normal(&r);
	for (int add = 0; add < 2; add++)
		for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
			check_alone(a, b, add ? NULL : bias, add, c0, widths[w]);
}
END_TEST

Suite *
mat_suite(void)
{
	Suite *s = suite_create("mat");
	TCase *tc = tcase_create("gemm");

	tcase_add_test(tc, small_and_large);
	tcase_add_test(tc, batched);
	tcase_add_test(tc, rows_alone);
	suite_add_tcase(s, tc);
	return s;
}
