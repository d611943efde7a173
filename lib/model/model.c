#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/acts.h"
#include "model/layers.h"
#include "model/mat.h"
#include "model/model.h"

/* A thread's share of a step: its slice's activations and gradients. */
struct tp_worker {
	int cap;                   /* rows the buffers hold */
	float *mem;                /* one allocation for all below */
	tp_acts acts;              /* its slice's, one row's datt */
	float *grads;              /* (nfloats) this thread's; thread 0 uses
	                              the model's */
	tp_rng rng;                /* dropout */
};

static int
add_param(tp_model *m, int *cap, const char *name, int d0, int d1,
    enum tp_init init, enum tp_part part, int decay)
{
	if (m->nparam == *cap) {
		int ncap = *cap ? *cap * 2 : 64;
		tp_param *np = realloc(m->param, (size_t)ncap * sizeof(*np));
		if (np == NULL)
			return -1;
		m->param = np;
		*cap = ncap;
	}
	tp_param *p = &m->param[m->nparam];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->ndim = d1 > 0 ? 2 : 1;
	p->shape[0] = d0;
	p->shape[1] = d1 > 0 ? d1 : 0;
	p->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
	p->offset = m->nfloats;
	p->init = init;
	p->part = part;
	p->decay = decay;
	m->nfloats += p->numel;
	return m->nparam++;
}

/* The parameter table: every tensor, its state_dict name, shape and
 * initialisation. */
static int
build_table(tp_model *m, const tp_encoding *enc)
{
	const tp_config *c = &m->cfg;
	int cap = 0, C = c->d_model, F = c->d_ff, H = c->head_hidden;
	char name[80];
	tp_model_index *ix = &m->ix;

#define ADD(idx, nm, d0, d1, init, part, decay) \
	if (((idx) = add_param(m, &cap, (nm), (d0), (d1), (init), (part), \
	    (decay))) < 0) \
		return -1
	ix->emb = ix->num_w = ix->num_b = ix->num_miss = -1;
	for (int i = 0, j = 0; i < enc->ncols; i++) {
		int k;
		if (enc->cols[i].kind != TP_KIND_CATEGORICAL)
			continue;
		snprintf(name, sizeof(name), "cat_embeddings.%d.weight", j);
		m->vocab_offset[j++] = m->vocab_rows;
		m->vocab_rows += (int)enc->cols[i].vocab.n + 1;
		ADD(k, name, (int)enc->cols[i].vocab.n + 1, C, TP_INIT_TOKEN,
		    TP_PART_ENCODER, 0);
		if (ix->emb < 0)
			ix->emb = k;
	}
	if (m->nnum > 0) {
		ADD(ix->num_w, "num_weight", m->nnum, C, TP_INIT_TOKEN, TP_PART_ENCODER, 0);
		ADD(ix->num_b, "num_bias", m->nnum, C, TP_INIT_TOKEN, TP_PART_ENCODER, 0);
		ADD(ix->num_miss, "num_missing", m->nnum, C, TP_INIT_TOKEN, TP_PART_ENCODER, 0);
	}
	for (int l = 0; l < c->layers; l++) {
		tp_layer_index *li = &ix->layer[l];
#define LAYER(idx, suffix, d0, d1, init, decay) \
		snprintf(name, sizeof(name), "encoder.layers.%d.%s", l, suffix); \
		ADD(idx, name, d0, d1, init, TP_PART_ENCODER, decay)
		LAYER(li->in_w, "self_attn.in_proj_weight", 3 * C, C, TP_INIT_XAVIER, 1);
		LAYER(li->in_b, "self_attn.in_proj_bias", 3 * C, 0, TP_INIT_ZERO, 0);
		LAYER(li->out_w, "self_attn.out_proj.weight", C, C, TP_INIT_FANIN, 1);
		LAYER(li->out_b, "self_attn.out_proj.bias", C, 0, TP_INIT_ZERO, 0);
		LAYER(li->lin1_w, "linear1.weight", F, C, TP_INIT_FANIN, 1);
		LAYER(li->lin1_b, "linear1.bias", F, 0, TP_INIT_FANIN, 0);
		LAYER(li->lin2_w, "linear2.weight", C, F, TP_INIT_FANIN, 1);
		LAYER(li->lin2_b, "linear2.bias", C, 0, TP_INIT_FANIN, 0);
		LAYER(li->norm1_w, "norm1.weight", C, 0, TP_INIT_ONE, 0);
		LAYER(li->norm1_b, "norm1.bias", C, 0, TP_INIT_ZERO, 0);
		LAYER(li->norm2_w, "norm2.weight", C, 0, TP_INIT_ONE, 0);
		LAYER(li->norm2_b, "norm2.bias", C, 0, TP_INIT_ZERO, 0);
#undef LAYER
	}
	ADD(ix->norm_w, "encoder.norm.weight", C, 0, TP_INIT_ONE, TP_PART_ENCODER, 0);
	ADD(ix->norm_b, "encoder.norm.bias", C, 0, TP_INIT_ZERO, TP_PART_ENCODER, 0);
	ADD(ix->head0_w, "head.0.weight", H, C, TP_INIT_FANIN, TP_PART_HEAD, 1);
	ADD(ix->head0_b, "head.0.bias", H, 0, TP_INIT_FANIN, TP_PART_HEAD, 0);
	ADD(ix->head3_w, "head.3.weight", 2, H, TP_INIT_FANIN, TP_PART_HEAD, 1);
	ADD(ix->head3_b, "head.3.bias", 2, 0, TP_INIT_FANIN, TP_PART_HEAD, 0);
	ix->additive_w = ix->additive_knot = -1;
	if (c->additive) {
		ADD(ix->additive_w, "additive.weight", 1 + m->vocab_rows +
		    m->nnum * (2 + TP_ADDITIVE_KNOTS), 0, TP_INIT_ZERO,
		    TP_PART_HEAD, 0);
		if (m->nnum > 0)
			ADD(ix->additive_knot, "additive.knot", m->nnum,
			    TP_ADDITIVE_KNOTS, TP_INIT_ZERO, TP_PART_HEAD, 0);
	}
	ADD(ix->proj0_w, "projector.0.weight", H, C, TP_INIT_FANIN, TP_PART_PROJECTOR, 1);
	ADD(ix->proj0_b, "projector.0.bias", H, 0, TP_INIT_FANIN, TP_PART_PROJECTOR, 0);
	ADD(ix->proj2_w, "projector.2.weight", c->proj_dim, H, TP_INIT_FANIN, TP_PART_PROJECTOR, 1);
	ADD(ix->proj2_b, "projector.2.bias", c->proj_dim, 0, TP_INIT_FANIN, TP_PART_PROJECTOR, 0);
#undef ADD
	return 0;
}

