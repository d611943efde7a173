/*
 * cuda/adamw: lib/model/optim.h's AdamW step, with gradient-norm
 * clipping, on the GPU: the moments live on the device next to the
 * parameters and their gradients, and only the gradient norm comes back.
 *
 * The schedule (tp_lr_at), the bias corrections and the weight decay of
 * the tensors the parameter table marks are lib/model/optim.c's, computed
 * on the host as there. The update of each value is the CPU's expression
 * in the CPU's order without fused multiply-adds, so parameters and
 * moments are meant to agree with tp_adamw_step bit for bit given the same
 * gradients and the same clipping scale; the norm is summed in double, in
 * blocks of a fixed order, so it may differ from the CPU's in its last
 * bits.
 */
#ifndef TP_CUDA_ADAMW_H
#define TP_CUDA_ADAMW_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "model/cuda/device.h"
#include "model/optim.h"

typedef struct {
	tp_adamw_config cfg;
	float *m, *v;        /* (n) first and second moments, device memory */
	size_t n;
	long t;              /* steps taken */
} tp_cuda_adamw;

/* Zeroed moments for n parameters. tp_cuda_adamw_free accepts a zeroed
 * or half-made state. */
int tp_cuda_adamw_init(tp_cuda *g, tp_cuda_adamw *o,
    const tp_adamw_config *cfg, size_t n, tp_err *e);
void tp_cuda_adamw_free(tp_cuda_adamw *o);

/* The gradient norm of n device floats, as tp_clip_grad returns it; waits
 * for the device. NAN after a failure. */
float tp_cuda_grad_norm(tp_cuda *g, const float *grad, size_t n);

/* tp_adamw_step on device params and grads (o->n each), laid out by the
 * host's parameter table: clips the gradients to cfg.clip (scaling them in
 * place, as the CPU does), updates the parameters, and returns the
 * gradient norm before clipping (NAN after a failure). */
float tp_cuda_adamw_step(tp_cuda *g, tp_cuda_adamw *o, float *params,
    float *grads, const tp_param *param, int nparam);

#ifdef __cplusplus
}
#endif

#endif
