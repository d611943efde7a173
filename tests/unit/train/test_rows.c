/*
 * test_rows: the sources of training rows. In memory: every row once an
 * epoch, in the seed's and the epoch's order. Through a shuffle buffer,
 * over stream files of several blocks: every row once an epoch, bit for
 * bit; the same seed the same order and another epoch another; a small
 * buffer keeps the rows of a call within few blocks, a buffer as large as
 * the data mixes them all; the pool holds the rows of the last call; the
 * count, labels, fingerprint and reference profile of the loaded input;
 * a shard's rows; memory held bounded by the buffer and a block (the
 * source's own count and the heap's); pipes and damaged blocks refused;
 * and a model trained through a small buffer, the same twice and as good
 * as one trained in memory.
 */
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include "base/metrics.h"
#include "fixture.h"
#include "model/score.h"
#include "suites.h"
#include "train/rows.h"
#include "train/train.h"

enum { BR = TP_STREAM_BLOCK_ROWS };

/* A folder of its own for a test's files. */
static char dir[] = "/tmp/tp_rowsXXXXXX";

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

/* The rows of all, in two files: the first holds rows 1 to split, the
 * second the others, each cut into blocks of BR rows by the writer. */
typedef struct {
	tp_encoding enc;
	tp_batch all;
	char *paths[2];
	size_t split;
} input;

static void
input_make(input *in, size_t rows, size_t split, uint64_t seed)
{
	fixture_model_encoding(&in->enc);
	fixture_rows(&in->all, rows, seed);
	in->split = split;
	in->paths[0] = fixture_stream_file(dir, "a.tps", &in->enc, &in->all, 0,
	    split);
	in->paths[1] = fixture_stream_file(dir, "b.tps", &in->enc, &in->all,
	    split, rows - split);
}

static void
input_free(input *in)
{
	free(in->paths[0]);
	free(in->paths[1]);
	tp_batch_free(&in->all);
	tp_encoding_free(&in->enc);
}

/* The block (from 0, over both files) that the row of id is in. */
static size_t
block_of(const input *in, int64_t id)
{
	size_t r = (size_t)id - 1, first = (in->split + BR - 1) / BR;

	return r < in->split ? r / BR : first + (r - in->split) / BR;
}

/* Row i of b is the row of its id in all, bit for bit. */
static void
row_is_its_own(const input *in, const tp_batch *b, size_t i)
{
	int64_t id = b->id[i];

	ck_assert(id >= 1 && (size_t)id <= in->all.n);
	size_t r = (size_t)id - 1;
	ck_assert(memcmp(b->cat + 2 * i, in->all.cat + 2 * r, 2 * sizeof(int32_t)) == 0);
	ck_assert(memcmp(b->num + 2 * i, in->all.num + 2 * r, 2 * sizeof(float)) == 0);
	ck_assert_int_eq(b->label[i], in->all.label[r]);
}

/* Runs epoch of seed in calls of k rows: the ids in their order into ids
 * (the epoch's rows), each row checked against all when in is given, and
 * the mean number of blocks that a call's rows come from into *blocks. */
static void
run_epoch(tp_rows *s, const input *in, uint64_t seed, int epoch, size_t k,
    int64_t *ids, double *blocks)
{
	size_t n = tp_rows_count(s), given = 0, calls = 0, spread = 0;
	char *seen = calloc(in != NULL ? in->all.n / BR + 3 : 1, 1);
	tp_batch out;
	tp_err e;
	long got;

	ck_assert_int_eq(tp_batch_init(&out, 2, 2, k, &e), TP_OK);
	ck_assert_int_eq(tp_rows_epoch(s, seed, epoch, &e), TP_OK);
	while ((got = tp_rows_next(s, &out, k, &e)) > 0) {
		ck_assert_uint_le(given + (size_t)got, n);
		ck_assert(got == (long)k || given + (size_t)got == n);
		const size_t *at = tp_rows_positions(s);
		for (size_t i = 0; i < (size_t)got; i++) {
			ids[given + i] = out.id[i];
			if (at != NULL)
				ck_assert_int_eq(out.id[i],
				    tp_rows_pool(s)->id[at[i]]);
			if (in != NULL) {
				row_is_its_own(in, &out, i);
				size_t b = block_of(in, out.id[i]);
				spread += !seen[b];
				seen[b] = 1;
			}
		}
		if (in != NULL)
			memset(seen, 0, in->all.n / BR + 3);
		given += (size_t)got;
		calls++;
	}
	ck_assert_msg(got == 0, "%s", e.msg);
	ck_assert_uint_eq(given, n);
	ck_assert_int_eq(tp_rows_next(s, &out, k, &e), 0);
	if (blocks != NULL)
		*blocks = (double)spread / (double)calls;
	tp_batch_free(&out);
	free(seen);
}

