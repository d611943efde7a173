/* The whole model: gradient checks of both losses, threads, model files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "gradcheck.h"
#include "model/layers.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "suites.h"

enum { ROWS = 6 };

static const tp_config small = {
	.layers = 2, .d_model = 8, .heads = 2, .d_ff = 12, .head_hidden = 6,
	.proj_dim = 4, .dropout = 0, .activation = TP_GELU,
};

/* 2 x ROWS rows so that the contrastive step has its two views. */
static const int32_t cat[2 * ROWS * 2] = {
	1, 2, 0, 1, 3, 0, 2, 2, 1, 1, 3, 2,
	1, 0, 0, 1, 3, 2, 2, 0, 1, 1, 0, 2,
};
static const float num[2 * ROWS * 2] = {
	0.5f, -1, NAN, 0.2f, 1.5f, 0.3f, -0.7f, NAN, 0.1f, 2, -1.2f, 0.4f,
	0.5f, NAN, 1.1f, 0.2f, NAN, 0.3f, -0.7f, 0.9f, 0.1f, 2, -1.2f, NAN,
};
static const int8_t label[ROWS] = {0, 1, 1, 0, 1, 0};
static const float class_weight[2] = {0.7f, 1.8f};

typedef struct { tp_model *m; int contrast; } loss_ctx;

static double
model_loss(void *v)
{
	loss_ctx *c = v;
	if (c->contrast)
		return tp_model_contrast_step(c->m, cat, num, ROWS, 0.7f);
	return tp_model_classify_step(c->m, cat, num, label, NULL, class_weight,
	    ROWS, 1);
}

/* Factors and weights of shrunk tables for a model's table rows: every
 * kind of factor, 0 (all mean) to 1 (itself), and weights that sum to 1
 * per table. */
static void
shrink_factors(const tp_model *m, float *b, float *w)
{
	for (int j = 0; j < m->ncat; j++) {
		int end = tp_table_end(m->vocab_offset, j, m->ncat,
		    m->vocab_rows);
		int n = end - m->vocab_offset[j];
		for (int v = m->vocab_offset[j]; v < end; v++) {
			b[v] = (float)((v * 3) % 5) / 4;
			w[v] = 1.0f / (float)n;
		}
	}
}

static void
check_model(int nthreads, int contrast, enum tp_activation act, int shrink)
{
	tp_encoding enc;
	tp_model m;
	tp_err e;
	tp_config cfg = small;
	float b[16], w[16];

	cfg.activation = act;
	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &cfg, &enc, 42, nthreads, &e), TP_OK);
	ck_assert_int_eq(tp_model_plan(&m, 2 * ROWS, &e), TP_OK);
	ck_assert_int_le(m.vocab_rows, 16);
	shrink_factors(&m, b, w);
	if (shrink)
		ck_assert_int_eq(tp_model_shrink(&m, b, w, &e), TP_OK);
	loss_ctx c = {&m, contrast};
	model_loss(&c);
	float *analytic = malloc(m.nfloats * sizeof(float));
	memcpy(analytic, m.grads, m.nfloats * sizeof(float));
	for (int i = 0; i < m.nparam; i++) {
		const tp_param *p = &m.param[i];
		if ((p->part == TP_PART_HEAD && contrast) ||
		    (p->part == TP_PART_PROJECTOR && !contrast))
			continue;
		size_t where;
		double err = gradcheck(model_loss, &c, m.params + p->offset,
		    p->numel, analytic + p->offset, &where);
		ck_assert_msg(err <= GRADCHECK_TOL,
		    "%s loss, %d threads%s: %s: gradient error %g at %zu",
		    contrast ? "NT-Xent" : "classifier", nthreads,
		    shrink ? ", shrunk tables" : "", p->name, err, where);
	}
	free(analytic);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}

START_TEST(classifier_gradients)
{
	check_model(1, 0, TP_GELU, 0);
	check_model(2, 0, TP_GELU, 0);
	check_model(2, 0, TP_GELU, 1);
}
END_TEST

START_TEST(contrastive_gradients)
{
	check_model(1, 1, TP_GELU, 0);
	check_model(2, 1, TP_GELU, 0);
	check_model(1, 1, TP_GELU, 1);
}
END_TEST

/* A model of shrunk tables predicts as the same model folded, whose tables
 * are the shrunk ones; factors of 1 shrink nothing. */
