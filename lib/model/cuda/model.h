/*
 * cuda/model: lib/model/model.h's TabTransformer steps on the GPU, with the
 * parameters, their gradients and every activation resident on the
 * device: a step sends the batch in and brings only the loss back (a
 * prediction brings the probabilities back).
 *
 * The host tp_model stays the model: its parameter table, config and
 * features describe the device copy, tp_cuda_model_init uploads its
 * parameters and tp_cuda_model_download writes the device's back into
 * it, so a model file saved after GPU training is the same file the CPU
 * writes, and either backend loads it. Gradients are laid out by the same
 * table, so cuda/adamw.h steps them.
 *
 * The steps run the layers in lib/model/model.c's order on the whole batch, as
 * one of its threads runs its slice; dropout draws from the stream that
 * lib/model/model.c gives its first thread, so with the CPU model on one thread
 * the same seed gives the same masks and the results agree to float32
 * rounding (the embedding's gradient to within the order of its atomic
 * adds, see cuda/layers.h).
 */
#ifndef TP_CUDA_MODEL_H
#define TP_CUDA_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "model/cuda/device.h"
#include "model/model.h"

typedef struct tp_cuda_acts tp_cuda_acts;

typedef struct {
	tp_model *m;          /* the host model this mirrors (not owned) */
	float *params;        /* (nfloats) device */
	float *grads;         /* (nfloats) device */
	int *vocab_offset;    /* (ncat) device */
	/* The host model's shrinkage of its tables (tp_model_shrink), when
	 * it has one: its factors and weights, the shrunk tables and their
	 * gradient, on the device; NULL without. */
	float *shrink, *shrunk, *dshrunk;
	int planned;          /* rows the buffers below hold */
	tp_cuda_acts *acts;   /* the activations and gradient scratch */
	float *mem;           /* device memory behind acts */
	int32_t *cat;         /* (planned, ncat) the batch */
	float *num;           /* (planned, nnum) */
	int8_t *label;        /* (planned) */
	float *target;        /* (planned) soft targets, when a step has them */
	float *class_weight;  /* (2) */
	tp_rng rng;           /* dropout, seeded per step as lib/model/model.c */
} tp_cuda_model;

/* Copies m's parameters to the device; m must outlive cm. */
int tp_cuda_model_init(tp_cuda *g, tp_cuda_model *cm, tp_model *m,
    tp_err *e);
void tp_cuda_model_free(tp_cuda_model *cm);
/* Makes room for steps of up to rows rows (pretraining steps take 2B). */
int tp_cuda_model_plan(tp_cuda *g, tp_cuda_model *cm, int rows, tp_err *e);
/* Writes the device's parameters into the host model's. */
int tp_cuda_model_download(tp_cuda *g, tp_cuda_model *cm, tp_err *e);

/* lib/model/model.h's steps with host batches; NAN after a failure, which the
 * next tp_cuda_sync reports. */
float tp_cuda_model_classify_step(tp_cuda *g, tp_cuda_model *cm,
    const int32_t *cat, const float *num, const int8_t *label,
    const float *target, const float *class_weight, int B, int training);
int tp_cuda_model_predict(tp_cuda *g, tp_cuda_model *cm, const int32_t *cat,
    const float *num, int B, float *prob, tp_err *e);
/* The log-odds of B rows (the difference of their logits): what an
 * ensemble's scorer averages over its members. */
int tp_cuda_model_logodds(tp_cuda *g, tp_cuda_model *cm, const int32_t *cat,
    const float *num, int B, float *logodds, tp_err *e);
float tp_cuda_model_contrast_step(tp_cuda *g, tp_cuda_model *cm,
    const int32_t *cat, const float *num, int B, float tau);

#ifdef __cplusplus
}
#endif

#endif
