/* Finite-difference checks of every layer's backward pass. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "gradcheck.h"
#include "model/layers.h"
#include "suites.h"

enum { B = 3, T = 5, C = 8, NH = 2, NC = 2, NN = 3, H = 6 };

static float *
randn(size_t n, tp_rng *r, float scale)
{
	float *p = malloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++)
		p[i] = scale * (float)tp_rng_normal(r);
	return p;
}

static float *
zeros(size_t n)
{
	return calloc(n, sizeof(float));
}

/* sum(out * g): a loss whose gradient with respect to out is g. */
static double
dot(const float *out, const float *g, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)out[i] * g[i];
	return s;
}

#define CHECK_GRAD(loss, ctx, x, n, analytic, what) do { \
	size_t where_; \
	double err_ = gradcheck((loss), (ctx), (x), (n), (analytic), &where_); \
	ck_assert_msg(err_ <= GRADCHECK_TOL, \
	    "%s: gradient error %g at element %zu (analytic %g)", (what), err_, \
	    where_, (double)(analytic)[where_]); \
} while (0)

/* The check itself: a NaN gradient, analytic or numeric, fails it,
 * whatever the other elements' errors (a comparison with NaN is false, so
 * a NaN never beat a running maximum and passed every check). */
typedef struct { float *x; int nan_loss; } square_ctx;

/* sum x^2, or NaN (with nan_loss) once x[2] is moved above 0.75. */
static double
square_loss(void *v)
{
	square_ctx *c = v;
	double s = 0;
	for (int i = 0; i < 4; i++)
		s += (double)c->x[i] * c->x[i];
	return c->nan_loss && c->x[2] > 0.75f ? NAN : s;
}

START_TEST(gradcheck_nan)
{
	float x[4] = {0.5f, -1.0f, 0.75f, 2.0f}, g[4];
	square_ctx c = {x, 0};
	size_t where;

	for (int i = 0; i < 4; i++)
		g[i] = 2 * x[i];
	ck_assert(gradcheck(square_loss, &c, x, 4, g, &where) <= GRADCHECK_TOL);
	g[1] = NAN;
	ck_assert(!(gradcheck(square_loss, &c, x, 4, g, &where) <= GRADCHECK_TOL));
	ck_assert_uint_eq(where, 1);
	g[1] = 2 * x[1];
	c.nan_loss = 1;
	ck_assert(!(gradcheck(square_loss, &c, x, 4, g, &where) <= GRADCHECK_TOL));
	ck_assert_uint_eq(where, 2);
}
END_TEST

/* Linear */
typedef struct { float *out, *inp, *w, *b, *g; int N, IC, OC; } lin_ctx;

static double
lin_loss(void *v)
{
	lin_ctx *c = v;
	tp_linear_forward(c->out, c->inp, c->w, c->b, c->N, c->IC, c->OC);
	return dot(c->out, c->g, (size_t)c->N * c->OC);
}

START_TEST(linear)
{
	tp_rng r;
	tp_rng_seed(&r, 1);
	lin_ctx c = {.N = 7, .IC = 5, .OC = 4};
	c.inp = randn(35, &r, 1); c.w = randn(20, &r, 1); c.b = randn(4, &r, 1);
	c.g = randn(28, &r, 1); c.out = zeros(28);
	float *di = zeros(35), *dw = zeros(20), *db = zeros(4);
	tp_linear_backward(di, dw, db, c.g, c.inp, c.w, c.N, c.IC, c.OC);
	CHECK_GRAD(lin_loss, &c, c.inp, 35, di, "linear input");
	CHECK_GRAD(lin_loss, &c, c.w, 20, dw, "linear weight");
	CHECK_GRAD(lin_loss, &c, c.b, 4, db, "linear bias");
	free(c.inp); free(c.w); free(c.b); free(c.g); free(c.out);
	free(di); free(dw); free(db);
}
END_TEST

/* The forward from the weight stored transposed gives the same outputs,
 * with and without a bias, on a row of 22 tokens. */
