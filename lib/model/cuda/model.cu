#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/acts.h"
#include "model/cuda/layers.h"
#include "model/cuda/model.h"

/* lib/model/model.c's activations (with the attention gradient of the whole
 * batch at once), and the step's own buffers, which the CPU keeps in the
 * model. */
struct tp_cuda_acts {
	tp_acts acts;
	float *logits, *probs, *dlogits;   /* (B,2) */
	float *z, *u, *du, *dz, *znorm;    /* (B,P), (B) */
	float *sim;                        /* (B,B) */
};

/* Every buffer starts on 256 bytes, so that its rows load coalesced. */
enum { ALIGN = 64 };

static float *
carve(float *base, size_t *used, size_t n)
{
	return tp_carve(base, used, n, ALIGN);
}

static size_t
layout(const tp_model *m, tp_cuda_acts *w, float *base, int R)
{
	size_t P = m->cfg.proj_dim, used = tp_acts_layout(&w->acts, &m->cfg,
	    m->T, R, R, ALIGN, base);

	w->logits = carve(base, &used, (size_t)R * 2);
	w->probs = carve(base, &used, (size_t)R * 2);
	w->dlogits = carve(base, &used, (size_t)R * 2);
	w->z = carve(base, &used, (size_t)R * P);
	w->u = carve(base, &used, (size_t)R * P);
	w->du = carve(base, &used, (size_t)R * P);
	w->dz = carve(base, &used, (size_t)R * P);
	w->znorm = carve(base, &used, (size_t)R);
	w->sim = carve(base, &used, (size_t)R * R);
	return used;
}

int
tp_cuda_model_init(tp_cuda *g, tp_cuda_model *cm, tp_model *m, tp_err *e)
{
	size_t bytes = m->nfloats * sizeof(float);
	int rc;

	memset(cm, 0, sizeof(*cm));
	cm->m = m;
	if ((cm->acts = (tp_cuda_acts *)calloc(1, sizeof(*cm->acts))) == NULL ||
	    (cm->acts->acts.layer = (tp_layer_acts *)calloc(
	    (size_t)m->cfg.layers, sizeof(tp_layer_acts))) == NULL) {
		tp_cuda_model_free(cm);
		return tp_err_nomem(e, "the GPU model");
	}
	if ((rc = tp_cuda_alloc(g, (void **)&cm->params, bytes,
	    "the parameters", e)) != TP_OK ||
	    (rc = tp_cuda_alloc(g, (void **)&cm->grads, bytes, "the gradients",
	    e)) != TP_OK ||
	    (rc = tp_cuda_alloc(g, (void **)&cm->class_weight,
	    2 * sizeof(float), "the class weights", e)) != TP_OK ||
	    (m->ncat > 0 && (rc = tp_cuda_alloc(g, (void **)&cm->vocab_offset,
	    (size_t)m->ncat * sizeof(int), "the vocabulary offsets", e)) !=
	    TP_OK) ||
	    (rc = tp_cuda_upload(g, cm->params, m->params, bytes, e)) !=
	    TP_OK ||
	    (m->ncat > 0 && (rc = tp_cuda_upload(g, cm->vocab_offset,
	    m->vocab_offset, (size_t)m->ncat * sizeof(int), e)) != TP_OK)) {
		tp_cuda_model_free(cm);
		return rc;
	}
	if (m->shrink != NULL) {
		size_t rows = (size_t)m->vocab_rows;
		size_t table = rows * m->cfg.d_model * sizeof(float);
		if ((rc = tp_cuda_alloc(g, (void **)&cm->shrink,
		    2 * rows * sizeof(float), "the shrinkage factors", e)) !=
		    TP_OK ||
		    (rc = tp_cuda_alloc(g, (void **)&cm->shrunk, table,
		    "the shrunk tables", e)) != TP_OK ||
		    (rc = tp_cuda_alloc(g, (void **)&cm->dshrunk, table,
		    "the shrunk tables' gradient", e)) != TP_OK ||
		    (rc = tp_cuda_upload(g, cm->shrink, m->shrink,
		    2 * rows * sizeof(float), e)) != TP_OK) {
			tp_cuda_model_free(cm);
			return rc;
		}
	}
	tp_cuda_zero(g, cm->grads, bytes);
	return tp_cuda_sync(g, e);
}

