#include <math.h>
#include <string.h>

#include "model/layers.h"
#include "model/mat.h"
#include "model/softtarget.h"

void
tp_embedding_forward(float *out, const int32_t *idx, const float *table,
    const int *offset, int B, int T, int NC, int C)
{
	for (int b = 0; b < B; b++)
		for (int j = 0; j < NC; j++) {
			const float *row = table +
			    (size_t)(offset[j] + idx[b * NC + j]) * C;
			memcpy(out + ((size_t)b * T + j) * C, row, C * sizeof(float));
		}
}

WIDE void
tp_embedding_backward(float *dtable, const float *dout, const int32_t *idx,
    const int *offset, int B, int T, int NC, int C)
{
	for (int b = 0; b < B; b++)
		for (int j = 0; j < NC; j++) {
			float *drow = dtable + (size_t)(offset[j] + idx[b * NC + j]) * C;
			const float *d = dout + ((size_t)b * T + j) * C;
			for (int c = 0; c < C; c++)
				drow[c] += d[c];
		}
}

void
tp_shrink_forward(float *out, const float *table, const float *b,
    const float *w, const int *offset, int NC, int rows, int C)
{
	for (int j = 0; j < NC; j++) {
		int end = tp_table_end(offset, j, NC, rows);
		for (int c = 0; c < C; c++) {
			double mean = 0;
			for (int v = offset[j]; v < end; v++)
				mean += (double)w[v] * table[(size_t)v * C + c];
			for (int v = offset[j]; v < end; v++) {
				size_t i = (size_t)v * C + c;
				out[i] = (float)mean + b[v] * (table[i] - (float)mean);
			}
		}
	}
}

void
tp_shrink_backward(float *dtable, const float *dout, const float *b,
    const float *w, const int *offset, int NC, int rows, int C)
{
	for (int j = 0; j < NC; j++) {
		int end = tp_table_end(offset, j, NC, rows);
		for (int c = 0; c < C; c++) {
			/* What reaches the mean: the share 1 - b[v] of each
			 * row's gradient. */
			double dmean = 0;
			for (int v = offset[j]; v < end; v++)
				dmean += (1.0 - b[v]) * dout[(size_t)v * C + c];
			for (int v = offset[j]; v < end; v++) {
				size_t i = (size_t)v * C + c;
				dtable[i] += b[v] * dout[i] + w[v] * (float)dmean;
			}
		}
	}
}

WIDE void
tp_numeric_forward(float *out, const float *x, const float *w,
    const float *b, const float *miss, int B, int T, int NC, int NN, int C)
{
	for (int r = 0; r < B; r++)
		for (int j = 0; j < NN; j++) {
			float v = x[r * NN + j];
			float *o = out + ((size_t)r * T + NC + j) * C;
			const float *wj = w + (size_t)j * C, *bj = b + (size_t)j * C;
			if (isnan(v))
				memcpy(o, miss + (size_t)j * C, C * sizeof(float));
			else
				for (int c = 0; c < C; c++)
					o[c] = v * wj[c] + bj[c];
		}
}

WIDE void
tp_numeric_backward(float *dw, float *db, float *dmiss, const float *dout,
    const float *x, int B, int T, int NC, int NN, int C)
{
	for (int r = 0; r < B; r++)
		for (int j = 0; j < NN; j++) {
			float v = x[r * NN + j];
			const float *d = dout + ((size_t)r * T + NC + j) * C;
			if (isnan(v)) {
				float *dm = dmiss + (size_t)j * C;
				for (int c = 0; c < C; c++)
					dm[c] += d[c];
				continue;
			}
			float *dwj = dw + (size_t)j * C, *dbj = db + (size_t)j * C;
			for (int c = 0; c < C; c++) {
				dwj[c] += v * d[c];
				dbj[c] += d[c];
			}
		}
}

/* The bias goes into each row by a loop, not memcpy: a call per row of a
 * few hundred bytes costs more than the copy. */
WIDE void
tp_linear_forward(float *out, const float *inp, const float *weight,
    const float *bias, int N, int IC, int OC)
{
	if (bias != NULL)
		for (int n = 0; n < N; n++) {
			float *row = out + (size_t)n * OC;
			for (int o = 0; o < OC; o++)
				row[o] = bias[o];
		}
	tp_gemm(0, 1, N, OC, IC, 1.0f, inp, IC, weight, IC,
	    bias != NULL ? 1.0f : 0.0f, out, OC);
}

