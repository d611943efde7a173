/*
 * test_shard: shards given as K/N or by a job array's environment, their
 * ranges, and several stream files read as one: every row in order, files
 * of another encoding, missing or named twice refused; shards of 1 to 7
 * over inputs whose blocks do not divide evenly, or are fewer than the
 * shards, holding every row once and in order, cut at blocks, with the
 * blocks of other shards passed over undecoded; the index of the blocks
 * and blocks read in any order; pipes and cut files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/shard.h"
#include "fixture.h"
#include "suites.h"

/* A made-up environment: NAME=VALUE strings, NULL-ended. */
static const char *const *fake_env;

static char *
lookup(const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; fake_env != NULL && fake_env[i] != NULL; i++)
		if (strncmp(fake_env[i], name, len) == 0 && fake_env[i][len] == '=')
			return (char *)fake_env[i] + len + 1;
	return NULL;
}

/* Parses arg in env; the shard as "K/N", or the error's code. */
static int
parse(const char *arg, const char *const *env, char *got, size_t len,
    tp_err *e)
{
	tp_shard s = {0};
	int rc;

	fake_env = env;
	memset(e, 0, sizeof(*e));
	if ((rc = tp_shard_parse(&s, arg, "--shard", lookup, e)) == TP_OK)
		snprintf(got, len, "%d/%d", s.k, s.n);
	else
		ck_assert_ptr_nonnull(strstr(e->msg, "--shard: "));
	return rc;
}

static void
parses_as(const char *arg, const char *const *env, const char *want)
{
	char got[64] = "";
	tp_err e;

	ck_assert_msg(parse(arg, env, got, sizeof(got), &e) == TP_OK,
	    "%s: %s", arg, e.msg);
	ck_assert_str_eq(got, want);
}

/* arg is refused, and the message holds what. */
static void
refused(const char *arg, const char *const *env, const char *what)
{
	char got[64];
	tp_err e;

	ck_assert_msg(parse(arg, env, got, sizeof(got), &e) == TP_EUSAGE,
	    "%s was taken as %s", arg, got);
	ck_assert_msg(strstr(e.msg, what) != NULL, "%s: %s", arg, e.msg);
}

START_TEST(test_parse)
{
	parses_as("1/1", NULL, "1/1");
	parses_as("2/4", NULL, "2/4");
	parses_as("4/4", NULL, "4/4");
	parses_as("7/1000000", NULL, "7/1000000");
	static const char *const bad[] = {"", "0/4", "5/4", "4", "1/0", "/4",
	    "1/", "a/b", "1/4x", "-1/4", "+1/4", " 1/4", "1//4", "1/4/4",
	    "2/1000001", "autox", "auto/", "auto/0", "auto/x", "Auto", NULL};
	for (int i = 0; bad[i] != NULL; i++)
		refused(bad[i], NULL, "is not K/N");
	/* The option records the shard; unset, nothing. */
	tp_shard s = {0};
	ck_assert_ptr_null(tp_shard_options[0].json(&s));
	s = (tp_shard){3, 8};
	cJSON *j = tp_shard_options[0].json(&s);
	ck_assert_str_eq(cJSON_GetStringValue(j), "3/8");
	cJSON_Delete(j);
	ck_assert(!tp_shard_cuts(NULL));
	ck_assert(!tp_shard_cuts(&(tp_shard){1, 1}));
	ck_assert(tp_shard_cuts(&(tp_shard){1, 2}));
}
END_TEST

