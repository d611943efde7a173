/*
 * shard: several tensor streams read as one, and the part of an input
 * that one of N processes takes.
 *
 * Files of one encoding (the same fingerprint) are read as one stream, in
 * the order given: the rows of the first file, then those of the second,
 * each with its own id. Every file is opened and its header read and
 * checked before any row is, so that a file missing or of another encoding
 * is refused before a row goes out.
 *
 * Shard K of N (K from 1) of a tensor stream input is cut at block
 * boundaries. With T rows in all the files, a block whose first row is row
 * r of the whole input (from 0) belongs to shard floor(N r / T) + 1: shard
 * K holds the blocks whose first row r has (K - 1) T <= N r < K T. Every
 * block is in exactly one shard, each shard is a run of consecutive
 * blocks, and the shards come in K order, so the shards' rows one after
 * the other are the input's rows, ids and all; a shard holds T/N rows give
 * or take a block's (4096 rows), and with fewer blocks than shards some
 * shards are empty. T is known before reading by walking each file's block
 * headers to its end block (tp_stream_reader_count): the files must be
 * files, not pipes. A shard reads its own blocks alone: the others are
 * passed over by a seek, never inflated or decoded.
 *
 * The same rule cuts CSV for tabpipe-ingest, by bytes instead of rows:
 * tp_shard_range gives a shard's part of any total.
 *
 * A shard is given as "K/N", or as "auto" (or "auto/N") to take it from
 * the job array the process runs in: a Slurm array task's
 * SLURM_ARRAY_TASK_ID, counted from SLURM_ARRAY_TASK_MIN in steps of
 * SLURM_ARRAY_TASK_STEP (1 when unset), of SLURM_ARRAY_TASK_COUNT; else a
 * Kubernetes Indexed Job's JOB_COMPLETION_INDEX (from 0), whose count
 * Kubernetes does not say: it comes from auto/N or TABPIPE_SHARDS. N given
 * with auto/N overrides the array's count.
 */
#ifndef TP_SHARD_H
#define TP_SHARD_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/option.h"
#include "data/encoding.h"
#include "data/stream.h"

enum { TP_SHARD_MAX = 1000000 }; /* the most shards */

typedef struct {
	int k, n;            /* shard k of n, k from 1; n 0 (or 1): the whole
	                        input */
} tp_shard;

/* Parses "K/N", "auto" or "auto/N" into s, the environment read through
 * env (getenv, or a test's own). TP_EUSAGE with "FROM: what was wrong"
 * when arg is not one of them or the environment does not give a shard. */
int tp_shard_parse(tp_shard *s, const char *arg, const char *from,
    char *(*env)(const char *), tp_err *e);

/* The option over a tp_shard: --shard K/N|auto, recorded as "K/N". */
extern const tp_opt tp_shard_options[];

/* Whether s cuts the input: n of 2 or more. */
int tp_shard_cuts(const tp_shard *s);

/* Shard k's part [lo, hi) of positions 0 to total - 1: those p with
 * (k - 1) total <= n p < k total; [0, total) when s does not cut. */
void tp_shard_range(const tp_shard *s, uint64_t total, uint64_t *lo,
    uint64_t *hi);

/* The bytes left to read in f, a file: TP_EUSAGE, naming it, when f is a
 * pipe or another input that cannot be measured and cut. */
int tp_shard_file_size(FILE *f, const char *name, uint64_t *size, tp_err *e);

/* An input of n files, the first named first, in messages: "a.tps", or
 * "a.tps and 3 more", with ", shard 2/4" after it when s cuts; to free,
 * NULL without memory. */
char *tp_shard_name(const char *first, int n, const tp_shard *s);

typedef struct tp_shard_reader tp_shard_reader;

/* Opens paths[0..n-1] (n from 1; "-": standard input, at most once) as
 * one stream, every header read and checked: TP_ENOINPUT for a file that
 * cannot be opened, TP_EDATA for one of another encoding than the first,
 * both named. With a shard that cuts (may be NULL), counts the rows of
 * every file to cut it (TP_EUSAGE for a pipe). */
int tp_shard_reader_open(tp_shard_reader **out, char *const *paths, int n,
    const tp_shard *shard, tp_err *e);
void tp_shard_reader_close(tp_shard_reader *r); /* accepts NULL */
const tp_encoding *tp_shard_reader_encoding(const tp_shard_reader *r);
/* The input in messages: "a.tps", "a.tps and 3 more", with ", shard 2/4"
 * after it when cut. */
const char *tp_shard_reader_name(const tp_shard_reader *r);

/* As tp_stream_read: appends up to max rows to b, from one file; 0 at the
 * end of the last one (or of the shard), -1 with e filled. */
long tp_shard_read(tp_shard_reader *r, tp_batch *b, size_t max, tp_err *e);
/* Rows given so far. */
uint64_t tp_shard_reader_rows(const tp_shard_reader *r);
/* Rows of the whole input, cut or not, when it was counted to be cut;
 * else the rows given so far. */
uint64_t tp_shard_reader_total(const tp_shard_reader *r);
/* After the end: each categorical feature's values not in the vocabulary,
 * summed over the files, from their end blocks. NULL for a shard that
 * cuts: a stream counts them by file, not by block. */
const uint64_t *tp_shard_reader_unseen(const tp_shard_reader *r);

/* A row block of the input: which file it is in, and where. */
typedef struct {
	int file;               /* the file's place in the paths, from 0 */
	tp_stream_block block;  /* the block's place in that file */
} tp_shard_block;

/* The row blocks of the input, or of its shard, for reading in any order:
 * walks every file's block headers to its end block (tp_stream_reader_
 * index; TP_EUSAGE naming a file that is a pipe) and gives the blocks of
 * the input (those of the shard, by the rule above), in the input's
 * order: *index (to free) holds *n of them, *rows their rows. From then
 * on the input is read by tp_shard_read_block, not tp_shard_read. */
int tp_shard_reader_index(tp_shard_reader *r, tp_shard_block **index,
    size_t *n, uint64_t *rows, tp_err *e);
/* Appends the rows of block b of the index to out, read, checked and
 * inflated as tp_stream_read does it; returns their number, or -1 with e
 * filled. */
long tp_shard_read_block(tp_shard_reader *r, const tp_shard_block *b,
    tp_batch *out, tp_err *e);

/* Copies the input to tee as it is read (tp_stream_reader_tee): one file,
 * not cut, whose bytes go out unchanged; TP_EUSAGE otherwise. */
int tp_shard_reader_tee(tp_shard_reader *r, FILE *tee, tp_err *e);
int tp_shard_reader_tee_cut(const tp_shard_reader *r);

/* Reads the whole of the input (or its shard) into b, and its encoding
 * into enc, both the caller's to free; nothing is left in them on
 * failure. */
int tp_shard_load(char *const *paths, int n, const tp_shard *shard,
    tp_encoding *enc, tp_batch *b, tp_err *e);

#endif
