/*
 * test_config: the default sizes, the limits of tp_config_check (each
 * bound just inside and just outside, heads that do not divide d_model,
 * dropout from 0 to just under 1), the JSON form there and back, and
 * tp_config_from_json's refusals: a missing key, a number that is not an
 * integer, an activation it does not know.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"
#include "suites.h"

START_TEST(defaults)
{
	const tp_config *c = &tp_default_config;
	tp_err e = {0};

	ck_assert_int_eq(c->layers, 6);
	ck_assert_int_eq(c->d_model, 32);
	ck_assert_int_eq(c->heads, 4);
	ck_assert_int_eq(c->d_ff, 64);
	ck_assert_int_eq(c->head_hidden, 64);
	ck_assert_int_eq(c->proj_dim, 32);
	ck_assert(c->dropout == 0.1f);
	ck_assert_int_eq(c->activation, TP_GELU);
	ck_assert_msg(tp_config_check(c, &e) == TP_OK, "%s", e.msg);
}
END_TEST

/* A field of tp_config, its lowest and its highest value. */
static const struct {
	const char *name;
	size_t offset;
	int lo, hi;
} bounds[] = {
	{"layers", offsetof(tp_config, layers), 1, 64},
	{"d_model", offsetof(tp_config, d_model), 1, 4096},
	{"heads", offsetof(tp_config, heads), 1, 1},
	{"d_ff", offsetof(tp_config, d_ff), 1, 65536},
	{"head_hidden", offsetof(tp_config, head_hidden), 1, 65536},
	{"proj_dim", offsetof(tp_config, proj_dim), 1, 65536},
};

static int
check_with(size_t offset, int v, tp_err *e)
{
	tp_config c = tp_default_config;

	/* One head divides every d_model, so that only the bound under test
	 * can refuse. */
	c.heads = 1;
	*(int *)((char *)&c + offset) = v;
	return tp_config_check(&c, e);
}

/* _i is the field: its bounds are taken, one less and one more refused. */
START_TEST(size_limits)
{
	tp_err e = {0};
	const char *f = bounds[_i].name;
	size_t off = bounds[_i].offset;
	int lo = bounds[_i].lo, hi = bounds[_i].hi;

	ck_assert_msg(check_with(off, lo, &e) == TP_OK, "%s %d: %s", f, lo,
	    e.msg);
	ck_assert_msg(check_with(off, hi, &e) == TP_OK, "%s %d: %s", f, hi,
	    e.msg);
	ck_assert_msg(check_with(off, lo - 1, &e) == TP_EUSAGE,
	    "%s %d taken", f, lo - 1);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad model size"));
	ck_assert_msg(check_with(off, -1, &e) == TP_EUSAGE, "%s -1 taken",
	    f);
	/* A single head's upper bound is d_model's divisibility, tried
	 * below. */
	if (strcmp(f, "heads") != 0) {
		ck_assert_msg(check_with(off, hi + 1, &e) == TP_EUSAGE,
		    "%s %d taken", f, hi + 1);
		ck_assert_ptr_nonnull(strstr(e.msg, "bad model size"));
	}
}
END_TEST

START_TEST(heads_divide)
{
	tp_config c = tp_default_config;
	tp_err e = {0};

	c.d_model = 48;
	for (int h = 1; h <= 48; h++) {
		c.heads = h;
		int rc = tp_config_check(&c, &e);
		ck_assert_msg(rc == (48 % h == 0 ? TP_OK : TP_EUSAGE),
		    "d_model 48, %d heads: %d (%s)", h, rc, e.msg);
	}
	c.heads = 3;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_OK);
	c.heads = 5;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad model size"));
	/* More heads than d_model: no head would have a dimension. */
	c.heads = 96;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_EUSAGE);
	/* The largest d_model, as many heads. */
	c.d_model = 4096;
	c.heads = 4096;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_OK);
}
END_TEST

/* From 0 to below 1; 0.99 as the float a config holds (0.99000001), as
 * the option --dropout 0.99 leaves it. */