START_TEST(test_auto)
{
	/* Slurm: arrays from 0, from 1, in steps; the count its own, or
	 * auto/N's, or TABPIPE_SHARDS'. */
	const char *from0[] = {"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=0",
	    "SLURM_ARRAY_TASK_COUNT=4", NULL};
	parses_as("auto", from0, "3/4");
	parses_as("auto/8", from0, "3/8");
	const char *from1[] = {"SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_MIN=1",
	    "SLURM_ARRAY_TASK_COUNT=4", "JOB_COMPLETION_INDEX=0", NULL};
	parses_as("auto", from1, "4/4");
	const char *step[] = {"SLURM_ARRAY_TASK_ID=12", "SLURM_ARRAY_TASK_MIN=4",
	    "SLURM_ARRAY_TASK_STEP=4", "SLURM_ARRAY_TASK_COUNT=3", NULL};
	parses_as("auto", step, "3/3");
	const char *shards[] = {"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0",
	    "TABPIPE_SHARDS=5", NULL};
	parses_as("auto", shards, "1/5");
	/* Kubernetes: the index from 0, the count not its own. */
	const char *k8s[] = {"JOB_COMPLETION_INDEX=0", "TABPIPE_SHARDS=3", NULL};
	parses_as("auto", k8s, "1/3");
	parses_as("auto/2", k8s, "1/2");
	const char *k8s_last[] = {"JOB_COMPLETION_INDEX=6", "", "SLURM=1", NULL};
	parses_as("auto/7", k8s_last, "7/7");

	refused("auto", NULL, "neither is set");
	const char *empty[] = {"SLURM_ARRAY_TASK_ID=", "JOB_COMPLETION_INDEX=",
	    NULL};
	refused("auto", empty, "neither is set");
	const char *no_min[] = {"SLURM_ARRAY_TASK_ID=1",
	    "SLURM_ARRAY_TASK_COUNT=4", NULL};
	refused("auto", no_min, "SLURM_ARRAY_TASK_MIN is not");
	const char *no_count[] = {"JOB_COMPLETION_INDEX=1", NULL};
	refused("auto", no_count, "give auto/N or TABPIPE_SHARDS");
	const char *past[] = {"SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_MIN=0",
	    "SLURM_ARRAY_TASK_COUNT=4", NULL};
	refused("auto", past, "makes shard 5, of 4");
	const char *below[] = {"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=1",
	    "SLURM_ARRAY_TASK_COUNT=4", NULL};
	refused("auto", below, "not in the array");
	const char *off_step[] = {"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=0",
	    "SLURM_ARRAY_TASK_STEP=2", "SLURM_ARRAY_TASK_COUNT=4", NULL};
	refused("auto", off_step, "in steps of 2");
	const char *k8s_past[] = {"JOB_COMPLETION_INDEX=3", "TABPIPE_SHARDS=3",
	    NULL};
	refused("auto", k8s_past, "JOB_COMPLETION_INDEX makes shard 4, of 3");
	const char *words[] = {"JOB_COMPLETION_INDEX=one", NULL};
	refused("auto/2", words, "JOB_COMPLETION_INDEX is \"one\"");
	const char *bad_count[] = {"JOB_COMPLETION_INDEX=0", "TABPIPE_SHARDS=-2",
	    NULL};
	refused("auto", bad_count, "TABPIPE_SHARDS is \"-2\"");
}
END_TEST

START_TEST(test_range)
{
	static const uint64_t totals[] = {0, 1, 2, 3, 6, 7, 100, 4097,
	    UINT64_MAX / 3};
	uint64_t lo, hi;

	for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]); t++)
		for (int n = 1; n <= 7; n++) {
			uint64_t total = totals[t], next = 0;
			for (int k = 1; k <= n; k++) {
				tp_shard_range(&(tp_shard){k, n}, total, &lo, &hi);
				/* Contiguous, in order, balanced. */
				ck_assert_uint_eq(lo, next);
				ck_assert_uint_le(lo, hi);
				ck_assert_uint_le(hi - lo, total / (uint64_t)n + 1);
				ck_assert_uint_ge(hi - lo, total / (uint64_t)n);
				next = hi;
				/* The rule itself, at the edges. */
				if (hi > lo && total < UINT32_MAX) {
					ck_assert_uint_eq(lo * (uint64_t)n / total,
					    (uint64_t)k - 1);
					ck_assert_uint_eq((hi - 1) * (uint64_t)n / total,
					    (uint64_t)k - 1);
				}
			}
			ck_assert_uint_eq(next, total);
		}
	tp_shard_range(NULL, 10, &lo, &hi);
	ck_assert_uint_eq(lo, 0);
	ck_assert_uint_eq(hi, 10);
}
END_TEST

/* A folder of its own for a test's files. */
static char dir[] = "/tmp/tp_shardXXXXXX";

static void
setup(void)
{
	fixture_folder(dir);
}

static void
teardown(void)
{
	fixture_folder_remove(dir);
}

/* An input of files holding sizes[i] rows each, one after the other, of
 * the rows of all (whose ids run from 1). */
