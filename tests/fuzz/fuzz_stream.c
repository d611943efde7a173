/*
 * fuzz_stream: the tensor stream reader (lib/data/stream.h) on any bytes,
 * as tabpipe-validate --pass | tabpipe-cat reads them: rows a few at a
 * time, the bytes copied to a tee, each row written as CSV. A stream that
 * reads whole must have been copied unchanged, and its rows, written again
 * by the stream writer, must read back the same.
 *
 * A byte changed at random fails a CRC, and the reader stops there. So the
 * custom mutator takes a stream apart (header, JSON, blocks), changes one
 * part (the JSON's bytes, the encoding's columns, statistics or
 * vocabularies, a block's payload, inflated and deflated again, a block
 * header's sizes, the blocks' order), makes the sizes agree as often as
 * not, and computes every CRC and the end block's count again, so that
 * mutations reach what the checks guard. One time in eight it changes
 * bytes as libFuzzer does and leaves the CRCs be.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "data/encoding.h"
#include "data/stream.h"
#include "fuzz.h"

/* Rows a read asks for: few, so that blocks are read in parts. */
enum { READ_ROWS = 3 };

/* Writes b's rows with the stream writer and reads them back: the same
 * rows. */
static void
write_again(const tp_encoding *enc, const tp_batch *b)
{
	char *buf = NULL, fp[65], back[65];
	size_t len = 0;
	FILE *out = fuzz_memout(&buf, &len);
	tp_stream_writer *w;
	tp_stream_reader *r;
	tp_batch again;
	tp_err e = {0};
	long got;

	if (tp_stream_writer_open(&w, out, "again", enc, &e) != TP_OK ||
	    tp_stream_writer_write(w, b, &e) != TP_OK ||
	    tp_stream_writer_close(w, fp, &e) != TP_OK)
		fuzz_fail("rows read do not write again: %s", e.msg);
	if (fclose(out) != 0)
		fuzz_fail("writing a stream to memory failed");
	FILE *in = fuzz_memfile(buf, len);
	if (tp_stream_reader_open(&r, in, "again", &e) != TP_OK ||
	    tp_batch_init(&again, enc->ncat, enc->nnum, b->n, &e) != TP_OK)
		fuzz_fail("rows written again do not read back: %s", e.msg);
	while ((got = tp_stream_read(r, &again, SIZE_MAX, &e)) > 0)
		;
	if (got < 0)
		fuzz_fail("rows written again do not read back: %s", e.msg);
	tp_batch_fingerprint(&again, back);
	if (again.n != b->n || strcmp(fp, back) != 0)
		fuzz_fail("rows written again read back as others");
	tp_batch_free(&again);
	tp_stream_reader_close(r);
	fclose(in);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fuzz_memfile(data, size), *tee, *cat;
	char *copy = NULL, *csv = NULL;
	size_t copylen = 0, csvlen = 0;
	tp_stream_reader *r;
	tp_batch b = {0};
	tp_err e = {0};
	long got;

	if (tp_stream_reader_open(&r, f, "input", &e) != TP_OK) {
		if (e.msg[0] == '\0')
			fuzz_fail("a stream refused without a message");
		fclose(f);
		return 0;
	}
	const tp_encoding *enc = tp_stream_encoding(r);
	tee = fuzz_memout(&copy, &copylen);
	cat = fuzz_memout(&csv, &csvlen);
	if (tp_stream_reader_tee(r, tee, &e) != TP_OK ||
	    tp_batch_init(&b, enc->ncat, enc->nnum, 1, &e) != TP_OK)
		fuzz_fail("%s", e.msg);
	tp_encoding_write_header(enc, cat);
	while ((got = tp_stream_read(r, &b, READ_ROWS, &e)) > 0)
		for (size_t i = b.n - (size_t)got; i < b.n; i++)
			tp_encoding_write_row(enc, cat, tp_batch_row(&b, i));
	if (fclose(tee) != 0 || fclose(cat) != 0)
		fuzz_fail("writing to memory failed");
	if (got < 0 && e.msg[0] == '\0')
		fuzz_fail("a stream refused without a message");
	if (got == 0) {
		if (copylen != size || memcmp(copy, data, size) != 0)
			fuzz_fail("the tee's copy of %zu bytes is not the %zu read",
			    copylen, size);
		if (tp_stream_rows(r) != b.n)
			fuzz_fail("%zu rows read, the reader counts %llu", b.n,
			    (unsigned long long)tp_stream_rows(r));
		write_again(enc, &b);
	}
	tp_batch_free(&b);
	tp_stream_reader_close(r);
	fclose(f);
	free(copy);
	free(csv);
	return 0;
}

