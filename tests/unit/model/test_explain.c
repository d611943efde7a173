/*
 * test_explain: integrated gradients (lib/model/explain.h).
 *
 * The quadrature against nodes known in closed form and polynomials it
 * must integrate exactly; the tokens' gradient against finite differences;
 * the golden model's attributions against PyTorch autograd's
 * (tests/golden/ig_reference.py, committed, `make golden` makes it again);
 * completeness: the gap shrinks as steps grow and stays small at the
 * default; a trained model of the fixture's rows, whose label depends on
 * n0 and c0 only, ranks those two first by mean |attribution|; the
 * reference profile's JSON form and its checks; the top-K order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "gradcheck.h"
#include "model/explain.h"
#include "base/rng.h"
#include "model/modelfile.h"
#include "model/safetensors.h"
#include "suites.h"

static const tp_config small = {
	.layers = 1, .d_model = 8, .heads = 2, .d_ff = 12, .head_hidden = 6,
	.proj_dim = 4, .dropout = 0.1f, .activation = TP_GELU,
};

START_TEST(test_gauss_legendre)
{
	double node[64], weight[64];

	tp_gauss_legendre(2, node, weight);
	ck_assert_double_eq_tol(node[0], (1 - 1 / sqrt(3)) / 2, 1e-15);
	ck_assert_double_eq_tol(node[1], (1 + 1 / sqrt(3)) / 2, 1e-15);
	ck_assert_double_eq_tol(weight[0], 0.5, 1e-15);
	tp_gauss_legendre(3, node, weight);
	ck_assert_double_eq_tol(node[1], 0.5, 1e-15);
	ck_assert_double_eq_tol(weight[1], 4.0 / 9, 1e-15);
	ck_assert_double_eq_tol(node[0], (1 - sqrt(0.6)) / 2, 1e-15);
	for (int n = 1; n <= 64; n *= 2) {
		tp_gauss_legendre(n, node, weight);
		/* t^k for k < 2n integrates to 1/(k+1). */
		for (int k = 0; k < 2 * n; k += n > 4 ? 7 : 1) {
			double sum = 0;
			for (int i = 0; i < n; i++)
				sum += weight[i] * pow(node[i], k);
			ck_assert_msg(fabs(sum - 1.0 / (k + 1)) < 1e-12,
			    "%d nodes, t^%d: %.17g", n, k, sum);
		}
		for (int i = 1; i < n; i++)
			ck_assert(node[i] > node[i - 1]);
	}
}
END_TEST

typedef struct {
	tp_model *m;
	float *tokens, *grad, logodds;
	int B, row;
} token_ctx;

static double
row_logodds(void *p)
{
	token_ctx *c = p;
	float *lo = malloc((size_t)c->B * sizeof(float));
	size_t n = (size_t)c->B * c->m->T * c->m->cfg.d_model;
	float *g = malloc(n * sizeof(float));

	tp_model_token_gradient(c->m, c->tokens, c->B, lo, g);
	double v = lo[c->row];
	free(lo);
	free(g);
	return v;
}

/* The gradient of a row's log-odds with respect to its tokens, against
 * finite differences, on a model with ReLU (no kink near the point, by
 * the tolerance's floor) and dropout set but not used. */