void
tp_cuda_model_free(tp_cuda_model *cm)
{
	if (cm == NULL)
		return;
	tp_cuda_free(cm->params);
	tp_cuda_free(cm->grads);
	tp_cuda_free(cm->vocab_offset);
	tp_cuda_free(cm->shrink);
	tp_cuda_free(cm->shrunk);
	tp_cuda_free(cm->dshrunk);
	tp_cuda_free(cm->mem);
	tp_cuda_free(cm->cat);
	tp_cuda_free(cm->num);
	tp_cuda_free(cm->label);
	tp_cuda_free(cm->target);
	tp_cuda_free(cm->class_weight);
	if (cm->acts != NULL)
		free(cm->acts->acts.layer);
	free(cm->acts);
	memset(cm, 0, sizeof(*cm));
}

int
tp_cuda_model_plan(tp_cuda *g, tp_cuda_model *cm, int rows, tp_err *e)
{
	const tp_model *m = cm->m;
	int rc;

	if (rows <= cm->planned)
		return TP_OK;
	/* The old buffers may still be in use by work issued before. */
	if ((rc = tp_cuda_sync(g, e)) != TP_OK)
		return rc;
	tp_cuda_free(cm->mem);
	tp_cuda_free(cm->cat);
	tp_cuda_free(cm->num);
	tp_cuda_free(cm->label);
	tp_cuda_free(cm->target);
	cm->mem = cm->num = cm->target = NULL;
	cm->cat = NULL;
	cm->label = NULL;
	cm->planned = 0;
	size_t n = layout(m, cm->acts, NULL, rows);
	if ((rc = tp_cuda_alloc(g, (void **)&cm->mem, n * sizeof(float),
	    "the activations", e)) != TP_OK ||
	    (rc = tp_cuda_alloc(g, (void **)&cm->cat,
	    (size_t)rows * (m->ncat > 0 ? m->ncat : 1) * sizeof(int32_t),
	    "the batch", e)) != TP_OK ||
	    (rc = tp_cuda_alloc(g, (void **)&cm->num,
	    (size_t)rows * (m->nnum > 0 ? m->nnum : 1) * sizeof(float),
	    "the batch", e)) != TP_OK ||
	    (rc = tp_cuda_alloc(g, (void **)&cm->label, (size_t)rows,
	    "the batch", e)) != TP_OK ||
	    (rc = tp_cuda_alloc(g, (void **)&cm->target,
	    (size_t)rows * sizeof(float), "the batch", e)) != TP_OK)
		return rc;
	layout(m, cm->acts, cm->mem, rows);
	cm->planned = rows;
	return TP_OK;
}

int
tp_cuda_model_download(tp_cuda *g, tp_cuda_model *cm, tp_err *e)
{
	return tp_cuda_download(g, cm->m->params, cm->params,
	    cm->m->nfloats * sizeof(float), e);
}

#define PW(cm, i) ((cm)->params + (cm)->m->param[(i)].offset)
#define GW(cm, i) ((cm)->grads + (cm)->m->param[(i)].offset)

static void
zero(tp_cuda *g, float *p, size_t n)
{
	tp_cuda_zero(g, p, n * sizeof(float));
}

