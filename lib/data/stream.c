#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "base/fileio.h"
#include "base/sha256.h"
#include "data/stream.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "the stream payload is written with memcpy: a little-endian host is assumed");

static const char MAGIC[8] = "TPSTREAM";
enum { VERSION = 1, BLOCK_HEADER = 24, MAX_BLOCK_ROWS = 1 << 20,
	MAX_JSON = 1 << 28 };

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint32_t
crc(const void *p, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

/* A payload's CRC covers its block's number too (uint64, 1 for the first
 * block), so that blocks swapped, dropped or repeated do not check. */
static uint32_t
payload_crc(uint64_t block, const void *p, size_t len)
{
	unsigned char n[8];

	for (int i = 0; i < 8; i++)
		n[i] = (unsigned char)(block >> (8 * i));
	return (uint32_t)crc32(crc32(crc32(0L, Z_NULL, 0), n, 8), p, (uInt)len);
}

static size_t
row_bytes(int ncat, int nnum)
{
	return sizeof(int64_t) + (size_t)ncat * sizeof(int32_t) +
	    (size_t)nnum * sizeof(float) + sizeof(int8_t);
}

int
tp_batch_init(tp_batch *b, int ncat, int nnum, size_t cap, tp_err *e)
{
	memset(b, 0, sizeof(*b));
	b->ncat = ncat;
	b->nnum = nnum;
	return tp_batch_reserve(b, cap, e);
}

int
tp_batch_reserve(tp_batch *b, size_t cap, tp_err *e)
{
	if (cap <= b->cap)
		return TP_OK;
	/* Grow by half at least, so that reading a stream a block at a time
	 * costs linear time. */
	if (cap < b->cap + b->cap / 2)
		cap = b->cap + b->cap / 2;
	void *id = realloc(b->id, cap * sizeof(*b->id));
	if (id != NULL)
		b->id = id;
	void *cat = realloc(b->cat, cap * (size_t)b->ncat * sizeof(*b->cat) + 1);
	if (cat != NULL)
		b->cat = cat;
	void *num = realloc(b->num, cap * (size_t)b->nnum * sizeof(*b->num) + 1);
	if (num != NULL)
		b->num = num;
	void *label = realloc(b->label, cap * sizeof(*b->label));
	if (label != NULL)
		b->label = label;
	if (id == NULL || cat == NULL || num == NULL || label == NULL)
		return tp_err_nomem(e, "a batch of rows");
	b->cap = cap;
	return TP_OK;
}

void
tp_batch_free(tp_batch *b)
{
	if (b == NULL)
		return;
	free(b->id);
	free(b->cat);
	free(b->num);
	free(b->label);
	memset(b, 0, sizeof(*b));
}

/* Hashes n rows held column by column, row after row, so that the
 * fingerprint does not depend on how rows are cut into blocks. */
static void
hash_rows(tp_sha256 *s, const int64_t *id, const int32_t *cat,
    const float *num, const int8_t *label, size_t n, int ncat, int nnum)
{
	for (size_t i = 0; i < n; i++) {
		tp_sha256_update(s, id + i, sizeof(*id));
		tp_sha256_update(s, cat + i * (size_t)ncat, (size_t)ncat * sizeof(*cat));
		tp_sha256_update(s, num + i * (size_t)nnum, (size_t)nnum * sizeof(*num));
		tp_sha256_update(s, label + i, sizeof(*label));
	}
}

void
tp_batch_hash(const tp_batch *b, tp_sha256 *s)
{
	hash_rows(s, b->id, b->cat, b->num, b->label, b->n, b->ncat, b->nnum);
}

void
tp_batch_fingerprint(const tp_batch *b, char out[65])
{
	tp_sha256 s;
	unsigned char d[32];

	tp_sha256_init(&s);
	hash_rows(&s, b->id, b->cat, b->num, b->label, b->n, b->ncat, b->nnum);
	tp_sha256_final(&s, d);
	tp_sha256_hex(d, out);
}

void
tp_batch_copy_row(tp_batch *dst, size_t di, const tp_batch *src, size_t si)
{
	dst->id[di] = src->id[si];
	memcpy(dst->cat + di * (size_t)dst->ncat, src->cat + si * (size_t)src->ncat,
	    (size_t)src->ncat * sizeof(int32_t));
	memcpy(dst->num + di * (size_t)dst->nnum, src->num + si * (size_t)src->nnum,
	    (size_t)src->nnum * sizeof(float));
	dst->label[di] = src->label[si];
}

tp_row
tp_batch_row(const tp_batch *b, size_t i)
{
	return (tp_row){
		.id = b->id + i,
		.cat = b->cat + i * (size_t)b->ncat,
		.num = b->num + i * (size_t)b->nnum,
		.label = b->label + i,
	};
}

/*
 * Deflating a block costs more than parsing its CSV, so two packer threads
 * deflate full blocks while the caller hashes each for the fingerprint and
 * fills the next one. A packer writes its block when every earlier one is
 * written, so the blocks, and the bytes of the stream, are in the order
 * the rows came, as without threads.
 */
enum { NPACKERS = 2, NSLOTS = NPACKERS + 1 };

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_FULL, SLOT_PACKING };

