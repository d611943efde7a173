/*
 * layers: the forward and backward passes of every layer of the model, on
 * plain float buffers, for the CPU.
 *
 * Dimensions: B rows in the batch, T tokens (one per feature), C d_model,
 * NH attention heads, HS = C / NH head size, H a hidden size (feed-forward
 * or head), N = B * T when a layer works token by token. Buffers are
 * row-major; shapes are written next to each argument.
 *
 * Argument order: outputs (and the caches the backward needs), inputs,
 * weights, dimensions. Backward: input gradients, weight gradients, dout,
 * the saved tensors, the weights, dimensions.
 *
 * Every backward ADDS into its gradients (+=); the caller zeroes them once
 * per step. An input gradient may be NULL where nothing needs it.
 */
#ifndef TP_LAYERS_H
#define TP_LAYERS_H

#include <stdint.h>

#include "base/rng.h"

/* Categorical tokens: token j of row b is row idx[b][j] of feature j's
 * table, which starts at row offset[j] of the concatenated tables. */
void tp_embedding_forward(float *out /* (B,T,C) tokens 0..NC-1 */,
    const int32_t *idx /* (B,NC) */, const float *table /* (rows,C) */,
    const int *offset /* (NC) */, int B, int T, int NC, int C);
void tp_embedding_backward(float *dtable, const float *dout,
    const int32_t *idx, const int *offset, int B, int T, int NC, int C);

/* The categorical tables shrunk toward their means, as a random effect's
 * estimate is shrunk (lib/train/shrink.h): row v of feature j's table
 * becomes mean_j + b[v] (E[v] - mean_j), where mean_j is the sum over the
 * table's rows u of w[u] E[u]. Training's forward reads the shrunk tables
 * in place of the tables. Feature j's rows are offset[j] to offset[j+1]
 * (rows for the last). */
/* The end of feature j's rows in the concatenated tables. */
static inline int
tp_table_end(const int *offset, int j, int NC, int rows)
{
	return j + 1 < NC ? offset[j + 1] : rows;
}
void tp_shrink_forward(float *out /* (rows,C) */,
    const float *table /* (rows,C) */, const float *b /* (rows) */,
    const float *w /* (rows) */, const int *offset /* (NC) */, int NC,
    int rows, int C);
void tp_shrink_backward(float *dtable, const float *dout, const float *b,
    const float *w, const int *offset, int NC, int rows, int C);

/* Numeric tokens: token NC+j is x * w[j] + b[j], or miss[j] when x is
 * missing (NaN): a learned token says "missing", not a made-up value. */
void tp_numeric_forward(float *out /* (B,T,C) tokens NC..T-1 */,
    const float *x /* (B,NN) */, const float *w /* (NN,C) */,
    const float *b /* (NN,C) */, const float *miss /* (NN,C) */,
    int B, int T, int NC, int NN, int C);
void tp_numeric_backward(float *dw, float *db, float *dmiss,
    const float *dout, const float *x, int B, int T, int NC, int NN, int C);

/* out = inp W^T + bias, PyTorch's nn.Linear (weight is (OC,IC)). */
void tp_linear_forward(float *out /* (N,OC) */, const float *inp /* (N,IC) */,
    const float *weight /* (OC,IC) */, const float *bias /* (OC) or NULL */,
    int N, int IC, int OC);
/* The same from the weight stored transposed, (IC,OC), by tp_gemm_rows: a
 * row's output is the same bits whatever the other rows, so a row scores
 * alike alone, in a batch or in a shard. The model's forward goes this
 * way; the projector, which pretraining alone runs, the other. */
void tp_linear_forward_t(float *out, const float *inp,
    const float *weight_t /* (IC,OC) */, const float *bias, int N, int IC,
    int OC);
/* Adds the gradients into dinp, dweight and dbias; a NULL one is not
 * computed (the gradient of the input alone, for attributions, takes half
 * the products). dinp's rows, like the forward's, are each computed on
 * their own (tp_gemm_rows): a row's attributions do not depend on the
 * rows explained with it. */
void tp_linear_backward(float *dinp, float *dweight, float *dbias,
    const float *dout, const float *inp, const float *weight, int N, int IC,
    int OC);

/* Layer normalisation over the last dimension, as nn.LayerNorm with
 * eps 1e-5: out = (x - mean) / sqrt(var + eps) * weight + bias, with the
 * biased variance. mean and rstd are saved for the backward. */
void tp_layernorm_forward(float *out /* (N,C) */, float *mean /* (N) */,
    float *rstd /* (N) */, const float *inp /* (N,C) */,
    const float *weight /* (C) */, const float *bias /* (C) */, int N, int C);
