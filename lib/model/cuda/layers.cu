#include <math.h>
#include <stdlib.h>

#include <cuda_runtime.h>

#include "model/cuda/kernel.cuh"
#include "model/cuda/layers.h"
#include "model/softtarget.h"

/*
 * Sums over the rows of a (rows, cols) function, added into out (cols):
 * each block sums CHUNK rows of COL_X columns, its COL_Y thread rows
 * striding down the chunk, then a second kernel adds the chunks' partial
 * sums in chunk order. Coalesced, deterministic, and parallel over the
 * batch, which a thread per column is not.
 */
enum { COL_X = 32, COL_Y = 8, CHUNK = 256 };

template <class F>
static __global__ void
colsum_partial(float *part, F f, int rows, int cols)
{
	__shared__ float s[COL_Y][COL_X];
	int c = blockIdx.x * COL_X + threadIdx.x;
	int r0 = blockIdx.y * CHUNK, r1 = min(r0 + CHUNK, rows);
	float acc = 0;

	if (c < cols)
		for (int r = r0 + threadIdx.y; r < r1; r += COL_Y)
			acc += f(r, c);
	s[threadIdx.y][threadIdx.x] = acc;
	__syncthreads();
	if (threadIdx.y == 0 && c < cols) {
		for (int y = 1; y < COL_Y; y++)
			acc += s[y][threadIdx.x];
		part[(size_t)blockIdx.y * cols + c] = acc;
	}
}

static __global__ void
colsum_finish(float *out, const float *part, int chunks, int cols)
{
	long c = tp_gid();

	if (c >= cols)
		return;
	float acc = 0;
	for (int k = 0; k < chunks; k++)
		acc += part[(size_t)k * cols + c];
	out[c] += acc;
}

template <class F>
static void
colsum(tp_cuda *g, float *out, F f, int rows, int cols, const char *what)
{
	int chunks = (rows + CHUNK - 1) / CHUNK;

	if (g->status != TP_OK || rows <= 0 || cols <= 0)
		return;
	float *part = (float *)tp_cuda_scratch(g,
	    (size_t)chunks * cols * sizeof(float));
	if (part == NULL)
		return;
	dim3 grid(tp_blocks(cols, COL_X), chunks), block(COL_X, COL_Y);
	colsum_partial<<<grid, block, 0, g->stream>>>(part, f, rows, cols);
	if (tp_cuda_launched(g, what) != TP_OK)
		return;
	colsum_finish<<<TP_GRID(g, cols)>>>(out, part, chunks, cols);
	tp_cuda_launched(g, what);
}

/* The plain column sum of a row-major (rows, cols) matrix. */
struct col_value {
	const float *d;
	int cols;
	__device__ float operator()(int r, int c) const
	{
		return d[(size_t)r * cols + c];
	}
};

/* Skips the launch of an empty or failed step. */
static int
idle(tp_cuda *g, long n)
{
	return g->status != TP_OK || n <= 0;
}

/* Embedding */

static __global__ void
embedding_forward(float *out, const int32_t *idx, const float *table,
    const int *offset, int B, int T, int NC, int C)
{
	long i = tp_gid();

	if (i >= (long)B * NC * C)
		return;
	int c = i % C, j = (i / C) % NC, b = i / ((long)C * NC);
	out[((size_t)b * T + j) * C + c] =
	    table[(size_t)(offset[j] + idx[b * NC + j]) * C + c];
}

static __global__ void
embedding_backward(float *dtable, const float *dout, const int32_t *idx,
    const int *offset, int B, int T, int NC, int C)
{
	long i = tp_gid();

	if (i >= (long)B * NC * C)
		return;
	int c = i % C, j = (i / C) % NC, b = i / ((long)C * NC);
	atomicAdd(dtable + (size_t)(offset[j] + idx[b * NC + j]) * C + c,
	    dout[((size_t)b * T + j) * C + c]);
}

void
tp_cuda_embedding_forward(tp_cuda *g, float *out, const int32_t *idx,
    const float *table, const int *offset, int B, int T, int NC, int C)
{
	long n = (long)B * NC * C;

	if (idle(g, n))
		return;
	embedding_forward<<<TP_GRID(g, n)>>>(out, idx, table, offset, B, T, NC,
	    C);
	tp_cuda_launched(g, "embedding_forward");
}

void
tp_cuda_embedding_backward(tp_cuda *g, float *dtable, const float *dout,
    const int32_t *idx, const int *offset, int B, int T, int NC, int C)
{
	long n = (long)B * NC * C;

	if (idle(g, n))
		return;
	embedding_backward<<<TP_GRID(g, n)>>>(dtable, dout, idx, offset, B, T,
	    NC, C);
	tp_cuda_launched(g, "embedding_backward");
}

