#include "model/acts.h"

float *
tp_carve(float *base, size_t *used, size_t n, size_t align)
{
	float *p = base != NULL ? base + *used : NULL;

	*used += (n + align - 1) / align * align;
	return p;
}

size_t
tp_acts_layout(tp_acts *w, const tp_config *c, int T, int R, int datt_rows,
    size_t align, float *base)
{
	size_t N = (size_t)R * T, C = c->d_model, F = c->d_ff,
	    H = c->head_hidden, A = (size_t)R * c->heads * T * T, used = 0;
#define CARVE(n) tp_carve(base, &used, (n), align)

	w->x0 = CARVE(N * C);
	for (int l = 0; l < c->layers; l++) {
		tp_layer_acts *a = &w->layer[l];
		a->ln1 = CARVE(N * C);
		a->ln1_mean = CARVE(N);
		a->ln1_rstd = CARVE(N);
		a->qkv = CARVE(N * 3 * C);
		a->att = CARVE(A);
		a->att_mask = CARVE(A);
		a->atty = CARVE(N * C);
		a->ao = CARVE(N * C);
		a->ao_mask = CARVE(N * C);
		a->ao_d = CARVE(N * C);
		a->x2 = CARVE(N * C);
		a->ln2 = CARVE(N * C);
		a->ln2_mean = CARVE(N);
		a->ln2_rstd = CARVE(N);
		a->h = CARVE(N * F);
		a->ha = CARVE(N * F);
		a->ha_mask = CARVE(N * F);
		a->ha_d = CARVE(N * F);
		a->f = CARVE(N * C);
		a->f_mask = CARVE(N * C);
		a->f_d = CARVE(N * C);
		a->out = CARVE(N * C);
	}
	w->lnf = CARVE(N * C);
	w->lnf_mean = CARVE(N);
	w->lnf_rstd = CARVE(N);
	w->pooled = CARVE((size_t)R * C);
	w->h1 = CARVE((size_t)R * H);
	w->r1 = CARVE((size_t)R * H);
	w->r1_mask = CARVE((size_t)R * H);
	w->r1_d = CARVE((size_t)R * H);
	w->p1 = CARVE((size_t)R * H);
	w->pr = CARVE((size_t)R * H);
	w->dres = CARVE(N * C);
	w->da = CARVE(N * C);
	w->db = CARVE(N * C);
	w->dqkv = CARVE(N * 3 * C);
	w->dh = CARVE(N * F);
	w->dha = CARVE(N * F);
	w->datt = CARVE((size_t)datt_rows * c->heads * T * T);
	w->dpooled = CARVE((size_t)R * C);
	w->dh1 = CARVE((size_t)R * H);
	w->dr1 = CARVE((size_t)R * H);
#undef CARVE
	return used;
}
