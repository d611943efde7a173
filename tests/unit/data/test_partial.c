/*
 * test_partial: a partial's envelope written and read back; the partials
 * of other kinds, encodings and models refused, naming both; another
 * format, version or kind, and a file that is no partial, refused; the
 * fingerprint of one part and of several; rows hashed block by block give
 * the batch's fingerprint; partials in files folded into one, and a fold
 * of partials that do not merge refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sha256.h"
#include "data/partial.h"
#include "suites.h"

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ENC "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MODEL "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* text written to a new file, whose name goes into path. */
static void
write_text(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_round_trip)
{
	tp_partial p, q;
	tp_err e = {0};
	char path[] = "/tmp/tp_partialXXXXXX", fp[65], *text;
	cJSON *j, *doc;

	ck_assert_int_eq(tp_partial_init(&p, "evaluate", ENC, MODEL, 12, FP_A,
	    "a.tps, shard 1/2", &e), TP_OK);
	tp_partial_fingerprint(&p, fp);
	ck_assert_str_eq(fp, FP_A);
	j = tp_partial_json(&p);
	ck_assert_ptr_nonnull(j);
	cJSON_AddObjectToObject(j, "evaluate");
	text = cJSON_Print(j);
	write_text(path, text);
	ck_assert_msg(tp_partial_read(path, "evaluate", &q, &doc, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_str_eq(q.kind, "evaluate");
	ck_assert_str_eq(q.encoding, ENC);
	ck_assert_str_eq(q.model, MODEL);
	ck_assert_uint_eq(q.rows, 12);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(doc, "evaluate"));
	/* Two parts: the fingerprint of both fingerprints, in order. */
	tp_partial r;
	ck_assert_int_eq(tp_partial_init(&r, "evaluate", ENC, MODEL, 5, FP_B,
	    "a.tps, shard 2/2", &e), TP_OK);
	ck_assert_int_eq(tp_partial_merge(&q, &r, "b", "a", &e), TP_OK);
	ck_assert_uint_eq(q.rows, 17);
	ck_assert_int_eq(cJSON_GetArraySize(q.parts), 2);
	tp_partial_fingerprint(&q, fp);
	char want[65];
	tp_sha256_hex_of(FP_A FP_B, 128, want);
	ck_assert_str_eq(fp, want);
	/* Read as a partial of another kind. */
	tp_partial_free(&q);
	cJSON_Delete(doc);
	ck_assert_int_eq(tp_partial_read(path, "profile", &q, &doc, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "a partial of evaluate, not of profile") != NULL,
	    "%s", e.msg);
	ck_assert_ptr_null(doc);
	unlink(path);
	free(text);
	cJSON_Delete(j);
	tp_partial_free(&r);
	tp_partial_free(&p);
	tp_partial_free(&p);
}
END_TEST

START_TEST(test_refused)
{
	tp_partial a, b;
	tp_err e = {0};

	ck_assert_int_eq(tp_partial_init(&a, "profile", ENC, NULL, 1, FP_A, "a", &e), TP_OK);
	ck_assert_int_eq(tp_partial_init(&b, "profile", FP_B, NULL, 1, FP_B, "b", &e), TP_OK);
	ck_assert_int_eq(tp_partial_merge(&a, &b, "b.part", "a.part", &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "b.part: of data encoded with bbbbbbbbbbbb..., "
	    "a.part with 012345678") != NULL, "%s", e.msg);
	tp_partial_free(&b);
	ck_assert_int_eq(tp_partial_init(&b, "profile", ENC, MODEL, 1, FP_B, "b", &e), TP_OK);
	ck_assert_int_eq(tp_partial_merge(&a, &b, "b.part", "a.part", &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "b.part: of the scores of model fedcba987654..., "
	    "a.part of no model") != NULL, "%s", e.msg);
	tp_partial_free(&b);
	ck_assert_int_eq(tp_partial_init(&b, "evaluate", ENC, NULL, 1, FP_B, "b", &e), TP_OK);
	ck_assert_int_eq(tp_partial_merge(&a, &b, "b.part", "a.part", &e), TP_EDATA);
	ck_assert_uint_eq(a.rows, 1);
	ck_assert_int_eq(cJSON_GetArraySize(a.parts), 1);
	tp_partial_free(&b);
	tp_partial_free(&a);
}
END_TEST

/* Documents that are not partials of this tabpipe. */
START_TEST(test_not_partials)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{"TPSTREAM", "not a partial: no JSON object"},
		{"[1]", "not a partial: no JSON object"},
		{"{\"format\": \"other\"}", "its format is not"},
		{"{\"format\": \"tabpipe-partial\", \"version\": 2}", "version 2"},
		{"{\"format\": \"tabpipe-partial\", \"version\": 1, \"kind\": \"evaluate\", "
		    "\"encoding\": \"x\"}", "encoding is not a fingerprint"},
		{"{\"format\": \"tabpipe-partial\", \"version\": 1, \"kind\": \"evaluate\", "
		    "\"encoding\": \"" ENC "\", \"model\": null, \"rows\": 1, \"parts\": []}",
		    "no parts"},
		{"{\"format\": \"tabpipe-partial\", \"version\": 1, \"kind\": \"evaluate\", "
		    "\"encoding\": \"" ENC "\", \"model\": null, \"rows\": -1, \"parts\": []}",
		    "\"rows\" is not a count"},
		{"{\"format\": \"tabpipe-partial\", \"version\": 1, \"kind\": \"evaluate\", "
		    "\"encoding\": \"" ENC "\", \"model\": null, \"rows\": 1, "
		    "\"parts\": [{\"rows\": 1}]}", "without its fingerprint"},
	};
	tp_partial p;
	tp_err e = {0};
	cJSON *doc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[] = "/tmp/tp_partialXXXXXX";
		write_text(path, bad[i].text);
		ck_assert_int_eq(tp_partial_read(path, "evaluate", &p, &doc, &e), TP_EDATA);
		ck_assert_msg(strstr(e.msg, bad[i].says) != NULL, "%zu: %s", i, e.msg);
		unlink(path);
	}
	ck_assert_int_eq(tp_partial_read("/nonexistent/p", "evaluate", &p, &doc, &e),
	    TP_ENOINPUT);
}
END_TEST