/* Shrunk tables: a thread per feature and channel, which sums over the
 * feature's rows in their order in double, as lib/model/layers.c does. */

/* Thread i's channel c of feature j, whose rows are [*start, *end);
 * 0 for a thread past the last. */
static __device__ int
feature_channel(long i, const int *offset, int NC, int rows, int C, int *c,
    int *start, int *end)
{
	if (i >= (long)NC * C)
		return 0;
	int j = i / C;
	*c = i % C;
	*start = offset[j];
	*end = j + 1 < NC ? offset[j + 1] : rows;
	return 1;
}

static __global__ void
shrink_forward(float *out, const float *table, const float *b,
    const float *w, const int *offset, int NC, int rows, int C)
{
	int c, start, end;

	if (!feature_channel(tp_gid(), offset, NC, rows, C, &c, &start, &end))
		return;
	double mean = 0;
	for (int v = start; v < end; v++)
		mean += (double)w[v] * table[(size_t)v * C + c];
	for (int v = start; v < end; v++) {
		size_t k = (size_t)v * C + c;
		out[k] = (float)mean + b[v] * (table[k] - (float)mean);
	}
}

static __global__ void
shrink_backward(float *dtable, const float *dout, const float *b,
    const float *w, const int *offset, int NC, int rows, int C)
{
	int c, start, end;

	if (!feature_channel(tp_gid(), offset, NC, rows, C, &c, &start, &end))
		return;
	double dmean = 0;
	for (int v = start; v < end; v++)
		dmean += (1.0 - b[v]) * dout[(size_t)v * C + c];
	for (int v = start; v < end; v++) {
		size_t k = (size_t)v * C + c;
		dtable[k] += b[v] * dout[k] + w[v] * (float)dmean;
	}
}

void
tp_cuda_shrink_forward(tp_cuda *g, float *out, const float *table,
    const float *b, const float *w, const int *offset, int NC, int rows,
    int C)
{
	long n = (long)NC * C;

	if (idle(g, n))
		return;
	shrink_forward<<<TP_GRID(g, n)>>>(out, table, b, w, offset, NC, rows,
	    C);
	tp_cuda_launched(g, "shrink_forward");
}

void
tp_cuda_shrink_backward(tp_cuda *g, float *dtable, const float *dout,
    const float *b, const float *w, const int *offset, int NC, int rows,
    int C)
{
	long n = (long)NC * C;

	if (idle(g, n))
		return;
	shrink_backward<<<TP_GRID(g, n)>>>(dtable, dout, b, w, offset, NC, rows,
	    C);
	tp_cuda_launched(g, "shrink_backward");
}

/* Numeric tokens */

static __global__ void
numeric_forward(float *out, const float *x, const float *w, const float *b,
    const float *miss, int B, int T, int NC, int NN, int C)
{
	long i = tp_gid();

	if (i >= (long)B * NN * C)
		return;
	int c = i % C, j = (i / C) % NN, r = i / ((long)C * NN);
	float v = x[(size_t)r * NN + j];
	size_t k = (size_t)j * C + c;
	out[((size_t)r * T + NC + j) * C + c] = isnan(v) ? miss[k] :
	    v * w[k] + b[k];
}

/* Column jc = j * C + c of the numeric tokens' gradient, row r of the
 * batch; which says which of dw, db, dmiss it feeds. */
struct numeric_grad {
	const float *dout, *x;
	int T, NC, NN, C;
	enum { DW, DB, DMISS } which;
	__device__ float operator()(int r, int jc) const
	{
		float v = x[(size_t)r * NN + jc / C];
		float d = dout[((size_t)r * T + NC) * C + jc];
		if (which == DMISS)
			return isnan(v) ? d : 0.0f;
		if (isnan(v))
			return 0.0f;
		return which == DW ? v * d : d;
	}
};

void
tp_cuda_numeric_forward(tp_cuda *g, float *out, const float *x,
    const float *w, const float *b, const float *miss, int B, int T, int NC,
    int NN, int C)
{
	long n = (long)B * NN * C;

	if (idle(g, n))
		return;
	numeric_forward<<<TP_GRID(g, n)>>>(out, x, w, b, miss, B, T, NC, NN, C);
	tp_cuda_launched(g, "numeric_forward");
}

void
tp_cuda_numeric_backward(tp_cuda *g, float *dw, float *db, float *dmiss,
    const float *dout, const float *x, int B, int T, int NC, int NN, int C)
{
	numeric_grad f = {dout, x, T, NC, NN, C, numeric_grad::DW};

	colsum(g, dw, f, B, NN * C, "numeric_backward");
	f.which = numeric_grad::DB;
	colsum(g, db, f, B, NN * C, "numeric_backward");
	f.which = numeric_grad::DMISS;
	colsum(g, dmiss, f, B, NN * C, "numeric_backward");
}

