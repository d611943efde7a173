/*
 * test_encoding: the JSON form and its fingerprint (round trip, edits and
 * damage rejected), the encoding of a row (standardised numbers, missing
 * values, unseen categories, labels, ids, bad values, text that is not
 * UTF-8, numbers out of range), header checks and the view without the
 * target, and the CSV written back, extreme numbers included.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/encoding.h"
#include "suites.h"

static void
add_col(tp_encoding *enc, int i, const char *name, enum tp_kind kind)
{
	tp_column *c = &enc->cols[i];

	c->name = strdup(name);
	ck_assert_ptr_nonnull(c->name);
	c->kind = kind;
	c->slot = -1;
	if (kind == TP_KIND_NUMERIC)
		c->slot = enc->nnum++;
	else if (kind == TP_KIND_CATEGORICAL)
		c->slot = enc->ncat++;
	else if (kind == TP_KIND_ID)
		enc->id_col = i;
	else if (kind == TP_KIND_TARGET)
		enc->target_col = i;
}

static void
add_value(tp_column *c, const char *v)
{
	tp_err e = {0};

	ck_assert_int_ge(tp_strmap_add(&c->vocab, v, strlen(v), &e), 0);
}

/*
 * id (id), age (numeric, mean 40, std 10), city (categorical: paris, rome,
 * "new york, ny"), y (target: good, bad), junk (ignored), income (numeric,
 * mean 1000.5, std 250).
 */
static void
make_encoding(tp_encoding *enc, int with_id)
{
	tp_err e = {0};
	int i = 0;

	memset(enc, 0, sizeof(*enc));
	enc->id_col = enc->target_col = -1;
	enc->cols = calloc(6, sizeof(*enc->cols));
	ck_assert_ptr_nonnull(enc->cols);
	enc->ncols = with_id ? 6 : 5;
	if (with_id)
		add_col(enc, i++, "id", TP_KIND_ID);
	add_col(enc, i, "age", TP_KIND_NUMERIC);
	enc->cols[i].mean = 40;
	enc->cols[i++].std = 10;
	add_col(enc, i, "city", TP_KIND_CATEGORICAL);
	add_value(&enc->cols[i], "paris");
	add_value(&enc->cols[i], "rome");
	add_value(&enc->cols[i++], "new york, ny");
	add_col(enc, i++, "y", TP_KIND_TARGET);
	add_col(enc, i++, "junk", TP_KIND_IGNORE);
	add_col(enc, i, "income", TP_KIND_NUMERIC);
	enc->cols[i].mean = 1000.5;
	enc->cols[i++].std = 250;
	enc->labels[0] = strdup("good");
	enc->labels[1] = strdup("bad");
	ck_assert_int_eq(tp_encoding_fingerprint(enc, &e), TP_OK);
	ck_assert_uint_eq(strlen(enc->fingerprint), 64);
}

static void
expect_same(const tp_encoding *a, const tp_encoding *b)
{
	ck_assert_str_eq(a->fingerprint, b->fingerprint);
	ck_assert_int_eq(a->ncols, b->ncols);
	ck_assert_int_eq(a->ncat, b->ncat);
	ck_assert_int_eq(a->nnum, b->nnum);
	ck_assert_int_eq(a->id_col, b->id_col);
	ck_assert_int_eq(a->target_col, b->target_col);
	ck_assert_pstr_eq(a->labels[0], b->labels[0]);
	ck_assert_pstr_eq(a->labels[1], b->labels[1]);
	for (int i = 0; i < a->ncols; i++) {
		const tp_column *x = &a->cols[i], *y = &b->cols[i];
		ck_assert_str_eq(x->name, y->name);
		ck_assert_int_eq(x->kind, y->kind);
		ck_assert_int_eq(x->slot, y->slot);
		if (x->kind == TP_KIND_NUMERIC) {
			ck_assert(x->mean == y->mean);
			ck_assert(x->std == y->std);
		}
		ck_assert_uint_eq(x->vocab.n, y->vocab.n);
		for (size_t k = 0; k < x->vocab.n; k++) {
			ck_assert_uint_eq(x->vocab.lens[k], y->vocab.lens[k]);
			ck_assert_mem_eq(x->vocab.keys[k], y->vocab.keys[k],
			    x->vocab.lens[k]);
		}
	}
}

/* The JSON of enc printed and parsed again, as a file would hold it. */
static cJSON *
reparsed(const tp_encoding *enc)
{
	cJSON *json = tp_encoding_to_json(enc);
	char *text;

	ck_assert_ptr_nonnull(json);
	text = cJSON_PrintUnformatted(json);
	ck_assert_ptr_nonnull(text);
	cJSON_Delete(json);
	json = cJSON_Parse(text);
	ck_assert_ptr_nonnull(json);
	free(text);
	return json;
}