typedef struct {
	unsigned char *raw;  /* the payload */
	size_t cap, len;
	uint32_t rows;
	uint64_t seq;        /* its place among the blocks */
	enum slot_state state;
} slot;

typedef struct {
	tp_stream_writer *w;
	pthread_t thread;
	unsigned char *packed; /* its deflate buffer */
	size_t packedcap;
	z_stream zs;         /* its deflate state, reset per block */
	int zs_ready;
} packer;

struct tp_stream_writer {
	FILE *f;
	const char *name;
	tp_batch block;      /* rows not yet handed over */
	uint64_t rows;       /* rows handed to the packers */
	uint64_t nblock;     /* blocks written */
	tp_sha256 hash;      /* of the rows written, for the fingerprint */
	uint64_t *unseen;    /* (ncat) */
	slot slots[NSLOTS];
	packer packers[NPACKERS];
	int started;         /* packers running */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next_seq;   /* the number of the next full block */
	uint64_t next_write; /* the number of the block to write next */
	int quit;            /* the packers are to stop */
	tp_err werr;         /* the packers' first failure; code 0 if none */
};

static int
write_bytes(tp_stream_writer *w, const void *p, size_t len, tp_err *e)
{
	if (fwrite(p, 1, len, w->f) != len)
		return tp_err_set(e, TP_EIO, "%s: write error: %s", w->name,
		    strerror(errno));
	return TP_OK;
}

/* Deflates raw at level 1 into the packer's buffer when that saves at
 * least an eighth of it; *stored and *storedlen are then the deflated
 * bytes and the result 1, else raw itself and 0. One deflate state serves
 * all blocks: setting one up costs more than resetting it. */
static int
pack(packer *pk, const unsigned char *raw, size_t rawlen,
    const unsigned char **stored, size_t *storedlen, tp_err *e)
{
	uLongf packedlen = compressBound((uLong)rawlen);
	int rc;

	*stored = raw;
	*storedlen = rawlen;
	if (rawlen <= 256)
		return 0;
	if (packedlen > pk->packedcap) {
		unsigned char *np = realloc(pk->packed, packedlen);
		if (np == NULL) {
			tp_err_nomem(e, "a compressed block");
			return -1;
		}
		pk->packed = np;
		pk->packedcap = packedlen;
	}
	rc = pk->zs_ready ? deflateReset(&pk->zs) : deflateInit(&pk->zs, 1);
	if (rc != Z_OK)
		return 0;
	pk->zs_ready = 1;
	pk->zs.next_in = (Bytef *)raw;
	pk->zs.avail_in = (uInt)rawlen;
	pk->zs.next_out = pk->packed;
	pk->zs.avail_out = (uInt)packedlen;
	if (deflate(&pk->zs, Z_FINISH) != Z_STREAM_END ||
	    pk->zs.total_out >= rawlen - rawlen / 8)
		return 0;
	*stored = pk->packed;
	*storedlen = pk->zs.total_out;
	return 1;
}

/* Writes one block, the next in order: its header and its payload. */
static int
write_block(tp_stream_writer *w, uint32_t rows, uint32_t flags,
    size_t rawlen, const unsigned char *stored, size_t storedlen, tp_err *e)
{
	unsigned char h[BLOCK_HEADER];
	int rc;

	put32(h, rows);
	put32(h + 4, flags);
	put32(h + 8, (uint32_t)rawlen);
	put32(h + 12, (uint32_t)storedlen);
	put32(h + 16, payload_crc(++w->nblock, stored, storedlen));
	put32(h + 20, crc(h, 20));
	if ((rc = write_bytes(w, h, sizeof(h), e)) != TP_OK)
		return rc;
	return write_bytes(w, stored, storedlen, e);
}

/* The full slot that came first, or NULL. */
static slot *
first_full(tp_stream_writer *w)
{
	slot *first = NULL;

	for (int i = 0; i < NSLOTS; i++)
		if (w->slots[i].state == SLOT_FULL &&
		    (first == NULL || w->slots[i].seq < first->seq))
			first = &w->slots[i];
	return first;
}