typedef struct {
	char *paths[8];
	int n;
	size_t rows;
} parts;

static void
make_parts(parts *p, const tp_encoding *enc, const tp_batch *all,
    const size_t *sizes, int n)
{
	char name[32];

	p->n = n;
	p->rows = 0;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "part%d.tps", i);
		p->paths[i] = fixture_stream_file(dir, name, enc, all, p->rows,
		    sizes[i]);
		p->rows += sizes[i];
	}
	ck_assert_uint_le(p->rows, all->n);
}

static void
free_parts(parts *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->paths[i]);
}

/* Rows of b are rows first to first + b->n - 1 of all, bit for bit. */
static void
rows_are(const tp_batch *b, const tp_batch *all, size_t first)
{
	ck_assert_uint_le(first + b->n, all->n);
	ck_assert(memcmp(b->id, all->id + first, b->n * sizeof(*b->id)) == 0);
	ck_assert(memcmp(b->cat, all->cat + 2 * first,
	    2 * b->n * sizeof(*b->cat)) == 0);
	ck_assert(memcmp(b->num, all->num + 2 * first,
	    2 * b->n * sizeof(*b->num)) == 0);
	ck_assert(memcmp(b->label, all->label + first, b->n) == 0);
}

/* Reads the input (shard k of n; n 0: whole) a few rows a call into b. */
static int
read_all(const parts *p, int k, int n, tp_batch *b, tp_err *e)
{
	tp_shard s = {k, n};
	tp_shard_reader *r;
	long got;
	int rc;

	memset(e, 0, sizeof(*e));
	ck_assert_int_eq(tp_batch_init(b, 2, 2, 16, e), TP_OK);
	if ((rc = tp_shard_reader_open(&r, p->paths, p->n, &s, e)) != TP_OK)
		return rc;
	while ((got = tp_shard_read(r, b, 1000, e)) > 0)
		ck_assert_int_le(got, 1000);
	ck_assert_uint_eq(tp_shard_reader_rows(r), b->n);
	if (got == 0 && tp_shard_cuts(&s)) {
		ck_assert_ptr_null(tp_shard_reader_unseen(r));
		ck_assert_uint_eq(tp_shard_reader_total(r), p->rows);
	} else if (got == 0) {
		ck_assert_ptr_nonnull(tp_shard_reader_unseen(r));
		ck_assert_uint_eq(tp_shard_reader_total(r), b->n);
	}
	tp_shard_reader_close(r);
	return got < 0 ? e->code : TP_OK;
}

enum { BR = TP_STREAM_BLOCK_ROWS };

