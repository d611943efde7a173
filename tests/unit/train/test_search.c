/*
 * test_search: what a hyper-parameter search draws and decides: the
 * space's lines and every way one is wrong, its JSON form, train's fixed
 * options taken out of it, the points (the same from the same seed, a
 * Latin hypercube over the trials, in range, rounded, drawn again where
 * train would refuse them), the rungs of successive halving, the
 * promotions and the best trial.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "train/search.h"

static void
line_ok(tp_space *s, const char *line)
{
	tp_err e = {0};

	ck_assert_msg(tp_space_line(s, line, "test", &e) == TP_OK, "%s: %s",
	    line, e.msg);
}

/* The line is refused as a usage error whose message holds want. */
static void
line_fails(const char *line, const char *want)
{
	tp_space s = {0};
	tp_err e = {0};

	ck_assert_msg(tp_space_line(&s, line, "here", &e) == TP_EUSAGE,
	    "%s was taken", line);
	ck_assert_int_eq(e.code, TP_EUSAGE);
	ck_assert_msg(strstr(e.msg, want) != NULL && strncmp(e.msg, "here: ",
	    6) == 0, "%s: \"%s\" lacks \"%s\"", line, e.msg, want);
	ck_assert_int_eq(s.n, 0);
}

START_TEST(test_lines)
{
	tp_space s = {0};
	const tp_hparam *p;
	char text[256];

	line_ok(&s, "lr float 1e-4 1e-2 log");
	line_ok(&s, "  layers\tint 1 4   # a comment");
	line_ok(&s, "class-weight choice default balanced 1,3");
	line_ok(&s, "");
	line_ok(&s, "# only a comment");
	ck_assert_int_eq(s.n, 3);
	p = tp_space_find(&s, "lr");
	ck_assert_int_eq(p->kind, TP_HPARAM_FLOAT);
	ck_assert(p->low == 1e-4 && p->high == 1e-2 && p->log);
	p = tp_space_find(&s, "layers");
	ck_assert_int_eq(p->kind, TP_HPARAM_INT);
	ck_assert(p->low == 1 && p->high == 4 && !p->log);
	p = tp_space_find(&s, "class-weight");
	ck_assert_int_eq(p->nchoices, 3);
	ck_assert_str_eq(p->choices[2], "1,3");
	ck_assert_str_eq(tp_hparam_text(p, text, sizeof(text)),
	    "class-weight choice default balanced 1,3");
	ck_assert_str_eq(tp_hparam_text(tp_space_find(&s, "lr"), text,
	    sizeof(text)), "lr float 0.0001 0.01 log");
	/* The same name again replaces it, in its place. */
	line_ok(&s, "lr float 0.001 0.002");
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.p[0].name, "lr");
	ck_assert(!s.p[0].log && s.p[0].low == 0.001);
	ck_assert_int_eq(tp_space_remove(&s, "layers"), 1);
	ck_assert_int_eq(tp_space_remove(&s, "layers"), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_ptr_null(tp_space_find(&s, "layers"));
	ck_assert_str_eq(s.p[1].name, "class-weight");
	/* Integers and fixed ends: a range of one value is one. */
	line_ok(&s, "heads int 2 2");
	line_ok(&s, "activation choice relu gelu");
	line_ok(&s, "threshold choice f1 0.3");
}
END_TEST

START_TEST(test_bad_lines)
{
	line_fails("nosuch float 0 1", "\"nosuch\" is not an option of tabpipe-train");
	line_fails("epochs int 1 5", "\"epochs\" is not an option");
	line_fails("seed int 1 5", "\"seed\" is not an option");
	line_fails("threads int 1 2", "\"threads\" is not an option");
	line_fails("checkpoint choice a b", "is not an option");
	line_fails("valid choice a", "is not an option");
	line_fails("lr", "expected a kind");
	line_fails("lr normal 0 1", "\"normal\" is not a kind");
	line_fails("lr float 1", "expected \"float LOW HIGH\"");
	line_fails("lr float 1 2 3", "expected \"float LOW HIGH\"");
	line_fails("lr float 1 2 logs", "expected \"float LOW HIGH\"");
	line_fails("lr float x 2", "\"x\" is not a number");
	line_fails("lr float 0.1 0.01", "the low end 0.1 is above the high end 0.01");
	line_fails("lr float 0 0.01 log", "needs a low end above 0");
	line_fails("layers int 1 2.5", "2.5 is not an integer");
	line_fails("layers float 1 4", "layers takes no float");
	line_fails("lr int 1 4", "lr takes no range of integers: make it float");
	line_fails("d-model int 0 64", "--d-model: \"0\" is not an integer from 1");
	line_fails("dropout float 0 1.5", "--dropout: \"1.5\" is not a number from 0 to 0.99");
	line_fails("activation choice relu tanh", "--activation: \"tanh\" is not");
	line_fails("class-weight choice balanced 2", "--class-weight: \"2\" is not \"balanced\"");
	line_fails("batch choice", "a choice needs a value");
	line_fails("batch choice 64 64", "\"64\" is a choice twice");
	line_fails("batch choice 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
	    "more than 16 choices");
	line_fails("class-weight choice balanced 0123456789012345678901234567890123",
	    "is too long");
}
END_TEST