START_TEST(linear_transposed)
{
	enum { N = 22, IC = 32, OC = 96 };
	tp_rng r;
	tp_rng_seed(&r, 2);
	float *inp = randn(N * IC, &r, 1), *w = randn(OC * IC, &r, 1),
	    *b = randn(OC, &r, 1), *wt = zeros(IC * OC), *out = zeros(N * OC),
	    *out_t = zeros(N * OC);
	for (int o = 0; o < OC; o++)
		for (int i = 0; i < IC; i++)
			wt[i * OC + o] = w[o * IC + i];
	for (int with_bias = 0; with_bias < 2; with_bias++) {
		const float *bias = with_bias ? b : NULL;
		tp_linear_forward(out, inp, w, bias, N, IC, OC);
		tp_linear_forward_t(out_t, inp, wt, bias, N, IC, OC);
		for (int k = 0; k < N * OC; k++)
			ck_assert_float_eq_tol(out_t[k], out[k], 1e-5f);
	}
	free(inp); free(w); free(b); free(wt); free(out); free(out_t);
}
END_TEST

/* LayerNorm */
typedef struct { float *out, *mean, *rstd, *inp, *w, *b, *g; } ln_ctx;

static double
ln_loss(void *v)
{
	ln_ctx *c = v;
	tp_layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, B * T, C);
	return dot(c->out, c->g, B * T * C);
}

START_TEST(layernorm)
{
	tp_rng r;
	tp_rng_seed(&r, 2);
	size_t n = B * T * C;
	ln_ctx c = {.out = zeros(n), .mean = zeros(B * T), .rstd = zeros(B * T)};
	c.inp = randn(n, &r, 2); c.w = randn(C, &r, 1); c.b = randn(C, &r, 1);
	c.g = randn(n, &r, 1);
	ln_loss(&c);
	float *di = zeros(n), *dw = zeros(C), *db = zeros(C);
	tp_layernorm_backward(di, dw, db, c.g, c.inp, c.mean, c.rstd, c.w, B * T, C);
	CHECK_GRAD(ln_loss, &c, c.inp, n, di, "layernorm input");
	CHECK_GRAD(ln_loss, &c, c.w, C, dw, "layernorm weight");
	CHECK_GRAD(ln_loss, &c, c.b, C, db, "layernorm bias");
	free(c.out); free(c.mean); free(c.rstd); free(c.inp); free(c.w);
	free(c.b); free(c.g); free(di); free(dw); free(db);
}
END_TEST

/* Attention, with and without dropout of the weights: the mask is drawn
 * from the same seed on every call so that the loss is a function. */
typedef struct {
	float *out, *att, *mask, *qkv, *g;
	float p;
	int B, T, C, NH;
} att_ctx;

static double
att_loss(void *v)
{
	att_ctx *c = v;
	tp_rng r;
	tp_rng_seed(&r, 99);
	tp_attention_forward(c->out, c->att, c->mask, c->qkv, c->p, &r, c->B,
	    c->T, c->C, c->NH);
	return dot(c->out, c->g, c->B * c->T * c->C);
}

static void
check_attention(float p, int b, int t, int ch, int nh, float size)
{
	tp_rng r;
	tp_rng_seed(&r, 3);
	size_t nq = (size_t)b * t * 3 * ch, na = (size_t)b * nh * t * t;
	att_ctx c = {.out = zeros(b * t * ch), .att = zeros(na),
	    .mask = p > 0 ? zeros(na) : NULL, .p = p, .B = b, .T = t, .C = ch,
	    .NH = nh};
	c.qkv = randn(nq, &r, size);
	c.g = randn(b * t * ch, &r, 1);
	att_loss(&c);
	float *dq = zeros(nq), *scratch = zeros(nh * t * t);
	tp_attention_backward(dq, scratch, c.g, c.qkv, c.att, c.mask, b, t, ch,
	    nh);
	CHECK_GRAD(att_loss, &c, c.qkv, nq, dq, p > 0 ? "attention with dropout" :
	    "attention");
	free(c.out); free(c.att); free(c.mask); free(c.qkv); free(c.g);
	free(dq); free(scratch);
}

