/*
 * test_reasons: reason-code files (lib/model/reasons.h): texts by feature
 * and by categorical value, the value's winning over the feature's, the
 * JSON form back and forth, a model file that keeps them with its
 * reference profile, and every bad line refused with its place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "model/modelfile.h"
#include "model/reasons.h"
#include "suites.h"

/* The fixture's features: c0 (a, b, c) token 0, c1 (x, y) token 1, n0
 * token 2, n1 token 3. */
static const char good[] =
    "feature,value,reason\n"
    "n0,,Debt is high for the income\n"
    "c0,,\"Purpose of the loan, as stated\"\n"
    "c0,b,Loans for b default more often\n";

static int
read_text(tp_reasons *r, const tp_encoding *enc, const char *text, tp_err *e)
{
	FILE *f = fixture_text_file(text);
	int rc = tp_reasons_read(r, f, "r.csv", enc, e);

	fclose(f);
	return rc;
}

START_TEST(test_texts)
{
	tp_encoding enc;
	tp_reasons r, back;
	tp_err e = {0};

	fixture_model_encoding(&enc);
	ck_assert_msg(read_text(&r, &enc, good, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(r.lines, 3);
	ck_assert_str_eq(tp_reasons_text(&r, 2, 0), "Debt is high for the income");
	ck_assert_str_eq(tp_reasons_text(&r, 0, 1), "Purpose of the loan, as stated");
	ck_assert_str_eq(tp_reasons_text(&r, 0, 2), "Loans for b default more often");
	ck_assert_str_eq(tp_reasons_text(&r, 0, 0), "Purpose of the loan, as stated");
	ck_assert_ptr_null(tp_reasons_text(&r, 1, 1));
	ck_assert_ptr_null(tp_reasons_text(&r, 3, 0));
	ck_assert_ptr_null(tp_reasons_text(&r, 4, 0));
	ck_assert_ptr_null(tp_reasons_text(NULL, 0, 0));

	cJSON *j = tp_reasons_to_json(&r, &enc);
	char *text = cJSON_PrintUnformatted(j);
	/* In the encoding's column order, a feature's own text first. */
	ck_assert_str_eq(text,
	    "[{\"feature\":\"c0\",\"reason\":\"Purpose of the loan, as stated\"},"
	    "{\"feature\":\"c0\",\"value\":\"b\",\"reason\":\"Loans for b default more often\"},"
	    "{\"feature\":\"n0\",\"reason\":\"Debt is high for the income\"}]");
	ck_assert_msg(tp_reasons_from_json(&back, j, "m", &enc, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(back.lines, 3);
	ck_assert_str_eq(tp_reasons_text(&back, 0, 2), "Loans for b default more often");
	tp_reasons_free(&back);
	free(text);
	cJSON_Delete(j);
	j = cJSON_Parse("[{\"feature\":\"c1\",\"reason\":7}]");
	ck_assert_int_eq(tp_reasons_from_json(&back, j, "m.safetensors", &enc, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "m.safetensors: reason 1") != NULL, "%s", e.msg);
	cJSON_Delete(j);
	j = cJSON_Parse("{}");
	ck_assert_int_eq(tp_reasons_from_json(&back, j, "m", &enc, &e), TP_EDATA);
	cJSON_Delete(j);
	tp_reasons_free(&back);
	tp_reasons_free(&r);
	tp_encoding_free(&enc);
}
END_TEST

/* Each bad file, refused with the line and what is wrong. */
START_TEST(test_bad_lines)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"", "empty"},
		{"feature,reason\n", "r.csv:1: the header must be feature,value,reason"},
		{"feature,value,reason\nn0,,ok\nnope,,x\n", "r.csv:3: \"nope\" is not a feature of the model"},
		{"feature,value,reason\ny,,the target\n", "r.csv:2: \"y\" is not a feature"},
		{"feature,value,reason\nn0,3,x\n", "r.csv:2: n0 is numeric: its reason takes no value"},
		{"feature,value,reason\nc0,z,x\n", "r.csv:2: c0: \"z\" is not in its vocabulary"},
		{"feature,value,reason\nc0,a,x\nc0,a,y\n", "r.csv:3: c0 = a: given twice"},
		{"feature,value,reason\nn1,,x\nn1,,x\n", "r.csv:3: n1: given twice"},
		{"feature,value,reason\nn1,,\n", "r.csv:2: n1: the reason is empty"},
		{"feature,value,reason\nn1,,a,b\n", "r.csv:2: expected 3 fields"},
		{"feature,value,reason\nn1,,\xff\n", "r.csv:2: the reason is not UTF-8"},
	};
	tp_encoding enc;
	tp_reasons r;
	tp_err e = {0};

	fixture_model_encoding(&enc);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(read_text(&r, &enc, cases[i].text, &e), TP_EDATA);
		ck_assert_msg(strstr(e.msg, cases[i].want) != NULL,
		    "case %zu: \"%s\" lacks \"%s\"", i, e.msg, cases[i].want);
		ck_assert_ptr_null(r.feature);
	}
	char big[TP_REASON_MAX + 64];
	int n = snprintf(big, sizeof(big), "feature,value,reason\nn0,,");
	memset(big + n, 'x', TP_REASON_MAX + 1);
	strcpy(big + n + TP_REASON_MAX + 1, "\n");
	ck_assert_int_eq(read_text(&r, &enc, big, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "more than") != NULL, "%s", e.msg);
	ck_assert_int_eq(tp_reasons_load(&r, "/nonexistent/r.csv", &enc, &e), TP_ENOINPUT);
	ck_assert_msg(strstr(e.msg, "/nonexistent/r.csv") != NULL, "%s", e.msg);
	tp_encoding_free(&enc);
}
END_TEST

