/* Settings written once: setting each type from text, with its range and
 * its message; range checks; the settings as JSON and back. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/option.h"
#include "suites.h"

typedef struct {
	int n, flag, choice;
	long l;
	uint64_t u;
	float f;
	double d;
	const char *s;
} settings;

static const char *const colours[] = {"red", "green", "blue", NULL};

#define OPT(field) .key = #field, .offset = offsetof(settings, field)

static const tp_opt table[] = {
	{OPT(n), .name = "n", .type = TP_OPT_INT, .min = 1, .max = 10,
	    .flags = TP_OPT_RECORD | TP_OPT_SIGN},
	{OPT(flag), .name = "flag", .type = TP_OPT_FLAG, .flags = TP_OPT_RECORD},
	{OPT(choice), .name = "choice", .type = TP_OPT_CHOICE,
	    .choices = colours, .flags = TP_OPT_RECORD | TP_OPT_SIGN},
	{OPT(l), .name = "l", .type = TP_OPT_LONG, .min = -5, .max = 5},
	{OPT(u), .name = "u", .type = TP_OPT_U64, .flags = TP_OPT_RECORD},
	{OPT(f), .name = "f", .type = TP_OPT_FLOAT, .min = 0, .max = 0.99,
	    .flags = TP_OPT_RECORD | TP_OPT_SIGN},
	{OPT(d), .name = "d", .type = TP_OPT_DOUBLE, .min = -1, .max = 1e9},
	{OPT(s), .name = "s", .type = TP_OPT_STRING, .flags = TP_OPT_RECORD},
	{0},
};

static const tp_opt *
entry(const char *key)
{
	for (const tp_opt *o = table; o->key != NULL; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	ck_abort_msg("no entry %s", key);
	return NULL;
}

/* set KEY ARG: the status of setting it, e's message kept. */
static int
set(settings *s, const char *key, const char *arg, tp_err *e)
{
	return tp_opt_set(entry(key), s, arg, "--x", e);
}

START_TEST(sets_each_type)
{
	settings s = {0};
	tp_err e;

	ck_assert_int_eq(set(&s, "n", "10", &e), TP_OK);
	ck_assert_int_eq(s.n, 10);
	ck_assert_int_eq(set(&s, "flag", NULL, &e), TP_OK);
	ck_assert_int_eq(s.flag, 1);
	ck_assert_int_eq(set(&s, "choice", "blue", &e), TP_OK);
	ck_assert_int_eq(s.choice, 2);
	ck_assert_int_eq(set(&s, "l", "-5", &e), TP_OK);
	ck_assert_int_eq(s.l, -5);
	ck_assert_int_eq(set(&s, "u", "18446744073709551615", &e), TP_OK);
	ck_assert(s.u == UINT64_MAX);
	ck_assert_int_eq(set(&s, "f", "0.99", &e), TP_OK);
	ck_assert(s.f == 0.99f);
	ck_assert_int_eq(set(&s, "d", "1e-3", &e), TP_OK);
	ck_assert(s.d == 1e-3);
	ck_assert_int_eq(set(&s, "s", "text", &e), TP_OK);
	ck_assert_str_eq(s.s, "text");
}
END_TEST

/* A bad value is refused with where it came from and what was expected,
 * and leaves the setting as it was. */
