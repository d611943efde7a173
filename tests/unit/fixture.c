#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libpq-fe.h>

#include "base/rng.h"
#include "fixture.h"
#include "train/train.h"

FILE *
fixture_text_file(const char *s)
{
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, strlen(s), f), strlen(s));
	ck_assert_int_eq(fflush(f), 0);
	rewind(f);
	return f;
}

char *
fixture_written(FILE *f)
{
	size_t len = (size_t)ftell(f);
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	rewind(f);
	ck_assert_uint_eq(fread(s, 1, len, f), len);
	s[len] = '\0';
	return s;
}

void
fixture_fit(tp_encoding *enc, int min_count)
{
	tp_ingest_opts o = {.target = "status", .positive = "bad",
	    .min_count = min_count};
	tp_input in = {.name = "t.csv", .f = fixture_text_file(FIXTURE_CSV)};
	tp_err e = {0};

	ck_assert_msg(tp_ingest_fit(&o, &in, 1, enc, &e) == TP_OK, "%s", e.msg);
	fclose(in.f);
}

int
fixture_col(const tp_encoding *enc, const char *name)
{
	for (int i = 0; i < enc->ncols; i++)
		if (strcmp(enc->cols[i].name, name) == 0)
			return i;
	ck_abort_msg("no column %s", name);
	return -1;
}

int32_t
fixture_category(const tp_encoding *enc, const char *column,
    const char *value)
{
	const tp_column *c = &enc->cols[fixture_col(enc, column)];

	return (int32_t)(tp_strmap_find(&c->vocab, value, strlen(value)) + 1);
}

void
fixture_save_model(const tp_encoding *enc, uint64_t seed, double threshold,
    const char *path)
{
	tp_config cfg = {.layers = 1, .d_model = 8, .heads = 2, .d_ff = 16,
	    .head_hidden = 8, .proj_dim = 8, .dropout = 0.1f};
	tp_model_meta meta = {.threshold = threshold, .parts = TP_WITH_HEAD};
	tp_model m;
	tp_err e = {0};

	ck_assert_msg(tp_model_init(&m, &cfg, enc, seed, 1, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_msg(tp_model_save(path, &m, enc, &meta, &e) == TP_OK, "%s",
	    e.msg);
	tp_model_free(&m);
}

const char *
fixture_server(void)
{
	const char *s = getenv("TABPIPE_DB");

	if (s == NULL || *s == '\0')
		ck_abort_msg("TABPIPE_DB is unset: this test needs a "
		    "PostgreSQL server (run the unit tests under sh "
		    "scripts/pg-server run)");
	return s;
}

char *
fixture_conninfo(const char *dbname)
{
	PQconninfoOption *opts;
	char *err = NULL, *s = NULL;
	size_t len = 0;
	FILE *f;

	opts = PQconninfoParse(fixture_server(), &err);
	ck_assert_msg(opts != NULL, "TABPIPE_DB: %s",
	    err != NULL ? err : "out of memory");
	f = open_memstream(&s, &len);
	ck_assert_ptr_nonnull(f);
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname :
		    o->val;
		if (v == NULL)
			continue;
		/* libpq's quoting: a quote or a backslash is escaped. */
		fprintf(f, "%s='", o->keyword);
		for (; *v != '\0'; v++) {
			if (*v == '\'' || *v == '\\')
				fputc('\\', f);
			fputc(*v, f);
		}
		fputs("' ", f);
	}
	ck_assert_int_eq(fclose(f), 0);
	PQconninfoFree(opts);
	return s;
}

tp_db *
fixture_db_connect(const char *suite, const char *tool)
{
	char name[64], *conninfo;
	tp_db *db = NULL;
	tp_err e = {0};

	snprintf(name, sizeof(name), "test_unit_%s", suite);
	conninfo = fixture_conninfo(name);
	ck_assert_msg(tp_db_open(&db, conninfo, tool, &e) == TP_OK, "%s: %s",
	    name, e.msg);
	ck_assert_ptr_nonnull(db);
	free(conninfo);
	return db;
}

/* Notices ("does not exist, skipping") are not the test's output. */
static void
fixture_quiet(void *arg, const char *msg)
{
}

char *
fixture_db_fresh(const char *suite)
{
	static const char *const steps[] = {
		"DROP DATABASE IF EXISTS test_unit_%s WITH (FORCE)",
		"CREATE DATABASE test_unit_%s",
	};
	PGconn *c = PQconnectdb(fixture_server());
	char sql[128];

	/* The name goes into SQL text: a suite's name is a C identifier. */
	for (const char *p = suite; *p != '\0'; p++)
		ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyz_0123456789",
		    *p) != NULL, "suite name %s", suite);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "TABPIPE_DB: %s",
	    PQerrorMessage(c));
	PQsetNoticeProcessor(c, fixture_quiet, NULL);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		snprintf(sql, sizeof(sql), steps[i], suite);
		PGresult *r = PQexec(c, sql);
		ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s",
		    sql, PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
	snprintf(sql, sizeof(sql), "test_unit_%s", suite);
	return fixture_conninfo(sql);
}

tp_db *
fixture_db(const char *suite, const char *tool)
{
	free(fixture_db_fresh(suite));
	return fixture_db_connect(suite, tool);
}

void
fixture_exec(tp_db *db, const char *sql, int n, const char *const *params)
{
	tp_err e = {0};

	ck_assert_msg(tp_db_exec(db, sql, n, params, NULL, &e) == TP_OK,
	    "%s: %s", sql, e.msg);
}

