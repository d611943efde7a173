/*
 * test_stream: the tensor stream written and read back bit for bit (zlib
 * and stored blocks, NaNs, unseen counts, partial reads, tee, load), and
 * its robustness: a stream cut at every byte, or with any byte changed, is
 * reported as truncated or corrupt and never read as a good one; trailing
 * bytes and a wrong magic are errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rng.h"
#include "data/stream.h"
#include "suites.h"

/*
 * An encoding of an id, ncat categorical features with vocab values each,
 * nnum numeric features and a target.
 */
static void
make_encoding(tp_encoding *enc, int ncat, int nnum, int vocab)
{
	tp_err e = {0};
	char name[32];
	int i = 0;

	memset(enc, 0, sizeof(*enc));
	enc->ncols = 2 + ncat + nnum;
	enc->cols = calloc((size_t)enc->ncols, sizeof(*enc->cols));
	ck_assert_ptr_nonnull(enc->cols);
	enc->cols[i].name = strdup("id");
	enc->cols[i].kind = TP_KIND_ID;
	enc->cols[i].slot = -1;
	enc->id_col = i++;
	for (int j = 0; j < ncat; j++, i++) {
		snprintf(name, sizeof(name), "c%d", j);
		enc->cols[i].name = strdup(name);
		enc->cols[i].kind = TP_KIND_CATEGORICAL;
		enc->cols[i].slot = enc->ncat++;
		for (int k = 0; k < vocab; k++) {
			snprintf(name, sizeof(name), "v%d", k);
			ck_assert_int_ge(tp_strmap_add(&enc->cols[i].vocab, name,
			    strlen(name), &e), 0);
		}
	}
	for (int j = 0; j < nnum; j++, i++) {
		snprintf(name, sizeof(name), "x%d", j);
		enc->cols[i].name = strdup(name);
		enc->cols[i].kind = TP_KIND_NUMERIC;
		enc->cols[i].slot = enc->nnum++;
		enc->cols[i].mean = j;
		enc->cols[i].std = 1 + j;
	}
	enc->cols[i].name = strdup("y");
	enc->cols[i].kind = TP_KIND_TARGET;
	enc->cols[i].slot = -1;
	enc->target_col = i;
	enc->labels[0] = strdup("no");
	enc->labels[1] = strdup("yes");
	ck_assert_int_eq(tp_encoding_fingerprint(enc, &e), TP_OK);
}

/* Writes the rows of b, with unseen flags (n x ncat, or NULL) for each,
 * into a stream in memory; *buf is the caller's to free. */
static void
write_stream(const tp_encoding *enc, const tp_batch *b, const uint8_t *unseen,
    char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	tp_stream_writer *w;
	tp_err e = {0};

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(tp_stream_writer_open(&w, f, "mem", enc, &e), TP_OK);
	for (size_t i = 0; i < b->n; i++) {
		tp_row from = tp_batch_row(b, i), to = tp_stream_writer_row(w);
		*to.id = *from.id;
		*to.label = *from.label;
		memcpy(to.cat, from.cat, (size_t)b->ncat * sizeof(*to.cat));
		memcpy(to.num, from.num, (size_t)b->nnum * sizeof(*to.num));
		ck_assert_int_eq(tp_stream_writer_add(w, unseen ?
		    unseen + i * (size_t)b->ncat : NULL, &e), TP_OK);
	}
	ck_assert_uint_eq(tp_stream_writer_rows(w), b->n);
	ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Reads the len bytes at buf as a stream into b (empty, of the right
 * shape), max rows a call. Returns TP_OK when the whole stream was read and
 * checked, with its row count and unseen counts in rows and unseen if not
 * NULL; else the error's code with e filled. b keeps the rows read.
 */
static int
read_stream(const char *buf, size_t len, tp_batch *b, size_t max,
    uint64_t *rows, uint64_t *unseen, tp_err *e)
{
	FILE *f = fmemopen((void *)buf, len, "rb");
	tp_stream_reader *r;
	long got;
	int rc;

	ck_assert_ptr_nonnull(f);
	memset(e, 0, sizeof(*e));
	if ((rc = tp_stream_reader_open(&r, f, "s.tps", e)) != TP_OK) {
		ck_assert_int_ne(e->code, TP_OK);
		fclose(f);
		return rc;
	}
	ck_assert_int_eq(tp_stream_encoding(r)->ncat, b->ncat);
	ck_assert_int_eq(tp_stream_encoding(r)->nnum, b->nnum);
	while ((got = tp_stream_read(r, b, max, e)) > 0)
		ck_assert_uint_le((size_t)got, max);
	if (got == 0) {
		rc = TP_OK;
		ck_assert_uint_eq(tp_stream_rows(r), b->n);
		if (rows != NULL)
			*rows = tp_stream_rows(r);
		if (unseen != NULL)
			memcpy(unseen, tp_stream_unseen(r),
			    (size_t)b->ncat * sizeof(*unseen));
		/* Reading on after the end gives nothing more. */
		ck_assert_int_eq(tp_stream_read(r, b, max, e), 0);
	} else {
		rc = e->code;
		ck_assert_int_ne(rc, TP_OK);
	}
	tp_stream_reader_close(r);
	fclose(f);
	return rc;
}

/* The first b->n rows of want are b's, bit for bit. */
static int
same_rows(const tp_batch *b, const tp_batch *want)
{
	size_t n = b->n, nc = (size_t)b->ncat, nn = (size_t)b->nnum;

	return n <= want->n &&
	    memcmp(b->id, want->id, n * sizeof(*b->id)) == 0 &&
	    memcmp(b->cat, want->cat, n * nc * sizeof(*b->cat)) == 0 &&
	    memcmp(b->num, want->num, n * nn * sizeof(*b->num)) == 0 &&
	    memcmp(b->label, want->label, n) == 0;
}

static uint32_t
get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
	    (uint32_t)u[3] << 24;
}

