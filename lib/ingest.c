#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "fileio.h"
#include "ingest.h"
#include "rng.h"

int
tp_inputs_open(tp_input **out, char *const *paths, int n, int rewindable,
    tp_err *e)
{
	tp_input *in = calloc((size_t)n, sizeof(*in));
	int rc = TP_OK;

	*out = NULL;
	if (in == NULL)
		return tp_err_nomem(e, "the inputs");
	for (int i = 0; i < n && rc == TP_OK; i++) {
		int is_stdin = strcmp(paths[i], "-") == 0;
		in[i].name = is_stdin ? "standard input" : paths[i];
		if ((rc = tp_open_input(paths[i], &in[i].f, e)) != TP_OK)
			break;
		in[i].owned = !is_stdin;
		if (!is_stdin || !rewindable)
			continue;
		/* Standard input is read more than once: keep a copy. */
		FILE *spool = tmpfile();
		char buf[65536];
		size_t got;
		if (spool == NULL) {
			rc = tp_err_set(e, TP_ECREAT,
			    "cannot create a temporary file for standard input: %s",
			    strerror(errno));
			break;
		}
		while ((got = fread(buf, 1, sizeof(buf), stdin)) > 0)
			if (fwrite(buf, 1, got, spool) != got)
				break;
		if (ferror(stdin) || ferror(spool) || fflush(spool) != 0) {
			fclose(spool);
			rc = tp_err_set(e, TP_EIO,
			    "standard input: cannot copy to a temporary file: %s",
			    strerror(errno));
			break;
		}
		rewind(spool);
		in[i].f = spool;
		in[i].owned = 1;
	}
	if (rc != TP_OK) {
		tp_inputs_close(in, n);
		return rc;
	}
	*out = in;
	return TP_OK;
}

void
tp_inputs_close(tp_input *in, int n)
{
	if (in == NULL)
		return;
	for (int i = 0; i < n; i++)
		if (in[i].owned && in[i].f != NULL)
			fclose(in[i].f);
	free(in);
}

int
tp_ingest_parse_split(tp_ingest_opts *o, const char *s, tp_err *e)
{
	const char *p = s;
	int total = 0;

	o->nsplit = 0;
	while (*p != '\0') {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v <= 0 || v > 1000 ||
		    o->nsplit == TP_SPLIT_MAX || (*end != '/' && *end != '\0'))
			return tp_err_set(e, TP_EUSAGE,
			    "bad split \"%s\": expected two or three positive integers such as 70/15/15",
			    s);
		o->split[o->nsplit++] = (int)v;
		total += (int)v;
		if (*end == '/' && end[1] == '\0')
			return tp_err_set(e, TP_EUSAGE,
			    "bad split \"%s\": ends with /", s);
		p = *end == '/' ? end + 1 : end;
	}
	if (o->nsplit < 2 || total > 1000)
		return tp_err_set(e, TP_EUSAGE,
		    "bad split \"%s\": expected two or three parts adding up to at most 1000, such as 70/15/15",
		    s);
	return TP_OK;
}

/* Deals the rows of each class to the parts of the split. */
typedef struct {
	const tp_ingest_opts *o;
	int period;                     /* sum of the parts */
	uint64_t ordinal[3];            /* rows dealt so far, per class */
	uint8_t deck[3][1000];          /* the current run's parts, per class */
} splitter;

static void
splitter_init(splitter *s, const tp_ingest_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	for (int i = 0; i < o->nsplit; i++)
		s->period += o->split[i];
}

/* The part of the next row of class label (-1, 0 or 1). */
static int
splitter_next(splitter *s, int label)
{
	int c = label + 1;

	if (s->o->nsplit < 2)
		return 0;
	uint64_t k = s->ordinal[c]++;
	int pos = (int)(k % (uint64_t)s->period);
	if (pos == 0) {
		tp_rng rng;
		int n = 0;
		for (int part = 0; part < s->o->nsplit; part++)
			for (int j = 0; j < s->o->split[part]; j++)
				s->deck[c][n++] = (uint8_t)part;
		/* One generator per run, so a run's deal does not depend on how
		 * many rows of other classes came before it. */
		tp_rng_seed(&rng, s->o->seed ^ ((uint64_t)c << 56) ^
		    (k / (uint64_t)s->period) * UINT64_C(0x9e3779b97f4a7c15));
		for (int i = n - 1; i > 0; i--) {
			int j = (int)tp_rng_below(&rng, (uint64_t)i + 1);
			uint8_t t = s->deck[c][i];
			s->deck[c][i] = s->deck[c][j];
			s->deck[c][j] = t;
		}
	}
	return s->deck[c][pos];
}