START_TEST(test_read)
{
	tp_space s = {0};
	tp_err e = {0};

	ck_assert_int_eq(tp_space_read(&s, "# the space\nlr float 1e-4 1e-2 log\n"
	    "\ndropout float 0 0.3\n", "space.txt", &e), TP_OK);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(tp_space_read(&s, "lr float 1e-4 1e-2 log\n"
	    "layers float 1 2\n", "space.txt", &e), TP_EUSAGE);
	ck_assert_msg(strncmp(e.msg, "space.txt:2: layers takes no float", 34) ==
	    0, "%s", e.msg);
	ck_assert_int_eq(tp_space_read(&s, "# nothing\n", "space.txt", &e),
	    TP_EUSAGE);
	ck_assert_str_eq(e.msg, "space.txt: no parameter to search");
	/* A file's last line needs no line end. */
	ck_assert_int_eq(tp_space_read(&s, "lr float 1e-4 1e-2", "s", &e),
	    TP_OK);
	ck_assert_int_eq(s.n, 1);
}
END_TEST

START_TEST(test_default_and_json)
{
	tp_space s, back;
	tp_err e = {0};
	cJSON *j;
	char *a;

	tp_space_default(&s);
	ck_assert_int_eq(s.n, 10);
	ck_assert_ptr_nonnull(tp_space_find(&s, "lr"));
	ck_assert(tp_space_find(&s, "lr")->log);
	ck_assert_ptr_nonnull(tp_space_find(&s, "class-weight"));
	j = tp_space_json(&s);
	ck_assert_ptr_nonnull(j);
	ck_assert_msg(tp_space_from_json(&back, j, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(back.n, s.n);
	ck_assert_int_eq(memcmp(back.p, s.p, (size_t)s.n * sizeof(s.p[0])), 0);
	a = cJSON_PrintUnformatted(j);
	ck_assert_ptr_nonnull(strstr(a, "{\"name\":\"lr\",\"kind\":\"float\","
	    "\"low\":0.0001,\"high\":0.01,\"log\":true}"));
	ck_assert_ptr_nonnull(strstr(a, "{\"name\":\"d-model\",\"kind\":"
	    "\"choice\",\"choices\":[\"8\",\"16\",\"32\",\"64\"]}"));
	free(a);
	cJSON_Delete(j);
	/* What is stored is checked as a line is, as bad data. */
	j = cJSON_Parse("[{\"name\":\"epochs\",\"kind\":\"int\",\"low\":1,"
	    "\"high\":2}]");
	ck_assert_int_eq(tp_space_from_json(&back, j, &e), TP_EDATA);
	ck_assert_int_eq(e.code, TP_EDATA);
	cJSON_Delete(j);
	j = cJSON_Parse("[{\"name\":\"lr\",\"kind\":\"float\"}]");
	ck_assert_int_eq(tp_space_from_json(&back, j, &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "space: lr: a range without its ends");
	cJSON_Delete(j);
	j = cJSON_Parse("{}");
	ck_assert_int_eq(tp_space_from_json(&back, j, &e), TP_EDATA);
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_fixed)
{
	tp_space s;
	tp_train_opts base;
	tp_err e = {0};
	const char *args[] = {"--encoder", "enc.safetensors", "--d-model", "16",
		"--lr=0.01", "-q", "--threads", "1", "--device", "cpu"};
	const char *epochs[] = {"--epochs", "3"};
	const char *seed[] = {"--seed=4"};
	const char *resume[] = {"--checkpoint", "c"};
	const char *missing[] = {"--dropout"};
	const char *bad[] = {"--dropout", "2"};
	const char *odd[] = {"--d-model", "6"};

	tp_space_default(&s);
	tp_train_defaults(&base);
	ck_assert_msg(tp_search_fixed(&s, args, 10, &base, &e) == TP_OK, "%s",
	    e.msg);
	ck_assert_int_eq(s.n, 8);
	ck_assert_ptr_null(tp_space_find(&s, "d-model"));
	ck_assert_ptr_null(tp_space_find(&s, "lr"));
	ck_assert_ptr_nonnull(tp_space_find(&s, "heads"));
	ck_assert_int_eq(base.model.d_model, 16);
	ck_assert(base.lr == 0.01f);
	ck_assert_int_eq(base.threads, 1);

	ck_assert_int_eq(tp_search_fixed(&s, epochs, 2, &base, &e), TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "give tabpipe-tune --epochs"));
	ck_assert_int_eq(tp_search_fixed(&s, seed, 1, &base, &e), TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "give tabpipe-tune --seed"));
	ck_assert_int_eq(tp_search_fixed(&s, resume, 2, &base, &e), TP_EUSAGE);
	ck_assert_int_eq(tp_search_fixed(&s, missing, 1, &base, &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg, "--dropout: needs a value");
	ck_assert_int_eq(tp_search_fixed(&s, bad, 2, &base, &e), TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "--dropout: \"2\""));
	/* Train's defaults have 4 heads, which 6 is no multiple of. */
	tp_train_defaults(&base);
	ck_assert_int_eq(tp_search_fixed(&s, odd, 2, &base, &e), TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "do not divide"));
}
END_TEST