WIDE void
tp_linear_forward_t(float *out, const float *inp, const float *weight_t,
    const float *bias, int N, int IC, int OC)
{
	tp_gemm_rows(N, OC, IC, inp, IC, weight_t, OC, bias, 0, out, OC);
}

WIDE void
tp_linear_backward(float *dinp, float *dweight, float *dbias,
    const float *dout, const float *inp, const float *weight, int N, int IC,
    int OC)
{
	if (dinp != NULL)
		tp_gemm_rows(N, IC, OC, dout, OC, weight, IC, NULL, 1, dinp, IC);
	if (dweight != NULL)
		tp_gemm(1, 0, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dweight,
		    IC);
	if (dbias != NULL)
		for (int n = 0; n < N; n++) {
			const float *d = dout + (size_t)n * OC;
			for (int o = 0; o < OC; o++)
				dbias[o] += d[o];
		}
}

/*
 * Reductions over a row of a few dozen floats (a token's channels, a row
 * of attention scores) as LANES interleaved partial results, the last
 * partial vector's floats going to lanes of their own, then a tree over
 * the lanes: chains of dependent operations about 6 long, where one
 * running sum of 32 floats is a chain of 32. The order is the code's, so
 * every vector width gives the same bits.
 */
enum { LANES = 8 };

static inline float
lane_total(const float *p)
{
	return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
}

static inline float
lane_sum(const float *x, int n)
{
	float part[LANES] = {0};
	int c = 0;
	for (; c + LANES <= n; c += LANES)
		for (int l = 0; l < LANES; l++)
			part[l] += x[c + l];
	for (int l = 0; c + l < n; l++)
		part[l] += x[c + l];
	return lane_total(part);
}

static inline float
lane_dot(const float *x, const float *y, int n)
{
	float part[LANES] = {0};
	int c = 0;
	for (; c + LANES <= n; c += LANES)
		for (int l = 0; l < LANES; l++)
			part[l] += x[c + l] * y[c + l];
	for (int l = 0; c + l < n; l++)
		part[l] += x[c + l] * y[c + l];
	return lane_total(part);
}

WIDE void
tp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
    const float *weight, const float *bias, int N, int C)
{
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float *o = out + (size_t)n * C;
		float m = lane_sum(x, C) / C;
		for (int c = 0; c < C; c++)
			o[c] = x[c] - m;
		float s = 1.0f / sqrtf(lane_dot(o, o, C) / C + 1e-5f);
		for (int c = 0; c < C; c++)
			o[c] = o[c] * s * weight[c] + bias[c];
		mean[n] = m;
		rstd[n] = s;
	}
}

WIDE void
tp_layernorm_backward(float *restrict dinp, float *restrict dweight,
    float *restrict dbias, const float *dout, const float *inp,
    const float *mean, const float *rstd, const float *weight, int N, int C)
{
	for (int n = 0; n < N; n++) {
		const float *d = dout + (size_t)n * C, *x = inp + (size_t)n * C;
		float *di = dinp + (size_t)n * C;
		float m = mean[n], s = rstd[n];
		float part_g[LANES] = {0}, part_gx[LANES] = {0};
		/* With xhat the normalised input and g = dout * weight:
		 * dx = s * (g - mean(g) - xhat * mean(g * xhat)). */
		int c = 0;
		for (; c + LANES <= C; c += LANES)
			for (int l = 0; l < LANES; l++) {
				float xhat = (x[c + l] - m) * s;
				float g = d[c + l] * weight[c + l];
				part_g[l] += g;
				part_gx[l] += g * xhat;
			}
		for (int l = 0; c + l < C; l++) {
			float xhat = (x[c + l] - m) * s, g = d[c + l] * weight[c + l];
			part_g[l] += g;
			part_gx[l] += g * xhat;
		}
		float dmean = lane_total(part_g), dnormmean = lane_total(part_gx);
		dmean /= C;
		dnormmean /= C;
		for (c = 0; c < C; c++) {
			float xhat = (x[c] - m) * s, g = d[c] * weight[c];
			di[c] += s * (g - dmean - xhat * dnormmean);
		}
		if (dweight != NULL)
			for (c = 0; c < C; c++) {
				dbias[c] += d[c];
				dweight[c] += (x[c] - m) * s * d[c];
			}
	}
}