/* Called for each record with the right number of fields. TP_EDATA
 * rejects the row (e holds why); any other failure stops the pass. */
typedef int (*row_fn)(void *ctx, const tp_field *f, int64_t record,
    tp_err *e);
/* Called with each input's header; the first call sets the columns. */
typedef int (*header_fn)(void *ctx, const tp_field *f, size_t n,
    const char *where, tp_err *e);

static int
reject(const tp_ingest_opts *o, tp_csv *csv, int writing,
    tp_ingest_counts *counts, uint64_t *rejected, tp_err *e)
{
	if (++*rejected > (uint64_t)o->max_rejects) {
		if (o->max_rejects > 0)
			tp_err_prefix(e, "more than %ld row%s rejected",
			    o->max_rejects, o->max_rejects == 1 ? "" : "s");
		return TP_EDATA;
	}
	if (!writing)
		return TP_OK;
	counts->rejected++;
	if (o->on_reject != NULL)
		o->on_reject(o->ctx, e->msg);
	if (o->rejects != NULL) {
		size_t len;
		const char *raw = tp_csv_raw(csv, &len);
		if (fwrite(raw, 1, len, o->rejects) != len ||
		    (len > 0 && raw[len - 1] != '\n' && putc('\n', o->rejects) == EOF))
			return tp_err_set(e, TP_EIO, "rejects file: write error: %s",
			    strerror(errno));
	}
	return TP_OK;
}

/* How a pass treats bad rows. Inference skips them unnoticed, since it
 * cannot see all of them yet; the later passes see every bad row in input
 * order, so the first one reported is the first in the input. */
enum pass { PASS_INFER, PASS_FIT, PASS_WRITE };

/* One pass over every record of every input. */
static int
each_row(const tp_ingest_opts *o, tp_input *in, int nin, enum pass pass,
    header_fn on_header, row_fn on_row, void *ctx, tp_ingest_counts *counts,
    tp_err *e)
{
	int64_t record = 0;
	uint64_t rejected = 0;
	int rc = TP_OK;

	for (int i = 0; i < nin && rc == TP_OK; i++) {
		tp_csv *csv;
		size_t ncols = 0;
		int r;

		if (in[i].read && fseek(in[i].f, 0, SEEK_SET) != 0)
			return tp_err_set(e, TP_EIO, "%s: cannot read again: %s",
			    in[i].name, strerror(errno));
		clearerr(in[i].f);
		in[i].read = 1;
		if ((rc = tp_csv_open(&csv, in[i].f, in[i].name, e)) != TP_OK)
			return rc;
		if ((r = tp_csv_next(csv, e)) <= 0) {
			rc = r < 0 ? e->code : tp_err_set(e, TP_EDATA,
			    "%s: empty: no header line", in[i].name);
		} else {
			ncols = tp_csv_nfields(csv);
			rc = on_header(ctx, tp_csv_fields(csv), ncols, in[i].name, e);
		}
		while (rc == TP_OK && (r = tp_csv_next(csv, e)) > 0) {
			record++;
			if (pass == PASS_WRITE)
				counts->read++;
			if (tp_csv_nfields(csv) != ncols)
				rc = tp_err_set(e, TP_EDATA,
				    "expected %zu fields, found %zu", ncols,
				    tp_csv_nfields(csv));
			else
				rc = on_row(ctx, tp_csv_fields(csv), record, e);
			if (rc != TP_OK && rc != TP_EINTERNAL)
				tp_err_prefix(e, "%s:%ld", in[i].name,
				    tp_csv_line(csv));
			if (rc == TP_EDATA && pass == PASS_INFER)
				rc = TP_OK;
			else if (rc == TP_EDATA)
				rc = reject(o, csv, pass == PASS_WRITE, counts,
				    &rejected, e);
		}
		if (rc == TP_OK && r < 0)
			rc = e->code;
		tp_csv_close(csv);
	}
	return rc;
}