static void *
work(void *arg)
{
	packer *pk = arg;
	tp_stream_writer *w = pk->w;
	slot *s;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while ((s = first_full(w)) == NULL && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		/* Stopping without a drain is an abort: what is not taken is
		 * not written. Blocks are taken in order, so no packer waits
		 * for one that is left. */
		if (w->quit)
			break;
		s->state = SLOT_PACKING;
		int failed = w->werr.code != TP_OK;
		pthread_mutex_unlock(&w->mu);

		tp_err e = {0};
		const unsigned char *stored = s->raw;
		size_t storedlen = s->len;
		int flags = failed ? 0 : pack(pk, s->raw, s->len, &stored,
		    &storedlen, &e);

		pthread_mutex_lock(&w->mu);
		while (w->next_write != s->seq)
			pthread_cond_wait(&w->cv, &w->mu);
		failed = w->werr.code != TP_OK;
		pthread_mutex_unlock(&w->mu);
		/* Only this packer writes now: the others wait their turn. */
		int rc = failed ? TP_OK : flags < 0 ? e.code :
		    write_block(w, s->rows, (uint32_t)flags, s->len, stored,
		    storedlen, &e);
		pthread_mutex_lock(&w->mu);
		if (rc != TP_OK && w->werr.code == TP_OK)
			w->werr = e;
		w->next_write++;
		s->state = SLOT_FREE;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits until every block handed over is written; returns the packers'
 * failure, if any. */
static int
drain(tp_stream_writer *w, tp_err *e)
{
	int rc = TP_OK;

	pthread_mutex_lock(&w->mu);
	while (w->next_write != w->next_seq)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->werr.code != TP_OK) {
		rc = w->werr.code;
		if (e != NULL)
			*e = w->werr;
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static void
stop_packers(tp_stream_writer *w)
{
	if (w->started == 0)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->started; i++)
		pthread_join(w->packers[i].thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	w->started = 0;
}

/* Lays out the pending rows as a payload in a free slot, hashes them, and
 * hands the slot to the packers. */
static int
flush_rows(tp_stream_writer *w, tp_err *e)
{
	const tp_batch *b = &w->block;
	size_t n = b->n, len = n * row_bytes(b->ncat, b->nnum);
	slot *s = NULL;
	unsigned char *p;

	if (n == 0)
		return TP_OK;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		for (int i = 0; s == NULL && i < NSLOTS; i++)
			if (w->slots[i].state == SLOT_FREE)
				s = &w->slots[i];
		if (s != NULL || w->werr.code != TP_OK)
			break;
		pthread_cond_wait(&w->cv, &w->mu);
	}
	if (s == NULL) {
		*e = w->werr;
		pthread_mutex_unlock(&w->mu);
		return e->code;
	}
	s->state = SLOT_FILLING;
	pthread_mutex_unlock(&w->mu);
	if (len > s->cap) {
		unsigned char *nr = realloc(s->raw, len);
		if (nr == NULL) {
			pthread_mutex_lock(&w->mu);
			s->state = SLOT_FREE;
			pthread_mutex_unlock(&w->mu);
			return tp_err_nomem(e, "a block");
		}
		s->raw = nr;
		s->cap = len;
	}
	p = s->raw;
	memcpy(p, b->id, n * sizeof(*b->id));
	p += n * sizeof(*b->id);
	memcpy(p, b->cat, n * (size_t)b->ncat * sizeof(*b->cat));
	p += n * (size_t)b->ncat * sizeof(*b->cat);
	memcpy(p, b->num, n * (size_t)b->nnum * sizeof(*b->num));
	p += n * (size_t)b->nnum * sizeof(*b->num);
	memcpy(p, b->label, n * sizeof(*b->label));
	hash_rows(&w->hash, b->id, b->cat, b->num, b->label, n, b->ncat,
	    b->nnum);
	w->rows += n;
	w->block.n = 0;
	pthread_mutex_lock(&w->mu);
	s->len = len;
	s->rows = (uint32_t)n;
	s->seq = w->next_seq++;
	s->state = SLOT_FULL;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return TP_OK;
}

int
tp_stream_writer_open(tp_stream_writer **out, FILE *f, const char *name,
    const tp_encoding *enc, tp_err *e)
{
	tp_stream_writer *w = calloc(1, sizeof(*w));
	cJSON *json = NULL;
	char *text = NULL;
	unsigned char h[16], c[4];
	int rc;

	*out = NULL;
	if (w == NULL)
		return tp_err_nomem(e, "a stream writer");
	w->f = f;
	w->name = name;
	if ((rc = tp_batch_init(&w->block, enc->ncat, enc->nnum,
	    TP_STREAM_BLOCK_ROWS, e)) != TP_OK)
		goto fail;
	if ((w->unseen = calloc((size_t)enc->ncat + 1, sizeof(*w->unseen))) == NULL ||
	    (json = tp_encoding_to_json(enc)) == NULL ||
	    (text = cJSON_PrintUnformatted(json)) == NULL) {
		rc = tp_err_nomem(e, "a stream header");
		goto fail;
	}
	size_t len = strlen(text);
	memcpy(h, MAGIC, 8);
	put32(h + 8, VERSION);
	put32(h + 12, (uint32_t)len);
	put32(c, crc(text, len));
	if ((rc = write_bytes(w, h, sizeof(h), e)) != TP_OK ||
	    (rc = write_bytes(w, text, len, e)) != TP_OK ||
	    (rc = write_bytes(w, c, sizeof(c), e)) != TP_OK)
		goto fail;
	tp_sha256_init(&w->hash);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	for (int i = 0; i < NPACKERS; i++) {
		w->packers[i].w = w;
		if (pthread_create(&w->packers[i].thread, NULL, work,
		    &w->packers[i]) != 0) {
			if (w->started == 0) {
				pthread_mutex_destroy(&w->mu);
				pthread_cond_destroy(&w->cv);
			}
			rc = tp_err_set(e, TP_EINTERNAL, "cannot start a writer thread");
			goto fail;
		}
		w->started++;
	}
	cJSON_Delete(json);
	free(text);
	*out = w;
	return TP_OK;
fail:
	cJSON_Delete(json);
	free(text);
	tp_stream_writer_abort(w);
	return rc;
}

tp_row
tp_stream_writer_row(tp_stream_writer *w)
{
	return tp_batch_row(&w->block, w->block.n);
}

int
tp_stream_writer_add(tp_stream_writer *w, const uint8_t *unseen, tp_err *e)
{
	if (unseen != NULL)
		for (int j = 0; j < w->block.ncat; j++)
			w->unseen[j] += unseen[j];
	if (++w->block.n == w->block.cap)
		return flush_rows(w, e);
	return TP_OK;
}

int
tp_stream_writer_write(tp_stream_writer *w, const tp_batch *b, tp_err *e)
{
	int rc;

	for (size_t i = 0; i < b->n; i++) {
		tp_row from = tp_batch_row(b, i), to = tp_stream_writer_row(w);
		*to.id = *from.id;
		*to.label = *from.label;
		memcpy(to.cat, from.cat, (size_t)b->ncat * sizeof(*to.cat));
		memcpy(to.num, from.num, (size_t)b->nnum * sizeof(*to.num));
		if ((rc = tp_stream_writer_add(w, NULL, e)) != TP_OK)
			return rc;
	}
	return TP_OK;
}

void
tp_stream_writer_unseen(tp_stream_writer *w, const uint64_t *counts)
{
	for (int j = 0; j < w->block.ncat; j++)
		w->unseen[j] += counts[j];
}

uint64_t
tp_stream_writer_rows(const tp_stream_writer *w)
{
	return w->rows + w->block.n;
}

int
tp_stream_writer_close(tp_stream_writer *w, char fingerprint[65], tp_err *e)
{
	int rc;

	if ((rc = flush_rows(w, e)) == TP_OK && (rc = drain(w, e)) == TP_OK) {
		stop_packers(w);
		if (fingerprint != NULL) {
			unsigned char d[32];
			tp_sha256_final(&w->hash, d);
			tp_sha256_hex(d, fingerprint);
		}
		size_t len = 8 * ((size_t)w->block.ncat + 1);
		unsigned char *end = malloc(len);
		if (end == NULL)
			rc = tp_err_nomem(e, "the end block");
		else {
			memcpy(end, &w->rows, 8);
			memcpy(end + 8, w->unseen, len - 8);
			rc = write_block(w, 0, 0, len, end, len, e);
			free(end);
		}
	}
	if (rc == TP_OK && fflush(w->f) != 0)
		rc = tp_err_set(e, TP_EIO, "%s: write error: %s", w->name,
		    strerror(errno));
	tp_stream_writer_abort(w);
	return rc;
}

void
tp_stream_writer_abort(tp_stream_writer *w)
{
	if (w == NULL)
		return;
	stop_packers(w);
	tp_batch_free(&w->block);
	free(w->unseen);
	for (int i = 0; i < NSLOTS; i++)
		free(w->slots[i].raw);
	for (int i = 0; i < NPACKERS; i++) {
		free(w->packers[i].packed);
		if (w->packers[i].zs_ready)
			deflateEnd(&w->packers[i].zs);
	}
	free(w);
}

struct tp_stream_reader {
	FILE *f, *tee;
	const char *name;
	tp_encoding enc;
	uint64_t offset;     /* bytes read so far */
	uint64_t nblock;     /* blocks read so far */
	uint64_t rows;       /* rows read so far */
	uint64_t *unseen;    /* (ncat) from the end block */
	int32_t *vocab_n;    /* (ncat) vocabulary sizes: the largest index */
	int done;            /* the end block has been read */
	int tee_cut;         /* the copy's reader went away (EPIPE) */
	unsigned char *header; /* the header's bytes as read */
	size_t headerlen;
	unsigned char *raw, *stored;
	size_t rawcap, storedcap;
	size_t pos, left;    /* rows of the current block: next, remaining */
	uint64_t from, to;   /* the range: the blocks whose first row (from
	                        0) is in [from, to) */
	uint64_t size;       /* the file's size, once counted */
	off_t origin;        /* the file's position of the stream's byte 0,
	                        once counted */
};

/* Writes len bytes of p to the tee, if there is one, or flushes it when p
 * is NULL. A reader of the copy that went away (EPIPE) ends the copy, not
 * the reading: the tee is dropped and its error cleared, so that its
 * owner's final check of it passes. */
static int
copy(tp_stream_reader *r, const void *p, size_t len, tp_err *e)
{
	if (r->tee == NULL || (p != NULL ? fwrite(p, 1, len, r->tee) == len :
	    fflush(r->tee) == 0))
		return TP_OK;
	if (errno == EPIPE) {
		clearerr(r->tee);
		r->tee = NULL;
		r->tee_cut = 1;
		return TP_OK;
	}
	return tp_err_set(e, TP_EIO, "copy of %s: write error: %s", r->name,
	    strerror(errno));
}

/* Reads exactly len bytes; what names the part for a truncation message. */
static int
read_bytes(tp_stream_reader *r, void *p, size_t len, const char *what,
    tp_err *e)
{
	size_t got = fread(p, 1, len, r->f);
	int rc;

	if (got < len) {
		if (ferror(r->f))
			return tp_err_set(e, TP_EIO, "%s: read error: %s", r->name,
			    strerror(errno));
		return tp_err_set(e, TP_EDATA,
		    "%s: truncated: the stream ends at byte %llu, inside %s",
		    r->name, (unsigned long long)(r->offset + got), what);
	}
	if ((rc = copy(r, p, len, e)) != TP_OK)
		return rc;
	r->offset += len;
	return TP_OK;
}

static int
grow(unsigned char **p, size_t *cap, size_t len, tp_err *e)
{
	if (len <= *cap)
		return TP_OK;
	unsigned char *np = realloc(*p, len);
	if (np == NULL)
		return tp_err_nomem(e, "a stream block");
	*p = np;
	*cap = len;
	return TP_OK;
}

int
tp_stream_reader_open(tp_stream_reader **out, FILE *f, const char *name,
    tp_err *e)
{
	tp_stream_reader *r = calloc(1, sizeof(*r));
	unsigned char h[16], c[4];
	char *json = NULL;
	cJSON *parsed = NULL;
	int rc;

	*out = NULL;
	if (r == NULL)
		return tp_err_nomem(e, "a stream reader");
	r->f = f;
	r->name = name;
	r->to = UINT64_MAX;
	r->size = UINT64_MAX;
	if ((rc = read_bytes(r, h, sizeof(h), "the header", e)) != TP_OK)
		goto fail;
	if (memcmp(h, MAGIC, 8) != 0) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: not a tensor stream (expected magic \"TPSTREAM\" at byte 0; is it CSV? use tabpipe-ingest)",
		    name);
		goto fail;
	}
	if (get32(h + 8) != VERSION) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: stream format version %u, this tabpipe reads version %d",
		    name, get32(h + 8), VERSION);
		goto fail;
	}
	uint32_t len = get32(h + 12);
	if (len == 0 || len > MAX_JSON) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: corrupt: header JSON length %u at byte 12", name, len);
		goto fail;
	}
	if ((json = malloc((size_t)len + 1)) == NULL) {
		rc = tp_err_nomem(e, "a stream header");
		goto fail;
	}
	if ((rc = read_bytes(r, json, len, "the header", e)) != TP_OK ||
	    (rc = read_bytes(r, c, 4, "the header", e)) != TP_OK)
		goto fail;
	if (get32(c) != crc(json, len)) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: corrupt: header CRC mismatch (bytes 16 to %u)", name,
		    15 + len);
		goto fail;
	}
	if ((r->header = malloc(20 + (size_t)len)) == NULL) {
		rc = tp_err_nomem(e, "a stream header");
		goto fail;
	}
	r->headerlen = 20 + (size_t)len;
	memcpy(r->header, h, 16);
	memcpy(r->header + 16, json, len);
	memcpy(r->header + 16 + len, c, 4);
	json[len] = '\0';
	if ((parsed = cJSON_Parse(json)) == NULL) {
		rc = tp_err_set(e, TP_EDATA, "%s: corrupt: header is not JSON",
		    name);
		goto fail;
	}
	if ((rc = tp_encoding_from_json(&r->enc, parsed, name, e)) != TP_OK)
		goto fail;
	if ((r->unseen = calloc((size_t)r->enc.ncat + 1, sizeof(*r->unseen))) == NULL ||
	    (r->vocab_n = calloc((size_t)r->enc.ncat + 1, sizeof(*r->vocab_n))) == NULL) {
		rc = tp_err_nomem(e, "a stream reader");
		goto fail;
	}
	for (int j = 0; j < r->enc.ncols; j++)
		if (r->enc.cols[j].kind == TP_KIND_CATEGORICAL)
			r->vocab_n[r->enc.cols[j].slot] = (int32_t)r->enc.cols[j].vocab.n;
	free(json);
	cJSON_Delete(parsed);
	*out = r;
	return TP_OK;