/* Tokens, encoder and pooling for R rows. */
static void
encode_forward(tp_cuda *g, tp_cuda_model *cm, int R, int training)
{
	const tp_model *m = cm->m;
	const tp_config *c = &m->cfg;
	tp_cuda_acts *w = cm->acts;
	int T = m->T, C = c->d_model, F = c->d_ff, N = R * T;
	float p = training ? c->dropout : 0.0f;
	const tp_model_index *ix = &m->ix;

	if (m->ncat > 0) {
		const float *table = PW(cm, ix->emb);
		/* The tables as the parameters are now: a step or a
		 * prediction follows every change of them. */
		if (cm->shrink != NULL) {
			tp_cuda_shrink_forward(g, cm->shrunk, table, cm->shrink,
			    cm->shrink + m->vocab_rows, cm->vocab_offset,
			    m->ncat, m->vocab_rows, C);
			table = cm->shrunk;
		}
		tp_cuda_embedding_forward(g, w->acts.x0, cm->cat, table,
		    cm->vocab_offset, R, T, m->ncat, C);
	}
	if (m->nnum > 0)
		tp_cuda_numeric_forward(g, w->acts.x0, cm->num, PW(cm, ix->num_w),
		    PW(cm, ix->num_b), PW(cm, ix->num_miss), R, T, m->ncat,
		    m->nnum, C);
	const float *x = w->acts.x0;
	for (int l = 0; l < c->layers; l++) {
		tp_layer_acts *a = &w->acts.layer[l];
		const tp_layer_index *li = &ix->layer[l];
		tp_cuda_layernorm_forward(g, a->ln1, a->ln1_mean, a->ln1_rstd,
		    x, PW(cm, li->norm1_w), PW(cm, li->norm1_b), N, C);
		tp_cuda_linear_forward(g, a->qkv, a->ln1, PW(cm, li->in_w),
		    PW(cm, li->in_b), N, C, 3 * C);
		tp_cuda_attention_forward(g, a->atty, a->att,
		    p > 0 ? a->att_mask : NULL, a->qkv, p, &cm->rng, R, T, C,
		    c->heads);
		tp_cuda_linear_forward(g, a->ao, a->atty, PW(cm, li->out_w),
		    PW(cm, li->out_b), N, C, C);
		tp_cuda_dropout_forward(g, a->ao_d, a->ao_mask, a->ao, p,
		    &cm->rng, (long)N * C);
		tp_cuda_residual_forward(g, a->x2, x, a->ao_d, (long)N * C);
		tp_cuda_layernorm_forward(g, a->ln2, a->ln2_mean, a->ln2_rstd,
		    a->x2, PW(cm, li->norm2_w), PW(cm, li->norm2_b), N, C);
		tp_cuda_linear_forward(g, a->h, a->ln2, PW(cm, li->lin1_w),
		    PW(cm, li->lin1_b), N, C, F);
		if (c->activation == TP_GELU)
			tp_cuda_gelu_forward(g, a->ha, a->h, (long)N * F);
		else
			tp_cuda_relu_forward(g, a->ha, a->h, (long)N * F);
		tp_cuda_dropout_forward(g, a->ha_d, a->ha_mask, a->ha, p,
		    &cm->rng, (long)N * F);
		tp_cuda_linear_forward(g, a->f, a->ha_d, PW(cm, li->lin2_w),
		    PW(cm, li->lin2_b), N, F, C);
		tp_cuda_dropout_forward(g, a->f_d, a->f_mask, a->f, p, &cm->rng,
		    (long)N * C);
		tp_cuda_residual_forward(g, a->out, a->x2, a->f_d, (long)N * C);
		x = a->out;
	}
	tp_cuda_layernorm_forward(g, w->acts.lnf, w->acts.lnf_mean,
	    w->acts.lnf_rstd, x, PW(cm, ix->norm_w), PW(cm, ix->norm_b), N, C);
	tp_cuda_meanpool_forward(g, w->acts.pooled, w->acts.lnf, R, T, C);
}