char *
fixture_value(tp_db *db, const char *sql, int n, const char *const *params)
{
	PGresult *r;
	tp_err e = {0};
	char *v = NULL;

	ck_assert_msg(tp_db_exec(db, sql, n, params, &r, &e) == TP_OK, "%s: %s",
	    sql, e.msg);
	ck_assert_msg(PQntuples(r) == 1 && PQnfields(r) == 1,
	    "%s: %d rows of %d values, expected one value", sql, PQntuples(r),
	    PQnfields(r));
	if (!PQgetisnull(r, 0, 0)) {
		v = strdup(PQgetvalue(r, 0, 0));
		ck_assert_ptr_nonnull(v);
	}
	PQclear(r);
	return v;
}

void
fixture_value_is(tp_db *db, const char *sql, int n,
    const char *const *params, const char *want)
{
	char *v = fixture_value(db, sql, n, params);

	if (want == NULL)
		ck_assert_msg(v == NULL, "%s: \"%s\", expected NULL", sql, v);
	else
		ck_assert_msg(v != NULL && strcmp(v, want) == 0,
		    "%s: %s%s%s, expected \"%s\"", sql, v ? "\"" : "",
		    v ? v : "NULL", v ? "\"" : "", want);
	free(v);
}

void
fixture_model_encoding(tp_encoding *enc)
{
	static const char *const names[] = {"c0", "n0", "c1", "n1", "y"};
	static const enum tp_kind kinds[] = {TP_KIND_CATEGORICAL,
	    TP_KIND_NUMERIC, TP_KIND_CATEGORICAL, TP_KIND_NUMERIC,
	    TP_KIND_TARGET};
	tp_err e;

	memset(enc, 0, sizeof(*enc));
	enc->ncols = 5;
	enc->cols = calloc(5, sizeof(*enc->cols));
	enc->id_col = -1;
	enc->target_col = 4;
	enc->labels[0] = strdup("good");
	enc->labels[1] = strdup("bad");
	for (int i = 0; i < 5; i++) {
		tp_column *c = &enc->cols[i];
		c->name = strdup(names[i]);
		c->kind = kinds[i];
		c->slot = c->kind == TP_KIND_CATEGORICAL ? enc->ncat++ :
		    c->kind == TP_KIND_NUMERIC ? enc->nnum++ : -1;
		c->std = 1;
	}
	tp_strmap_add(&enc->cols[0].vocab, "a", 1, &e);
	tp_strmap_add(&enc->cols[0].vocab, "b", 1, &e);
	tp_strmap_add(&enc->cols[0].vocab, "c", 1, &e);
	tp_strmap_add(&enc->cols[2].vocab, "x", 1, &e);
	tp_strmap_add(&enc->cols[2].vocab, "y", 1, &e);
	ck_assert_int_eq(tp_encoding_fingerprint(enc, &e), TP_OK);
}

void
fixture_rows(tp_batch *b, size_t n, uint64_t seed)
{
	tp_rng r;
	tp_err e;

	tp_rng_seed(&r, seed);
	ck_assert_int_eq(tp_batch_init(b, 2, 2, n, &e), TP_OK);
	for (size_t i = 0; i < n; i++) {
		int32_t *cat = b->cat + 2 * i;
		float *num = b->num + 2 * i;
		cat[0] = (int32_t)tp_rng_below(&r, 4);
		cat[1] = (int32_t)tp_rng_below(&r, 3);
		num[0] = (float)tp_rng_normal(&r);
		num[1] = tp_rng_float(&r) < 0.1f ? NAN : (float)tp_rng_normal(&r);
		b->id[i] = (int64_t)i + 1;
		b->label[i] = num[0] + (cat[0] == 2) + 0.5 * tp_rng_normal(&r) >
		    0.5;
	}
	b->n = n;
}

void
fixture_train(fixture_trained *t, int threads)
{
	static const tp_config small = {
		.layers = 1, .d_model = 8, .heads = 2, .d_ff = 12, .head_hidden = 6,
		.proj_dim = 4, .dropout = 0.1f, .activation = TP_GELU,
	};
	tp_train_opts o;
	tp_train_result r;
	tp_err e = {0};

	fixture_model_encoding(&t->enc);
	fixture_rows(&t->train, 400, 11);
	fixture_rows(&t->valid, 200, 12);
	fixture_rows(&t->test, 300, 13);
	tp_train_defaults(&o);
	o.model = small;
	o.epochs = 12;
	o.patience = 12;
	o.batch = 64;
	o.lr = 1e-2f;
	o.threads = threads;
	ck_assert_msg(tp_train(&o, &t->enc, &t->train, &t->valid, &t->m, &r,
	    &e) == TP_OK, "%s", e.msg);
}

void
fixture_untrain(fixture_trained *t)
{
	tp_model_free(&t->m);
	tp_batch_free(&t->train);
	tp_batch_free(&t->valid);
	tp_batch_free(&t->test);
	tp_encoding_free(&t->enc);
}

void
fixture_folder(char *dir)
{
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

void
fixture_folder_remove(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

char *
fixture_stream_file(const char *dir, const char *name, const tp_encoding *enc,
    const tp_batch *all, size_t first, size_t n)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	tp_stream_writer *w;
	tp_batch part = *all;
	tp_err e = {0};
	FILE *f;

	ck_assert_ptr_nonnull(path);
	sprintf(path, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	part.id += first;
	part.cat += first * (size_t)all->ncat;
	part.num += first * (size_t)all->nnum;
	part.label += first;
	part.n = n;
	ck_assert_int_eq(tp_stream_writer_open(&w, f, path, enc, &e), TP_OK);
	ck_assert_int_eq(tp_stream_writer_write(w, &part, &e), TP_OK);
	ck_assert_int_eq(tp_stream_writer_close(w, NULL, &e), TP_OK);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}
