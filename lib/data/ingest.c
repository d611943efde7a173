#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/fileio.h"
#include "base/number.h"
#include "base/rng.h"
#include "data/csv.h"
#include "data/ingest.h"

/* The cursor of a query's rows, and how many rows a FETCH brings. */
#define CURSOR "tabpipe_query"
#define FETCH_ROWS 1000
#define STRING(x) #x
#define FETCH(n) "FETCH FORWARD " STRING(n) " FROM " CURSOR

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
		FILE *spool = tp_tmpfile();
		char buf[65536];
		size_t got;
		if (spool == NULL) {
			rc = tp_err_set(e, TP_ECREAT,
			    "cannot create a temporary file for standard input "
			    "(in TMPDIR, or /tmp): %s", strerror(errno));
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
	for (int i = 0; i < n; i++) {
		if (in[i].owned && in[i].f != NULL)
			fclose(in[i].f);
		/* The server keeps a held cursor's rows until it is closed or
		 * the session ends. */
		if (in[i].db != NULL)
			tp_db_exec(in[i].db, "CLOSE " CURSOR, 0, NULL, NULL, NULL);
	}
	free(in);
}

/* Runs a statement of the user's query: PostgreSQL's message, with the
 * place of an error in the query when offset says where the query starts
 * in stmt (-1: it is not in stmt), and a status that says whose fault the
 * failure is. */
static int
query_exec(tp_input *in, const char *stmt, long offset, PGresult **res,
    tp_err *e)
{
	PGresult *r = PQexecParams(in->db->conn, stmt, 0, NULL, NULL, NULL, NULL,
	    0);
	ExecStatusType st = PQresultStatus(r);
	char at[64] = "";

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (res != NULL)
			*res = r;
		else
			PQclear(r);
		return TP_OK;
	}
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
	int code = TP_EDATA, writes = state != NULL && strcmp(state, "25006") == 0;
	if (PQstatus(in->db->conn) == CONNECTION_BAD || state == NULL)
		code = TP_EUNAVAILABLE;
	else if (writes || strcmp(state, "42501") == 0)
		code = TP_ENOPERM; /* a write, or a right the role lacks */
	else if (strncmp(state, "42", 2) == 0 || strncmp(state, "0A", 2) == 0)
		code = TP_EUSAGE; /* syntax, names, what a cursor cannot run */
	if (pos != NULL && offset >= 0 && atol(pos) > offset)
		snprintf(at, sizeof(at), " (at character %ld of the query)",
		    atol(pos) - offset);
	if (msg == NULL)
		msg = PQerrorMessage(in->db->conn);
	tp_err_set(e, code, "%s: %.*s%s%s", in->name, (int)strcspn(msg, "\n"),
	    msg, at, writes ? ": --query runs read-only" : "");
	PQclear(r);
	return code;
}