/* The suite's small shape, under a block of 8 tokens, and ones whose 19
 * tokens and heads of 8, 12 and 4 channels fill blocks of 8 queries, keys
 * and channels whole, in part, and whole again over the block before.
 * Their Q, K and V are smaller: with 19 keys, scores of size 1 give a
 * softmax curved enough for the central difference's own error to fail
 * the tolerance, whatever the backward; heads of 12 channels need them
 * halved again (at 0.5 one element is 0.0201 off against the check's
 * 0.02, with the blocks of whole vectors and without). */
START_TEST(attention)
{
	check_attention(0, B, T, C, NH, 1);
	check_attention(0.3f, B, T, C, NH, 1);
	check_attention(0, 2, 19, 16, 2, 0.5f);
	check_attention(0.3f, 2, 19, 16, 2, 0.5f);
	check_attention(0.3f, 1, 19, 12, 3, 0.5f);
	check_attention(0.3f, 1, 19, 24, 2, 0.25f);
}
END_TEST

/* The attention weights and output against softmax and att V in double of
 * the scores q.k / sqrt(HS), on scores of everyday size and on scores far
 * apart: a query 400 times larger spreads some rows' scores over hundreds,
 * where exp overflows or underflows unless each row's maximum is taken
 * off. The shapes cut blocks of 8 queries whole, short and padded, with
 * heads of 1 to 16 channels. Without att (scoring) the output is the
 * same, bit for bit. */
static void
check_attention_values(int T_, int C_, int NH_, float query_scale)
{
	int HS = C_ / NH_;
	size_t nq = (size_t)B * T_ * 3 * C_, no = (size_t)B * T_ * C_;
	tp_rng r;
	tp_rng_seed(&r, 8);
	float *qkv = randn(nq, &r, 1), *out = zeros(no), *bare = zeros(no),
	    *att = zeros((size_t)B * NH_ * T_ * T_);
	for (int t = 0; t < B * T_; t += 2)
		for (int c = 0; c < HS; c++)
			qkv[(size_t)t * 3 * C_ + c] *= query_scale;
	tp_attention_forward(out, att, NULL, qkv, 0, &r, B, T_, C_, NH_);
	tp_attention_forward(bare, NULL, NULL, qkv, 0, &r, B, T_, C_, NH_);
	ck_assert_msg(memcmp(out, bare, no * sizeof(float)) == 0,
	    "T %d, C %d, NH %d: the output differs without att", T_, C_, NH_);
	/* A row's weights and how far each may be off. */
	double *w = malloc(T_ * sizeof(double)), *dw = malloc(T_ * sizeof(double));
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH_; h++)
			for (int t = 0; t < T_; t++) {
				const float *x = qkv + (size_t)b * T_ * 3 * C_ + h * HS;
				const float *q = x + (size_t)t * 3 * C_;
				const float *a = att + (((size_t)b * NH_ + h) * T_ + t) * T_;
				double mx = -INFINITY, sum = 0;
				for (int u = 0; u < T_; u++) {
					const float *k = x + (size_t)u * 3 * C_ + C_;
					w[u] = 0;
					for (int c = 0; c < HS; c++)
						w[u] += (double)q[c] * k[c];
					w[u] /= sqrt(HS);
					mx = fmax(mx, w[u]);
				}
				for (int u = 0; u < T_; u++)
					sum += exp(w[u] - mx);
				for (int u = 0; u < T_; u++) {
					/* A score in float is off by a few of its ulps,
					 * which exp makes a relative error of the weight. */
					double tol = 1e-5 + 4 * FLT_EPSILON *
					    (fabs(w[u]) + fabs(mx));
					w[u] = exp(w[u] - mx) / sum;
					dw[u] = tol * w[u];
					ck_assert_msg(fabs(a[u] - w[u]) <= dw[u] + 1e-30,
					    "scale %g: att[%d,%d,%d,%d] = %g, want %g",
					    (double)query_scale, b, h, t, u, (double)a[u], w[u]);
				}
				for (int c = 0; c < HS; c++) {
					double want = 0, off = 0;
					for (int u = 0; u < T_; u++) {
						float v = x[(size_t)u * 3 * C_ + 2 * C_ + c];
						want += w[u] * v;
						off += dw[u] * fabsf(v);
					}
					float got = out[((size_t)b * T_ + t) * C_ + h * HS + c];
					ck_assert_msg(fabs(got - want) <= 1e-5 * (1 + fabs(want)) + off,
					    "T %d, C %d, NH %d, scale %g: out[%d,%d,%d] = %g, "
					    "want %g", T_, C_, NH_, (double)query_scale, b, t,
					    h * HS + c, (double)got, want);
				}
			}
	free(w); free(dw); free(qkv); free(out); free(bare); free(att);
}