START_TEST(shrink_folds)
{
	tp_encoding enc;
	tp_model m;
	tp_err e;
	float b[16], w[16], ones[16], plain[ROWS], same[ROWS], shrunk[ROWS],
	    folded[ROWS];

	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 5, 2, &e), TP_OK);
	ck_assert_int_eq(tp_model_plan(&m, ROWS, &e), TP_OK);
	shrink_factors(&m, b, w);
	for (int i = 0; i < 16; i++)
		ones[i] = 1;
	tp_model_predict(&m, cat, num, ROWS, plain);
	ck_assert_int_eq(tp_model_shrink(&m, ones, w, &e), TP_OK);
	tp_model_predict(&m, cat, num, ROWS, same);
	ck_assert_int_eq(tp_model_shrink(&m, b, w, &e), TP_OK);
	tp_model_predict(&m, cat, num, ROWS, shrunk);
	tp_model_fold(&m);
	ck_assert_ptr_null(m.shrink);
	tp_model_predict(&m, cat, num, ROWS, folded);
	int differ = 0;
	for (int i = 0; i < ROWS; i++) {
		ck_assert_float_eq_tol(same[i], plain[i], 1e-6f);
		ck_assert_float_eq(folded[i], shrunk[i]);
		differ |= fabsf(shrunk[i] - plain[i]) > 1e-4f;
	}
	ck_assert_msg(differ, "shrinking changed no prediction");
	tp_model_free(&m);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(threads_agree)
{
	tp_encoding enc;
	tp_model a, b;
	tp_err e;
	float pa[ROWS], pb[ROWS];

	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&a, &small, &enc, 7, 1, &e), TP_OK);
	ck_assert_int_eq(tp_model_init(&b, &small, &enc, 7, 2, &e), TP_OK);
	tp_model_plan(&a, ROWS, &e);
	tp_model_plan(&b, ROWS, &e);
	float la = tp_model_classify_step(&a, cat, num, label, NULL, NULL, ROWS, 0);
	float lb = tp_model_classify_step(&b, cat, num, label, NULL, NULL, ROWS, 0);
	ck_assert_float_eq_tol(la, lb, 1e-6f);
	for (size_t i = 0; i < a.nfloats; i++)
		ck_assert_float_eq_tol(a.grads[i], b.grads[i], 1e-5f);
	tp_model_predict(&a, cat, num, ROWS, pa);
	tp_model_predict(&b, cat, num, ROWS, pb);
	for (int i = 0; i < ROWS; i++)
		ck_assert_float_eq_tol(pa[i], pb[i], 1e-6f);
	tp_model_free(&a);
	tp_model_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

/* Scoring goes through the model a few hundred tokens at a time, each
 * chunk reusing one layer's buffers: over several chunks of 4-token rows,
 * the scores are those of the whole batch's forward pass, and the same
 * bits on 1, 2 or 3 threads; and those of a frozen model, until a change
 * of its parameters. */
