/*
 * modelfile: a model (or a pretrained encoder) in a safetensors file.
 *
 * The tensors are the parameter table's, under their state_dict names;
 * "__metadata__" holds strings: "format" ("tabpipe-model"), "parts"
 * ("encoder,head" for a classifier, "encoder,projector" for a pretrained
 * encoder), "config" and "encoding" (JSON), "threshold" (the decision
 * threshold on the positive-class probability), "run_id" and
 * "data_fingerprint" (of the training data), and the SHA-256 of the
 * tensors that tp_st_save adds to every file (TP_ST_DIGEST): a model file
 * without it is refused, since nothing else would tell damaged weights
 * from trained ones. A model file alone is enough to score raw CSV.
 */
#ifndef TP_MODELFILE_H
#define TP_MODELFILE_H

#include "base/err.h"
#include "data/encoding.h"
#include "model/model.h"
#include "model/safetensors.h"

enum { TP_WITH_HEAD = 1, TP_WITH_PROJECTOR = 2 };

typedef struct {
	double threshold;         /* decision threshold; 0.5 if none chosen */
	char run_id[64];          /* "" when untracked */
	char data_fingerprint[65];/* SHA-256 of the training rows, or "" */
	int parts;                /* TP_WITH_HEAD, TP_WITH_PROJECTOR */
	char sha256[65];          /* of the bytes loaded (not used to save) */
} tp_model_meta;

/* Writes the encoder and the parts in meta->parts, atomically. */
int tp_model_save(const char *path, const tp_model *m,
    const tp_encoding *enc, const tp_model_meta *meta, tp_err *e);

/* Reads a model file, once: its encoding, config and weights, and the
 * SHA-256 of the bytes they came from; m is initialised here. need says
 * which parts the caller needs (TP_WITH_HEAD to score). */
int tp_model_load(const char *path, tp_model *m, tp_encoding *enc,
    tp_model_meta *meta, int need, int nthreads, tp_err *e);
/* The same from a file already read and parsed (tp_st_open), which stays
 * the caller's. */
int tp_model_parse(const tp_st_file *f, tp_model *m, tp_encoding *enc,
    tp_model_meta *meta, int need, int nthreads, tp_err *e);

/* Copies the encoder's weights of a model file, as read by tp_st_open,
 * into m, whose encoding (enc) must be the file's: same fingerprint, same
 * sizes. */
int tp_model_load_encoder(const tp_st_file *f, tp_model *m,
    const tp_encoding *enc, tp_err *e);

#endif
