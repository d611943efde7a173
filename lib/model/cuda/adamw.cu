#include <math.h>
#include <string.h>

#include <cuda_runtime.h>

#include "model/cuda/adamw.h"
#include "model/cuda/kernel.cuh"

/* Blocks of the norm's first pass: fixed, so that the order of the sum
 * does not depend on the device. */
enum { NORM_BLOCKS = 256 };

int
tp_cuda_adamw_init(tp_cuda *g, tp_cuda_adamw *o, const tp_adamw_config *cfg,
    size_t n, tp_err *e)
{
	int rc;

	memset(o, 0, sizeof(*o));
	o->cfg = *cfg;
	o->n = n;
	if ((rc = tp_cuda_alloc(g, (void **)&o->m, n * sizeof(float),
	    "the optimiser's first moments", e)) != TP_OK ||
	    (rc = tp_cuda_alloc(g, (void **)&o->v, n * sizeof(float),
	    "the optimiser's second moments", e)) != TP_OK) {
		tp_cuda_adamw_free(o);
		return rc;
	}
	tp_cuda_zero(g, o->m, n * sizeof(float));
	tp_cuda_zero(g, o->v, n * sizeof(float));
	return tp_cuda_sync(g, e);
}

void
tp_cuda_adamw_free(tp_cuda_adamw *o)
{
	if (o == NULL)
		return;
	tp_cuda_free(o->m);
	tp_cuda_free(o->v);
	memset(o, 0, sizeof(*o));
}

static __global__ void
sum_squares(double *part, const float *x, size_t n)
{
	__shared__ double shared[TP_THREADS];
	double s = 0;

	for (size_t i = tp_gid(); i < n; i += (size_t)gridDim.x * blockDim.x)
		s += (double)x[i] * x[i];
	s = tp_block_sum(s, shared);
	if (threadIdx.x == 0)
		part[blockIdx.x] = s;
}

float
tp_cuda_grad_norm(tp_cuda *g, const float *grad, size_t n)
{
	double host[NORM_BLOCKS], sum = 0;

	if (g->status != TP_OK)
		return NAN;
	double *part = (double *)tp_cuda_scratch(g, sizeof(host));
	if (part == NULL)
		return NAN;
	sum_squares<<<NORM_BLOCKS, TP_THREADS, 0, g->stream>>>(part, grad, n);
	if (tp_cuda_launched(g, "grad_norm") != TP_OK ||
	    tp_cuda_fetch(g, host, part, sizeof(host)) != TP_OK)
		return NAN;
	for (int b = 0; b < NORM_BLOCKS; b++)
		sum += host[b];
	return (float)sqrt(sum);
}

/* lib/model/optim.c's update, with the clipping's scale s folded in. */
static __global__ void
adamw_update(float *p, float *grad, float *m, float *v, size_t n, int clip,
    float s, float lr, float decay, float beta1, float beta2, float eps,
    float bc1, float bc2)
{
	size_t i = tp_gid();

	if (i >= n)
		return;
	float gi = grad[i];
	if (clip) {
		gi *= s;
		grad[i] = gi;
	}
	m[i] = beta1 * m[i] + (1 - beta1) * gi;
	v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
	float mhat = m[i] / bc1, vhat = v[i] / bc2;
	p[i] -= decay * p[i] + lr * mhat / (sqrtf(vhat) + eps);
}

float
tp_cuda_adamw_step(tp_cuda *g, tp_cuda_adamw *o, float *params,
    float *grads, const tp_param *param, int nparam)
{
	const tp_adamw_config *c = &o->cfg;
	float norm = tp_cuda_grad_norm(g, grads, o->n);

	if (g->status != TP_OK)
		return NAN;
	int clip = c->clip > 0 && norm > c->clip;
	float s = clip ? c->clip / norm : 1.0f;
	float lr = tp_lr_at(c, o->t);
	o->t++;
	/* Bias corrections of the moments' zero start. */
	float bc1 = 1.0f - powf(c->beta1, (float)o->t);
	float bc2 = 1.0f - powf(c->beta2, (float)o->t);
	/* One launch per run of neighbouring tensors that decay alike. */
	for (int k = 0; k < nparam;) {
		size_t at = param[k].offset, n = 0;
		int decays = param[k].decay;
		for (; k < nparam && param[k].decay == decays &&
		    param[k].offset == at + n; k++)
			n += param[k].numel;
		if (n == 0)
			continue;
		float decay = decays ? lr * c->weight_decay : 0.0f;
		adamw_update<<<TP_GRID(g, (long)n)>>>(params + at, grads + at,
		    o->m + at, o->v + at, n, clip, s, lr, decay, c->beta1,
		    c->beta2, c->eps, bc1, bc2);
		if (tp_cuda_launched(g, "adamw_step") != TP_OK)
			return NAN;
	}
	return norm;
}