static cJSON *
sample(const tp_space *s, const tp_train_opts *base, uint64_t seed, int n,
    int k)
{
	cJSON *p;
	tp_err e = {0};

	ck_assert_msg(tp_search_sample(s, base, seed, n, k, &p, &e) == TP_OK,
	    "trial %d of %d: %s", k, n, e.msg);
	return p;
}

static char *
text_of(const cJSON *j)
{
	char *t = cJSON_PrintUnformatted(j);

	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(test_sample_repeats)
{
	tp_space s;
	tp_train_opts base;
	char *a, *b, *c, *d;
	cJSON *p;
	tp_err e = {0};

	tp_space_default(&s);
	tp_train_defaults(&base);
	p = sample(&s, &base, 7, 20, 3);
	a = text_of(p);
	cJSON_Delete(p);
	p = sample(&s, &base, 7, 20, 3);
	b = text_of(p);
	cJSON_Delete(p);
	p = sample(&s, &base, 7, 20, 4);
	c = text_of(p);
	cJSON_Delete(p);
	p = sample(&s, &base, 8, 20, 3);
	d = text_of(p);
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_str_ne(a, d);
	/* In the space's order, every parameter once. */
	ck_assert_int_eq(cJSON_GetArraySize(p), s.n);
	for (int i = 0; i < s.n; i++)
		ck_assert_str_eq(cJSON_GetArrayItem(p, i)->string, s.p[i].name);
	cJSON_Delete(p);
	free(a);
	free(b);
	free(c);
	free(d);
	ck_assert_int_eq(tp_search_sample(&s, &base, 7, 20, 21, &p, &e),
	    TP_EUSAGE);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(tp_search_sample(&s, &base, 7, 20, 0, &p, &e),
	    TP_EUSAGE);
}
END_TEST

START_TEST(test_latin_hypercube)
{
	tp_space s = {0};
	tp_train_opts base;
	int seen[11] = {0}, d_model[65] = {0}, low = 0;

	tp_train_defaults(&base);
	line_ok(&s, "layers int 1 10");
	line_ok(&s, "d-model choice 8 16 32 64");
	line_ok(&s, "lr float 1e-4 1e-2 log");
	line_ok(&s, "dropout float 0 0.3");
	for (int k = 1; k <= 8; k++) {
		cJSON *p = sample(&s, &base, 99, 8, k);
		double lr = cJSON_GetObjectItem(p, "lr")->valuedouble;
		double dropout = cJSON_GetObjectItem(p, "dropout")->valuedouble;
		char text[32];
		seen[cJSON_GetObjectItem(p, "layers")->valueint]++;
		d_model[cJSON_GetObjectItem(p, "d-model")->valueint]++;
		low += lr < 1e-3;
		ck_assert(lr >= 1e-4 && lr <= 1e-2);
		ck_assert(dropout >= 0 && dropout <= 0.3);
		/* Kept to 3 significant digits. */
		snprintf(text, sizeof(text), "%.3g", lr);
		ck_assert(strtod(text, NULL) == lr);
		cJSON_Delete(p);
	}
	/* 8 strata of 1..10: no two trials in one; each choice twice; half
	 * the learning rates in each half of the logarithm. */
	for (int v = 1; v <= 10; v++)
		ck_assert_int_le(seen[v], 1);
	for (int v = 8; v <= 64; v *= 2)
		ck_assert_int_eq(d_model[v], 2);
	ck_assert_int_eq(low, 4);
}
END_TEST

START_TEST(test_sample_redraws)
{
	tp_space s = {0};
	tp_train_opts base;
	const char *eight[] = {"--heads", "8"};
	tp_err e = {0};
	cJSON *p;

	tp_train_defaults(&base);
	line_ok(&s, "d-model choice 8 12 16 20");
	line_ok(&s, "class-weight choice default balanced");
	ck_assert(tp_search_fixed(&s, eight, 2, &base, &e) == TP_OK);
	/* 8 heads divide 8 and 16 only: the others are drawn again. */
	for (int k = 1; k <= 12; k++) {
		p = sample(&s, &base, 5, 12, k);
		int d = cJSON_GetObjectItem(p, "d-model")->valueint;
		ck_assert_msg(d == 8 || d == 16, "d-model %d", d);
		const cJSON *w = cJSON_GetObjectItem(p, "class-weight");
		ck_assert(cJSON_IsNull(w) || (cJSON_IsString(w) &&
		    strcmp(w->valuestring, "balanced") == 0));
		cJSON_Delete(p);
	}
	s.n = 0;
	line_ok(&s, "d-model choice 12 20");
	ck_assert_int_eq(tp_search_sample(&s, &base, 5, 4, 1, &p, &e),
	    TP_EUSAGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "the space has no point that "
	    "tabpipe-train takes"));
}
END_TEST