/* dinp, dweight and dbias overlap no other argument: the definition takes
 * them restrict, so that the loop adding into them vectorises. With
 * dweight NULL, neither it nor dbias is computed. */
void tp_layernorm_backward(float *dinp, float *dweight, float *dbias,
    const float *dout, const float *inp, const float *mean,
    const float *rstd, const float *weight, int N, int C);

/* Multi-head scaled dot-product self-attention over the T tokens of each
 * row: softmax(Q K^T / sqrt(HS)) V per head, with dropout of rate p on the
 * attention weights when mask is given (mask is filled by the forward).
 * qkv holds Q, K and V side by side per token, as nn.MultiheadAttention's
 * in_proj makes them. att keeps the softmax for the backward; scoring,
 * which runs no backward, passes NULL. */
void tp_attention_forward(float *out /* (B,T,C) */,
    float *att /* (B,NH,T,T) or NULL */, float *mask /* (B,NH,T,T) or NULL */,
    const float *qkv /* (B,T,3C) */, float p, tp_rng *rng, int B, int T,
    int C, int NH);
void tp_attention_backward(float *dqkv /* (B,T,3C) */,
    float *scratch /* (T,T) */, const float *dout /* (B,T,C) */,
    const float *qkv, const float *att, const float *mask, int B, int T,
    int C, int NH);

/* GELU, exact (erf) form as F.gelu's default. */
void tp_gelu_forward(float *out, const float *inp, long n);
void tp_gelu_backward(float *dinp, const float *dout, const float *inp,
    long n);
void tp_relu_forward(float *out, const float *inp, long n);
void tp_relu_backward(float *dinp, const float *dout, const float *inp,
    long n);

/* out = a + b. */
void tp_residual_forward(float *out, const float *a, const float *b, long n);
void tp_residual_backward(float *da, float *db, const float *dout, long n);

/* The mask of inverted dropout for n values: 0 with chance p, else
 * 1 / (1 - p). One draw of rng keys a counter-based hash (Wellons'
 * lowbias32) of each value's index, so that drawing vectorises; the CPU and
 * GPU layers both draw with it and drop the same values. */
void tp_dropout_mask(float *mask, float p, tp_rng *rng, long n);

/* Inverted dropout: keeps each value with chance 1 - p and scales it by
 * 1 / (1 - p), so no rescaling at inference. mask keeps the scale (0 or
 * 1/(1-p)) for the backward. p == 0 copies. */
void tp_dropout_forward(float *out, float *mask, const float *inp, float p,
    tp_rng *rng, long n);
void tp_dropout_backward(float *dinp, const float *dout, const float *mask,
    float p, long n);

/* Mean over the T tokens of each row. */
void tp_meanpool_forward(float *out /* (B,C) */, const float *inp /* (B,T,C) */,
    int B, int T, int C);
void tp_meanpool_backward(float *dinp, const float *dout, int B, int T,
    int C);

/*
 * Two-class softmax cross-entropy, nn.CrossEntropyLoss with class weights:
 * loss = sum_b w[y_b] * -log softmax(logits_b)[y_b] / sum_b w[y_b]. Rows
 * with label -1 are left out. With target q_b, each row's probability of
 * class 1 (a teacher's, in distillation: Hinton et al. 2015), the one-hot
 * label gives way to (1 - q_b, q_b): the row's term is
 * -(q_b log p_b1 + (1 - q_b) log p_b0), weighted by w[y_b]; a row without
 * a label counts too, with the weight its target expects,
 * q_b w[1] + (1 - q_b) w[0] (1 without class weights): a teacher labels
 * the rows that have none. Returns the loss; probs keeps the softmax. The
 * backward writes (not adds) dlogits.
 */
float tp_crossentropy_forward(float *probs /* (B,2) */,
    const float *logits /* (B,2) */, const int8_t *label /* (B) */,
    const float *target /* (B) or NULL */, const float *weight /* (2) or NULL */,
    int B);
void tp_crossentropy_backward(float *dlogits /* (B,2) */,
    const float *probs, const int8_t *label, const float *target,
    const float *weight, int B);

/*
 * NT-Xent (Chen et al. 2020, SimCLR): z holds 2B projections, rows i and
 * i + B are two views of one row. With u = z / |z| and s = u u^T / tau,
 * loss = mean over i of -s[i][pair(i)] + log sum_{k != i} exp(s[i][k]).
 * sim keeps the row softmax of s for the backward, which writes dz.
 */
float tp_ntxent_forward(float *u /* (2B,P) */, float *norm /* (2B) */,
    float *sim /* (2B,2B) */, const float *z /* (2B,P) */, float tau, int B,
    int P);
void tp_ntxent_backward(float *dz /* (2B,P) */, float *du /* (2B,P) */,
    const float *u, const float *norm, float *sim, float tau, int B, int P);

#endif