/* Additive */

static __global__ void
additive_forward(tp_additive a, const int32_t *cat, const float *num,
    float *logits, int B)
{
	long r = tp_gid();

	if (r < B)
		logits[2 * r + 1] += (float)tp_additive_logit(&a,
		    cat + (size_t)r * a.ncat, num + (size_t)r * a.nnum);
}

void
tp_cuda_additive_forward(tp_cuda *g, const tp_additive *a,
    const int32_t *cat, const float *num, float *logits, int B)
{
	if (idle(g, B))
		return;
	additive_forward<<<TP_GRID(g, B)>>>(*a, cat, num, logits, B);
	tp_cuda_launched(g, "additive_forward");
}

/* Linear */

static __global__ void
fill_rows(float *out, const float *row, int N, int C)
{
	long i = tp_gid();

	if (i < (long)N * C)
		out[i] = row[i % C];
}

void
tp_cuda_linear_forward(tp_cuda *g, float *out, const float *inp,
    const float *weight, const float *bias, int N, int IC, int OC)
{
	if (idle(g, (long)N * OC))
		return;
	if (bias != NULL) {
		fill_rows<<<TP_GRID(g, (long)N * OC)>>>(out, bias, N, OC);
		if (tp_cuda_launched(g, "linear_forward") != TP_OK)
			return;
	}
	tp_cuda_gemm(g, 0, 1, N, OC, IC, 1.0f, inp, IC, weight, IC,
	    bias != NULL ? 1.0f : 0.0f, out, OC);
}

void
tp_cuda_linear_backward(tp_cuda *g, float *dinp, float *dweight,
    float *dbias, const float *dout, const float *inp, const float *weight,
    int N, int IC, int OC)
{
	if (idle(g, (long)N * OC))
		return;
	if (dinp != NULL)
		tp_cuda_gemm(g, 0, 0, N, IC, OC, 1.0f, dout, OC, weight, IC,
		    1.0f, dinp, IC);
	tp_cuda_gemm(g, 1, 0, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dweight,
	    IC);
	if (dbias != NULL)
		colsum(g, dbias, col_value{dout, OC}, N, OC, "linear_backward");
}

/* LayerNorm: one warp per row. */

static __global__ void
layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
    const float *weight, const float *bias, int N, int C)
{
	long row = tp_gid() / TP_WARP;
	int lane = threadIdx.x % TP_WARP;

	if (row >= N)
		return;
	const float *x = inp + (size_t)row * C;
	float *o = out + (size_t)row * C;
	float m = 0, v = 0;
	for (int c = lane; c < C; c += TP_WARP)
		m += x[c];
	m = tp_warp_sum(m) / C;
	for (int c = lane; c < C; c += TP_WARP)
		v += (x[c] - m) * (x[c] - m);
	v = tp_warp_sum(v) / C;
	float s = 1.0f / sqrtf(v + 1e-5f);
	for (int c = lane; c < C; c += TP_WARP)
		o[c] = (x[c] - m) * s * weight[c] + bias[c];
	if (lane == 0) {
		mean[row] = m;
		rstd[row] = s;
	}
}

static __global__ void
layernorm_backward(float *dinp, const float *dout, const float *inp,
    const float *mean, const float *rstd, const float *weight, int N, int C)
{
	long row = tp_gid() / TP_WARP;
	int lane = threadIdx.x % TP_WARP;

	if (row >= N)
		return;
	const float *d = dout + (size_t)row * C, *x = inp + (size_t)row * C;
	float *di = dinp + (size_t)row * C;
	float m = mean[row], s = rstd[row], dmean = 0, dnormmean = 0;
	/* As the CPU: dx = s * (g - mean(g) - xhat * mean(g * xhat)) with
	 * xhat the normalised input and g = dout * weight. */
	for (int c = lane; c < C; c += TP_WARP) {
		float xhat = (x[c] - m) * s, gc = d[c] * weight[c];
		dmean += gc;
		dnormmean += gc * xhat;
	}
	dmean = tp_warp_sum(dmean) / C;
	dnormmean = tp_warp_sum(dnormmean) / C;
	for (int c = lane; c < C; c += TP_WARP) {
		float xhat = (x[c] - m) * s, gc = d[c] * weight[c];
		di[c] += s * (gc - dmean - xhat * dnormmean);
	}
}

/* xhat * dout, layer norm's weight gradient before the sum over rows. */
struct layernorm_dweight {
	const float *dout, *inp, *mean, *rstd;
	int C;
	__device__ float operator()(int r, int c) const
	{
		size_t i = (size_t)r * C + c;
		float xhat = (inp[i] - mean[r]) * rstd[r];
		return xhat * dout[i];
	}
};