START_TEST(test_apply_and_text)
{
	tp_train_opts o;
	tp_err e = {0};
	char buf[64];
	cJSON *p = cJSON_Parse("{\"lr\": 0.00123, \"d-model\": 16, \"heads\": 2,"
	    " \"class-weight\": \"balanced\", \"activation\": null}");
	cJSON *bad = cJSON_Parse("{\"epochs\": 3}");
	cJSON *odd = cJSON_Parse("{\"d-model\": 5}");

	tp_train_defaults(&o);
	ck_assert_msg(tp_search_apply(p, &o, &e) == TP_OK, "%s", e.msg);
	ck_assert(o.lr == 0.00123f);
	ck_assert_int_eq(o.model.d_model, 16);
	ck_assert_int_eq(o.model.heads, 2);
	ck_assert_int_eq(o.balanced, 1);
	ck_assert_int_eq(tp_search_apply(bad, &o, &e), TP_EUSAGE);
	ck_assert_int_eq(tp_search_apply(odd, &o, &e), TP_EUSAGE);
	ck_assert_str_eq(tp_search_value_text(cJSON_GetObjectItem(p, "lr"), buf,
	    sizeof(buf)), "0.00123");
	ck_assert_str_eq(tp_search_value_text(cJSON_GetObjectItem(p, "d-model"),
	    buf, sizeof(buf)), "16");
	ck_assert_str_eq(tp_search_value_text(cJSON_GetObjectItem(p,
	    "class-weight"), buf, sizeof(buf)), "balanced");
	ck_assert_ptr_null(tp_search_value_text(cJSON_GetObjectItem(p,
	    "activation"), buf, sizeof(buf)));
	cJSON_Delete(p);
	cJSON_Delete(bad);
	cJSON_Delete(odd);
}
END_TEST

/* The rungs of a plan are those given as epochs:trials pairs. */
static void
rungs_are(int trials, int eta, int min_epochs, int epochs, const char *want)
{
	tp_search_plan plan = {trials, eta, min_epochs, epochs};
	tp_rung r[TP_SEARCH_RUNGS];
	tp_err e = {0};
	char got[256] = "";
	size_t k = 0;
	int n = tp_search_rungs(&plan, r, &e);

	ck_assert_msg(n > 0, "%s", e.msg);
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(got + k, sizeof(got) - k, "%s%d:%d", i ? " " :
		    "", r[i].epochs, r[i].trials);
	ck_assert_msg(strcmp(got, want) == 0, "%d trials, eta %d, epochs %d "
	    "to %d: %s, not %s", trials, eta, min_epochs, epochs, got, want);
}