/* Walks the blocks of a stream: their row counts and flags, up to max. */
static size_t
block_layout(const char *buf, size_t len, uint32_t *rows, uint32_t *flags,
    size_t max)
{
	size_t pos = 16 + get32(buf + 12) + 4, n = 0;

	while (pos + 24 <= len && n < max) {
		rows[n] = get32(buf + pos);
		flags[n] = get32(buf + pos + 4);
		pos += 24 + get32(buf + pos + 12);
		n++;
	}
	ck_assert_uint_eq(pos, len);
	return n;
}

static uint32_t
rand_bits(tp_rng *r)
{
	return (uint32_t)(tp_rng_next(r) >> 32);
}

/*
 * Rows 0 to 4095 repetitive (a zlib block), 4096 to 8191 random (a stored
 * block), then 5 more random rows; NaNs of several kinds, and unseen flags.
 */
enum { RT_ROWS = TP_STREAM_BLOCK_ROWS * 2 + 5, RT_CAT = 2, RT_NUM = 16,
	RT_VOCAB = 3 };

static void
make_rows(tp_batch *b, uint8_t *unseen, uint64_t *unseen_total)
{
	tp_rng r;
	tp_err e = {0};

	tp_rng_seed(&r, 1234);
	ck_assert_int_eq(tp_batch_init(b, RT_CAT, RT_NUM, RT_ROWS, &e), TP_OK);
	memset(unseen_total, 0, RT_CAT * sizeof(*unseen_total));
	for (size_t i = 0; i < RT_ROWS; i++) {
		tp_row row = tp_batch_row(b, i);
		int random = i >= TP_STREAM_BLOCK_ROWS;
		*row.id = random ? (int64_t)tp_rng_next(&r) : (int64_t)i;
		*row.label = (int8_t)(random ? (int)tp_rng_below(&r, 3) - 1 :
		    (int)(i % 3) - 1);
		for (int j = 0; j < RT_CAT; j++) {
			row.cat[j] = (int32_t)(random ?
			    tp_rng_below(&r, RT_VOCAB + 1) : (i + (size_t)j) % 4);
			uint8_t u = row.cat[j] == 0 && (i % 2 == 0);
			unseen[i * RT_CAT + (size_t)j] = u;
			unseen_total[j] += u;
		}
		for (int j = 0; j < RT_NUM; j++) {
			float x;
			if (random) {
				uint32_t bits = rand_bits(&r);
				memcpy(&x, &bits, sizeof(x));
			} else
				x = i % 5 == 0 ? NAN : (float)(i % 7) - 3.25f;
			row.num[j] = x;
		}
	}
	/* A NaN with a payload and a negative NaN, an infinity, a denormal
	 * and a negative zero must all come back unchanged. */
	{
		static const uint32_t special[] = {0x7fc00001, 0xffc00000,
		    0x7f800000, 0x00000001, 0x80000000};
		for (size_t k = 0; k < 5; k++)
			memcpy(&b->num[k], &special[k], 4);
	}
	b->n = RT_ROWS;
}