void
tp_cuda_layernorm_forward(tp_cuda *g, float *out, float *mean, float *rstd,
    const float *inp, const float *weight, const float *bias, int N, int C)
{
	if (idle(g, (long)N * C))
		return;
	layernorm_forward<<<TP_GRID(g, (long)N * TP_WARP)>>>(out, mean, rstd,
	    inp, weight, bias, N, C);
	tp_cuda_launched(g, "layernorm_forward");
}

void
tp_cuda_layernorm_backward(tp_cuda *g, float *dinp, float *dweight,
    float *dbias, const float *dout, const float *inp, const float *mean,
    const float *rstd, const float *weight, int N, int C)
{
	if (idle(g, (long)N * C))
		return;
	layernorm_backward<<<TP_GRID(g, (long)N * TP_WARP)>>>(dinp, dout, inp,
	    mean, rstd, weight, N, C);
	if (tp_cuda_launched(g, "layernorm_backward") != TP_OK)
		return;
	colsum(g, dbias, col_value{dout, C}, N, C, "layernorm_backward");
	colsum(g, dweight, layernorm_dweight{dout, inp, mean, rstd, C}, N, C,
	    "layernorm_backward");
}

/*
 * Attention. A thread owns one row (b, h, t) of the attention weights, or
 * one channel c of one token of Q, K, V or the output; head h owns channels
 * h * HS .. h * HS + HS - 1 of each of Q, K and V.
 */

static __device__ size_t
att_at(int b, int h, int t, int u, int NH, int T)
{
	return (((size_t)b * NH + h) * T + t) * T + u;
}

static __global__ void
attention_softmax(float *att, const float *qkv, float scale, int B, int T,
    int C, int NH)
{
	long i = tp_gid();

	if (i >= (long)B * NH * T)
		return;
	int t = i % T, h = (i / T) % NH, b = i / ((long)T * NH);
	int HS = C / NH, C3 = 3 * C;
	const float *q = qkv + ((size_t)b * T + t) * C3 + h * HS;
	float *a = att + att_at(b, h, t, 0, NH, T);
	for (int u = 0; u < T; u++) {
		const float *k = qkv + ((size_t)b * T + u) * C3 + C + h * HS;
		float dot = 0;
		for (int x = 0; x < HS; x++)
			dot += q[x] * k[x];
		a[u] = dot * scale;
	}
	/* The maximum is subtracted so that exp cannot overflow. */
	float mx = a[0], sum = 0;
	for (int u = 1; u < T; u++)
		mx = a[u] > mx ? a[u] : mx;
	for (int u = 0; u < T; u++) {
		a[u] = expf(a[u] - mx);
		sum += a[u];
	}
	float inv = 1.0f / sum;
	for (int u = 0; u < T; u++)
		a[u] *= inv;
}

static __global__ void
attention_values(float *out, const float *att, const float *mask,
    const float *qkv, int B, int T, int C, int NH)
{
	long i = tp_gid();

	if (i >= (long)B * T * C)
		return;
	int c = i % C, t = (i / C) % T, b = i / ((long)C * T);
	int h = c / (C / NH), C3 = 3 * C;
	float o = 0;
	for (int u = 0; u < T; u++) {
		size_t at = att_at(b, h, t, u, NH, T);
		float w = mask ? att[at] * mask[at] : att[at];
		o += w * qkv[((size_t)b * T + u) * C3 + 2 * C + c];
	}
	out[i] = o;
}

/* d(att) through att V and the dropout, then through the softmax and the
 * scale: ds = att * (datt - sum(att * datt)) * scale, into scratch. */
static __global__ void
attention_dscores(float *ds, const float *dout, const float *qkv,
    const float *att, const float *mask, float scale, int B, int T, int C,
    int NH)
{
	long i = tp_gid();

	if (i >= (long)B * NH * T)
		return;
	int t = i % T, h = (i / T) % NH, b = i / ((long)T * NH);
	int HS = C / NH, C3 = 3 * C;
	const float *d = dout + ((size_t)b * T + t) * C + h * HS;
	size_t row = att_at(b, h, t, 0, NH, T);
	float *drow = ds + row, dot = 0;
	for (int u = 0; u < T; u++) {
		const float *v = qkv + ((size_t)b * T + u) * C3 + 2 * C + h *
		    HS;
		float s = 0;
		for (int x = 0; x < HS; x++)
			s += d[x] * v[x];
		drow[u] = mask ? s * mask[row + u] : s;
	}
	for (int u = 0; u < T; u++)
		dot += att[row + u] * drow[u];
	for (int u = 0; u < T; u++)
		drow[u] = att[row + u] * (drow[u] - dot) * scale;
}

/* Channel c of token x: its dV through att V, its dQ and dK through
 * Q K^T. */
