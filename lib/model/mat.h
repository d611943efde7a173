/*
 * mat: the matrix products of the CPU layers.
 *
 * Row-major single-precision GEMM, C = alpha * op(A) * op(B) + beta * C,
 * plain and strided-batched, on OpenBLAS's cblas_sgemm; the product that
 * scores go through, whose rows do not depend on each other (see
 * tp_gemm_rows); and WIDE, which builds the CPU layers for AVX2 as well.
 * The GPU layers do not come through here: they call tp_cuda_gemm and
 * tp_cuda_gemm_batched (lib/model/cuda/device.h), which take the same
 * arguments on device pointers and a stream.
 */
#ifndef TP_MAT_H
#define TP_MAT_H

/*
 * WIDE marks the functions of the CPU layers that also get an AVX2
 * version. The build targets the x86-64 baseline (SSE2, 4 floats a
 * vector); the functions with element-wise loops, and tp_gemm_rows, also
 * get a version of 8 floats a vector, chosen when the program loads (a GNU
 * ifunc) on a CPU that has AVX2: about twice as fast on GELU, layer norm
 * and the attention's softmax. AVX2 without FMA rounds every operation as
 * SSE2 does, and every reduction sums in an order the code fixes, so both
 * versions give the same bits.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WIDE __attribute__((target_clones("avx2", "default")))
#else
#define WIDE
#endif

/* op(A) is (m, k) and op(B) is (k, n); ta/tb say whether A/B are given
 * transposed. Leading dimensions are the row lengths as stored. */
void tp_gemm(int ta, int tb, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta, float *c,
    int ldc);

/* count products at a, b, c advanced by the given strides (in floats). */
void tp_gemm_batched(int ta, int tb, int m, int n, int k, float alpha,
    const float *a, int lda, long stride_a, const float *b, int ldb,
    long stride_b, float beta, float *c, int ldc, long stride_c, int count);

/*
 * C = A B + bias, (m,k) by (k,n), bias (n) or NULL; with add, C += A B
 * (and no bias). In an order fixed by n and k alone: a row of C is the
 * same bits whatever the rows beside it and however many there are.
 * OpenBLAS chooses its kernels and blocking by the shape and the
 * processor, and on some processors (its Haswell and Zen kernels) a row's
 * last bits change with m: a row scored alone, in a shard or in a served
 * batch would get three different probabilities, and its attributions,
 * which take the gradient of the input back through the same layers,
 * three different sets.
 */
void tp_gemm_rows(int m, int n, int k, const float *a, int lda,
    const float *b, int ldb, const float *bias, int add, float *c, int ldc);

/* How many threads one product may use. The model runs its own threads,
 * one per slice of the batch, and asks for 1 from inside them. */
void tp_mat_threads(int n);

#endif