/*
 * The mutator.
 */

enum { BLOCK_HEADER = 24, MAX_INFLATE = 1 << 20 };

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

typedef struct {
	uint8_t head[BLOCK_HEADER]; /* as read; sizes and CRCs set again */
	uint8_t *payload;           /* the stored payload (owned) */
	size_t len;
} block;

/* A stream taken apart. The bytes after the last whole block are kept
 * as they are. */
typedef struct {
	uint8_t top[12];           /* magic and version */
	char *json;                /* (jsonlen) owned */
	size_t jsonlen;
	block *blocks;
	size_t n;
	const uint8_t *tail;
	size_t taillen;
} parts;

static void
parts_free(parts *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->blocks[i].payload);
	free(p->blocks);
	free(p->json);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
		fuzz_fail("no memory in the mutator");
	return p;
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *q = xmalloc(n);

	memcpy(q, p, n);
	return q;
}

/* Takes a stream apart; 0 when it has no whole header. */
static int
split(const uint8_t *d, size_t size, parts *p)
{
	memset(p, 0, sizeof(*p));
	if (size < 20 || memcmp(d, "TPSTREAM", 8) != 0 ||
	    get32(d + 12) > size - 20)
		return 0;
	memcpy(p->top, d, 12);
	p->jsonlen = get32(d + 12);
	p->json = (char *)dup_bytes(d + 16, p->jsonlen);
	size_t at = 20 + p->jsonlen;
	p->blocks = xmalloc((size - at) / BLOCK_HEADER * sizeof(*p->blocks));
	while (size - at >= BLOCK_HEADER &&
	    get32(d + at + 12) <= size - at - BLOCK_HEADER) {
		block *b = &p->blocks[p->n++];
		memcpy(b->head, d + at, BLOCK_HEADER);
		b->len = get32(d + at + 12);
		b->payload = dup_bytes(d + at + BLOCK_HEADER, b->len);
		at += BLOCK_HEADER + b->len;
	}
	p->tail = d + at;
	p->taillen = size - at;
	return 1;
}

/* The encoding of the JSON, if it is one. */
static int
parse_encoding(const parts *p, tp_encoding *enc)
{
	cJSON *j = cJSON_ParseWithLength(p->json, p->jsonlen);
	tp_err e = {0};
	int ok = j != NULL && tp_encoding_from_json(enc, j, "mutant", &e) == TP_OK;

	cJSON_Delete(j);
	return ok;
}

/* Changes the encoding itself, its fingerprint made again, so that
 * readers get past the check of the header. */
static void
mutate_encoding(parts *p, uint64_t *s)
{
	char *json = fuzz_mutate_encoding(p->json, p->jsonlen, s);

	if (json != NULL) {
		free(p->json);
		p->json = json;
		p->jsonlen = strlen(json);
	}
}

/* The raw payload of a block: inflated when it says it is compressed and
 * inflates; *was_compressed says which. */
static uint8_t *
raw_payload(const block *b, size_t *len, int *was_compressed)
{
	uLongf rawlen = get32(b->head + 8);

	*was_compressed = 0;
	if ((get32(b->head + 4) & 1) && rawlen <= MAX_INFLATE) {
		uint8_t *raw = xmalloc(rawlen);
		if (uncompress(raw, &rawlen, b->payload, b->len) == Z_OK) {
			*was_compressed = 1;
			*len = rawlen;
			return raw;
		}
		free(raw);
	}
	*len = b->len;
	return dup_bytes(b->payload, b->len);
}

