/*
 * train: the loops of supervised training and of contrastive pretraining.
 *
 * Training: the head's output biases set to the class prior, shuffled
 * mini-batches (the order of each epoch drawn from the seed and the epoch
 * alone, by a source of rows held in memory or read by blocks through a
 * shuffle buffer: train/rows.h), AdamW with warm-up and cosine decay, gradient clipping, and
 * after each epoch the validation AUC: the best epoch's weights are kept,
 * training stops after `patience` epochs without a better AUC, and the
 * decision threshold is the one with the best F1 on validation (or a
 * fixed one). With a teacher (distillation, Hinton et al. 2015; Bucila,
 * Caruana and Niculescu-Mizil 2006 for an ensemble), the teacher's
 * probabilities of the rows replace the labels in the cross-entropy (rows
 * in memory are scored once, a buffer's as they come): a student of one
 * model can learn what an ensemble knows and score at one model's cost.
 * A checkpoint after each epoch holds everything the next epoch depends
 * on, so a resumed run ends with the same bytes as one that was never
 * stopped. A loss that is not finite stops the run; the last
 * checkpoint stays as it was.
 *
 * Pretraining: each row of a batch gives two views, each feature corrupted
 * with probability `rate`: masked (made missing) or, as SCARF (Bahri et al.
 * 2022) does, replaced by the same feature of another row drawn at random
 * from the data (its marginal distribution); the encoder and projector are
 * trained with NT-Xent.
 *
 * Device (lib/model/score.h): the steps, the optimiser and the validation
 * scores run on the CPU (lib/model/model.h, lib/model/optim.h) or, in a
 * build with CUDA (make CUDA=1), on the GPU (lib/model/cuda/model.h,
 * lib/model/cuda/adamw.h), where the weights, gradients, moments and
 * activations stay for the whole run: only batches go in and losses and
 * probabilities come out, and the weights come back to the host model for
 * the best epoch, a checkpoint and the end. The loops and the order of the
 * rows and of the random draws are the same on both, so the model files
 * are the same files and either device loads them.
 */
#ifndef TP_TRAIN_H
#define TP_TRAIN_H

#include <stdint.h>

#include "base/err.h"
#include "data/encoding.h"
#include "data/stream.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "model/score.h"
#include "train/rows.h"

typedef struct {
	int member, members;   /* 1-based member of the ensemble, and their
	                          number (1 for one model) */
	int epoch, epochs;     /* 1-based epoch just finished, and the limit */
	double loss;           /* mean training loss of the epoch */
	double valid_auc;      /* NaN for pretraining, and for validation
	                          rows of one class */
	double valid_loss;     /* NaN for pretraining */
	int best;              /* this epoch is the best so far */
	double rows_per_s;     /* training rows a second in the epoch */
	double seconds;        /* the epoch's time */
} tp_epoch_report;

/* Called after each epoch, before its checkpoint is written. */
typedef void (*tp_progress_fn)(void *ctx, const tp_epoch_report *r);

enum tp_corruption { TP_CORRUPT_MASK, TP_CORRUPT_RESAMPLE };
/* How training reads the categorical tokens: as they are, or shrunk toward
 * their columns' means by the labels' empirical Bayes (train/shrink.h). */
enum tp_shrinkage { TP_SHRINK_NONE, TP_SHRINK_BAYES };

typedef struct {
	tp_config model;
	int epochs;
	int batch;
	float lr, weight_decay, clip;
	float warmup;          /* share of all steps spent warming up */
	uint64_t seed;
	int threads;           /* CPU threads */
	enum tp_device device; /* where the model runs */
	long buffer_rows;      /* the tools' training input through a shuffle
	                          buffer of this many rows (tp_rows_open), at
	                          least a batch; 0: the whole input in memory */
	/* Training only */
	int members;           /* models of the ensemble, trained one after
	                          the other, member j from a seed of its own */
	int patience;          /* epochs without a better validation AUC */
	int balanced;          /* class weights n / (2 n_class) */
	float class_weight[2]; /* used when set (> 0) and not balanced */
	double threshold;      /* fixed decision threshold; < 0: best F1 */
	const tp_st_file *encoder; /* pretrained encoder to start from (a
	                          model file as tp_st_open read it), or NULL */
	tp_model *teacher;     /* a classifier of the training rows' encoding
	                          (one model or an ensemble) whose
	                          probabilities are the soft targets, or NULL */
	const char *teacher_sha256; /* of its file's bytes, which a
	                          checkpoint is signed with */
	enum tp_shrinkage shrink;
	const char *checkpoint;/* where to checkpoint each epoch, or NULL */
	int resume;            /* continue from the checkpoint */
	/* Pretraining only */
	enum tp_corruption corruption;
	float rate;            /* chance that a feature is corrupted */
	float tau;             /* NT-Xent temperature */
	tp_progress_fn progress;
	void *ctx;
} tp_train_opts;