static __global__ void
attention_dqkv(float *dqkv, const float *ds, const float *dout,
    const float *qkv, const float *att, const float *mask, int B, int T,
    int C, int NH)
{
	long i = tp_gid();

	if (i >= (long)B * T * C)
		return;
	int c = i % C, x = (i / C) % T, b = i / ((long)C * T);
	int h = c / (C / NH), C3 = 3 * C;
	const float *rows = qkv + (size_t)b * T * C3;
	float *dx = dqkv + ((size_t)b * T + x) * C3;
	float dq = dx[c], dk = dx[C + c], dv = dx[2 * C + c];
	for (int t = 0; t < T; t++) {
		size_t at = att_at(b, h, t, x, NH, T);
		float w = mask ? att[at] * mask[at] : att[at];
		dv += w * dout[((size_t)b * T + t) * C + c];
		dk += ds[at] * rows[(size_t)t * C3 + c];
	}
	for (int u = 0; u < T; u++)
		dq += ds[att_at(b, h, x, u, NH, T)] * rows[(size_t)u * C3 + C +
		    c];
	dx[c] = dq;
	dx[C + c] = dk;
	dx[2 * C + c] = dv;
}

/* Inverted dropout's mask of count blocks of n values, drawn on the host
 * as the CPU draws it (one tp_dropout_mask call per block, in order), into
 * the device's mask. */
static void
draw_mask(tp_cuda *g, float *mask, float p, tp_rng *rng, long count, long n)
{
	float *m = tp_cuda_stage(g, (size_t)(count * n));

	if (m == NULL)
		return;
	for (long i = 0; i < count; i++)
		tp_dropout_mask(m + i * n, p, rng, n);
	tp_cuda_stage_upload(g, mask, (size_t)(count * n));
}

void
tp_cuda_attention_forward(tp_cuda *g, float *out, float *att, float *mask,
    const float *qkv, float p, tp_rng *rng, int B, int T, int C, int NH)
{
	float scale = 1.0f / sqrtf((float)(C / NH));
	long rows = (long)B * NH * T;

	if (idle(g, rows))
		return;
	attention_softmax<<<TP_GRID(g, rows)>>>(att, qkv, scale, B, T, C, NH);
	if (tp_cuda_launched(g, "attention_forward") != TP_OK)
		return;
	if (mask != NULL)
		/* The CPU draws one row's heads at a time. */
		draw_mask(g, mask, p, rng, B, (long)NH * T * T);
	if (g->status != TP_OK)
		return;
	attention_values<<<TP_GRID(g, (long)B * T * C)>>>(out, att, mask, qkv,
	    B, T, C, NH);
	tp_cuda_launched(g, "attention_forward");
}

void
tp_cuda_attention_backward(tp_cuda *g, float *dqkv, float *scratch,
    const float *dout, const float *qkv, const float *att, const float *mask,
    int B, int T, int C, int NH)
{
	float scale = 1.0f / sqrtf((float)(C / NH));
	long rows = (long)B * NH * T;

	if (idle(g, rows))
		return;
	attention_dscores<<<TP_GRID(g, rows)>>>(scratch, dout, qkv, att, mask,
	    scale, B, T, C, NH);
	if (tp_cuda_launched(g, "attention_backward") != TP_OK)
		return;
	attention_dqkv<<<TP_GRID(g, (long)B * T * C)>>>(dqkv, scratch, dout,
	    qkv, att, mask, B, T, C, NH);
	tp_cuda_launched(g, "attention_backward");
}

/* Element-wise layers */

static __global__ void
gelu_forward(float *out, const float *inp, long n)
{
	long i = tp_gid();

	if (i < n)
		out[i] = 0.5f * inp[i] *
		    (1.0f + erff(inp[i] * (float)M_SQRT1_2));
}

static __global__ void
gelu_backward(float *dinp, const float *dout, const float *inp, long n)
{
	const float inv_sqrt_2pi = 0.3989422804014327f;
	long i = tp_gid();

	if (i >= n)
		return;
	float x = inp[i];
	float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
	float pdf = inv_sqrt_2pi * expf(-0.5f * x * x);
	dinp[i] += dout[i] * (cdf + x * pdf);
}

static __global__ void
relu_forward(float *out, const float *inp, long n)
{
	long i = tp_gid();

	if (i < n)
		out[i] = inp[i] > 0 ? inp[i] : 0.0f;
}

static __global__ void
relu_backward(float *dinp, const float *dout, const float *inp, long n)
{
	long i = tp_gid();

	if (i < n)
		dinp[i] += inp[i] > 0 ? dout[i] : 0.0f;
}

static __global__ void
residual_forward(float *out, const float *a, const float *b, long n)
{
	long i = tp_gid();

	if (i < n)
		out[i] = a[i] + b[i];
}

