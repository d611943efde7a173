/*
 * The golden test: the C model against the same model in PyTorch.
 *
 * tests/golden/gen.c wrote a model file (default sizes, dropout 0, head and
 * projector) and its inputs; tests/golden/reference.py ran them through
 * tests/golden/tabtransformer.py and wrote the logits, the probabilities,
 * the losses (on labels, on soft targets, with the categorical tables
 * shrunk, and NT-Xent) and every gradient. `make golden` makes the three files,
 * which are committed under $TP_TESTDATA/golden, so this needs no Python;
 * and an ensemble of three, with tests/golden/ensemble_reference.py's
 * probabilities.
 * Here the C model loads the same file and computes the same, with one
 * thread and with two.
 *
 * Both sides compute in float32 along different summation orders, so:
 * outputs and losses agree to 1e-4 of their size (floor 1e-3); gradients
 * to 1e-3 of the larger of the element and 1% of the tensor's largest
 * element, since a small element of a large gradient carries the absolute
 * rounding of the large ones (the key bias's gradient is zero up to
 * rounding). With TP_GOLDEN_VERBOSE set, each test prints its largest
 * errors to stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/modelfile.h"
#include "model/safetensors.h"
#include "suites.h"

#define OUT_TOL 1e-4      /* logits, probabilities, losses */
#define OUT_FLOOR 1e-3
#define GRAD_TOL 1e-3
#define GRAD_FLOOR 1e-2   /* of the tensor's largest element */

typedef struct {
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_st_file in, ref;       /* inputs.safetensors, reference.safetensors */
	int rows;                 /* R; cat and num hold 2R rows */
	const int32_t *cat;       /* (2R,NC) */
	const float *num;         /* (2R,NN) NaN for missing */
	const int8_t *label;      /* (R) */
	const float *target;      /* (R) soft targets for the labels */
	const float *class_weight;/* (2) */
	float tau;
} golden;

static void
golden_path(char *buf, size_t n, const char *file)
{
	const char *dir = getenv("TP_TESTDATA");

	ck_assert_msg(dir != NULL,
	    "TP_TESTDATA is not set: run with TP_TESTDATA=tests/data");
	snprintf(buf, n, "%s/golden/%s", dir, file);
}

/* A tensor of f that must be there with that dtype and shape (shape NULL:
 * any). */
static tp_tensor
tensor(const tp_st_file *f, const char *name, enum tp_dtype dtype, int ndim,
    const int64_t *shape)
{
	tp_tensor t;
	tp_err e = {0};

	ck_assert_msg(tp_st_find(f, name, dtype, ndim, shape, &t, &e) == TP_OK,
	    "%s (`make golden` writes the golden files)", e.msg);
	return t;
}

static void
golden_open(golden *g, int nthreads)
{
	char path[4096];
	tp_err e = {0};

	memset(g, 0, sizeof(*g));
	golden_path(path, sizeof(path), "weights.safetensors");
	ck_assert_msg(tp_model_load(path, &g->m, &g->enc, &g->meta,
	    TP_WITH_HEAD | TP_WITH_PROJECTOR, nthreads, &e) == TP_OK, "%s", e.msg);
	golden_path(path, sizeof(path), "inputs.safetensors");
	ck_assert_msg(tp_st_open(&g->in, path, &e) == TP_OK,
	    "%s (`make golden` writes the golden files)", e.msg);
	golden_path(path, sizeof(path), "reference.safetensors");
	ck_assert_msg(tp_st_open(&g->ref, path, &e) == TP_OK,
	    "%s (`make golden` writes the golden files)", e.msg);

	tp_tensor t = tensor(&g->in, "label", TP_I8, 1, NULL);
	ck_assert_msg(t.ndim == 1 && t.shape[0] > 0, "label: shape (R) expected");
	g->rows = (int)t.shape[0];
	g->label = t.data;
	int64_t cs[2] = {2 * g->rows, g->m.ncat}, ns[2] = {2 * g->rows, g->m.nnum};
	int64_t two[1] = {2}, one[1] = {1};
	g->cat = tensor(&g->in, "cat", TP_I32, 2, cs).data;
	g->num = tensor(&g->in, "num", TP_F32, 2, ns).data;
	int64_t rs[1] = {g->rows};
	g->target = tensor(&g->in, "target", TP_F32, 1, rs).data;
	g->class_weight = tensor(&g->in, "class_weight", TP_F32, 1, two).data;
	g->tau = *(const float *)tensor(&g->in, "tau", TP_F32, 1, one).data;
	ck_assert_msg(tp_model_plan(&g->m, 2 * g->rows, &e) == TP_OK, "%s",
	    e.msg);
}