/* Pass 1: the columns' kinds and the target's values. */
typedef struct {
	const tp_ingest_opts *o;
	tp_encoding *enc;       /* columns named and kinds being decided */
	uint64_t *present;      /* (ncols) values present */
	uint64_t *numeric;      /* (ncols) of which numbers */
	uint8_t *integer;       /* (ncols) all present values are integers */
	tp_strmap targets;      /* the target's values */
	uint64_t *target_n;     /* (targets.n) how often each was seen */
	size_t target_cap;
	uint8_t *given;         /* (ncols) kind given by the schema or options */
	const char *target, *positive, *id; /* from the options or schema */
	cJSON *schema;          /* the schema file, or NULL */
} infer_ctx;

static int given_kinds(const tp_ingest_opts *o, tp_encoding *enc,
    uint8_t *given, const char **target, const char **positive,
    const char **id, cJSON **schema, tp_err *e);

static int
same_header(const tp_encoding *enc, const tp_field *f, size_t n,
    const char *where, tp_err *e)
{
	return tp_encoding_check_header(enc, f, n, where, e);
}

static int
infer_header(void *vctx, const tp_field *f, size_t n, const char *where,
    tp_err *e)
{
	infer_ctx *c = vctx;
	tp_encoding *enc = c->enc;

	if (enc->ncols > 0)
		return same_header(enc, f, n, where, e);
	if ((enc->cols = calloc(n, sizeof(*enc->cols))) == NULL ||
	    (c->present = calloc(n, sizeof(*c->present))) == NULL ||
	    (c->numeric = calloc(n, sizeof(*c->numeric))) == NULL ||
	    (c->integer = malloc(n)) == NULL ||
	    (c->given = calloc(n, 1)) == NULL)
		return tp_err_nomem(e, "the columns");
	memset(c->integer, 1, n);
	enc->ncols = (int)n;
	for (size_t i = 0; i < n; i++) {
		if ((enc->cols[i].name = strndup(f[i].s, f[i].len)) == NULL)
			return tp_err_nomem(e, "the columns");
		enc->cols[i].kind = TP_KIND_IGNORE; /* undecided */
		enc->cols[i].slot = -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(enc->cols[j].name, enc->cols[i].name) == 0)
				return tp_err_set(e, TP_EDATA,
				    "%s:1: column %zu: \"%s\" is also column %zu",
				    where, i + 1, enc->cols[i].name, j + 1);
	}
	return given_kinds(c->o, enc, c->given, &c->target, &c->positive,
	    &c->id, &c->schema, e);
}

static int
is_integer(const tp_field *f)
{
	size_t i = f->len > 0 && (f->s[0] == '-' || f->s[0] == '+');

	if (i == f->len || f->len - i > 18)
		return 0;
	for (; i < f->len; i++)
		if (f->s[i] < '0' || f->s[i] > '9')
			return 0;
	return 1;
}

static int
infer_row(void *vctx, const tp_field *f, int64_t record, tp_err *e)
{
	infer_ctx *c = vctx;
	double x;

	(void)record;
	for (int i = 0; i < c->enc->ncols; i++) {
		if (tp_field_missing(&f[i]))
			continue;
		c->present[i]++;
		if (c->enc->cols[i].kind == TP_KIND_TARGET) {
			long k = tp_strmap_add(&c->targets, f[i].s, f[i].len, e);
			if (k < 0)
				return TP_EINTERNAL;
			if (c->targets.n > 1000)
				return tp_err_set(e, TP_EUSAGE,
				    "target \"%s\" has more than 1000 values: tabpipe predicts a binary outcome",
				    c->enc->cols[i].name);
			if ((size_t)k == c->target_cap) {
				size_t ncap = c->target_cap ? 2 * c->target_cap : 8;
				uint64_t *nn = realloc(c->target_n, ncap * sizeof(*nn));
				if (nn == NULL)
					return tp_err_nomem(e, "the target's values");
				memset(nn + c->target_cap, 0,
				    (ncap - c->target_cap) * sizeof(*nn));
				c->target_n = nn;
				c->target_cap = ncap;
			}
			c->target_n[k]++;
			continue;
		}
		if (tp_parse_double(f[i].s, f[i].len, &x) == 0)
			c->numeric[i]++;
		if (c->integer[i] && !is_integer(&f[i]))
			c->integer[i] = 0;
	}
	return TP_OK;
}