/* The fan-in of a parameter: a bias takes its weight's, which comes just
 * before it in the table. */
static int
fan_in(const tp_model *m, int i)
{
	const tp_param *p = &m->param[i];

	if (p->ndim == 2)
		return p->shape[1];
	return i > 0 && m->param[i - 1].ndim == 2 ? m->param[i - 1].shape[1] : 1;
}

static void
init_params(tp_model *m, uint64_t seed)
{
	tp_rng rng;

	tp_rng_seed(&rng, seed);
	for (int i = 0; i < m->nparam; i++) {
		const tp_param *p = &m->param[i];
		float *w = m->params + p->offset, bound = 0;
		switch (p->init) {
		case TP_INIT_ZERO: bound = 0; break;
		case TP_INIT_ONE: bound = 0; break;
		case TP_INIT_FANIN: bound = 1.0f / sqrtf((float)fan_in(m, i)); break;
		case TP_INIT_XAVIER:
			bound = sqrtf(6.0f / (float)(p->shape[0] / 3 + p->shape[1]));
			break;
		case TP_INIT_TOKEN: bound = 1.0f / sqrtf((float)m->cfg.d_model); break;
		}
		for (size_t k = 0; k < p->numel; k++)
			w[k] = p->init == TP_INIT_ONE ? 1.0f :
			    bound * (2.0f * tp_rng_float(&rng) - 1.0f);
	}
}

/* A transformer layer's linear layers. */
enum { IN_PROJ, OUT_PROJ, LINEAR1, LINEAR2, LINEARS };

/* The weight and bias parameters of linear layer `which` of layer l. */
static void
linear_params(const tp_model *m, int l, int which, int *weight, int *bias)
{
	const tp_layer_index *li = &m->ix.layer[l];
	const int w[LINEARS] = {li->in_w, li->out_w, li->lin1_w, li->lin2_w};
	const int b[LINEARS] = {li->in_b, li->out_b, li->lin1_b, li->lin2_b};

	*weight = w[which];
	*bias = b[which];
}

/*
 * The weights the forward multiplies by through tp_gemm_rows, kept
 * transposed in weight_t at their tp_param.t_offset: every linear layer's
 * but the projector's, which pretraining alone runs. Weight i of them, of
 * transposed_count(m).
 */
static int
transposed_count(const tp_model *m)
{
	return m->cfg.layers * LINEARS + 2;
}

static int
transposed_weight(const tp_model *m, int i)
{
	int w, b;

	if (i == m->cfg.layers * LINEARS)
		return m->ix.head0_w;
	if (i == m->cfg.layers * LINEARS + 1)
		return m->ix.head3_w;
	linear_params(m, i / LINEARS, i % LINEARS, &w, &b);
	return w;
}

/* Where weight_t is allocated: the offsets of the weights in it. */
static size_t
plan_transposed(tp_model *m)
{
	size_t n = 0;

	for (int i = 0; i < transposed_count(m); i++) {
		tp_param *p = &m->param[transposed_weight(m, i)];
		p->t_offset = n;
		n += p->numel;
	}
	return n;
}

/* The floats of a worker's buffers for R rows (base NULL), or their layout
 * in base. The attention backward goes one row at a time. */
static size_t
layout(const tp_model *m, tp_worker *w, float *base, int R)
{
	return tp_acts_layout(&w->acts, &m->cfg, m->T, R, 1, 1, base);
}

int
tp_model_init(tp_model *m, const tp_config *cfg, const tp_encoding *enc,
    uint64_t seed, int nthreads, tp_err *e)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = tp_config_check(cfg, e)) != TP_OK)
		return rc;
	m->cfg = *cfg;
	m->ncat = enc->ncat;
	m->nnum = enc->nnum;
	m->T = enc->ncat + enc->nnum;
	m->seed = seed;
	m->nthreads = nthreads < 1 ? 1 : nthreads;
	m->nmembers = 1;
	if (m->T == 0)
		return tp_err_set(e, TP_EDATA, "the encoding has no features");
	if ((m->vocab_offset = calloc((size_t)m->ncat + 1, sizeof(int))) == NULL ||
	    (m->ix.layer = calloc((size_t)cfg->layers, sizeof(tp_layer_index))) == NULL ||
	    build_table(m, enc) < 0 ||
	    (m->params = malloc(m->nfloats * sizeof(float))) == NULL ||
	    (m->weight_t = malloc(plan_transposed(m) * sizeof(float))) == NULL ||
	    (m->grads = calloc(m->nfloats, sizeof(float))) == NULL ||
	    (m->workers = calloc((size_t)m->nthreads, sizeof(tp_worker))) == NULL) {
		tp_model_free(m);
		return tp_err_nomem(e, "the model");
	}
	for (int t = 0; t < m->nthreads; t++) {
		tp_worker *w = &m->workers[t];
		if ((w->acts.layer = calloc((size_t)cfg->layers,
		    sizeof(tp_layer_acts))) == NULL ||
		    (t > 0 && (w->grads = calloc(m->nfloats, sizeof(float))) == NULL)) {
			tp_model_free(m);
			return tp_err_nomem(e, "the model");
		}
		if (t == 0)
			w->grads = m->grads;
	}
	init_params(m, seed);
	/* The model's threads each run one slice: a product inside a slice
	 * stays on its thread. With one thread (a server answering a row at
	 * a time, --threads 1) OpenBLAS's own threads would only wake and
	 * yield around products this small. */
	tp_mat_threads(1);
	return TP_OK;
}

