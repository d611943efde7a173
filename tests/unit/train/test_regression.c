/*
 * test_regression: the penalised additive regression. At the weights fitted,
 * the penalised log-loss's gradient is zero (the classes' losses weighted
 * alike or not), each part of it worked out
 * here from the log-odds alone (so a wrong sign, column or penalty in the
 * fit shows); the penalty is one of the grid; the knots are the training
 * values' quantiles; a missing value counts through its flag alone; rows
 * without a label change nothing; one class alone is an error; the rows a
 * fit reads are the labelled ones, all or a sample from all over.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "fixture.h"
#include "train/regression.h"
#include "train/rows.h"
#include "suites.h"

enum { ROWS = 600, NCAT = 2, NNUM = 2, K = TP_ADDITIVE_KNOTS,
	P = 1 + 7 + NNUM * (2 + K) };
static const int vocab_offset[NCAT] = {0, 4};  /* 4 and 3 table rows */

/* The part's numbers, which a model would hold. */
typedef struct {
	tp_additive a;
	float weight[P], knot[NNUM * K];
	double penalty;
} part;

static void
part_init(part *p)
{
	memset(p, 0, sizeof(*p));
	p->a = (tp_additive){.ncat = NCAT, .nnum = NNUM, .vocab_rows = 7,
	    .vocab_offset = vocab_offset, .weight = p->weight,
	    .knot = p->knot};
}

/* n labelled rows whose log-odds are additive in their features, with a
 * curve in numeric 0 (a hinge at 0.5), numeric 1 missing on every 7th
 * row; then `unlabelled` rows of label -1. */
static void
rows_n(tp_batch *b, size_t n, int unlabelled)
{
	static const double level_effect[2][4] = {{0, -1, 0.5, 1.5},
	    {0, 0.8, -0.8, 0}};
	tp_err e = {0};
	tp_rng rng;

	tp_rng_seed(&rng, 7);
	ck_assert_int_eq(tp_batch_init(b, NCAT, NNUM, n + (size_t)unlabelled,
	    &e), TP_OK);
	for (size_t r = 0; r < n + (size_t)unlabelled; r++) {
		int32_t *c = b->cat + r * NCAT;
		float *x = b->num + r * NNUM;
		double eta;

		b->id[r] = (int64_t)r + 1;
		c[0] = (int32_t)tp_rng_below(&rng, 4);
		c[1] = 1 + (int32_t)tp_rng_below(&rng, 2);
		x[0] = (float)tp_rng_normal(&rng);
		x[1] = r % 7 == 0 ? NAN : (float)tp_rng_normal(&rng);
		eta = -1 + level_effect[0][c[0]] + level_effect[1][c[1]] +
		    0.5 * x[0] + 1.5 * (x[0] > 0.5 ? x[0] - 0.5 : 0) +
		    (isnan(x[1]) ? 1 : -0.7 * x[1]);
		b->label[r] = r >= n ? -1 :
		    tp_rng_float(&rng) < 1 / (1 + exp(-eta));
	}
	b->n = n + (size_t)unlabelled;
}

static void
rows_of(tp_batch *b, int unlabelled)
{
	rows_n(b, ROWS, unlabelled);
}

/* A teacher's probabilities of the rows of b: a step in numeric 0, which
 * no curve of the part fits exactly, whatever the labels. */
static float *
targets_of(const tp_batch *b)
{
	float *t = malloc(b->n * sizeof(float));

	ck_assert_ptr_nonnull(t);
	for (size_t r = 0; r < b->n; r++)
		t[r] = b->num[r * NNUM] > 0.3f ? 0.7f : 0.15f;
	return t;
}

/* Fits p to the rows, toward their labels or (taught) a teacher's
 * targets, the losses weighted by class_weight (2) or, NULL, alike. */
static void
fit_weighted(part *p, size_t n, int unlabelled, int taught,
    const float *class_weight)
{
	tp_batch b = {0};
	tp_err e = {0};
	float *target;

	part_init(p);
	rows_n(&b, n, unlabelled);
	target = taught ? targets_of(&b) : NULL;
	ck_assert_msg(tp_regression_fit(&p->a, &b, target, class_weight,
	    &p->penalty, &e) == TP_OK, "%s", e.msg);
	free(target);
	tp_batch_free(&b);
}

static void
fit(part *p, int unlabelled)
{
	fit_weighted(p, ROWS, unlabelled, 0, NULL);
}

/* The penalised log-loss's gradient at a's weights over the rows of b,
 * column by column, toward target (NULL: the labels), the classes
 * weighed by cw (NULL: alike), is zero to 1e-6 of the rows' |p - y|. */