static int
find_column(const tp_encoding *enc, const char *name, const char *what,
    tp_err *e)
{
	for (int i = 0; i < enc->ncols; i++)
		if (strcmp(enc->cols[i].name, name) == 0)
			return i;
	tp_err_set(e, TP_EUSAGE, "%s column \"%s\" is not in the header", what,
	    name);
	return -1;
}

/* Kinds given by the schema file and the options, before any data. */
static int
given_kinds(const tp_ingest_opts *o, tp_encoding *enc, uint8_t *given,
    const char **target, const char **positive, const char **id,
    cJSON **schema, tp_err *e)
{
	*target = o->target;
	*positive = o->positive;
	*id = o->id;
	*schema = NULL;
	if (o->schema != NULL) {
		char *text;
		int rc = tp_read_file(o->schema, &text, NULL, e);
		const cJSON *cols, *col;
		if (rc != TP_OK)
			return rc;
		*schema = cJSON_Parse(text);
		free(text);
		if (!cJSON_IsObject(*schema))
			return tp_err_set(e, TP_EDATA, "%s: not a JSON object",
			    o->schema);
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(*schema, "target");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(*schema, "positive");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(*schema, "id");
		if (*target == NULL && cJSON_IsString(t))
			*target = t->valuestring;
		if (*positive == NULL && cJSON_IsString(p))
			*positive = p->valuestring;
		if (*id == NULL && cJSON_IsString(d))
			*id = d->valuestring;
		cols = cJSON_GetObjectItemCaseSensitive(*schema, "columns");
		if (cols != NULL && !cJSON_IsObject(cols))
			return tp_err_set(e, TP_EDATA,
			    "%s: \"columns\" must be an object of column name to kind",
			    o->schema);
		cJSON_ArrayForEach(col, cols) {
			enum tp_kind kind;
			int i = find_column(enc, col->string, "schema", e);
			if (i < 0)
				return tp_err_prefix(e, "%s", o->schema);
			if (!cJSON_IsString(col) ||
			    tp_kind_parse(col->valuestring, &kind) < 0)
				return tp_err_set(e, TP_EDATA,
				    "%s: column \"%s\": kind must be numeric, categorical, id, target or ignore",
				    o->schema, col->string);
			enc->cols[i].kind = kind;
			given[i] = 1;
		}
	}
	for (int i = 0; i < enc->ncols; i++)
		if (given[i] && enc->cols[i].kind == TP_KIND_TARGET && *target == NULL)
			*target = enc->cols[i].name;
	if (*target != NULL) {
		int i = find_column(enc, *target, "target", e);
		if (i < 0)
			return TP_EUSAGE;
		enc->cols[i].kind = TP_KIND_TARGET;
		given[i] = 1;
	}
	if (*id != NULL) {
		int i = find_column(enc, *id, "id", e);
		if (i < 0)
			return TP_EUSAGE;
		enc->cols[i].kind = TP_KIND_ID;
		given[i] = 1;
	}
	return TP_OK;
}