/* The encoder's backward from dpooled, into the gradients. */
static void
encode_backward(tp_cuda *g, tp_cuda_model *cm, int R, int training)
{
	const tp_model *m = cm->m;
	const tp_config *c = &m->cfg;
	tp_cuda_acts *w = cm->acts;
	int T = m->T, C = c->d_model, F = c->d_ff, N = R * T, L = c->layers;
	size_t NC = (size_t)N * C, NF = (size_t)N * F;
	float p = training ? c->dropout : 0.0f;
	const tp_model_index *ix = &m->ix;

	zero(g, w->acts.da, NC);
	tp_cuda_meanpool_backward(g, w->acts.da, w->acts.dpooled, R, T, C);
	zero(g, w->acts.dres, NC);
	tp_cuda_layernorm_backward(g, w->acts.dres, GW(cm, ix->norm_w),
	    GW(cm, ix->norm_b), w->acts.da, w->acts.layer[L - 1].out, w->acts.lnf_mean,
	    w->acts.lnf_rstd, PW(cm, ix->norm_w), N, C);
	for (int l = L - 1; l >= 0; l--) {
		tp_layer_acts *a = &w->acts.layer[l];
		const tp_layer_index *li = &ix->layer[l];
		const float *x = l == 0 ? w->acts.x0 : w->acts.layer[l - 1].out;
		/* dres is d(out); out = x2 + drop(linear2(...)). */
		zero(g, w->acts.da, NC);
		tp_cuda_dropout_backward(g, w->acts.da, w->acts.dres, a->f_mask, p,
		    (long)NC);
		zero(g, w->acts.dha, NF);
		tp_cuda_linear_backward(g, w->acts.dha, GW(cm, li->lin2_w),
		    GW(cm, li->lin2_b), w->acts.da, a->ha_d, PW(cm, li->lin2_w), N,
		    F, C);
		zero(g, w->acts.dh, NF);
		tp_cuda_dropout_backward(g, w->acts.dh, w->acts.dha, a->ha_mask, p,
		    (long)NF);
		zero(g, w->acts.dha, NF);
		if (c->activation == TP_GELU)
			tp_cuda_gelu_backward(g, w->acts.dha, w->acts.dh, a->h, (long)NF);
		else
			tp_cuda_relu_backward(g, w->acts.dha, w->acts.dh, a->h, (long)NF);
		zero(g, w->acts.db, NC);
		tp_cuda_linear_backward(g, w->acts.db, GW(cm, li->lin1_w),
		    GW(cm, li->lin1_b), w->acts.dha, a->ln2, PW(cm, li->lin1_w), N,
		    C, F);
		tp_cuda_layernorm_backward(g, w->acts.dres, GW(cm, li->norm2_w),
		    GW(cm, li->norm2_b), w->acts.db, a->x2, a->ln2_mean, a->ln2_rstd,
		    PW(cm, li->norm2_w), N, C);
		/* dres is now d(x2); x2 = x + drop(out_proj(attention)). */
		zero(g, w->acts.da, NC);
		tp_cuda_dropout_backward(g, w->acts.da, w->acts.dres, a->ao_mask, p,
		    (long)NC);
		zero(g, w->acts.db, NC);
		tp_cuda_linear_backward(g, w->acts.db, GW(cm, li->out_w),
		    GW(cm, li->out_b), w->acts.da, a->atty, PW(cm, li->out_w), N, C,
		    C);
		zero(g, w->acts.dqkv, (size_t)N * 3 * C);
		tp_cuda_attention_backward(g, w->acts.dqkv, w->acts.datt, w->acts.db, a->qkv,
		    a->att, p > 0 ? a->att_mask : NULL, R, T, C, c->heads);
		zero(g, w->acts.da, NC);
		tp_cuda_linear_backward(g, w->acts.da, GW(cm, li->in_w),
		    GW(cm, li->in_b), w->acts.dqkv, a->ln1, PW(cm, li->in_w), N, C,
		    3 * C);
		tp_cuda_layernorm_backward(g, w->acts.dres, GW(cm, li->norm1_w),
		    GW(cm, li->norm1_b), w->acts.da, x, a->ln1_mean, a->ln1_rstd,
		    PW(cm, li->norm1_w), N, C);
	}
	if (m->ncat > 0 && cm->shrink != NULL) {
		zero(g, cm->dshrunk, (size_t)m->vocab_rows * C);
		tp_cuda_embedding_backward(g, cm->dshrunk, w->acts.dres, cm->cat,
		    cm->vocab_offset, R, T, m->ncat, C);
		tp_cuda_shrink_backward(g, GW(cm, ix->emb), cm->dshrunk,
		    cm->shrink, cm->shrink + m->vocab_rows, cm->vocab_offset,
		    m->ncat, m->vocab_rows, C);
	} else if (m->ncat > 0)
		tp_cuda_embedding_backward(g, GW(cm, ix->emb), w->acts.dres, cm->cat,
		    cm->vocab_offset, R, T, m->ncat, C);
	if (m->nnum > 0)
		tp_cuda_numeric_backward(g, GW(cm, ix->num_w),
		    GW(cm, ix->num_b), GW(cm, ix->num_miss), w->acts.dres, cm->num,
		    R, T, m->ncat, m->nnum, C);
}

static void
head_forward(tp_cuda *g, tp_cuda_model *cm, int R, int training)
{
	const tp_model_index *ix = &cm->m->ix;
	tp_cuda_acts *w = cm->acts;
	int C = cm->m->cfg.d_model, H = cm->m->cfg.head_hidden;

	tp_cuda_linear_forward(g, w->acts.h1, w->acts.pooled, PW(cm, ix->head0_w),
	    PW(cm, ix->head0_b), R, C, H);
	tp_cuda_relu_forward(g, w->acts.r1, w->acts.h1, (long)R * H);
	tp_cuda_dropout_forward(g, w->acts.r1_d, w->acts.r1_mask, w->acts.r1,
	    training ? cm->m->cfg.dropout : 0.0f, &cm->rng, (long)R * H);
	tp_cuda_linear_forward(g, w->logits, w->acts.r1_d, PW(cm, ix->head3_w),
	    PW(cm, ix->head3_b), R, H, 2);
	if (ix->additive_w >= 0) {
		tp_additive a;
		a.ncat = cm->m->ncat;
		a.nnum = cm->m->nnum;
		a.vocab_rows = cm->m->vocab_rows;
		a.vocab_offset = cm->vocab_offset;
		a.weight = PW(cm, ix->additive_w);
		a.knot = ix->additive_knot < 0 ? NULL :
		    PW(cm, ix->additive_knot);
		tp_cuda_additive_forward(g, &a, cm->cat, cm->num, w->logits, R);
	}
}

