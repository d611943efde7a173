/*
 * test_request: requests of the serving mode made into rows: values, ids,
 * missing and unseen values, the request given back as compact JSON, and
 * every kind of malformed request with its exact message.
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
		{"{\"age\": 1e999}", "column \"age\": the number is out of range"},
		{"{\"home\": {}}", "column \"home\": expected a string, found an object"},
		{"{\"home\": \"own\", \"home\": \"rent\"}", "column \"home\" is given twice"},
		{"{\"id\": 1.5}", "\"id\": an id is an integer"},
		{"{\"id\": \"x1\"}", "\"id\": an id is an integer"},
		{"{\"id\": 1, \"id\": 2}", "the id is given twice"},
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

Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("request");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_values);
	tcase_add_test(tc, test_request_errors);
	suite_add_tcase(s, tc);
	return s;
}