static cJSON *
column_json(cJSON *json, const char *name)
{
	cJSON *col;

	cJSON_ArrayForEach(col, cJSON_GetObjectItem(json, "columns")) {
		if (strcmp(cJSON_GetObjectItem(col, "name")->valuestring, name) == 0)
			return col;
	}
	ck_abort_msg("no column %s in the JSON", name);
	return NULL;
}

START_TEST(test_json_round_trip)
{
	tp_encoding enc, back;
	tp_err e = {0};
	cJSON *json;

	make_encoding(&enc, 1);
	/* Means and deviations that need all 17 digits. */
	enc.cols[1].mean = 1.0 / 3;
	enc.cols[1].std = 0.1 + 0.2;
	enc.cols[5].mean = -2.5e-300;
	enc.cols[5].std = 123456789.123456789;
	ck_assert_int_eq(tp_encoding_fingerprint(&enc, &e), TP_OK);

	/* The tree that to_json gives is what from_json reads. */
	json = tp_encoding_to_json(&enc);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(tp_encoding_from_json(&back, json, "mem", &e) == TP_OK,
	    "%s", e.msg);
	expect_same(&enc, &back);
	tp_encoding_free(&back);
	cJSON_Delete(json);

	json = reparsed(&enc);
	ck_assert_int_eq(tp_encoding_from_json(&back, json, "text", &e), TP_OK);
	expect_same(&enc, &back);
	ck_assert(back.cols[1].mean == 1.0 / 3);
	ck_assert(back.cols[5].std == 123456789.123456789);
	tp_encoding_free(&back);
	cJSON_Delete(json);

	/* A different encoding has a different fingerprint. */
	{
		char before[65];
		memcpy(before, enc.fingerprint, sizeof(before));
		enc.cols[1].mean = nextafter(enc.cols[1].mean, 1);
		ck_assert_int_eq(tp_encoding_fingerprint(&enc, &e), TP_OK);
		ck_assert_str_ne(before, enc.fingerprint);
	}
	tp_encoding_free(&enc);
	/* Freeing twice (a zeroed encoding) and NULL are fine. */
	tp_encoding_free(&enc);
	tp_encoding_free(NULL);
}
END_TEST

START_TEST(test_save_load)
{
	char dir[] = "/tmp/tp_encXXXXXX", path[64];
	tp_encoding enc, back;
	tp_err e = {0};

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/enc.json", dir);
	make_encoding(&enc, 0);
	ck_assert_int_eq(tp_encoding_save(&enc, path, &e), TP_OK);
	ck_assert_int_eq(tp_encoding_load(&back, path, &e), TP_OK);
	expect_same(&enc, &back);
	ck_assert_int_eq(back.id_col, -1);
	tp_encoding_free(&back);
	tp_encoding_free(&enc);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tp_encoding_load(&back, path, &e), TP_ENOINPUT);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_edited)
{
	tp_encoding enc, edited, back;
	tp_err e = {0};
	char want[1024];
	cJSON *json;

	/* A mean changed by hand: the stored fingerprint no longer fits. */
	make_encoding(&enc, 1);
	make_encoding(&edited, 1);
	edited.cols[1].mean = 41;
	ck_assert_int_eq(tp_encoding_fingerprint(&edited, &e), TP_OK);
	json = reparsed(&enc);
	cJSON_SetNumberValue(cJSON_GetObjectItem(column_json(json, "age"),
	    "mean"), 41);
	ck_assert_int_eq(tp_encoding_from_json(&back, json, "enc.json", &e),
	    TP_EDATA);
	snprintf(want, sizeof(want),
	    "enc.json: encoding: fingerprint %.12s... does not match its content (%.12s...): the encoding was edited or damaged",
	    enc.fingerprint, edited.fingerprint);
	ck_assert_str_eq(e.msg, want);
	ck_assert_int_eq(e.code, TP_EDATA);
	ck_assert_int_eq(back.ncols, 0);
	ck_assert_ptr_null(back.cols);
	cJSON_Delete(json);

	/* The vocabulary's order matters. */
	json = reparsed(&enc);
	cJSON *v = cJSON_GetObjectItem(column_json(json, "city"), "vocabulary");
	cJSON_ReplaceItemInArray(v, 0, cJSON_CreateString("rome"));
	cJSON_ReplaceItemInArray(v, 1, cJSON_CreateString("paris"));
	ck_assert_int_eq(tp_encoding_from_json(&back, json, "enc.json", &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "fingerprint"));
	cJSON_Delete(json);

	/* So do the labels. */
	json = reparsed(&enc);
	cJSON_ReplaceItemInArray(cJSON_GetObjectItem(json, "labels"), 1,
	    cJSON_CreateString("BAD"));
	ck_assert_int_eq(tp_encoding_from_json(&back, json, "enc.json", &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "fingerprint"));
	cJSON_Delete(json);

	/* And a damaged fingerprint. */
	json = reparsed(&enc);
	char fp[65];
	memcpy(fp, enc.fingerprint, sizeof(fp));
	fp[63] = fp[63] == '0' ? '1' : '0';
	cJSON_ReplaceItemInObject(json, "fingerprint", cJSON_CreateString(fp));
	ck_assert_int_eq(tp_encoding_from_json(&back, json, "enc.json", &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "fingerprint"));
	cJSON_Delete(json);

	tp_encoding_free(&edited);
	tp_encoding_free(&enc);
}
END_TEST