static void
assert_stationary(const tp_additive *a, double penalty, const tp_batch *b,
    const float *target, const float *cw)
{
	double grad[P] = {0}, scale = 0;

	for (size_t r = 0; r < b->n; r++) {
		const int32_t *c = b->cat + r * NCAT;
		const float *x = b->num + r * NNUM;
		double y = target ? target[r] : b->label[r];
		double w = !cw ? 1 : b->label[r] >= 0 ? cw[b->label[r]] :
		    y * cw[1] + (1 - y) * cw[0];
		double d = w * (1 / (1 + exp(-tp_additive_logit(a, c, x))) - y);

		grad[0] += d;
		for (int j = 0; j < NCAT; j++)
			grad[1 + vocab_offset[j] + c[j]] += d;
		for (int k = 0; k < NNUM; k++) {
			double *g = grad + 8 + k * (2 + K);
			if (isnan(x[k])) {
				g[1] += d;
				continue;
			}
			g[0] += d * x[k];
			for (int t = 0; t < K; t++)
				if (x[k] > a->knot[k * K + t])
					g[2 + t] += d * (x[k] - a->knot[k * K + t]);
		}
		scale += fabs(d);
	}
	for (int j = 0; j < P; j++) {
		double g = grad[j] + (j > 0 ? penalty * a->weight[j] : 0);
		ck_assert_msg(fabs(g) < 1e-6 * scale, "column %d: gradient %g "
		    "(of rows' |p - y| %g)", j, g, scale);
	}
}

/* _i: 0 toward the labels, 1 with the positive class weighed 5 times
 * the negative, 2 toward a teacher's targets, 40 rows unlabelled, with
 * the same weights (an unlabelled row weighs as its target expects); 3
 * toward the labels of more rows than the cross-validation reads, whose
 * weights are still those of all the rows. */
START_TEST(test_regression_stationary)
{
	static const float weighed[2] = {0.6f, 3.0f};
	const float *cw = _i == 1 || _i == 2 ? weighed : NULL;
	size_t n = _i == 3 ? TP_REGRESSION_CV_ROWS + 5000 : ROWS;
	part fitted;
	tp_additive a;
	tp_batch b = {0};
	int on_grid = 0, unlabelled = _i == 2 ? 40 : 0;
	float *target;

	fit_weighted(&fitted, n, unlabelled, _i == 2, cw);
	a = fitted.a;
	rows_n(&b, n, unlabelled);
	target = _i == 2 ? targets_of(&b) : NULL;
	for (int i = 0; i < TP_REGRESSION_PENALTIES; i++)
		on_grid |= fitted.penalty == tp_regression_penalty(i);
	ck_assert_msg(on_grid, "penalty %g is not on the grid",
	    fitted.penalty);
	assert_stationary(&a, fitted.penalty, &b, target, cw);
	/* The weights the rows ask for: level 3 of c0 above level 1, the
	 * missing flag of numeric 1 above its present values' mean; the
	 * teacher's, a curve of numeric 0 that rises. */
	if (target == NULL) {
		ck_assert(a.weight[1 + 3] > a.weight[1 + 1]);
		ck_assert(a.weight[8 + (2 + K) + 1] > 0);
	} else
		ck_assert(tp_additive_numeric_term(&a, 0, 1) >
		    tp_additive_numeric_term(&a, 0, -1) + 1);
	free(target);
	tp_batch_free(&b);
}
END_TEST

/* A feature of more levels than the whole Hessian is made for: the fit
 * goes by conjugate gradients, to the same stationary point, and the
 * levels' weights follow their effects. */