void
tp_model_free(tp_model *m)
{
	if (m == NULL)
		return;
	for (int j = 0; m->member != NULL && j < m->nmembers - 1; j++)
		tp_model_free(&m->member[j]);
	free(m->member);
	free(m->weight_t);
	for (int t = 0; m->workers != NULL && t < m->nthreads; t++) {
		free(m->workers[t].mem);
		free(m->workers[t].acts.layer);
		if (t > 0)
			free(m->workers[t].grads);
	}
	free(m->workers);
	free(m->vocab_offset);
	free(m->ix.layer);
	free(m->param);
	free(m->params);
	free(m->grads);
	free(m->logits);
	free(m->probs);
	free(m->dlogits);
	free(m->z);
	free(m->u);
	free(m->du);
	free(m->dz);
	free(m->znorm);
	free(m->sim);
	free(m->shrink);
	free(m->shrunk);
	free(m->dshrunk);
	memset(m, 0, sizeof(*m));
}

/*
 * Tokens a thread takes through the whole model at a time when predicting.
 * A thread's slice of a 256-row batch at once spreads each layer's
 * activations over megabytes, out of the core's cache by the time the next
 * step reads them; one layer's activations of 512 tokens (of d_model 32)
 * are about a megabyte, a core's L2. On lending_club (22 tokens a row),
 * chunks of 8 to 46 rows measured alike, 11-18 % faster than whole slices.
 */
enum { PREDICT_TOKENS = 512 };

/* Rows of a chunk of a prediction. */
static int
predict_rows(const tp_model *m)
{
	return PREDICT_TOKENS / m->T > 1 ? PREDICT_TOKENS / m->T : 1;
}

tp_additive
tp_model_additive(tp_model *m)
{
	const tp_model_index *ix = &m->ix;

	return (tp_additive){.ncat = m->ncat, .nnum = m->nnum,
	    .vocab_rows = m->vocab_rows, .vocab_offset = m->vocab_offset,
	    .weight = ix->additive_w < 0 ? NULL :
	    m->params + m->param[ix->additive_w].offset,
	    .knot = ix->additive_knot < 0 ? NULL :
	    m->params + m->param[ix->additive_knot].offset};
}

/* Adds the additive part's log-odds of R rows to their logits of the
 * positive class. */
static void
additive_forward(tp_model *m, const int32_t *cat, const float *num,
    float *logits, int R)
{
	tp_additive a;

	if (m->ix.additive_w < 0)
		return;
	a = tp_model_additive(m);
	tp_additive_forward(&a, cat, num, logits, R);
}

tp_model *
tp_model_member(tp_model *m, int j)
{
	return j == 0 ? m : &m->member[j - 1];
}

int
tp_model_join(tp_model *m, tp_model *more, int n, tp_err *e)
{
	int k = m->nmembers + n;
	tp_model *grown;

	if (k > TP_MAX_MEMBERS)
		return tp_err_set(e, TP_EUSAGE,
		    "an ensemble of %d members: at most %d", k, TP_MAX_MEMBERS);
	for (int i = 0; i < n; i++)
		if (more[i].nfloats != m->nfloats || more[i].T != m->T ||
		    more[i].ncat != m->ncat || more[i].nthreads != m->nthreads ||
		    more[i].nmembers != 1 ||
		    memcmp(&more[i].cfg, &m->cfg, sizeof(m->cfg)) != 0)
			return tp_err_set(e, TP_EINTERNAL,
			    "member %d of an ensemble is not of the first's config, features and threads",
			    m->nmembers + i + 1);
	if ((grown = realloc(m->member, (size_t)(k - 1) * sizeof(*grown))) == NULL)
		return tp_err_nomem(e, "an ensemble");
	m->member = grown;
	memcpy(m->member + m->nmembers - 1, more, (size_t)n * sizeof(*more));
	memset(more, 0, (size_t)n * sizeof(*more));
	m->nmembers = k;
	return TP_OK;
}