/* Decides the kinds left open and the labels, and numbers the features. */
static int
decide_kinds(infer_ctx *c, tp_err *e)
{
	tp_encoding *enc = c->enc;
	const uint8_t *given = c->given;
	const char *positive = c->positive;

	enc->id_col = enc->target_col = -1;
	for (int i = 0; i < enc->ncols; i++) {
		tp_column *col = &enc->cols[i];
		if (!given[i]) {
			if (strcasecmp(col->name, "id") == 0 && c->integer[i] &&
			    enc->id_col < 0)
				col->kind = TP_KIND_ID;
			else if (c->present[i] > 0 &&
			    c->numeric[i] * 100 >= c->present[i] * 95)
				col->kind = TP_KIND_NUMERIC;
			else
				col->kind = TP_KIND_CATEGORICAL;
		}
		if (col->kind == TP_KIND_ID || col->kind == TP_KIND_TARGET) {
			int *where = col->kind == TP_KIND_ID ? &enc->id_col :
			    &enc->target_col;
			if (*where >= 0)
				return tp_err_set(e, TP_EUSAGE,
				    "columns \"%s\" and \"%s\" are both of kind %s",
				    enc->cols[*where].name, col->name,
				    tp_kind_name(col->kind));
			*where = i;
		}
		if (col->kind == TP_KIND_NUMERIC) {
			col->slot = enc->nnum++;
			col->std = 1;
		} else if (col->kind == TP_KIND_CATEGORICAL)
			col->slot = enc->ncat++;
	}
	if (enc->target_col < 0)
		return TP_OK;
	/* The labels: the positive value, and the most frequent other one.
	 * Rows with any third value are bad rows of the later passes. */
	const tp_strmap *v = &c->targets;
	const char *name = enc->cols[enc->target_col].name;
	long pk, nk = -1;
	if (positive == NULL) {
		for (size_t k = 0; k < v->n; k++)
			if (strcmp(v->keys[k], "0") != 0 && strcmp(v->keys[k], "1") != 0)
				return tp_err_set(e, TP_EUSAGE,
				    "target \"%s\" has the value \"%s\": say which value is positive with --positive",
				    name, v->keys[k]);
		positive = "1";
	}
	pk = tp_strmap_find(v, positive, strlen(positive));
	if (pk < 0 && v->n > 0 && strcmp(positive, "1") != 0) {
		char seen[256] = "";
		for (size_t k = 0; k < v->n && k < 3; k++)
			snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen),
			    "%s\"%.60s\"", k ? ", " : "", v->keys[k]);
		return tp_err_set(e, TP_EUSAGE,
		    "positive label \"%s\" is not a value of target \"%s\" (%s%s)",
		    positive, name, seen, v->n > 3 ? ", ..." : "");
	}
	for (size_t k = 0; k < v->n; k++)
		if ((long)k != pk && (nk < 0 || c->target_n[k] > c->target_n[nk] ||
		    (c->target_n[k] == c->target_n[nk] &&
		    strcmp(v->keys[k], v->keys[nk]) < 0)))
			nk = (long)k;
	if ((enc->labels[1] = strdup(positive)) == NULL)
		return tp_err_nomem(e, "the labels");
	const char *negative = nk >= 0 ? v->keys[nk] :
	    strcmp(positive, "1") == 0 ? "0" : NULL;
	if (negative != NULL && (enc->labels[0] = strdup(negative)) == NULL)
		return tp_err_nomem(e, "the labels");
	return TP_OK;
}

/* Pass 2: category counts and numeric statistics on the training rows. */
typedef struct {
	const tp_ingest_opts *o;
	tp_encoding *enc;       /* kinds and labels decided, no statistics */
	splitter split;
	tp_batch row;           /* one row to encode into, as a check */
	tp_strmap *values;      /* (ncols) categorical values seen */
	uint64_t **counts;      /* (ncols) count of each value */
	size_t *countcap;       /* (ncols) */
	double *mean, *m2;      /* (ncols) running statistics (Welford) */
	uint64_t *n;            /* (ncols) */
} fit_ctx;

static int
fit_header(void *vctx, const tp_field *f, size_t n, const char *where,
    tp_err *e)
{
	return same_header(((fit_ctx *)vctx)->enc, f, n, where, e);
}

