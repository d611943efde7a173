#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/sha256.h"
#include "train/rows.h"

struct tp_rows {
	/* In memory */
	const tp_batch *data;   /* the rows; NULL when buffered */
	tp_batch loaded;        /* data, when tp_rows_open loaded it */
	tp_encoding enc;        /* its encoding, then */
	size_t *order;          /* (data->n) the epoch's order */
	size_t given;           /* rows of the epoch given so far */
	size_t last;            /* where in order the last call's rows start */
	/* Through a shuffle buffer */
	tp_shard_reader *in;
	tp_shard_block *index;  /* (nblocks) the input's blocks */
	size_t nblocks;
	size_t *blocks;         /* (nblocks) the epoch's order of them */
	size_t next_block;      /* the next of blocks to read */
	tp_batch block;         /* the block being read */
	size_t block_pos;       /* its next row */
	size_t max_block;       /* the largest block's rows */
	tp_batch buf;           /* the buffer: buf.n rows held, buf.cap room */
	size_t avail;           /* rows [0, avail) of buf not yet drawn by the
	                           last call, [avail, buf.n) drawn by it */
	size_t buffer;          /* the buffer's rows asked for */
	tp_rng rng;             /* the epoch's draws */
	/* What the opening pass found */
	uint64_t rows;
	double neg, pos;
	char fingerprint[65];
	tp_reference ref;       /* the reference profile */
};

static void
count_labels(tp_rows *s, const tp_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		s->pos += b->label[i] == 1;
		s->neg += b->label[i] == 0;
	}
}

int
tp_rows_memory(tp_rows **out, const tp_batch *b, tp_err *e)
{
	tp_rows *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL || (s->order = malloc((b->n + 1) * sizeof(size_t))) == NULL) {
		free(s);
		return tp_err_nomem(e, "the order of the rows");
	}
	s->data = b;
	s->rows = b->n;
	count_labels(s, b);
	*out = s;
	return TP_OK;
}

/* A block's profile added to the sums of s->ref: the shares and missing
 * shares as counts (rounded back to the whole numbers they were), the
 * means as sums of the present values. The first block's profile gives
 * s->ref its shape. */
static int
profile_block(tp_rows *s, const tp_batch *b, tp_err *e)
{
	const tp_encoding *enc = tp_shard_reader_encoding(s->in);
	tp_reference p = {0};
	double n = (double)b->n;
	int rc, first = s->ref.rows == 0;

	if ((rc = tp_reference_fit(first ? &s->ref : &p, enc, b, e)) != TP_OK)
		return rc;
	tp_reference *src = first ? &s->ref : &p;
	for (int k = 0; k < s->ref.offset[s->ref.ncat]; k++) {
		double c = round(src->share[k] * n);
		s->ref.share[k] = first ? c : s->ref.share[k] + c;
	}
	for (int j = 0; j < s->ref.nnum; j++) {
		double m = round(src->missing[j] * n), sum = src->mean[j] * (n - m);
		s->ref.missing[j] = first ? m : s->ref.missing[j] + m;
		s->ref.mean[j] = first ? sum : s->ref.mean[j] + sum;
	}
	s->ref.rows = first ? b->n : s->ref.rows + b->n;
	tp_reference_free(&p);
	return TP_OK;
}

/* The sums of profile_block as shares and means. */
static void
profile_end(tp_reference *r)
{
	double n = (double)r->rows;

	for (int k = 0; k < r->offset[r->ncat]; k++)
		r->share[k] /= n;
	for (int j = 0; j < r->nnum; j++) {
		double present = n - r->missing[j];
		r->mean[j] = present > 0 ? r->mean[j] / present : 0;
		r->missing[j] /= n;
	}
}

/* Reads block i of the index into s->block. */
static int
read_block(tp_rows *s, size_t i, tp_err *e)
{
	s->block.n = 0;
	s->block_pos = 0;
	return tp_shard_read_block(s->in, &s->index[i], &s->block, e) < 0 ?
	    e->code : TP_OK;
}