static __global__ void
residual_backward(float *da, float *db, const float *dout, long n)
{
	long i = tp_gid();

	if (i < n) {
		da[i] += dout[i];
		db[i] += dout[i];
	}
}

static __global__ void
dropout_forward(float *out, const float *mask, const float *inp, long n)
{
	long i = tp_gid();

	if (i < n)
		out[i] = inp[i] * mask[i];
}

static __global__ void
dropout_backward(float *dinp, const float *dout, const float *mask, float p,
    long n)
{
	long i = tp_gid();

	if (i < n)
		dinp[i] += p <= 0 ? dout[i] : dout[i] * mask[i];
}

void
tp_cuda_gelu_forward(tp_cuda *g, float *out, const float *inp, long n)
{
	if (idle(g, n))
		return;
	gelu_forward<<<TP_GRID(g, n)>>>(out, inp, n);
	tp_cuda_launched(g, "gelu_forward");
}

void
tp_cuda_gelu_backward(tp_cuda *g, float *dinp, const float *dout,
    const float *inp, long n)
{
	if (idle(g, n))
		return;
	gelu_backward<<<TP_GRID(g, n)>>>(dinp, dout, inp, n);
	tp_cuda_launched(g, "gelu_backward");
}

void
tp_cuda_relu_forward(tp_cuda *g, float *out, const float *inp, long n)
{
	if (idle(g, n))
		return;
	relu_forward<<<TP_GRID(g, n)>>>(out, inp, n);
	tp_cuda_launched(g, "relu_forward");
}

void
tp_cuda_relu_backward(tp_cuda *g, float *dinp, const float *dout,
    const float *inp, long n)
{
	if (idle(g, n))
		return;
	relu_backward<<<TP_GRID(g, n)>>>(dinp, dout, inp, n);
	tp_cuda_launched(g, "relu_backward");
}

void
tp_cuda_residual_forward(tp_cuda *g, float *out, const float *a,
    const float *b, long n)
{
	if (idle(g, n))
		return;
	residual_forward<<<TP_GRID(g, n)>>>(out, a, b, n);
	tp_cuda_launched(g, "residual_forward");
}

void
tp_cuda_residual_backward(tp_cuda *g, float *da, float *db,
    const float *dout, long n)
{
	if (idle(g, n))
		return;
	residual_backward<<<TP_GRID(g, n)>>>(da, db, dout, n);
	tp_cuda_launched(g, "residual_backward");
}

void
tp_cuda_dropout_forward(tp_cuda *g, float *out, float *mask,
    const float *inp, float p, tp_rng *rng, long n)
{
	if (idle(g, n))
		return;
	if (p <= 0 && out == inp)
		return;
	if (p <= 0) {
		cudaError_t rc = cudaMemcpyAsync(out, inp, n * sizeof(float),
		    cudaMemcpyDeviceToDevice, g->stream);
		if (rc != cudaSuccess)
			tp_cuda_fail(g, TP_EINTERNAL, "CUDA kernel "
			    "dropout_forward: %s", cudaGetErrorString(rc));
		return;
	}
	draw_mask(g, mask, p, rng, 1, n);
	if (g->status != TP_OK)
		return;
	dropout_forward<<<TP_GRID(g, n)>>>(out, mask, inp, n);
	tp_cuda_launched(g, "dropout_forward");
}

void
tp_cuda_dropout_backward(tp_cuda *g, float *dinp, const float *dout,
    const float *mask, float p, long n)
{
	if (idle(g, n))
		return;
	dropout_backward<<<TP_GRID(g, n)>>>(dinp, dout, mask, p, n);
	tp_cuda_launched(g, "dropout_backward");
}

/* Mean pooling */

static __global__ void
meanpool_forward(float *out, const float *inp, int B, int T, int C)
{
	long i = tp_gid();

	if (i >= (long)B * C)
		return;
	int c = i % C, b = i / C;
	float o = 0;
	for (int t = 0; t < T; t++)
		o += inp[((size_t)b * T + t) * C + c];
	out[i] = o / T;
}

static __global__ void
meanpool_backward(float *dinp, const float *dout, int B, int T, int C)
{
	long i = tp_gid();

	if (i >= (long)B * T * C)
		return;
	int c = i % C, b = i / ((long)C * T);
	dinp[i] += dout[(size_t)b * C + c] / T;
}

void
tp_cuda_meanpool_forward(tp_cuda *g, float *out, const float *inp, int B,
    int T, int C)
{
	long n = (long)B * C;

	if (idle(g, n))
		return;
	meanpool_forward<<<TP_GRID(g, n)>>>(out, inp, B, T, C);
	tp_cuda_launched(g, "meanpool_forward");
}

