/*
 * acts: the activations and gradient scratch of one slice of R rows going
 * through the model, and their layout in one buffer. The CPU workers
 * (lib/model/model.c) and the GPU model (lib/model/cuda/model.cu) keep
 * the same ones.
 */
#ifndef TP_ACTS_H
#define TP_ACTS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "model/config.h"

/* One transformer layer's; N = R T rows of tokens. */
typedef struct {
	float *ln1, *ln1_mean, *ln1_rstd;  /* (N,C) (N) (N) */
	float *qkv;                        /* (N,3C) */
	float *att, *att_mask;             /* (R,NH,T,T) */
	float *atty;                       /* (N,C) attention output */
	float *ao, *ao_mask, *ao_d;        /* (N,C) out_proj, its dropout */
	float *x2;                         /* (N,C) after the first residual */
	float *ln2, *ln2_mean, *ln2_rstd;
	float *h, *ha, *ha_mask, *ha_d;    /* (N,F) linear1, activation, dropout */
	float *f, *f_mask, *f_d;           /* (N,C) linear2, its dropout */
	float *out;                        /* (N,C) the layer's output */
} tp_layer_acts;

typedef struct {
	float *x0;                 /* (N,C) tokens */
	tp_layer_acts *layer;      /* (L), allocated by the user */
	float *lnf, *lnf_mean, *lnf_rstd; /* final norm */
	float *pooled;             /* (R,C) */
	float *h1, *r1, *r1_mask, *r1_d;  /* (R,H) classifier head */
	float *p1, *pr;            /* (R,H) projector */
	/* Gradient scratch, reused from layer to layer. */
	float *dres, *da, *db;     /* (N,C) */
	float *dqkv;               /* (N,3C) */
	float *dh, *dha;           /* (N,F) */
	float *datt;               /* (datt_rows,NH,T,T) */
	float *dpooled;            /* (R,C) */
	float *dh1, *dr1;          /* (R,H) */
} tp_acts;

/* Hands out n floats of base after *used, rounded up to align floats so
 * that every buffer starts on a multiple of align; with base NULL it only
 * counts, so that one pass sizes the buffer and the next lays it out. */
float *tp_carve(float *base, size_t *used, size_t n, size_t align);

/* Lays out a's buffers for R rows of T tokens from base (NULL: counts
 * only), the attention gradient for datt_rows rows at a time, and returns
 * the floats used. */
size_t tp_acts_layout(tp_acts *a, const tp_config *c, int T, int R,
    int datt_rows, size_t align, float *base);

#ifdef __cplusplus
}
#endif

#endif