static void
golden_close(golden *g)
{
	tp_model_free(&g->m);
	tp_encoding_free(&g->enc);
	tp_st_close(&g->in);
	tp_st_close(&g->ref);
}

static double
max_abs(const float *x, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs((double)x[i]));
	return m;
}

/* Compares n values of the C model (got) with the reference tensor want:
 * |got - want| <= tol * max(|want|, floor). Returns the largest
 * |got - want| / max(|want|, floor). */
static double
compare(const char *name, const float *got, const tp_tensor *want, size_t n,
    double tol, double floor)
{
	const float *w = want->data;
	size_t cols = want->ndim == 2 ? (size_t)want->shape[1] : 1;
	double worst = 0;

	for (size_t i = 0; i < n; i++) {
		double a = got[i], b = w[i], scale = fmax(fabs(b), floor);
		double err = scale > 0 ? fabs(a - b) / scale :
		    (a == b ? 0 : INFINITY);
		if (!(err <= tol)) {
			if (want->ndim == 2)
				ck_abort_msg("%s[%zu, %zu]: C %.9g, PyTorch %.9g: they differ by %.3g, more than %g x %.3g",
				    name, i / cols, i % cols, a, b, fabs(a - b),
				    tol, scale);
			else
				ck_abort_msg("%s[%zu]: C %.9g, PyTorch %.9g: they differ by %.3g, more than %g x %.3g",
				    name, i, a, b, fabs(a - b), tol, scale);
		}
		worst = fmax(worst, err);
	}
	return worst;
}

/* Compares the model's gradients with the reference's prefix + name for
 * every parameter of the loss; those of the other branch (the projector
 * for the classifier, the head for NT-Xent) must be exactly zero. */
static double
compare_grads(const golden *g, const char *prefix, enum tp_part other,
    const char **worst_name)
{
	double worst = 0;
	char name[128];

	for (int i = 0; i < g->m.nparam; i++) {
		const tp_param *p = &g->m.param[i];
		const float *grad = g->m.grads + p->offset;
		snprintf(name, sizeof(name), "%s%s", prefix, p->name);
		if (p->part == other) {
			for (size_t k = 0; k < p->numel; k++)
				ck_assert_msg(grad[k] == 0,
				    "%s[%zu] is %g: this loss does not reach %s",
				    name, k, (double)grad[k], p->name);
			continue;
		}
		int64_t shape[2] = {p->shape[0], p->shape[1]};
		tp_tensor t = tensor(&g->ref, name, TP_F32, p->ndim, shape);
		double err = compare(name, grad, &t, p->numel, GRAD_TOL,
		    GRAD_FLOOR * max_abs(t.data, p->numel));
		if (err > worst) {
			worst = err;
			*worst_name = p->name;
		}
	}
	return worst;
}

static float
scalar(const golden *g, const char *name)
{
	int64_t one[1] = {1};

	return *(const float *)tensor(&g->ref, name, TP_F32, 1, one).data;
}

static int
verbose(void)
{
	return getenv("TP_GOLDEN_VERBOSE") != NULL;
}

/* The classifier's step on the labels and on soft targets (a student's, in
 * distillation), with n threads. */
static void
classify(int nthreads, int soft)
{
	golden g;
	const char *wname = "";
	const char *lname = soft ? "soft_loss" : "loss";

	golden_open(&g, nthreads);
	float loss = tp_model_classify_step(&g.m, g.cat, g.num, g.label,
	    soft ? g.target : NULL, g.class_weight, g.rows, 1);
	int64_t ls[2] = {g.rows, 2}, one[1] = {1};
	tp_tensor want_loss = tensor(&g.ref, lname, TP_F32, 1, one);
	tp_tensor want_logits = tensor(&g.ref, "logits", TP_F32, 2, ls);
	double eloss = compare(lname, &loss, &want_loss, 1, OUT_TOL, OUT_FLOOR);
	double elogits = compare("logits", g.m.logits, &want_logits,
	    (size_t)g.rows * 2, OUT_TOL, OUT_FLOOR);
	double egrad = compare_grads(&g, soft ? "soft_grad." : "grad.",
	    TP_PART_PROJECTOR, &wname);
	if (verbose())
		fprintf(stderr, "golden classify%s, %d thread(s): loss C %.9g PyTorch %.9g; largest errors: loss %.3g, logits %.3g, gradients %.3g (%s)\n",
		    soft ? " on soft targets" : "", nthreads, (double)loss,
		    (double)scalar(&g, lname), eloss, elogits, egrad, wname);
	golden_close(&g);
}