START_TEST(attention_values)
{
	static const int shape[][3] = {{T, C, NH}, {1, 8, 2}, {8, 32, 4},
	    {9, 12, 4}, {22, 32, 4}, {17, 16, 16}, {33, 48, 3}, {19, 24, 2}};
	for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++) {
		check_attention_values(shape[i][0], shape[i][1], shape[i][2], 1);
		check_attention_values(shape[i][0], shape[i][1], shape[i][2], 400);
	}
}
END_TEST

/* GELU's values against x Phi(x) in double, through the tails, where
 * Phi's approximation must reach exactly 0 and 1. */
START_TEST(gelu_values)
{
	enum { N = 240001 };
	float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
	for (int i = 0; i < N; i++)
		x[i] = -12.0f + 1e-4f * (float)i;
	tp_gelu_forward(y, x, N);
	for (int i = 0; i < N; i++) {
		double want = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2)));
		ck_assert_msg(fabs(y[i] - want) <= 1e-6, "gelu(%.9g) = %.9g, want %.9g",
		    (double)x[i], (double)y[i], want);
	}
	float far[] = {-1e30f, -100, 100, 1e30f};
	tp_gelu_forward(y, far, 4);
	ck_assert(y[0] == 0 && y[1] == 0 && y[2] == 100 && y[3] == 1e30f);
	free(x);
	free(y);
}
END_TEST

/* Element-wise layers: GELU, ReLU, dropout, residual. */
typedef struct { float *out, *inp, *other, *mask, *g; long n; int which; } ew_ctx;

static double
ew_loss(void *v)
{
	ew_ctx *c = v;
	tp_rng r;
	tp_rng_seed(&r, 5);
	switch (c->which) {
	case 0: tp_gelu_forward(c->out, c->inp, c->n); break;
	case 1: tp_relu_forward(c->out, c->inp, c->n); break;
	case 2: tp_dropout_forward(c->out, c->mask, c->inp, 0.4f, &r, c->n); break;
	case 3: tp_residual_forward(c->out, c->inp, c->other, c->n); break;
	}
	return dot(c->out, c->g, (size_t)c->n);
}

START_TEST(elementwise)
{
	static const char *const names[] = {"gelu", "relu", "dropout", "residual"};
	for (int which = 0; which < 4; which++) {
		tp_rng r;
		tp_rng_seed(&r, 6);
		long n = 64;
		ew_ctx c = {.out = zeros(n), .inp = randn(n, &r, 2),
		    .other = randn(n, &r, 1), .mask = zeros(n), .g = randn(n, &r, 1),
		    .n = n, .which = which};
		/* Keep ReLU's inputs away from its kink. */
		for (long i = 0; which == 1 && i < n; i++)
			if (fabsf(c.inp[i]) < 0.01f)
				c.inp[i] = 0.5f;
		ew_loss(&c);
		float *di = zeros(n), *dother = zeros(n);
		switch (which) {
		case 0: tp_gelu_backward(di, c.g, c.inp, n); break;
		case 1: tp_relu_backward(di, c.g, c.inp, n); break;
		case 2: tp_dropout_backward(di, c.g, c.mask, 0.4f, n); break;
		case 3: tp_residual_backward(di, dother, c.g, n); break;
		}
		CHECK_GRAD(ew_loss, &c, c.inp, (size_t)n, di, names[which]);
		if (which == 3)
			CHECK_GRAD(ew_loss, &c, c.other, (size_t)n, dother, "residual b");
		free(c.out); free(c.inp); free(c.other); free(c.mask); free(c.g);
		free(di); free(dother);
	}
}
END_TEST