/* ids holds 1 to n, each once. */
static void
each_once(const int64_t *ids, size_t n)
{
	char *seen = calloc(n + 1, 1);

	for (size_t i = 0; i < n; i++) {
		ck_assert(ids[i] >= 1 && (size_t)ids[i] <= n);
		ck_assert_msg(!seen[ids[i]], "row %lld given twice", (long long)ids[i]);
		seen[ids[i]] = 1;
	}
	free(seen);
}

START_TEST(in_memory)
{
	enum { N = 1000 };
	int64_t a[N], b[N], c[N];
	tp_batch all;
	tp_rows *s;
	tp_err e;

	fixture_rows(&all, N, 3);
	ck_assert_int_eq(tp_rows_memory(&s, &all, &e), TP_OK);
	ck_assert_uint_eq(tp_rows_count(s), N);
	ck_assert_uint_eq(tp_rows_held(s), N);
	ck_assert_uint_eq(tp_rows_buffer(s), 0);
	ck_assert_ptr_null(tp_rows_encoding(s));
	ck_assert_ptr_eq(tp_rows_pool(s), &all);
	ck_assert_ptr_nonnull(tp_rows_positions(s));
	run_epoch(s, NULL, 7, 1, 64, a, NULL);
	run_epoch(s, NULL, 7, 1, 100, b, NULL);
	run_epoch(s, NULL, 7, 2, 64, c, NULL);
	each_once(a, N);
	each_once(c, N);
	ck_assert_msg(memcmp(a, b, sizeof(a)) == 0,
	    "the order depends on the calls' sizes");
	ck_assert(memcmp(a, c, sizeof(a)) != 0);
	double neg, pos, n0 = 0, n1 = 0;
	tp_rows_labels(s, &neg, &pos);
	for (size_t i = 0; i < N; i++) {
		n0 += all.label[i] == 0;
		n1 += all.label[i] == 1;
	}
	ck_assert(neg == n0 && pos == n1 && n0 + n1 == N);
	tp_rows_close(s);
	tp_batch_free(&all);
}
END_TEST

/* Every row once an epoch, bit for bit; the seed's and the epoch's order;
 * a buffer smaller than a block draws a call's rows from one or two of
 * them, a buffer as large as the data from nearly all. */
START_TEST(buffered_epochs)
{
	input in;
	size_t n = 3 * BR + 100 + BR / 2;
	int64_t *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b));
	int64_t *c = malloc(n * sizeof(*c));
	double near, mixed;
	tp_rows *s, *t;
	tp_err e;

	input_make(&in, n, 3 * BR + 100, 5);
	ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 1000, &e), TP_OK);
	ck_assert_uint_eq(tp_rows_count(s), n);
	ck_assert_uint_eq(tp_rows_buffer(s), 1000);
	ck_assert_str_eq(tp_rows_encoding(s)->fingerprint, in.enc.fingerprint);
	ck_assert_ptr_null(tp_rows_positions(s));
	run_epoch(s, &in, 9, 1, 64, a, &near);
	each_once(a, n);
	run_epoch(s, &in, 9, 2, 64, c, NULL);
	each_once(c, n);
	ck_assert(memcmp(a, c, n * sizeof(*a)) != 0);
	/* Another source of the same files and seed: the same order. */
	ck_assert_int_eq(tp_rows_open(&t, in.paths, 2, NULL, 1000, &e), TP_OK);
	run_epoch(t, &in, 9, 1, 64, b, NULL);
	ck_assert(memcmp(a, b, n * sizeof(*a)) == 0);
	run_epoch(t, &in, 10, 1, 64, b, NULL);
	ck_assert(memcmp(a, b, n * sizeof(*a)) != 0);
	/* The blocks come in another order each epoch: the first row given
	 * is of another block now and then. */
	char firsts[8] = {0};
	int kinds = 0;
	for (int epoch = 1; epoch <= 8; epoch++) {
		run_epoch(t, &in, 9, epoch, 64, b, NULL);
		kinds += !firsts[block_of(&in, b[0])];
		firsts[block_of(&in, b[0])] = 1;
	}
	ck_assert_msg(kinds >= 3, "the first rows of 8 epochs from %d blocks",
	    kinds);
	tp_rows_close(t);
	/* A buffer as large as the data: a permutation of every block's rows. */
	ck_assert_int_eq(tp_rows_open(&t, in.paths, 2, NULL, n, &e), TP_OK);
	run_epoch(t, &in, 9, 1, 64, b, &mixed);
	each_once(b, n);
	tp_rows_close(t);
	ck_assert_msg(near < 2.5, "a call's rows from %g blocks", near);
	ck_assert_msg(mixed > 3.5, "a call's rows from %g blocks", mixed);
	tp_rows_close(s);
	input_free(&in);
	free(a);
	free(b);
	free(c);
}
END_TEST