/* Every block once, in order: the rows, labels, fingerprint and profile. */
static int
first_pass(tp_rows *s, tp_err *e)
{
	unsigned char digest[32];
	tp_sha256 h;
	int rc;

	tp_sha256_init(&h);
	for (size_t i = 0; i < s->nblocks; i++) {
		if ((rc = read_block(s, i, e)) != TP_OK ||
		    (rc = profile_block(s, &s->block, e)) != TP_OK)
			return rc;
		tp_batch_hash(&s->block, &h);
		count_labels(s, &s->block);
		if (s->block.n > s->max_block)
			s->max_block = s->block.n;
	}
	tp_sha256_final(&h, digest);
	tp_sha256_hex(digest, s->fingerprint);
	if (s->ref.rows > 0)
		profile_end(&s->ref);
	s->block.n = 0;
	return TP_OK;
}

static int
open_buffered(tp_rows *s, char *const *paths, int n, const tp_shard *shard,
    size_t buffer, tp_err *e)
{
	uint64_t rows;
	int rc;

	if ((rc = tp_shard_reader_open(&s->in, paths, n, shard, e)) != TP_OK)
		return rc;
	if ((rc = tp_shard_reader_index(s->in, &s->index, &s->nblocks, &rows,
	    e)) != TP_OK) {
		char why[sizeof(e->msg)];
		if (rc != TP_EUSAGE)
			return rc;
		memcpy(why, e->msg, sizeof(why));
		return tp_err_set(e, rc, "%s: name a file with --buffer-rows, or "
		    "leave it out to read the input whole", why);
	}
	const tp_encoding *enc = tp_shard_reader_encoding(s->in);
	s->buffer = buffer;
	if ((s->blocks = malloc((s->nblocks + 1) * sizeof(size_t))) == NULL)
		return tp_err_nomem(e, "the order of the blocks");
	if ((rc = tp_batch_init(&s->block, enc->ncat, enc->nnum,
	    TP_STREAM_BLOCK_ROWS, e)) != TP_OK ||
	    (rc = first_pass(s, e)) != TP_OK)
		return rc;
	s->rows = rows;
	/* No more room than the rows need. */
	return tp_batch_init(&s->buf, enc->ncat, enc->nnum,
	    buffer < rows ? buffer : (size_t)rows, e);
}

int
tp_rows_open(tp_rows **out, char *const *paths, int n, const tp_shard *shard,
    size_t buffer, tp_err *e)
{
	tp_rows *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (s == NULL)
		return tp_err_nomem(e, "a source of rows");
	if (buffer == 0) {
		if ((rc = tp_shard_load(paths, n, shard, &s->enc, &s->loaded,
		    e)) == TP_OK) {
			s->data = &s->loaded;
			s->rows = s->loaded.n;
			count_labels(s, &s->loaded);
			if ((s->order = malloc((s->loaded.n + 1) *
			    sizeof(size_t))) == NULL)
				rc = tp_err_nomem(e, "the order of the rows");
		}
	} else
		rc = open_buffered(s, paths, n, shard, buffer, e);
	if (rc != TP_OK) {
		tp_rows_close(s);
		return rc;
	}
	*out = s;
	return TP_OK;
}

void
tp_rows_close(tp_rows *s)
{
	if (s == NULL)
		return;
	free(s->order);
	tp_batch_free(&s->loaded);
	tp_encoding_free(&s->enc);
	tp_shard_reader_close(s->in);
	free(s->index);
	free(s->blocks);
	tp_batch_free(&s->block);
	tp_batch_free(&s->buf);
	tp_reference_free(&s->ref);
	free(s);
}

const tp_encoding *
tp_rows_encoding(const tp_rows *s)
{
	if (s->in != NULL)
		return tp_shard_reader_encoding(s->in);
	return s->data == &s->loaded ? &s->enc : NULL;
}

uint64_t
tp_rows_count(const tp_rows *s)
{
	return s->rows;
}

void
tp_rows_labels(const tp_rows *s, double *neg, double *pos)
{
	*neg = s->neg;
	*pos = s->pos;
}

void
tp_rows_fingerprint(const tp_rows *s, char out[65])
{
	if (s->data != NULL)
		tp_batch_fingerprint(s->data, out);
	else
		memcpy(out, s->fingerprint, 65);
}