/* Stores raw as b's payload, deflated or not, with its sizes. */
static void
store(block *b, uint8_t *raw, size_t len, int compress)
{
	free(b->payload);
	put32(b->head + 8, (uint32_t)len);
	if (compress) {
		uLongf n = compressBound(len);
		uint8_t *z = xmalloc(n);
		if (compress2(z, &n, raw, len, 1) == Z_OK) {
			free(raw);
			b->payload = z;
			b->len = n;
			put32(b->head + 4, 1);
			put32(b->head + 12, (uint32_t)n);
			return;
		}
		free(z);
	}
	b->payload = raw;
	b->len = len;
	put32(b->head + 4, 0);
	put32(b->head + 12, (uint32_t)len);
}

/* Row sizes of enc: the bytes of a row, and of the end block's payload. */
static size_t
row_bytes(const tp_encoding *enc)
{
	return 8 + 4 * (size_t)enc->ncat + 4 * (size_t)enc->nnum + 1;
}

/* Changes one block's payload: its bytes, then as often as not rows and
 * length that agree with the encoding, indices and labels in range. */
static void
mutate_payload(parts *p, uint64_t *s, size_t max)
{
	block *b = &p->blocks[fuzz_random(s) % p->n];
	int compressed;
	size_t len, cap = max;
	uint8_t *raw = raw_payload(b, &len, &compressed);
	tp_encoding enc;

	if (len > cap)
		cap = len;
	uint8_t *grown = xmalloc(cap);
	memcpy(grown, raw, len);
	free(raw);
	raw = grown;
	len = LLVMFuzzerMutate(raw, len, cap);
	if (fuzz_random(s) % 4 != 0 && parse_encoding(p, &enc)) {
		size_t rb = row_bytes(&enc);
		uint32_t rows = get32(b->head);
		if (rows > 0) {
			rows = (uint32_t)(len / rb > 0 ? len / rb : 1);
			size_t want = rows * rb;
			if (want > cap) {
				raw = realloc(raw, want);
				if (raw == NULL)
					fuzz_fail("no memory in the mutator");
			}
			if (want > len)
				memset(raw + len, 0, want - len);
			len = want;
			put32(b->head, rows);
			/* Indices and labels in range, as a sound writer
			 * makes them, now and then. */
			if (fuzz_random(s) % 2) {
				uint8_t *cat = raw + 8 * (size_t)rows;
				uint8_t *lab = raw + (rb - 1) * rows;
				for (size_t k = 0; k < rows * (size_t)enc.ncat; k++) {
					size_t j = k % (size_t)enc.ncat;
					size_t vn = 0;
					for (int i = 0; i < enc.ncols; i++)
						if (enc.cols[i].slot == (int)j &&
						    enc.cols[i].kind == TP_KIND_CATEGORICAL)
							vn = enc.cols[i].vocab.n;
					put32(cat + 4 * k, get32(cat + 4 * k) % (uint32_t)(vn + 1));
				}
				for (size_t k = 0; k < rows; k++)
					lab[k] = (uint8_t)((lab[k] % 3) - 1);
			}
		} else if (len != 8 + 8 * (size_t)enc.ncat) {
			len = 8 + 8 * (size_t)enc.ncat;
			raw = realloc(raw, len > cap ? len : cap);
			if (raw == NULL)
				fuzz_fail("no memory in the mutator");
			memset(raw, 0, len);
		}
		tp_encoding_free(&enc);
	}
	store(b, raw, len, fuzz_random(s) % 4 == 0 ? !compressed : compressed);
}

/* Changes the sizes and flags of a block header as bytes. */
static void
mutate_block_header(parts *p, uint64_t *s)
{
	block *b = &p->blocks[fuzz_random(s) % p->n];

	LLVMFuzzerMutate(b->head, 16, 16);
}