START_TEST(test_hash_rows)
{
	tp_batch b;
	tp_sha256 s;
	tp_err e = {0};
	unsigned char d[32];
	char want[65], got[65];

	ck_assert_int_eq(tp_batch_init(&b, 2, 1, 10, &e), TP_OK);
	for (int i = 0; i < 10; i++) {
		b.id[i] = i + 1;
		b.cat[2 * i] = i;
		b.cat[2 * i + 1] = 2 * i;
		b.num[i] = (float)i / 3;
		b.label[i] = (int8_t)(i % 3 - 1);
	}
	b.n = 10;
	tp_batch_fingerprint(&b, want);
	tp_sha256_init(&s);
	b.n = 4;
	tp_partial_hash_rows(&s, &b, 0);
	b.n = 10;
	tp_partial_hash_rows(&s, &b, 4);
	tp_sha256_final(&s, d);
	tp_sha256_hex(d, got);
	ck_assert_str_eq(got, want);
	tp_batch_free(&b);
}
END_TEST

/* A fold's callback: adds each member's n, the first one's alone. */
static int
add_n(void *ctx, const cJSON *member, int first, const char *path, tp_err *e)
{
	int *sum = ctx;

	*sum = (first ? 0 : *sum) + cJSON_GetObjectItem(member, "n")->valueint;
	return TP_OK;
}

/* A partial of kind evaluate, of model (may be NULL), with n, into a new
 * file whose name goes into path. */
static void
write_partial(char *path, const char *model, int n, const char *fp)
{
	tp_partial p;
	tp_err e = {0};
	cJSON *j;
	char *text;

	ck_assert_int_eq(tp_partial_init(&p, "evaluate", ENC, model, 10, fp, "x", &e), TP_OK);
	j = tp_partial_json(&p);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(j, "evaluate"), "n", n);
	text = cJSON_Print(j);
	write_text(path, text);
	free(text);
	cJSON_Delete(j);
	tp_partial_free(&p);
}

START_TEST(test_fold)
{
	char a[] = "/tmp/tp_partialXXXXXX", b[] = "/tmp/tp_partialXXXXXX";
	char c[] = "/tmp/tp_partialXXXXXX", fp[65], want[65];
	char *ab[] = {a, b}, *ac[] = {a, c};
	tp_partial env;
	tp_err e = {0};
	int sum = -1;

	write_partial(a, MODEL, 3, FP_A);
	write_partial(b, MODEL, 4, FP_B);
	write_partial(c, NULL, 5, FP_B);
	ck_assert_int_eq(tp_partial_fold(ab, 2, "evaluate", &env, add_n, &sum, &e), TP_OK);
	ck_assert_int_eq(sum, 7);
	ck_assert_uint_eq(env.rows, 20);
	tp_partial_fingerprint(&env, fp);
	tp_sha256_hex_of(FP_A FP_B, 128, want);
	ck_assert_str_eq(fp, want);
	tp_partial_free(&env);
	ck_assert_int_eq(tp_partial_fold(ac, 2, "evaluate", &env, add_n, &sum, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, c) != NULL && strstr(e.msg, a) != NULL &&
	    strstr(e.msg, "of no model") != NULL, "%s", e.msg);
	tp_partial_free(&env);
	ck_assert_int_eq(tp_partial_fold(ab, 2, "profile", &env, add_n, &sum, &e), TP_EDATA);
	tp_partial_free(&env);
	unlink(a);
	unlink(b);
	unlink(c);
}
END_TEST

Suite *
partial_suite(void)
{
	Suite *s = suite_create("partial");
	TCase *tc = tcase_create("partial");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_not_partials);
	tcase_add_test(tc, test_hash_rows);
	tcase_add_test(tc, test_fold);
	suite_add_tcase(s, tc);
	return s;
}