int
tp_model_plan(tp_model *m, int rows, tp_err *e)
{
	size_t P = (size_t)m->cfg.proj_dim;
	int rc;

	for (int j = 1; j < m->nmembers; j++)
		if ((rc = tp_model_plan(tp_model_member(m, j), rows, e)) != TP_OK)
			return rc;
	if (rows <= m->planned)
		return TP_OK;
	for (int t = 0; t < m->nthreads; t++) {
		tp_worker *w = &m->workers[t];
		/* A thread's slice of a step, or a whole chunk of a
		 * prediction, which goes to one thread. */
		int R = (rows + m->nthreads - 1) / m->nthreads;
		int chunk = rows < predict_rows(m) ? rows : predict_rows(m);
		if (R < chunk)
			R = chunk;
		size_t n = layout(m, w, NULL, R);
		float *mem = malloc(n * sizeof(float));
		if (mem == NULL)
			return tp_err_nomem(e, "the activations");
		free(w->mem);
		w->mem = mem;
		w->cap = R;
		layout(m, w, mem, R);
	}
#define GROW(p, n) do { \
	float *np_ = realloc((p), (n) * sizeof(float)); \
	if (np_ == NULL) \
		return tp_err_nomem(e, "the activations"); \
	(p) = np_; \
} while (0)
	GROW(m->logits, (size_t)rows * 2);
	GROW(m->probs, (size_t)rows * 2);
	GROW(m->dlogits, (size_t)rows * 2);
	GROW(m->z, (size_t)rows * P);
	GROW(m->u, (size_t)rows * P);
	GROW(m->du, (size_t)rows * P);
	GROW(m->dz, (size_t)rows * P);
	GROW(m->znorm, (size_t)rows);
	GROW(m->sim, (size_t)rows * rows);
#undef GROW
	m->planned = rows;
	return TP_OK;
}

/* Brings weight_t up to the parameters, unless they are frozen: a few
 * dozen thousand floats, against a forward of even one row that reads
 * them all. */
static void
transpose_weights(tp_model *m)
{
	if (m->frozen)
		return;
	if (m->shrink != NULL)
		tp_shrink_forward(m->shrunk, m->params +
		    m->param[m->ix.emb].offset, m->shrink, m->shrink +
		    m->vocab_rows, m->vocab_offset, m->ncat, m->vocab_rows,
		    m->cfg.d_model);
	for (int i = 0; i < transposed_count(m); i++) {
		const tp_param *p = &m->param[transposed_weight(m, i)];
		const float *src = m->params + p->offset;
		float *t = m->weight_t + p->t_offset;
		size_t rows = (size_t)p->shape[0], cols = (size_t)p->shape[1];
		for (size_t r = 0; r < rows; r++)
			for (size_t c = 0; c < cols; c++)
				t[c * rows + r] = src[r * cols + c];
	}
}

int
tp_model_shrink(tp_model *m, const float *b, const float *w, tp_err *e)
{
	for (int j = 0; j < m->nmembers; j++) {
		tp_model *mj = tp_model_member(m, j);
		size_t rows = (size_t)mj->vocab_rows;
		size_t n = rows * (size_t)mj->cfg.d_model;
		if (mj->ncat == 0)
			continue;
		if ((mj->shrink == NULL &&
		    (mj->shrink = malloc(2 * rows * sizeof(float))) == NULL) ||
		    (mj->shrunk == NULL &&
		    (mj->shrunk = malloc(n * sizeof(float))) == NULL) ||
		    (mj->dshrunk == NULL &&
		    (mj->dshrunk = malloc(n * sizeof(float))) == NULL)) {
			free(mj->shrink);
			free(mj->shrunk);
			free(mj->dshrunk);
			mj->shrink = mj->shrunk = mj->dshrunk = NULL;
			return tp_err_nomem(e, "the shrunk tables");
		}
		memcpy(mj->shrink, b, rows * sizeof(float));
		memcpy(mj->shrink + rows, w, rows * sizeof(float));
		mj->frozen = 0;
	}
	return TP_OK;
}

void
tp_model_fold(tp_model *m)
{
	for (int j = 0; j < m->nmembers; j++) {
		tp_model *mj = tp_model_member(m, j);
		if (mj->shrink == NULL)
			continue;
		mj->frozen = 0;
		transpose_weights(mj);
		memcpy(mj->params + mj->param[mj->ix.emb].offset, mj->shrunk,
		    (size_t)mj->vocab_rows * mj->cfg.d_model * sizeof(float));
		free(mj->shrink);
		free(mj->shrunk);
		free(mj->dshrunk);
		mj->shrink = mj->shrunk = mj->dshrunk = NULL;
	}
}

void
tp_model_freeze(tp_model *m)
{
	for (int j = 0; j < m->nmembers; j++) {
		tp_model *mj = tp_model_member(m, j);
		mj->frozen = 0;
		transpose_weights(mj);
		mj->frozen = 1;
	}
}

int
tp_model_copy(tp_model *dst, const tp_model *src, const tp_encoding *enc,
    int nthreads, tp_err *e)
{
	int rc;

	tp_model more[TP_MAX_MEMBERS - 1];
	int n = src->nmembers - 1;

	if ((rc = tp_model_init(dst, &src->cfg, enc, src->seed, nthreads,
	    e)) != TP_OK)
		return rc;
	if (dst->nfloats != src->nfloats) {
		tp_model_free(dst);
		return tp_err_set(e, TP_EINTERNAL,
		    "a copy of the model has %zu parameters, the model %zu",
		    dst->nfloats, src->nfloats);
	}
	memcpy(dst->params, src->params, src->nfloats * sizeof(float));
	for (int j = 0; j < n; j++)
		if ((rc = tp_model_copy(&more[j], &src->member[j], enc, nthreads,
		    e)) != TP_OK) {
			while (j-- > 0)
				tp_model_free(&more[j]);
			tp_model_free(dst);
			return rc;
		}
	if ((rc = tp_model_join(dst, more, n, e)) != TP_OK) {
		for (int j = 0; j < n; j++)
			tp_model_free(&more[j]);
		tp_model_free(dst);
		return rc;
	}
	tp_model_freeze(dst);
	return TP_OK;
}

/* A step is followed by new parameters: the model is no longer frozen,
 * and its forward reads the parameters as they are now. */