/* Defaults: every size in tp_default_config, 30 epochs of 256 rows,
 * lr 1e-3, weight decay 1e-2, clip 1, warm-up 5 %, patience 5, best-F1
 * threshold, categorical tokens shrunk by empirical Bayes, the
 * transformer learning the residual of an additive regression
 * (model.additive); pretraining masks 30 % of the features, tau 0.5.
 * Pretraining's are the same but for 10 epochs and no additive part. */
void tp_train_defaults(tp_train_opts *o);
void tp_pretrain_defaults(tp_train_opts *o);

/* The options over tp_train_opts (lib/base/option.h): those of both loops,
 * those of supervised training only, those of pretraining only. The
 * model's sizes are tp_config_options over o->model. A checkpoint is
 * signed with every option that has TP_OPT_SIGN. */
extern const tp_opt tp_train_options[];
extern const tp_opt tp_classify_options[];
extern const tp_opt tp_pretrain_options[];

typedef struct {
	double valid_auc;      /* of the best epoch; NaN when the
	                          validation rows are of one class */
	int best_epoch;
	int epochs_run;
} tp_member_result;

typedef struct {
	double threshold;      /* chosen on validation */
	double valid_auc;      /* of the best epoch; an ensemble's, of all
	                          its members at their best epochs */
	double valid_f1;       /* at the threshold */
	int best_epoch;        /* of one model, or of the first member */
	int epochs_run;
	int members;
	tp_member_result member[TP_MAX_MEMBERS];
	/* A model of cfg.additive's: the L2 penalty its regression's fit
	 * chose (train/regression.h), the fit's seconds (the sample of rows
	 * it reads included), and the regression's validation AUC alone,
	 * before the first epoch; all NaN without the part, and after
	 * --resume, whose checkpoint holds the fit. */
	double additive_penalty;
	double additive_seconds;
	double additive_auc;
} tp_train_result;

/* Member j's seed: the run's for the first (so that one member is the
 * model of the same seed), then seeds spread over 64 bits by the golden
 * ratio's step, which no small --seed of another run reaches. */
uint64_t tp_member_seed(uint64_t seed, int j);

/* What the option tables cannot check alone: a shuffle buffer holds a
 * batch at least, and a checkpoint is of one model, not of an ensemble
 * (TP_EUSAGE). */
int tp_train_check(const tp_train_opts *o, tp_err *e);

/* Trains a classifier on the rows of train, an epoch at a time as the
 * source gives them (train/rows.h; o->buffer_rows is the source's
 * business, not read here); m is initialised here and holds the best
 * weights. The validation rows are held in memory. With o->members k > 1,
 * k models one after the other, each with its own early stopping, joined
 * into an ensemble (model/model.h) whose threshold is chosen on its own
 * validation scores. */
int tp_train_rows(const tp_train_opts *o, const tp_encoding *enc,
    tp_rows *train, const tp_batch *valid, tp_model *m,
    tp_train_result *res, tp_err *e);
/* The same on rows in memory (tp_rows_memory). */
int tp_train(const tp_train_opts *o, const tp_encoding *enc,
    const tp_batch *train, const tp_batch *valid, tp_model *m,
    tp_train_result *res, tp_err *e);

/* Pretrains an encoder and projector on the rows of data; m is
 * initialised here. A feature resampled is drawn from tp_rows_pool. */
int tp_pretrain_rows(const tp_train_opts *o, const tp_encoding *enc,
    tp_rows *data, tp_model *m, tp_err *e);
int tp_pretrain(const tp_train_opts *o, const tp_encoding *enc,
    const tp_batch *data, tp_model *m, tp_err *e);

#endif