/* What the buffered source measures at opening is what the loaded input
 * gives; the pool holds the rows of the last call. */
START_TEST(buffered_measures)
{
	input in;
	size_t n = 2 * BR + 333;
	tp_reference loaded = {0}, buffered = {0};
	tp_encoding enc;
	tp_batch all, out;
	tp_rows *s;
	char f1[65], f2[65];
	double neg, pos, n0 = 0, n1 = 0;
	tp_err e;

	input_make(&in, n, BR + 1, 6);
	ck_assert_int_eq(tp_shard_load(in.paths, 2, NULL, &enc, &all, &e), TP_OK);
	ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 500, &e), TP_OK);
	tp_batch_fingerprint(&all, f1);
	tp_rows_fingerprint(s, f2);
	ck_assert_str_eq(f1, f2);
	tp_rows_labels(s, &neg, &pos);
	for (size_t i = 0; i < n; i++) {
		n0 += all.label[i] == 0;
		n1 += all.label[i] == 1;
	}
	ck_assert(neg == n0 && pos == n1);
	ck_assert_int_eq(tp_reference_fit(&loaded, &enc, &all, &e), TP_OK);
	ck_assert_int_eq(tp_rows_reference(s, &enc, &buffered, &e), TP_OK);
	ck_assert_uint_eq(buffered.rows, n);
	for (int k = 0; k < loaded.offset[loaded.ncat]; k++)
		ck_assert(loaded.share[k] == buffered.share[k]);
	for (int j = 0; j < loaded.nnum; j++) {
		ck_assert(loaded.missing[j] == buffered.missing[j]);
		ck_assert(fabs(loaded.mean[j] - buffered.mean[j]) < 1e-12);
	}

	/* Every row of a call is in the pool after it. */
	ck_assert_int_eq(tp_batch_init(&out, 2, 2, 200, &e), TP_OK);
	ck_assert_int_eq(tp_rows_epoch(s, 1, 1, &e), TP_OK);
	long got;
	while ((got = tp_rows_next(s, &out, 200, &e)) > 0) {
		const tp_batch *pool = tp_rows_pool(s);
		ck_assert_uint_ge(pool->n, (size_t)got);
		ck_assert_uint_le(pool->n, 500);
		for (size_t i = 0; i < (size_t)got; i++) {
			size_t j = 0;
			while (j < pool->n && pool->id[j] != out.id[i])
				j++;
			ck_assert_msg(j < pool->n, "row %lld not in the pool",
			    (long long)out.id[i]);
		}
	}
	ck_assert_int_eq(got, 0);
	/* More than the buffer holds at once is refused. */
	ck_assert_int_eq(tp_batch_reserve(&out, 501, &e), TP_OK);
	ck_assert_int_eq(tp_rows_next(s, &out, 501, &e), -1);

	tp_batch_free(&out);
	tp_reference_free(&loaded);
	tp_reference_free(&buffered);
	tp_rows_close(s);
	tp_batch_free(&all);
	tp_encoding_free(&enc);
	input_free(&in);
}
END_TEST