/* Drops, repeats or swaps blocks. */
static void
mutate_order(parts *p, uint64_t *s)
{
	size_t i = fuzz_random(s) % p->n, j = fuzz_random(s) % p->n;
	block t;

	switch (fuzz_random(s) % 3) {
	case 0:
		free(p->blocks[i].payload);
		memmove(&p->blocks[i], &p->blocks[i + 1],
		    (p->n - i - 1) * sizeof(block));
		p->n--;
		break;
	case 1:
		p->blocks = realloc(p->blocks, (p->n + 1) * sizeof(block));
		if (p->blocks == NULL)
			fuzz_fail("no memory in the mutator");
		memmove(&p->blocks[i + 1], &p->blocks[i],
		    (p->n - i) * sizeof(block));
		p->blocks[i + 1].payload = dup_bytes(p->blocks[i].payload,
		    p->blocks[i].len);
		p->n++;
		break;
	default:
		t = p->blocks[i];
		p->blocks[i] = p->blocks[j];
		p->blocks[j] = t;
		break;
	}
}

/* Changes the JSON's bytes; its fingerprint is then wrong as often as
 * not, which is what the checks of the encoding are for. */
static void
mutate_json(parts *p, size_t max)
{
	size_t cap = p->jsonlen + max / 4 + 16;
	char *j = xmalloc(cap);

	memcpy(j, p->json, p->jsonlen);
	p->jsonlen = LLVMFuzzerMutate((uint8_t *)j, p->jsonlen, cap);
	free(p->json);
	p->json = j;
}

/* Puts the parts together again, the end block's count and every CRC
 * computed; 0 when they do not fit in max bytes. */
static size_t
join(parts *p, uint8_t *out, size_t max, int count)
{
	size_t len = 20 + p->jsonlen + p->taillen;
	uint64_t rows = 0;

	for (size_t i = 0; i < p->n; i++)
		len += BLOCK_HEADER + p->blocks[i].len;
	if (len > max)
		return 0;
	memcpy(out, p->top, 12);
	put32(out + 12, (uint32_t)p->jsonlen);
	memcpy(out + 16, p->json, p->jsonlen);
	put32(out + 16 + p->jsonlen, (uint32_t)crc32(0, (const Bytef *)p->json,
	    (uInt)p->jsonlen));
	size_t at = 20 + p->jsonlen;
	for (size_t i = 0; i < p->n; i++) {
		block *b = &p->blocks[i];
		uint8_t num[8];
		uint32_t r = get32(b->head);
		rows += r;
		if (r == 0 && count && !(get32(b->head + 4) & 1) && b->len >= 8)
			for (int k = 0; k < 8; k++)
				b->payload[k] = (uint8_t)((rows) >> (8 * k));
		for (int k = 0; k < 8; k++)
			num[k] = (uint8_t)((i + 1) >> (8 * k));
		uLong c = crc32(crc32(0, num, 8), b->payload, (uInt)b->len);
		put32(b->head + 16, (uint32_t)c);
		put32(b->head + 20, (uint32_t)crc32(0, b->head, 20));
		memcpy(out + at, b->head, BLOCK_HEADER);
		memcpy(out + at + BLOCK_HEADER, b->payload, b->len);
		at += BLOCK_HEADER + b->len;
	}
	memcpy(out + at, p->tail, p->taillen);
	return len;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed)
{
	uint64_t s = seed;
	parts p;
	size_t len = 0;

	if (fuzz_random(&s) % 8 == 0 || !split(data, size, &p))
		return LLVMFuzzerMutate(data, size, max);
	switch (p.n == 0 ? fuzz_random(&s) % 2 : fuzz_random(&s) % 8) {
	case 0:
		mutate_json(&p, max);
		break;
	case 1:
		mutate_encoding(&p, &s);
		break;
	case 2:
		mutate_block_header(&p, &s);
		break;
	case 3:
		mutate_order(&p, &s);
		break;
	default:
		mutate_payload(&p, &s, max);
		break;
	}
	uint8_t *out = xmalloc(max);
	if ((len = join(&p, out, max, fuzz_random(&s) % 4 != 0)) > 0)
		memcpy(data, out, len);
	free(out);
	parts_free(&p);
	return len > 0 ? len : LLVMFuzzerMutate(data, size, max);
}