START_TEST(refuses_bad_values)
{
	static const struct {
		const char *key, *arg, *msg;
	} cases[] = {
		{"n", "11", "--x: \"11\" is not an integer from 1 to 10"},
		{"n", "0", "--x: \"0\" is not an integer from 1 to 10"},
		{"n", "2.5", "--x: \"2.5\" is not an integer from 1 to 10"},
		{"n", "", "--x: \"\" is not an integer from 1 to 10"},
		{"n", "99999999999999999999", "--x: \"99999999999999999999\" is not an integer from 1 to 10"},
		{"l", "6", "--x: \"6\" is not an integer from -5 to 5"},
		{"u", "-1", "--x: \"-1\" is not a non-negative integer"},
		{"u", "18446744073709551616", "--x: \"18446744073709551616\" is not a non-negative integer"},
		{"f", "1", "--x: \"1\" is not a number from 0 to 0.99"},
		{"f", "nan", "--x: \"nan\" is not a number from 0 to 0.99"},
		{"d", "1e10", "--x: \"1e10\" is not a number from -1 to 1e+09"},
		{"d", "0x10", "--x: \"0x10\" is not a number from -1 to 1e+09"},
		{"choice", "Red", "--x: \"Red\" is not red, green or blue"},
	};
	settings s = {.n = 3, .l = 1, .u = 7, .f = 0.5f, .d = 2, .choice = 1};
	settings keep = s;
	tp_err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(set(&s, cases[i].key, cases[i].arg, &e), TP_EUSAGE);
		ck_assert_str_eq(e.msg, cases[i].msg);
		ck_assert_int_eq(memcmp(&s, &keep, sizeof(s)), 0);
	}
}
END_TEST

START_TEST(checks_ranges)
{
	settings s = {.n = 5, .f = 0.99f};
	tp_err e;

	ck_assert_int_eq(tp_opt_check(table, &s, "sizes", &e), TP_OK);
	s.n = 11;
	ck_assert_int_eq(tp_opt_check(table, &s, "sizes", &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg, "sizes: n is 11, not from 1 to 10");
	s.n = 5;
	s.f = NAN;
	ck_assert_int_eq(tp_opt_check(table, &s, "sizes", &e), TP_EUSAGE);
	s.f = 0.995f;
	ck_assert_int_eq(tp_opt_check(table, &s, "sizes", &e), TP_EUSAGE);
}
END_TEST

/* The recorded entries, in the table's order, an unset string left out;
 * the signed ones only; and back. */
START_TEST(json_round_trip)
{
	settings s = {.n = 4, .flag = 1, .choice = 1, .u = 9, .f = 0.25f};
	settings t = {0};
	cJSON *j = cJSON_CreateObject(), *sig = cJSON_CreateObject();
	char *text;
	tp_err e;

	ck_assert_int_eq(tp_opt_json(table, &s, TP_OPT_RECORD, j, &e), TP_OK);
	text = cJSON_PrintUnformatted(j);
	ck_assert_str_eq(text, "{\"n\":4,\"flag\":true,\"choice\":\"green\",\"u\":9,\"f\":0.25}");
	cJSON_free(text);
	ck_assert_int_eq(tp_opt_json(table, &s, TP_OPT_SIGN, sig, &e), TP_OK);
	text = cJSON_PrintUnformatted(sig);
	ck_assert_str_eq(text, "{\"n\":4,\"choice\":\"green\",\"f\":0.25}");
	cJSON_free(text);
	ck_assert_int_eq(tp_opt_from_json(table, &t, TP_OPT_SIGN, sig, "cfg",
	    &e), TP_OK);
	ck_assert(t.n == 4 && t.choice == 1 && t.f == 0.25f);
	cJSON_ReplaceItemInObject(sig, "choice", cJSON_CreateString("pink"));
	ck_assert_int_eq(tp_opt_from_json(table, &t, TP_OPT_SIGN, sig, "cfg",
	    &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "cfg: \"choice\" must be red, green or blue");
	cJSON_DeleteItemFromObject(sig, "choice");
	ck_assert_int_eq(tp_opt_from_json(table, &t, TP_OPT_SIGN, sig, "cfg",
	    &e), TP_EDATA);
	cJSON_ReplaceItemInObject(j, "n", cJSON_CreateNumber(4.5));
	ck_assert_int_eq(tp_opt_from_json(table, &t, TP_OPT_SIGN, j, "cfg",
	    &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "cfg: \"n\" must be an integer from 1 to 10");
	cJSON_Delete(j);
	cJSON_Delete(sig);
}
END_TEST

Suite *
option_suite(void)
{
	Suite *s = suite_create("option");
	TCase *tc = tcase_create("option");

	tcase_add_test(tc, sets_each_type);
	tcase_add_test(tc, refuses_bad_values);
	tcase_add_test(tc, checks_ranges);
	tcase_add_test(tc, json_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