static void
thaw(tp_model *m)
{
	m->frozen = 0;
	transpose_weights(m);
}

const tp_param *
tp_model_param(const tp_model *m, const char *name)
{
	for (int i = 0; i < m->nparam; i++)
		if (strcmp(m->param[i].name, name) == 0)
			return &m->param[i];
	return NULL;
}

#define PW(m, i) ((m)->params + (m)->param[(i)].offset)
#define PT(m, i) ((m)->weight_t + (m)->param[(i)].t_offset)
#define GW(w, m, i) ((w)->grads + (m)->param[(i)].offset)
/* A parameter's gradient in a backward that may compute none (params). */
#define G(i) (params ? GW(w, m, (i)) : NULL)

void
tp_model_set_prior(tp_model *m, double prior)
{
	float *bias = PW(m, m->ix.head3_b);

	bias[0] = 0.0f;
	bias[1] = (float)log(prior / (1.0 - prior));
}

/* Dropout of rate p into out; without dropout (inference) the input
 * itself, not a copy of it. Returns what the next layer reads. */
static const float *
drop(float *out, float *mask, const float *inp, float p, tp_rng *rng, long n)
{
	if (p <= 0)
		return inp;
	tp_dropout_forward(out, mask, inp, p, rng, n);
	return out;
}

/* out = inp W^T + b for N rows through the linear layer of weight w and
 * bias b, from W^T: a row's result does not depend on the other rows. */
static void
linear(const tp_model *m, int w, int b, float *out, const float *inp, int N)
{
	const tp_param *p = &m->param[w];

	tp_linear_forward_t(out, inp, PT(m, w), PW(m, b), N, p->shape[1],
	    p->shape[0]);
}

/* The same through linear layer `which` of layer l. */
static void
layer_linear(const tp_model *m, int l, int which, float *out,
    const float *inp, int N)
{
	int w, b;

	linear_params(m, l, which, &w, &b);
	linear(m, w, b, out, inp, N);
}

/* The tokens of R rows, (R,T,C), into x0. */
static void
tokens_forward(const tp_model *m, float *x0, const int32_t *cat,
    const float *num, int R)
{
	const tp_model_index *ix = &m->ix;
	int T = m->T, C = m->cfg.d_model;

	if (m->ncat > 0)
		tp_embedding_forward(x0, cat, m->shrunk != NULL ? m->shrunk :
		    PW(m, ix->emb), m->vocab_offset, R, T, m->ncat, C);
	if (m->nnum > 0)
		tp_numeric_forward(x0, num, PW(m, ix->num_w), PW(m, ix->num_b),
		    PW(m, ix->num_miss), R, T, m->ncat, m->nnum, C);
}

/* The encoder and pooling for the R rows of tokens in w->acts.x0 on one
 * thread. With keep, each layer writes its own activations, which the
 * backward reads; without, every layer reuses the first layer's, so that a
 * prediction's working set is one layer's and stays in cache, and
 * attention keeps no weights. */
static void
layers_forward(tp_model *m, tp_worker *w, int R, int training, int keep)
{
	const tp_config *c = &m->cfg;
	int T = m->T, C = c->d_model, F = c->d_ff, N = R * T;
	float p = training ? c->dropout : 0.0f;
	const tp_model_index *ix = &m->ix;
	const float *x = w->acts.x0;
	for (int l = 0; l < c->layers; l++) {
		tp_layer_acts *a = &w->acts.layer[keep ? l : 0];
		const tp_layer_index *li = &ix->layer[l];
		tp_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, x,
		    PW(m, li->norm1_w), PW(m, li->norm1_b), N, C);
		layer_linear(m, l, IN_PROJ, a->qkv, a->ln1, N);
		tp_attention_forward(a->atty, keep ? a->att : NULL,
		    p > 0 ? a->att_mask : NULL, a->qkv, p, &w->rng, R, T, C,
		    c->heads);
		layer_linear(m, l, OUT_PROJ, a->ao, a->atty, N);
		tp_residual_forward(a->x2, x, drop(a->ao_d, a->ao_mask, a->ao, p,
		    &w->rng, (long)N * C), (long)N * C);
		tp_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->x2,
		    PW(m, li->norm2_w), PW(m, li->norm2_b), N, C);
		layer_linear(m, l, LINEAR1, a->h, a->ln2, N);
		if (c->activation == TP_GELU)
			tp_gelu_forward(a->ha, a->h, (long)N * F);
		else
			tp_relu_forward(a->ha, a->h, (long)N * F);
		layer_linear(m, l, LINEAR2, a->f, drop(a->ha_d, a->ha_mask, a->ha,
		    p, &w->rng, (long)N * F), N);
		tp_residual_forward(a->out, a->x2, drop(a->f_d, a->f_mask, a->f, p,
		    &w->rng, (long)N * C), (long)N * C);
		x = a->out;
	}
	tp_layernorm_forward(w->acts.lnf, w->acts.lnf_mean, w->acts.lnf_rstd, x,
	    PW(m, ix->norm_w), PW(m, ix->norm_b), N, C);
	tp_meanpool_forward(w->acts.pooled, w->acts.lnf, R, T, C);
}

/* Tokens, encoder and pooling for R rows on one thread. */
static void
encode_forward(tp_model *m, tp_worker *w, const int32_t *cat,
    const float *num, int R, int training, int keep)
{
	tokens_forward(m, w->acts.x0, cat, num, R);
	layers_forward(m, w, R, training, keep);
}

static void
zero(float *p, size_t n)
{
	memset(p, 0, n * sizeof(float));
}

