#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "data/shard.h"

/* A whole number of digits alone, from 0 to TP_SHARD_MAX, read from *p
 * on: -1 when there is none or it is larger. */
static long
digits(const char **p)
{
	long v = 0;

	if (**p < '0' || **p > '9')
		return -1;
	for (; **p >= '0' && **p <= '9'; (*p)++)
		if ((v = v * 10 + (**p - '0')) > TP_SHARD_MAX)
			return -1;
	return v;
}

/* Variable name's value as a whole number into *v: 0 when it is unset or
 * empty (*v untouched), 1 when read, TP_EUSAGE (negated) when it is not a
 * number. */
static int
env_number(char *(*env)(const char *), const char *name, long *v,
    const char *from, tp_err *e)
{
	const char *s = env(name), *p = s;

	if (s == NULL || *s == '\0')
		return 0;
	if ((*v = digits(&p)) < 0 || *p != '\0')
		return -tp_err_set(e, TP_EUSAGE,
		    "%s: %s is \"%s\", not a whole number from 0 to %d", from, name,
		    s, TP_SHARD_MAX);
	return 1;
}

/* The shard of a job array: Slurm's task, or Kubernetes' completion index;
 * n, when not 0, is the count that auto/N gave. */
static int
from_env(tp_shard *s, long n, const char *from, char *(*env)(const char *),
    tp_err *e)
{
	long id, min, step = 1, count = 0;
	const char *what;
	int rc;

	if ((rc = env_number(env, "SLURM_ARRAY_TASK_ID", &id, from, e)) < 0)
		return -rc;
	if (rc == 1) {
		what = "SLURM_ARRAY_TASK_ID";
		if ((rc = env_number(env, "SLURM_ARRAY_TASK_MIN", &min, from,
		    e)) <= 0)
			return rc < 0 ? -rc : tp_err_set(e, TP_EUSAGE,
			    "%s: SLURM_ARRAY_TASK_ID is set, SLURM_ARRAY_TASK_MIN is not: it says whether the array counts from 0 or 1",
			    from);
		if ((rc = env_number(env, "SLURM_ARRAY_TASK_STEP", &step, from,
		    e)) < 0)
			return -rc;
		if ((rc = env_number(env, "SLURM_ARRAY_TASK_COUNT", &count, from,
		    e)) < 0)
			return -rc;
		if (step < 1 || id < min || (id - min) % step != 0)
			return tp_err_set(e, TP_EUSAGE,
			    "%s: SLURM_ARRAY_TASK_ID %ld is not in the array from %ld in steps of %ld",
			    from, id, min, step);
		id = (id - min) / step;
	} else {
		what = "JOB_COMPLETION_INDEX";
		if ((rc = env_number(env, what, &id, from, e)) <= 0)
			return rc < 0 ? -rc : tp_err_set(e, TP_EUSAGE,
			    "%s: auto takes the shard from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, and neither is set",
			    from);
	}
	if (n == 0)
		n = count;
	if (n == 0 && (rc = env_number(env, "TABPIPE_SHARDS", &n, from, e)) < 0)
		return -rc;
	if (n == 0)
		return tp_err_set(e, TP_EUSAGE,
		    "%s: %s gives the shard, not how many there are: give auto/N or TABPIPE_SHARDS",
		    from, what);
	if (id + 1 > n)
		return tp_err_set(e, TP_EUSAGE,
		    "%s: %s makes shard %ld, of %ld", from, what, id + 1, n);
	s->k = (int)id + 1;
	s->n = (int)n;
	return TP_OK;
}

int
tp_shard_parse(tp_shard *s, const char *arg, const char *from,
    char *(*env)(const char *), tp_err *e)
{
	const char *p = arg;
	long k = 0, n = 0;

	if (strcmp(arg, "auto") == 0)
		return from_env(s, 0, from, env, e);
	if (strncmp(arg, "auto/", 5) == 0) {
		p += 5;
		if ((n = digits(&p)) >= 1 && *p == '\0')
			return from_env(s, n, from, env, e);
	} else if ((k = digits(&p)) >= 1 && *p++ == '/' &&
	    (n = digits(&p)) >= k && *p == '\0') {
		s->k = (int)k;
		s->n = (int)n;
		return TP_OK;
	}
	return tp_err_set(e, TP_EUSAGE,
	    "%s: \"%s\" is not K/N (K from 1 to N, N at most %d), auto or auto/N",
	    from, arg, TP_SHARD_MAX);
}