START_TEST(predict_in_chunks)
{
	enum { N = 301 };
	static int32_t many_cat[N * 2];
	static float many_num[N * 2], p[3][N];
	static int8_t labels[N];
	tp_encoding enc;
	tp_model m[3];
	tp_err e;
	tp_rng r;

	tp_rng_seed(&r, 11);
	for (int i = 0; i < N; i++) {
		many_cat[2 * i] = (int32_t)tp_rng_below(&r, 4);
		many_cat[2 * i + 1] = (int32_t)tp_rng_below(&r, 3);
		many_num[2 * i] = (float)tp_rng_normal(&r);
		many_num[2 * i + 1] = i % 7 ? (float)tp_rng_normal(&r) : NAN;
	}
	fixture_model_encoding(&enc);
	for (int t = 0; t < 3; t++) {
		ck_assert_int_eq(tp_model_init(&m[t], &small, &enc, 5, t + 1, &e),
		    TP_OK);
		ck_assert_int_eq(tp_model_plan(&m[t], N, &e), TP_OK);
		tp_model_predict(&m[t], many_cat, many_num, N, p[t]);
	}
	ck_assert_mem_eq(p[0], p[1], sizeof(p[0]));
	ck_assert_mem_eq(p[0], p[2], sizeof(p[0]));
	tp_model_classify_step(&m[0], many_cat, many_num, labels, NULL, NULL,
	    N, 0);
	for (int i = 0; i < N; i++)
		ck_assert_float_eq_tol(p[0][i], m[0].probs[2 * i + 1], 1e-6f);

	/* Frozen, it scores the same bits. A step thaws it, and the forward
	 * reads the parameters as they are after that step, not the weights
	 * kept when it was frozen. */
	tp_model_freeze(&m[1]);
	ck_assert(m[1].frozen);
	tp_model_predict(&m[1], many_cat, many_num, N, p[1]);
	ck_assert_mem_eq(p[1], p[0], sizeof(p[0]));
	tp_model_classify_step(&m[1], many_cat, many_num, labels, NULL, NULL,
	    N, 0);
	ck_assert(!m[1].frozen);
	tp_model_predict(&m[1], many_cat, many_num, N, p[1]);
	ck_assert_mem_eq(p[1], p[0], sizeof(p[0]));
	const tp_param *out = tp_model_param(&m[1], "head.3.weight");
	ck_assert_ptr_nonnull(out);
	for (size_t k = out->numel / 2; k < out->numel; k++)
		m[1].params[out->offset + k] += 1.0f;
	tp_model_predict(&m[1], many_cat, many_num, N, p[1]);
	int moved = 0;
	for (int i = 0; i < N; i++)
		moved += p[1][i] != p[0][i];
	ck_assert_int_gt(moved, N / 2);
	for (int t = 0; t < 3; t++)
		tp_model_free(&m[t]);
	tp_encoding_free(&enc);
}
END_TEST

/* A copy scores as its model does, frozen, with a seed of its own that
 * gives other initial weights; a copy of another encoding's size is
 * refused. */
START_TEST(copy_scores_alike)
{
	tp_encoding enc, other;
	tp_model m, c, bad;
	tp_err e;
	float pm[ROWS], pc[ROWS];

	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 3, 2, &e), TP_OK);
	tp_model_plan(&m, ROWS, &e);
	tp_model_classify_step(&m, cat, num, label, NULL, NULL, ROWS, 1);
	for (size_t i = 0; i < m.nfloats; i++)
		m.params[i] -= 0.1f * m.grads[i];
	ck_assert_int_eq(tp_model_copy(&c, &m, &enc, 1, &e), TP_OK);
	ck_assert(c.frozen);
	ck_assert_int_eq(c.nthreads, 1);
	ck_assert_mem_eq(c.params, m.params, m.nfloats * sizeof(float));
	ck_assert_int_eq(tp_model_plan(&c, ROWS, &e), TP_OK);
	tp_model_predict(&m, cat, num, ROWS, pm);
	tp_model_predict(&c, cat, num, ROWS, pc);
	for (int i = 0; i < ROWS; i++)
		ck_assert_float_eq_tol(pc[i], pm[i], 1e-6f);

	fixture_model_encoding(&other);
	ck_assert_int_eq(tp_strmap_add(&other.cols[0].vocab, "d", 1, &e), 3);
	ck_assert_int_eq(tp_model_copy(&bad, &m, &other, 1, &e), TP_EINTERNAL);
	tp_model_free(&c);
	tp_model_free(&m);
	tp_encoding_free(&enc);
	tp_encoding_free(&other);
}
END_TEST

/* A model without categorical features has no table to shrink: shrinking
 * it changes nothing, and its steps read no table (the sanitizers' build
 * sees a read of the table's missing entry). Its rows' categories are
 * read as none, wherever they point. */