/* The gradient behind a dropout of rate p: d itself without dropout (a
 * prediction's attributions, a model of dropout 0), or else scratch,
 * zeroed and filled. */
static const float *
drop_backward(float *scratch, const float *d, const float *mask, float p,
    size_t n)
{
	if (p <= 0)
		return d;
	zero(scratch, n);
	tp_dropout_backward(scratch, d, mask, p, (long)n);
	return scratch;
}

/* The encoder's backward from w->acts.dpooled, into w->grads; without
 * params, only as far as the tokens' gradient, w->acts.dres, and no
 * parameter's. */
static void
encode_backward(tp_model *m, tp_worker *w, const int32_t *cat,
    const float *num, int R, int training, int params)
{
	const tp_config *c = &m->cfg;
	int T = m->T, C = c->d_model, F = c->d_ff, N = R * T, L = c->layers;
	size_t NC = (size_t)N * C, NF = (size_t)N * F;
	float p = training ? c->dropout : 0.0f;
	const tp_model_index *ix = &m->ix;

	zero(w->acts.da, NC);
	tp_meanpool_backward(w->acts.da, w->acts.dpooled, R, T, C);
	zero(w->acts.dres, NC);
	tp_layernorm_backward(w->acts.dres, G(ix->norm_w), G(ix->norm_b),
	    w->acts.da, w->acts.layer[L - 1].out, w->acts.lnf_mean, w->acts.lnf_rstd,
	    PW(m, ix->norm_w), N, C);
	for (int l = L - 1; l >= 0; l--) {
		tp_layer_acts *a = &w->acts.layer[l];
		const tp_layer_index *li = &ix->layer[l];
		const float *x = l == 0 ? w->acts.x0 : w->acts.layer[l - 1].out;
		/* dres is d(out); out = x2 + drop(linear2(...)). */
		const float *d = drop_backward(w->acts.da, w->acts.dres, a->f_mask,
		    p, NC);
		zero(w->acts.dha, NF);
		tp_linear_backward(w->acts.dha, G(li->lin2_w),
		    G(li->lin2_b), d, p > 0 ? a->ha_d : a->ha,
		    PW(m, li->lin2_w), N, F, C);
		d = drop_backward(w->acts.dh, w->acts.dha, a->ha_mask, p, NF);
		/* The activation's gradient goes to whichever of the two is
		 * not its input. */
		float *dact = d == w->acts.dha ? w->acts.dh : w->acts.dha;
		zero(dact, NF);
		if (c->activation == TP_GELU)
			tp_gelu_backward(dact, d, a->h, (long)NF);
		else
			tp_relu_backward(dact, d, a->h, (long)NF);
		zero(w->acts.db, NC);
		tp_linear_backward(w->acts.db, G(li->lin1_w),
		    G(li->lin1_b), dact, a->ln2, PW(m, li->lin1_w), N, C, F);
		tp_layernorm_backward(w->acts.dres, G(li->norm2_w),
		    G(li->norm2_b), w->acts.db, a->x2, a->ln2_mean, a->ln2_rstd,
		    PW(m, li->norm2_w), N, C);
		/* dres is now d(x2); x2 = x + drop(out_proj(attention)). */
		d = drop_backward(w->acts.da, w->acts.dres, a->ao_mask, p, NC);
		zero(w->acts.db, NC);
		tp_linear_backward(w->acts.db, G(li->out_w), G(li->out_b),
		    d, a->atty, PW(m, li->out_w), N, C, C);
		zero(w->acts.dqkv, (size_t)N * 3 * C);
		tp_attention_backward(w->acts.dqkv, w->acts.datt, w->acts.db, a->qkv, a->att,
		    p > 0 ? a->att_mask : NULL, R, T, C, c->heads);
		zero(w->acts.da, NC);
		tp_linear_backward(w->acts.da, G(li->in_w), G(li->in_b),
		    w->acts.dqkv, a->ln1, PW(m, li->in_w), N, C, 3 * C);
		tp_layernorm_backward(w->acts.dres, G(li->norm1_w),
		    G(li->norm1_b), w->acts.da, x, a->ln1_mean, a->ln1_rstd,
		    PW(m, li->norm1_w), N, C);
	}
	if (!params)
		return;
	if (m->ncat > 0)
		tp_embedding_backward(G(ix->emb), w->acts.dres, cat,
		    m->vocab_offset, R, T, m->ncat, C);
	if (m->nnum > 0)
		tp_numeric_backward(G(ix->num_w), G(ix->num_b),
		    G(ix->num_miss), w->acts.dres, num, R, T, m->ncat, m->nnum, C);
}

static void
head_forward(tp_model *m, tp_worker *w, float *logits, int R, int training)
{
	const tp_model_index *ix = &m->ix;
	int H = m->cfg.head_hidden;

	linear(m, ix->head0_w, ix->head0_b, w->acts.h1, w->acts.pooled, R);
	tp_relu_forward(w->acts.r1, w->acts.h1, (long)R * H);
	tp_dropout_forward(w->acts.r1_d, w->acts.r1_mask, w->acts.r1,
	    training ? m->cfg.dropout : 0.0f, &w->rng, (long)R * H);
	linear(m, ix->head3_w, ix->head3_b, logits, w->acts.r1_d, R);
}