START_TEST(test_round_trip)
{
	tp_encoding enc;
	tp_batch want, got;
	uint8_t *unseen = malloc(RT_ROWS * RT_CAT);
	uint64_t total[RT_CAT], back[RT_CAT], rows;
	uint32_t brows[8], bflags[8];
	char *buf = NULL;
	size_t len = 0, nb;
	tp_err e = {0};

	ck_assert_ptr_nonnull(unseen);
	make_encoding(&enc, RT_CAT, RT_NUM, RT_VOCAB);
	make_rows(&want, unseen, total);
	ck_assert_uint_gt(total[0], 0);
	write_stream(&enc, &want, unseen, &buf, &len);

	/* Both kinds of block are there: zlib for the repetitive rows,
	 * stored for the random ones, then the end block. */
	nb = block_layout(buf, len, brows, bflags, 8);
	ck_assert_uint_eq(nb, 4);
	ck_assert_uint_eq(brows[0], TP_STREAM_BLOCK_ROWS);
	ck_assert_uint_eq(bflags[0], 1);
	ck_assert_uint_eq(brows[1], TP_STREAM_BLOCK_ROWS);
	ck_assert_uint_eq(bflags[1], 0);
	ck_assert_uint_eq(brows[2], 5);
	ck_assert_uint_eq(brows[3], 0);
	ck_assert_uint_eq(bflags[3], 0);

	/* All at once, and in small reads across the blocks. */
	static const size_t maxes[] = {SIZE_MAX, 1000, 1, 4097};
	for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
		/* Growing from one row when reading all at once; room
		 * for all rows ahead for the small reads. */
		ck_assert_int_eq(tp_batch_init(&got, RT_CAT, RT_NUM,
		    maxes[m] == SIZE_MAX ? 1 : RT_ROWS, &e), TP_OK);
		memset(back, 0xab, sizeof(back));
		int rc = read_stream(buf, len, &got, maxes[m], &rows, back, &e);
		ck_assert_msg(rc == TP_OK, "max %zu: %s", maxes[m], e.msg);
		ck_assert_uint_eq(got.n, RT_ROWS);
		ck_assert_uint_eq(rows, RT_ROWS);
		ck_assert(same_rows(&got, &want));
		for (int j = 0; j < RT_CAT; j++)
			ck_assert_uint_eq(back[j], total[j]);
		tp_batch_free(&got);
	}
	free(buf);
	free(unseen);
	tp_batch_free(&want);
	tp_encoding_free(&enc);
}
END_TEST

/* The header holds the encoding; writing a batch at once gives the same
 * bytes as adding its rows one by one. */
START_TEST(test_writer_write_and_header)
{
	tp_encoding enc;
	tp_batch want;
	tp_stream_writer *w;
	tp_stream_reader *r;
	uint8_t *unseen = malloc(RT_ROWS * RT_CAT);
	uint64_t total[RT_CAT];
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	tp_err e = {0};
	FILE *f;

	ck_assert_ptr_nonnull(unseen);
	make_encoding(&enc, RT_CAT, RT_NUM, RT_VOCAB);
	make_rows(&want, unseen, total);
	write_stream(&enc, &want, NULL, &a, &alen);
	f = open_memstream(&b, &blen);
	ck_assert_int_eq(tp_stream_writer_open(&w, f, "mem", &enc, &e), TP_OK);
	ck_assert_int_eq(tp_stream_writer_write(w, &want, &e), TP_OK);
	ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_eq(alen, blen);
	ck_assert_mem_eq(a, b, alen);
	ck_assert_mem_eq(a, "TPSTREAM\1\0\0\0", 12);

	f = fmemopen(a, alen, "rb");
	ck_assert_int_eq(tp_stream_reader_open(&r, f, "a.tps", &e), TP_OK);
	ck_assert_str_eq(tp_stream_encoding(r)->fingerprint, enc.fingerprint);
	ck_assert_int_eq(tp_stream_encoding(r)->ncols, enc.ncols);
	ck_assert_str_eq(tp_stream_encoding(r)->labels[1], "yes");
	tp_stream_reader_close(r);
	fclose(f);
	free(a);
	free(b);
	free(unseen);
	tp_batch_free(&want);
	tp_encoding_free(&enc);
}
END_TEST