int
tp_input_query(tp_input **out, tp_db *db, const char *sql, tp_err *e)
{
	static const char declare[] = "DECLARE " CURSOR " SCROLL CURSOR WITH HOLD FOR ";
	tp_input *in = calloc(1, sizeof(*in));
	size_t len = strlen(sql);
	char *stmt = malloc(sizeof(declare) + len);
	int rc;

	*out = NULL;
	if (in == NULL || stmt == NULL) {
		free(in);
		free(stmt);
		return tp_err_nomem(e, "the query");
	}
	in->name = "query";
	in->db = db;
	memcpy(stmt, declare, sizeof(declare) - 1);
	memcpy(stmt + sizeof(declare) - 1, sql, len + 1);
	/* The query is SQL from the user by design, run under the user's own
	 * role: it is the one statement whose text comes from outside, and
	 * the extended protocol runs it as one statement, so that it cannot
	 * end the read-only transaction and go on. A held cursor runs it
	 * whole at COMMIT, still read-only, and keeps the rows: the passes
	 * read one result, and the connection is free for run tracking. */
	if ((rc = tp_db_begin(db, e)) == TP_OK &&
	    (rc = tp_db_exec(db, "SET TRANSACTION READ ONLY", 0, NULL, NULL,
	    e)) == TP_OK &&
	    (rc = query_exec(in, stmt, (long)sizeof(declare) - 1, NULL, e)) == TP_OK)
		rc = query_exec(in, "COMMIT", -1, NULL, e);
	free(stmt);
	if (rc != TP_OK) {
		/* A query that fails at COMMIT has ended the transaction. */
		if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
			tp_db_rollback(db);
		free(in);
		return rc;
	}
	*out = in;
	return TP_OK;
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

static int
parse_split(void *settings, const char *arg, const char *from, tp_err *e)
{
	int rc;

	if ((rc = tp_ingest_parse_split(settings, arg, e)) != TP_OK)
		tp_err_prefix(e, "%s", from);
	return rc;
}

static cJSON *
split_json(const void *settings)
{
	const tp_ingest_opts *o = settings;

	return o->nsplit > 1 ? cJSON_CreateIntArray(o->split, o->nsplit) : NULL;
}

#define OPT(field) .key = #field, .offset = offsetof(tp_ingest_opts, field)

const tp_opt tp_ingest_options[] = {
	{OPT(target), .name = "target", .arg = "name", .type = TP_OPT_STRING,
	    .flags = TP_OPT_RECORD, .help = "the column of the outcome"},
	{OPT(positive), .name = "positive", .arg = "value",
	    .type = TP_OPT_STRING,
	    .help = "the target's value that is the positive class"},
	{OPT(id), .name = "id", .arg = "name", .type = TP_OPT_STRING,
	    .help = "the column of the rows' ids"},
	{OPT(schema), .name = "schema", .arg = "file", .type = TP_OPT_STRING,
	    .help = "a JSON file of the columns' kinds"},
	{OPT(split), .name = "split", .arg = "parts", .type = TP_OPT_CUSTOM,
	    .flags = TP_OPT_RECORD, .parse = parse_split, .json = split_json,
	    .usage = "[--split parts --out prefix]",
	    .help = "split the rows, stratified, as 70/15/15 or 80/20"},
	{OPT(seed), .name = "seed", .arg = "n", .type = TP_OPT_U64,
	    .flags = TP_OPT_RECORD, .help = "the seed of the split"},
	{OPT(min_count), .name = "min-count", .arg = "n", .type = TP_OPT_LONG,
	    .min = 1, .max = (double)LONG_MAX,
	    .help = "the least count of a category that is kept"},
	{OPT(max_vocab), .name = "max-vocab", .arg = "n", .type = TP_OPT_LONG,
	    .min = 0, .max = INT32_MAX - 1,
	    .help = "the most categories kept of a column; 0 keeps all"},
	{OPT(max_rejects), .name = "max-rejects", .arg = "n",
	    .type = TP_OPT_LONG, .min = 0, .max = (double)(LONG_MAX / 2),
	    .help = "bad rows skipped before the run fails"},
	{0},
};

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
/* Called with each input's header; the first call sets the columns. where
 * is the header's place: "file:line", or a query's name. */
typedef int (*header_fn)(void *ctx, const tp_field *f, size_t n,
    const char *where, tp_err *e);

/* The records of one input for one pass, header first: a CSV reader, or
 * a query's cursor whose rows become fields of text. */
typedef struct {
	tp_input *in;
	tp_csv *csv;            /* a file's reader, or NULL */
	PGresult *res;          /* a query's rows fetched last */
	int next;               /* the row of res to give next */
	long row;               /* query rows given so far */
	tp_field *fields;       /* (nfields) a query's header or row */
	size_t nfields;
} source;

static int
source_open(source *s, tp_input *in, tp_err *e)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->in = in;
	if (in->db != NULL) {
		if (in->read && (rc = query_exec(in, "MOVE ABSOLUTE 0 IN " CURSOR,
		    -1, NULL, e)) != TP_OK)
			return rc;
		in->read = 1;
		return TP_OK;
	}
	if (in->read && fseek(in->f, 0, SEEK_SET) != 0)
		return tp_err_set(e, TP_EIO, "%s: cannot read again: %s",
		    in->name, strerror(errno));
	clearerr(in->f);
	in->read = 1;
	return tp_csv_open(&s->csv, in->f, in->name, e);
}

static void
source_close(source *s)
{
	tp_csv_close(s->csv);
	PQclear(s->res);
	free(s->fields);
}

