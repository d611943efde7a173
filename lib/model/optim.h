/*
 * optim: AdamW with linear warm-up and cosine decay, and gradient-norm
 * clipping.
 *
 * AdamW as Loshchilov and Hutter (2019) and torch.optim.AdamW define it:
 * the weight decay is applied to the weights directly (p -= lr * wd * p),
 * not through the gradient, and only to the tensors the parameter table
 * marks (the weights of linear layers, not biases, norms or tokens).
 */
#ifndef TP_OPTIM_H
#define TP_OPTIM_H

#include <stddef.h>

#include "base/err.h"
#include "model/model.h"

typedef struct {
	float lr;            /* peak learning rate */
	float beta1, beta2, eps;
	float weight_decay;
	long warmup;         /* steps of linear warm-up from 0 */
	long total;          /* steps in all; cosine decay to 0 after warm-up */
	float clip;          /* largest gradient norm; 0: no clipping */
} tp_adamw_config;

typedef struct {
	tp_adamw_config cfg;
	float *m, *v;        /* (n) first and second moments */
	size_t n;
	long t;              /* steps taken */
} tp_adamw;

int tp_adamw_init(tp_adamw *o, const tp_adamw_config *cfg, size_t n,
    tp_err *e);
void tp_adamw_free(tp_adamw *o);
/* The learning rate at step t (0-based). */
float tp_lr_at(const tp_adamw_config *cfg, long t);
/* Scales g so that its norm is at most max_norm; returns the norm before. */
float tp_clip_grad(float *g, size_t n, float max_norm);
/* One step: clips m's gradients, then updates m's parameters. Returns the
 * gradient norm before clipping. */
float tp_adamw_step(tp_adamw *o, tp_model *m);

#endif