/* The tee gets the stream byte for byte. */
START_TEST(test_tee)
{
	tp_encoding enc;
	tp_batch want, got;
	tp_stream_reader *r;
	uint8_t *unseen = malloc(RT_ROWS * RT_CAT);
	uint64_t total[RT_CAT];
	char *buf = NULL, *copy = NULL;
	size_t len = 0, copylen = 0;
	tp_err e = {0};
	FILE *in, *tee;
	long n;

	ck_assert_ptr_nonnull(unseen);
	make_encoding(&enc, RT_CAT, RT_NUM, RT_VOCAB);
	make_rows(&want, unseen, total);
	write_stream(&enc, &want, unseen, &buf, &len);
	in = fmemopen(buf, len, "rb");
	tee = open_memstream(&copy, &copylen);
	ck_assert_int_eq(tp_stream_reader_open(&r, in, "s.tps", &e), TP_OK);
	ck_assert_int_eq(tp_stream_reader_tee(r, tee, &e), TP_OK);
	ck_assert_int_eq(tp_batch_init(&got, RT_CAT, RT_NUM, 16, &e), TP_OK);
	while ((n = tp_stream_read(r, &got, 3000, &e)) > 0)
		;
	ck_assert_msg(n == 0, "%s", e.msg);
	ck_assert(same_rows(&got, &want));
	ck_assert_uint_eq(got.n, RT_ROWS);
	tp_stream_reader_close(r);
	ck_assert_int_eq(fclose(tee), 0);
	fclose(in);
	ck_assert_uint_eq(copylen, len);
	ck_assert_mem_eq(copy, buf, len);
	tp_batch_free(&got);
	tp_batch_free(&want);
	free(copy);
	free(buf);
	free(unseen);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_load)
{
	char path[] = "/tmp/tp_streamXXXXXX";
	tp_encoding enc, back;
	tp_batch want, got;
	uint8_t *unseen = malloc(RT_ROWS * RT_CAT);
	uint64_t total[RT_CAT];
	char *buf = NULL;
	size_t len = 0;
	tp_err e = {0};
	int fd;

	ck_assert_ptr_nonnull(unseen);
	make_encoding(&enc, RT_CAT, RT_NUM, RT_VOCAB);
	make_rows(&want, unseen, total);
	write_stream(&enc, &want, unseen, &buf, &len);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(tp_stream_load(path, &back, &got, &e), TP_OK);
	ck_assert_str_eq(back.fingerprint, enc.fingerprint);
	ck_assert_uint_eq(got.n, RT_ROWS);
	ck_assert(same_rows(&got, &want));
	tp_batch_free(&got);
	tp_encoding_free(&back);

	/* A cut file: an error, nothing left allocated. */
	ck_assert_int_eq(truncate(path, (off_t)len - 1), 0);
	ck_assert_int_eq(tp_stream_load(path, &back, &got, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));
	ck_assert_ptr_nonnull(strstr(e.msg, path));
	ck_assert_ptr_null(got.id);
	ck_assert_uint_eq(got.n, 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tp_stream_load(path, &back, &got, &e), TP_ENOINPUT);

	free(buf);
	free(unseen);
	tp_batch_free(&want);
	tp_encoding_free(&enc);
}
END_TEST

/*
 * The small stream of the robustness tests: a tiny encoding and
 * TP_STREAM_BLOCK_ROWS + 3 repetitive rows, so two data blocks (one zlib,
 * one stored) and the end block in a few hundred bytes.
 */
enum { SM_ROWS = TP_STREAM_BLOCK_ROWS + 3 };