/* The classifier's step on the labels with the tables shrunk by the
 * inputs' factors (tp_model_shrink), with n threads. */
START_TEST(test_classify_shrunk)
{
	golden g;
	const char *wname = "";
	tp_err e = {0};

	golden_open(&g, _i);
	int64_t rs[1] = {g.m.vocab_rows}, one[1] = {1};
	const float *b = tensor(&g.in, "shrink_b", TP_F32, 1, rs).data;
	const float *w = tensor(&g.in, "shrink_w", TP_F32, 1, rs).data;
	ck_assert_msg(tp_model_shrink(&g.m, b, w, &e) == TP_OK, "%s", e.msg);
	float loss = tp_model_classify_step(&g.m, g.cat, g.num, g.label, NULL,
	    g.class_weight, g.rows, 1);
	tp_tensor want = tensor(&g.ref, "shrink_loss", TP_F32, 1, one);
	double eloss = compare("shrink_loss", &loss, &want, 1, OUT_TOL,
	    OUT_FLOOR);
	double egrad = compare_grads(&g, "shrink_grad.", TP_PART_PROJECTOR,
	    &wname);
	if (verbose())
		fprintf(stderr, "golden classify, tables shrunk, %d thread(s): loss C %.9g PyTorch %.9g; largest errors: loss %.3g, gradients %.3g (%s)\n",
		    _i, (double)loss, (double)scalar(&g, "shrink_loss"), eloss,
		    egrad, wname);
	golden_close(&g);
}
END_TEST

/* _i is the number of threads. */
START_TEST(test_classify)
{
	classify(_i, 0);
}
END_TEST

START_TEST(test_classify_soft)
{
	classify(_i, 1);
}
END_TEST

START_TEST(test_predict)
{
	golden g;

	golden_open(&g, _i);
	float *prob = malloc((size_t)g.rows * sizeof(float));
	ck_assert_ptr_nonnull(prob);
	tp_model_predict(&g.m, g.cat, g.num, g.rows, prob);
	int64_t ps[1] = {g.rows};
	tp_tensor want = tensor(&g.ref, "prob", TP_F32, 1, ps);
	double err = compare("prob", prob, &want, (size_t)g.rows, OUT_TOL,
	    OUT_FLOOR);
	if (verbose())
		fprintf(stderr, "golden predict, %d thread(s): largest error of prob %.3g\n",
		    _i, err);
	free(prob);
	golden_close(&g);
}
END_TEST

/* The golden model file `name` loaded into *m (with *enc and *meta, the
 * caller's to free) on threads threads, its probabilities of the golden
 * rows compared with those of the reference file `reference`; the
 * largest error, and the probabilities in *prob (to free). */
static double
scores_as_reference(golden *g, const char *name, const char *reference,
    int threads, tp_model *m, tp_encoding *enc, tp_model_meta *meta,
    float **prob)
{
	tp_st_file ref;
	char path[4096];
	tp_err e = {0};
	int64_t ps[1] = {g->rows};
	double err;

	golden_path(path, sizeof(path), name);
	ck_assert_msg(tp_model_load(path, m, enc, meta, TP_WITH_HEAD, threads,
	    &e) == TP_OK, "%s", e.msg);
	golden_path(path, sizeof(path), reference);
	ck_assert_msg(tp_st_open(&ref, path, &e) == TP_OK,
	    "%s (`make golden` writes the golden files)", e.msg);
	ck_assert_int_eq(tp_model_plan(m, g->rows, &e), TP_OK);
	*prob = malloc((size_t)g->rows * sizeof(float));
	ck_assert_ptr_nonnull(*prob);
	tp_model_predict(m, g->cat, g->num, g->rows, *prob);
	tp_tensor want = tensor(&ref, "prob", TP_F32, 1, ps);
	err = compare("prob", *prob, &want, (size_t)g->rows, OUT_TOL,
	    OUT_FLOOR);
	tp_st_close(&ref);
	return err;
}