/* Parses text as JSON and expects from_json to reject it with want. */
static void
expect_bad_json(const char *text, const char *want)
{
	cJSON *json = cJSON_Parse(text);
	tp_encoding back;
	tp_err e = {0};

	ck_assert_msg(json != NULL, "bad test JSON: %s", text);
	ck_assert_int_eq(tp_encoding_from_json(&back, json, "x.json", &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg, want);
	ck_assert_ptr_null(back.cols);
	cJSON_Delete(json);
}

START_TEST(test_bad_json)
{
	tp_encoding enc;
	cJSON *json;
	char *text;

	/* A vocabulary entry twice is rejected before the fingerprint. */
	make_encoding(&enc, 1);
	json = reparsed(&enc);
	cJSON_AddItemToArray(cJSON_GetObjectItem(column_json(json, "city"),
	    "vocabulary"), cJSON_CreateString("paris"));
	text = cJSON_PrintUnformatted(json);
	expect_bad_json(text,
	    "x.json: encoding: column city: \"paris\" is twice in the vocabulary");
	free(text);
	cJSON_Delete(json);
	tp_encoding_free(&enc);

	expect_bad_json("{\"format\":\"other\"}",
	    "x.json: encoding: not a tabpipe encoding (no \"format\": \"tabpipe-encoding\")");
	expect_bad_json("[1]",
	    "x.json: encoding: not a tabpipe encoding (no \"format\": \"tabpipe-encoding\")");
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":2}",
	    "x.json: encoding: unsupported version (expected 1)");
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":1,"
	    "\"labels\":[],\"columns\":[],\"fingerprint\":\"\"}",
	    "x.json: encoding: no columns");
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":1,"
	    "\"labels\":[],\"columns\":[{\"name\":\"x\",\"kind\":\"numeric\","
	    "\"mean\":0,\"std\":0}],\"fingerprint\":\"\"}",
	    "x.json: encoding: column x: a numeric column needs a finite \"mean\" and a \"std\" > 0");
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":1,"
	    "\"labels\":[],\"columns\":[{\"name\":\"x\",\"kind\":\"float\"}],"
	    "\"fingerprint\":\"\"}",
	    "x.json: encoding: column 1: needs a \"name\" and a \"kind\" (numeric, categorical, id, target or ignore)");
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":1,"
	    "\"labels\":[\"a\",\"b\"],\"columns\":[{\"name\":\"x\",\"kind\":\"target\"},"
	    "{\"name\":\"z\",\"kind\":\"target\"}],\"fingerprint\":\"\"}",
	    "x.json: encoding: more than one target column");
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":1,"
	    "\"labels\":[\"a\"],\"columns\":[{\"name\":\"x\",\"kind\":\"target\"}],"
	    "\"fingerprint\":\"\"}",
	    "x.json: encoding: a target needs two \"labels\", negative then positive");
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":1,"
	    "\"labels\":[],\"columns\":[{\"name\":\"c\",\"kind\":\"categorical\","
	    "\"vocabulary\":[\"a\",1]}],\"fingerprint\":\"\"}",
	    "x.json: encoding: column c: vocabulary entries must be strings of UTF-8 text");
	/* What ingest refuses, an encoding refuses too. */
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":1,"
	    "\"labels\":[],\"columns\":[{\"name\":\"c\",\"kind\":\"categorical\","
	    "\"vocabulary\":[\"a\",\"caf\xe9\"]}],\"fingerprint\":\"\"}",
	    "x.json: encoding: column c: vocabulary entries must be strings of UTF-8 text");
	expect_bad_json("{\"format\":\"tabpipe-encoding\",\"version\":1,"
	    "\"labels\":[],\"columns\":[{\"name\":\"\xff\",\"kind\":\"numeric\","
	    "\"mean\":0,\"std\":1}],\"fingerprint\":\"\"}",
	    "x.json: encoding: column 1: its name is not UTF-8 text");
}
END_TEST

static tp_field
fld(const char *s)
{
	return (tp_field){s, strlen(s), 0};
}

static tp_field
quoted(const char *s)
{
	return (tp_field){s, strlen(s), 1};
}

