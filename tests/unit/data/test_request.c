/*
 * test_request: requests of the serving mode made into rows: values, ids,
 * missing and unseen values, the request given back as compact JSON, and
 * every kind of malformed request with its exact message. Ids are exact
 * 64-bit integers, read from the request's text (a double holds 53 bits),
 * or strings given back as written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/request.h"
#include "fixture.h"
#include "suites.h"

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

	fixture_fit(&enc, 1);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
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

	fixture_fit(&enc, 1);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
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

	fixture_fit(&enc, 1);
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
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

Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("request");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_values);
	tcase_add_test(tc, test_request_errors);
	tcase_add_test(tc, test_request_ids);
	suite_add_tcase(s, tc);
	return s;
}