/*
 * exp and erf for float, good to a few ulp, written so that loops over them
 * vectorise: no calls (fminf, fmaxf and floorf are libm calls without
 * SSE4.1) and no float selects, which gcc does not if-convert while
 * -ftrapping-math (the default) is on: the clamps select on the bits with
 * an integer mask, the floor is a conversion to int corrected by one below
 * zero. Both give the same values as fmaxf, fminf and floorf, NaN clamped
 * to -87 included. exp: x = n ln2 + r with |r| <= ln2/2, exp(r) by Cephes'
 * polynomial, 2^n put in the exponent bits. erf: Abramowitz and Stegun
 * 7.1.26 (error below 1.5e-7) where exp(-x^2) is at hand, 7.1.28 (below
 * 3e-7, and half the work) where it is not.
 */
static inline float
select_bits(int32_t keep, float x, float other)
{
	union { float f; int32_t i; } a = {.f = x}, b = {.f = other};
	int32_t mask = -keep;

	a.i = (a.i & mask) | (b.i & ~mask);
	return a.f;
}

static inline float
fast_expf(float x)
{
	x = select_bits(x > -87.0f, x, -87.0f);
	x = select_bits(x < 88.0f, x, 88.0f);
	float y = x * 1.44269504088896341f + 0.5f;
	int32_t i = (int32_t)y;
	i -= (float)i > y;
	float n = (float)i;
	float r = x - n * 0.693359375f + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	union { float f; int32_t i; } scale = {.i = (i + 127) << 23};
	return p * scale.f;
}

/* The normal CDF Phi(x) = (1 + erf(x / sqrt 2)) / 2, given e = exp(-x^2 / 2),
 * which GELU's backward needs for the density too: one exp for both. */
static inline float
normal_cdf_exp(float x, float e)
{
	float a = fabsf(x) * (float)M_SQRT1_2, t = 1.0f / (1.0f + 0.3275911f * a);
	float y = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t -
	    0.284496736f) * t + 0.254829592f) * t;
	return 0.5f * (1.0f + copysignf(1.0f - y * e, x));
}

/* Phi(x) alone, as GELU's forward needs it: erf(a) = 1 - (1 + a1 a + ...
 * + a6 a^6)^-16 for a >= 0, with no exp. Past a of about 20 the power
 * overflows to infinity and erf to exactly 1, as it should. */
static inline float
normal_cdf(float x)
{
	float a = fabsf(x) * (float)M_SQRT1_2;
	float p = (((((4.30638e-5f * a + 2.765672e-4f) * a + 1.520143e-4f) * a +
	    9.2705272e-3f) * a + 4.22820123e-2f) * a + 7.05230784e-2f) * a + 1.0f;
	p *= p;
	p *= p;
	p *= p;
	p *= p;
	return 0.5f * (1.0f + copysignf(1.0f - 1.0f / p, x));
}

/* LANES floats as one value of GNU C's vector extension: one AVX2
 * register, two SSE2 ones. */
typedef float lanes __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t lane_bits __attribute__((vector_size(LANES * sizeof(float))));
/* The same at any float's address. Lanes move by assignment, through
 * this type where unaligned, never by memcpy: gcc's generic tuning copies
 * a lanes by memcpy in two halves, and the whole vector read back waits
 * for both stores to retire. */
typedef float lanes_at __attribute__((vector_size(LANES * sizeof(float)),
    aligned(sizeof(float))));

/* Independent sums in flight, a vector each: an add waits on the one
 * before it in its sum. Eight cover a head of 8 channels in one pass. */
enum { CHAINS = 8 };

#define ALWAYS_INLINE inline __attribute__((always_inline))

_Static_assert(LANES == 8, "transpose_lanes's shuffles are for 8 lanes");

/* Two vectors' lanes picked by constant indices, 0-7 of x and 8-15 of y:
 * GCC's builtin takes the indices as a vector, clang's as constants. */
#ifdef __clang__
#define SHUFFLE(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define SHUFFLE(x, y, ...) __builtin_shuffle(x, y, (lane_bits){__VA_ARGS__})
#endif

/* r[i][c] becomes r[c][i]: at each scale b (4, 2, 1) the off-diagonal
 * b x b blocks of every 2b x 2b block swap places, one two-vector shuffle
 * a row. */