START_TEST(test_regression_many_levels)
{
	enum { LEVELS = 1500, N = 4000, W = 1 + LEVELS + 2 + K };
	static const int offset[1] = {0};
	static float weight[W], knot[K];
	static double effect[LEVELS], grad[W];
	tp_additive a = {.ncat = 1, .nnum = 1, .vocab_rows = LEVELS,
	    .vocab_offset = offset, .weight = weight, .knot = knot};
	tp_batch b = {0};
	tp_err e = {0};
	tp_rng rng;
	double penalty, scale = 0, val[1 + 1 + 1 + K], sxy = 0, sxx = 0;
	int col[1 + 1 + 1 + K];

	ck_assert_int_gt(W, 1024);
	tp_rng_seed(&rng, 11);
	for (int v = 0; v < LEVELS; v++)
		effect[v] = 0.8 * tp_rng_normal(&rng);
	ck_assert_int_eq(tp_batch_init(&b, 1, 1, N, &e), TP_OK);
	for (size_t r = 0; r < N; r++) {
		int32_t v = (int32_t)tp_rng_below(&rng, LEVELS);
		float x = (float)tp_rng_normal(&rng);
		b.cat[r] = v;
		b.num[r] = x;
		b.label[r] = tp_rng_float(&rng) < 1 / (1 + exp(-(-1 +
		    effect[v] + 0.8 * x)));
		b.id[r] = (int64_t)r;
	}
	b.n = N;
	ck_assert_msg(tp_regression_fit(&a, &b, NULL, NULL, &penalty, &e) ==
	    TP_OK, "%s", e.msg);
	memset(grad, 0, sizeof(grad));
	for (size_t r = 0; r < N; r++) {
		double d = 1 / (1 + exp(-tp_additive_logit(&a, b.cat + r,
		    b.num + r))) - b.label[r];
		int nz = tp_additive_design(&a, b.cat + r, b.num + r, col, val);
		for (int i = 0; i < nz; i++)
			grad[col[i]] += d * val[i];
		scale += fabs(d);
	}
	for (int j = 0; j < W; j++) {
		double g = grad[j] + (j > 0 ? penalty * weight[j] : 0);
		ck_assert_msg(fabs(g) < 1e-6 * scale, "column %d: gradient %g "
		    "(of rows' |p - y| %g)", j, g, scale);
	}
	for (int v = 0; v < LEVELS; v++) {
		sxy += effect[v] * weight[1 + v];
		sxx += effect[v] * effect[v];
	}
	ck_assert_msg(sxy / sxx > 0.1, "the levels' weights against their "
	    "effects: slope %g", sxy / sxx);
	tp_batch_free(&b);
}
END_TEST

START_TEST(test_regression_knots_and_missing)
{
	part fitted;
	tp_additive a;
	tp_batch b = {0};
	tp_err e = {0};
	int32_t cat[NCAT] = {0, 0};
	float present[NNUM] = {0, 0.25f}, missing[NNUM] = {0, NAN};
	const float *col;

	/* Numeric 0 takes the values 1 to 100 (1 and 2 twice): its knots
	 * are numpy's linear quantiles at 1/6 to 5/6. */
	ck_assert_int_eq(tp_batch_init(&b, NCAT, NNUM, 102, &e), TP_OK);
	for (size_t r = 0; r < 102; r++) {
		b.cat[r * NCAT] = (int32_t)(r % 4);
		b.cat[r * NCAT + 1] = 1;
		b.num[r * NNUM] = (float)(r < 100 ? r + 1 : r - 99);
		b.num[r * NNUM + 1] = r % 3 ? (float)r / 100 : NAN;
		b.label[r] = r % 5 == 0;
		b.id[r] = (int64_t)r;
	}
	b.n = 102;
	part_init(&fitted);
	a = fitted.a;
	ck_assert_msg(tp_regression_fit(&a, &b, NULL, NULL, &fitted.penalty,
	    &e) == TP_OK, "%s", e.msg);
	/* Sorted: 1 1 2 2 3 ... 100, so value i is i - 1 from i = 3 on;
	 * the knot at position (t + 1) / 6 * 101 lies between values
	 * 16 and 85. */
	for (int t = 0; t < K; t++) {
		double at = (t + 1) / 6.0 * 101, lo = floor(at);
		ck_assert_float_eq_tol(a.knot[t], lo - 1 + (at - lo), 1e-4);
	}
	/* Missing: the flag's weight in place of the value's terms (at 0,
	 * below every knot of numeric 1, only its linear term, 0). */
	col = a.weight + 8 + (2 + K);
	ck_assert_double_eq_tol(tp_additive_logit(&a, cat, missing) -
	    tp_additive_logit(&a, cat, (float[]){0, 0}), col[1], 1e-12);
	ck_assert(tp_additive_logit(&a, cat, present) !=
	    tp_additive_logit(&a, cat, missing));
	tp_batch_free(&b);
}
END_TEST

START_TEST(test_regression_unlabelled_and_one_class)
{
	part alone, with;
	tp_batch b = {0};
	tp_err e = {0};

	fit(&alone, 0);
	fit(&with, 40);
	ck_assert_double_eq(with.penalty, alone.penalty);
	ck_assert_mem_eq(with.weight, alone.weight, sizeof(alone.weight));

	rows_of(&b, 0);
	for (size_t r = 0; r < b.n; r++)
		b.label[r] = 0;
	ck_assert_int_eq(tp_regression_fit(&alone.a, &b, NULL, NULL,
	    &alone.penalty, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "both classes") != NULL, "%s", e.msg);
	tp_batch_free(&b);
}
END_TEST

