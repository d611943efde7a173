/*
 * cuda/layers: every layer of lib/model/layers.h on the GPU, forward and
 * backward, for the CUDA backend.
 *
 * Each tp_cuda_NAME takes the tp_cuda first, then exactly the arguments of
 * tp_NAME in lib/model/layers.h, in the same order and with the same
 * shapes and dimension letters (B, T, C, NH, HS, H, N = B * T), every
 * buffer in device memory; the rules are those of lib/model/layers.h:
 * backward passes ADD into their gradients (the caller zeroes them once
 * per step) except where that header says a backward writes, and an input
 * gradient may be NULL where it says so. Launches are asynchronous and
 * report failures through the tp_cuda (see cuda/device.h); the two losses
 * return their value, so they wait for the device, and return NAN after a
 * failure.
 *
 * Numerics follow the CPU layers: the same formulas in the same order of
 * operations, no fused multiply-adds (the build passes -fmad=false), the
 * same layer-norm epsilon (1e-5) and biased variance, the same max
 * subtraction in the softmaxes, sums in double where the CPU sums in
 * double. Where a GPU thread owns an output and sums in the CPU's order
 * (embedding and numeric forward, attention, meanpool, element-wise
 * layers, the normalisation in NT-Xent) the results are meant to agree
 * bit for bit, except through exp and erf: the CPU uses its own
 * vectorisable expf and Abramowitz and Stegun's erf (7.1.28 in GELU's
 * forward, error below 3e-7; 7.1.26 in its backward, below 1.5e-7), the
 * GPU CUDA's expf and erff (2 ulp), so GELU and the softmaxes differ by a
 * few ulp. Sums over the batch (bias, layer-norm and numeric-token
 * gradients) are split into chunks of rows added in a fixed order:
 * deterministic, but not the CPU's order, so they agree with it to float32
 * rounding.
 *
 * One exception to determinism: the embedding backward adds each token's
 * gradient into its table row with atomicAdd, since many rows of a batch
 * share a category; float addition is not associative and the order of
 * the atomics varies from run to run, so dtable varies in its last bits.
 *
 * Dropout draws on the host with lib/base/rng.h, in the CPU's order, and copies
 * the mask to the device: the same seed gives the CPU's mask exactly.
 *
 * Attention runs as small kernels rather than cuBLAS: with HS = C / NH
 * (8 by default) and T a few dozen tokens, each head's products are far
 * below the size where a GEMM tile pays, and a thread that owns one output
 * keeps the CPU's order of summation. Unlike the CPU, which works a row at
 * a time, the whole batch goes at once, so the backward's scratch is
 * (B,NH,T,T), not (NH,T,T).
 */
#ifndef TP_CUDA_LAYERS_H
#define TP_CUDA_LAYERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "base/rng.h"
#include "model/additive.h"
#include "model/cuda/device.h"
#include "model/layers.h"

void tp_cuda_embedding_forward(tp_cuda *g, float *out /* (B,T,C) */,
    const int32_t *idx /* (B,NC) */, const float *table /* (rows,C) */,
    const int *offset /* (NC) */, int B, int T, int NC, int C);
void tp_cuda_embedding_backward(tp_cuda *g, float *dtable,
    const float *dout, const int32_t *idx, const int *offset, int B, int T,
    int NC, int C);

void tp_cuda_shrink_forward(tp_cuda *g, float *out /* (rows,C) */,
    const float *table /* (rows,C) */, const float *b /* (rows) */,
    const float *w /* (rows) */, const int *offset /* (NC) */, int NC,
    int rows, int C);
void tp_cuda_shrink_backward(tp_cuda *g, float *dtable, const float *dout,
    const float *b, const float *w, const int *offset, int NC, int rows,
    int C);

void tp_cuda_numeric_forward(tp_cuda *g, float *out /* (B,T,C) */,
    const float *x /* (B,NN) */, const float *w /* (NN,C) */,
    const float *b /* (NN,C) */, const float *miss /* (NN,C) */, int B,
    int T, int NC, int NN, int C);
void tp_cuda_numeric_backward(tp_cuda *g, float *dw, float *db,
    float *dmiss, const float *dout, const float *x, int B, int T, int NC,
    int NN, int C);