START_TEST(test_rungs)
{
	tp_search_plan plan = {10, 1, 1, 5};
	tp_rung r[TP_SEARCH_RUNGS];
	tp_err e = {0};

	rungs_are(20, 0, 1, 10, "10:20");
	rungs_are(20, 3, 1, 10, "1:20 3:6 10:2");
	rungs_are(9, 3, 1, 9, "1:9 3:3 9:1");
	rungs_are(27, 3, 1, 9, "1:27 3:9 9:3");
	rungs_are(8, 2, 1, 8, "1:8 2:4 4:2 8:1");
	/* Too few trials for the lowest rungs: they are given up. */
	rungs_are(2, 3, 1, 10, "10:2");
	rungs_are(5, 3, 1, 9, "3:5 9:1");
	/* Too few epochs: fewer rungs. */
	rungs_are(20, 3, 4, 10, "10:20");
	rungs_are(20, 3, 2, 10, "3:20 10:6");
	rungs_are(20, 2, 1, 3, "2:20 3:10");
	ck_assert_int_lt(tp_search_rungs(&plan, r, &e), 0);
	ck_assert_int_eq(e.code, TP_EUSAGE);
	plan = (tp_search_plan){10, 3, 6, 5};
	ck_assert_int_lt(tp_search_rungs(&plan, r, &e), 0);
	plan = (tp_search_plan){0, 3, 1, 5};
	ck_assert_int_lt(tp_search_rungs(&plan, r, &e), 0);
}
END_TEST

START_TEST(test_promote_and_best)
{
	tp_search_trial t[] = {
		{1, 1, 1, 0.70}, {2, 1, 1, 0.75}, {3, 1, 0, NAN},
		{4, 1, 1, 0.75}, {5, 1, 1, 0.60}, {6, 1, 1, NAN},
	};
	tp_search_trial later[] = {
		{1, 1, 1, 0.75}, {7, 2, 1, 0.75}, {8, 2, 1, 0.74},
	};
	tp_search_trial none[] = {{1, 1, 0, 0.9}, {2, 1, 1, NAN}};
	int chosen[6];

	/* The best two: 0.75 twice (2 and 4); in the order of numbers. */
	ck_assert_int_eq(tp_search_promote(t, 6, 2, chosen), 2);
	ck_assert_int_eq(t[chosen[0]].number, 2);
	ck_assert_int_eq(t[chosen[1]].number, 4);
	/* Three: then 0.70. */
	ck_assert_int_eq(tp_search_promote(t, 6, 3, chosen), 3);
	ck_assert_int_eq(t[chosen[0]].number, 1);
	ck_assert_int_eq(t[chosen[1]].number, 2);
	ck_assert_int_eq(t[chosen[2]].number, 4);
	/* One: a tie goes to the lower number. */
	ck_assert_int_eq(tp_search_promote(t, 6, 1, chosen), 1);
	ck_assert_int_eq(t[chosen[0]].number, 2);
	/* No more than are done. */
	ck_assert_int_eq(tp_search_promote(t, 6, 10, chosen), 4);
	ck_assert_int_eq(tp_search_promote(none, 2, 1, chosen), 0);

	ck_assert_int_eq(tp_search_best(t, 6), 1);
	/* A tie goes to the higher rung, then the lower number. */
	ck_assert_int_eq(tp_search_best(later, 3), 1);
	ck_assert_int_eq(tp_search_best(none, 2), -1);
}
END_TEST

Suite *
search_suite(void)
{
	Suite *s = suite_create("search");
	TCase *tc = tcase_create("search");

	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_default_and_json);
	tcase_add_test(tc, test_fixed);
	tcase_add_test(tc, test_sample_repeats);
	tcase_add_test(tc, test_latin_hypercube);
	tcase_add_test(tc, test_sample_redraws);
	tcase_add_test(tc, test_apply_and_text);
	tcase_add_test(tc, test_rungs);
	tcase_add_test(tc, test_promote_and_best);
	suite_add_tcase(s, tc);
	return s;
}
