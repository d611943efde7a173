/*
 * mat: the matrix products of the CPU layers.
 *
 * Row-major single-precision GEMM, C = alpha * op(A) * op(B) + beta * C,
 * plain and strided-batched, on OpenBLAS's cblas_sgemm. The GPU layers do
 * not come through here: they call tp_cuda_gemm and tp_cuda_gemm_batched
 * (lib/model/cuda/device.h), which take the same arguments on device
 * pointers and a stream.
 */
#ifndef TP_MAT_H
#define TP_MAT_H

/* op(A) is (m, k) and op(B) is (k, n); ta/tb say whether A/B are given
 * transposed. Leading dimensions are the row lengths as stored. */
void tp_gemm(int ta, int tb, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta, float *c,
    int ldc);

/* count products at a, b, c advanced by the given strides (in floats). */
void tp_gemm_batched(int ta, int tb, int m, int n, int k, float alpha,
    const float *a, int lda, long stride_a, const float *b, int ldb,
    long stride_b, float beta, float *c, int ldc, long stride_c, int count);

/* How many threads one product may use. The model runs its own threads,
 * one per slice of the batch, and asks for 1 from inside them. */
void tp_mat_threads(int n);

#endif