/* A model file keeps the reasons and the reference profile, which a load
 * gives only when asked (TP_WITH_EXPLAIN). */
START_TEST(test_model_file)
{
	char path[] = "/tmp/test_reasons_XXXXXX";
	int fd = mkstemp(path);
	tp_encoding enc, back_enc;
	tp_model m, back;
	tp_model_meta meta = {.parts = TP_WITH_HEAD, .threshold = 0.5}, got;
	tp_batch b;
	tp_err e = {0};
	const tp_config cfg = {.layers = 1, .d_model = 8, .heads = 2, .d_ff = 12,
	    .head_hidden = 6, .proj_dim = 4, .activation = TP_GELU};

	ck_assert_int_ge(fd, 0);
	close(fd);
	fixture_model_encoding(&enc);
	fixture_rows(&b, 40, 2);
	ck_assert_int_eq(tp_model_init(&m, &cfg, &enc, 3, 1, &e), TP_OK);
	ck_assert_int_eq(read_text(&meta.reasons, &enc, good, &e), TP_OK);
	ck_assert_int_eq(tp_reference_fit(&meta.reference, &enc, &b, &e), TP_OK);
	ck_assert_msg(tp_model_save(path, &m, &enc, &meta, &e) == TP_OK, "%s", e.msg);

	ck_assert_int_eq(tp_model_load(path, &back, &back_enc, &got, TP_WITH_HEAD, 1, &e), TP_OK);
	ck_assert_int_eq((int)got.reference.rows, 0);
	ck_assert_int_eq(got.reasons.lines, 0);
	tp_model_free(&back);
	tp_encoding_free(&back_enc);
	tp_model_meta_free(&got);
	ck_assert_msg(tp_model_load(path, &back, &back_enc, &got,
	    TP_WITH_HEAD | TP_WITH_EXPLAIN, 1, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq((int)got.reference.rows, 40);
	ck_assert(got.reference.share[1] == meta.reference.share[1]);
	ck_assert(got.reference.mean[0] == meta.reference.mean[0]);
	ck_assert_int_eq(got.reasons.lines, 3);
	ck_assert_str_eq(tp_reasons_text(&got.reasons, 0, 2), "Loans for b default more often");
	tp_model_free(&back);
	tp_encoding_free(&back_enc);
	tp_model_meta_free(&got);
	tp_model_meta_free(&got);

	tp_model_meta_free(&meta);
	tp_model_free(&m);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
	unlink(path);
}
END_TEST

Suite *
reasons_suite(void)
{
	Suite *s = suite_create("reasons");
	TCase *tc = tcase_create("reasons");

	tcase_add_test(tc, test_texts);
	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_model_file);
	suite_add_tcase(s, tc);
	return s;
}