/* model/additive.h's tp_additive_forward, a's vocab_offset, weight and
 * knot in device memory; one thread a row, in the CPU's doubles and order
 * (the same inline functions), so the logits agree bit for bit. */
void tp_cuda_additive_forward(tp_cuda *g, const tp_additive *a,
    const int32_t *cat, const float *num, float *logits, int B);

void tp_cuda_linear_forward(tp_cuda *g, float *out /* (N,OC) */,
    const float *inp /* (N,IC) */, const float *weight /* (OC,IC) */,
    const float *bias /* (OC) or NULL */, int N, int IC, int OC);
void tp_cuda_linear_backward(tp_cuda *g, float *dinp, float *dweight,
    float *dbias, const float *dout, const float *inp, const float *weight,
    int N, int IC, int OC);

void tp_cuda_layernorm_forward(tp_cuda *g, float *out /* (N,C) */,
    float *mean /* (N) */, float *rstd /* (N) */,
    const float *inp /* (N,C) */, const float *weight /* (C) */,
    const float *bias /* (C) */, int N, int C);
void tp_cuda_layernorm_backward(tp_cuda *g, float *dinp, float *dweight,
    float *dbias, const float *dout, const float *inp, const float *mean,
    const float *rstd, const float *weight, int N, int C);

/* rng is host state: the mask's draws are made on the host. */
void tp_cuda_attention_forward(tp_cuda *g, float *out /* (B,T,C) */,
    float *att /* (B,NH,T,T) */, float *mask /* (B,NH,T,T) or NULL */,
    const float *qkv /* (B,T,3C) */, float p, tp_rng *rng, int B, int T,
    int C, int NH);
void tp_cuda_attention_backward(tp_cuda *g, float *dqkv /* (B,T,3C) */,
    float *scratch /* (B,NH,T,T) */, const float *dout /* (B,T,C) */,
    const float *qkv, const float *att, const float *mask, int B, int T,
    int C, int NH);

void tp_cuda_gelu_forward(tp_cuda *g, float *out, const float *inp, long n);
void tp_cuda_gelu_backward(tp_cuda *g, float *dinp, const float *dout,
    const float *inp, long n);
void tp_cuda_relu_forward(tp_cuda *g, float *out, const float *inp, long n);
void tp_cuda_relu_backward(tp_cuda *g, float *dinp, const float *dout,
    const float *inp, long n);

void tp_cuda_residual_forward(tp_cuda *g, float *out, const float *a,
    const float *b, long n);
void tp_cuda_residual_backward(tp_cuda *g, float *da, float *db,
    const float *dout, long n);

/* rng is host state, as in attention. */
void tp_cuda_dropout_forward(tp_cuda *g, float *out, float *mask,
    const float *inp, float p, tp_rng *rng, long n);
void tp_cuda_dropout_backward(tp_cuda *g, float *dinp, const float *dout,
    const float *mask, float p, long n);

void tp_cuda_meanpool_forward(tp_cuda *g, float *out /* (B,C) */,
    const float *inp /* (B,T,C) */, int B, int T, int C);
void tp_cuda_meanpool_backward(tp_cuda *g, float *dinp, const float *dout,
    int B, int T, int C);

/* label, target and weight are device memory too. */
float tp_cuda_crossentropy_forward(tp_cuda *g, float *probs /* (B,2) */,
    const float *logits /* (B,2) */, const int8_t *label /* (B) */,
    const float *target /* (B) or NULL */, const float *weight /* (2) or NULL */,
    int B);
void tp_cuda_crossentropy_backward(tp_cuda *g, float *dlogits /* (B,2) */,
    const float *probs, const int8_t *label, const float *target,
    const float *weight, int B);

float tp_cuda_ntxent_forward(tp_cuda *g, float *u /* (2B,P) */,
    float *norm /* (2B) */, float *sim /* (2B,2B) */,
    const float *z /* (2B,P) */, float tau, int B, int P);
void tp_cuda_ntxent_backward(tp_cuda *g, float *dz /* (2B,P) */,
    float *du /* (2B,P) */, const float *u, const float *norm, float *sim,
    float tau, int B, int P);

#ifdef __cplusplus
}
#endif

#endif