/* An ensemble of three (tests/golden/gen.c) against
 * tests/golden/ensemble_reference.py: PyTorch's mean of the members'
 * logits. And what its members' own log-odds say it is. */
START_TEST(test_ensemble)
{
	golden g;
	tp_model ens;
	tp_encoding enc;
	tp_model_meta meta;
	float *prob;

	golden_open(&g, 1);
	double err = scores_as_reference(&g, "ensemble.safetensors",
	    "ensemble_reference.safetensors", _i, &ens, &enc, &meta, &prob);
	ck_assert_int_eq(ens.nmembers, 3);
	/* The first member is the golden model, whose tensors it shares; it
	 * scores alone as that model (the ensemble itself is member 0). */
	ck_assert_int_eq(memcmp(ens.params, g.m.params,
	    g.m.nfloats * sizeof(float)), 0);
	for (int r = 0; r < g.rows; r++) {
		double sum = 0;
		for (int j = 0; j < ens.nmembers; j++) {
			float p;
			tp_model_predict(j == 0 ? &g.m : tp_model_member(&ens, j),
			    g.cat + (size_t)r * ens.ncat,
			    g.num + (size_t)r * ens.nnum, 1, &p);
			sum += log(p) - log1p(-p);
		}
		ck_assert_double_eq_tol(prob[r], 1 / (1 + exp(-sum / 3)), 1e-6);
	}
	if (verbose())
		fprintf(stderr, "golden ensemble, %d thread(s): largest error of prob %.3g\n",
		    _i, err);
	free(prob);
	tp_model_free(&ens);
	tp_encoding_free(&enc);
	tp_model_meta_free(&meta);
	golden_close(&g);
}
END_TEST

/* A model with an additive part of random weights and knots
 * (tests/golden/gen.c) against tests/golden/ensemble_reference.py: the
 * transformer's logits plus the part's log-odds, in PyTorch. */
START_TEST(test_additive)
{
	golden g;
	tp_model add;
	tp_encoding enc;
	tp_model_meta meta;
	float *prob;

	golden_open(&g, 1);
	double err = scores_as_reference(&g, "additive.safetensors",
	    "additive_reference.safetensors", _i, &add, &enc, &meta, &prob);
	ck_assert_int_eq(add.cfg.additive, 1);
	if (verbose())
		fprintf(stderr, "golden additive, %d thread(s): largest error of prob %.3g\n",
		    _i, err);
	free(prob);
	tp_model_free(&add);
	tp_encoding_free(&enc);
	tp_model_meta_free(&meta);
	golden_close(&g);
}
END_TEST

START_TEST(test_contrast)
{
	golden g;
	const char *wname = "";

	golden_open(&g, _i);
	float loss = tp_model_contrast_step(&g.m, g.cat, g.num, g.rows, g.tau);
	int64_t one[1] = {1};
	tp_tensor want_loss = tensor(&g.ref, "ntxent_loss", TP_F32, 1, one);
	double eloss = compare("ntxent_loss", &loss, &want_loss, 1, OUT_TOL,
	    OUT_FLOOR);
	double egrad = compare_grads(&g, "ntxent_grad.", TP_PART_HEAD, &wname);
	if (verbose())
		fprintf(stderr, "golden NT-Xent, %d thread(s): loss C %.9g PyTorch %.9g; largest errors: loss %.3g, gradients %.3g (%s)\n",
		    _i, (double)loss, (double)scalar(&g, "ntxent_loss"), eloss,
		    egrad, wname);
	golden_close(&g);
}
END_TEST

Suite *
golden_suite(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("pytorch");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_classify, 1, 3);
	tcase_add_loop_test(tc, test_classify_soft, 1, 3);
	tcase_add_loop_test(tc, test_classify_shrunk, 1, 3);
	tcase_add_loop_test(tc, test_predict, 1, 3);
	tcase_add_loop_test(tc, test_contrast, 1, 3);
	tcase_add_loop_test(tc, test_ensemble, 1, 3);
	tcase_add_loop_test(tc, test_additive, 1, 3);
	suite_add_tcase(s, tc);
	return s;
}
