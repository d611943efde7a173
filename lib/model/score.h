/*
 * score: where the model runs, and the probabilities it gives rows there.
 *
 * The CPU scores a few hundred rows at a time through tp_model_predict; a
 * GPU (a build with CUDA, make CUDA=1) scores a model uploaded once, when
 * its scorer opens, and each call sends only the rows. A device that cannot
 * be used is an error (TP_EUNAVAILABLE), never the CPU instead. Training
 * (lib/train/) runs on the same devices and scores its validation rows
 * here.
 */
#ifndef TP_SCORE_H
#define TP_SCORE_H

#include <stddef.h>

#include "base/err.h"
#include "base/option.h"
#include "data/stream.h"
#include "model/model.h"
#ifdef TP_CUDA
#include "model/cuda/model.h"
#endif

enum tp_device { TP_DEVICE_CPU, TP_DEVICE_CUDA };

extern const char *const tp_device_names[]; /* by enum tp_device, NULL-ended */

/* --device cpu|cuda, for the table of a tool that runs the model
 * (lib/base/option.h), or TABPIPE_DEVICE; its field is an enum tp_device. */
#define TP_DEVICE_OPTION(settings, member) {.key = "device", .name = "device", \
	.type = TP_OPT_CHOICE, .offset = offsetof(settings, member), \
	.choices = tp_device_names, .flags = TP_OPT_RECORD, \
	.env = "TABPIPE_DEVICE", .help = "where the model runs"}

/* "cpu" or "cuda" into *d; -1 for any other name. */
int tp_device_parse(const char *name, enum tp_device *d);
const char *tp_device_name(enum tp_device d);
/* Whether d can run the model here: always for the CPU; for CUDA, a build
 * with CUDA and a GPU that opens (TP_EUNAVAILABLE with the reason). Cheap
 * next to training, so a tool asks before it reads its input. */
int tp_device_check(enum tp_device d, tp_err *e);

/* Probabilities of the positive class for all rows of b, batch by batch,
 * on the CPU. */
int tp_score(tp_model *m, const tp_batch *b, float *prob, tp_err *e);

/* Scoring on a device: on the GPU the weights are uploaded once, when it is
 * opened, and each call sends only the rows. m must outlive the scorer and
 * keep its weights while it is open. tp_scorer_close accepts NULL. */
typedef struct tp_scorer tp_scorer;

int tp_scorer_open(tp_scorer **s, tp_model *m, enum tp_device d, tp_err *e);
/* tp_score's result on the scorer's device. */
int tp_scorer_run(tp_scorer *s, const tp_batch *b, float *prob, tp_err *e);
void tp_scorer_close(tp_scorer *s);

#ifdef TP_CUDA
/* tp_score on a model already on the GPU (training's), in slices of at
 * most the rows it is planned for. */
int tp_score_cuda(tp_cuda *g, tp_cuda_model *cm, const tp_batch *b,
    float *prob, tp_err *e);
#endif

#endif