/* As tp_csv_next: 1 with a record, 0 at the end, -1 on a failure. */
static int
source_next(source *s, tp_err *e)
{
	if (s->csv != NULL)
		return tp_csv_next(s->csv, e);
	if (s->res == NULL) {
		/* The first FETCH describes the columns: the header. */
		if (query_exec(s->in, FETCH(FETCH_ROWS), -1, &s->res, e) != TP_OK)
			return -1;
		s->nfields = (size_t)PQnfields(s->res);
		if ((s->fields = calloc(s->nfields + 1, sizeof(*s->fields))) == NULL) {
			tp_err_nomem(e, "a query row");
			return -1;
		}
		for (size_t j = 0; j < s->nfields; j++) {
			const char *name = PQfname(s->res, (int)j);
			s->fields[j] = (tp_field){name, strlen(name), 1};
		}
		return 1;
	}
	if (s->next == PQntuples(s->res)) {
		if (s->next < FETCH_ROWS)
			return 0;
		PQclear(s->res);
		s->res = NULL;
		s->next = 0;
		if (query_exec(s->in, FETCH(FETCH_ROWS), -1, &s->res, e) != TP_OK)
			return -1;
		if (PQntuples(s->res) == 0)
			return 0;
	}
	/* A value is present, even when empty or "NA": only NULL is
	 * missing, so each value reads as a quoted CSV field. */
	for (size_t j = 0; j < s->nfields; j++)
		s->fields[j] = PQgetisnull(s->res, s->next, (int)j) ?
		    (tp_field){"", 0, 0} :
		    (tp_field){PQgetvalue(s->res, s->next, (int)j),
		    (size_t)PQgetlength(s->res, s->next, (int)j), 1};
	s->next++;
	s->row++;
	return 1;
}

static const tp_field *
source_fields(const source *s)
{
	return s->csv != NULL ? tp_csv_fields(s->csv) : s->fields;
}

static size_t
source_nfields(const source *s)
{
	return s->csv != NULL ? tp_csv_nfields(s->csv) : s->nfields;
}

/* Puts the record's place before the message: "file:line: column ..." or
 * "query row N, column ...". */
static void
source_where(const source *s, tp_err *e)
{
	if (s->csv != NULL) {
		tp_err_prefix(e, "%s:%ld", s->in->name, tp_csv_line(s->csv));
		return;
	}
	char msg[sizeof(e->msg)];
	memcpy(msg, e->msg, sizeof(msg));
	tp_err_set(e, e->code, "%s row %ld%s%s", s->in->name, s->row,
	    strncmp(msg, "column ", 7) == 0 ? ", " : ": ", msg);
}

/* Copies the record to f: a file's bytes as read, a query's row as a CSV
 * line that reads back as the same fields. */
static int
source_copy(const source *s, FILE *f)
{
	if (s->csv != NULL) {
		size_t len;
		const char *raw = tp_csv_raw(s->csv, &len);
		return fwrite(raw, 1, len, f) == len &&
		    (len == 0 || raw[len - 1] == '\n' || putc('\n', f) != EOF) ? 0 : -1;
	}
	for (size_t j = 0; j < s->nfields; j++) {
		if (j > 0)
			putc(',', f);
		if (s->fields[j].quoted)
			tp_csv_put_field(f, s->fields[j].s, s->fields[j].len);
	}
	return putc('\n', f) == EOF || ferror(f) ? -1 : 0;
}

static int
reject(const tp_ingest_opts *o, const source *src, int writing,
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
	if (o->rejects != NULL && source_copy(src, o->rejects) < 0)
		return tp_err_set(e, TP_EIO, "rejects file: write error: %s",
		    strerror(errno));
	return TP_OK;
}

/* How a pass treats bad rows. Inference skips them unnoticed, since it
 * cannot see all of them yet; the later passes see every bad row in input
 * order, so the first one reported is the first in the input. */
enum pass { PASS_INFER, PASS_FIT, PASS_WRITE };

/* The bytes [lo, hi) of the shard of o, the files of in taken as one,
 * whose records it holds: those that start there; and each file's size,
 * into size (nin). */