/* Tokens: embedding tables and numeric projections, with missing values. */
typedef struct { float *out, *table, *x, *w, *b, *miss, *g; int32_t *idx; int off[NC]; } tok_ctx;

static double
tok_loss(void *v)
{
	tok_ctx *c = v;
	tp_embedding_forward(c->out, c->idx, c->table, c->off, B, T, NC, C);
	tp_numeric_forward(c->out, c->x, c->w, c->b, c->miss, B, T, NC, NN, C);
	return dot(c->out, c->g, B * T * C);
}

START_TEST(tokens)
{
	tp_rng r;
	tp_rng_seed(&r, 7);
	int32_t idx[B * NC] = {0, 1, 2, 0, 2, 3};
	tok_ctx c = {.out = zeros(B * T * C), .table = randn(7 * C, &r, 1),
	    .x = randn(B * NN, &r, 1), .w = randn(NN * C, &r, 1),
	    .b = randn(NN * C, &r, 1), .miss = randn(NN * C, &r, 1),
	    .g = randn(B * T * C, &r, 1), .idx = idx, .off = {0, 3}};
	c.x[1] = NAN;
	c.x[5] = NAN;
	float *dt = zeros(7 * C), *dw = zeros(NN * C), *db = zeros(NN * C),
	    *dm = zeros(NN * C);
	tp_embedding_backward(dt, c.g, idx, c.off, B, T, NC, C);
	tp_numeric_backward(dw, db, dm, c.g, c.x, B, T, NC, NN, C);
	CHECK_GRAD(tok_loss, &c, c.table, 7 * C, dt, "embedding");
	CHECK_GRAD(tok_loss, &c, c.w, NN * C, dw, "numeric weight");
	CHECK_GRAD(tok_loss, &c, c.b, NN * C, db, "numeric bias");
	CHECK_GRAD(tok_loss, &c, c.miss, NN * C, dm, "numeric missing token");
	ck_assert_float_eq(dm[0], 0); /* feature 0 is never missing */
	free(c.out); free(c.table); free(c.x); free(c.w); free(c.b);
	free(c.miss); free(c.g); free(dt); free(dw); free(db); free(dm);
}
END_TEST

/* Shrunk tables: two features of 3 and 4 rows, the first row's factor 0
 * (all mean), one 1 (itself), the others between. */
typedef struct { float *out, *table, *b, *w, *g; int off[NC]; } shrink_ctx;

static double
shrink_loss(void *v)
{
	shrink_ctx *c = v;
	tp_shrink_forward(c->out, c->table, c->b, c->w, c->off, NC, 7, C);
	return dot(c->out, c->g, 7 * C);
}

START_TEST(shrink)
{
	tp_rng r;
	tp_rng_seed(&r, 8);
	float b[7] = {0, 1, 0.5f, 0.25f, 0.9f, 0.1f, 0.6f},
	    w[7] = {0.5f, 0.3f, 0.2f, 0.1f, 0.4f, 0.4f, 0.1f};
	shrink_ctx c = {.out = zeros(7 * C), .table = randn(7 * C, &r, 1),
	    .b = b, .w = w, .g = randn(7 * C, &r, 1), .off = {0, 3}};
	float *dt = zeros(7 * C);

	tp_shrink_forward(c.out, c.table, b, w, c.off, NC, 7, C);
	for (int k = 0; k < C; k++) {
		/* Row 0 is feature 0's mean, row 1 its own, row 2 halfway. */
		float mean = 0.5f * c.table[k] + 0.3f * c.table[C + k] +
		    0.2f * c.table[2 * C + k];
		ck_assert_float_eq_tol(c.out[k], mean, 1e-6f);
		ck_assert_float_eq_tol(c.out[C + k], c.table[C + k], 1e-6f);
		ck_assert_float_eq_tol(c.out[2 * C + k],
		    0.5f * (mean + c.table[2 * C + k]), 1e-6f);
	}
	tp_shrink_backward(dt, c.g, b, w, c.off, NC, 7, C);
	CHECK_GRAD(shrink_loss, &c, c.table, 7 * C, dt, "shrink");
	free(c.out); free(c.table); free(c.g); free(dt);
}
END_TEST