static void
head_backward(tp_model *m, tp_worker *w, const float *dlogits, int R,
    int training, int params)
{
	const tp_model_index *ix = &m->ix;
	int C = m->cfg.d_model, H = m->cfg.head_hidden;

	zero(w->acts.dr1, (size_t)R * H);
	tp_linear_backward(w->acts.dr1, G(ix->head3_w), G(ix->head3_b),
	    dlogits, w->acts.r1_d, PW(m, ix->head3_w), R, H, 2);
	zero(w->acts.dh1, (size_t)R * H);
	tp_dropout_backward(w->acts.dh1, w->acts.dr1, w->acts.r1_mask,
	    training ? m->cfg.dropout : 0.0f, (long)R * H);
	zero(w->acts.dr1, (size_t)R * H);
	tp_relu_backward(w->acts.dr1, w->acts.dh1, w->acts.h1, (long)R * H);
	zero(w->acts.dpooled, (size_t)R * C);
	tp_linear_backward(w->acts.dpooled, G(ix->head0_w),
	    G(ix->head0_b), w->acts.dr1, w->acts.pooled,
	    PW(m, ix->head0_w), R, C, H);
}

static void
projector_forward(tp_model *m, tp_worker *w, float *z, int R)
{
	const tp_model_index *ix = &m->ix;
	int C = m->cfg.d_model, H = m->cfg.head_hidden, P = m->cfg.proj_dim;

	tp_linear_forward(w->acts.p1, w->acts.pooled, PW(m, ix->proj0_w),
	    PW(m, ix->proj0_b), R, C, H);
	tp_relu_forward(w->acts.pr, w->acts.p1, (long)R * H);
	tp_linear_forward(z, w->acts.pr, PW(m, ix->proj2_w), PW(m, ix->proj2_b), R, H,
	    P);
}

static void
projector_backward(tp_model *m, tp_worker *w, const float *dz, int R)
{
	const tp_model_index *ix = &m->ix;
	int C = m->cfg.d_model, H = m->cfg.head_hidden, P = m->cfg.proj_dim;

	zero(w->acts.dr1, (size_t)R * H);
	tp_linear_backward(w->acts.dr1, GW(w, m, ix->proj2_w), GW(w, m, ix->proj2_b),
	    dz, w->acts.pr, PW(m, ix->proj2_w), R, H, P);
	zero(w->acts.dh1, (size_t)R * H);
	tp_relu_backward(w->acts.dh1, w->acts.dr1, w->acts.p1, (long)R * H);
	zero(w->acts.dpooled, (size_t)R * C);
	tp_linear_backward(w->acts.dpooled, GW(w, m, ix->proj0_w),
	    GW(w, m, ix->proj0_b), w->acts.dh1, w->acts.pooled,
	    PW(m, ix->proj0_w), R, C, H);
}

/* Thread t's share of B rows (or chunks): *R of them from *r0. */
static void
slice(const tp_model *m, int t, int B, int *r0, int *R)
{
	*r0 = (int)((long)B * t / m->nthreads);
	*R = (int)((long)B * (t + 1) / m->nthreads) - *r0;
}

static void
seed_workers(tp_model *m)
{
	for (int t = 0; t < m->nthreads; t++)
		tp_rng_seed(&m->workers[t].rng, m->seed ^
		    (m->step * UINT64_C(0x9e3779b97f4a7c15)) ^
		    ((uint64_t)t << 48));
	m->step++;
}

/* Sums the threads' gradients into the model's, in thread order. */
static void
reduce_grads(tp_model *m)
{
	for (int t = 1; t < m->nthreads; t++) {
		const float *g = m->workers[t].grads;
		for (size_t i = 0; i < m->nfloats; i++)
			m->grads[i] += g[i];
	}
}

/* The gradients reduced so far are the shrunk tables': the tables' are
 * made of them. */
static void
shrink_grads(tp_model *m)
{
	size_t n = (size_t)m->vocab_rows * m->cfg.d_model;
	float *g;

	/* Without categorical features there is no table (ix.emb is -1),
	 * and nothing to shrink. */
	if (m->shrink == NULL)
		return;
	g = m->grads + m->param[m->ix.emb].offset;
	memcpy(m->dshrunk, g, n * sizeof(float));
	zero(g, n);
	tp_shrink_backward(g, m->dshrunk, m->shrink, m->shrink + m->vocab_rows,
	    m->vocab_offset, m->ncat, m->vocab_rows, m->cfg.d_model);
}

static void
zero_grads(tp_model *m)
{
	for (int t = 0; t < m->nthreads; t++)
		zero(m->workers[t].grads, m->nfloats);
}

/* Thread t's logits of a batch of B rows, a chunk at a time: the batch is
 * cut into chunks of equal size, shared among the threads. A row's logits
 * do not depend on its chunk or thread: every product of the forward
 * computes a row on its own (tp_gemm_rows). */
static void
predict_slice(tp_model *m, int t, const int32_t *cat, const float *num,
    int B)
{
	tp_worker *w = &m->workers[t];
	int step = predict_rows(m), chunks = (B + step - 1) / step, k0, K;

	slice(m, t, chunks, &k0, &K);
	for (int k = k0; k < k0 + K; k++) {
		int r = (int)((long)B * k / chunks);
		int n = (int)((long)B * (k + 1) / chunks) - r;
		encode_forward(m, w, cat + (size_t)r * m->ncat,
		    num + (size_t)r * m->nnum, n, 0, 0);
		head_forward(m, w, m->logits + 2 * (size_t)r, n, 0);
		additive_forward(m, cat + (size_t)r * m->ncat,
		    num + (size_t)r * m->nnum, m->logits + 2 * (size_t)r, n);
	}
}

enum task { CLASSIFY_FORWARD, CLASSIFY_BACKWARD, CONTRAST_FORWARD,
	CONTRAST_BACKWARD };

