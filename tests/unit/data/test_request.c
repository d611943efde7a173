/*
 * test_request: requests of the serving mode made into rows: values, ids,
 * missing and unseen values, the request given back as compact JSON, and
 * every kind of malformed request with its exact message. Ids are exact
 * 64-bit integers, read from the request's text (a double holds 53 bits),
 * or strings given back as written. The serving contract (strict: every
 * feature a key, nothing else) with the code and member of each refusal,
 * the categories it saw unseen, and a body split into its applications.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/request.h"
#include "fixture.h"
#include "suites.h"

/* The fixture's encoding, and a batch of one row shaped as it. */
static void
setup(tp_encoding *enc, tp_batch *b)
{
	tp_err e = {0};

	fixture_fit(enc, 1);
	ck_assert_int_eq(tp_batch_init(b, enc->ncat, enc->nnum, 1, &e), TP_OK);
}

/* Parses s into b's row 0; returns the status, e and *features filled. */
static int
parse(const tp_encoding *enc, tp_batch *b, const char *s, char **features,
    tp_err *e)
{
	return tp_request_parse(enc, s, strlen(s), 99,
	    tp_batch_row(b, 0), features, e);
}

START_TEST(test_request_values)
{
	tp_encoding enc = {0};
	tp_batch b = {0};
	tp_err e = {0};
	char *features;

	setup(&enc, &b);
	const tp_column *age = &enc.cols[fixture_col(&enc, "age")];
	int home = enc.cols[fixture_col(&enc, "home")].slot;

	ck_assert_int_eq(parse(&enc, &b, "{\"home\": \"rent\", \"age\": 35, "
	    "\"id\": 7, \"status\": \"good\"}", &features, &e), TP_OK);
	ck_assert_int_eq(b.id[0], 7);
	ck_assert_int_eq(b.label[0], -1); /* the outcome is not used */
	ck_assert_int_eq(b.cat[home], fixture_category(&enc, "home", "rent"));
	ck_assert_int_ne(b.cat[home], 0);
	ck_assert_float_eq(b.num[age->slot],
	    (float)((35 - age->mean) / age->std));
	ck_assert_str_eq(features,
	    "{\"home\":\"rent\",\"age\":35,\"id\":7,\"status\":\"good\"}");
	free(features);

	/* A number as text, an id as text; a number for a category stands
	 * for its text. */
	ck_assert_int_eq(parse(&enc, &b, "{\"age\": \"35\", \"id\": \"-3\", "
	    "\"home\": 7}", NULL, &e), TP_OK);
	ck_assert_int_eq(b.id[0], -3);
	ck_assert_float_eq(b.num[age->slot],
	    (float)((35 - age->mean) / age->std));
	ck_assert_int_eq(b.cat[home], fixture_category(&enc, "home", "7"));
	ck_assert_int_ne(b.cat[home], 0);

	/* Missing and unseen values; no id: the record number. */
	ck_assert_int_eq(parse(&enc, &b, "{\"home\": \"castle\"}", NULL, &e),
	    TP_OK);
	ck_assert_int_eq(b.id[0], 99);
	ck_assert_int_eq(b.cat[home], 0);
	ck_assert(isnan(b.num[age->slot]));
	ck_assert_int_eq(parse(&enc, &b, " {\"home\": null, \"age\": null}\r",
	    NULL, &e), TP_OK);
	ck_assert_int_eq(b.cat[home], 0);
	ck_assert(isnan(b.num[age->slot]));

	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_request_errors)
{
	static const struct {
		const char *request, *msg;
	} cases[] = {
		{"{\"home\": ", "not JSON: byte 9"},
		{"", "not JSON: byte 1"},
		{"{} {}", "not JSON: byte 4: text after the object"},
		{"[1, 2]", "a request is one JSON object of feature values, found an array"},
		{"\"rent\"", "a request is one JSON object of feature values, found a string"},
		{"{\"salary\": 1}", "unknown column \"salary\""},
		{"{\"age\": \"old\"}", "column \"age\": \"old\" is not a number"},
		{"{\"age\": true}", "column \"age\": expected a number, found a boolean"},
		{"{\"age\": 1e999}", "column \"age\": inf is out of the range the encoding can store (mean 45, std 11.1803)"},
		{"{\"age\": 1e300}", "column \"age\": 1e+300 is out of the range the encoding can store (mean 45, std 11.1803)"},
		{"{\"age\": \"-1e300\"}", "column \"age\": -1e+300 is out of the range the encoding can store (mean 45, std 11.1803)"},
		{"{\"home\": {}}", "column \"home\": expected a string, found an object"},
		{"{\"home\": \"own\", \"home\": \"rent\"}", "column \"home\" is given twice"},
		{"{\"id\": 1.5}", "\"id\": 1.5 is not an integer"},
		{"{\"id\": 9223372036854775808}", "\"id\": 9223372036854775808 is out of range: an id is a 64-bit integer"},
		{"{\"id\": -9223372036854775809}", "\"id\": -9223372036854775809 is out of range: an id is a 64-bit integer"},
		{"{\"id\": 1e300}", "\"id\": 1e300 is out of range: an id is a 64-bit integer"},
		{"{\"id\": true}", "\"id\": an id is an integer or a string, found a boolean"},
		{"{\"id\": [7]}", "\"id\": an id is an integer or a string, found an array"},
		{"{\"id\": {}}", "\"id\": an id is an integer or a string, found an object"},
		{"{\"id\": \"a\tb\"}", "\"id\": a raw control character in a string is not JSON"},
		{"{\"id\": 1, \"id\": 2}", "the id is given twice"},
		{"null", "a request is one JSON object of feature values, found null"},
		{"true", "a request is one JSON object of feature values, found a boolean"},
		{"12", "a request is one JSON object of feature values, found a number"},
		{"{\"home\": \"x\xff\"}", "not UTF-8: byte 12"},
		{"{\"home\": \"\xc3\"}", "not UTF-8: byte 11"},
		{"{\"home\": \"\xed\xa0\x80\"}", "not UTF-8: byte 11"},
		{"{\"home\": \"\xc0\xaf\"}", "not UTF-8: byte 11"},
	};
	tp_encoding enc = {0};
	tp_batch b = {0};
	tp_err e = {0};
	char *features = (char *)"unset";

	setup(&enc, &b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		ck_assert_int_eq(parse(&enc, &b, cases[i].request, &features, &e),
		    TP_EDATA);
		ck_assert_str_eq(e.msg, cases[i].msg);
		ck_assert_ptr_null(features);
	}
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

/* Parses s into b's row 0 with the id's text for the answer; returns the
 * status, *features and *id filled. */
static int
parse_id(const tp_encoding *enc, tp_batch *b, const char *s, char **features,
    char **id, tp_err *e)
{
	return tp_request_parse_id(enc, s, strlen(s), 99,
	    tp_batch_row(b, 0), features, id, e);
}

START_TEST(test_request_ids)
{
	static const struct {
		const char *request;
		int64_t id;          /* the row's */
		const char *answer;  /* the id as the answer gives it; NULL: id */
		const char *logged;  /* the request as logged */
	} cases[] = {
		/* Past 2^53, where a double holds no odd number. */
		{"{\"id\": 9007199254740993}", INT64_C(9007199254740993), NULL,
		    "{\"id\":9007199254740993}"},
		{"{\"id\":1234567890123456789,\"home\":\"own\"}",
		    INT64_C(1234567890123456789), NULL,
		    "{\"id\":1234567890123456789,\"home\":\"own\"}"},
		{"{\"id\": 9223372036854775807}", INT64_MAX, NULL,
		    "{\"id\":9223372036854775807}"},
		{"{\"id\": -9223372036854775808}", INT64_MIN, NULL,
		    "{\"id\":-9223372036854775808}"},
		{"{\"id\": -0}", 0, NULL, "{\"id\":0}"},
		/* A number of a double's form that an integer is, as a
		 * request logged before ids were exact may hold. */
		{"{\"id\": 1e3}", 1000, NULL, "{\"id\":1000}"},
		{"{\"id\": 12.0}", 12, NULL, "{\"id\":12}"},
		/* The id after members whose text holds what ends a value, the
		 * key written with an escape, a byte order mark first. */
		{"\xef\xbb\xbf {\"home\" : \"a,}\\\"]\" ,\"status\":[1,{\"x\":\"}\"}],"
		    "\"\\u0069d\"\t:\r-4611686018427387905 }",
		    INT64_C(-4611686018427387905), NULL,
		    "{\"home\":\"a,}\\\"]\",\"status\":[1,{\"x\":\"}\"}],"
		    "\"id\":-4611686018427387905}"},
		/* Strings are given back as written; one that holds an
		 * integer is that integer in the log's row id, and another
		 * leaves the record's number there. */
		{"{\"id\": \"9007199254740993\"}", INT64_C(9007199254740993),
		    "\"9007199254740993\"", "{\"id\":\"9007199254740993\"}"},
		{"{\"id\": \"0042\"}", 42, "\"0042\"", "{\"id\":\"0042\"}"},
		{"{\"id\": \"req-7 \\u00e9\\\"\"}", 99, "\"req-7 \\u00e9\\\"\"",
		    "{\"id\":\"req-7 \xc3\xa9\\\"\"}"},
		{"{\"id\": \"\"}", 99, "\"\"", "{\"id\":\"\"}"},
		{"{\"id\": \"99999999999999999999\"}", 99,
		    "\"99999999999999999999\"", "{\"id\":\"99999999999999999999\"}"},
		/* null is no id, as for a feature: the record's number. */
		{"{\"id\": null, \"home\": \"own\"}", 99, NULL,
		    "{\"id\":null,\"home\":\"own\"}"},
	};
	tp_encoding enc = {0};
	tp_batch b = {0};
	tp_err e = {0};

	setup(&enc, &b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *features, *id;
		ck_assert_msg(parse_id(&enc, &b, cases[i].request, &features, &id,
		    &e) == TP_OK, "%s: %s", cases[i].request, e.msg);
		ck_assert_msg(b.id[0] == cases[i].id, "%s: %lld", cases[i].request,
		    (long long)b.id[0]);
		if (cases[i].answer == NULL)
			ck_assert_msg(id == NULL, "%s: %s", cases[i].request, id);
		else
			ck_assert_str_eq(id, cases[i].answer);
		ck_assert_str_eq(features, cases[i].logged);
		free(features);
		free(id);
	}

	/* tp_request_parse reads the same ids. */
	ck_assert_int_eq(parse(&enc, &b, "{\"id\": 9007199254740993}", NULL, &e),
	    TP_OK);
	ck_assert_int_eq(b.id[0], INT64_C(9007199254740993));

	/* The encoding's id column is the id too, exact. */
	ck_assert_int_eq(enc.id_col, fixture_col(&enc, "id"));
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

/* Parses s with info into b's row 0. */
static int
parse_info(const tp_encoding *enc, tp_batch *b, const char *s,
    tp_request_info *info, tp_err *e)
{
	char *features, *id;
	int rc = tp_request_parse_info(enc, s, strlen(s), 99,
	    tp_batch_row(b, 0), &features, &id, info, e);

	if (rc != TP_OK) {
		ck_assert_ptr_null(features);
		ck_assert_ptr_null(id);
	}
	free(features);
	free(id);
	return rc;
}

#define MISSING(column) "column \"" column "\" is missing: every feature " \
	"is given, null when its value is missing"
#define NUL_ESCAPE(byte) "byte " byte ": \\u0000 stands for a NUL, which " \
	"no name or value may hold"

START_TEST(test_request_contract_refusals)
{
	static const struct {
		int strict;
		const char *request, *code, *field, *msg;
	} cases[] = {
		{1, "{\"home\": \"rent\", \"age\": 1, \"salary\": 1}",
		    "unknown_field", "salary", "unknown column \"salary\""},
		{0, "{\"salary\": 1}", "unknown_field", "salary",
		    "unknown column \"salary\""},
		/* The first feature left out, in the columns' order. */
		{1, "{\"status\": \"bad\", \"id\": 3}", "missing_field", "home",
		    MISSING("home")},
		{1, "{\"home\": null}", "missing_field", "age", MISSING("age")},
		{1, "{\"home\": \"rent\", \"age\": [1]}", "wrong_type", "age",
		    "column \"age\": expected a number, found an array"},
		{1, "{\"home\": \"rent\", \"age\": {}}", "wrong_type", "age",
		    "column \"age\": expected a number, found an object"},
		{1, "{\"home\": false, \"age\": 1}", "wrong_type", "home",
		    "column \"home\": expected a string, found a boolean"},
		/* The field is the member's name as decoded, not as written. */
		{1, "{\"home\": \"rent\", \"\\u0061ge\": true}", "wrong_type", "age",
		    "column \"age\": expected a number, found a boolean"},
		{1, "{\"home\": \"rent\", \"age\": \"old\"}", "bad_value", "age",
		    "column \"age\": \"old\" is not a number"},
		{1, "{\"home\": \"rent\", \"age\": 1e300}", "bad_value", "age",
		    "column \"age\": 1e+300 is out of the range the encoding can "
		    "store (mean 45, std 11.1803)"},
		{1, "{\"home\": \"rent\", \"age\": 1, \"id\": 1.5}", "bad_value", "id",
		    "\"id\": 1.5 is not an integer"},
		{1, "{\"home\": \"rent\", \"age\": 1, \"id\": 1e300}", "bad_value",
		    "id", "\"id\": 1e300 is out of range: an id is a 64-bit integer"},
		{1, "{\"home\": \"rent\", \"age\": 1, \"id\": [1]}", "wrong_type", "id",
		    "\"id\": an id is an integer or a string, found an array"},
		{1, "{\"home\": \"rent\", \"age\": 1, \"id\": \"a\tb\"}", "bad_json",
		    "id", "\"id\": a raw control character in a string is not JSON"},
		/* A key given twice, whose value JSON leaves undefined. */
		{1, "{\"home\": \"own\", \"age\": 1, \"home\": \"rent\"}", "bad_json",
		    "home", "column \"home\" is given twice"},
		{1, "{\"id\": 1, \"home\": \"own\", \"age\": 1, \"id\": 2}", "bad_json",
		    "id", "the id is given twice"},
		/* A NUL escaped, which would end the name "age" early. */
		{1, "{\"home\": \"own\", \"age\\u0000x\": 1}", "bad_json", "",
		    NUL_ESCAPE("21")},
		{1, "{\"home\": \"own\\u0000\", \"age\": 1}", "bad_json", "",
		    NUL_ESCAPE("14")},
		{1, "{\"home\": ", "bad_json", "", "not JSON: byte 9"},
		{1, "", "bad_json", "", "not JSON: byte 1"},
		{1, "{} x", "bad_json", "", "not JSON: byte 4: text after the object"},
		{1, "[1] x", "bad_json", "", "not JSON: byte 5: text after the array"},
		{1, "{\"home\": \"x\xff\"}", "bad_json", "", "not UTF-8: byte 12"},
		{1, "[{}]", "wrong_type", "",
		    "a request is one JSON object of feature values, found an array"},
	};
	tp_encoding enc = {0};
	tp_batch b = {0};
	tp_err e = {0};

	setup(&enc, &b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tp_request_info info = {.strict = cases[i].strict};
		memset(&e, 0, sizeof(e));
		ck_assert_msg(parse_info(&enc, &b, cases[i].request, &info, &e) ==
		    TP_EDATA, "%s: accepted", cases[i].request);
		ck_assert_str_eq(e.msg, cases[i].msg);
		ck_assert_ptr_nonnull(info.code);
		ck_assert_str_eq(info.code, cases[i].code);
		ck_assert_str_eq(info.field, cases[i].field);
		ck_assert_int_eq(info.item, -1);
	}

	/* Not strict, a feature left out is missing and "age\u0000x" is age,
	 * as ever. */
	tp_request_info lax = {0};
	ck_assert_int_eq(parse_info(&enc, &b, "{\"age\\u0000x\": 50}", &lax, &e),
	    TP_OK);
	ck_assert_ptr_null(lax.code);
	ck_assert_float_eq(b.num[enc.cols[fixture_col(&enc, "age")].slot],
	    (float)((50 - 45) / enc.cols[fixture_col(&enc, "age")].std));

	/* A long name is cut to fit the field at a character's start: 200
	 * two-byte characters, of which 127 fit in 255 bytes. */
	char name[512], request[600];
	name[0] = '\0';
	for (int i = 0; i < 200; i++)
		strcat(name, "\xc3\xa9");
	snprintf(request, sizeof(request), "{\"%s\": 1}", name);
	tp_request_info info = {.strict = 1};
	ck_assert_int_eq(parse_info(&enc, &b, request, &info, &e), TP_EDATA);
	ck_assert_str_eq(info.code, "unknown_field");
	ck_assert_uint_eq(strlen(info.field), 254);
	ck_assert_int_eq(strncmp(info.field, name, 254), 0);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_request_contract_accepts)
{
	tp_encoding enc = {0};
	tp_batch b = {0};
	tp_err e = {0};
	unsigned char unseen[1] = {7};
	tp_request_info info = {.strict = 1, .unseen = unseen};

	setup(&enc, &b);
	ck_assert_int_eq(enc.ncat, 1);
	int home = enc.cols[fixture_col(&enc, "home")].slot;

	/* Every feature, null for missing; the target and the id may come
	 * too. */
	ck_assert_msg(parse_info(&enc, &b, "{\"home\": \"rent\", \"age\": null, "
	    "\"status\": \"bad\", \"id\": \"7\"}", &info, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_ptr_null(info.code);
	ck_assert_int_eq(info.nunseen, 0);
	ck_assert_int_eq(unseen[home], 0);
	ck_assert_int_eq(b.id[0], 7);
	ck_assert_int_ne(b.cat[home], 0);
	ck_assert(isnan(b.num[0]));

	/* A category not in the vocabulary, given as a string or a number,
	 * is unseen; null is missing, not unseen. */
	ck_assert_int_eq(parse_info(&enc, &b, "{\"home\": \"castle\", "
	    "\"age\": \"35\"}", &info, &e), TP_OK);
	ck_assert_int_eq(info.nunseen, 1);
	ck_assert_int_eq(unseen[home], 1);
	ck_assert_int_eq(b.cat[home], 0);
	ck_assert_int_eq(b.id[0], 99);
	ck_assert_int_eq(parse_info(&enc, &b, "{\"home\": 8, \"age\": 1}", &info,
	    &e), TP_OK);
	ck_assert_int_eq(info.nunseen, 1);
	ck_assert_int_eq(parse_info(&enc, &b, "{\"home\": 7, \"age\": 1}", &info,
	    &e), TP_OK);
	ck_assert_int_eq(info.nunseen, 0);
	ck_assert_int_eq(unseen[home], 0);
	ck_assert_int_eq(parse_info(&enc, &b, "{\"home\": null, \"age\": 1}",
	    &info, &e), TP_OK);
	ck_assert_int_eq(info.nunseen, 0);
	ck_assert_int_eq(unseen[home], 0);

	/* Without info, as tp_request_parse_id. */
	char *id;
	ck_assert_int_eq(tp_request_parse_info(&enc, "{\"id\": \"x\"}", 11, 5,
	    tp_batch_row(&b, 0), NULL, &id, NULL, &e), TP_OK);
	ck_assert_str_eq(id, "\"x\"");
	free(id);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

/* An encoding made by hand, with an ignored column and an id column not
 * named "id": loan_id,Class,note,amount,purpose. */
START_TEST(test_request_contract_columns)
{
	tp_column cols[] = {
		{.name = "loan_id", .kind = TP_KIND_ID, .slot = -1},
		{.name = "Class", .kind = TP_KIND_TARGET, .slot = -1},
		{.name = "note", .kind = TP_KIND_IGNORE, .slot = -1},
		{.name = "amount", .kind = TP_KIND_NUMERIC, .slot = 0, .mean = 0,
		    .std = 1},
		{.name = "purpose", .kind = TP_KIND_CATEGORICAL, .slot = 0},
	};
	tp_encoding enc = {.cols = cols, .ncols = 5, .ncat = 1, .nnum = 1,
	    .id_col = 0, .target_col = 1};
	tp_batch b = {0};
	tp_err e = {0};
	tp_request_info info = {.strict = 1};

	ck_assert_int_eq(tp_batch_init(&b, 1, 1, 1, &e), TP_OK);
	/* An ignored column and the target take any value, unused. */
	ck_assert_msg(parse_info(&enc, &b, "{\"loan_id\": 12, \"Class\": [1], "
	    "\"note\": {\"a\": true}, \"amount\": 2.5, \"purpose\": \"car\"}",
	    &info, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(b.id[0], 12);
	ck_assert_float_eq(b.num[0], 2.5f);
	ck_assert_int_eq(info.nunseen, 1); /* an empty vocabulary */
	/* "id" is the id as well as the id column, but not both. */
	ck_assert_int_eq(parse_info(&enc, &b, "{\"id\": 13, \"amount\": 1, "
	    "\"purpose\": null}", &info, &e), TP_OK);
	ck_assert_int_eq(b.id[0], 13);
	ck_assert_int_eq(parse_info(&enc, &b, "{\"id\": 13, \"amount\": 1, "
	    "\"purpose\": null, \"loan_id\": 14}", &info, &e), TP_EDATA);
	ck_assert_str_eq(info.code, "bad_json");
	ck_assert_str_eq(info.field, "loan_id");
	ck_assert_int_eq(parse_info(&enc, &b, "{\"amount\": 1, \"purpose\": "
	    "null, \"note\": 1, \"note\": 2}", &info, &e), TP_EDATA);
	ck_assert_str_eq(info.code, "bad_json");
	ck_assert_str_eq(info.field, "note");
	ck_assert_int_eq(parse_info(&enc, &b, "{\"amount\": 1}", &info, &e),
	    TP_EDATA);
	ck_assert_str_eq(info.code, "missing_field");
	ck_assert_str_eq(info.field, "purpose");
	tp_batch_free(&b);
}
END_TEST

/* Splits s with at most max applications; returns the status. */
static int
split(const char *s, size_t max, tp_request_span **spans, size_t *n,
    int *batch, tp_request_info *info, tp_err *e)
{
	return tp_request_split(s, strlen(s), max, spans, n, batch, info, e);
}

START_TEST(test_request_split_bodies)
{
	static const struct {
		const char *body;
		int batch;
		const char *items[4]; /* each application's text; NULL ends */
	} cases[] = {
		{" {\"home\": \"rent\"}\r\n", 0, {"{\"home\": \"rent\"}"}},
		{"{}", 0, {"{}"}},
		{"[{}]", 1, {"{}"}},
		{"\xef\xbb\xbf[ {\"id\":1} ,\n{\"id\":2}\t]\n", 1,
		    {"{\"id\":1}", "{\"id\":2}"}},
		/* Strings that hold what ends or opens a value, escaped quotes
		 * and backslashes, nested objects and arrays. */
		{"[{\"home\":\"a]},\\\"[{\\\\\"},{\"x\":[{\"y\":\"}\"}],\"z\":{}},{}]", 1,
		    {"{\"home\":\"a]},\\\"[{\\\\\"}", "{\"x\":[{\"y\":\"}\"}],\"z\":{}}",
		    "{}"}},
	};
	tp_request_span *spans;
	size_t n;
	int batch;
	tp_err e = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tp_request_info info = {0};
		const char *body = cases[i].body;
		ck_assert_msg(split(body, 3, &spans, &n, &batch, &info, &e) ==
		    TP_OK, "%s: %s", body, e.msg);
		ck_assert_int_eq(batch, cases[i].batch);
		ck_assert_ptr_null(info.code);
		size_t k;
		for (k = 0; cases[i].items[k] != NULL; k++) {
			ck_assert_uint_lt(k, n);
			ck_assert_msg(spans[k].len == strlen(cases[i].items[k]) &&
			    memcmp(body + spans[k].at, cases[i].items[k],
			    spans[k].len) == 0, "%s: item %zu is %.*s", body, k,
			    (int)spans[k].len, body + spans[k].at);
		}
		ck_assert_uint_eq(n, k);
		free(spans);
	}

	/* Each application read from its own bytes: ids past 2^53 exact. */
	tp_encoding enc = {0};
	tp_batch b = {0};
	const char *body = "[{\"id\": 9007199254740993, \"home\": \"rent\", "
	    "\"age\": 1}, {\"age\": null, \"home\": null, \"id\": -9007199254740995}]";
	setup(&enc, &b);
	ck_assert_int_eq(split(body, 2, &spans, &n, &batch, NULL, &e), TP_OK);
	ck_assert_uint_eq(n, 2);
	int64_t want[] = {INT64_C(9007199254740993), INT64_C(-9007199254740995)};
	for (size_t k = 0; k < n; k++) {
		tp_request_info info = {.strict = 1};
		char *id;
		ck_assert_int_eq(tp_request_parse_info(&enc, body + spans[k].at,
		    spans[k].len, 1, tp_batch_row(&b, 0), NULL, &id, &info, &e),
		    TP_OK);
		ck_assert(b.id[0] == want[k]);
		ck_assert_int_eq(info.has_id, 1);
		ck_assert_ptr_null(id);
	}
	free(spans);
	/* An id of null, or none: the record's number, and no id given. */
	static const char *const none[] = {"{\"id\": null, \"home\": null, "
	    "\"age\": null}", "{\"home\": null, \"age\": null}"};
	for (size_t k = 0; k < 2; k++) {
		tp_request_info info = {.strict = 1, .has_id = 1};
		char *id;
		ck_assert_int_eq(tp_request_parse_info(&enc, none[k],
		    strlen(none[k]), 7, tp_batch_row(&b, 0), NULL, &id, &info, &e),
		    TP_OK);
		ck_assert(b.id[0] == 7);
		ck_assert_int_eq(info.has_id, 0);
	}
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_request_split_refusals)
{
	static const struct {
		const char *body;
		size_t len;      /* 0: strlen */
		const char *code;
		long item;
		const char *msg;
	} cases[] = {
		{"", 0, "bad_json", -1, "not JSON: byte 1"},
		{" \n", 0, "bad_json", -1, "not JSON: byte 2"},
		{"[", 0, "bad_json", -1, "not JSON: byte 1"},
		{"[{},]", 0, "bad_json", -1, "not JSON: byte 5"},
		{"[{}] [{}]", 0, "bad_json", -1,
		    "not JSON: byte 6: text after the array"},
		{"{}}", 0, "bad_json", -1, "not JSON: byte 3: text after the object"},
		{"[{\"a\": \"\xc3\"}]", 0, "bad_json", -1, "not UTF-8: byte 9"},
		{"[{}]\0", 5, "bad_json", -1, "not JSON: byte 5: a NUL byte"},
		{"[]", 0, "empty_batch", -1,
		    "a batch holds one application or more, not none"},
		{" [ ] ", 0, "empty_batch", -1,
		    "a batch holds one application or more, not none"},
		{"[{}, {}, {}, {}]", 0, "too_large", -1,
		    "a batch of 4 applications: at most 3 are taken"},
		/* Too many is said before what the elements are. */
		{"[1, 2, 3, 4]", 0, "too_large", -1,
		    "a batch of 4 applications: at most 3 are taken"},
		{"[{}, [{}]]", 0, "wrong_type", 1, "item 1: an application is a "
		    "JSON object of feature values, found an array"},
		{"[null]", 0, "wrong_type", 0, "item 0: an application is a "
		    "JSON object of feature values, found null"},
		{"[{}, {}, \"{}\"]", 0, "wrong_type", 2, "item 2: an application "
		    "is a JSON object of feature values, found a string"},
		{"12", 0, "wrong_type", -1, "a request is one JSON object of "
		    "feature values or an array of them, found a number"},
		{"true", 0, "wrong_type", -1, "a request is one JSON object of "
		    "feature values or an array of them, found a boolean"},
	};
	tp_request_span *spans = (tp_request_span *)"unset";
	size_t n = 9;
	int batch = 9;
	tp_err e = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tp_request_info info = {0};
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);
		ck_assert_msg(tp_request_split(cases[i].body, len, 3, &spans, &n,
		    &batch, &info, &e) == TP_EDATA, "%s: accepted", cases[i].body);
		ck_assert_str_eq(e.msg, cases[i].msg);
		ck_assert_str_eq(info.code, cases[i].code);
		ck_assert_str_eq(info.field, "");
		ck_assert_int_eq(info.item, cases[i].item);
		ck_assert_ptr_null(spans);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(batch, 0);
	}

	/* Nesting deeper than cJSON's bound is refused, not recursed into. */
	enum { DEEP = 100000 };
	char *deep = malloc(2 * DEEP + 1);
	ck_assert_ptr_nonnull(deep);
	memset(deep, '[', DEEP);
	memset(deep + DEEP, ']', DEEP);
	tp_request_info info = {0};
	ck_assert_int_eq(tp_request_split(deep, 2 * DEEP, 3, &spans, &n, &batch,
	    &info, &e), TP_EDATA);
	ck_assert_str_eq(info.code, "bad_json");
	free(deep);
}
END_TEST

Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("request");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_values);
	tcase_add_test(tc, test_request_errors);
	tcase_add_test(tc, test_request_ids);
	tcase_add_test(tc, test_request_contract_refusals);
	tcase_add_test(tc, test_request_contract_accepts);
	tcase_add_test(tc, test_request_contract_columns);
	tcase_add_test(tc, test_request_split_bodies);
	tcase_add_test(tc, test_request_split_refusals);
	suite_add_tcase(s, tc);
	return s;
}