static int
parse_option(void *settings, const char *arg, const char *from, tp_err *e)
{
	return tp_shard_parse(settings, arg, from, getenv, e);
}

static cJSON *
shard_json(const void *settings)
{
	const tp_shard *s = settings;
	char text[32];

	if (s->n == 0)
		return NULL;
	snprintf(text, sizeof(text), "%d/%d", s->k, s->n);
	return cJSON_CreateString(text);
}

const tp_opt tp_shard_options[] = {
	{.key = "shard", .name = "shard", .arg = "K/N|auto",
	    .type = TP_OPT_CUSTOM, .offset = 0, .flags = TP_OPT_RECORD,
	    .help = "read shard K of N of the input (auto: the job array's)",
	    .parse = parse_option, .json = shard_json},
	{0},
};

int
tp_shard_cuts(const tp_shard *s)
{
	return s != NULL && s->n > 1;
}

/* ceil(a total / n), without overflow. */
static uint64_t
bound(uint64_t a, uint64_t total, uint64_t n)
{
	unsigned __int128 x = (unsigned __int128)a * total;

	return (uint64_t)((x + n - 1) / n);
}

void
tp_shard_range(const tp_shard *s, uint64_t total, uint64_t *lo,
    uint64_t *hi)
{
	if (!tp_shard_cuts(s)) {
		*lo = 0;
		*hi = total;
		return;
	}
	*lo = bound((uint64_t)s->k - 1, total, (uint64_t)s->n);
	*hi = bound((uint64_t)s->k, total, (uint64_t)s->n);
}

int
tp_shard_file_size(FILE *f, const char *name, uint64_t *size, tp_err *e)
{
	off_t at = ftello(f);
	struct stat st;

	if (at < 0 || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		return tp_err_set(e, TP_EUSAGE,
		    "%s: not a file that can be measured (a pipe?): a shard is cut from files",
		    name);
	*size = st.st_size > at ? (uint64_t)(st.st_size - at) : 0;
	return TP_OK;
}

char *
tp_shard_name(const char *first, int n, const tp_shard *s)
{
	char more[64] = "", shard[64] = "";
	size_t len;
	char *name;

	if (n > 1)
		snprintf(more, sizeof(more), " and %d more", n - 1);
	if (tp_shard_cuts(s))
		snprintf(shard, sizeof(shard), ", shard %d/%d", s->k, s->n);
	len = strlen(first) + strlen(more) + strlen(shard) + 1;
	if ((name = malloc(len)) != NULL)
		snprintf(name, len, "%s%s%s", first, more, shard);
	return name;
}

/* One file of the input. */
typedef struct {
	const char *path;
	char *name;             /* in messages: the path, or "standard input" */
	FILE *f;                /* NULL once read */
	tp_stream_reader *r;    /* NULL once read, but the first file's */
	int skip;               /* none of its blocks is in the shard */
} input;

struct tp_shard_reader {
	input *in;              /* (n) */
	int n, cur;             /* files, and the one read now */
	tp_shard shard;
	uint64_t rows;          /* rows given */
	uint64_t total;         /* rows of the whole input, when counted */
	uint64_t *unseen;       /* (ncat) summed over the files read */
	char *name;             /* the input in messages */
};

/* Closes file i's stream and file, once read; the first file's reader
 * holds the encoding, and stays until the end. */
static void
input_done(tp_shard_reader *r, int i)
{
	input *in = &r->in[i];

	if (i > 0) {
		tp_stream_reader_close(in->r);
		in->r = NULL;
	}
	if (in->f != NULL)
		tp_close_input(in->f);
	in->f = NULL;
}

/* Opens file i and reads its header, which must be of the first's
 * encoding. */
static int
open_input(tp_shard_reader *r, int i, tp_err *e)
{
	input *in = &r->in[i];
	int rc;

	if ((in->name = strdup(strcmp(in->path, "-") ? in->path :
	    "standard input")) == NULL)
		return tp_err_nomem(e, "an input's name");
	if ((rc = tp_open_input(in->path, &in->f, e)) != TP_OK)
		return rc;
	if ((rc = tp_stream_reader_open(&in->r, in->f, in->name, e)) != TP_OK)
		return rc;
	const tp_encoding *enc = tp_stream_encoding(in->r);
	const tp_encoding *first = tp_stream_encoding(r->in[0].r);
	if (i > 0 && strcmp(enc->fingerprint, first->fingerprint) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: encoded with %.12s..., %s with %.12s...: files read as one stream must share one encoding (tabpipe-ingest --encoding)",
		    in->name, enc->fingerprint, r->in[0].name, first->fingerprint);
	return TP_OK;
}

/* Counts every file's rows and gives each its part of the shard. */
static int
cut(tp_shard_reader *r, tp_err *e)
{
	uint64_t *rows = calloc((size_t)r->n, sizeof(*rows)), lo, hi, base = 0;
	int rc = TP_OK;

	if (rows == NULL)
		return tp_err_nomem(e, "the inputs' counts");
	r->total = 0;
	for (int i = 0; i < r->n && rc == TP_OK; i++)
		if ((rc = tp_stream_reader_count(r->in[i].r, &rows[i], NULL,
		    e)) == TP_OK)
			r->total += rows[i];
	tp_shard_range(&r->shard, r->total, &lo, &hi);
	for (int i = 0; i < r->n && rc == TP_OK; i++) {
		/* The file's blocks start at rows base to base + rows - 1. */
		r->in[i].skip = lo >= base + rows[i] || hi <= base;
		tp_stream_reader_range(r->in[i].r, lo > base ? lo - base : 0,
		    hi > base ? hi - base : 0);
		base += rows[i];
	}
	free(rows);
	return rc;
}

int
tp_shard_reader_open(tp_shard_reader **out, char *const *paths, int n,
    const tp_shard *shard, tp_err *e)
{
	tp_shard_reader *r;
	int rc = TP_OK;

	*out = NULL;
	if (n < 1)
		return tp_err_set(e, TP_EINTERNAL, "no file to read a stream from");
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->in = calloc((size_t)n, sizeof(*r->in))) == NULL) {
		free(r);
		return tp_err_nomem(e, "a reader of streams");
	}
	r->n = n;
	if (shard != NULL)
		r->shard = *shard;
	for (int i = 0; i < n; i++) {
		r->in[i].path = paths[i];
		for (int j = 0; j < i && rc == TP_OK; j++)
			if (strcmp(paths[i], "-") == 0 && strcmp(paths[j], "-") == 0)
				rc = tp_err_set(e, TP_EUSAGE,
				    "standard input (-) is named twice: it can be read once");
	}
	for (int i = 0; i < n && rc == TP_OK; i++)
		rc = open_input(r, i, e);
	if (rc == TP_OK && tp_shard_cuts(&r->shard))
		rc = cut(r, e);
	if (rc == TP_OK && ((r->unseen = calloc((size_t)tp_stream_encoding(
	    r->in[0].r)->ncat + 1, sizeof(*r->unseen))) == NULL ||
	    (r->name = tp_shard_name(r->in[0].name, n, &r->shard)) == NULL))
		rc = tp_err_nomem(e, "a reader of streams");
	if (rc != TP_OK) {
		tp_shard_reader_close(r);
		return rc;
	}
	*out = r;
	return TP_OK;
}