/* Mean pooling */
typedef struct { float *out, *inp, *g; } pool_ctx;

static double
pool_loss(void *v)
{
	pool_ctx *c = v;
	tp_meanpool_forward(c->out, c->inp, B, T, C);
	return dot(c->out, c->g, B * C);
}

START_TEST(meanpool)
{
	tp_rng r;
	tp_rng_seed(&r, 8);
	pool_ctx c = {.out = zeros(B * C), .inp = randn(B * T * C, &r, 1),
	    .g = randn(B * C, &r, 1)};
	float *di = zeros(B * T * C);
	tp_meanpool_backward(di, c.g, B, T, C);
	CHECK_GRAD(pool_loss, &c, c.inp, B * T * C, di, "mean pooling");
	free(c.out); free(c.inp); free(c.g); free(di);
}
END_TEST

/* Cross-entropy with class weights and an unlabelled row, on the labels or
 * on soft targets. */
typedef struct {
	float *probs, *logits;
	int8_t *label;
	const float *target, *w;
	int n;
} ce_ctx;

static double
ce_loss(void *v)
{
	ce_ctx *c = v;
	return tp_crossentropy_forward(c->probs, c->logits, c->label, c->target,
	    c->w, c->n);
}

/* _i: 1 with soft targets, 0 with the labels. */
START_TEST(crossentropy)
{
	tp_rng r;
	tp_rng_seed(&r, 9);
	int8_t label[6] = {0, 1, 1, -1, 0, 1};
	float weight[2] = {0.3f, 2.5f};
	float target[6] = {0.1f, 0.8f, 0.55f, 0.4f, 0, 1};
	ce_ctx c = {.probs = zeros(12), .logits = randn(12, &r, 2), .label = label,
	    .target = _i ? target : NULL, .w = weight, .n = 6};
	float *dl = zeros(12);
	ce_loss(&c);
	tp_crossentropy_backward(dl, c.probs, label, c.target, weight, 6);
	CHECK_GRAD(ce_loss, &c, c.logits, 12, dl, _i ? "cross-entropy, soft targets" : "cross-entropy");
	/* The unlabelled row counts only when a target stands for its label. */
	ck_assert(_i ? dl[6] != 0 && dl[7] != 0 : dl[6] == 0 && dl[7] == 0);
	/* Against values worked by hand: logits (0, 0) give log 2 whatever
	 * the target; logits (0, log 3), p = (1/4, 3/4), with target 1/2 give
	 * -(log 1/4 + log 3/4) / 2. */
	float zl[2] = {0, 0}, pr[2], half = 0.5f;
	int8_t one = 1;
	ck_assert_float_eq_tol(tp_crossentropy_forward(pr, zl, &one, NULL, NULL,
	    1), logf(2), 1e-7f);
	ck_assert_float_eq_tol(tp_crossentropy_forward(pr, zl, &one, &half, NULL,
	    1), logf(2), 1e-7f);
	zl[1] = logf(3);
	ck_assert_float_eq_tol(tp_crossentropy_forward(pr, zl, &one, &half, NULL,
	    1), -(logf(0.25f) + logf(0.75f)) / 2, 1e-6f);
	/* Without a label, with class weights (1, 3) and target 1/2: the same
	 * term, whatever the weight (a single row's weights cancel). Beside
	 * a labelled row of the same logits and target 1, the unlabelled one
	 * weighs (1 + 3) / 2 = 2 to its 3. */
	int8_t none[2] = {-1, 1};
	float w13[2] = {1, 3}, two_logits[4] = {0, logf(3), 0, logf(3)};
	float two_probs[4], halves[2] = {0.5f, 1};
	ck_assert_float_eq_tol(tp_crossentropy_forward(pr, zl, none, &half, w13,
	    1), -(logf(0.25f) + logf(0.75f)) / 2, 1e-6f);
	ck_assert_float_eq_tol(tp_crossentropy_forward(two_probs, two_logits,
	    none, halves, w13, 2), (2 * -(logf(0.25f) + logf(0.75f)) / 2 +
	    3 * -logf(0.75f)) / 5, 1e-6f);
	/* A one-hot target is the label (of the three labelled rows first). */
	float hot[3] = {0, 1, 1};
	ck_assert_float_eq(tp_crossentropy_forward(c.probs, c.logits, label,
	    hot, weight, 3), tp_crossentropy_forward(c.probs, c.logits, label,
	    NULL, weight, 3));
	free(c.probs); free(c.logits); free(dl);
}
END_TEST