START_TEST(shrink_without_tables)
{
	static const char *const names[] = {"n0", "n1", "y"};
	tp_encoding enc = {0};
	tp_model m;
	tp_err e;
	float one = 1, before[ROWS], after[ROWS];

	enc.ncols = 3;
	enc.cols = calloc(3, sizeof(*enc.cols));
	enc.id_col = -1;
	enc.target_col = 2;
	enc.labels[0] = strdup("good");
	enc.labels[1] = strdup("bad");
	for (int i = 0; i < 3; i++) {
		enc.cols[i].name = strdup(names[i]);
		enc.cols[i].kind = i < 2 ? TP_KIND_NUMERIC : TP_KIND_TARGET;
		enc.cols[i].slot = i < 2 ? enc.nnum++ : -1;
		enc.cols[i].std = 1;
	}
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 3, 2, &e), TP_OK);
	ck_assert_int_eq(m.ncat, 0);
	ck_assert_int_eq(tp_model_plan(&m, ROWS, &e), TP_OK);
	tp_model_predict(&m, cat, num, ROWS, before);
	ck_assert_int_eq(tp_model_shrink(&m, &one, &one, &e), TP_OK);
	ck_assert_ptr_null(m.shrink);
	tp_model_predict(&m, cat, num, ROWS, after);
	ck_assert_mem_eq(after, before, sizeof(before));
	ck_assert(isfinite(tp_model_classify_step(&m, cat, num, label, NULL,
	    NULL, ROWS, 1)));
	tp_model_fold(&m);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(names_follow_pytorch)
{
	tp_encoding enc;
	tp_model m;
	tp_err e;

	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &tp_default_config, &enc, 1, 1, &e), TP_OK);
	const tp_param *p = tp_model_param(&m, "encoder.layers.5.self_attn.in_proj_weight");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->shape[0], 96);
	ck_assert_int_eq(p->shape[1], 32);
	p = tp_model_param(&m, "cat_embeddings.0.weight");
	ck_assert_int_eq(p->shape[0], 4); /* 3 values and index 0 */
	ck_assert_ptr_nonnull(tp_model_param(&m, "head.3.bias"));
	ck_assert_ptr_null(tp_model_param(&m, "encoder.layers.6.norm1.weight"));
	/* One contiguous buffer: offsets tile it. */
	size_t at = 0;
	for (int i = 0; i < m.nparam; i++) {
		ck_assert_uint_eq(m.param[i].offset, at);
		at += m.param[i].numel;
	}
	ck_assert_uint_eq(at, m.nfloats);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}
END_TEST

START_TEST(file_round_trip)
{
	char path[] = "/tmp/tabpipe-model-XXXXXX";
	int fd = mkstemp(path);
	tp_encoding enc, enc2;
	tp_model m, m2;
	tp_model_meta meta = {.threshold = 0.25, .parts = TP_WITH_HEAD}, meta2;
	tp_err e;
	float pa[ROWS], pb[ROWS];

	ck_assert_int_ge(fd, 0);
	close(fd);
	fixture_model_encoding(&enc);
	snprintf(meta.run_id, sizeof(meta.run_id), "run-1");
	ck_assert_int_eq(tp_model_init(&m, &small, &enc, 3, 1, &e), TP_OK);
	ck_assert_int_eq(tp_model_save(path, &m, &enc, &meta, &e), TP_OK);
	ck_assert_int_eq(tp_model_load(path, &m2, &enc2, &meta2, TP_WITH_HEAD, 1,
	    &e), TP_OK);
	ck_assert_str_eq(enc.fingerprint, enc2.fingerprint);
	ck_assert_str_eq(meta2.run_id, "run-1");
	ck_assert(meta2.threshold == 0.25);
	tp_model_plan(&m, ROWS, &e);
	tp_model_plan(&m2, ROWS, &e);
	tp_model_predict(&m, cat, num, ROWS, pa);
	tp_model_predict(&m2, cat, num, ROWS, pb);
	ck_assert_mem_eq(pa, pb, sizeof(pa));
	tp_model_free(&m2);
	tp_encoding_free(&enc2);

	/* An encoder file does not score. */
	meta.parts = TP_WITH_PROJECTOR;
	ck_assert_int_eq(tp_model_save(path, &m, &enc, &meta, &e), TP_OK);
	ck_assert_int_eq(tp_model_load(path, &m2, &enc2, &meta2, TP_WITH_HEAD, 1,
	    &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "not the classifier head"));

	/* A damaged file is refused: cut it. */
	FILE *f = fopen(path, "r+b");
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	ck_assert_int_eq(ftruncate(fileno(f), len - 10), 0);
	fclose(f);
	ck_assert_int_eq(tp_model_load(path, &m2, &enc2, &meta2, 0, 1, &e), TP_EDATA);
	unlink(path);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, classifier_gradients);
	tcase_add_test(tc, contrastive_gradients);
	tcase_add_test(tc, shrink_folds);
	tcase_add_test(tc, shrink_without_tables);
	tcase_add_test(tc, threads_agree);
	tcase_add_test(tc, predict_in_chunks);
	tcase_add_test(tc, copy_scores_alike);
	tcase_add_test(tc, names_follow_pytorch);
	tcase_add_test(tc, file_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