static uint64_t
small_stream(tp_encoding *enc, tp_batch *want, char **buf, size_t *len)
{
	uint64_t total = 0;
	uint8_t *unseen = calloc(SM_ROWS, 1);
	tp_err e = {0};

	ck_assert_ptr_nonnull(unseen);
	make_encoding(enc, 1, 1, 2);
	ck_assert_int_eq(tp_batch_init(want, 1, 1, SM_ROWS, &e), TP_OK);
	for (size_t i = 0; i < SM_ROWS; i++) {
		tp_row row = tp_batch_row(want, i);
		*row.id = 1 + (int64_t)(i / 1024);
		row.cat[0] = (int32_t)((i / 512) % 3);
		row.num[0] = i % 1000 == 999 ? NAN : (float)((i / 256) % 4);
		*row.label = (int8_t)((i / 100) % 3) - 1;
		unseen[i] = row.cat[0] == 0 && i % 3 == 0;
		total += unseen[i];
	}
	want->n = SM_ROWS;
	write_stream(enc, want, unseen, buf, len);
	free(unseen);
	return total;
}

static int
says(const char *msg, const char *what)
{
	return strstr(msg, what) != NULL;
}

START_TEST(test_small_stream_shape)
{
	tp_encoding enc;
	tp_batch want, got;
	uint32_t brows[8], bflags[8];
	uint64_t unseen, total;
	char *buf;
	size_t len;
	tp_err e;

	total = small_stream(&enc, &want, &buf, &len);
	ck_assert_uint_gt(total, 100);
	ck_assert_uint_lt(len, 1500);
	ck_assert_uint_eq(block_layout(buf, len, brows, bflags, 8), 3);
	ck_assert_uint_eq(brows[0], TP_STREAM_BLOCK_ROWS);
	ck_assert_uint_eq(bflags[0], 1);
	ck_assert_uint_eq(brows[1], 3);
	ck_assert_uint_eq(bflags[1], 0);
	ck_assert_uint_eq(brows[2], 0);
	ck_assert_int_eq(tp_batch_init(&got, 1, 1, 1, &e), TP_OK);
	ck_assert_int_eq(read_stream(buf, len, &got, SIZE_MAX, NULL, &unseen,
	    &e), TP_OK);
	ck_assert(same_rows(&got, &want));
	ck_assert_uint_eq(got.n, SM_ROWS);
	ck_assert_uint_eq(unseen, total);
	tp_batch_free(&got);
	tp_batch_free(&want);
	tp_encoding_free(&enc);
	free(buf);
}
END_TEST

/* Cut at every byte: truncated (or, for a cut header JSON length,
 * corrupt), and the rows given before the error are the stream's own. */
START_TEST(test_cut_everywhere)
{
	tp_encoding enc;
	tp_batch want;
	char *buf;
	size_t len;

	small_stream(&enc, &want, &buf, &len);
	for (size_t cut = 0; cut < len; cut++) {
		tp_batch got;
		tp_err e;
		ck_assert_int_eq(tp_batch_init(&got, 1, 1, 1, NULL), TP_OK);
		int rc = read_stream(buf, cut, &got, SIZE_MAX, NULL, NULL, &e);
		if (rc == TP_OK)
			ck_abort_msg("cut at %zu of %zu: read as a whole stream of %zu rows",
			    cut, len, got.n);
		if (!says(e.msg, "truncated") && !says(e.msg, "corrupt"))
			ck_abort_msg("cut at %zu: \"%s\"", cut, e.msg);
		ck_assert_int_eq(rc, TP_EDATA);
		if (!same_rows(&got, &want))
			ck_abort_msg("cut at %zu: %zu rows read that the stream does not hold",
			    cut, got.n);
		tp_batch_free(&got);
	}
	tp_batch_free(&want);
	tp_encoding_free(&enc);
	free(buf);
}
END_TEST

/* Any one byte changed (all bits, or the lowest) is an error, and no row
 * read differs from the stream's. */