/* NT-Xent */
typedef struct { float *u, *norm, *sim, *z; } nt_ctx;

static double
nt_loss(void *v)
{
	nt_ctx *c = v;
	return tp_ntxent_forward(c->u, c->norm, c->sim, c->z, 0.5f, B, H);
}

START_TEST(ntxent)
{
	tp_rng r;
	tp_rng_seed(&r, 10);
	int M = 2 * B;
	nt_ctx c = {.u = zeros(M * H), .norm = zeros(M), .sim = zeros(M * M),
	    .z = randn(M * H, &r, 1)};
	float *dz = zeros(M * H), *du = zeros(M * H);
	nt_loss(&c);
	tp_ntxent_backward(dz, du, c.u, c.norm, c.sim, 0.5f, B, H);
	CHECK_GRAD(nt_loss, &c, c.z, M * H, dz, "NT-Xent");
	/* Two identical pairs far from each other: the loss is small. */
	free(c.u); free(c.norm); free(c.sim); free(c.z); free(dz); free(du);
}
END_TEST

/* The dropout mask drops a share p of the values, within four standard
 * deviations of a binomial's, scales the rest by 1 / (1 - p), and draws a
 * new mask each call and the same one from the same seed. */
START_TEST(dropout_mask)
{
	const long n = 200000;
	float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
	static const float rates[] = {0.1f, 0.3f, 0.5f};
	tp_rng r, again;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (int k = 0; k < 3; k++) {
		float p = rates[k];
		long dropped = 0, same = 0;
		tp_rng_seed(&r, 11);
		tp_rng_seed(&again, 11);
		tp_dropout_mask(a, p, &r, n);
		for (long i = 0; i < n; i++) {
			if (a[i] == 0.0f)
				dropped++;
			else
				ck_assert_float_eq(a[i], 1.0f / (1.0f - p));
		}
		double sd = sqrt(n * p * (1 - p));
		ck_assert_msg(fabs(dropped - n * p) < 4 * sd,
		    "p %g: %ld of %ld dropped", p, dropped, n);
		tp_dropout_mask(b, p, &again, n);
		ck_assert_mem_eq(a, b, n * sizeof(float));
		tp_dropout_mask(b, p, &r, n);
		for (long i = 0; i < n; i++)
			same += (a[i] == 0.0f) == (b[i] == 0.0f);
		/* Independent masks agree on p^2 + (1-p)^2 of the values. */
		double agree = p * p + (1 - p) * (1 - p);
		ck_assert_msg(fabs(same - n * agree) < 4 * sqrt(n * agree *
		    (1 - agree)), "p %g: two masks agree on %ld", p, same);
	}
	free(a);
	free(b);
}
END_TEST

Suite *
layers_suite(void)
{
	Suite *s = suite_create("layers");
	TCase *tc = tcase_create("gradients");

	tcase_add_test(tc, gradcheck_nan);
	tcase_add_test(tc, linear);
	tcase_add_test(tc, layernorm);
	tcase_add_test(tc, linear_transposed);
	tcase_add_test(tc, attention);
	tcase_add_test(tc, attention_values);
	tcase_add_test(tc, gelu_values);
	tcase_add_test(tc, elementwise);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, shrink);
	tcase_add_test(tc, meanpool);
	tcase_add_loop_test(tc, crossentropy, 0, 2);
	tcase_add_test(tc, ntxent);
	tcase_add_test(tc, dropout_mask);
	suite_add_tcase(s, tc);
	return s;
}