/* A one-row batch's row. */
typedef struct {
	int64_t id;
	int32_t cat[4];
	float num[4];
	int8_t label;
} rowbuf;

static tp_row
row_of(rowbuf *b)
{
	return (tp_row){&b->id, b->cat, b->num, &b->label};
}

START_TEST(test_encode)
{
	tp_encoding enc;
	tp_err e = {0};
	uint8_t unseen[1];
	rowbuf b;

	make_encoding(&enc, 1);
	{
		tp_field f[] = {fld("17"), fld("55"), fld("rome"), fld("bad"),
		    fld("anything, really"), fld("NA")};
		unseen[0] = 9;
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 3, row_of(&b),
		    unseen, &e), TP_OK);
		ck_assert_int_eq(b.id, 17);
		ck_assert_float_eq(b.num[0], 1.5f);
		ck_assert(isnan(b.num[1]));
		ck_assert_int_eq(b.cat[0], 2);
		ck_assert_int_eq(unseen[0], 0);
		ck_assert_int_eq(b.label, 1);
	}
	{
		tp_field f[] = {fld("-5"), fld(""), fld("london"), fld("good"),
		    fld(""), fld("1250.5")};
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 4, row_of(&b),
		    unseen, &e), TP_OK);
		ck_assert_int_eq(b.id, -5);
		ck_assert(isnan(b.num[0]));
		ck_assert_float_eq(b.num[1], 1.0f);
		ck_assert_int_eq(b.cat[0], 0);
		ck_assert_int_eq(unseen[0], 1);
		ck_assert_int_eq(b.label, 0);
	}
	{
		/* Missing category: 0 and not unseen; missing label: -1. */
		tp_field f[] = {fld("+8"), fld("0.5"), fld("NA"), fld("NA"),
		    fld(""), fld("-3e2")};
		unseen[0] = 1;
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 5, row_of(&b),
		    unseen, &e), TP_OK);
		ck_assert_int_eq(b.id, 8);
		ck_assert_float_eq(b.num[0], (float)((0.5 - 40) / 10));
		ck_assert_float_eq(b.num[1], (float)((-300 - 1000.5) / 250));
		ck_assert_int_eq(b.cat[0], 0);
		ck_assert_int_eq(unseen[0], 0);
		ck_assert_int_eq(b.label, -1);
	}
	{
		/* An empty city is missing too. */
		tp_field f[] = {fld("1"), fld("40"), fld(""), fld("good"),
		    fld(""), fld("1000.5")};
		unseen[0] = 1;
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 6, row_of(&b),
		    unseen, &e), TP_OK);
		ck_assert_int_eq(b.cat[0], 0);
		ck_assert_int_eq(unseen[0], 0);
		ck_assert_float_eq(b.num[0], 0.0f);
		ck_assert_float_eq(b.num[1], 0.0f);
		/* A quoted empty target is a present value, neither label. */
		f[3] = quoted("");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 6, row_of(&b),
		    unseen, &e), TP_EDATA);
	}
	{
		/* A quoted "NA" is a value, not in the vocabulary; a comma
		 * inside a value is fine; case counts. */
		tp_field f[] = {fld("1"), fld("40"), quoted("NA"), fld("bad"),
		    fld(""), fld("1")};
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 6, row_of(&b),
		    unseen, &e), TP_OK);
		ck_assert_int_eq(b.cat[0], 0);
		ck_assert_int_eq(unseen[0], 1);
		f[2] = quoted("new york, ny");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 6, row_of(&b),
		    NULL, &e), TP_OK);
		ck_assert_int_eq(b.cat[0], 3);
		f[2] = fld("Paris");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 6, row_of(&b),
		    unseen, &e), TP_OK);
		ck_assert_int_eq(b.cat[0], 0);
		ck_assert_int_eq(unseen[0], 1);
		f[2] = fld("paris");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 6, row_of(&b),
		    unseen, &e), TP_OK);
		ck_assert_int_eq(b.cat[0], 1);
		ck_assert_int_eq(unseen[0], 0);
	}
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_encode_errors)
{
	tp_encoding enc;
	tp_err e = {0};
	rowbuf b;

	make_encoding(&enc, 1);
	{
		tp_field f[] = {fld("1"), fld("12abc"), fld("rome"), fld("bad"),
		    fld(""), fld("1")};
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b),
		    NULL, &e), TP_EDATA);
		ck_assert_int_eq(e.code, TP_EDATA);
		ck_assert_str_eq(e.msg, "column 2 (age): \"12abc\" is not a number");
		f[1] = fld("1");
		f[5] = fld(" 7");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b),
		    NULL, &e), TP_EDATA);
		ck_assert_str_eq(e.msg, "column 6 (income): \" 7\" is not a number");
		f[5] = quoted("NA");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b),
		    NULL, &e), TP_EDATA);
		ck_assert_str_eq(e.msg, "column 6 (income): \"NA\" is not a number");
		f[5] = fld("1");
		f[3] = fld("ugly");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b),
		    NULL, &e), TP_EDATA);
		ck_assert_str_eq(e.msg,
		    "column 4 (y): \"ugly\" is neither label (\"good\", \"bad\")");
		f[3] = fld("bad");
		f[0] = fld("x1");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b),
		    NULL, &e), TP_EDATA);
		ck_assert_str_eq(e.msg,
		    "column 1 (id): id \"x1\" is not an integer");
		f[0] = fld("1.0");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b),
		    NULL, &e), TP_EDATA);
		f[0] = fld("-");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b),
		    NULL, &e), TP_EDATA);
		f[0] = fld("123456789012345678");
		ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b),
		    NULL, &e), TP_OK);
		ck_assert_int_eq(b.id, INT64_C(123456789012345678));
	}
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_no_id)
{
	tp_encoding enc;
	tp_err e = {0};
	rowbuf b;
	tp_field f[] = {fld("40"), fld("paris"), fld("good"), fld("x"),
	    fld("1000.5")};

	make_encoding(&enc, 0);
	ck_assert_int_eq(enc.id_col, -1);
	ck_assert_int_eq(tp_encoding_encode(&enc, f, 42, row_of(&b), NULL, &e),
	    TP_OK);
	ck_assert_int_eq(b.id, 42);
	ck_assert_int_eq(b.cat[0], 1);
	ck_assert_int_eq(b.label, 0);
	tp_encoding_free(&enc);
}
END_TEST