START_TEST(test_flip_everywhere)
{
	static const unsigned char masks[] = {0xff, 0x01, 0x80};
	tp_encoding enc;
	tp_batch want;
	char *buf, *bad;
	size_t len;

	small_stream(&enc, &want, &buf, &len);
	bad = malloc(len);
	ck_assert_ptr_nonnull(bad);
	for (size_t pos = 0; pos < len; pos++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			tp_batch got;
			tp_err e;
			memcpy(bad, buf, len);
			bad[pos] = (char)(bad[pos] ^ masks[m]);
			ck_assert_int_eq(tp_batch_init(&got, 1, 1, 1, NULL), TP_OK);
			int rc = read_stream(bad, len, &got, SIZE_MAX, NULL, NULL,
			    &e);
			if (rc == TP_OK)
				ck_abort_msg("byte %zu ^ 0x%02x: read as good (%zu rows)",
				    pos, masks[m], got.n);
			if (!same_rows(&got, &want))
				ck_abort_msg("byte %zu ^ 0x%02x: rows read differ from the stream's",
				    pos, masks[m]);
			if (pos < 8)
				ck_assert_msg(says(e.msg, "not a tensor stream"),
				    "byte %zu: \"%s\"", pos, e.msg);
			else if (pos < 12)
				ck_assert_msg(says(e.msg, "version"),
				    "byte %zu: \"%s\"", pos, e.msg);
			else if (!says(e.msg, "corrupt") && !says(e.msg, "truncated"))
				ck_abort_msg("byte %zu ^ 0x%02x: \"%s\"", pos, masks[m],
				    e.msg);
			tp_batch_free(&got);
		}
	}
	free(bad);
	tp_batch_free(&want);
	tp_encoding_free(&enc);
	free(buf);
}
END_TEST

START_TEST(test_trailing)
{
	tp_encoding enc;
	tp_batch want, got;
	char *buf, *more;
	size_t len;
	tp_err e;

	small_stream(&enc, &want, &buf, &len);
	more = malloc(2 * len);
	ck_assert_ptr_nonnull(more);
	memcpy(more, buf, len);
	memcpy(more + len, buf, len);

	/* One byte more. */
	more[len] = '\n';
	ck_assert_int_eq(tp_batch_init(&got, 1, 1, 1, NULL), TP_OK);
	ck_assert_int_eq(read_stream(more, len + 1, &got, SIZE_MAX, NULL, NULL,
	    &e), TP_EDATA);
	ck_assert_msg(says(e.msg, "corrupt: bytes after the end block"), "%s",
	    e.msg);
	tp_batch_free(&got);

	/* A second stream after the first. */
	more[len] = buf[0];
	ck_assert_int_eq(tp_batch_init(&got, 1, 1, 1, NULL), TP_OK);
	ck_assert_int_eq(read_stream(more, 2 * len, &got, SIZE_MAX, NULL, NULL,
	    &e), TP_EDATA);
	ck_assert_msg(says(e.msg, "corrupt: bytes after the end block"), "%s",
	    e.msg);
	tp_batch_free(&got);

	/* The end block twice. */
	memcpy(more + len, buf + len - 40, 40);
	ck_assert_int_eq(tp_batch_init(&got, 1, 1, 1, NULL), TP_OK);
	ck_assert_int_eq(read_stream(more, len + 40, &got, SIZE_MAX, NULL, NULL,
	    &e), TP_EDATA);
	ck_assert_msg(says(e.msg, "corrupt"), "%s", e.msg);
	tp_batch_free(&got);

	free(more);
	free(buf);
	tp_batch_free(&want);
	tp_encoding_free(&enc);
}
END_TEST

/* Whole blocks left out, repeated or swapped: each block's CRC covers its
 * number, so the first one out of place is corrupt. */