static int
fit_row(void *vctx, const tp_field *f, int64_t record, tp_err *e)
{
	fit_ctx *c = vctx;
	tp_row row = tp_batch_row(&c->row, 0);
	int rc;

	if ((rc = tp_encoding_encode(c->enc, f, record, row, NULL, e)) != TP_OK)
		return rc;
	if (splitter_next(&c->split, *row.label) != 0)
		return TP_OK;
	for (int i = 0; i < c->enc->ncols; i++) {
		const tp_column *col = &c->enc->cols[i];
		if (tp_field_missing(&f[i]))
			continue;
		if (col->kind == TP_KIND_NUMERIC) {
			double x;
			tp_parse_double(f[i].s, f[i].len, &x);
			double d = x - c->mean[i];
			c->mean[i] += d / (double)++c->n[i];
			c->m2[i] += d * (x - c->mean[i]);
		} else if (col->kind == TP_KIND_CATEGORICAL) {
			long k = tp_strmap_add(&c->values[i], f[i].s, f[i].len, e);
			if (k < 0)
				return TP_EINTERNAL;
			if ((size_t)k >= c->countcap[i]) {
				size_t nc = c->countcap[i] ? c->countcap[i] * 2 : 64;
				uint64_t *np = realloc(c->counts[i], nc * sizeof(*np));
				if (np == NULL)
					return tp_err_nomem(e, "category counts");
				memset(np + c->countcap[i], 0,
				    (nc - c->countcap[i]) * sizeof(*np));
				c->counts[i] = np;
				c->countcap[i] = nc;
			}
			c->counts[i][k]++;
		}
	}
	return TP_OK;
}

/* Sort order of a vocabulary: most frequent first, then by bytes. */
static const fit_ctx *sort_ctx;
static int sort_col;

static int
by_count(const void *a, const void *b)
{
	long i = *(const long *)a, j = *(const long *)b;
	const uint64_t *n = sort_ctx->counts[sort_col];
	const tp_strmap *v = &sort_ctx->values[sort_col];

	if (n[i] != n[j])
		return n[i] > n[j] ? -1 : 1;
	size_t len = v->lens[i] < v->lens[j] ? v->lens[i] : v->lens[j];
	int d = memcmp(v->keys[i], v->keys[j], len);
	if (d != 0)
		return d;
	return v->lens[i] < v->lens[j] ? -1 : v->lens[i] > v->lens[j];
}

static int
fit_finish(fit_ctx *c, tp_err *e)
{
	for (int i = 0; i < c->enc->ncols; i++) {
		tp_column *col = &c->enc->cols[i];
		if (col->kind == TP_KIND_NUMERIC) {
			double var = c->n[i] > 0 ? c->m2[i] / (double)c->n[i] : 0;
			col->mean = c->n[i] > 0 ? c->mean[i] : 0;
			col->std = sqrt(var);
			/* A constant column: any scale will do; 1 keeps its
			 * values at zero. */
			if (!(col->std > 1e-12 * fabs(col->mean)) || col->std == 0)
				col->std = 1;
		} else if (col->kind == TP_KIND_CATEGORICAL) {
			const tp_strmap *v = &c->values[i];
			long *order = malloc((v->n + 1) * sizeof(*order));
			if (order == NULL)
				return tp_err_nomem(e, "a vocabulary");
			for (size_t k = 0; k < v->n; k++)
				order[k] = (long)k;
			sort_ctx = c;
			sort_col = i;
			qsort(order, v->n, sizeof(*order), by_count);
			for (size_t k = 0; k < v->n; k++) {
				if (c->counts[i][order[k]] < (uint64_t)c->o->min_count ||
				    (c->o->max_vocab > 0 &&
				    (long)col->vocab.n >= c->o->max_vocab))
					break;
				if (tp_strmap_add(&col->vocab, v->keys[order[k]],
				    v->lens[order[k]], e) < 0) {
					free(order);
					return TP_EINTERNAL;
				}
			}
			free(order);
		}
	}
	return tp_encoding_fingerprint(c->enc, e);
}

static void
fit_free(fit_ctx *c)
{
	for (int i = 0; c->values != NULL && i < c->enc->ncols; i++) {
		tp_strmap_free(&c->values[i]);
		free(c->counts[i]);
	}
	free(c->values);
	free(c->counts);
	free(c->countcap);
	free(c->mean);
	free(c->m2);
	free(c->n);
	tp_batch_free(&c->row);
}

static void
infer_free(infer_ctx *c)
{
	free(c->present);
	free(c->numeric);
	free(c->integer);
	free(c->given);
	tp_strmap_free(&c->targets);
	free(c->target_n);
	cJSON_Delete(c->schema);
}