void
tp_shard_reader_close(tp_shard_reader *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->n; i++) {
		tp_stream_reader_close(r->in[i].r);
		if (r->in[i].f != NULL)
			tp_close_input(r->in[i].f);
		free(r->in[i].name);
	}
	free(r->in);
	free(r->unseen);
	free(r->name);
	free(r);
}

const tp_encoding *
tp_shard_reader_encoding(const tp_shard_reader *r)
{
	return tp_stream_encoding(r->in[0].r);
}

const char *
tp_shard_reader_name(const tp_shard_reader *r)
{
	return r->name;
}

long
tp_shard_read(tp_shard_reader *r, tp_batch *b, size_t max, tp_err *e)
{
	for (; r->cur < r->n; r->cur++) {
		input *in = &r->in[r->cur];
		if (!in->skip) {
			long got = tp_stream_read(in->r, b, max, e);
			if (got != 0) {
				if (got > 0)
					r->rows += (uint64_t)got;
				return got;
			}
			const uint64_t *unseen = tp_stream_unseen(in->r);
			for (int j = 0; j < tp_stream_encoding(in->r)->ncat; j++)
				r->unseen[j] += unseen[j];
		}
		input_done(r, r->cur);
	}
	return 0;
}

uint64_t
tp_shard_reader_rows(const tp_shard_reader *r)
{
	return r->rows;
}

uint64_t
tp_shard_reader_total(const tp_shard_reader *r)
{
	return tp_shard_cuts(&r->shard) ? r->total : r->rows;
}

const uint64_t *
tp_shard_reader_unseen(const tp_shard_reader *r)
{
	return tp_shard_cuts(&r->shard) ? NULL : r->unseen;
}

