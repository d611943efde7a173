/*
 * model: the TabTransformer of tabpipe, its parameters and its passes.
 *
 *   tokens     categorical feature j: row idx of its own embedding table;
 *              numeric feature j: x * w_j + b_j, or a learned "missing"
 *              token when x is missing. T = NC + NN tokens of size C.
 *   encoder    L pre-norm transformer layers, as PyTorch's
 *              nn.TransformerEncoderLayer(norm_first=True, batch_first=True):
 *              x += drop(attn(norm1(x))); x += drop(lin2(drop(act(lin1(norm2(x))))))
 *              then a final LayerNorm.
 *   pooling    the mean of the T tokens: (B,C).
 *   head       Linear(C,H) ReLU dropout Linear(H,2): the classifier.
 *   projector  Linear(C,H) ReLU Linear(H,P): pretraining only (NT-Xent).
 *
 * Numeric tokens go through attention with the categorical ones, as in
 * FT-Transformer (Gorishniy et al. 2021); the TabTransformer paper (Huang et
 * al. 2020) sends only the categorical columns through attention.
 *
 * All parameters live in one buffer, and their gradients in another, laid
 * out by one parameter table (tp_param): its names are those of the PyTorch
 * state_dict of the same model, and it drives the allocation, the
 * initialisation, the model file, the gradient check and the optimiser.
 *
 * A step splits the batch into one slice per thread; each thread runs the
 * layers on its slice with its own activations and gradient buffer, and
 * the gradients are summed at the end, in a fixed order.
 *
 * An ensemble is k such models of one config and encoding, trained apart
 * from different seeds (lib/train/train.h), whose log-odds are averaged:
 * the model holds the first member, and m->member the k - 1 others. It
 * averages log-odds, not probabilities, so that the ensemble's log-odds
 * are the mean of its members' and attributions (lib/model/explain.h)
 * add up exactly as a member's do. A step trains one member: only
 * scoring, copies, plans and files see several.
 */
#ifndef TP_MODEL_H
#define TP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/rng.h"
#include "data/encoding.h"
#include "model/additive.h"
#include "model/config.h"

/* Which part of the model a parameter belongs to. */
enum tp_part { TP_PART_ENCODER, TP_PART_HEAD, TP_PART_PROJECTOR };

enum tp_init {
	TP_INIT_ZERO, TP_INIT_ONE,
	TP_INIT_FANIN,      /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)), nn.Linear's */
	TP_INIT_XAVIER,     /* U(+-sqrt(6/(fan_in+fan_out))), in_proj's */
	TP_INIT_TOKEN,      /* U(-1/sqrt(C), 1/sqrt(C)), FT-Transformer's tokens */
};

typedef struct {
	char name[80];      /* the state_dict name */
	int ndim;
	int shape[2];
	size_t offset;      /* in floats, into params and grads */
	size_t t_offset;    /* into weight_t, of a weight kept transposed */
	size_t numel;
	enum tp_init init;
	enum tp_part part;
	int decay;          /* AdamW decays it (weights of linear layers) */
} tp_param;

typedef struct tp_worker tp_worker;

/* Where each layer's tensors are in the parameter table. */
typedef struct {
	int norm1_w, norm1_b, in_w, in_b, out_w, out_b;
	int norm2_w, norm2_b, lin1_w, lin1_b, lin2_w, lin2_b;
} tp_layer_index;

/* Where the other tensors are; -1 for one the features do not need. */
typedef struct {
	int emb;                /* the first categorical table */
	int num_w, num_b, num_miss;
	tp_layer_index *layer;  /* (layers) */
	int norm_w, norm_b;
	int head0_w, head0_b, head3_w, head3_b;
	int additive_w, additive_knot; /* cfg.additive's (model/additive.h) */
	int proj0_w, proj0_b, proj2_w, proj2_b;
} tp_model_index;

enum { TP_MAX_MEMBERS = 64 };

typedef struct tp_model {
	tp_config cfg;
	int ncat, nnum, T;      /* features and tokens */
	int *vocab_offset;      /* (ncat) first row of feature j's table */
	int vocab_rows;         /* rows of all tables */
	tp_param *param;        /* (nparam) the table */
	tp_model_index ix;
	int nparam;
	size_t nfloats;         /* total parameters */
	float *params;          /* (nfloats) */
	float *weight_t;        /* the weights of the linear layers of the
	                           forward, transposed (tp_param.t_offset) */
	int frozen;             /* weight_t holds the parameters, which will
	                           not change: see tp_model_freeze */
	float *grads;           /* (nfloats) */
	int nthreads;
	tp_worker *workers;     /* (nthreads) */
	int planned;            /* rows the activations hold */
	/* Whole-batch buffers for the losses. */
	float *logits, *probs, *dlogits;   /* (planned,2) */
	float *z, *u, *du, *dz, *znorm;    /* (planned,P), (planned) */
	float *sim;                        /* (planned, planned) */
	/* Training's shrinkage of the categorical tables (tp_model_shrink):
	 * each table row's factor, then its weight in its table's mean
	 * (2 x vocab_rows); the shrunk tables that the forward reads, and
	 * room for their gradient. NULL while the tables are read as they
	 * are. */
	float *shrink, *shrunk, *dshrunk;
	uint64_t seed;          /* of dropout */
	uint64_t step;          /* steps taken, for dropout's streams */
	int nmembers;           /* of an ensemble; 1 for one model */
	struct tp_model *member;/* (nmembers - 1) members 2..k, or NULL */
} tp_model;