START_TEST(dropout_range)
{
	tp_config c = tp_default_config;
	tp_err e = {0};
	static const float ok[] = {0, -0.0f, 0.5f, 0.9f, 0.99f};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		c.dropout = ok[i];
		ck_assert_msg(tp_config_check(&c, &e) == TP_OK,
		    "dropout %.9g: %s", (double)c.dropout, e.msg);
	}
	c.dropout = 1;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad model size"));
	c.dropout = 1.5f;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_EUSAGE);
	c.dropout = -1e-30f;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_EUSAGE);
}
END_TEST

/* The largest dropout is --dropout's, 0.99, as a float holds it. */
START_TEST(dropout_at_most_099)
{
	tp_config c = tp_default_config;
	tp_err e = {0};

	c.dropout = 0.99f;
	ck_assert_msg(tp_config_check(&c, &e) == TP_OK, "dropout 0.99: %s",
	    e.msg);
	c.dropout = nextafterf(0.99f, 1.0f);
	ck_assert_int_eq(tp_config_check(&c, &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg,
	    "bad model size: dropout is 0.990000069, not from 0 to 0.99");
}
END_TEST

START_TEST(dropout_not_finite)
{
	tp_config c = tp_default_config;
	tp_err e = {0};

	c.dropout = NAN;
	ck_assert_msg(tp_config_check(&c, &e) == TP_EUSAGE,
	    "dropout NaN taken");
	c.dropout = INFINITY;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_EUSAGE);
	c.dropout = -INFINITY;
	ck_assert_int_eq(tp_config_check(&c, &e), TP_EUSAGE);
}
END_TEST

static void
same_config(const tp_config *a, const tp_config *b)
{
	ck_assert_int_eq(a->layers, b->layers);
	ck_assert_int_eq(a->d_model, b->d_model);
	ck_assert_int_eq(a->heads, b->heads);
	ck_assert_int_eq(a->d_ff, b->d_ff);
	ck_assert_int_eq(a->head_hidden, b->head_hidden);
	ck_assert_int_eq(a->proj_dim, b->proj_dim);
	ck_assert_msg(a->dropout == b->dropout, "dropout %.9g, back %.9g",
	    (double)a->dropout, (double)b->dropout);
	ck_assert_int_eq(a->activation, b->activation);
	ck_assert_int_eq(a->additive, b->additive);
}

/* Through JSON text and back, as a model file keeps it: the defaults, a
 * config of other values in every field, and the largest. */
START_TEST(json_round_trip)
{
	static const tp_config other = {
		.layers = 3, .d_model = 24, .heads = 6, .d_ff = 40,
		.head_hidden = 17, .proj_dim = 9, .dropout = 0.3f,
		.activation = TP_RELU, .additive = 1,
	};
	static const tp_config large = {
		.layers = 64, .d_model = 4096, .heads = 64, .d_ff = 65536,
		.head_hidden = 65536, .proj_dim = 65536, .dropout = 0.1f,
		.activation = TP_GELU,
	};
	const tp_config *cs[] = {&tp_default_config, &other, &large};
	tp_err e = {0};

	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		tp_config back;
		cJSON *j = tp_config_to_json(cs[i]);
		ck_assert_ptr_nonnull(j);
		char *text = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		j = cJSON_Parse(text);
		ck_assert_ptr_nonnull(j);
		memset(&back, 0xff, sizeof(back));
		ck_assert_msg(tp_config_from_json(&back, j, &e) == TP_OK,
		    "%s: %s", text, e.msg);
		same_config(cs[i], &back);
		cJSON_Delete(j);
		free(text);
	}
}
END_TEST

/* JSON of the default config with key set to value (JSON text), or
 * without key when value is NULL. */
static cJSON *
edited(const char *key, const char *value)
{
	cJSON *j = tp_config_to_json(&tp_default_config);

	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(j, key));
	if (value == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(j, key);
	else
		ck_assert(cJSON_ReplaceItemInObjectCaseSensitive(j, key,
		    cJSON_Parse(value)));
	return j;
}