START_TEST(test_spliced)
{
	tp_encoding enc;
	tp_batch want, got;
	char *buf, *spliced;
	size_t len, hlen, b0, b1, end;
	tp_err e;

	small_stream(&enc, &want, &buf, &len);
	hlen = 16 + get32(buf + 12) + 4;
	b0 = 24 + get32(buf + hlen + 12);
	b1 = 24 + get32(buf + hlen + b0 + 12);
	end = len - hlen - b0 - b1;
	ck_assert_uint_eq(end, 40);
	spliced = malloc(2 * len);
	ck_assert_ptr_nonnull(spliced);

	/* Without the first block, without the second, without both, with
	 * the second twice, with the two swapped. */
	const struct {
		size_t from[4], n;
	} cases[] = {
		{{hlen + b0, hlen + b0 + b1}, 2},
		{{hlen, hlen + b0 + b1}, 2},
		{{hlen + b0 + b1}, 1},
		{{hlen, hlen + b0, hlen + b0, hlen + b0 + b1}, 4},
		{{hlen + b0, hlen, hlen + b0 + b1}, 3},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t n = hlen;
		memcpy(spliced, buf, hlen);
		for (size_t i = 0; i < cases[k].n; i++) {
			size_t from = cases[k].from[i];
			size_t part = from == hlen ? b0 : from == hlen + b0 ? b1 : end;
			memcpy(spliced + n, buf + from, part);
			n += part;
		}
		ck_assert_int_eq(tp_batch_init(&got, 1, 1, 1, NULL), TP_OK);
		ck_assert_msg(read_stream(spliced, n, &got, SIZE_MAX, NULL, NULL,
		    &e) == TP_EDATA, "case %zu read as good", k);
		ck_assert_msg(says(e.msg, "corrupt: block"), "case %zu: %s", k,
		    e.msg);
		tp_batch_free(&got);
	}
	free(spliced);
	free(buf);
	tp_batch_free(&want);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_magic)
{
	static const char csv[] = "id,x,y\n1,2,yes\n2,3,no\n";
	tp_encoding enc;
	tp_batch want, got;
	char *buf;
	size_t len;
	tp_err e;

	ck_assert_int_eq(tp_batch_init(&got, 1, 1, 1, NULL), TP_OK);
	ck_assert_int_eq(read_stream(csv, sizeof(csv) - 1, &got, SIZE_MAX, NULL,
	    NULL, &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "s.tps: not a tensor stream (expected magic \"TPSTREAM\" at byte 0; is it CSV? use tabpipe-ingest)");
	ck_assert_uint_eq(got.n, 0);

	small_stream(&enc, &want, &buf, &len);
	memcpy(buf, "TPSTREAN", 8);
	ck_assert_int_eq(read_stream(buf, len, &got, SIZE_MAX, NULL, NULL, &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a tensor stream"));
	memcpy(buf, "TPSTREAM\2", 9);
	ck_assert_int_eq(read_stream(buf, len, &got, SIZE_MAX, NULL, NULL, &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "s.tps: stream format version 2, this tabpipe reads version 1");
	ck_assert_int_eq(read_stream(buf, 0, &got, SIZE_MAX, NULL, NULL, &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "s.tps: truncated: the stream ends at byte 0, inside the header");
	ck_assert_uint_eq(got.n, 0);
	tp_batch_free(&got);
	tp_batch_free(&want);
	tp_encoding_free(&enc);
	free(buf);
}
END_TEST

START_TEST(test_batch)
{
	tp_batch b;
	tp_err e = {0};

	ck_assert_int_eq(tp_batch_init(&b, 3, 2, 4, &e), TP_OK);
	ck_assert_uint_eq(b.cap, 4);
	ck_assert_uint_eq(b.n, 0);
	tp_row r = tp_batch_row(&b, 2);
	ck_assert_ptr_eq(r.id, b.id + 2);
	ck_assert_ptr_eq(r.cat, b.cat + 6);
	ck_assert_ptr_eq(r.num, b.num + 4);
	ck_assert_ptr_eq(r.label, b.label + 2);
	r.cat[2] = 77;
	ck_assert_int_eq(tp_batch_reserve(&b, 100, &e), TP_OK);
	ck_assert_uint_eq(b.cap, 100);
	ck_assert_int_eq(b.cat[8], 77);
	b.cat[99 * 3 + 2] = 1; /* the last one is there */
	b.num[99 * 2 + 1] = 1;
	ck_assert_int_eq(tp_batch_reserve(&b, 10, &e), TP_OK);
	ck_assert_uint_eq(b.cap, 100);
	tp_batch_free(&b);
	tp_batch_free(&b);
	tp_batch_free(NULL);
}
END_TEST

Suite *
stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("round trip");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_writer_write_and_header);
	tcase_add_test(tc, test_tee);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_small_stream_shape);
	tcase_add_test(tc, test_cut_everywhere);
	tcase_add_test(tc, test_flip_everywhere);
	tcase_add_test(tc, test_trailing);
	tcase_add_test(tc, test_spliced);
	tcase_add_test(tc, test_magic);
	suite_add_tcase(s, tc);
	return s;
}