int
tp_shard_reader_index(tp_shard_reader *r, tp_shard_block **index, size_t *n,
    uint64_t *rows, tp_err *e)
{
	tp_stream_block **blocks = calloc((size_t)r->n, sizeof(*blocks));
	uint64_t *count = calloc((size_t)r->n, sizeof(*count));
	uint64_t *nrows = calloc((size_t)r->n, sizeof(*nrows));
	uint64_t total = 0, lo, hi, base = 0;
	size_t kept = 0;
	int rc = TP_OK;

	*index = NULL;
	*n = 0;
	*rows = 0;
	if (blocks == NULL || count == NULL || nrows == NULL)
		rc = tp_err_nomem(e, "an index of blocks");
	for (int i = 0; i < r->n && rc == TP_OK; i++)
		if ((rc = tp_stream_reader_index(r->in[i].r, &blocks[i], &count[i],
		    &nrows[i], e)) == TP_OK) {
			total += nrows[i];
			kept += (size_t)count[i];
		}
	if (rc == TP_OK && (*index = malloc((kept + 1) * sizeof(**index))) == NULL)
		rc = tp_err_nomem(e, "an index of blocks");
	tp_shard_range(&r->shard, total, &lo, &hi);
	for (int i = 0; i < r->n && rc == TP_OK; i++) {
		for (uint64_t j = 0; j < count[i]; j++) {
			uint64_t first = base + blocks[i][j].first;
			if (first < lo || first >= hi)
				continue;
			(*index)[*n] = (tp_shard_block){.file = i, .block = blocks[i][j]};
			*rows += blocks[i][j].rows;
			(*n)++;
		}
		base += nrows[i];
	}
	for (int i = 0; blocks != NULL && i < r->n; i++)
		free(blocks[i]);
	free(blocks);
	free(count);
	free(nrows);
	if (rc != TP_OK) {
		free(*index);
		*index = NULL;
		*n = 0;
		*rows = 0;
	}
	return rc;
}

long
tp_shard_read_block(tp_shard_reader *r, const tp_shard_block *b,
    tp_batch *out, tp_err *e)
{
	tp_stream_reader *in = r->in[b->file].r;
	long got;

	if (in == NULL)
		return tp_err_set(e, TP_EINTERNAL,
		    "%s: a block read after the file was", r->in[b->file].name), -1;
	if (tp_stream_reader_seek(in, &b->block, e) != TP_OK ||
	    (got = tp_stream_read(in, out, SIZE_MAX, e)) < 0)
		return -1;
	if ((uint64_t)got != b->block.rows)
		return tp_err_set(e, TP_EDATA,
		    "%s: block %llu at byte %llu gave %ld rows, its header %u: the file changed while it was read",
		    r->in[b->file].name, (unsigned long long)b->block.k,
		    (unsigned long long)b->block.at, got, b->block.rows), -1;
	return got;
}

int
tp_shard_reader_tee(tp_shard_reader *r, FILE *tee, tp_err *e)
{
	if (r->n > 1 || tp_shard_cuts(&r->shard))
		return tp_err_set(e, TP_EUSAGE,
		    "%s: a copy as read is of one whole stream: join files, or cut a shard, with tabpipe-cat --stream",
		    r->name);
	return tp_stream_reader_tee(r->in[0].r, tee, e);
}

int
tp_shard_reader_tee_cut(const tp_shard_reader *r)
{
	return tp_stream_reader_tee_cut(r->in[0].r);
}

int
tp_shard_load(char *const *paths, int n, const tp_shard *shard,
    tp_encoding *enc, tp_batch *b, tp_err *e)
{
	tp_shard_reader *r;
	int rc;

	memset(enc, 0, sizeof(*enc));
	memset(b, 0, sizeof(*b));
	if ((rc = tp_shard_reader_open(&r, paths, n, shard, e)) != TP_OK)
		return rc;
	const tp_encoding *renc = tp_shard_reader_encoding(r);
	rc = tp_batch_init(b, renc->ncat, renc->nnum, TP_STREAM_BLOCK_ROWS, e);
	while (rc == TP_OK) {
		long got = tp_shard_read(r, b, SIZE_MAX, e);
		if (got < 0)
			rc = e->code;
		if (got <= 0)
			break;
	}
	if (rc == TP_OK)
		tp_stream_take_encoding(r->in[0].r, enc);
	else
		tp_batch_free(b);
	tp_shard_reader_close(r);
	return rc;
}