static void
head_backward(tp_cuda *g, tp_cuda_model *cm, int R, int training)
{
	const tp_model_index *ix = &cm->m->ix;
	tp_cuda_acts *w = cm->acts;
	int C = cm->m->cfg.d_model, H = cm->m->cfg.head_hidden;

	zero(g, w->acts.dr1, (size_t)R * H);
	tp_cuda_linear_backward(g, w->acts.dr1, GW(cm, ix->head3_w),
	    GW(cm, ix->head3_b), w->dlogits, w->acts.r1_d, PW(cm, ix->head3_w), R, H,
	    2);
	zero(g, w->acts.dh1, (size_t)R * H);
	tp_cuda_dropout_backward(g, w->acts.dh1, w->acts.dr1, w->acts.r1_mask,
	    training ? cm->m->cfg.dropout : 0.0f, (long)R * H);
	zero(g, w->acts.dr1, (size_t)R * H);
	tp_cuda_relu_backward(g, w->acts.dr1, w->acts.dh1, w->acts.h1, (long)R * H);
	zero(g, w->acts.dpooled, (size_t)R * C);
	tp_cuda_linear_backward(g, w->acts.dpooled, GW(cm, ix->head0_w),
	    GW(cm, ix->head0_b), w->acts.dr1, w->acts.pooled,
	    PW(cm, ix->head0_w), R, C, H);
}

static void
projector_forward(tp_cuda *g, tp_cuda_model *cm, int R)
{
	const tp_model_index *ix = &cm->m->ix;
	tp_cuda_acts *w = cm->acts;
	int C = cm->m->cfg.d_model, H = cm->m->cfg.head_hidden;
	int P = cm->m->cfg.proj_dim;

	tp_cuda_linear_forward(g, w->acts.p1, w->acts.pooled, PW(cm, ix->proj0_w),
	    PW(cm, ix->proj0_b), R, C, H);
	tp_cuda_relu_forward(g, w->acts.pr, w->acts.p1, (long)R * H);
	tp_cuda_linear_forward(g, w->z, w->acts.pr, PW(cm, ix->proj2_w),
	    PW(cm, ix->proj2_b), R, H, P);
}

static void
projector_backward(tp_cuda *g, tp_cuda_model *cm, int R)
{
	const tp_model_index *ix = &cm->m->ix;
	tp_cuda_acts *w = cm->acts;
	int C = cm->m->cfg.d_model, H = cm->m->cfg.head_hidden;
	int P = cm->m->cfg.proj_dim;

	zero(g, w->acts.dr1, (size_t)R * H);
	tp_cuda_linear_backward(g, w->acts.dr1, GW(cm, ix->proj2_w),
	    GW(cm, ix->proj2_b), w->dz, w->acts.pr, PW(cm, ix->proj2_w), R, H, P);
	zero(g, w->acts.dh1, (size_t)R * H);
	tp_cuda_relu_backward(g, w->acts.dh1, w->acts.dr1, w->acts.p1, (long)R * H);
	zero(g, w->acts.dpooled, (size_t)R * C);
	tp_cuda_linear_backward(g, w->acts.dpooled, GW(cm, ix->proj0_w),
	    GW(cm, ix->proj0_b), w->acts.dh1, w->acts.pooled,
	    PW(cm, ix->proj0_w), R, C, H);
}

/* Sends a batch of B rows; a failure is kept in g. */
static int
send_batch(tp_cuda *g, tp_cuda_model *cm, const int32_t *cat,
    const float *num, const int8_t *label, const float *target,
    const float *class_weight, int B)
{
	const tp_model *m = cm->m;
	tp_err e = {TP_OK, ""};

	if (g->status != TP_OK)
		return g->status;
	if (B > cm->planned)
		return tp_cuda_fail(g, TP_EINTERNAL, "a batch of %d rows on a "
		    "GPU model planned for %d", B, cm->planned);
	if ((m->ncat > 0 && tp_cuda_upload(g, cm->cat, cat,
	    (size_t)B * m->ncat * sizeof(int32_t), &e) != TP_OK) ||
	    (m->nnum > 0 && tp_cuda_upload(g, cm->num, num,
	    (size_t)B * m->nnum * sizeof(float), &e) != TP_OK) ||
	    (label != NULL && tp_cuda_upload(g, cm->label, label, (size_t)B,
	    &e) != TP_OK) ||
	    (target != NULL && tp_cuda_upload(g, cm->target, target,
	    (size_t)B * sizeof(float), &e) != TP_OK) ||
	    (class_weight != NULL && tp_cuda_upload(g, cm->class_weight,
	    class_weight, 2 * sizeof(float), &e) != TP_OK))
		return tp_cuda_fail(g, e.code, "%s", e.msg);
	return TP_OK;
}

