/*
 * rows: where the training loops take their rows from, an epoch at a time.
 *
 * In memory (tp_rows_memory, or tp_rows_open without a buffer): the whole
 * data set is held, and each epoch gives its rows in an order drawn from
 * the seed and the epoch alone, a uniform shuffle (Fisher-Yates).
 *
 * Through a shuffle buffer (tp_rows_open with buffer rows): the input
 * stays in its files (several read as one, or a shard: data/shard.h), of
 * which an index of the row blocks is made by walking their headers.
 * Each epoch reads the blocks in an order drawn from the seed and the
 * epoch (a shuffle of the blocks), one block at a time, into a buffer of
 * `buffer` rows, and gives rows drawn at random from the buffer, as
 * tf.data's shuffle buffer does: the buffer is filled from the blocks;
 * the rows of a call are drawn one by one, uniformly among the buffer's
 * rows not yet drawn in that call; at the next call the slots they leave
 * are filled again from the blocks, until the blocks of the epoch are
 * spent and the buffer drains. Every row is given once an epoch; an
 * epoch starts with an empty buffer, so that it depends on the seed and
 * its number alone (a resumed run sees the same rows). With a buffer of
 * B rows and blocks of 4096, the rows of a call come from about B / 4096
 * blocks read last, rows of one block stay nearer together than in a
 * full shuffle, and a buffer as large as the data is a full shuffle
 * again (not the in-memory one's order, though). What is held is the
 * buffer, one block and the index (32 bytes a block), whatever the rows.
 *
 * Opening the buffered source reads every block once, in order, to count
 * the rows and their labels, to fingerprint them (tp_batch_fingerprint's
 * value, as if loaded) and to measure the reference profile that a model
 * file keeps (model/explain.h), and so checks every block before the
 * first step.
 */
#ifndef TP_ROWS_H
#define TP_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "data/encoding.h"
#include "data/shard.h"
#include "data/stream.h"
#include "model/explain.h"

typedef struct tp_rows tp_rows;

/* The rows of b, in memory, not copied: b must outlive the source. */
int tp_rows_memory(tp_rows **out, const tp_batch *b, tp_err *e);
/* The rows of the files paths[0..n-1] read as one (shard may be NULL):
 * with buffer 0, loaded in memory (tp_shard_load); else through a shuffle
 * buffer of buffer rows, which needs files (TP_EUSAGE for a pipe). */
int tp_rows_open(tp_rows **out, char *const *paths, int n,
    const tp_shard *shard, size_t buffer, tp_err *e);
void tp_rows_close(tp_rows *s); /* accepts NULL */

/* The encoding of the input (of the batch's rows: NULL for
 * tp_rows_memory), and the input in messages. */
const tp_encoding *tp_rows_encoding(const tp_rows *s);
/* Rows of an epoch; rows labelled 0 and 1; the rows' fingerprint. */
uint64_t tp_rows_count(const tp_rows *s);
void tp_rows_labels(const tp_rows *s, double *neg, double *pos);
void tp_rows_fingerprint(const tp_rows *s, char out[65]);
/* The rows' reference profile, as tp_reference_fit measures it (from the
 * blocks' counts and sums when buffered, so its means may differ from a
 * loaded input's in their last bits). */
int tp_rows_reference(const tp_rows *s, const tp_encoding *enc,
    tp_reference *r, tp_err *e);
/* The buffer's rows, 0 in memory. */
size_t tp_rows_buffer(const tp_rows *s);
/* The most rows held at once: the data's in memory, else the buffer's
 * and the largest block's. */
size_t tp_rows_held(const tp_rows *s);

/* Starts epoch epoch (from 1) of seed. */
int tp_rows_epoch(tp_rows *s, uint64_t seed, int epoch, tp_err *e);
/* Replaces out's rows by the next n rows of the epoch (fewer at its end;
 * out must hold n, and n be at most the buffer's rows when buffered).
 * Returns how many, 0 once the epoch is spent, -1 with e filled. */
long tp_rows_next(tp_rows *s, tp_batch *out, size_t n, tp_err *e);
/* The rows a corrupted feature of pretraining is drawn from (valid until
 * the next call): every row in memory; else the buffer's rows as the last
 * call found them, its own rows among them. */
const tp_batch *tp_rows_pool(const tp_rows *s);
/* In memory, where the rows the last tp_rows_next gave are in the pool,
 * in their order (valid until the next call): what is known of each row
 * of the data, once, is then known of a batch's rows. NULL when buffered,
 * where a buffer's rows come and go. */
const size_t *tp_rows_positions(const tp_rows *s);

#endif