START_TEST(test_regression_rows_sampled)
{
	tp_batch b = {0}, all = {0}, some = {0};
	tp_encoding enc;
	tp_rows *src;
	tp_err e = {0};
	char dir[] = "/tmp/tp_regressionXXXXXX", *path;
	int seen[ROWS + 40] = {0}, late = 0;

	rows_of(&b, 40);
	ck_assert_int_eq(tp_rows_memory(&src, &b, &e), TP_OK);
	/* Room for all: every row with its label, for a teacher's fit;
	 * then every labelled row once, no other. */
	ck_assert_msg(tp_regression_rows(src, NCAT, NNUM, 1000, 1, &all, &e) ==
	    TP_OK, "%s", e.msg);
	ck_assert_uint_eq(all.n, ROWS + 40);
	tp_batch_free(&all);
	ck_assert_msg(tp_regression_rows(src, NCAT, NNUM, 1000, 0, &all, &e) ==
	    TP_OK, "%s", e.msg);
	tp_rows_close(src);
	ck_assert_uint_eq(all.n, ROWS);
	for (size_t i = 0; i < all.n; i++) {
		int64_t id = all.id[i];
		ck_assert(id <= ROWS);
		ck_assert_int_eq(seen[id - 1]++, 0);
		ck_assert_int_eq(all.label[i], b.label[id - 1]);
		ck_assert_float_eq(all.num[i * NNUM], b.num[(id - 1) * NNUM]);
	}
	/* Room for 100, through a shuffle buffer of 50 rows, whose first
	 * hundred rows come from the file's first blocks: still 100
	 * labelled rows, each once, from all over the file. */
	fixture_folder(dir);
	fixture_model_encoding(&enc);
	path = fixture_stream_file(dir, "rows.tps", &enc, &b, 0, b.n);
	ck_assert_int_eq(tp_rows_open(&src, &path, 1, NULL, 50, &e), TP_OK);
	memset(seen, 0, sizeof(seen));
	ck_assert_msg(tp_regression_rows(src, NCAT, NNUM, 100, 0, &some, &e) ==
	    TP_OK, "%s", e.msg);
	ck_assert_uint_eq(some.n, 100);
	for (size_t i = 0; i < some.n; i++) {
		ck_assert(some.id[i] <= ROWS);
		ck_assert_int_eq(seen[some.id[i] - 1]++, 0);
		late += some.id[i] > ROWS / 2;
	}
	ck_assert_msg(late > 25 && late < 75, "%d of 100 from the second half",
	    late);
	tp_rows_close(src);
	free(path);
	fixture_folder_remove(dir);
	tp_encoding_free(&enc);
	tp_batch_free(&all);
	tp_batch_free(&some);
	tp_batch_free(&b);
}
END_TEST

/* Labels that are nearly a step in numeric 0 (1 % of them flipped): the
 * curve's weights grow large, full Newton steps overshoot and are
 * halved, and the fit still ends stationary. */
START_TEST(test_regression_sharp)
{
	part fitted;
	tp_batch b = {0};
	tp_err e = {0};
	tp_rng rng;

	tp_rng_seed(&rng, 5);
	ck_assert_int_eq(tp_batch_init(&b, NCAT, NNUM, 800, &e), TP_OK);
	for (size_t r = 0; r < 800; r++) {
		int32_t *c = b.cat + r * NCAT;
		float *x = b.num + r * NNUM;

		b.id[r] = (int64_t)r + 1;
		c[0] = (int32_t)tp_rng_below(&rng, 4);
		c[1] = 1 + (int32_t)tp_rng_below(&rng, 2);
		x[0] = (float)tp_rng_normal(&rng);
		x[1] = (float)tp_rng_normal(&rng);
		b.label[r] = (x[0] > 0) != (tp_rng_float(&rng) < 0.01);
	}
	b.n = 800;
	part_init(&fitted);
	ck_assert_msg(tp_regression_fit(&fitted.a, &b, NULL, NULL,
	    &fitted.penalty, &e) == TP_OK, "%s", e.msg);
	assert_stationary(&fitted.a, fitted.penalty, &b, NULL, NULL);
	tp_batch_free(&b);
}
END_TEST

Suite *
regression_suite(void)
{
	Suite *s = suite_create("regression");
	TCase *tc = tcase_create("regression");

	/* 25,000 rows' fits, slow under the sanitizers and valgrind. */
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_regression_stationary, 0, 4);
	tcase_add_test(tc, test_regression_many_levels);
	tcase_add_test(tc, test_regression_sharp);
	tcase_add_test(tc, test_regression_knots_and_missing);
	tcase_add_test(tc, test_regression_unlabelled_and_one_class);
	tcase_add_test(tc, test_regression_rows_sampled);
	suite_add_tcase(s, tc);
	return s;
}
