/*
 * modelfile: a model (or a pretrained encoder) in a safetensors file.
 *
 * The tensors are the parameter table's, under their state_dict names;
 * "__metadata__" holds strings: "format" ("tabpipe-model"), "parts"
 * ("encoder,head" for a classifier, "encoder,projector" for a pretrained
 * encoder), "config" and "encoding" (JSON), "threshold" (the decision
 * threshold on the positive-class probability), "run_id" and
 * "data_fingerprint" (of the training data), "threshold_rule" (how the
 * threshold was chosen), "history" (the epochs of the training, a
 * JSON array), "reference" (the training rows' profile that attributions
 * start from, lib/model/explain.h) and "reasons" (the texts of reason
 * codes, lib/model/reasons.h), and the SHA-256 of the tensors that tp_st_save adds to
 * every file (TP_ST_DIGEST): a model file without it is refused, since
 * nothing else would tell damaged weights from trained ones. A model file
 * alone is enough to score raw CSV, and enough to tell how it was trained.
 *
 * The history, the rule, the reference and the reasons came later: a file
 * without them loads, with none. The history is read only when asked for
 * (TP_WITH_HISTORY), the reference and reasons likewise
 * (TP_WITH_EXPLAIN), since they allocate and scoring never needs them.
 */
#ifndef TP_MODELFILE_H
#define TP_MODELFILE_H

#include "base/err.h"
#include "data/encoding.h"
#include "model/explain.h"
#include "model/model.h"
#include "model/reasons.h"
#include "model/safetensors.h"

/* The parts of a model a file holds or a caller needs; TP_WITH_HISTORY and
 * TP_WITH_EXPLAIN are no parts: in need, they ask a load for
 * meta->history, and for meta->reference and meta->reasons, too. */
enum { TP_WITH_HEAD = 1, TP_WITH_PROJECTOR = 2, TP_WITH_HISTORY = 4,
	TP_WITH_EXPLAIN = 8 };

typedef struct {
	double threshold;         /* decision threshold; 0.5 if none chosen */
	char run_id[64];          /* "" when untracked */
	char data_fingerprint[65];/* SHA-256 of the training rows, or "" */
	int parts;                /* TP_WITH_HEAD, TP_WITH_PROJECTOR */
	char sha256[65];          /* of the bytes loaded (not used to save) */
	char threshold_rule[64];  /* "best F1 on the validation rows",
	                             "given: 0.4"; "" when not said */
	char *history;            /* the epochs' reports, a JSON array of
	                             objects, compact; NULL when absent or not
	                             asked for; owned: tp_model_meta_free */
	tp_reference reference;   /* rows 0 when absent or not asked for */
	tp_reasons reasons;       /* lines 0 when absent or not asked for */
} tp_model_meta;

/* Frees meta's history, reference and reasons; accepts a zeroed meta. */
void tp_model_meta_free(tp_model_meta *meta);

/* The history of a file read by tp_st_open, to free: *history is NULL
 * when the file has none (a file written before files had one), and a
 * history that is not a JSON array of objects each with a number
 * "epoch" is refused (TP_EDATA), since a reader would draw or list it
 * wrong. */
int tp_model_history(const tp_st_file *f, char **history, tp_err *e);

/* Writes the encoder and the parts in meta->parts, atomically; a history
 * that is not as tp_model_history reads one is refused (TP_EUSAGE). */
int tp_model_save(const char *path, const tp_model *m,
    const tp_encoding *enc, const tp_model_meta *meta, tp_err *e);

/* Reads a model file, once: its encoding, config and weights, and the
 * SHA-256 of the bytes they came from; m is initialised here. need says
 * which parts the caller needs (TP_WITH_HEAD to score), and with
 * TP_WITH_HISTORY that meta->history is wanted (tp_model_meta_free then
 * frees it). On an error nothing is left to free. */
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
