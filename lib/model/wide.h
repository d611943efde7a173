/*
 * wide: the functions that also get an AVX2 version.
 *
 * The build targets the x86-64 baseline (SSE2, 4 floats a vector). The
 * functions with element-wise loops, and tp_gemm_rows, also get an AVX2
 * version (8 floats), chosen when the program loads (a GNU ifunc) on a CPU
 * that has it: about twice as fast on GELU, layer norm and the attention's
 * softmax. AVX2 without FMA rounds every operation as SSE2 does, and every
 * reduction sums in an order the code fixes, so both versions give the
 * same bits.
 */
#ifndef TP_WIDE_H
#define TP_WIDE_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WIDE __attribute__((target_clones("avx2", "default")))
#else
#define WIDE
#endif

#endif
