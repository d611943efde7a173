/*
 * stream: the tensor stream (.tps) that the tools pass to each other.
 *
 * All integers are little-endian. CRC-32 is zlib's (ISO 3309).
 *
 *   header   8  magic "TPSTREAM"
 *            4  format version, 1
 *            4  length J of the encoding JSON
 *            J  the encoding JSON (see encoding.h), UTF-8
 *            4  CRC-32 of the J bytes of JSON
 *   block   24  rows R (1 or more), flags (bit 0: payload is zlib data),
 *               raw payload length, stored payload length, CRC-32 of the
 *               block's number (uint64, 1 for the first block) followed
 *               by the stored payload, CRC-32 of the 20 bytes before it
 *           S   the stored payload; once inflated, R ids (int64), R x ncat
 *               category indices (int32, row-major), R x nnum standardised
 *               numerics (float32, NaN when missing), R labels (int8: 0, 1,
 *               -1 when missing)
 *   end     24  a block header with R = 0 and a raw payload of 8 + 8 x ncat
 *               bytes: the total row count (uint64) and, per categorical
 *               feature, how many values were not in its vocabulary (uint64)
 *
 * Nothing may follow the end block. A stream cut anywhere or with any byte
 * changed is reported as truncated or corrupt: the reader never returns rows
 * that a whole, intact stream would not.
 */
#ifndef TP_STREAM_H
#define TP_STREAM_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/sha256.h"
#include "data/encoding.h"

enum { TP_STREAM_BLOCK_ROWS = 4096 }; /* rows per block the writer makes */

/* Rows in columns: a block of a stream, or a whole stream in memory. */
typedef struct {
	int64_t *id;    /* (n) */
	int32_t *cat;   /* (n, ncat) */
	float *num;     /* (n, nnum) */
	int8_t *label;  /* (n) */
	size_t n, cap;  /* rows held, rows allocated */
	int ncat, nnum;
} tp_batch;

int tp_batch_init(tp_batch *b, int ncat, int nnum, size_t cap, tp_err *e);
int tp_batch_reserve(tp_batch *b, size_t cap, tp_err *e);
void tp_batch_free(tp_batch *b); /* accepts a zeroed b */
tp_row tp_batch_row(const tp_batch *b, size_t i);
/* Copies row si of src into row di of dst (of src's features), which has
 * room for it. */
void tp_batch_copy_row(tp_batch *dst, size_t di, const tp_batch *src,
    size_t si);
/* The fingerprint of a data set: the SHA-256 of its rows, each as its id
 * (int64), categories (int32), numerics (float32) and label (int8) in the
 * stream's little-endian bytes. */
void tp_batch_fingerprint(const tp_batch *b, char out[65]);
/* Adds the rows of b to a fingerprint being made (tp_sha256_init, then
 * tp_sha256_final and tp_sha256_hex): the rows of several batches one
 * after the other get the fingerprint of one batch holding them all. */
void tp_batch_hash(const tp_batch *b, tp_sha256 *s);

typedef struct tp_stream_writer tp_stream_writer;

/* Writes the header to f at once. The encoding is copied into the header
 * and must outlive the writer. */
int tp_stream_writer_open(tp_stream_writer **out, FILE *f, const char *name,
    const tp_encoding *enc, tp_err *e);
/* The next row to fill; tp_stream_writer_add keeps it, unseen (ncat flags,
 * or NULL) counts its values that were not in the vocabulary. */
tp_row tp_stream_writer_row(tp_stream_writer *w);
int tp_stream_writer_add(tp_stream_writer *w, const uint8_t *unseen,
    tp_err *e);
/* Copies all rows of a batch. */
int tp_stream_writer_write(tp_stream_writer *w, const tp_batch *b,
    tp_err *e);
/* Adds counts (ncat) to the values not in the vocabulary that the end
 * block counts: those of rows copied from other streams. */
void tp_stream_writer_unseen(tp_stream_writer *w, const uint64_t *counts);
/* Writes the last block and the end block, flushes f and frees w, also on
 * failure. Does not close f. fingerprint (may be NULL) gets the rows'
 * fingerprint, as tp_batch_fingerprint gives it. */
int tp_stream_writer_close(tp_stream_writer *w, char fingerprint[65],
    tp_err *e);