/* A shard through a buffer: the rows of that shard, each once. */
START_TEST(buffered_shard)
{
	input in;
	size_t n = 5 * BR + 17;
	tp_shard shard = {2, 3};
	tp_encoding enc;
	tp_batch part;
	tp_rows *s;
	tp_err e;

	input_make(&in, n, 2 * BR + 17, 7);
	ck_assert_int_eq(tp_shard_load(in.paths, 2, &shard, &enc, &part, &e), TP_OK);
	ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, &shard, 300, &e), TP_OK);
	ck_assert_uint_eq(tp_rows_count(s), part.n);
	int64_t *ids = malloc(part.n * sizeof(*ids));
	char *want = calloc(n + 1, 1);
	run_epoch(s, &in, 3, 1, 32, ids, NULL);
	for (size_t i = 0; i < part.n; i++)
		want[part.id[i]] = 1;
	for (size_t i = 0; i < part.n; i++) {
		ck_assert_msg(want[ids[i]], "row %lld is not the shard's",
		    (long long)ids[i]);
		want[ids[i]] = 0;
	}
	free(ids);
	free(want);
	tp_rows_close(s);
	tp_batch_free(&part);
	tp_encoding_free(&enc);
	input_free(&in);
}
END_TEST

/* The heap's bytes in use. */
static size_t
heap(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

/* What a source holds is bounded by its buffer and a block, whatever the
 * rows: by its own count, and by the heap's growth over an epoch against
 * the loaded input's. */
START_TEST(memory_bounded)
{
	input in;
	size_t n = 24 * BR, before, loaded, buffered;
	int64_t *ids = malloc(n * sizeof(*ids));
	tp_rows *s;
	tp_err e;

	input_make(&in, n, 12 * BR, 8);
	before = heap();
	ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 0, &e), TP_OK);
	loaded = heap() - before;
	tp_rows_close(s);

	before = heap();
	ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 1000, &e), TP_OK);
	ck_assert_uint_le(tp_rows_held(s), 1000 + BR);
	run_epoch(s, NULL, 1, 1, 100, ids, NULL);
	buffered = heap() - before;
	tp_rows_close(s);
	/* The loaded rows, 25 bytes each, and their order (8); the buffered
	 * source's buffer, a block and the readers' two block buffers of
	 * each file. Under AddressSanitizer or memcheck, whose allocators
	 * glibc's mallinfo2 does not see, only the source's own count is. */
	if (loaded == 0 && buffered == 0)
		goto out;
	ck_assert_uint_ge(loaded, n * 33);
	ck_assert_msg(buffered < loaded / 4, "%zu bytes buffered, %zu loaded",
	    buffered, loaded);
out:
	free(ids);
	input_free(&in);
}
END_TEST

/* A pipe cannot be read in a random order of blocks; a damaged block is
 * found at opening, before any row is given. */
START_TEST(refused)
{
	input in;
	char path[64], *piped[] = {path};
	char buf[8192];
	int fd[2];
	tp_rows *s;
	tp_err e;

	input_make(&in, 100, 60, 9);
	FILE *f = fopen(in.paths[0], "rb");
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (int buffered = 0; buffered <= 1; buffered++) {
		ck_assert_int_eq(pipe(fd), 0);
		ck_assert_int_eq(write(fd[1], buf, len), (ssize_t)len);
		close(fd[1]);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd[0]);
		int rc = tp_rows_open(&s, piped, 1, NULL, buffered ? 50 : 0, &e);
		if (buffered) {
			ck_assert_int_eq(rc, TP_EUSAGE);
			ck_assert_msg(strstr(e.msg, "a pipe") != NULL &&
			    strstr(e.msg, "--buffer-rows") != NULL, "%s", e.msg);
		} else {
			ck_assert_msg(rc == TP_OK, "%s", e.msg);
			ck_assert_uint_eq(tp_rows_count(s), 60);
			tp_rows_close(s);
		}
		close(fd[0]);
	}
	/* A byte of the second file's payload changed. */
	ck_assert_ptr_nonnull(f = fopen(in.paths[1], "r+b"));
	ck_assert_int_eq(fseek(f, -60, SEEK_END), 0);
	int c = fgetc(f);
	ck_assert_int_eq(fseek(f, -60, SEEK_END), 0);
	fputc(c ^ 0x10, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 50, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "CRC") != NULL, "%s", e.msg);
	input_free(&in);
}
END_TEST

/* Ends the process after the second epoch's checkpoint, as a kill would. */
static void
die_after_two(void *ctx, const tp_epoch_report *r)
{
	(void)ctx;
	if (r->epoch == 2)
		_exit(0);
}

static const tp_config small = {
	.layers = 1, .d_model = 8, .heads = 2, .d_ff = 12, .head_hidden = 6,
	.proj_dim = 4, .dropout = 0.1f, .activation = TP_GELU,
};