fail:
	free(json);
	cJSON_Delete(parsed);
	tp_stream_reader_close(r);
	return rc;
}

void
tp_stream_reader_close(tp_stream_reader *r)
{
	if (r == NULL)
		return;
	tp_encoding_free(&r->enc);
	free(r->unseen);
	free(r->vocab_n);
	free(r->header);
	free(r->raw);
	free(r->stored);
	free(r);
}

const tp_encoding *
tp_stream_encoding(const tp_stream_reader *r)
{
	return &r->enc;
}

void
tp_stream_take_encoding(tp_stream_reader *r, tp_encoding *enc)
{
	*enc = r->enc;
	memset(&r->enc, 0, sizeof(r->enc));
}

int
tp_stream_reader_tee(tp_stream_reader *r, FILE *tee, tp_err *e)
{
	r->tee = tee;
	return copy(r, r->header, r->headerlen, e);
}

int
tp_stream_reader_tee_cut(const tp_stream_reader *r)
{
	return r->tee_cut;
}

/* A block header as read and checked. */
typedef struct {
	uint64_t at;         /* its byte offset */
	uint64_t k;          /* its number, from 1 */
	uint32_t rows, flags, rawlen, storedlen, crc;
} block_header;

/* Reads the next block's header and checks its CRC and its sizes. */
static int
read_header(tp_stream_reader *r, block_header *bh, tp_err *e)
{
	unsigned char h[BLOCK_HEADER];
	size_t rb = row_bytes(r->enc.ncat, r->enc.nnum);
	int rc;

	bh->at = r->offset;
	bh->k = r->nblock + 1;
	if ((rc = read_bytes(r, h, sizeof(h), "a block header", e)) != TP_OK)
		return rc;
	if (get32(h + 20) != crc(h, 20))
		return tp_err_set(e, TP_EDATA,
		    "%s: corrupt: block %llu at byte %llu: header CRC mismatch",
		    r->name, (unsigned long long)bh->k, (unsigned long long)bh->at);
	bh->rows = get32(h);
	bh->flags = get32(h + 4);
	bh->rawlen = get32(h + 8);
	bh->storedlen = get32(h + 12);
	bh->crc = get32(h + 16);
	size_t expect = bh->rows == 0 ? 8 * ((size_t)r->enc.ncat + 1) :
	    bh->rows * rb;
	if (bh->rows > MAX_BLOCK_ROWS || bh->rawlen != expect || bh->flags > 1 ||
	    (bh->flags == 0 && bh->storedlen != bh->rawlen) ||
	    (bh->flags == 1 && bh->storedlen > compressBound(bh->rawlen)))
		return tp_err_set(e, TP_EDATA,
		    "%s: corrupt: block %llu at byte %llu: %u rows, %u bytes raw, %u stored do not agree with the encoding (%zu bytes a row)",
		    r->name, (unsigned long long)bh->k, (unsigned long long)bh->at,
		    bh->rows, bh->rawlen, bh->storedlen, rb);
	return TP_OK;
}