START_TEST(test_token_gradient)
{
	tp_encoding enc;
	tp_model m;
	tp_batch b;
	tp_err e = {0};
	tp_config cfg = small;
	int B = 3;

	fixture_model_encoding(&enc);
	fixture_rows(&b, (size_t)B, 5);
	cfg.layers = 2;
	ck_assert_int_eq(tp_model_init(&m, &cfg, &enc, 9, 2, &e), TP_OK);
	ck_assert_int_eq(tp_model_plan(&m, B, &e), TP_OK);
	size_t TC = (size_t)m.T * cfg.d_model, n = TC * B;
	float *tokens = malloc(n * sizeof(float)), *grad = malloc(n * sizeof(float));
	float lo[3];
	tp_model_tokens(&m, b.cat, b.num, B, tokens);
	tp_model_token_gradient(&m, tokens, B, lo, grad);
	for (int r = 0; r < B; r++) {
		token_ctx c = {.m = &m, .tokens = tokens, .B = B, .row = r};
		size_t where;
		double err = gradcheck(row_logodds, &c, tokens + TC * r, TC,
		    grad + TC * r, &where);
		ck_assert_msg(err <= GRADCHECK_TOL, "row %d: token element %zu: scaled error %g",
		    r, where, err);
	}
	/* No parameter's gradient was touched. */
	for (size_t k = 0; k < m.nfloats; k++)
		ck_assert(m.grads[k] == 0);
	free(tokens);
	free(grad);
	tp_model_free(&m);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

static void
testdata(char *buf, size_t n, const char *file)
{
	const char *dir = getenv("TP_TESTDATA");

	ck_assert_msg(dir != NULL, "TP_TESTDATA is not set: run with TP_TESTDATA=tests/data");
	snprintf(buf, n, "%s/golden/%s", dir, file);
}

static const float *
golden_tensor(const tp_st_file *f, const char *name, enum tp_dtype dtype,
    int ndim, const int64_t *shape)
{
	tp_tensor t;
	tp_err e = {0};

	ck_assert_msg(tp_st_find(f, name, dtype, ndim, shape, &t, &e) == TP_OK,
	    "%s (`make golden` writes the golden files)", e.msg);
	return t.data;
}

/* The golden model's attributions of its first R input rows, from the
 * profile of those rows, against PyTorch's, with one thread and two. */
START_TEST(test_golden)
{
	char path[4096];
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta = {0};
	tp_st_file in, ref;
	tp_reference r;
	tp_explainer x;
	tp_batch b = {0};
	tp_err e = {0};

	testdata(path, sizeof(path), "weights.safetensors");
	ck_assert_msg(tp_model_load(path, &m, &enc, &meta, TP_WITH_HEAD, 1 + _i,
	    &e) == TP_OK, "%s", e.msg);
	testdata(path, sizeof(path), "inputs.safetensors");
	ck_assert_msg(tp_st_open(&in, path, &e) == TP_OK, "%s", e.msg);
	testdata(path, sizeof(path), "ig_reference.safetensors");
	ck_assert_msg(tp_st_open(&ref, path, &e) == TP_OK,
	    "%s (`make golden` writes it)", e.msg);
	tp_tensor label;
	ck_assert_int_eq(tp_st_find(&in, "label", TP_I8, 1, NULL, &label, &e), TP_OK);
	int R = (int)label.shape[0], T = m.T;
	int64_t cs[2] = {2 * R, m.ncat}, ns[2] = {2 * R, m.nnum};
	ck_assert_int_eq(tp_batch_init(&b, m.ncat, m.nnum, (size_t)R, &e), TP_OK);
	memcpy(b.cat, golden_tensor(&in, "cat", TP_I32, 2, cs),
	    (size_t)R * m.ncat * sizeof(int32_t));
	memcpy(b.num, golden_tensor(&in, "num", TP_F32, 2, ns),
	    (size_t)R * m.nnum * sizeof(float));
	b.n = (size_t)R;
	ck_assert_msg(tp_reference_fit(&r, &enc, &b, &e) == TP_OK, "%s", e.msg);
	int64_t one[1] = {1}, rs[1] = {R}, as[2] = {R, T};
	int steps = (int)*golden_tensor(&ref, "ig.steps", TP_F32, 1, one);
	ck_assert_msg(tp_explainer_open(&x, &m, &r, steps, &e) == TP_OK, "%s", e.msg);

	int64_t bs[2] = {T, m.cfg.d_model};
	const float *base = golden_tensor(&ref, "ig.base_tokens", TP_F32, 2, bs);
	for (size_t k = 0; k < (size_t)T * m.cfg.d_model; k++)
		ck_assert_msg(fabsf(x.base[k] - base[k]) <= 1e-6f,
		    "reference token element %zu: C %.9g, PyTorch %.9g", k,
		    (double)x.base[k], (double)base[k]);
	float want_base = *golden_tensor(&ref, "ig.base_logodds", TP_F32, 1, one);
	ck_assert_msg(fabsf(x.base_logodds - want_base) <= 1e-4f,
	    "reference log-odds: C %.9g, PyTorch %.9g", (double)x.base_logodds,
	    (double)want_base);

	float *attr = malloc((size_t)R * T * sizeof(float));
	float *lo = malloc((size_t)R * sizeof(float));
	tp_explain(&x, b.cat, b.num, R, attr, lo);
	const float *want_attr = golden_tensor(&ref, "ig.attr", TP_F32, 2, as);
	const float *want_lo = golden_tensor(&ref, "ig.logodds", TP_F32, 1, rs);
	double worst = 0;
	for (int i = 0; i < R; i++) {
		ck_assert_msg(fabsf(lo[i] - want_lo[i]) <= 1e-4f,
		    "row %d log-odds: C %.9g, PyTorch %.9g", i, (double)lo[i],
		    (double)want_lo[i]);
		for (int t = 0; t < T; t++) {
			double d = fabs((double)attr[i * T + t] - want_attr[i * T + t]);
			ck_assert_msg(d <= 1e-4,
			    "row %d token %d: C %.9g, PyTorch %.9g, apart by %.3g",
			    i, t, (double)attr[i * T + t],
			    (double)want_attr[i * T + t], d);
			worst = fmax(worst, d);
		}
	}
	if (getenv("TP_GOLDEN_VERBOSE") != NULL)
		fprintf(stderr, "explain golden, %d threads: largest difference %.3g\n",
		    1 + _i, worst);
	free(attr);
	free(lo);
	tp_explainer_free(&x);
	tp_reference_free(&r);
	tp_batch_free(&b);
	tp_st_close(&in);
	tp_st_close(&ref);
	tp_model_meta_free(&meta);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}
END_TEST

typedef struct {
	fixture_trained f;
	tp_reference r;
} trained;

static void
train(trained *t)
{
	tp_err e = {0};

	fixture_train(&t->f, 2);
	ck_assert_msg(tp_reference_fit(&t->r, &t->f.enc, &t->f.train, &e) == TP_OK, "%s", e.msg);
}

static void
untrain(trained *t)
{
	tp_reference_free(&t->r);
	fixture_untrain(&t->f);
}

/* The label depends on n0 and c0: they rank first by mean |attribution|.
 * The gap falls as 1/steps (the head's ReLU switches on paths: the
 * gradient jumps there), and at the default steps is a few hundredths of
 * the change it explains. */
START_TEST(test_signal_ranks_first)
{
	trained t;
	tp_explainer x;
	tp_err e = {0};
	double mean_abs[4];
	tp_explain_gap gap, gap_many;

	train(&t);
	ck_assert_msg(tp_explainer_open(&x, &t.f.m, &t.r, TP_EXPLAIN_STEPS, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(tp_explain_summary(&x, &t.f.test, mean_abs, &gap, &e), TP_OK);
	tp_explainer_free(&x);
	/* Tokens: c0, c1, then n0, n1. */
	double signal = fmin(mean_abs[0], mean_abs[2]);
	double noise = fmax(mean_abs[1], mean_abs[3]);
	ck_assert_msg(signal > noise,
	    "mean |attribution| c0 %g, n0 %g against c1 %g, n1 %g",
	    mean_abs[0], mean_abs[2], mean_abs[1], mean_abs[3]);
	ck_assert_msg(gap.mean < 0.05 * gap.mean_change && gap.max < 0.5,
	    "at %d steps: gap mean %g, largest %g, for a mean change %g",
	    TP_EXPLAIN_STEPS, gap.mean, gap.max, gap.mean_change);
	ck_assert_msg(tp_explainer_open(&x, &t.f.m, &t.r, 8 * TP_EXPLAIN_STEPS, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(tp_explain_summary(&x, &t.f.test, mean_abs, &gap_many, &e), TP_OK);
	tp_explainer_free(&x);
	ck_assert_msg(gap_many.mean < gap.mean / 4 && gap_many.max < gap.max / 4,
	    "gap mean %g, largest %g at %d steps; %g, %g at %d",
	    gap.mean, gap.max, TP_EXPLAIN_STEPS, gap_many.mean, gap_many.max,
	    8 * TP_EXPLAIN_STEPS);
	untrain(&t);
}
END_TEST

/* The attributions of a row do not depend on the rows explained with it,
 * nor on the number of threads, beyond rounding. */
START_TEST(test_rows_alone)
{
	trained t;
	tp_explainer x;
	tp_err e = {0};
	float all[40 * 4], lo[40], one[4], lo1;

	train(&t);
	ck_assert_msg(tp_explainer_open(&x, &t.f.m, &t.r, 8, &e) == TP_OK, "%s", e.msg);
	tp_explain(&x, t.f.test.cat, t.f.test.num, 40, all, lo);
	for (int i = 0; i < 40; i += 13) {
		tp_explain(&x, t.f.test.cat + 2 * i, t.f.test.num + 2 * i, 1, one, &lo1);
		for (int k = 0; k < 4; k++)
			ck_assert_msg(fabsf(one[k] - all[4 * i + k]) <= 1e-5f,
			    "row %d token %d: alone %g, with others %g", i, k,
			    (double)one[k], (double)all[4 * i + k]);
		ck_assert(fabsf(lo1 - lo[i]) <= 1e-5f);
	}
	tp_explainer_free(&x);
	untrain(&t);
}
END_TEST

START_TEST(test_reference_json)
{
	tp_encoding enc;
	tp_batch b;
	tp_reference r, back;
	tp_err e = {0};

	fixture_model_encoding(&enc);
	fixture_rows(&b, 50, 3);
	ck_assert_int_eq(tp_reference_fit(&r, &enc, &b, &e), TP_OK);
	ck_assert_int_eq(r.offset[1], 4);
	ck_assert_int_eq(r.offset[2], 7);
	double total = 0;
	for (int k = 0; k < 4; k++)
		total += r.share[k];
	ck_assert_double_eq_tol(total, 1, 1e-12);
	ck_assert(r.missing[1] > 0 && r.missing[0] == 0);
	cJSON *j = tp_reference_to_json(&r);
	ck_assert_ptr_nonnull(j);
	ck_assert_msg(tp_reference_from_json(&back, &enc, j, "here", &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq((int)back.rows, 50);
	for (int k = 0; k < 7; k++)
		ck_assert_double_eq_tol(back.share[k], r.share[k], 1e-15);
	ck_assert_double_eq_tol(back.mean[0], r.mean[0], 1e-15);
	tp_reference_free(&back);

	/* Shares that do not add up, a list of the wrong length, a missing
	 * share out of range: each refused, by name. */
	cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "categorical"), 0);
	cJSON_ReplaceItemInArray(first, 0, cJSON_CreateNumber(0.9));
	ck_assert_int_eq(tp_reference_from_json(&back, &enc, j, "m.safetensors", &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "m.safetensors") && strstr(e.msg, "add up"), "%s", e.msg);
	cJSON_DeleteItemFromArray(first, 0);
	ck_assert_int_eq(tp_reference_from_json(&back, &enc, j, "m", &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "needs 4 shares"), "%s", e.msg);
	cJSON_Delete(j);
	j = tp_reference_to_json(&r);
	cJSON *n0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "numeric"), 0);
	cJSON_ReplaceItemInObject(n0, "missing", cJSON_CreateNumber(1.5));
	ck_assert_int_eq(tp_reference_from_json(&back, &enc, j, "m", &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "numeric feature 1"), "%s", e.msg);
	cJSON_Delete(j);
	b.n = 0;
	ck_assert_int_eq(tp_reference_fit(&back, &enc, &b, &e), TP_EDATA);
	tp_reference_free(&r);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_top)
{
	const float attr[5] = {0.1f, -2, 0.7f, 0.7f, 0.3f};
	int order[5];

	ck_assert_int_eq(tp_explain_top(attr, 5, 3, order), 3);
	ck_assert_int_eq(order[0], 2);
	ck_assert_int_eq(order[1], 3);
	ck_assert_int_eq(order[2], 4);
	ck_assert_int_eq(tp_explain_top(attr, 5, 9, order), 5);
	ck_assert_int_eq(order[4], 1);
}
END_TEST

/* A model with an additive part, its transformer's output at zero so
 * that its log-odds is the part's alone (plus the output bias): each
 * attribution is its feature's term less the reference's, exactly, and
 * they add up to the change of log-odds; the log-odds is the forward's. */
START_TEST(test_additive_terms)
{
	tp_encoding enc;
	tp_model m;
	tp_batch b;
	tp_reference r;
	tp_explainer x;
	tp_err e = {0};
	tp_config cfg = small;
	tp_rng rng;
	enum { B = 20 };
	float attr[B * 4], logodds[B], prob[B];

	fixture_model_encoding(&enc);
	fixture_rows(&b, B, 3);
	cfg.additive = 1;
	ck_assert_int_eq(tp_model_init(&m, &cfg, &enc, 1, 1, &e), TP_OK);
	tp_additive a = tp_model_additive(&m);
	const tp_param *w = tp_model_param(&m, "head.3.weight");
	memset(m.params + w->offset, 0, w->numel * sizeof(float));
	tp_rng_seed(&rng, 5);
	for (int i = 0; i < tp_additive_width(&a); i++)
		a.weight[i] = (float)tp_rng_normal(&rng);
	for (int k = 0; k < m.nnum; k++)
		for (int t = 0; t < TP_ADDITIVE_KNOTS; t++)
			a.knot[k * TP_ADDITIVE_KNOTS + t] = -1.0f + 0.5f * t;
	ck_assert_int_eq(tp_reference_fit(&r, &enc, &b, &e), TP_OK);
	ck_assert_int_eq(tp_explainer_open(&x, &m, &r, 8, &e), TP_OK);
	tp_explain(&x, b.cat, b.num, B, attr, logodds);
	ck_assert_int_eq(tp_model_plan(&m, B, &e), TP_OK);
	tp_model_predict(&m, b.cat, b.num, B, prob);
	for (int i = 0; i < B; i++) {
		double term[4], sum = 0;
		tp_additive_terms(&a, b.cat + i * m.ncat, b.num + i * m.nnum,
		    term);
		for (int t = 0; t < m.T; t++) {
			sum += attr[i * m.T + t];
			ck_assert_double_eq_tol(attr[i * m.T + t],
			    term[t] - x.additive_base[t], 1e-4);
		}
		ck_assert_double_eq_tol(sum, logodds[i] - x.base_logodds, 1e-4);
		ck_assert_double_eq_tol(logodds[i],
		    log(prob[i]) - log1p(-prob[i]), 1e-4);
	}
	tp_explainer_free(&x);
	tp_reference_free(&r);
	tp_model_free(&m);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(test_bad_steps)
{
	tp_encoding enc;
	tp_model m;
	tp_batch b;
	tp_reference r;
	tp_explainer x;
	tp_err e = {0};

	fixture_model_encoding(&enc);
	fixture_rows(&b, 10, 3);
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 1, 1, &e), TP_OK);
	ck_assert_int_eq(tp_reference_fit(&r, &enc, &b, &e), TP_OK);
	ck_assert_int_eq(tp_explainer_open(&x, &m, &r, 0, &e), TP_EUSAGE);
	ck_assert_int_eq(tp_explainer_open(&x, &m, &r, TP_EXPLAIN_MAX_STEPS + 1, &e), TP_EUSAGE);
	tp_reference_free(&r);
	tp_model_free(&m);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
explain_suite(void)
{
	Suite *s = suite_create("explain");
	TCase *tc = tcase_create("explain");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gauss_legendre);
	tcase_add_test(tc, test_token_gradient);
	tcase_add_loop_test(tc, test_golden, 0, 2);
	tcase_add_test(tc, test_signal_ranks_first);
	tcase_add_test(tc, test_rows_alone);
	tcase_add_test(tc, test_reference_json);
	tcase_add_test(tc, test_top);
	tcase_add_test(tc, test_additive_terms);
	tcase_add_test(tc, test_bad_steps);
	suite_add_tcase(s, tc);
	return s;
}