static ALWAYS_INLINE void
transpose_lanes(lanes *r)
{
	for (int i = 0; i < LANES; i++)
		if ((i & 4) == 0) {
			lanes x = r[i], y = r[i + 4];
			r[i] = SHUFFLE(x, y, 0, 1, 2, 3, 8, 9, 10, 11);
			r[i + 4] = SHUFFLE(x, y, 4, 5, 6, 7, 12, 13, 14, 15);
		}
	for (int i = 0; i < LANES; i++)
		if ((i & 2) == 0) {
			lanes x = r[i], y = r[i + 2];
			r[i] = SHUFFLE(x, y, 0, 1, 8, 9, 4, 5, 12, 13);
			r[i + 2] = SHUFFLE(x, y, 2, 3, 10, 11, 6, 7, 14, 15);
		}
	for (int i = 0; i < LANES; i++)
		if ((i & 1) == 0) {
			lanes x = r[i], y = r[i + 1];
			r[i] = SHUFFLE(x, y, 0, 8, 2, 10, 4, 12, 6, 14);
			r[i + 1] = SHUFFLE(x, y, 1, 9, 3, 11, 5, 13, 7, 15);
		}
}

/* The scaled scores of keys j .. j + n - 1 against the block's queries
 * qt (HS vectors), into st[j] .. st[j + n - 1]. */
static ALWAYS_INLINE void
block_scores(lanes *st, const lanes *qt, const float *k, int j, int n,
    int HS, int C3, float scale)
{
	lanes acc[CHAINS] = {{0}};

	for (int d = 0; d < HS; d++)
		for (int u = 0; u < n; u++)
			acc[u] += qt[d] * k[(size_t)(j + u) * C3 + d];
	for (int u = 0; u < n; u++)
		st[j + u] = acc[u] * scale;
}

/* Channels c .. c + n - 1 of the block's output, sum_j st[j] v[j][c]
 * over the T rows of v, stride floats apart, in the order of j. */
static ALWAYS_INLINE void
block_values(lanes *ot, const lanes *st, const float *v, int c, int n,
    int T, size_t stride)
{
	lanes acc[CHAINS] = {{0}};

	for (int j = 0; j < T; j++)
		for (int u = 0; u < n; u++)
			acc[u] += st[j] * v[j * stride + c + u];
	for (int u = 0; u < n; u++)
		ot[c + u] = acc[u];
}

/*
 * The tokens of a row go through attention LANES at a time, a lane a
 * token. Block i0 holds tokens i0 .. i0 + LANES - 1, but when T is not a
 * multiple of LANES the last block starts at T - LANES instead, so that
 * every load and store is of whole vectors: its first *skip lanes repeat
 * tokens of the block before, whose sums lane by lane come out the same
 * and are not stored again. A partial vector read back whole would wait
 * for its stores to retire. Under LANES tokens, one block of T lanes.
 * Returns the block's first token; *n is its lanes.
 */
static ALWAYS_INLINE int
block_start(int i0, int T, int *n, int *skip)
{
	int first = i0 + LANES <= T || T < LANES ? i0 : T - LANES;

	*n = T < LANES ? T : LANES;
	*skip = i0 - first;
	return first;
}

/* dst[d .. d + LANES - 1] from LANES floats of each of nq tokens, turned
 * into LANES vectors by one transpose; the lanes past nq are 0. */
static ALWAYS_INLINE void
gather_block(lanes *dst, const float *src, size_t stride, int nq, int d)
{
	lanes r[LANES];

	if (nq < LANES)
		memset(r, 0, sizeof(r));
	for (int l = 0; l < nq; l++)
		r[l] = *(const lanes_at *)(src + l * stride + d);
	transpose_lanes(r);
	for (int l = 0; l < LANES; l++)
		dst[d + l] = r[l];
}

/* dst[d][l] = src[l * stride + d] for the block's nq tokens l and n
 * floats d of each; the lanes past nq are 0. When n is not a multiple of
 * LANES, its last LANES floats go as one more block, which writes some
 * of dst again with the same values. */
static ALWAYS_INLINE void
gather_lanes(lanes *dst, const float *src, size_t stride, int nq, int n)
{
	int d = 0;

	for (; d + LANES <= n; d += LANES)
		gather_block(dst, src, stride, nq, d);
	if (d < n && n >= LANES)
		gather_block(dst, src, stride, nq, n - LANES);
	else
		for (; d < n; d++) {
			lanes x = {0};
			for (int l = 0; l < nq; l++)
				x[l] = src[l * stride + d];
			dst[d] = x;
		}
}