static int
shard_bytes(const tp_ingest_opts *o, tp_input *in, int nin, uint64_t *size,
    uint64_t *lo, uint64_t *hi, tp_err *e)
{
	uint64_t total = 0;
	int rc;

	for (int i = 0; i < nin; i++) {
		if (in[i].db != NULL)
			return tp_err_set(e, TP_EUSAGE,
			    "%s: a shard is cut from CSV files, not a query's rows",
			    in[i].name);
		/* A file read by a pass before is read again from its start. */
		if (in[i].read && fseek(in[i].f, 0, SEEK_SET) != 0)
			return tp_err_set(e, TP_EIO, "%s: cannot read again: %s",
			    in[i].name, strerror(errno));
		if ((rc = tp_shard_file_size(in[i].f, in[i].name, &size[i], e)) !=
		    TP_OK)
			return rc;
		total += size[i];
	}
	tp_shard_range(&o->shard, total, lo, hi);
	return TP_OK;
}

/* One pass over every record of every input; with a shard, of the
 * records that start in its bytes, numbered as in the whole input. */
static int
each_row(const tp_ingest_opts *o, tp_input *in, int nin, enum pass pass,
    header_fn on_header, row_fn on_row, void *ctx, tp_ingest_counts *counts,
    tp_err *e)
{
	int64_t record = 0;
	uint64_t rejected = 0, base = 0, lo = 0, hi = UINT64_MAX, *size = NULL;
	int rc = TP_OK, cut = pass == PASS_WRITE && tp_shard_cuts(&o->shard);
	int past = 0;           /* past the shard's last record */

	if (cut && (size = calloc((size_t)nin, sizeof(*size))) == NULL)
		return tp_err_nomem(e, "the inputs' sizes");
	if (cut && (rc = shard_bytes(o, in, nin, size, &lo, &hi, e)) != TP_OK) {
		free(size);
		return rc;
	}
	for (int i = 0; i < nin && rc == TP_OK && !past; i++) {
		const char *name = in[i].name;
		char where[4096];
		source src;
		size_t ncols = 0;
		int r;

		/* A shard ends at the first record past its bytes. */
		if (cut && i > 0)
			base += size[i - 1];
		if (cut && base >= hi)
			break;
		if ((rc = source_open(&src, &in[i], e)) != TP_OK) {
			source_close(&src);
			break;
		}
		if ((r = source_next(&src, e)) <= 0) {
			rc = r < 0 ? e->code : tp_err_set(e, TP_EDATA,
			    "%s: empty: no header line", in[i].name);
		} else {
			ncols = source_nfields(&src);
			if (src.csv != NULL)
				snprintf(where, sizeof(where), "%s:%ld", name,
				    tp_csv_line(src.csv));
			else
				snprintf(where, sizeof(where), "%s", name);
			rc = on_header(ctx, source_fields(&src), ncols, where,
			    e);
		}
		while (rc == TP_OK && (r = source_next(&src, e)) > 0) {
			record++;
			if (cut && base + tp_csv_offset(src.csv) < lo)
				continue;
			if (cut && base + tp_csv_offset(src.csv) >= hi) {
				past = 1;
				break;
			}
			counts->read++;
			if (source_nfields(&src) != ncols)
				rc = tp_err_set(e, TP_EDATA,
				    "expected %zu fields, found %zu", ncols,
				    source_nfields(&src));
			else
				rc = on_row(ctx, source_fields(&src), record, e);
			/* A bad row, or a value that a usage error is found
			 * at (a target with values that need --positive). */
			if (rc == TP_EDATA || rc == TP_EUSAGE)
				source_where(&src, e);
			if (rc == TP_EDATA && pass == PASS_INFER)
				rc = TP_OK;
			else if (rc == TP_EDATA)
				rc = reject(o, &src, pass == PASS_WRITE, counts,
				    &rejected, e);
		}
		if (rc == TP_OK && r < 0)
			rc = e->code;
		source_close(&src);
	}
	free(size);
	return rc;
}