/* Frees w without writing the end block, after a failure. */
void tp_stream_writer_abort(tp_stream_writer *w);
uint64_t tp_stream_writer_rows(const tp_stream_writer *w);

typedef struct tp_stream_reader tp_stream_reader;

/* Reads and checks the header. */
int tp_stream_reader_open(tp_stream_reader **out, FILE *f, const char *name,
    tp_err *e);
void tp_stream_reader_close(tp_stream_reader *r);
const tp_encoding *tp_stream_encoding(const tp_stream_reader *r);
/* Moves r's encoding into enc, the caller's to free: r has none after. */
void tp_stream_take_encoding(tp_stream_reader *r, tp_encoding *enc);
/* Writes the header to tee, and every byte read from now on (validate
 * --pass): tee gets the stream unchanged, flushed once the end block has
 * been read. When the reader of the copy goes away (a write fails with
 * EPIPE, as when head(1) has read enough), the copy stops and the reading
 * goes on: tee's error is cleared, nothing more is written to it, and
 * tp_stream_reader_tee_cut says so. Any other write error is TP_EIO. A
 * process that wants to live on past its reader ignores SIGPIPE. */
int tp_stream_reader_tee(tp_stream_reader *r, FILE *tee, tp_err *e);
/* Whether the copy stopped because its reader went away. */
int tp_stream_reader_tee_cut(const tp_stream_reader *r);
/* Appends up to max rows to b (whose shape must match the encoding).
 * Returns the number of rows added, 0 once the end block has been read and
 * checked, or -1 (e filled). */
long tp_stream_read(tp_stream_reader *r, tp_batch *b, size_t max, tp_err *e);
/* After the end: total rows (with a range, the rows up to where the
 * reading stopped), and unseen counts per categorical feature. */
uint64_t tp_stream_rows(const tp_stream_reader *r);
const uint64_t *tp_stream_unseen(const tp_stream_reader *r);

/*
 * Counts the rows (and the row blocks, when blocks is not NULL) of a
 * stream in a file, before reading: walks from the first block to the end
 * block, each block header checked and each payload passed over by a seek,
 * the end block read and checked (its total, nothing after it), then seeks
 * back to the first block. The end block's unseen counts are known from
 * then on. A stream that cannot be seeked in (a pipe) is TP_EUSAGE.
 */
int tp_stream_reader_count(tp_stream_reader *r, uint64_t *rows,
    uint64_t *blocks, tp_err *e);
/* Reads only the blocks whose first row (counting the stream's rows from
 * 0) is in [from, to): the blocks before are passed over by a seek past
 * their payload, neither read nor inflated nor checked but for their
 * header, and the first block after the range ends the reading, so that
 * tp_stream_read gives 0 there. Without a copy (tee), and after
 * tp_stream_reader_count, which has checked the blocks that are not read. */
void tp_stream_reader_range(tp_stream_reader *r, uint64_t from, uint64_t to);

/* Where a row block is in its stream: what reading blocks in any order
 * needs. */
typedef struct {
	uint64_t at;         /* the byte of its header, from the stream's start */
	uint64_t k;          /* its number, 1 for the first block */
	uint64_t first;      /* its first row, counting the stream's rows from 0 */
	uint32_t rows;
} tp_stream_block;

/* As tp_stream_reader_count, and gives every row block's place as well:
 * *index (to free) holds *blocks entries, in the stream's order; *rows is
 * the total. TP_EUSAGE for a stream that cannot be seeked in (a pipe). */
int tp_stream_reader_index(tp_stream_reader *r, tp_stream_block **index,
    uint64_t *blocks, uint64_t *rows, tp_err *e);
/* Moves r to block b of its index, so that tp_stream_read gives that
 * block's rows (read, checked and inflated as ever), and 0 after them.
 * Blocks may be read in any order, each as often as wanted. After
 * tp_stream_reader_index (or _count), without a copy (tee); the range of
 * tp_stream_reader_range is replaced by the block's. */
int tp_stream_reader_seek(tp_stream_reader *r, const tp_stream_block *b,
    tp_err *e);

/* Reads a whole stream from path ("-" for standard input) into b, and its
 * encoding into enc. */
int tp_stream_load(const char *path, tp_encoding *enc, tp_batch *b,
    tp_err *e);

#endif
