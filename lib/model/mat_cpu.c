#include <cblas.h>

#include "model/mat.h"

void
tp_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a,
    int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
	    tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
	    beta, c, ldc);
}

void
tp_gemm_batched(int ta, int tb, int m, int n, int k, float alpha,
    const float *a, int lda, long stride_a, const float *b, int ldb,
    long stride_b, float beta, float *c, int ldc, long stride_c, int count)
{
	for (int i = 0; i < count; i++)
		tp_gemm(ta, tb, m, n, k, alpha, a + i * stride_a, lda,
		    b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
}

void
tp_mat_threads(int n)
{
	openblas_set_num_threads(n);
}