/* Pass 1: the columns' kinds and the target's values. */
typedef struct {
	const tp_ingest_opts *o;
	tp_encoding *enc;       /* columns named and kinds being decided */
	tp_strmap names;        /* the columns' names: name -> column */
	char header[4096];      /* the first header's place, "file:line" */
	const char *inputs;     /* the inputs' names, for what they hold */
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

static int given_kinds(infer_ctx *c, tp_err *e);

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
	int rc;

	if (enc->ncols > 0)
		return same_header(enc, f, n, where, e);
	snprintf(c->header, sizeof(c->header), "%s", where);
	if ((rc = tp_encoding_check_names(f, n, where, e)) != TP_OK)
		return rc;
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
		/* A set of the names so far finds a repeat in one look. */
		long j = tp_strmap_add(&c->names, f[i].s, f[i].len, e);
		if (j < 0)
			return e->code;
		if ((size_t)j < i)
			return tp_err_set(e, TP_EDATA,
			    "%s: column %zu: \"%s\" is also column %ld", where,
			    i + 1, enc->cols[i].name, j + 1);
	}
	return given_kinds(c, e);
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

/* Counts a value of the target: at most 1000, and without --positive
 * only 0 and 1. */
static int
count_target(infer_ctx *c, int i, const tp_field *f, tp_err *e)
{
	const char *name = c->enc->cols[i].name;
	long k;

	if (c->positive == NULL && !(f->len == 1 && (f->s[0] == '0' ||
	    f->s[0] == '1')))
		return tp_err_set(e, TP_EUSAGE,
		    "column %d (%s): target value \"%.*s\" is neither 0 nor 1: say which value is positive with --positive",
		    i + 1, name, (int)(f->len > 40 ? 40 : f->len), f->s);
	if ((k = tp_strmap_add(&c->targets, f->s, f->len, e)) < 0)
		return e->code;
	if (c->targets.n > 1000)
		return tp_err_set(e, TP_EUSAGE,
		    "column %d (%s): target \"%s\" has more than 1000 values: tabpipe predicts a binary outcome",
		    i + 1, name, name);
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
	return TP_OK;
}

static int
infer_row(void *vctx, const tp_field *f, int64_t record, tp_err *e)
{
	infer_ctx *c = vctx;
	double x;
	int rc;

	(void)record;
	for (int i = 0; i < c->enc->ncols; i++) {
		if (tp_field_missing(&f[i]))
			continue;
		c->present[i]++;
		if (c->enc->cols[i].kind == TP_KIND_TARGET) {
			/* Text that no encoding can keep never becomes a
			 * label: the row is skipped, and the next pass
			 * rejects it. */
			if (tp_field_check_text(&f[i], "the value", e) != TP_OK)
				return TP_EDATA;
			if ((rc = count_target(c, i, &f[i], e)) != TP_OK)
				return rc;
			continue;
		}
		if (tp_parse_double(f[i].s, f[i].len, &x) == 0)
			c->numeric[i]++;
		if (c->integer[i] && !is_integer(&f[i]))
			c->integer[i] = 0;
	}
	return TP_OK;
}

/* The column of a name that the options or the schema give, or -1 with
 * e set: "what \"NAME\"of is not in the header". */
static int
find_column(const infer_ctx *c, const char *name, const char *what,
    const char *of, tp_err *e)
{
	long i = tp_strmap_find(&c->names, name, strlen(name));

	if (i < 0)
		tp_err_set(e, TP_EUSAGE, "%s: %s \"%s\"%s is not in the header",
		    c->header, what, name, of);
	return (int)i;
}