/* A model trained through a buffer of a few batches: the same weights
 * twice, not those of the in-memory order, and about as good; a run
 * killed after two epochs resumes to the same weights, each epoch being
 * its seed's and number's alone. */
START_TEST(trains_through_a_buffer)
{
	input in;
	tp_batch valid;
	tp_train_opts o;
	tp_train_result r1, r2, rm;
	tp_model a, b, m;
	tp_rows *s;
	tp_err e;

	input_make(&in, 1200, 700, 11);
	fixture_rows(&valid, 300, 12);
	tp_train_defaults(&o);
	o.model = small;
	o.epochs = 8;
	o.patience = 8;
	o.batch = 64;
	o.lr = 1e-2f;
	o.threads = 1;
	o.buffer_rows = 32;
	ck_assert_int_eq(tp_train_check(&o, &e), TP_EUSAGE);
	ck_assert_msg(strstr(e.msg, "--batch") != NULL, "%s", e.msg);
	ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 32, &e), TP_OK);
	ck_assert_int_eq(tp_train_rows(&o, &in.enc, s, &valid, &a, &r1, &e), TP_EUSAGE);
	tp_rows_close(s);

	o.buffer_rows = 256;
	ck_assert_int_eq(tp_train_check(&o, &e), TP_OK);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 256, &e), TP_OK);
		ck_assert_int_eq(tp_train_rows(&o, &in.enc, s, &valid, i ? &b : &a,
		    i ? &r2 : &r1, &e), TP_OK);
		tp_rows_close(s);
	}
	ck_assert_int_eq(memcmp(a.params, b.params, a.nfloats * sizeof(float)), 0);
	ck_assert(r1.valid_auc == r2.valid_auc);
	ck_assert_int_eq(tp_train(&o, &in.enc, &in.all, &valid, &m, &rm, &e), TP_OK);
	ck_assert_int_ne(memcmp(a.params, m.params, a.nfloats * sizeof(float)), 0);
	ck_assert_msg(r1.valid_auc > 0.8 && fabs(r1.valid_auc - rm.valid_auc) < 0.05,
	    "valid AUC %g through a buffer, %g in memory", r1.valid_auc,
	    rm.valid_auc);
	tp_model_free(&b);
	tp_model_free(&m);

	char ckpt[64];
	pid_t pid;
	int status;
	snprintf(ckpt, sizeof(ckpt), "%s/run.ckpt", dir);
	o.checkpoint = ckpt;
	if ((pid = fork()) == 0) {
		o.progress = die_after_two;
		ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 256, &e), TP_OK);
		tp_train_rows(&o, &in.enc, s, &valid, &b, &r2, &e);
		_exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	o.resume = 1;
	ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 256, &e), TP_OK);
	ck_assert_int_eq(tp_train_rows(&o, &in.enc, s, &valid, &b, &r2, &e), TP_OK);
	tp_rows_close(s);
	ck_assert_int_eq(r2.epochs_run, o.epochs);
	ck_assert_int_eq(memcmp(a.params, b.params, a.nfloats * sizeof(float)), 0);
	tp_model_free(&a);
	tp_model_free(&b);

	/* Pretraining too, its resampled features drawn from the buffer. */
	tp_pretrain_defaults(&o);
	o.model = small;
	o.epochs = 2;
	o.batch = 64;
	o.threads = 1;
	o.corruption = TP_CORRUPT_RESAMPLE;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(tp_rows_open(&s, in.paths, 2, NULL, 100, &e), TP_OK);
		ck_assert_int_eq(tp_pretrain_rows(&o, &in.enc, s, i ? &b : &a, &e),
		    TP_OK);
		tp_rows_close(s);
	}
	ck_assert_int_eq(memcmp(a.params, b.params, a.nfloats * sizeof(float)), 0);
	tp_model_free(&a);
	tp_model_free(&b);
	tp_batch_free(&valid);
	input_free(&in);
}
END_TEST

Suite *
rows_suite(void)
{
	Suite *s = suite_create("rows");
	TCase *tc = tcase_create("memory");

	tcase_add_test(tc, in_memory);
	suite_add_tcase(s, tc);

	tc = tcase_create("buffered");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, buffered_epochs);
	tcase_add_test(tc, buffered_measures);
	tcase_add_test(tc, buffered_shard);
	tcase_add_test(tc, memory_bounded);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, trains_through_a_buffer);
	suite_add_tcase(s, tc);
	return s;
}