/* Encodes the record f of enc's six columns, which must be bad data with
 * the message want. */
static void
expect_bad(const tp_encoding *enc, const tp_field *f, const char *want)
{
	tp_err e = {0};
	rowbuf b;

	ck_assert_int_eq(tp_encoding_encode(enc, f, 1, row_of(&b), NULL, &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg, want);
}

/* A field whose text JSON and C strings cannot keep is a bad value, in
 * any column: a NUL byte, or bytes that are not UTF-8. */
START_TEST(test_encode_text)
{
	tp_encoding enc;
	tp_err e = {0};
	uint8_t unseen[2];
	rowbuf b;
	tp_field f[] = {fld("1"), fld("40"), fld("rome"), fld("bad"), fld(""),
	    fld("1")};

	make_encoding(&enc, 1);
	f[2] = (tp_field){"ro\0me", 5, 0};
	expect_bad(&enc, f,
	    "column 3 (city): the value holds a NUL byte (byte 3)");
	f[2] = quoted("r\xf4me");
	expect_bad(&enc, f,
	    "column 3 (city): the value is not UTF-8 (byte 2 is 0xf4)");
	/* UTF-8 that is not in the vocabulary is an unseen value. */
	f[2] = fld("r\xc3\xb4me");
	ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b), unseen, &e),
	    TP_OK);
	ck_assert_int_eq(b.cat[0], 0);
	ck_assert_int_eq(unseen[0], 1);
	f[2] = fld("rome");
	f[3] = fld("b\xe1" "d");
	expect_bad(&enc, f,
	    "column 4 (y): the value is not UTF-8 (byte 2 is 0xe1)");
	f[3] = fld("bad");
	f[4] = (tp_field){"x\0", 2, 0};
	expect_bad(&enc, f,
	    "column 5 (junk): the value holds a NUL byte (byte 2)");
	f[4] = fld("");
	/* In a number or an id, rather than "is not a number". */
	f[5] = (tp_field){"1\0", 2, 0};
	expect_bad(&enc, f,
	    "column 6 (income): the value holds a NUL byte (byte 2)");
	f[5] = fld("1");
	f[0] = fld("1\xff");
	expect_bad(&enc, f,
	    "column 1 (id): the value is not UTF-8 (byte 2 is 0xff)");
	tp_encoding_free(&enc);
}
END_TEST

/* A number whose standardised value a float32 cannot hold, or that would
 * not come back as a finite number, is a bad value. */