int
tp_ingest_fit(const tp_ingest_opts *o, tp_input *in, int nin,
    tp_encoding *enc, tp_err *e)
{
	infer_ctx ic = {.o = o, .enc = enc};
	fit_ctx fc = {.o = o, .enc = enc};
	tp_ingest_counts unused = {0};
	size_t n;
	int rc;

	memset(enc, 0, sizeof(*enc));
	if ((rc = each_row(o, in, nin, PASS_INFER, infer_header, infer_row,
	    &ic, &unused, e)) != TP_OK ||
	    (rc = decide_kinds(&ic, e)) != TP_OK)
		goto out;
	n = (size_t)enc->ncols;
	splitter_init(&fc.split, o);
	if ((rc = tp_batch_init(&fc.row, enc->ncat, enc->nnum, 1, e)) != TP_OK)
		goto out;
	if ((fc.values = calloc(n, sizeof(*fc.values))) == NULL ||
	    (fc.counts = calloc(n, sizeof(*fc.counts))) == NULL ||
	    (fc.countcap = calloc(n, sizeof(*fc.countcap))) == NULL ||
	    (fc.mean = calloc(n, sizeof(*fc.mean))) == NULL ||
	    (fc.m2 = calloc(n, sizeof(*fc.m2))) == NULL ||
	    (fc.n = calloc(n, sizeof(*fc.n))) == NULL) {
		rc = tp_err_nomem(e, "the fit");
		goto out;
	}
	if ((rc = each_row(o, in, nin, PASS_FIT, fit_header, fit_row, &fc,
	    &unused, e)) != TP_OK)
		goto out;
	rc = fit_finish(&fc, e);
out:
	infer_free(&ic);
	fit_free(&fc);
	if (rc != TP_OK)
		tp_encoding_free(enc);
	return rc;
}

/* The last pass: encode, deal to the parts, write. */
typedef struct {
	const tp_ingest_opts *o;
	const tp_encoding *enc;
	splitter split;
	tp_batch row;             /* the row being encoded */
	uint8_t *unseen;          /* (ncat) its values not in the vocabulary */
	tp_stream_writer **out;
	tp_ingest_counts *counts;
} write_ctx;

static int
write_header(void *vctx, const tp_field *f, size_t n, const char *where,
    tp_err *e)
{
	return same_header(((write_ctx *)vctx)->enc, f, n, where, e);
}

static int
write_row(void *vctx, const tp_field *f, int64_t record, tp_err *e)
{
	write_ctx *c = vctx;
	tp_row from = tp_batch_row(&c->row, 0), to;
	int rc, part;

	if ((rc = tp_encoding_encode(c->enc, f, record, from, c->unseen, e)) !=
	    TP_OK)
		return rc;
	part = splitter_next(&c->split, *from.label);
	to = tp_stream_writer_row(c->out[part]);
	*to.id = *from.id;
	*to.label = *from.label;
	memcpy(to.cat, from.cat, (size_t)c->enc->ncat * sizeof(*to.cat));
	memcpy(to.num, from.num, (size_t)c->enc->nnum * sizeof(*to.num));
	c->counts->written[part]++;
	return tp_stream_writer_add(c->out[part], c->unseen, e);
}

int
tp_ingest_write(const tp_ingest_opts *o, tp_input *in, int nin,
    const tp_encoding *enc, tp_stream_writer **out, tp_ingest_counts *counts,
    tp_err *e)
{
	write_ctx c = {.o = o, .enc = enc, .out = out, .counts = counts};
	int rc;

	memset(counts, 0, sizeof(*counts));
	splitter_init(&c.split, o);
	if ((rc = tp_batch_init(&c.row, enc->ncat, enc->nnum, 1, e)) != TP_OK)
		return rc;
	if ((c.unseen = calloc((size_t)enc->ncat + 1, 1)) == NULL)
		rc = tp_err_nomem(e, "a row");
	else
		rc = each_row(o, in, nin, PASS_WRITE, write_header, write_row,
		    &c, counts, e);
	free(c.unseen);
	tp_batch_free(&c.row);
	return rc;
}