/* Passes over a row block's payload without reading it: a seek by its
 * stored length, in a file whose size is known. */
static int
skip_payload(tp_stream_reader *r, const block_header *bh, tp_err *e)
{
	if (r->offset + bh->storedlen > r->size)
		return tp_err_set(e, TP_EDATA,
		    "%s: truncated: the stream ends at byte %llu, inside a block payload",
		    r->name, (unsigned long long)r->size);
	if (fseeko(r->f, (off_t)bh->storedlen, SEEK_CUR) != 0)
		return tp_err_set(e, TP_EIO, "%s: cannot seek: %s", r->name,
		    strerror(errno));
	r->offset += bh->storedlen;
	r->nblock = bh->k;
	r->rows += bh->rows;
	return TP_OK;
}

/* Reads the payload of the block whose header is bh into r->raw and
 * checks it; the end block's total, and that nothing follows it. */
static int
read_payload(tp_stream_reader *r, const block_header *bh, tp_err *e)
{
	uint32_t rawlen = bh->rawlen, storedlen = bh->storedlen;
	uint64_t k = bh->k, at = bh->at;
	int rc;

	if ((rc = grow(&r->raw, &r->rawcap, rawlen, e)) != TP_OK ||
	    (rc = grow(&r->stored, &r->storedcap, storedlen, e)) != TP_OK)
		return rc;
	unsigned char *dst = bh->flags ? r->stored : r->raw;
	if ((rc = read_bytes(r, dst, storedlen, "a block payload", e)) != TP_OK)
		return rc;
	if (bh->crc != payload_crc(k, dst, storedlen))
		return tp_err_set(e, TP_EDATA,
		    "%s: corrupt: block %llu at byte %llu: payload CRC mismatch",
		    r->name, (unsigned long long)k, (unsigned long long)at);
	if (bh->flags) {
		uLongf outlen = rawlen;
		if (uncompress(r->raw, &outlen, r->stored, storedlen) != Z_OK ||
		    outlen != rawlen)
			return tp_err_set(e, TP_EDATA,
			    "%s: corrupt: block %llu at byte %llu: payload does not inflate to %u bytes",
			    r->name, (unsigned long long)k,
			    (unsigned long long)at, rawlen);
	}
	r->nblock = k;
	if (bh->rows == 0) {
		uint64_t total;
		memcpy(&total, r->raw, 8);
		if (total != r->rows)
			return tp_err_set(e, TP_EDATA,
			    "%s: corrupt: the end block counts %llu rows, the blocks hold %llu",
			    r->name, (unsigned long long)total,
			    (unsigned long long)r->rows);
		memcpy(r->unseen, r->raw + 8, 8 * (size_t)r->enc.ncat);
		if (fgetc(r->f) != EOF)
			return tp_err_set(e, TP_EDATA,
			    "%s: corrupt: bytes after the end block at byte %llu",
			    r->name, (unsigned long long)r->offset);
		r->done = 1;
		return copy(r, NULL, 0, e); /* the copy is whole */
	}
	r->pos = 0;
	r->left = bh->rows;
	return TP_OK;
}