static void
run(tp_model *m, enum task task, const int32_t *cat, const float *num,
    int B, int training)
{
#pragma omp parallel for num_threads(m->nthreads) schedule(static, 1)
	for (int t = 0; t < m->nthreads; t++) {
		tp_worker *w = &m->workers[t];
		int r0, R;
		slice(m, t, B, &r0, &R);
		if (R == 0)
			continue;
		const int32_t *c = cat + (size_t)r0 * m->ncat;
		const float *x = num + (size_t)r0 * m->nnum;
		size_t P = (size_t)m->cfg.proj_dim;
		switch (task) {
		case CLASSIFY_FORWARD:
			encode_forward(m, w, c, x, R, training, 1);
			head_forward(m, w, m->logits + 2 * (size_t)r0, R, training);
			additive_forward(m, c, x, m->logits + 2 * (size_t)r0, R);
			break;
		case CLASSIFY_BACKWARD:
			head_backward(m, w, m->dlogits + 2 * (size_t)r0, R, training,
			    1);
			encode_backward(m, w, c, x, R, training, 1);
			break;
		case CONTRAST_FORWARD:
			encode_forward(m, w, c, x, R, 1, 1);
			projector_forward(m, w, m->z + P * (size_t)r0, R);
			break;
		case CONTRAST_BACKWARD:
			projector_backward(m, w, m->dz + P * (size_t)r0, R);
			encode_backward(m, w, c, x, R, 1, 1);
			break;
		}
	}
}

float
tp_model_classify_step(tp_model *m, const int32_t *cat, const float *num,
    const int8_t *label, const float *target, const float *class_weight,
    int B, int training)
{
	thaw(m);
	seed_workers(m);
	zero_grads(m);
	run(m, CLASSIFY_FORWARD, cat, num, B, training);
	float loss = tp_crossentropy_forward(m->probs, m->logits, label, target,
	    class_weight, B);
	tp_crossentropy_backward(m->dlogits, m->probs, label, target,
	    class_weight, B);
	run(m, CLASSIFY_BACKWARD, cat, num, B, training);
	reduce_grads(m);
	shrink_grads(m);
	return loss;
}

/* The logits of B rows into m->logits. */
static void
logits_forward(tp_model *m, const int32_t *cat, const float *num, int B)
{
#pragma omp parallel for num_threads(m->nthreads) schedule(static, 1)
	for (int t = 0; t < m->nthreads; t++)
		predict_slice(m, t, cat, num, B);
}

void
tp_model_predict(tp_model *m, const int32_t *cat, const float *num, int B,
    float *prob)
{
	for (int j = 0; j < m->nmembers; j++) {
		transpose_weights(tp_model_member(m, j));
		logits_forward(tp_model_member(m, j), cat, num, B);
	}
	for (int b = 0; b < B; b++) {
		const float *l = m->logits + 2 * b;
		if (m->nmembers == 1) {
			/* softmax of two logits, as a sigmoid of their
			 * difference */
			prob[b] = 1.0f / (1.0f + expf(l[0] - l[1]));
			continue;
		}
		double sum = 0;
		for (int j = 0; j < m->nmembers; j++) {
			l = tp_model_member(m, j)->logits + 2 * b;
			sum += (double)l[1] - l[0];
		}
		prob[b] = (float)(1 / (1 + exp(-sum / m->nmembers)));
	}
}

void
tp_model_tokens(const tp_model *m, const int32_t *cat, const float *num,
    int B, float *tokens)
{
	tokens_forward(m, tokens, cat, num, B);
}

/* Worker w's share of tp_model_token_gradient: R rows from row r0. */
static void
token_gradient_slice(tp_model *m, tp_worker *w, const float *tokens,
    int r0, int R, float *logodds, float *grad)
{
	size_t per_row = (size_t)m->T * m->cfg.d_model;
	float *logits = m->logits + 2 * (size_t)r0;
	float *dlogits = m->dlogits + 2 * (size_t)r0;

	memcpy(w->acts.x0, tokens + per_row * r0, per_row * R * sizeof(float));
	layers_forward(m, w, R, 0, 1);
	head_forward(m, w, logits, R, 0);
	for (int r = 0; r < R; r++) {
		logodds[r0 + r] = logits[2 * r + 1] - logits[2 * r];
		dlogits[2 * r] = -1.0f;
		dlogits[2 * r + 1] = 1.0f;
	}
	head_backward(m, w, dlogits, R, 0, 0);
	encode_backward(m, w, NULL, NULL, R, 0, 0);
	memcpy(grad + per_row * r0, w->acts.dres, per_row * R * sizeof(float));
}

void
tp_model_token_gradient(tp_model *m, const float *tokens, int B,
    float *logodds, float *grad)
{
	transpose_weights(m);
#pragma omp parallel for num_threads(m->nthreads) schedule(static, 1)
	for (int t = 0; t < m->nthreads; t++) {
		int r0, R;
		slice(m, t, B, &r0, &R);
		if (R > 0)
			token_gradient_slice(m, &m->workers[t], tokens, r0, R,
			    logodds, grad);
	}
}

float
tp_model_contrast_step(tp_model *m, const int32_t *cat, const float *num,
    int B, float tau)
{
	int P = m->cfg.proj_dim;

	thaw(m);
	seed_workers(m);
	zero_grads(m);
	run(m, CONTRAST_FORWARD, cat, num, 2 * B, 1);
	float loss = tp_ntxent_forward(m->u, m->znorm, m->sim, m->z, tau, B, P);
	tp_ntxent_backward(m->dz, m->du, m->u, m->znorm, m->sim, tau, B, P);
	run(m, CONTRAST_BACKWARD, cat, num, 2 * B, 1);
	reduce_grads(m);
	shrink_grads(m);
	return loss;
}