/* r = the first n floats at p, the lanes after them 0. */
static ALWAYS_INLINE void
load_lanes(lanes *r, const float *p, int n)
{
	if (n == LANES) {
		*r = *(const lanes_at *)p;
		return;
	}
	*r = (lanes){0};
	for (int u = 0; u < n; u++)
		(*r)[u] = p[u];
}

/* The other way for floats d .. d + LANES - 1 of tokens skip .. nq - 1:
 * dst[l * stride + d] = src[d][l], or += with add. */
static ALWAYS_INLINE void
scatter_block(float *dst, size_t stride, const lanes *src, int skip, int nq,
    int d, int add)
{
	lanes r[LANES];

	for (int l = 0; l < LANES; l++)
		r[l] = src[d + l];
	transpose_lanes(r);
	for (int l = skip; l < nq; l++) {
		float *o = dst + l * stride + d;
		if (add)
			r[l] += *(const lanes_at *)o;
		*(lanes_at *)o = r[l];
	}
}

/* The other way, for the block's tokens l from skip to nq - 1:
 * dst[l * stride + d] = src[d][l], or += with add. The last LANES floats
 * as one more block would add some of them twice, so with add they go one
 * at a time. */
static ALWAYS_INLINE void
scatter_lanes(float *dst, size_t stride, const lanes *src, int skip, int nq,
    int n, int add)
{
	int d = 0;

	for (; d + LANES <= n; d += LANES)
		scatter_block(dst, stride, src, skip, nq, d, add);
	if (d < n && n >= LANES && !add)
		scatter_block(dst, stride, src, skip, nq, n - LANES, add);
	else
		for (; d < n; d++)
			for (int l = skip; l < nq; l++)
				dst[l * stride + d] =
				    (add ? dst[l * stride + d] : 0) + src[d][l];
}

/*
 * Attention, one head of one row at a time; head h owns channels
 * h * HS .. h * HS + HS - 1 of Q, K and V. A row's products are too small
 * for a BLAS call to pay (22x22x8 a head for lending_club), so each block
 * of LANES queries goes through scores, softmax, dropout and att V here,
 * one query per lane. The scores are kept key-major, so that the
 * softmax's maximum and sum run down the keys within each lane, and att V
 * sums over the keys in each lane too; no sum crosses lanes, so the SSE2
 * and AVX2 versions give the same bits. The weights the backward reads
 * and the dropout mask stay query-major, (NH,T,T) a row, as the GPU keeps
 * them.
 */
WIDE void
tp_attention_forward(float *out, float *att, float *mask, const float *qkv,
    float p, tp_rng *rng, int B, int T, int C, int NH)
{
	int HS = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)HS);
	size_t TT = (size_t)T * T;
	/* A block's queries (HS), weights (T), dropout mask (T) and output
	 * (HS), lane l for query q0 + l. */
	lanes qt[HS], st[T], keep[T], ot[HS];
	float *sf = (float *)st;

	for (int b = 0; b < B; b++) {
		const float *x = qkv + (size_t)b * T * C3;
		float *m = mask != NULL ? mask + (size_t)b * NH * TT : NULL;
		if (m != NULL)
			tp_dropout_mask(m, p, rng, (long)(NH * TT));
		for (int h = 0; h < NH; h++) {
			const float *q = x + h * HS, *k = x + C + h * HS,
			    *v = x + 2 * C + h * HS;
			for (int i0 = 0; i0 < T; i0 += LANES) {
				int nq, skip, j, c;
				int q0 = block_start(i0, T, &nq, &skip);
				size_t row0 = ((size_t)h * T + q0) * T;
				gather_lanes(qt, q + (size_t)q0 * C3, C3, nq, HS);
				for (j = 0; j + CHAINS <= T; j += CHAINS)
					block_scores(st, qt, k, j, CHAINS, HS, C3, scale);
				for (; j < T; j++)
					block_scores(st, qt, k, j, 1, HS, C3, scale);
				lanes mx = st[0], sum = {0};
				for (j = 1; j < T; j++) {
					lane_bits up = st[j] > mx;
					mx = (lanes)(((lane_bits)st[j] & up) |
					    ((lane_bits)mx & ~up));
				}
				for (j = 0; j < T; j++)
					st[j] -= mx;
				for (int i = 0; i < T * LANES; i++)
					sf[i] = fast_expf(sf[i]);
				for (j = 0; j < T; j++)
					sum += st[j];
				lanes inv = 1.0f / sum;
				for (j = 0; j < T; j++)
					st[j] *= inv;
				if (att != NULL)
					scatter_lanes(att + (size_t)b * NH * TT + row0,
					    T, st, skip, nq, T, 0);
				if (m != NULL) {
					gather_lanes(keep, m + row0, T, nq, T);
					for (j = 0; j < T; j++)
						st[j] *= keep[j];
				}
				for (c = 0; c + CHAINS <= HS; c += CHAINS)
					block_values(ot, st, v, c, CHAINS, T, C3);
				for (; c < HS; c++)
					block_values(ot, st, v, c, 1, T, C3);
				scatter_lanes(out + ((size_t)b * T + q0) * C + h * HS,
				    C, ot, skip, nq, HS, 0);
			}
		}
	}
}