/* Reads the next block of the range into r->raw and checks it: the blocks
 * before the range are passed over, and the first one after it ends the
 * reading. */
static int
next_block(tp_stream_reader *r, tp_err *e)
{
	block_header bh;
	int rc;

	for (;;) {
		if ((rc = read_header(r, &bh, e)) != TP_OK)
			return rc;
		if (bh.rows == 0 || r->rows >= r->from)
			break;
		if ((rc = skip_payload(r, &bh, e)) != TP_OK)
			return rc;
	}
	if (bh.rows > 0 && r->rows >= r->to) {
		r->done = 1;
		return TP_OK;
	}
	return read_payload(r, &bh, e);
}

/* Walks from the first block to the end block, as tp_stream_reader_count
 * says, appending each row block's place to *index when index is not NULL
 * (*cap of them allocated); why ends the message for a pipe. */
static int
walk(tp_stream_reader *r, uint64_t *rows, uint64_t *blocks,
    tp_stream_block **index, size_t *cap, const char *why, tp_err *e)
{
	off_t start = ftello(r->f);
	uint64_t offset = r->offset;
	block_header bh;
	struct stat st;
	int rc;

	if (r->nblock > 0 || r->tee != NULL || r->left > 0 || r->done)
		return tp_err_set(e, TP_EINTERNAL,
		    "%s: counted after reading began", r->name);
	if (start < 0 || fstat(fileno(r->f), &st) != 0 || !S_ISREG(st.st_mode))
		return tp_err_set(e, TP_EUSAGE,
		    "%s: not a file that can be read again (a pipe?): %s",
		    r->name, why);
	/* The bytes up to the first block, read already, and the file's. */
	r->size = offset + (uint64_t)(st.st_size - start);
	r->origin = start - (off_t)offset;
	for (;;) {
		if ((rc = read_header(r, &bh, e)) != TP_OK)
			return rc;
		if (bh.rows == 0)
			break;
		if (index != NULL && bh.k > *cap) {
			size_t n = *cap ? 2 * *cap : 64;
			tp_stream_block *p = realloc(*index, n * sizeof(*p));
			if (p == NULL)
				return tp_err_nomem(e, "an index of blocks");
			*index = p;
			*cap = n;
		}
		if (index != NULL)
			(*index)[bh.k - 1] = (tp_stream_block){.at = bh.at,
			    .k = bh.k, .first = r->rows, .rows = bh.rows};
		if ((rc = skip_payload(r, &bh, e)) != TP_OK)
			return rc;
	}
	if ((rc = read_payload(r, &bh, e)) != TP_OK)
		return rc;
	*rows = r->rows;
	if (blocks != NULL)
		*blocks = r->nblock - 1;
	if (fseeko(r->f, start, SEEK_SET) != 0)
		return tp_err_set(e, TP_EIO, "%s: cannot seek: %s", r->name,
		    strerror(errno));
	r->offset = offset;
	r->nblock = 0;
	r->rows = 0;
	r->done = 0;
	return TP_OK;
}