START_TEST(test_files_as_one)
{
	static const size_t sizes[] = {2 * BR + 100, 0, 1, 3 * BR};
	tp_encoding enc, other;
	tp_batch all, b;
	parts p;
	tp_err e;

	fixture_model_encoding(&enc);
	fixture_rows(&all, 5 * BR + 101, 1);
	make_parts(&p, &enc, &all, sizes, 4);
	ck_assert_int_eq(read_all(&p, 0, 0, &b, &e), TP_OK);
	ck_assert_uint_eq(b.n, p.rows);
	rows_are(&b, &all, 0);
	tp_batch_free(&b);

	/* tp_shard_load: the same, and the encoding. */
	tp_encoding back;
	ck_assert_int_eq(tp_shard_load(p.paths, p.n, NULL, &back, &b, &e),
	    TP_OK);
	ck_assert_str_eq(back.fingerprint, enc.fingerprint);
	ck_assert_uint_eq(b.n, p.rows);
	rows_are(&b, &all, 0);
	tp_batch_free(&b);
	tp_encoding_free(&back);

	/* A file of another encoding, last: refused before a row is read,
	 * naming both. */
	fixture_model_encoding(&other);
	other.cols[1].mean = 1;
	ck_assert_int_eq(tp_encoding_fingerprint(&other, &e), TP_OK);
	char *odd = fixture_stream_file(dir, "odd.tps", &other, &all, 0, 10);
	char *mixed[] = {p.paths[0], p.paths[2], odd};
	tp_shard_reader *r = NULL;
	ck_assert_int_eq(tp_shard_reader_open(&r, mixed, 3, NULL, &e), TP_EDATA);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(e.msg, odd));
	ck_assert_ptr_nonnull(strstr(e.msg, p.paths[0]));
	ck_assert_ptr_nonnull(strstr(e.msg, "encoded with"));
	ck_assert_int_eq(tp_shard_load(mixed, 3, NULL, &back, &b, &e), TP_EDATA);
	ck_assert_ptr_null(b.id);

	/* A missing file, anywhere; standard input twice. */
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/none.tps", dir);
	char *gap[] = {p.paths[0], missing};
	ck_assert_int_eq(tp_shard_reader_open(&r, gap, 2, NULL, &e), TP_ENOINPUT);
	ck_assert_ptr_nonnull(strstr(e.msg, missing));
	char *twice[] = {"-", p.paths[0], "-"};
	ck_assert_int_eq(tp_shard_reader_open(&r, twice, 3, NULL, &e), TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "named twice"));

	/* The name in messages, and the copy that needs one whole file. */
	ck_assert_int_eq(tp_shard_reader_open(&r, p.paths, 4,
	    &(tp_shard){2, 3}, &e), TP_OK);
	ck_assert_ptr_nonnull(strstr(tp_shard_reader_name(r), " and 3 more, shard 2/3"));
	ck_assert_int_eq(tp_shard_reader_tee(r, stdout, &e), TP_EUSAGE);
	tp_shard_reader_close(r);
	ck_assert_int_eq(tp_shard_reader_open(&r, p.paths, 1, NULL, &e), TP_OK);
	ck_assert_str_eq(tp_shard_reader_name(r), p.paths[0]);
	tp_shard_reader_close(r);
	tp_shard_reader_close(NULL);

	free(odd);
	free_parts(&p);
	tp_batch_free(&all);
	tp_encoding_free(&enc);
	tp_encoding_free(&other);
}
END_TEST

/* The first rows of the blocks of p's files, in the whole input. */
static int
is_block_start(const parts *p, const size_t *sizes, size_t row)
{
	size_t base = 0;

	for (int i = 0; i < p->n; i++) {
		if (row >= base && row < base + sizes[i])
			return (row - base) % BR == 0;
		base += sizes[i];
	}
	return 0;
}

/* Every shard of 1 to 7 of the input of files of sizes: the rows once, in
 * order, cut at blocks, as balanced as blocks allow. */
static void
check_shards(const size_t *sizes, int nfiles, uint64_t seed)
{
	tp_encoding enc;
	tp_batch all, b;
	size_t total = 0;
	parts p;
	tp_err e;

	for (int i = 0; i < nfiles; i++)
		total += sizes[i];
	fixture_model_encoding(&enc);
	fixture_rows(&all, total + 1, seed);
	make_parts(&p, &enc, &all, sizes, nfiles);
	for (int n = 1; n <= 7; n++) {
		size_t next = 0;
		for (int k = 1; k <= n; k++) {
			ck_assert_msg(read_all(&p, k, n, &b, &e) == TP_OK,
			    "%d/%d: %s", k, n, e.msg);
			rows_are(&b, &all, next);
			if (b.n > 0)
				ck_assert(is_block_start(&p, sizes, next));
			/* Within a block of its share. */
			double share = (double)total / n;
			ck_assert_msg(fabs((double)b.n - share) <= BR,
			    "%d/%d: %zu rows, a share of %g", k, n, b.n, share);
			next += b.n;
			tp_batch_free(&b);
		}
		ck_assert_uint_eq(next, total);
	}
	free_parts(&p);
	tp_batch_free(&all);
	tp_encoding_free(&enc);
}

START_TEST(test_shards_uneven)
{
	/* 11 blocks in one file. */
	static const size_t one[] = {10 * BR + 1};
	check_shards(one, 1, 2);
	/* 3 + 0 + 1 + 3 blocks, of 4096, 100, 1 and 4096 rows. */
	static const size_t several[] = {2 * BR + 100, 0, 1, 3 * BR};
	check_shards(several, 4, 3);
	/* 8 whole blocks: for 2 and 4 shards, every cut at a block's first
	 * row. */
	static const size_t even[] = {8 * BR};
	check_shards(even, 1, 9);
}
END_TEST