/* Kinds given by the schema file and the options, before any data. */
static int
given_kinds(infer_ctx *c, tp_err *e)
{
	const tp_ingest_opts *o = c->o;
	tp_encoding *enc = c->enc;

	c->target = o->target;
	c->positive = o->positive;
	c->id = o->id;
	c->schema = NULL;
	if (o->schema != NULL) {
		char *text, of[4200];
		int rc = tp_read_file(o->schema, &text, NULL, e);
		const cJSON *cols, *col, *json;
		if (rc != TP_OK)
			return rc;
		json = c->schema = cJSON_Parse(text);
		free(text);
		if (!cJSON_IsObject(json))
			return tp_err_set(e, TP_EDATA, "%s: not a JSON object",
			    o->schema);
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(json, "target");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(json, "positive");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(json, "id");
		if (c->target == NULL && cJSON_IsString(t))
			c->target = t->valuestring;
		if (c->positive == NULL && cJSON_IsString(p))
			c->positive = p->valuestring;
		if (c->id == NULL && cJSON_IsString(d))
			c->id = d->valuestring;
		cols = cJSON_GetObjectItemCaseSensitive(json, "columns");
		if (cols != NULL && !cJSON_IsObject(cols))
			return tp_err_set(e, TP_EDATA,
			    "%s: \"columns\" must be an object of column name to kind",
			    o->schema);
		snprintf(of, sizeof(of), " of the schema %s", o->schema);
		cJSON_ArrayForEach(col, cols) {
			enum tp_kind kind;
			int i = find_column(c, col->string, "column", of, e);
			if (i < 0)
				return TP_EUSAGE;
			if (!cJSON_IsString(col) ||
			    tp_kind_parse(col->valuestring, &kind) < 0)
				return tp_err_set(e, TP_EDATA,
				    "%s: column \"%s\": kind must be numeric, categorical, id, target or ignore",
				    o->schema, col->string);
			enc->cols[i].kind = kind;
			c->given[i] = 1;
		}
	}
	for (int i = 0; i < enc->ncols; i++)
		if (c->given[i] && enc->cols[i].kind == TP_KIND_TARGET &&
		    c->target == NULL)
			c->target = enc->cols[i].name;
	if (c->target != NULL) {
		int i = find_column(c, c->target, "target column", "", e);
		if (i < 0)
			return TP_EUSAGE;
		enc->cols[i].kind = TP_KIND_TARGET;
		c->given[i] = 1;
	}
	if (c->id != NULL) {
		int i = find_column(c, c->id, "id column", "", e);
		if (i < 0)
			return TP_EUSAGE;
		enc->cols[i].kind = TP_KIND_ID;
		c->given[i] = 1;
	}
	return TP_OK;
}

/* Decides the kinds left open and the labels, and numbers the features. */
static int
decide_kinds(infer_ctx *c, tp_err *e)
{
	tp_encoding *enc = c->enc;
	const uint8_t *given = c->given;
	const char *positive = c->positive ? c->positive : "1";

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
				    "%s: columns \"%s\" and \"%s\" are both of kind %s",
				    c->header, enc->cols[*where].name,
				    col->name, tp_kind_name(col->kind));
			*where = i;
		}
		if (col->kind == TP_KIND_NUMERIC) {
			col->slot = enc->nnum++;
			/* Until the statistics are known, a scale under which
			 * every finite number encodes: the fit's pass checks
			 * its rows' numbers against this, not against
			 * statistics it has yet to compute. */
			col->std = DBL_MAX;
		} else if (col->kind == TP_KIND_CATEGORICAL)
			col->slot = enc->ncat++;
	}
	if (enc->target_col < 0)
		return TP_OK;
	/* The labels: the positive value, and the most frequent other one.
	 * Rows with any third value are bad rows of the later passes. Without
	 * --positive, every value is 0 or 1 (count_target). */
	const tp_strmap *v = &c->targets;
	const char *name = enc->cols[enc->target_col].name;
	long pk, nk = -1;
	pk = tp_strmap_find(v, positive, strlen(positive));
	if (pk < 0 && v->n > 0 && strcmp(positive, "1") != 0) {
		char seen[256] = "";
		for (size_t k = 0; k < v->n && k < 3; k++)
			snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen),
			    "%s\"%.60s\"", k ? ", " : "", v->keys[k]);
		return tp_err_set(e, TP_EUSAGE,
		    "%s: positive label \"%s\" is not a value of target \"%s\" (%s%s)",
		    c->inputs, positive, name, seen, v->n > 3 ? ", ..." : "");
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
	double *mean, *m2;      /* (ncols) running statistics (Welford), in
	                           units of 2^scale */
	int *scale;             /* (ncols) 2^scale > the largest |value| */
	double *limit, *inv;    /* (ncols) 2^scale (inf past a double's range)
	                           and 2^-scale */
	uint64_t *n;            /* (ncols) */
	uint64_t fitted;        /* rows the statistics are of */
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
	c->fitted++;
	for (int i = 0; i < c->enc->ncols; i++) {
		const tp_column *col = &c->enc->cols[i];
		if (tp_field_missing(&f[i]))
			continue;
		if (col->kind == TP_KIND_NUMERIC) {
			double x;
			tp_parse_double(f[i].s, f[i].len, &x);
			/* Welford's update on x / 2^scale, a power of two
			 * above |x| so far: no sum of squares overflows, even
			 * of numbers near the largest double, and scaling by
			 * a power of two rounds nothing (Welford, 1962, and
			 * Knuth, TAOCP vol. 2, 4.2.2). */
			if (fabs(x) >= c->limit[i]) {
				int ex, by;
				frexp(x, &ex);
				by = c->scale[i] - ex;
				c->mean[i] = ldexp(c->mean[i], by);
				c->m2[i] = ldexp(c->m2[i], 2 * by);
				c->scale[i] = ex;
				c->limit[i] = ldexp(1, ex);
				c->inv[i] = ldexp(1, -ex);
			}
			x *= c->inv[i];
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
			double mean = c->n[i] > 0 ? c->mean[i] : 0;
			col->mean = ldexp(mean, c->scale[i]);
			col->std = ldexp(sqrt(var), c->scale[i]);
			/* Values below 2^scale have a standard deviation below
			 * it too; only rounding, of values as large as the
			 * largest double, could carry it past. */
			if (isinf(col->std))
				col->std = DBL_MAX;
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
	free(c->scale);
	free(c->limit);
	free(c->inv);
	free(c->n);
	tp_batch_free(&c->row);
}

static void
infer_free(infer_ctx *c)
{
	tp_strmap_free(&c->names);
	free(c->present);
	free(c->numeric);
	free(c->integer);
	free(c->given);
	tp_strmap_free(&c->targets);
	free(c->target_n);
	cJSON_Delete(c->schema);
}

/* The inputs' names, for a message about what they hold together:
 * "a.csv", "a.csv, b.csv", "a.csv, b.csv, c.csv, ..." */
static void
inputs_name(const tp_input *in, int nin, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < nin && i < 3 && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		    i ? ", " : "", in[i].name);
	if (nin > 3 && len < size)
		snprintf(buf + len, size - len, ", ...");
}