int
tp_stream_reader_count(tp_stream_reader *r, uint64_t *rows, uint64_t *blocks,
    tp_err *e)
{
	return walk(r, rows, blocks, NULL, NULL, "a shard is cut from files", e);
}

int
tp_stream_reader_index(tp_stream_reader *r, tp_stream_block **index,
    uint64_t *blocks, uint64_t *rows, tp_err *e)
{
	size_t cap = 0;
	int rc;

	*index = NULL;
	*blocks = 0;
	if ((rc = walk(r, rows, blocks, index, &cap,
	    "blocks are read in a random order from files only", e)) != TP_OK) {
		free(*index);
		*index = NULL;
		*blocks = 0;
	}
	return rc;
}

int
tp_stream_reader_seek(tp_stream_reader *r, const tp_stream_block *b,
    tp_err *e)
{
	if (r->tee != NULL || r->size == UINT64_MAX)
		return tp_err_set(e, TP_EINTERNAL,
		    "%s: a seek to a block before its index", r->name);
	if (fseeko(r->f, r->origin + (off_t)b->at, SEEK_SET) != 0)
		return tp_err_set(e, TP_EIO, "%s: cannot seek: %s", r->name,
		    strerror(errno));
	r->offset = b->at;
	r->nblock = b->k - 1;
	r->rows = b->first;
	r->pos = r->left = 0;
	r->done = 0;
	r->from = b->first;
	r->to = b->first + 1;
	return TP_OK;
}