void
tp_cuda_meanpool_backward(tp_cuda *g, float *dinp, const float *dout, int B,
    int T, int C)
{
	long n = (long)B * T * C;

	if (idle(g, n))
		return;
	meanpool_backward<<<TP_GRID(g, n)>>>(dinp, dout, B, T, C);
	tp_cuda_launched(g, "meanpool_backward");
}

/*
 * Cross-entropy. The forward leaves each row's weighted loss and weight in
 * scratch; the host adds them in row order, in double, as the CPU does.
 */

static __global__ void
crossentropy_forward(float *probs, double *terms /* (B,2) */,
    const float *logits, const int8_t *label, const float *target,
    const float *weight, int B)
{
	long b = tp_gid();

	if (b >= B)
		return;
	const float *l = logits + 2 * b;
	float mx = fmaxf(l[0], l[1]);
	float e0 = expf(l[0] - mx), e1 = expf(l[1] - mx), s = e0 + e1;
	probs[2 * b] = e0 / s;
	probs[2 * b + 1] = e1 / s;
	terms[2 * b] = terms[2 * b + 1] = 0;
	float w = tp_soft_weight(label, target, weight, b);
	if (w == 0)
		return;
	float q = tp_soft_target(label, target, b);
	/* log softmax as l - logsumexp, exact for large logits. */
	float lse = mx + logf(s);
	terms[2 * b] = w * (q * (lse - l[1]) + (1 - q) * (lse - l[0]));
	terms[2 * b + 1] = w;
}

enum { CE_THREADS = 1024 };

/* One block: the sum of the weights, then every row's gradient. */
static __global__ void
crossentropy_backward(float *dlogits, const float *probs,
    const int8_t *label, const float *target, const float *weight, int B)
{
	__shared__ double shared[CE_THREADS];
	double wsum = 0;

	for (int b = threadIdx.x; b < B; b += blockDim.x)
		wsum += tp_soft_weight(label, target, weight, b);
	wsum = tp_block_sum(wsum, shared);
	for (int b = threadIdx.x; b < B; b += blockDim.x) {
		float w = tp_soft_weight(label, target, weight, b);
		if (w == 0 || wsum == 0) {
			dlogits[2 * b] = dlogits[2 * b + 1] = 0;
			continue;
		}
		w = (float)(w / wsum);
		float q = tp_soft_target(label, target, b);
		dlogits[2 * b] = w * (probs[2 * b] - (1 - q));
		dlogits[2 * b + 1] = w * (probs[2 * b + 1] - q);
	}
}

float
tp_cuda_crossentropy_forward(tp_cuda *g, float *probs, const float *logits,
    const int8_t *label, const float *target, const float *weight, int B)
{
	double loss = 0, wsum = 0;

	if (g->status != TP_OK)
		return NAN;
	if (B <= 0)
		return 0.0f;
	size_t bytes = (size_t)B * 2 * sizeof(double);
	double *terms = (double *)tp_cuda_scratch(g, bytes);
	double *host = (double *)malloc(bytes);
	if (terms == NULL || host == NULL) {
		free(host);
		tp_cuda_fail(g, TP_EINTERNAL, "out of memory allocating the "
		    "cross-entropy's %d rows", B);
		return NAN;
	}
	crossentropy_forward<<<TP_GRID(g, B)>>>(probs, terms, logits, label,
	    target, weight, B);
	if (tp_cuda_launched(g, "crossentropy_forward") != TP_OK ||
	    tp_cuda_fetch(g, host, terms, bytes) != TP_OK) {
		free(host);
		return NAN;
	}
	for (int b = 0; b < B; b++) {
		loss += host[2 * b];
		wsum += host[2 * b + 1];
	}
	free(host);
	return wsum > 0 ? (float)(loss / wsum) : 0.0f;
}

void
tp_cuda_crossentropy_backward(tp_cuda *g, float *dlogits, const float *probs,
    const int8_t *label, const float *target, const float *weight, int B)
{
	if (idle(g, B))
		return;
	crossentropy_backward<<<1, CE_THREADS, 0, g->stream>>>(dlogits, probs,
	    label, target, weight, B);
	tp_cuda_launched(g, "crossentropy_backward");
}

/*
 * NT-Xent. Row i of z is normalised by one thread, in the CPU's order; the
 * similarities are one GEMM; a block per row makes its softmax (without the
 * diagonal) and its loss, which the host adds in row order.
 */

static __global__ void
ntxent_normalise(float *u, float *norm, const float *z, int M, int P)
{
	long i = tp_gid();

	if (i >= M)
		return;
	const float *zi = z + (size_t)i * P;
	float s = 0;
	for (int k = 0; k < P; k++)
		s += zi[k] * zi[k];
	/* F.normalize's floor keeps a zero vector finite. */
	norm[i] = fmaxf(sqrtf(s), 1e-12f);
	for (int k = 0; k < P; k++)
		u[(size_t)i * P + k] = zi[k] / norm[i];
}

