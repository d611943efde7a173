#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/optim.h"

int
tp_adamw_init(tp_adamw *o, const tp_adamw_config *cfg, size_t n, tp_err *e)
{
	memset(o, 0, sizeof(*o));
	o->cfg = *cfg;
	o->n = n;
	if ((o->m = calloc(n, sizeof(float))) == NULL ||
	    (o->v = calloc(n, sizeof(float))) == NULL) {
		tp_adamw_free(o);
		return tp_err_nomem(e, "the optimiser state");
	}
	return TP_OK;
}

void
tp_adamw_free(tp_adamw *o)
{
	if (o == NULL)
		return;
	free(o->m);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

float
tp_lr_at(const tp_adamw_config *c, long t)
{
	if (t < c->warmup)
		return c->lr * (float)(t + 1) / (float)c->warmup;
	if (c->total <= c->warmup)
		return c->lr;
	double progress = (double)(t - c->warmup) / (double)(c->total - c->warmup);
	if (progress > 1)
		progress = 1;
	return (float)(c->lr * 0.5 * (1.0 + cos(M_PI * progress)));
}

float
tp_clip_grad(float *g, size_t n, float max_norm)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (double)g[i] * g[i];
	float norm = (float)sqrt(sum);
	if (max_norm > 0 && norm > max_norm) {
		float s = max_norm / norm;
		for (size_t i = 0; i < n; i++)
			g[i] *= s;
	}
	return norm;
}

float
tp_adamw_step(tp_adamw *o, tp_model *m)
{
	const tp_adamw_config *c = &o->cfg;
	float norm = tp_clip_grad(m->grads, m->nfloats, c->clip);
	float lr = tp_lr_at(c, o->t);

	o->t++;
	/* Bias corrections of the moments' zero start. */
	float bc1 = 1.0f - powf(c->beta1, (float)o->t);
	float bc2 = 1.0f - powf(c->beta2, (float)o->t);
	for (int k = 0; k < m->nparam; k++) {
		const tp_param *p = &m->param[k];
		float decay = p->decay ? lr * c->weight_decay : 0.0f;
		for (size_t i = p->offset; i < p->offset + p->numel; i++) {
			float g = m->grads[i];
			o->m[i] = c->beta1 * o->m[i] + (1 - c->beta1) * g;
			o->v[i] = c->beta2 * o->v[i] + (1 - c->beta2) * g * g;
			float mhat = o->m[i] / bc1, vhat = o->v[i] / bc2;
			m->params[i] -= decay * m->params[i] +
			    lr * mhat / (sqrtf(vhat) + c->eps);
		}
	}
	return norm;
}
