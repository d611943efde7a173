/*
 * test_why: the reasons written with predictions (lib/serve/why.h): as
 * CSV columns and JSON members, only features that raise the score, the
 * largest first, each with the row's value in the CSV's units and its
 * text (or its column's name); the gap; a model without a reference
 * profile refused; k out of range refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "serve/why.h"
#include "suites.h"

static const tp_config small = {
	.layers = 1, .d_model = 8, .heads = 2, .d_ff = 12, .head_hidden = 6,
	.proj_dim = 4, .activation = TP_GELU,
};

typedef struct {
	tp_encoding enc;
	tp_model m;
	tp_model_meta meta;
	tp_batch rows;
} model;

static void
model_open(model *x)
{
	tp_err e = {0};
	FILE *f = fixture_text_file("feature,value,reason\n"
	    "n0,,\"The \"\"first\"\" number, quoted\"\nc0,b,Category b\n");

	memset(x, 0, sizeof(*x));
	fixture_model_encoding(&x->enc);
	/* Numbers of a unit other than 1: the values come back decoded. */
	x->enc.cols[1].mean = 100;
	x->enc.cols[1].std = 10;
	fixture_rows(&x->rows, 30, 4);
	ck_assert_int_eq(tp_model_init(&x->m, &small, &x->enc, 5, 1, &e), TP_OK);
	ck_assert_int_eq(tp_reference_fit(&x->meta.reference, &x->enc, &x->rows, &e), TP_OK);
	ck_assert_int_eq(tp_reasons_read(&x->meta.reasons, f, "r.csv", &x->enc, &e), TP_OK);
	fclose(f);
}

static void
model_close(model *x)
{
	tp_model_meta_free(&x->meta);
	tp_model_free(&x->m);
	tp_batch_free(&x->rows);
	tp_encoding_free(&x->enc);
}

START_TEST(test_json_and_csv)
{
	model x;
	tp_why w;
	tp_why_opts o = {.k = 3, .steps = 16};
	tp_err e = {0};
	int rows_with_fewer = 0;

	model_open(&x);
	ck_assert_msg(tp_why_open(&w, &x.m, &x.meta, &x.enc, &o, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(tp_why_rows(&w, &x.rows, &e), TP_OK);
	ck_assert_int_eq((int)w.rows, 30);
	for (size_t i = 0; i < x.rows.n; i++) {
		FILE *f = tmpfile();
		fputc('{', f);
		fputs("\"id\":1", f);
		tp_why_json(f, &w, i);
		fputc('}', f);
		char *s = fixture_written(f);
		cJSON *j = cJSON_Parse(s);
		ck_assert_msg(j != NULL, "not JSON: %s", s);
		const cJSON *reasons = cJSON_GetObjectItem(j, "reasons"), *r;
		ck_assert(cJSON_IsArray(reasons));
		int n = cJSON_GetArraySize(reasons);
		ck_assert_int_le(n, 3);
		rows_with_fewer += n < 3;
		double last = INFINITY, sum = 0;
		cJSON_ArrayForEach(r, reasons) {
			const char *feature = cJSON_GetObjectItem(r, "feature")->valuestring;
			double c = cJSON_GetObjectItem(r, "contribution")->valuedouble;
			const cJSON *v = cJSON_GetObjectItem(r, "value");
			const char *text = cJSON_GetObjectItem(r, "reason")->valuestring;
			ck_assert_msg(c > 0 && c <= last, "row %zu: %s %g after %g", i, feature, c, last);
			last = c;
			if (strcmp(feature, "n0") == 0) {
				ck_assert_double_eq_tol(v->valuedouble,
				    x.rows.num[2 * i] * 10.0 + 100, 1e-4);
				ck_assert_str_eq(text, "The \"first\" number, quoted");
			} else if (strcmp(feature, "c0") == 0) {
				int32_t idx = x.rows.cat[2 * i];
				if (idx == 0)
					ck_assert(cJSON_IsNull(v));
				else
					ck_assert_str_eq(v->valuestring, x.enc.cols[0].vocab.keys[idx - 1]);
				ck_assert_str_eq(text, idx == 2 ? "Category b" : "c0");
			} else if (strcmp(feature, "n1") == 0 && isnan(x.rows.num[2 * i + 1])) {
				ck_assert(cJSON_IsNull(v));
				ck_assert_str_eq(text, "n1");
			} else {
				ck_assert_str_eq(text, feature);
			}
		}
		/* The gap is the change of log-odds less all contributions. */
		for (int t = 0; t < 4; t++)
			sum += w.attr[i * 4 + t];
		ck_assert_double_eq_tol(cJSON_GetObjectItem(j, "gap")->valuedouble,
		    w.logodds[i] - w.x.base_logodds - sum, 1e-3);
		cJSON_Delete(j);
		free(s);

		/* CSV: 4 columns a reason, empty past the last. */
		f = tmpfile();
		tp_why_csv(f, &w, i);
		s = fixture_written(f);
		int commas = 0;
		for (const char *p = s; *p; p++)
			commas += *p == ',' && (p == s || p[-1] != ' ');
		ck_assert_msg(commas >= 12, "%s", s);
		if (n < 3)
			ck_assert_msg(strstr(s, ",,,,") != NULL, "%s", s);
		free(s);
	}
	/* Two features of four raise most rows' scores, not three. */
	ck_assert_int_gt(rows_with_fewer, 0);
	FILE *f = tmpfile();
	tp_why_csv_header(f, 2);
	char *s = fixture_written(f);
	ck_assert_str_eq(s, ",feature_1,value_1,contribution_1,reason_1,feature_2,value_2,contribution_2,reason_2");
	free(s);
	tp_why_free(&w);
	tp_why_free(&w);
	model_close(&x);
}
END_TEST

START_TEST(test_refused)
{
	model x;
	tp_why w;
	tp_why_opts o = {.k = 0, .steps = 8};
	tp_err e = {0};

	model_open(&x);
	ck_assert_int_eq(tp_why_open(&w, &x.m, &x.meta, &x.enc, &o, &e), TP_EUSAGE);
	o.k = TP_WHY_MAX_K + 1;
	ck_assert_int_eq(tp_why_open(&w, &x.m, &x.meta, &x.enc, &o, &e), TP_EUSAGE);
	o.k = 2;
	o.reasons = "/nonexistent/reasons.csv";
	ck_assert_int_eq(tp_why_open(&w, &x.m, &x.meta, &x.enc, &o, &e), TP_ENOINPUT);
	o.reasons = NULL;
	tp_reference_free(&x.meta.reference);
	ck_assert_int_eq(tp_why_open(&w, &x.m, &x.meta, &x.enc, &o, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "no reference profile") != NULL, "%s", e.msg);
	model_close(&x);
}
END_TEST

Suite *
why_suite(void)
{
	Suite *s = suite_create("why");
	TCase *tc = tcase_create("why");

	tcase_add_test(tc, test_json_and_csv);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return s;
}