/* Builds the parameter table for an encoding's features, allocates, and
 * initialises from seed. */
int tp_model_init(tp_model *m, const tp_config *cfg, const tp_encoding *enc,
    uint64_t seed, int nthreads, tp_err *e);
void tp_model_free(tp_model *m); /* with its members */
/* The additive part of a model of cfg.additive, a view of its
 * parameters "additive.weight" and "additive.knot" (head parameters,
 * which no step changes: their gradients stay zero, so that AdamW leaves
 * them where train/regression.h fitted them). */
tp_additive tp_model_additive(tp_model *m);
/* Member j (0 to nmembers - 1) of an ensemble; member 0 is m itself. */
tp_model *tp_model_member(tp_model *m, int j);
/* Makes an ensemble of m and the n models of more, all of m's config,
 * features and threads: they become m's members (more's models are moved,
 * and left zeroed), at most TP_MAX_MEMBERS in all. */
int tp_model_join(tp_model *m, tp_model *more, int n, tp_err *e);
/* Makes room for steps of up to rows rows (pretraining steps take 2B);
 * for every member. */
int tp_model_plan(tp_model *m, int rows, tp_err *e);

const tp_param *tp_model_param(const tp_model *m, const char *name);

/* Makes the forward read each categorical table shrunk toward its mean
 * (tp_shrink_forward), with factors b and weights w per table row
 * (vocab_rows of each), for every member. The parameters stay the tables
 * as they were, and their gradients are the tables', so that the
 * optimiser, checkpoints and the gradient check see what they saw;
 * tp_model_fold makes the shrunk tables the parameters, as a model file
 * keeps them, and ends the shrinkage. */
int tp_model_shrink(tp_model *m, const float *b, const float *w, tp_err *e);
void tp_model_fold(tp_model *m);

/* The forward multiplies by the linear layers' weights transposed
 * (tp_linear_forward_t), which it transposes at each step or prediction.
 * For a model that only predicts from now on (a scoring tool's), this
 * keeps them, with every member's: a prediction then writes nothing of
 * the model but its activations. A training step thaws it; nothing else
 * may change the parameters of a frozen model. */
void tp_model_freeze(tp_model *m);

/* A frozen copy of src (trained on the encoding enc) for scoring on
 * nthreads threads of its own: a server's threads each score with their
 * own, since a model's activations are its threads'. */
int tp_model_copy(tp_model *dst, const tp_model *src, const tp_encoding *enc,
    int nthreads, tp_err *e);

/* Sets the classifier's output biases to (0, log(prior / (1 - prior))), so
 * that the untrained head predicts about `prior` for every row and the
 * first steps learn features instead of the base rate (0 < prior < 1). */
void tp_model_set_prior(tp_model *m, double prior);

/* One supervised step's forward and backward: zeroes the gradients, fills
 * them, returns the mean loss. target, when not NULL, holds soft targets
 * for the labels (tp_crossentropy_forward). training turns dropout on. */
float tp_model_classify_step(tp_model *m, const int32_t *cat,
    const float *num, const int8_t *label, const float *target,
    const float *class_weight, int B, int training);
/* Forward only: the probability of the positive class for B rows; of an
 * ensemble, the sigmoid of its members' mean log-odds. */
void tp_model_predict(tp_model *m, const int32_t *cat, const float *num,
    int B, float *prob);
/* The tokens of B rows, (B,T,C): what the encoder reads of them. */
void tp_model_tokens(const tp_model *m, const int32_t *cat,
    const float *num, int B, float *tokens);
/* For B rows given as tokens (B,T,C), each row's log-odds of the positive
 * class (the difference of its logits) and the gradient of the log-odds
 * with respect to the tokens, grad (B,T,C), without dropout: what
 * attributions are made of (lib/model/explain.h). The model must be
 * planned for B rows (tp_model_plan); no parameter's gradient changes. */
void tp_model_token_gradient(tp_model *m, const float *tokens, int B,
    float *logodds, float *grad);
/* One contrastive step on 2B rows, the first B one view and the next B the
 * other view of the same rows: NT-Xent with temperature tau. */
float tp_model_contrast_step(tp_model *m, const int32_t *cat,
    const float *num, int B, float tau);

#endif