int
tp_ingest_fit(const tp_ingest_opts *o, tp_input *in, int nin,
    tp_encoding *enc, tp_err *e)
{
	char inputs[1024];
	infer_ctx ic = {.o = o, .enc = enc, .inputs = inputs};
	fit_ctx fc = {.o = o, .enc = enc};
	tp_ingest_counts infer_counts = {0}, fit_counts = {0};
	size_t n;
	int rc;

	memset(enc, 0, sizeof(*enc));
	inputs_name(in, nin, inputs, sizeof(inputs));
	if ((rc = each_row(o, in, nin, PASS_INFER, infer_header, infer_row,
	    &ic, &infer_counts, e)) != TP_OK ||
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
	    (fc.scale = calloc(n, sizeof(*fc.scale))) == NULL ||
	    (fc.limit = malloc(n * sizeof(*fc.limit))) == NULL ||
	    (fc.inv = malloc(n * sizeof(*fc.inv))) == NULL ||
	    (fc.n = calloc(n, sizeof(*fc.n))) == NULL) {
		rc = tp_err_nomem(e, "the fit");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		fc.limit[i] = fc.inv[i] = 1; /* scale 0 */
	if ((rc = each_row(o, in, nin, PASS_FIT, fit_header, fit_row, &fc,
	    &fit_counts, e)) != TP_OK)
		goto out;
	/* Vocabularies and statistics of nothing would be an encoding that
	 * encodes everything as missing or unseen. */
	if (fit_counts.read == 0)
		rc = tp_err_set(e, TP_EDATA,
		    "%s: no data rows to fit an encoding on", inputs);
	else if (fc.fitted == 0)
		rc = tp_err_set(e, TP_EDATA,
		    "%s: none of the %llu rows read is left to fit an encoding on (rejected, or dealt to the parts of the split other than train)",
		    inputs, (unsigned long long)fit_counts.read);
	else
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
	tp_encoding view;         /* enc as the current input's header has it */
	splitter split;
	tp_batch row;             /* the row being encoded */
	uint8_t *unseen;          /* (ncat) its values not in the vocabulary */
	tp_stream_writer **out;
	tp_ingest_counts *counts;
} write_ctx;

/* A header with the encoding's columns, or with all but the target's:
 * new data, whose rows are written unlabelled. */
static int
write_header(void *vctx, const tp_field *f, size_t n, const char *where,
    tp_err *e)
{
	write_ctx *c = vctx;

	tp_encoding_view_free(&c->view);
	return tp_encoding_view(&c->view, c->enc, f, n, where, e);
}

static int
write_row(void *vctx, const tp_field *f, int64_t record, tp_err *e)
{
	write_ctx *c = vctx;
	tp_row from = tp_batch_row(&c->row, 0), to;
	int rc, part;

	if ((rc = tp_encoding_encode(&c->view, f, record, from, c->unseen,
	    e)) != TP_OK)
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
	if (tp_shard_cuts(&o->shard) && o->nsplit > 1)
		return tp_err_set(e, TP_EUSAGE,
		    "a shard is written to one stream: --split goes with the whole input");
	splitter_init(&c.split, o);
	if ((rc = tp_batch_init(&c.row, enc->ncat, enc->nnum, 1, e)) != TP_OK)
		return rc;
	if ((c.unseen = calloc((size_t)enc->ncat + 1, 1)) == NULL)
		rc = tp_err_nomem(e, "a row");
	else
		rc = each_row(o, in, nin, PASS_WRITE, write_header, write_row,
		    &c, counts, e);
	tp_encoding_view_free(&c.view);
	free(c.unseen);
	tp_batch_free(&c.row);
	return rc;
}

const char *
tp_ingest_part(const tp_ingest_opts *o, int i)
{
	static const char *const names[2][TP_SPLIT_MAX] = {
		{"train", "test", NULL},
		{"train", "valid", "test"},
	};

	return names[o->nsplit == 3][i];
}

int
tp_ingest_files(const tp_ingest_opts *o, tp_input *in, int nin,
    const tp_encoding *enc, tp_ingest_outputs *out,
    tp_ingest_counts *counts, tp_err *e)
{
	tp_outfile file[TP_SPLIT_MAX] = {0}, rejects = {0};
	tp_stream_writer *w[TP_SPLIT_MAX] = {0};
	tp_ingest_opts with_rejects = *o;
	int rc = TP_OK;

	out->n = o->nsplit > 1 ? o->nsplit : 1;
	for (int i = 0; i < out->n && rc == TP_OK; i++) {
		if (out->prefix != NULL)
			snprintf(out->name[i], sizeof(out->name[i]), "%s.%s.tps",
			    out->prefix, tp_ingest_part(o, i));
		else
			snprintf(out->name[i], sizeof(out->name[i]), "%s",
			    strcmp(out->output, "-") ? out->output :
			    "standard output");
		if ((rc = tp_outfile_open(&file[i], out->prefix != NULL ?
		    out->name[i] : out->output, e)) == TP_OK)
			rc = tp_stream_writer_open(&w[i], file[i].f, file[i].path ?
			    file[i].path : "standard output", enc, e);
	}
	if (rc == TP_OK && out->rejects != NULL &&
	    (rc = tp_outfile_open(&rejects, out->rejects, e)) == TP_OK)
		with_rejects.rejects = rejects.f;
	if (rc == TP_OK)
		rc = tp_ingest_write(&with_rejects, in, nin, enc, w, counts, e);
	for (int i = 0; i < out->n && rc == TP_OK; i++) {
		rc = tp_stream_writer_close(w[i], out->fingerprint[i], e);
		w[i] = NULL;
		if (rc == TP_OK)
			rc = tp_outfile_commit(&file[i], e);
	}
	if (rc == TP_OK && out->rejects != NULL)
		rc = tp_outfile_commit(&rejects, e);
	if (rc != TP_OK) {
		for (int i = 0; i < TP_SPLIT_MAX; i++) {
			tp_stream_writer_abort(w[i]);
			tp_outfile_abort(&file[i]);
		}
		tp_outfile_abort(&rejects);
	}
	return rc;
}