START_TEST(test_encode_range)
{
	tp_encoding enc;
	tp_err e = {0};
	rowbuf b;
	tp_field f[] = {fld("1"), fld("1e300"), fld("rome"), fld("bad"),
	    fld(""), fld("1")};

	make_encoding(&enc, 1);
	expect_bad(&enc, f,
	    "column 2 (age): \"1e300\" is out of the range the encoding can store (mean 40, std 10)");
	f[1] = fld("-3.5e39");
	expect_bad(&enc, f,
	    "column 2 (age): \"-3.5e39\" is out of the range the encoding can store (mean 40, std 10)");
	/* Just inside float32's range. */
	f[1] = fld("3.4e39");
	ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b), NULL, &e),
	    TP_OK);
	ck_assert_float_eq(b.num[0], (float)((3.4e39 - 40) / 10));
	/* x - mean beyond a double, (x - mean) / std within. */
	enc.cols[1].mean = -1.5e308;
	enc.cols[1].std = 1e308;
	f[1] = fld("1.5e308");
	ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b), NULL, &e),
	    TP_OK);
	ck_assert_float_eq(b.num[0], 3.0f);
	/* Its float, rounded up and decoded, would exceed a double: no tool
	 * could write it back. */
	enc.cols[1].mean = 0;
	enc.cols[1].std = 7e307;
	f[1] = fld("1.797693e308");
	ck_assert_int_eq(tp_encoding_encode(&enc, f, 1, row_of(&b), NULL, &e),
	    TP_OK);
	f[1] = fld("1.7976931e308");
	expect_bad(&enc, f,
	    "column 2 (age): \"1.7976931e308\" is out of the range the encoding can store (mean 0, std 7e+307)");
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_label)
{
	tp_encoding enc;
	tp_field f;

	make_encoding(&enc, 1);
	f = fld("bad");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), 1);
	f = fld("good");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), 0);
	f = quoted("good");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), 0);
	f = fld("NA");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), -1);
	f = fld("");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), -1);
	f = fld("goo");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), -2);
	f = fld("goods");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), -2);
	/* Only a positive label known. */
	free(enc.labels[0]);
	enc.labels[0] = NULL;
	f = fld("good");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), -2);
	f = fld("bad");
	ck_assert_int_eq(tp_encoding_label(&enc, &f), 1);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_header)
{
	tp_encoding enc;
	tp_err e = {0};
	tp_field ok[] = {fld("id"), fld("age"), fld("city"), fld("y"),
	    fld("junk"), fld("income")};
	tp_field wrong[] = {fld("id"), fld("age"), fld("town"), fld("y"),
	    fld("junk"), fld("income")};
	tp_field prefix[] = {fld("id"), fld("ag"), fld("city"), fld("y"),
	    fld("junk"), fld("income")};

	make_encoding(&enc, 1);
	ck_assert_int_eq(tp_encoding_check_header(&enc, ok, 6, "in.csv:1", &e),
	    TP_OK);
	ck_assert_int_eq(tp_encoding_check_header(&enc, ok, 5, "in.csv:1", &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg, "in.csv:1: the header has 5 columns, the encoding 6");
	ck_assert_int_eq(tp_encoding_check_header(&enc, wrong, 6, "in.csv:1",
	    &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "in.csv:1: column 3 is \"town\", the encoding expects \"city\"");
	ck_assert_int_eq(tp_encoding_check_header(&enc, prefix, 6, "in.csv:1",
	    &e), TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "in.csv:1: column 2 is \"ag\", the encoding expects \"age\"");
	tp_encoding_free(&enc);
}
END_TEST

/* A header that lacks exactly the target column is read with a view of
 * the encoding without it: unlabelled rows, the same fingerprint. */
START_TEST(test_view)
{
	tp_encoding enc, v;
	tp_err e = {0};
	rowbuf b;
	tp_field full[] = {fld("id"), fld("age"), fld("city"), fld("y"),
	    fld("junk"), fld("income")};
	tp_field lack[] = {fld("id"), fld("age"), fld("city"), fld("junk"),
	    fld("income")};
	tp_field other[] = {fld("id"), fld("age"), fld("y"), fld("junk"),
	    fld("income")};

	make_encoding(&enc, 1);
	ck_assert_int_eq(tp_encoding_view(&v, &enc, full, 6, "in.csv:1", &e),
	    TP_OK);
	ck_assert_int_eq(v.ncols, 6);
	ck_assert_int_eq(v.target_col, 3);
	tp_encoding_view_free(&v);

	ck_assert_int_eq(tp_encoding_view(&v, &enc, lack, 5, "in.csv:1", &e),
	    TP_OK);
	ck_assert_int_eq(v.ncols, 5);
	ck_assert_int_eq(v.target_col, -1);
	ck_assert_int_eq(v.id_col, 0);
	ck_assert_int_eq(v.ncat, 1);
	ck_assert_int_eq(v.nnum, 2);
	ck_assert_str_eq(v.fingerprint, enc.fingerprint);
	ck_assert_str_eq(v.cols[3].name, "junk");
	{
		tp_field f[] = {fld("17"), fld("55"), fld("rome"), fld("x"),
		    fld("1250.5")};
		ck_assert_int_eq(tp_encoding_encode(&v, f, 3, row_of(&b), NULL,
		    &e), TP_OK);
		ck_assert_int_eq(b.id, 17);
		ck_assert_int_eq(b.label, -1);
		ck_assert_float_eq(b.num[0], 1.5f);
		ck_assert_float_eq(b.num[1], 1.0f);
		ck_assert_int_eq(b.cat[0], 2);
	}
	tp_encoding_view_free(&v);
	tp_encoding_view_free(&v);
	/* The encoding is whole after its views are gone. */
	ck_assert_int_eq(enc.ncols, 6);
	ck_assert_str_eq(enc.cols[3].name, "y");
	ck_assert_uint_eq(enc.cols[2].vocab.n, 3);

	/* Another column missing: the header is compared with the view. */
	ck_assert_int_eq(tp_encoding_view(&v, &enc, other, 5, "in.csv:1", &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "in.csv:1: column 3 is \"y\", the encoding expects \"city\"");
	ck_assert_ptr_null(v.cols);
	ck_assert_int_eq(tp_encoding_view(&v, &enc, lack, 4, "in.csv:1", &e),
	    TP_EDATA);
	ck_assert_str_eq(e.msg,
	    "in.csv:1: the header has 4 columns, the encoding 6");

	/* An id after the target moves down with the columns. */
	tp_encoding_free(&enc);
	memset(&enc, 0, sizeof(enc));
	enc.id_col = enc.target_col = -1;
	enc.cols = calloc(3, sizeof(*enc.cols));
	ck_assert_ptr_nonnull(enc.cols);
	enc.ncols = 3;
	add_col(&enc, 0, "y", TP_KIND_TARGET);
	add_col(&enc, 1, "key", TP_KIND_ID);
	add_col(&enc, 2, "age", TP_KIND_NUMERIC);
	enc.cols[2].std = 1;
	enc.labels[1] = strdup("bad");
	ck_assert_int_eq(tp_encoding_fingerprint(&enc, &e), TP_OK);
	{
		tp_field h[] = {fld("key"), fld("age")};
		tp_field f[] = {fld("99"), fld("2")};
		ck_assert_int_eq(tp_encoding_view(&v, &enc, h, 2, "in.csv:1",
		    &e), TP_OK);
		ck_assert_int_eq(v.id_col, 0);
		ck_assert_int_eq(tp_encoding_encode(&v, f, 1, row_of(&b), NULL,
		    &e), TP_OK);
		ck_assert_int_eq(b.id, 99);
		ck_assert_float_eq(b.num[0], 2.0f);
		ck_assert_int_eq(b.label, -1);
		tp_encoding_view_free(&v);
	}
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_write_row)
{
	tp_encoding enc;
	tp_err e = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	rowbuf b;

	ck_assert_ptr_nonnull(f);
	make_encoding(&enc, 1);
	tp_encoding_write_header(&enc, f);
	{
		tp_field in[] = {fld("17"), fld("82.2"), quoted("new york, ny"),
		    fld("bad"), fld("zzz"), fld("NA")};
		ck_assert_int_eq(tp_encoding_encode(&enc, in, 1, row_of(&b),
		    NULL, &e), TP_OK);
		tp_encoding_write_row(&enc, f, row_of(&b));
	}
	{
		tp_field in[] = {fld("-3"), fld("NA"), fld("oslo"), fld("NA"),
		    fld(""), fld("0.1")};
		ck_assert_int_eq(tp_encoding_encode(&enc, in, 2, row_of(&b),
		    NULL, &e), TP_OK);
		tp_encoding_write_row(&enc, f, row_of(&b));
	}
	{
		tp_field in[] = {fld("0"), fld("40"), fld("paris"), fld("good"),
		    fld(""), fld("1e6")};
		ck_assert_int_eq(tp_encoding_encode(&enc, in, 3, row_of(&b),
		    NULL, &e), TP_OK);
		tp_encoding_write_row(&enc, f, row_of(&b));
	}
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_str_eq(text,
	    "id,age,city,y,income\n"
	    "17,82.2,\"new york, ny\",bad,NA\n"
	    "-3,NA,NA,NA,0.1\n"
	    "0,40,paris,good,1000000\n");
	free(text);
	tp_encoding_free(&enc);
}
END_TEST

/* Any float of a stream is written as text that says what it is:
 * infinities as such, huge numbers in full or with an exponent, never
 * cut short. */
START_TEST(test_write_extremes)
{
	static const struct {
		float z;
		double mean, std;
		const char *want;
	} cases[] = {
		{INFINITY, 40, 10, "inf"},
		{-INFINITY, 40, 10, "-inf"},
		{FLT_MAX, 0, 1e300, "inf"},
		/* Its 7 digits would read back as another float: all 17. */
		{-FLT_MAX, 40, 10, "-3.4028234663852886e+39"},
		{1, 1e70, 1e69, "1.1e+70"},
		{0.5f, -1e300, 1e300, "-5e+299"},
		{1, 1e16, 1e15, "11000000000000000"},
		{0, 0, 1, "0"},
		{-0.0f, 0, 1, "0"},
		{1e-30f, 0, 1e-300, "0"},
		/* A constant column of huge values: the float32 digits do not
		 * read back to z = 0, the double's do. */
		{0, 8.8022222222222217e48, 1, "8.8022222222222217e+48"},
	};
	tp_encoding enc;
	tp_err e = {0};
	rowbuf b;

	make_encoding(&enc, 1);
	double mean = enc.cols[5].mean, std = enc.cols[5].std;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tp_field in[] = {fld("1"), fld("40"), fld("paris"), fld("good"),
		    fld(""), fld("1")};
		char *text = NULL, want[128];
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		ck_assert_ptr_nonnull(f);
		enc.cols[5].mean = mean;
		enc.cols[5].std = std;
		ck_assert_int_eq(tp_encoding_encode(&enc, in, 1, row_of(&b),
		    NULL, &e), TP_OK);
		enc.cols[5].mean = cases[i].mean;
		enc.cols[5].std = cases[i].std;
		b.num[1] = cases[i].z;
		tp_encoding_write_row(&enc, f, row_of(&b));
		ck_assert_int_eq(fclose(f), 0);
		snprintf(want, sizeof(want), "1,40,paris,good,%s\n",
		    cases[i].want);
		ck_assert_str_eq(text, want);
		free(text);
	}
	tp_encoding_free(&enc);
}
END_TEST

/* A stream's value in the CSV's units, as a tool says it: the CSV's own
 * decimals, which the float32 vouches for, and never -0. */
START_TEST(test_decode)
{
	const tp_column c = {.kind = TP_KIND_NUMERIC, .mean = 7.9180925666199258,
	    .std = 8.1681501496120141};
	static const double values[] = {0, 67, 82.2, 1438.5, -3.25, 0.001};
	float z;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		ck_assert_int_eq(tp_encoding_standardise(&c, values[i], &z), 0);
		/* What z * std + mean gives is not the CSV's number... */
		if (values[i] == 0 || values[i] == 67)
			ck_assert_double_ne((double)z * c.std + c.mean, values[i]);
		ck_assert_double_eq(tp_encoding_decode(&c, z), values[i]);
	}
	ck_assert(!signbit(tp_encoding_decode(&c, -c.mean / c.std)));
}
END_TEST

START_TEST(test_kinds)
{
	static const char *const names[] = {"ignore", "numeric", "categorical",
	    "id", "target"};
	enum tp_kind k;

	for (int i = 0; i < 5; i++) {
		ck_assert_str_eq(tp_kind_name((enum tp_kind)i), names[i]);
		ck_assert_int_eq(tp_kind_parse(names[i], &k), 0);
		ck_assert_int_eq(k, i);
	}
	ck_assert_int_eq(tp_kind_parse("Numeric", &k), -1);
	ck_assert_int_eq(tp_kind_parse("", &k), -1);
}
END_TEST

/* A column of about a value a row is an identifier's or free text's; a
 * numeric column, or one of few categories, is not, however few rows. */
START_TEST(test_row_names)
{
	tp_column c = {.kind = TP_KIND_CATEGORICAL};
	char value[16];
	tp_err e;

	for (int i = 0; i < TP_ROW_NAMES_MIN - 1; i++) {
		int n = snprintf(value, sizeof(value), "v%d", i);
		ck_assert_int_ge(tp_strmap_add(&c.vocab, value, (size_t)n, &e), 0);
	}
	ck_assert(!tp_column_names_rows(&c, TP_ROW_NAMES_MIN - 1));
	ck_assert_int_ge(tp_strmap_add(&c.vocab, "last", 4, &e), 0);
	ck_assert(tp_column_names_rows(&c, TP_ROW_NAMES_MIN));
	ck_assert(tp_column_names_rows(&c, 2 * TP_ROW_NAMES_MIN - 1));
	ck_assert(!tp_column_names_rows(&c, 2 * TP_ROW_NAMES_MIN));
	c.kind = TP_KIND_NUMERIC;
	ck_assert(!tp_column_names_rows(&c, TP_ROW_NAMES_MIN));
	tp_strmap_free(&c.vocab);
}
END_TEST

Suite *
encoding_suite(void)
{
	Suite *s = suite_create("encoding");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, test_json_round_trip);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_edited);
	tcase_add_test(tc, test_bad_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("rows");
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_encode_errors);
	tcase_add_test(tc, test_encode_text);
	tcase_add_test(tc, test_encode_range);
	tcase_add_test(tc, test_no_id);
	tcase_add_test(tc, test_label);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_view);
	tcase_add_test(tc, test_write_row);
	tcase_add_test(tc, test_write_extremes);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_row_names);
	suite_add_tcase(s, tc);
	return s;
}