/*
 * The backward, one head of one row at a time, without BLAS calls as the
 * forward. Per block of LANES queries, a lane a query: d(att) = dout V^T
 * through the dropout, then through the softmax and the scale, ds = att *
 * (datt - sum(att * datt)) * scale, and dQ = ds K; ds goes to scratch,
 * query-major. Then per block of LANES keys, a lane a key, the sums over
 * the queries: dV = (att * mask)^T dout and dK = ds^T Q. Every sum runs in
 * the code's order within a lane, so SSE2 and AVX2 give the same bits.
 */
WIDE void
tp_attention_backward(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, const float *mask, int B, int T,
    int C, int NH)
{
	int HS = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)HS);
	size_t TT = (size_t)T * T;
	float *s = scratch; /* (T,T) of one head: ds, query-major */
	/* A block's weights, mask and ds, T each (of its queries' rows, then
	 * of its keys' columns), its dout (HS) and two outputs (HS). */
	lanes at[T], keep[T], ds[T], dt[HS], acc[HS], acc2[HS];

	for (int b = 0; b < B; b++) {
		const float *x = qkv + (size_t)b * T * C3;
		float *dx = dqkv + (size_t)b * T * C3;
		for (int h = 0; h < NH; h++) {
			const float *q = x + h * HS, *k = x + C + h * HS,
			    *v = x + 2 * C + h * HS;
			const float *d = dout + (size_t)b * T * C + h * HS;
			const float *a = att + ((size_t)b * NH + h) * TT;
			const float *m = mask != NULL ?
			    mask + ((size_t)b * NH + h) * TT : NULL;
			float *dq = dx + h * HS, *dk = dx + C + h * HS,
			    *dv = dx + 2 * C + h * HS;
			for (int i0 = 0; i0 < T; i0 += LANES) {
				int nq, skip, j, c;
				int q0 = block_start(i0, T, &nq, &skip);
				gather_lanes(at, a + (size_t)q0 * T, T, nq, T);
				gather_lanes(dt, d + (size_t)q0 * C, C, nq, HS);
				for (j = 0; j + CHAINS <= T; j += CHAINS)
					block_scores(ds, dt, v, j, CHAINS, HS, C3, 1.0f);
				for (; j < T; j++)
					block_scores(ds, dt, v, j, 1, HS, C3, 1.0f);
				if (m != NULL) {
					gather_lanes(keep, m + (size_t)q0 * T, T, nq, T);
					for (j = 0; j < T; j++)
						ds[j] *= keep[j];
				}
				lanes dot = {0};
				for (j = 0; j < T; j++)
					dot += at[j] * ds[j];
				for (j = 0; j < T; j++)
					ds[j] = at[j] * (ds[j] - dot) * scale;
				for (c = 0; c + CHAINS <= HS; c += CHAINS)
					block_values(acc, ds, k, c, CHAINS, T, C3);
				for (; c < HS; c++)
					block_values(acc, ds, k, c, 1, T, C3);
				scatter_lanes(dq + (size_t)q0 * C3, C3, acc, skip, nq,
				    HS, 1);
				scatter_lanes(s + (size_t)q0 * T, T, ds, skip, nq, T, 0);
			}
			for (int i0 = 0; i0 < T; i0 += LANES) {
				int nk, skip, c;
				int j0 = block_start(i0, T, &nk, &skip);
				for (int i = 0; i < T; i++) {
					load_lanes(&at[i], a + (size_t)i * T + j0, nk);
					load_lanes(&ds[i], s + (size_t)i * T + j0, nk);
					if (m != NULL) {
						lanes mk;
						load_lanes(&mk, m + (size_t)i * T + j0, nk);
						at[i] *= mk;
					}
				}
				for (c = 0; c + CHAINS <= HS; c += CHAINS) {
					block_values(acc, at, d, c, CHAINS, T, C);
					block_values(acc2, ds, q, c, CHAINS, T, C3);
				}
				for (; c < HS; c++) {
					block_values(acc, at, d, c, 1, T, C);
					block_values(acc2, ds, q, c, 1, T, C3);
				}
				scatter_lanes(dv + (size_t)j0 * C3, C3, acc, skip, nk,
				    HS, 1);
				scatter_lanes(dk + (size_t)j0 * C3, C3, acc2, skip, nk,
				    HS, 1);
			}
		}
	}
}

