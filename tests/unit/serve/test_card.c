/*
 * test_card: a model file's card: its name from the file, every feature
 * with its kind and categories (and no target, id or ignored column), the
 * threshold and the training data's fingerprint, nulls for what only the
 * registry knows; the answers' model object.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "serve/card.h"
#include "suites.h"

START_TEST(test_card_file)
{
	char path[] = "/tmp/tabpipe-card-XXXXXX.safetensors";
	int fd = mkstemps(path, 12);
	tp_encoding enc = {0};
	tp_predictor p;
	tp_card c;
	tp_err e = {0};

	ck_assert_int_ne(fd, -1);
	close(fd);
	fixture_fit(&enc, 1);
	fixture_save_model(&enc, 1, 0.25, path);
	ck_assert_msg(tp_predictor_open(&p, NULL, path, 1, NULL, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_msg(tp_card_make(&c, &p, NULL, &e) == TP_OK, "%s", e.msg);
	/* The file's name, without its folder and suffix. */
	const char *base = strrchr(path, '/') + 1;
	char name[64], want[256];
	snprintf(name, sizeof(name), "%.*s", (int)(strlen(base) - 12), base);
	ck_assert_str_eq(c.name, name);
	snprintf(want, sizeof(want), "{\"name\":\"%s\",\"version\":null,"
	    "\"sha256\":\"%s\"}", name, p.vm.meta.sha256);
	ck_assert_str_eq(c.model, want);

	cJSON *j = cJSON_Parse(c.card), *cols;
	ck_assert_ptr_nonnull(j);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "version")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "stage")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "metrics")));
	ck_assert_double_eq(cJSON_GetObjectItem(j, "threshold")->valuedouble,
	    0.25);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "target")->valuestring,
	    "status");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "positive_label")->valuestring,
	    "bad");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "id");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "encoding")->valuestring,
	    enc.fingerprint);
	cols = cJSON_GetObjectItem(j, "columns");
	ck_assert_int_eq(cJSON_GetArraySize(cols), 2);
	const cJSON *home = cJSON_GetArrayItem(cols, 0);
	const cJSON *age = cJSON_GetArrayItem(cols, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(home, "name")->valuestring, "home");
	ck_assert_str_eq(cJSON_GetObjectItem(home, "kind")->valuestring,
	    "categorical");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(home,
	    "categories")), (int)enc.cols[fixture_col(&enc, "home")].vocab.n);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(home, "nullable")));
	ck_assert_str_eq(cJSON_GetObjectItem(age, "kind")->valuestring,
	    "numeric");
	ck_assert_ptr_null(cJSON_GetObjectItem(age, "categories"));
	const cJSON *training = cJSON_GetObjectItem(j, "training");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(training, "rows")));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "config"));
	cJSON_Delete(j);

	tp_card_free(&c);
	ck_assert_ptr_null(c.card);
	tp_card_free(&c);
	unlink(path);
	tp_predictor_free(&p);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
card_suite(void)
{
	Suite *s = suite_create("card");
	TCase *tc = tcase_create("card");

	tcase_add_test(tc, test_card_file);
	suite_add_tcase(s, tc);
	return s;
}
