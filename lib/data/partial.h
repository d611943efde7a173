/*
 * partial: the envelope of a partial result (tabpipe-partial(5)), what
 * tabpipe-evaluate, -validate and -drift write of their part of an input
 * with --partial and read back with --merge.
 *
 * A partial is a JSON object: "format": "tabpipe-partial", "version": 1,
 * "kind" ("evaluate" or "profile"), "encoding" (the data's encoding
 * fingerprint), "model" (the SHA-256 of the model file whose scores it
 * holds, or null), "rows", and "parts": the parts it was made of, each
 * {"fingerprint", "rows", "source"}, in order: one for a partial of an
 * input, and those of every partial merged into it after. The kind's
 * members follow (quality/evaluate.h, data/profile.h). Partials merge
 * when their format, version, kind, encoding and model are the same:
 * anything else is refused, naming both.
 *
 * The rows' fingerprint of a merged result is that of its one part, or,
 * of several, the SHA-256 of their fingerprints' hex digits one after the
 * other, in order: a fingerprint of the parts, not of the rows, which
 * SHA-256 cannot join.
 */
#ifndef TP_PARTIAL_H
#define TP_PARTIAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/sha256.h"
#include "base/xsum.h"
#include "data/stream.h"

#define TP_PARTIAL_FORMAT "tabpipe-partial"
enum { TP_PARTIAL_VERSION = 1 };

/* The envelope of a partial, and what it was made of. */
typedef struct {
	char kind[16];          /* "evaluate" or "profile" */
	char encoding[65];      /* the encoding's fingerprint */
	char model[65];         /* the model file's SHA-256, or "" */
	uint64_t rows;
	cJSON *parts;           /* an array of {"fingerprint", "rows",
	                           "source"}, owned */
} tp_partial;

/* The envelope of one input of rows, its fingerprint and its source (the
 * files, and the shard). model may be NULL. */
int tp_partial_init(tp_partial *p, const char *kind, const char *encoding,
    const char *model, uint64_t rows, const char *fingerprint,
    const char *source, tp_err *e);
void tp_partial_free(tp_partial *p); /* accepts a zeroed p */

/* Adds from's parts and rows to into's after checking that they merge:
 * TP_EDATA naming both (what and with) when they do not. */
int tp_partial_merge(tp_partial *into, const tp_partial *from,
    const char *what, const char *with, tp_err *e);

/* The fingerprint of the rows of every part (see above). */
void tp_partial_fingerprint(const tp_partial *p, char out[65]);

/* A new JSON object with p's envelope; the caller adds the kind's members.
 * NULL on no memory. */
cJSON *tp_partial_json(const tp_partial *p);

/* Reads the partial in path ("-", standard input) and checks its
 * envelope: TP_ENOINPUT when it cannot be opened, TP_EDATA when it is no
 * partial, another format's version, or not of kind. *json gets the
 * document (to free with cJSON_Delete), p its envelope. */
int tp_partial_read(const char *path, const char *kind, tp_partial *p,
    cJSON **json, tp_err *e);

/* A number as a partial writes it: exactly (cJSON's own printing may be
 * an ulp off), null for NaN and the infinities; NULL on no memory. */
cJSON *tp_partial_number(double v);
/* Adds it to o as key; 0 on no memory. */
int tp_partial_add_number(cJSON *o, const char *key, double v);

/* Helpers for a kind's members, which say what and where was wrong:
 * a member that must be there, a number of the given range, a string. */
const cJSON *tp_partial_member(const cJSON *o, const char *key,
    const char *where, tp_err *e);
int tp_partial_u64(const cJSON *o, const char *key, uint64_t *v,
    const char *where, tp_err *e);
int tp_partial_double(const cJSON *o, const char *key, double *v,
    const char *where, tp_err *e);
const char *tp_partial_string(const cJSON *o, const char *key,
    const char *where, tp_err *e);
/* A count (a whole number a double holds exactly) into *v; -1 when item
 * is not one. */
int tp_partial_count(const cJSON *item, uint64_t *v);

/* Counts (n) and exact sums as a partial writes them: an array of
 * numbers, a string of the sum's text form; 0 on no memory. */
cJSON *tp_partial_counts(const uint64_t *v, size_t n);
int tp_partial_add_counts(cJSON *o, const char *key, const uint64_t *v,
    size_t n);
int tp_partial_add_xsum(cJSON *o, const char *key, const tp_xsum *x);
/* Reads them back: n counts of the array a (what is wrong, or NULL), of
 * the member key of o, and an exact sum (TP_EDATA with where). */
const char *tp_partial_counts_of(const cJSON *a, uint64_t *v, size_t n);
int tp_partial_get_counts(const cJSON *o, const char *key, uint64_t *v,
    size_t n, const char *where, tp_err *e);
int tp_partial_get_xsum(const cJSON *o, const char *key, tp_xsum *x,
    const char *where, tp_err *e);

/* Merges the partials of kind at paths[0..n-1]: their envelopes into
 * env (to free, also on failure), and their kind's members through fn, called with each one's
 * member named kind, first set for paths[0]; TP_EDATA naming the partial
 * that does not merge with the first. */
typedef int tp_partial_fold_fn(void *ctx, const cJSON *member, int first,
    const char *path, tp_err *e);
int tp_partial_fold(char *const *paths, int n, const char *kind,
    tp_partial *env, tp_partial_fold_fn *fn, void *ctx, tp_err *e);

/* Hashes rows from..b->n-1 of b into s as tp_batch_fingerprint hashes
 * them, so that the rows of a stream read block by block give its
 * fingerprint. */
void tp_partial_hash_rows(tp_sha256 *s, const tp_batch *b, size_t from);

#endif