static __global__ void
ntxent_softmax(float *sim, double *loss /* (M) */, int B)
{
	__shared__ double shared[TP_THREADS];
	int M = 2 * B, i = blockIdx.x, pair = i < B ? i + B : i - B;
	float *row = sim + (size_t)i * M, mx = -INFINITY;
	float pos = row[pair];

	for (int k = threadIdx.x; k < M; k += blockDim.x)
		if (k != i)
			mx = fmaxf(mx, row[k]);
	/* A maximum is exact in any order (and a float fits a double). */
	shared[threadIdx.x] = mx;
	__syncthreads();
	for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s)
			shared[threadIdx.x] = fmax(shared[threadIdx.x],
			    shared[threadIdx.x + s]);
		__syncthreads();
	}
	mx = (float)shared[0];
	__syncthreads();
	double sum = 0;
	for (int k = threadIdx.x; k < M; k += blockDim.x) {
		row[k] = k == i ? 0.0f : expf(row[k] - mx);
		sum += row[k];
	}
	sum = tp_block_sum(sum, shared);
	for (int k = threadIdx.x; k < M; k += blockDim.x)
		row[k] = (float)(row[k] / sum);
	if (threadIdx.x == 0)
		loss[i] = mx + log(sum) - pos;
}

/* d loss / d s[i][k] = (softmax[i][k] - [k == pair(i)]) / M, in place. */
static __global__ void
ntxent_dsim(float *sim, int B)
{
	int M = 2 * B;
	long at = tp_gid();

	if (at >= (long)M * M)
		return;
	int i = at / M, k = at % M;
	float v = sim[at] / M;
	if (k == (i < B ? i + B : i - B))
		v -= 1.0f / M;
	sim[at] = v;
}

/* u = z / |z|: dz = (du - u (u . du)) / |z|. */
static __global__ void
ntxent_dz(float *dz, const float *du, const float *u, const float *norm,
    int M, int P)
{
	long i = tp_gid();

	if (i >= M)
		return;
	const float *ui = u + (size_t)i * P, *dui = du + (size_t)i * P;
	float dot = 0;
	for (int k = 0; k < P; k++)
		dot += ui[k] * dui[k];
	for (int k = 0; k < P; k++)
		dz[(size_t)i * P + k] = (dui[k] - ui[k] * dot) / norm[i];
}

float
tp_cuda_ntxent_forward(tp_cuda *g, float *u, float *norm, float *sim,
    const float *z, float tau, int B, int P)
{
	int M = 2 * B;
	double loss = 0;

	if (g->status != TP_OK)
		return NAN;
	if (B <= 0)
		return 0.0f;
	ntxent_normalise<<<TP_GRID(g, M)>>>(u, norm, z, M, P);
	if (tp_cuda_launched(g, "ntxent_forward") != TP_OK)
		return NAN;
	tp_cuda_gemm(g, 0, 1, M, M, P, 1.0f / tau, u, P, u, P, 0.0f, sim, M);
	size_t bytes = (size_t)M * sizeof(double);
	double *terms = (double *)tp_cuda_scratch(g, bytes);
	double *host = (double *)malloc(bytes);
	if (terms == NULL || host == NULL) {
		free(host);
		tp_cuda_fail(g, TP_EINTERNAL, "out of memory allocating "
		    "NT-Xent's %d rows", M);
		return NAN;
	}
	ntxent_softmax<<<M, TP_THREADS, 0, g->stream>>>(sim, terms, B);
	if (tp_cuda_launched(g, "ntxent_forward") != TP_OK ||
	    tp_cuda_fetch(g, host, terms, bytes) != TP_OK) {
		free(host);
		return NAN;
	}
	for (int i = 0; i < M; i++)
		loss += host[i];
	free(host);
	return (float)(loss / M);
}

void
tp_cuda_ntxent_backward(tp_cuda *g, float *dz, float *du, const float *u,
    const float *norm, float *sim, float tau, int B, int P)
{
	int M = 2 * B;

	if (idle(g, B))
		return;
	ntxent_dsim<<<TP_GRID(g, (long)M * M)>>>(sim, B);
	if (tp_cuda_launched(g, "ntxent_backward") != TP_OK)
		return;
	/* s = u u^T / tau: du = (ds + ds^T) u / tau. */
	tp_cuda_gemm(g, 0, 0, M, P, M, 1.0f / tau, sim, M, u, P, 0.0f, du, P);
	tp_cuda_gemm(g, 1, 0, M, P, M, 1.0f / tau, sim, M, u, P, 1.0f, du, P);
	if (g->status != TP_OK)
		return;
	ntxent_dz<<<TP_GRID(g, M)>>>(dz, du, u, norm, M, P);
	tp_cuda_launched(g, "ntxent_backward");
}