/* from_json with key set to value refuses with code, a message naming the
 * key in quotes. */
static void
refused(const char *key, const char *value, int code)
{
	char quoted[64];
	tp_config c;
	tp_err e = {0};
	cJSON *j = edited(key, value);

	int rc = tp_config_from_json(&c, j, &e);
	ck_assert_msg(rc == code, "%s %s: status %d, expected %d (%s)", key,
	    value ? value : "missing", rc, code, e.msg);
	if (code == TP_EDATA) {
		snprintf(quoted, sizeof(quoted), "\"%s\"", key);
		ck_assert_msg(strstr(e.msg, quoted) != NULL &&
		    strstr(e.msg, "model config") != NULL,
		    "%s %s: the message \"%s\" does not name it", key,
		    value ? value : "missing", e.msg);
	}
	cJSON_Delete(j);
}

START_TEST(json_refused)
{
	static const char *const keys[] = {"layers", "d_model", "heads",
	    "d_ff", "head_hidden", "proj_dim", "dropout", "activation"};

	/* Each key missing, or null. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		refused(keys[i], NULL, TP_EDATA);
		refused(keys[i], "null", TP_EDATA);
	}
	/* Integers that are not: a fraction, text, true, an array. */
	refused("layers", "2.5", TP_EDATA);
	refused("d_model", "\"32\"", TP_EDATA);
	refused("heads", "true", TP_EDATA);
	refused("d_ff", "[64]", TP_EDATA);
	refused("proj_dim", "1e-3", TP_EDATA);
	/* A dropout that is not a number. */
	refused("dropout", "\"0.1\"", TP_EDATA);
	/* Activations it does not know; the names are case-sensitive. */
	refused("activation", "\"tanh\"", TP_EDATA);
	refused("activation", "\"GELU\"", TP_EDATA);
	refused("activation", "\"\"", TP_EDATA);
	refused("activation", "1", TP_EDATA);
	/* Well-formed but out of bounds: refused, by the check or the
	 * reader. */
	tp_config c;
	tp_err e = {0};
	cJSON *j = edited("layers", "65");
	ck_assert_int_ne(tp_config_from_json(&c, j, &e), TP_OK);
	cJSON_Delete(j);
	j = edited("heads", "5");
	ck_assert_int_ne(tp_config_from_json(&c, j, &e), TP_OK);
	cJSON_Delete(j);
	j = edited("dropout", "1");
	ck_assert_int_ne(tp_config_from_json(&c, j, &e), TP_OK);
	cJSON_Delete(j);
	/* The additive flag: true or false, or absent as in files written
	 * before it, which is off; nothing else. */
	refused("additive", "1", TP_EDATA);
	refused("additive", "\"true\"", TP_EDATA);
	refused("additive", "null", TP_EDATA);
	j = edited("additive", "true");
	ck_assert_msg(tp_config_from_json(&c, j, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(c.additive, 1);
	cJSON_Delete(j);
	j = edited("additive", NULL);
	c.additive = 1;
	ck_assert_msg(tp_config_from_json(&c, j, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(c.additive, 0);
	cJSON_Delete(j);
	/* And the other activation is read. */
	j = edited("activation", "\"relu\"");
	ck_assert_msg(tp_config_from_json(&c, j, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(c.activation, TP_RELU);
	cJSON_Delete(j);
	/* Not an object at all. */
	j = cJSON_Parse("[6, 32]");
	ck_assert_int_eq(tp_config_from_json(&c, j, &e), TP_EDATA);
	cJSON_Delete(j);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, defaults);
	tcase_add_loop_test(tc, size_limits, 0,
	    sizeof(bounds) / sizeof(bounds[0]));
	tcase_add_test(tc, heads_divide);
	tcase_add_test(tc, dropout_range);
	tcase_add_test(tc, dropout_at_most_099);
	tcase_add_test(tc, dropout_not_finite);
	tcase_add_test(tc, json_round_trip);
	tcase_add_test(tc, json_refused);
	suite_add_tcase(s, tc);
	return s;
}