int
tp_rows_reference(const tp_rows *s, const tp_encoding *enc, tp_reference *r,
    tp_err *e)
{
	cJSON *j;
	int rc;

	if (s->data != NULL)
		return tp_reference_fit(r, enc, s->data, e);
	if (s->ref.rows == 0)
		return tp_err_set(e, TP_EDATA,
		    "a reference profile needs at least one row");
	/* A copy, through the form a model file keeps it in. */
	if ((j = tp_reference_to_json(&s->ref)) == NULL)
		return tp_err_nomem(e, "a reference profile");
	rc = tp_reference_from_json(r, enc, j, "the training rows", e);
	cJSON_Delete(j);
	return rc;
}

size_t
tp_rows_buffer(const tp_rows *s)
{
	return s->data != NULL ? 0 : s->buffer;
}

size_t
tp_rows_held(const tp_rows *s)
{
	return s->data != NULL ? s->data->n : s->buf.cap + s->max_block;
}

/* A shuffle of 0 to n - 1 into order (Fisher-Yates). */
static void
shuffle(size_t *order, size_t n, tp_rng *r)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)tp_rng_below(r, i);
		size_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
}

int
tp_rows_epoch(tp_rows *s, uint64_t seed, int epoch, tp_err *e)
{
	uint64_t x = seed ^ ((uint64_t)epoch * UINT64_C(0xd1b54a32d192ed03));
	tp_rng r;

	(void)e;
	if (s->data != NULL) {
		tp_rng_seed(&r, x);
		shuffle(s->order, s->data->n, &r);
		s->given = s->last = 0;
		return TP_OK;
	}
	/* Another stream of draws than the in-memory order's. */
	tp_rng_seed(&s->rng, x ^ UINT64_C(0x6b10c5b0ffe75a1d));
	shuffle(s->blocks, s->nblocks, &s->rng);
	s->next_block = 0;
	s->block.n = s->block_pos = 0;
	s->buf.n = s->avail = 0;
	return TP_OK;
}

/* Fills the buffer's free slots, and those the last call drew, from the
 * blocks of the epoch, as far as they go. */
static int
refill(tp_rows *s, tp_err *e)
{
	size_t i = s->avail;
	int rc;

	while (i < s->buf.cap) {
		if (s->block_pos == s->block.n) {
			if (s->next_block == s->nblocks)
				break;
			if ((rc = read_block(s, s->blocks[s->next_block++], e)) != TP_OK)
				return rc;
			continue;
		}
		tp_batch_copy_row(&s->buf, i++, &s->block, s->block_pos++);
	}
	s->buf.n = s->avail = i;
	return TP_OK;
}

long
tp_rows_next(tp_rows *s, tp_batch *out, size_t n, tp_err *e)
{
	size_t m;

	if (out->cap < n || (s->data == NULL && n > s->buffer))
		return tp_err_set(e, TP_EINTERNAL,
		    "%zu rows asked of a buffer of %zu, into room for %zu", n,
		    s->buffer, out->cap), -1;
	out->n = 0;
	if (s->data != NULL) {
		m = s->data->n - s->given < n ? s->data->n - s->given : n;
		for (size_t i = 0; i < m; i++)
			tp_batch_copy_row(out, i, s->data, s->order[s->given + i]);
		s->last = s->given;
		s->given += m;
		out->n = m;
		return (long)m;
	}
	if (refill(s, e) != TP_OK)
		return -1;
	m = s->avail < n ? s->avail : n;
	/* Each row drawn goes to the end of the rows not yet drawn, so that
	 * the buffer still holds it (tp_rows_pool) until the next call. */
	for (size_t i = 0; i < m; i++) {
		size_t j = (size_t)tp_rng_below(&s->rng, s->avail);
		tp_batch_copy_row(out, i, &s->buf, j);
		s->avail--;
		if (j != s->avail) {
			tp_batch_copy_row(&s->buf, j, &s->buf, s->avail);
			tp_batch_copy_row(&s->buf, s->avail, out, i);
		}
	}
	out->n = m;
	return (long)m;
}

const tp_batch *
tp_rows_pool(const tp_rows *s)
{
	return s->data != NULL ? s->data : &s->buf;
}

const size_t *
tp_rows_positions(const tp_rows *s)
{
	return s->data != NULL ? s->order + s->last : NULL;
}
