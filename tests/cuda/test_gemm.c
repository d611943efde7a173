/* cuBLAS's products against OpenBLAS's: every transpose, padded leading
 * dimensions, alpha and beta, and strided batches. */
#include <string.h>

#include "cuda_test.h"
#include "model/mat.h"

enum { M = 13, N = 17, K = 37, PAD = 3, COUNT = 3, GAP = 5 };

/* Rows and leading dimension of a matrix stored as op(X) = (r, c) asks. */
static void
layout(int trans, int r, int c, int *rows, int *ld)
{
	*rows = trans ? c : r;
	*ld = (trans ? r : c) + PAD;
}

/* _i picks the transposes: bit 0 for A, bit 1 for B. */
static const char *const products[] = {"gemm NN", "gemm TN", "gemm NT",
    "gemm TT"};
static const char *const batches[] = {"gemm_batched NN", "gemm_batched TN",
    "gemm_batched NT", "gemm_batched TT"};

START_TEST(gemm)
{
	NEED_GPU(products[_i]);
	int ta = _i & 1, tb = (_i >> 1) & 1, ra, lda, rb, ldb, ldc = N + PAD;
	tp_rng r;
	tp_rng_seed(&r, 10 + _i);
	layout(ta, M, K, &ra, &lda);
	layout(tb, K, N, &rb, &ldb);
	size_t na = (size_t)ra * lda, nb = (size_t)rb * ldb;
	size_t nc = (size_t)M * ldc;
	float *a = host_randn(na, &r, 1), *b = host_randn(nb, &r, 1);
	float *c = host_randn(nc, &r, 1);
	float *da = dev_copy(a, na * sizeof(float));
	float *db = dev_copy(b, nb * sizeof(float));
	float *dc = dev_copy(c, nc * sizeof(float));
	tp_gemm(ta, tb, M, N, K, 0.7f, a, lda, b, ldb, 0.4f, c, ldc);
	tp_cuda_gemm(gpu, ta, tb, M, N, K, 0.7f, da, lda, db, ldb, 0.4f, dc,
	    ldc);
	/* The padding of C is compared too: neither side may touch it. */
	check_close(dc, c, nc, products[_i]);
}
END_TEST

START_TEST(gemm_batched)
{
	NEED_GPU(batches[_i]);
	int ta = _i & 1, tb = (_i >> 1) & 1, ra, lda, rb, ldb, ldc = N + PAD;
	tp_rng r;
	tp_rng_seed(&r, 20 + _i);
	layout(ta, M, K, &ra, &lda);
	layout(tb, K, N, &rb, &ldb);
	long sa = (long)ra * lda + GAP, sb = (long)rb * ldb + GAP;
	long sc = (long)M * ldc + GAP;
	size_t na = COUNT * sa, nb = COUNT * sb, nc = COUNT * sc;
	float *a = host_randn(na, &r, 1), *b = host_randn(nb, &r, 1);
	float *c = host_randn(nc, &r, 1);
	float *da = dev_copy(a, na * sizeof(float));
	float *db = dev_copy(b, nb * sizeof(float));
	float *dc = dev_copy(c, nc * sizeof(float));
	tp_gemm_batched(ta, tb, M, N, K, -1.3f, a, lda, sa, b, ldb, sb, 1.0f, c,
	    ldc, sc, COUNT);
	tp_cuda_gemm_batched(gpu, ta, tb, M, N, K, -1.3f, da, lda, sa, db, ldb,
	    sb, 1.0f, dc, ldc, sc, COUNT);
	check_close(dc, c, nc, batches[_i]);
}
END_TEST

Suite *
cuda_gemm_suite(void)
{
	Suite *s = suite_create("cuda_gemm");
	TCase *tc = tcase_create("cuda_gemm");

	tcase_add_checked_fixture(tc, NULL, release);
	tcase_add_loop_test(tc, gemm, 0, 4);
	tcase_add_loop_test(tc, gemm_batched, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