/* lib/model/model.c's stream for its first thread, so that one CPU thread and
 * the GPU draw the same masks. */
static void
seed_step(tp_cuda_model *cm)
{
	tp_model *m = cm->m;

	tp_rng_seed(&cm->rng,
	    m->seed ^ (m->step * UINT64_C(0x9e3779b97f4a7c15)));
	m->step++;
}

float
tp_cuda_model_classify_step(tp_cuda *g, tp_cuda_model *cm,
    const int32_t *cat, const float *num, const int8_t *label,
    const float *target, const float *class_weight, int B, int training)
{
	tp_cuda_acts *w = cm->acts;

	if (send_batch(g, cm, cat, num, label, target, class_weight, B) != TP_OK)
		return NAN;
	const float *weight = class_weight != NULL ? cm->class_weight : NULL;
	const float *soft = target != NULL ? cm->target : NULL;
	seed_step(cm);
	zero(g, cm->grads, cm->m->nfloats);
	encode_forward(g, cm, B, training);
	head_forward(g, cm, B, training);
	float loss = tp_cuda_crossentropy_forward(g, w->probs, w->logits,
	    cm->label, soft, weight, B);
	tp_cuda_crossentropy_backward(g, w->dlogits, w->probs, cm->label,
	    soft, weight, B);
	head_backward(g, cm, B, training);
	encode_backward(g, cm, B, training);
	return g->status == TP_OK ? loss : NAN;
}

int
tp_cuda_model_logodds(tp_cuda *g, tp_cuda_model *cm, const int32_t *cat,
    const float *num, int B, float *logodds, tp_err *e)
{
	int rc;

	send_batch(g, cm, cat, num, NULL, NULL, NULL, B);
	encode_forward(g, cm, B, 0);
	head_forward(g, cm, B, 0);
	float *logits = (float *)malloc((size_t)B * 2 * sizeof(float));
	if (logits == NULL) {
		tp_cuda_sync(g, e);
		return tp_err_nomem(e, "the logits");
	}
	if ((rc = tp_cuda_download(g, logits, cm->acts->logits,
	    (size_t)B * 2 * sizeof(float), e)) == TP_OK)
		for (int b = 0; b < B; b++)
			logodds[b] = logits[2 * b + 1] - logits[2 * b];
	free(logits);
	return rc;
}

int
tp_cuda_model_predict(tp_cuda *g, tp_cuda_model *cm, const int32_t *cat,
    const float *num, int B, float *prob, tp_err *e)
{
	int rc;

	if ((rc = tp_cuda_model_logodds(g, cm, cat, num, B, prob, e)) != TP_OK)
		return rc;
	/* softmax of two logits as a sigmoid of their difference, as
	 * lib/model/model.c computes it (l0 - l1 is -(l1 - l0) exactly) */
	for (int b = 0; b < B; b++)
		prob[b] = 1.0f / (1.0f + expf(-prob[b]));
	return TP_OK;
}

float
tp_cuda_model_contrast_step(tp_cuda *g, tp_cuda_model *cm,
    const int32_t *cat, const float *num, int B, float tau)
{
	tp_cuda_acts *w = cm->acts;
	int P = cm->m->cfg.proj_dim;

	if (send_batch(g, cm, cat, num, NULL, NULL, NULL, 2 * B) != TP_OK)
		return NAN;
	seed_step(cm);
	zero(g, cm->grads, cm->m->nfloats);
	encode_forward(g, cm, 2 * B, 1);
	projector_forward(g, cm, 2 * B);
	float loss = tp_cuda_ntxent_forward(g, w->u, w->znorm, w->sim, w->z,
	    tau, B, P);
	tp_cuda_ntxent_backward(g, w->dz, w->du, w->u, w->znorm, w->sim, tau, B,
	    P);
	projector_backward(g, cm, 2 * B);
	encode_backward(g, cm, 2 * B, 1);
	return g->status == TP_OK ? loss : NAN;
}