WIDE void
tp_gelu_forward(float *out, const float *inp, long n)
{
	for (long i = 0; i < n; i++)
		out[i] = inp[i] * normal_cdf(inp[i]);
}

WIDE void
tp_gelu_backward(float *dinp, const float *dout, const float *inp, long n)
{
	const float inv_sqrt_2pi = 0.3989422804014327f;

	for (long i = 0; i < n; i++) {
		float x = inp[i];
		float e = fast_expf(-0.5f * x * x);
		dinp[i] += dout[i] * (normal_cdf_exp(x, e) + x * inv_sqrt_2pi * e);
	}
}

WIDE void
tp_relu_forward(float *out, const float *inp, long n)
{
	for (long i = 0; i < n; i++)
		out[i] = select_bits(inp[i] > 0, inp[i], 0);
}

WIDE void
tp_relu_backward(float *dinp, const float *dout, const float *inp, long n)
{
	for (long i = 0; i < n; i++)
		dinp[i] += select_bits(inp[i] > 0, dout[i], 0);
}

WIDE void
tp_residual_forward(float *out, const float *a, const float *b, long n)
{
	for (long i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

WIDE void
tp_residual_backward(float *da, float *db, const float *dout, long n)
{
	for (long i = 0; i < n; i++) {
		da[i] += dout[i];
		db[i] += dout[i];
	}
}

WIDE void
tp_dropout_mask(float *mask, float p, tp_rng *rng, long n)
{
	uint64_t key = tp_rng_next(rng);
	uint32_t base = (uint32_t)key, mix = (uint32_t)(key >> 32);
	/* A value drops when 24 bits of its hash, as a fraction, are under
	 * p: when they are under ceil(p 2^24). */
	int32_t drop_below = (int32_t)ceilf(p * 0x1.0p24f);
	float keep = 1.0f / (1.0f - p);

	for (long i = 0; i < n; i++) {
		uint32_t x = (base + (uint32_t)i) ^ mix;
		x ^= x >> 16;
		x *= 0x7feb352dU;
		x ^= x >> 15;
		x *= 0x846ca68bU;
		x ^= x >> 16;
		mask[i] = select_bits((int32_t)(x >> 8) >= drop_below, keep,
		    0.0f);
	}
}

WIDE void
tp_dropout_forward(float *out, float *mask, const float *inp, float p,
    tp_rng *rng, long n)
{
	if (p <= 0) {
		memcpy(out, inp, n * sizeof(float));
		return;
	}
	tp_dropout_mask(mask, p, rng, n);
	for (long i = 0; i < n; i++)
		out[i] = inp[i] * mask[i];
}

WIDE void
tp_dropout_backward(float *dinp, const float *dout, const float *mask,
    float p, long n)
{
	for (long i = 0; i < n; i++)
		dinp[i] += p <= 0 ? dout[i] : dout[i] * mask[i];
}

WIDE void
tp_meanpool_forward(float *out, const float *inp, int B, int T, int C)
{
	for (int b = 0; b < B; b++) {
		float *o = out + (size_t)b * C;
		memset(o, 0, C * sizeof(float));
		for (int t = 0; t < T; t++) {
			const float *x = inp + ((size_t)b * T + t) * C;
			for (int c = 0; c < C; c++)
				o[c] += x[c];
		}
		for (int c = 0; c < C; c++)
			o[c] /= T;
	}
}

WIDE void
tp_meanpool_backward(float *dinp, const float *dout, int B, int T, int C)
{
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			float *d = dinp + ((size_t)b * T + t) * C;
			for (int c = 0; c < C; c++)
				d[c] += dout[(size_t)b * C + c] / T;
		}
}

float
tp_crossentropy_forward(float *probs, const float *logits,
    const int8_t *label, const float *target, const float *weight, int B)
{
	double loss = 0, wsum = 0;

	for (int b = 0; b < B; b++) {
		const float *l = logits + 2 * b;
		float mx = fmaxf(l[0], l[1]);
		float e0 = expf(l[0] - mx), e1 = expf(l[1] - mx), s = e0 + e1;
		probs[2 * b] = e0 / s;
		probs[2 * b + 1] = e1 / s;
		float w = tp_soft_weight(label, target, weight, b);
		if (w == 0)
			continue;
		float q = tp_soft_target(label, target, b);
		/* log softmax as l - logsumexp, exact for large logits. */
		float lse = mx + logf(s);
		loss += w * (q * (lse - l[1]) + (1 - q) * (lse - l[0]));
		wsum += w;
	}
	return wsum > 0 ? (float)(loss / wsum) : 0.0f;
}

void
tp_crossentropy_backward(float *dlogits, const float *probs,
    const int8_t *label, const float *target, const float *weight, int B)
{
	double wsum = 0;

	for (int b = 0; b < B; b++)
		wsum += tp_soft_weight(label, target, weight, b);
	for (int b = 0; b < B; b++) {
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
tp_ntxent_forward(float *u, float *norm, float *sim, const float *z,
    float tau, int B, int P)
{
	int M = 2 * B;
	double loss = 0;

	for (int i = 0; i < M; i++) {
		const float *zi = z + (size_t)i * P;
		float s = 0;
		for (int k = 0; k < P; k++)
			s += zi[k] * zi[k];
		/* F.normalize's floor keeps a zero vector finite. */
		norm[i] = fmaxf(sqrtf(s), 1e-12f);
		for (int k = 0; k < P; k++)
			u[(size_t)i * P + k] = zi[k] / norm[i];
	}
	tp_gemm(0, 1, M, M, P, 1.0f / tau, u, P, u, P, 0.0f, sim, M);
	for (int i = 0; i < M; i++) {
		float *row = sim + (size_t)i * M, mx = -INFINITY;
		int pair = i < B ? i + B : i - B;
		float pos = row[pair];
		double sum = 0;
		for (int k = 0; k < M; k++)
			if (k != i)
				mx = fmaxf(mx, row[k]);
		for (int k = 0; k < M; k++) {
			row[k] = k == i ? 0.0f : expf(row[k] - mx);
			sum += row[k];
		}
		for (int k = 0; k < M; k++)
			row[k] = (float)(row[k] / sum);
		loss += mx + log(sum) - pos;
	}
	return (float)(loss / M);
}

void
tp_ntxent_backward(float *dz, float *du, const float *u, const float *norm,
    float *sim, float tau, int B, int P)
{
	int M = 2 * B;

	/* d loss / d s[i][k] = (softmax[i][k] - [k == pair(i)]) / M, made in
	 * place in sim. */
	for (int i = 0; i < M; i++) {
		float *row = sim + (size_t)i * M;
		for (int k = 0; k < M; k++)
			row[k] /= M;
		row[i < B ? i + B : i - B] -= 1.0f / M;
	}
	/* s = u u^T / tau: du = (ds + ds^T) u / tau. */
	tp_gemm(0, 0, M, P, M, 1.0f / tau, sim, M, u, P, 0.0f, du, P);
	tp_gemm(1, 0, M, P, M, 1.0f / tau, sim, M, u, P, 1.0f, du, P);
	/* u = z / |z|: dz = (du - u (u . du)) / |z|. */
	for (int i = 0; i < M; i++) {
		const float *ui = u + (size_t)i * P;
		const float *dui = du + (size_t)i * P;
		float dot = 0;
		for (int k = 0; k < P; k++)
			dot += ui[k] * dui[k];
		for (int k = 0; k < P; k++)
			dz[(size_t)i * P + k] = (dui[k] - ui[k] * dot) / norm[i];
	}
}