START_TEST(test_shards_few)
{
	/* One block, or two, for up to 7 shards: the others are empty. */
	static const size_t tiny[] = {10};
	check_shards(tiny, 1, 4);
	static const size_t two[] = {3, 5};
	check_shards(two, 2, 5);
	/* No row at all. */
	static const size_t none[] = {0, 0};
	check_shards(none, 2, 6);
}
END_TEST

/* Byte offset of the header of block k (from 1) of the stream at path. */
static long
block_at(const char *path, int k)
{
	FILE *f = fopen(path, "rb");
	unsigned char h[24];
	long at;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 12, SEEK_SET), 0);
	ck_assert_int_eq(fread(h, 1, 4, f), 4);
	at = 20 + (long)(h[0] | h[1] << 8 | h[2] << 16 | (long)h[3] << 24);
	for (int i = 1; i < k; i++) {
		ck_assert_int_eq(fseek(f, at, SEEK_SET), 0);
		ck_assert_int_eq(fread(h, 1, 24, f), 24);
		at += 24 + (long)(h[12] | h[13] << 8 | h[14] << 16 |
		    (long)h[15] << 24);
	}
	fclose(f);
	return at;
}

START_TEST(test_skipped_blocks_undecoded)
{
	static const size_t sizes[] = {4 * BR};
	tp_encoding enc;
	tp_batch all, b;
	parts p;
	tp_err e;

	fixture_model_encoding(&enc);
	fixture_rows(&all, 4 * BR, 7);
	make_parts(&p, &enc, &all, sizes, 1);
	/* A byte of block 3's payload changed: shards 1, 2 and 4 of 4 never
	 * read it; shard 3 finds it, as the whole stream does. */
	FILE *f = fopen(p.paths[0], "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, block_at(p.paths[0], 3) + 24 + 50, SEEK_SET), 0);
	int c = fgetc(f);
	ck_assert_int_eq(fseek(f, -1, SEEK_CUR), 0);
	fputc(c ^ 0x20, f);
	ck_assert_int_eq(fclose(f), 0);
	for (int k = 1; k <= 4; k++) {
		int rc = read_all(&p, k, 4, &b, &e);
		if (k == 3) {
			ck_assert_int_eq(rc, TP_EDATA);
			ck_assert_ptr_nonnull(strstr(e.msg, "block 3"));
		} else {
			ck_assert_msg(rc == TP_OK, "%d/4: %s", k, e.msg);
			ck_assert_uint_eq(b.n, BR);
			rows_are(&b, &all, (size_t)(k - 1) * BR);
		}
		tp_batch_free(&b);
	}
	ck_assert_int_eq(read_all(&p, 0, 0, &b, &e), TP_EDATA);
	tp_batch_free(&b);

	/* A block header changed is found by every shard's count. */
	f = fopen(p.paths[0], "r+b");
	ck_assert_int_eq(fseek(f, block_at(p.paths[0], 4) + 2, SEEK_SET), 0);
	fputc(0x7f, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(read_all(&p, 1, 4, &b, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "block 4"));
	tp_batch_free(&b);

	free_parts(&p);
	tp_batch_free(&all);
	tp_encoding_free(&enc);
}
END_TEST

/* The index of the blocks, of the whole input and of a shard, and its
 * blocks read in any order, each as often as asked: the rows of its
 * place, the same each time. */
START_TEST(test_index)
{
	static const size_t sizes[] = {2 * BR + 100, 0, 1, 3 * BR};
	size_t base[4], at = 0, n, next = 0;
	tp_encoding enc;
	tp_batch all, b, part;
	tp_shard_reader *r;
	tp_shard_block *ix;
	uint64_t rows;
	parts p;
	tp_err e;

	fixture_model_encoding(&enc);
	fixture_rows(&all, 5 * BR + 101, 4);
	make_parts(&p, &enc, &all, sizes, 4);
	for (int i = 0; i < 4; i++) {
		base[i] = at;
		at += sizes[i];
	}
	ck_assert_int_eq(tp_shard_reader_open(&r, p.paths, p.n, NULL, &e), TP_OK);
	ck_assert_int_eq(tp_shard_reader_index(r, &ix, &n, &rows, &e), TP_OK);
	ck_assert_uint_eq(n, 3 + 0 + 1 + 3);
	ck_assert_uint_eq(rows, p.rows);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(base[ix[i].file] + ix[i].block.first, next);
		next += ix[i].block.rows;
	}
	ck_assert_uint_eq(next, p.rows);
	ck_assert_int_eq(tp_batch_init(&b, 2, 2, 16, &e), TP_OK);
	for (size_t i = n; i-- > 0;)
		for (int twice = 0; twice < 2; twice++) {
			b.n = 0;
			ck_assert_int_eq(tp_shard_read_block(r, &ix[i], &b, &e),
			    (long)ix[i].block.rows);
			rows_are(&b, &all, base[ix[i].file] + ix[i].block.first);
		}
	free(ix);
	tp_shard_reader_close(r);

	/* Shard 2 of 3: the blocks whose rows tp_shard_read gives. */
	ck_assert_int_eq(read_all(&p, 2, 3, &part, &e), TP_OK);
	ck_assert_int_eq(tp_shard_reader_open(&r, p.paths, p.n,
	    &(tp_shard){2, 3}, &e), TP_OK);
	ck_assert_int_eq(tp_shard_reader_index(r, &ix, &n, &rows, &e), TP_OK);
	ck_assert_uint_eq(rows, part.n);
	b.n = 0;
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(tp_shard_read_block(r, &ix[i], &b, &e),
		    (long)ix[i].block.rows);
	ck_assert_uint_eq(b.n, part.n);
	rows_are(&b, &all, (size_t)(part.id[0] - 1));
	free(ix);
	tp_shard_reader_close(r);
	tp_batch_free(&part);
	tp_batch_free(&b);
	free_parts(&p);
	tp_batch_free(&all);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_cut_and_piped)
{
	static const size_t sizes[] = {2 * BR, 5};
	tp_encoding enc;
	tp_batch all, b;
	parts p;
	tp_err e;

	fixture_model_encoding(&enc);
	fixture_rows(&all, 2 * BR + 5, 8);
	make_parts(&p, &enc, &all, sizes, 2);

	/* Through a pipe: whole, yes; a shard, no. */
	int fd[2];
	char path[64], *piped[] = {path, p.paths[1]};
	FILE *in = fopen(p.paths[1], "rb");
	char buf[4096];
	size_t len = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	for (int cut = 0; cut <= 1; cut++) {
		ck_assert_int_eq(pipe(fd), 0);
		ck_assert_int_eq(write(fd[1], buf, len), (ssize_t)len);
		close(fd[1]);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd[0]);
		tp_encoding back;
		int rc = tp_shard_load(piped, 2, &(tp_shard){1, cut ? 2 : 1},
		    &back, &b, &e);
		if (cut) {
			ck_assert_int_eq(rc, TP_EUSAGE);
			ck_assert_ptr_nonnull(strstr(e.msg, "a pipe"));
		} else {
			ck_assert_msg(rc == TP_OK, "%s", e.msg);
			ck_assert_uint_eq(b.n, 10);
			tp_batch_free(&b);
			tp_encoding_free(&back);
		}
		close(fd[0]);
	}

	/* The last file cut short: every shard's count finds it, the first
	 * shard's too. */
	long size = block_at(p.paths[1], 2) + 10;
	ck_assert_int_eq(truncate(p.paths[1], size), 0);
	for (int k = 1; k <= 2; k++) {
		ck_assert_int_eq(read_all(&p, k, 2, &b, &e), TP_EDATA);
		ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));
		ck_assert_ptr_nonnull(strstr(e.msg, p.paths[1]));
		tp_batch_free(&b);
	}
	/* Cut inside a payload that a shard passes over. */
	ck_assert_int_eq(truncate(p.paths[0], block_at(p.paths[0], 2) + 30), 0);
	ck_assert_int_eq(read_all(&p, 2, 2, &b, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "inside a block payload"));
	tp_batch_free(&b);

	free_parts(&p);
	tp_batch_free(&all);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
shard_suite(void)
{
	Suite *s = suite_create("shard");
	TCase *tc = tcase_create("shards");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_auto);
	tcase_add_test(tc, test_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_files_as_one);
	tcase_add_test(tc, test_shards_uneven);
	tcase_add_test(tc, test_shards_few);
	tcase_add_test(tc, test_skipped_blocks_undecoded);
	tcase_add_test(tc, test_index);
	tcase_add_test(tc, test_cut_and_piped);
	suite_add_tcase(s, tc);
	return s;
}