void
tp_stream_reader_range(tp_stream_reader *r, uint64_t from, uint64_t to)
{
	r->from = from;
	r->to = to;
}

long
tp_stream_read(tp_stream_reader *r, tp_batch *b, size_t max, tp_err *e)
{
	int rc;

	while (r->left == 0) {
		if (r->done)
			return 0;
		if ((rc = next_block(r, e)) != TP_OK)
			return -1;
	}
	size_t n = r->left < max ? r->left : max;
	if (tp_batch_reserve(b, b->n + n, e) != TP_OK)
		return -1;
	/* The block holds its rows column by column: find this run of rows in
	 * each column. */
	size_t rows = r->pos + r->left, i = r->pos;
	size_t nc = (size_t)r->enc.ncat, nn = (size_t)r->enc.nnum;
	const unsigned char *ids = r->raw;
	const unsigned char *cats = ids + rows * sizeof(int64_t);
	const unsigned char *nums = cats + rows * nc * sizeof(int32_t);
	const unsigned char *labels = nums + rows * nn * sizeof(float);
	memcpy(b->id + b->n, ids + i * sizeof(int64_t), n * sizeof(int64_t));
	memcpy(b->cat + b->n * nc, cats + i * nc * sizeof(int32_t),
	    n * nc * sizeof(int32_t));
	memcpy(b->num + b->n * nn, nums + i * nn * sizeof(float),
	    n * nn * sizeof(float));
	memcpy(b->label + b->n, labels + i, n);
	/* The CRCs catch damage; these checks catch a writer's bug, so that no
	 * layer above indexes an embedding table out of bounds. */
	for (size_t k = 0; k < n; k++) {
		int8_t l = b->label[b->n + k];
		const int32_t *c = b->cat + (b->n + k) * nc;
		for (size_t j = 0; j < nc; j++)
			if (c[j] < 0 || c[j] > r->vocab_n[j])
				return tp_err_set(e, TP_EDATA,
				    "%s: corrupt: block %llu: row %zu: category index %d out of range 0..%d",
				    r->name, (unsigned long long)r->nblock, i + k + 1,
				    c[j], r->vocab_n[j]), -1;
		if (l < -1 || l > 1)
			return tp_err_set(e, TP_EDATA,
			    "%s: corrupt: block %llu: row %zu has label %d",
			    r->name, (unsigned long long)r->nblock, i + k + 1, l), -1;
	}
	b->n += n;
	r->pos += n;
	r->left -= n;
	r->rows += n;
	return (long)n;
}

uint64_t tp_stream_rows(const tp_stream_reader *r) { return r->rows; }
const uint64_t *tp_stream_unseen(const tp_stream_reader *r) { return r->unseen; }

int
tp_stream_load(const char *path, tp_encoding *enc, tp_batch *b, tp_err *e)
{
	tp_stream_reader *r;
	FILE *f;
	int rc;

	memset(enc, 0, sizeof(*enc));
	memset(b, 0, sizeof(*b));
	if ((rc = tp_open_input(path, &f, e)) != TP_OK)
		return rc;
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	if ((rc = tp_stream_reader_open(&r, f, name, e)) != TP_OK) {
		tp_close_input(f);
		return rc;
	}
	rc = tp_batch_init(b, r->enc.ncat, r->enc.nnum, TP_STREAM_BLOCK_ROWS, e);
	while (rc == TP_OK) {
		long got = tp_stream_read(r, b, SIZE_MAX, e);
		if (got < 0)
			rc = e->code;
		if (got <= 0)
			break;
	}
	if (rc == TP_OK)
		tp_stream_take_encoding(r, enc);
	else
		tp_batch_free(b);
	tp_stream_reader_close(r);
	tp_close_input(f);
	return rc;
}
