/* Every layer's CUDA forward and backward against lib/model/layers.h on
 * the same random inputs. Gradients start random, not zero, so that a
 * backward that writes where it should add fails. */
#include <math.h>
#include <string.h>

#include "cuda_test.h"
#include "model/additive.h"
#include "model/cuda/layers.h"
#include "model/layers.h"

enum { B = 5, T = 7, NC = 3, NN = 4, C = 16, NH = 4, H = 24 };
/* Rows enough for several of the backend's chunks of 256 in the sums over
 * the batch. */
enum { ROWS = 300 };

#define F(n) ((size_t)(n) * sizeof(float))

/* A device copy of n host floats. */
static float *
dev(const float *host, size_t n)
{
	return dev_copy(host, F(n));
}

START_TEST(embedding)
{
	NEED_GPU("embedding");
	static const int vocab[NC] = {4, 6, 3}, offset[NC] = {0, 4, 10};
	enum { TABLE = 13 * C };
	size_t n = (size_t)ROWS * T * C;
	int32_t idx[ROWS * NC];
	tp_rng r;
	tp_rng_seed(&r, 1);
	for (int b = 0; b < ROWS; b++)
		for (int j = 0; j < NC; j++)
			idx[b * NC + j] = (int32_t)tp_rng_below(&r, vocab[j]);
	float *table = host_randn(TABLE, &r, 1), *out = host_randn(n, &r, 1);
	float *dout = host_randn(n, &r, 1), *dtable = host_randn(TABLE, &r, 1);
	int32_t *gidx = dev_copy(idx, sizeof(idx));
	int *goffset = dev_copy(offset, sizeof(offset));
	float *gout = dev(out, n), *gdtable = dev(dtable, TABLE);

	tp_embedding_forward(out, idx, table, offset, ROWS, T, NC, C);
	tp_cuda_embedding_forward(gpu, gout, gidx, dev(table, TABLE), goffset,
	    ROWS, T, NC, C);
	check_close(gout, out, n, "embedding forward");
	tp_embedding_backward(dtable, dout, idx, offset, ROWS, T, NC, C);
	tp_cuda_embedding_backward(gpu, gdtable, dev(dout, n), gidx, goffset,
	    ROWS, T, NC, C);
	check_close(gdtable, dtable, TABLE, "embedding backward");
}
END_TEST

START_TEST(shrink)
{
	NEED_GPU("shrink");
	static const int offset[NC] = {0, 4, 10};
	enum { ROWS_T = 13, TABLE = 13 * C };
	tp_rng r;
	tp_rng_seed(&r, 9);
	float b[ROWS_T], w[ROWS_T];
	for (int v = 0; v < ROWS_T; v++) {
		b[v] = tp_rng_float(&r);
		w[v] = tp_rng_float(&r);
	}
	float *table = host_randn(TABLE, &r, 1), *out = host_randn(TABLE, &r, 1);
	float *dout = host_randn(TABLE, &r, 1), *dtable = host_randn(TABLE, &r, 1);
	float *gb = dev(b, ROWS_T), *gw = dev(w, ROWS_T);
	float *gout = dev(out, TABLE), *gdtable = dev(dtable, TABLE);
	int *goffset = dev_copy(offset, sizeof(offset));

	tp_shrink_forward(out, table, b, w, offset, NC, ROWS_T, C);
	tp_cuda_shrink_forward(gpu, gout, dev(table, TABLE), gb, gw, goffset,
	    NC, ROWS_T, C);
	check_close(gout, out, TABLE, "shrink forward");
	tp_shrink_backward(dtable, dout, b, w, offset, NC, ROWS_T, C);
	tp_cuda_shrink_backward(gpu, gdtable, dev(dout, TABLE), gb, gw, goffset,
	    NC, ROWS_T, C);
	check_close(gdtable, dtable, TABLE, "shrink backward");
}
END_TEST

START_TEST(numeric)
{
	NEED_GPU("numeric");
	size_t n = (size_t)ROWS * T * C;
	tp_rng r;
	tp_rng_seed(&r, 2);
	float *x = host_randn(ROWS * NN, &r, 1);
	for (int i = 0; i < ROWS * NN; i++)
		if (tp_rng_float(&r) < 0.2f)
			x[i] = NAN;
	float *w = host_randn(NN * C, &r, 1), *b = host_randn(NN * C, &r, 1);
	float *miss = host_randn(NN * C, &r, 1), *out = host_randn(n, &r, 1);
	float *dout = host_randn(n, &r, 1), *dw = host_randn(NN * C, &r, 1);
	float *db = host_randn(NN * C, &r, 1), *dm = host_randn(NN * C, &r, 1);
	float *gx = dev(x, ROWS * NN), *gout = dev(out, n);
	float *gdw = dev(dw, NN * C), *gdb = dev(db, NN * C);
	float *gdm = dev(dm, NN * C);

	tp_numeric_forward(out, x, w, b, miss, ROWS, T, NC, NN, C);
	tp_cuda_numeric_forward(gpu, gout, gx, dev(w, NN * C), dev(b, NN * C),
	    dev(miss, NN * C), ROWS, T, NC, NN, C);
	check_close(gout, out, n, "numeric forward");
	tp_numeric_backward(dw, db, dm, dout, x, ROWS, T, NC, NN, C);
	tp_cuda_numeric_backward(gpu, gdw, gdb, gdm, dev(dout, n), gx, ROWS, T,
	    NC, NN, C);
	check_close(gdw, dw, NN * C, "numeric backward dw");
	check_close(gdb, db, NN * C, "numeric backward db");
	check_close(gdm, dm, NN * C, "numeric backward dmiss");
}
END_TEST

/* Bit for bit: the kernel adds the CPU's doubles in the CPU's order. */
START_TEST(additive)
{
	NEED_GPU("additive");
	static const int offset[NC] = {0, 4, 10}, vocab[NC] = {4, 6, 3};
	enum { ROWS_VOCAB = 13, W = 1 + ROWS_VOCAB + NN * (2 + TP_ADDITIVE_KNOTS) };
	int32_t cat[ROWS * NC];
	tp_err e = {0};
	tp_rng r;
	tp_rng_seed(&r, 9);
	for (int i = 0; i < ROWS * NC; i++)
		cat[i] = (int32_t)tp_rng_below(&r, (uint64_t)vocab[i % NC]);
	float *num = host_randn(ROWS * NN, &r, 1.5f);
	for (int i = 0; i < ROWS * NN; i++)
		if (tp_rng_float(&r) < 0.2f)
			num[i] = NAN;
	float *weight = host_randn(W, &r, 1), *knot = host_randn(NN *
	    TP_ADDITIVE_KNOTS, &r, 1);
	for (int k = 0; k < NN; k++)  /* each numeric's knots in order */
		for (int t = 1; t < TP_ADDITIVE_KNOTS; t++)
			knot[k * TP_ADDITIVE_KNOTS + t] = knot[k *
			    TP_ADDITIVE_KNOTS + t - 1] + fabsf(knot[k *
			    TP_ADDITIVE_KNOTS + t]);
	float *logits = host_randn(ROWS * 2, &r, 1);
	float *glogits = dev(logits, ROWS * 2), *back = host_randn(ROWS * 2, &r,
	    1);
	tp_additive a = {.ncat = NC, .nnum = NN, .vocab_rows = ROWS_VOCAB,
	    .vocab_offset = offset, .weight = weight, .knot = knot};
	tp_additive ga = a;
	ga.vocab_offset = dev_copy(offset, sizeof(offset));
	ga.weight = dev(weight, W);
	ga.knot = dev(knot, NN * TP_ADDITIVE_KNOTS);

	tp_additive_forward(&a, cat, num, logits, ROWS);
	tp_cuda_additive_forward(gpu, &ga, dev_copy(cat, sizeof(cat)),
	    dev(num, ROWS * NN), glogits, ROWS);
	ck_assert_msg(tp_cuda_download(gpu, back, glogits, F(ROWS * 2), &e) ==
	    TP_OK, "%s", e.msg);
	for (int i = 0; i < ROWS * 2; i++)
		ck_assert_msg(memcmp(&back[i], &logits[i], sizeof(float)) == 0,
		    "additive forward: logit %d is %.9g on the GPU, %.9g on "
		    "the CPU", i, back[i], logits[i]);
}
END_TEST

/* _i: 1 with a bias, 0 without. */
START_TEST(linear)
{
	NEED_GPU(_i ? "linear" : "linear without bias");
	enum { LN = 2 * ROWS, IC = 20, OC = 24 };
	tp_rng r;
	tp_rng_seed(&r, 3 + _i);
	float *inp = host_randn(LN * IC, &r, 1);
	float *w = host_randn(OC * IC, &r, 1);
	float *b = _i ? host_randn(OC, &r, 1) : NULL;
	float *out = host_randn(LN * OC, &r, 1);
	float *dout = host_randn(LN * OC, &r, 1);
	float *dinp = host_randn(LN * IC, &r, 1);
	float *dw = host_randn(OC * IC, &r, 1), *db = host_randn(OC, &r, 1);
	float *ginp = dev(inp, LN * IC), *gw = dev(w, OC * IC);
	float *gout = dev(out, LN * OC), *gdinp = dev(dinp, LN * IC);
	float *gdw = dev(dw, OC * IC), *gdb = dev(db, OC);

	tp_linear_forward(out, inp, w, b, LN, IC, OC);
	tp_cuda_linear_forward(gpu, gout, ginp, gw, _i ? dev(b, OC) : NULL, LN,
	    IC, OC);
	check_close(gout, out, LN * OC, "linear forward");
	tp_linear_backward(dinp, dw, _i ? db : NULL, dout, inp, w, LN, IC, OC);
	tp_cuda_linear_backward(gpu, gdinp, gdw, _i ? gdb : NULL,
	    dev(dout, LN * OC), ginp, gw, LN, IC, OC);
	check_close(gdinp, dinp, LN * IC, "linear backward dinp");
	check_close(gdw, dw, OC * IC, "linear backward dweight");
	if (_i)
		check_close(gdb, db, OC, "linear backward dbias");
}
END_TEST

START_TEST(layernorm)
{
	NEED_GPU("layernorm");
	/* More channels than a warp's lanes, and not a multiple of them. */
	enum { LN = 2 * ROWS, LC = 40 };
	size_t n = (size_t)LN * LC;
	tp_rng r;
	tp_rng_seed(&r, 5);
	float *inp = host_randn(n, &r, 2), *w = host_randn(LC, &r, 1);
	float *b = host_randn(LC, &r, 1), *out = host_randn(n, &r, 1);
	float *mean = host_randn(LN, &r, 1), *rstd = host_randn(LN, &r, 1);
	float *dout = host_randn(n, &r, 1), *dinp = host_randn(n, &r, 1);
	float *dw = host_randn(LC, &r, 1), *db = host_randn(LC, &r, 1);
	for (size_t i = 0; i < n; i++)
		inp[i] += 3.0f;
	float *ginp = dev(inp, n), *gw = dev(w, LC), *gout = dev(out, n);
	float *gmean = dev(mean, LN), *grstd = dev(rstd, LN);
	float *gdinp = dev(dinp, n), *gdw = dev(dw, LC), *gdb = dev(db, LC);

	tp_layernorm_forward(out, mean, rstd, inp, w, b, LN, LC);
	tp_cuda_layernorm_forward(gpu, gout, gmean, grstd, ginp, gw, dev(b, LC),
	    LN, LC);
	check_close(gout, out, n, "layernorm forward");
	check_close(gmean, mean, LN, "layernorm mean");
	check_close(grstd, rstd, LN, "layernorm rstd");
	tp_layernorm_backward(dinp, dw, db, dout, inp, mean, rstd, w, LN, LC);
	tp_cuda_layernorm_backward(gpu, gdinp, gdw, gdb, dev(dout, n), ginp,
	    gmean, grstd, gw, LN, LC);
	check_close(gdinp, dinp, n, "layernorm backward dinp");
	check_close(gdw, dw, LC, "layernorm backward dweight");
	check_close(gdb, db, LC, "layernorm backward dbias");
}
END_TEST

/* _i: 1 with dropout on the attention weights, 0 without. */
START_TEST(attention)
{
	NEED_GPU(_i ? "attention with dropout" : "attention");
	size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
	size_t na = (size_t)B * NH * T * T;
	float p = _i ? 0.3f : 0.0f;
	tp_rng r, cpu_rng, gpu_rng;
	tp_rng_seed(&r, 6);
	tp_rng_seed(&cpu_rng, 60);
	tp_rng_seed(&gpu_rng, 60);
	float *qkv = host_randn(nq, &r, 1), *out = host_randn(no, &r, 1);
	float *att = host_randn(na, &r, 1), *mask = host_randn(na, &r, 1);
	float *dout = host_randn(no, &r, 1), *dqkv = host_randn(nq, &r, 1);
	float *scratch = host_randn((size_t)NH * T * T, &r, 1);
	float *gqkv = dev(qkv, nq), *gout = dev(out, no), *gatt = dev(att, na);
	float *gmask = _i ? dev(mask, na) : NULL, *gdqkv = dev(dqkv, nq);

	tp_attention_forward(out, att, _i ? mask : NULL, qkv, p, &cpu_rng, B, T,
	    C, NH);
	tp_cuda_attention_forward(gpu, gout, gatt, gmask, gqkv, p, &gpu_rng, B,
	    T, C, NH);
	check_close(gout, out, no, "attention forward");
	check_close(gatt, att, na, "attention weights");
	if (_i)
		check_close(gmask, mask, na, "attention dropout mask");
	tp_attention_backward(dqkv, scratch, dout, qkv, att, _i ? mask : NULL,
	    B, T, C, NH);
	tp_cuda_attention_backward(gpu, gdqkv, dev(att, na), dev(dout, no),
	    gqkv, gatt, gmask, B, T, C, NH);
	check_close(gdqkv, dqkv, nq, "attention backward");
}
END_TEST

/* _i: 0 GELU, 1 ReLU. */
START_TEST(activation)
{
	NEED_GPU(_i ? "relu" : "gelu");
	enum { NA = 1000 };
	tp_rng r;
	tp_rng_seed(&r, 7 + _i);
	float *inp = host_randn(NA, &r, 3), *out = host_randn(NA, &r, 1);
	float *dout = host_randn(NA, &r, 1), *dinp = host_randn(NA, &r, 1);
	inp[0] = 0.0f;
	inp[1] = -0.0f;
	float *ginp = dev(inp, NA), *gout = dev(out, NA);
	float *gdinp = dev(dinp, NA), *gdout = dev(dout, NA);

	if (_i) {
		tp_relu_forward(out, inp, NA);
		tp_cuda_relu_forward(gpu, gout, ginp, NA);
		tp_relu_backward(dinp, dout, inp, NA);
		tp_cuda_relu_backward(gpu, gdinp, gdout, ginp, NA);
	} else {
		tp_gelu_forward(out, inp, NA);
		tp_cuda_gelu_forward(gpu, gout, ginp, NA);
		tp_gelu_backward(dinp, dout, inp, NA);
		tp_cuda_gelu_backward(gpu, gdinp, gdout, ginp, NA);
	}
	check_close(gout, out, NA, _i ? "relu forward" : "gelu forward");
	check_close(gdinp, dinp, NA, _i ? "relu backward" : "gelu backward");
}
END_TEST

START_TEST(residual)
{
	NEED_GPU("residual");
	enum { NR = 1000 };
	tp_rng r;
	tp_rng_seed(&r, 9);
	float *a = host_randn(NR, &r, 1), *b = host_randn(NR, &r, 1);
	float *out = host_randn(NR, &r, 1), *dout = host_randn(NR, &r, 1);
	float *da = host_randn(NR, &r, 1), *db = host_randn(NR, &r, 1);
	float *gout = dev(out, NR), *gda = dev(da, NR), *gdb = dev(db, NR);

	tp_residual_forward(out, a, b, NR);
	tp_cuda_residual_forward(gpu, gout, dev(a, NR), dev(b, NR), NR);
	check_close(gout, out, NR, "residual forward");
	tp_residual_backward(da, db, dout, NR);
	tp_cuda_residual_backward(gpu, gda, gdb, dev(dout, NR), NR);
	check_close(gda, da, NR, "residual backward da");
	check_close(gdb, db, NR, "residual backward db");
}
END_TEST

/* _i: 1 with a rate of 0.3, 0 with none (a copy). */
START_TEST(dropout)
{
	NEED_GPU(_i ? "dropout" : "dropout off");
	enum { ND = 5000 };
	float p = _i ? 0.3f : 0.0f;
	tp_rng r, cpu_rng, gpu_rng;
	tp_rng_seed(&r, 11);
	tp_rng_seed(&cpu_rng, 110);
	tp_rng_seed(&gpu_rng, 110);
	float *inp = host_randn(ND, &r, 1), *out = host_randn(ND, &r, 1);
	float *mask = host_randn(ND, &r, 1), *dout = host_randn(ND, &r, 1);
	float *dinp = host_randn(ND, &r, 1);
	float *gout = dev(out, ND), *gmask = dev(mask, ND);
	float *gdinp = dev(dinp, ND);

	tp_dropout_forward(out, mask, inp, p, &cpu_rng, ND);
	tp_cuda_dropout_forward(gpu, gout, gmask, dev(inp, ND), p, &gpu_rng,
	    ND);
	check_close(gout, out, ND, "dropout forward");
	if (_i)
		check_close(gmask, mask, ND, "dropout mask");
	tp_dropout_backward(dinp, dout, mask, p, ND);
	tp_cuda_dropout_backward(gpu, gdinp, dev(dout, ND), gmask, p, ND);
	check_close(gdinp, dinp, ND, "dropout backward");
}
END_TEST

START_TEST(meanpool)
{
	NEED_GPU("meanpool");
	size_t n = (size_t)B * T * C;
	tp_rng r;
	tp_rng_seed(&r, 12);
	float *inp = host_randn(n, &r, 1), *out = host_randn(B * C, &r, 1);
	float *dout = host_randn(B * C, &r, 1), *dinp = host_randn(n, &r, 1);
	float *gout = dev(out, B * C), *gdinp = dev(dinp, n);

	tp_meanpool_forward(out, inp, B, T, C);
	tp_cuda_meanpool_forward(gpu, gout, dev(inp, n), B, T, C);
	check_close(gout, out, B * C, "meanpool forward");
	tp_meanpool_backward(dinp, dout, B, T, C);
	tp_cuda_meanpool_backward(gpu, gdinp, dev(dout, B * C), B, T, C);
	check_close(gdinp, dinp, n, "meanpool backward");
}
END_TEST

/* _i: bit 0 with class weights, bit 1 with soft targets. */
START_TEST(crossentropy)
{
	static const char *what[] = {"crossentropy",
	    "crossentropy with class weights", "crossentropy with soft targets",
	    "crossentropy with class weights and soft targets"};
	NEED_GPU(what[_i]);
	static const float weight[2] = {0.3f, 2.0f};
	int8_t label[ROWS];
	float target[ROWS];
	tp_rng r;
	tp_rng_seed(&r, 13 + _i);
	/* Unlabelled rows (-1) are left out of the loss. */
	for (int b = 0; b < ROWS; b++) {
		label[b] = (int8_t)tp_rng_below(&r, 3) - 1;
		target[b] = tp_rng_float(&r);
	}
	const float *soft = _i & 2 ? target : NULL;
	const float *cw = _i & 1 ? weight : NULL;
	float *logits = host_randn(2 * ROWS, &r, 3);
	float *probs = host_randn(2 * ROWS, &r, 1);
	float *dlogits = host_randn(2 * ROWS, &r, 1);
	float *gprobs = dev(probs, 2 * ROWS);
	float *gdlogits = dev(dlogits, 2 * ROWS);
	int8_t *glabel = dev_copy(label, sizeof(label));
	float *gweight = cw ? dev(weight, 2) : NULL;
	float *gtarget = soft ? dev(target, ROWS) : NULL;

	float loss = tp_crossentropy_forward(probs, logits, label, soft, cw,
	    ROWS);
	float gloss = tp_cuda_crossentropy_forward(gpu, gprobs,
	    dev(logits, 2 * ROWS), glabel, gtarget, gweight, ROWS);
	check_scalar(gloss, loss, TOL, "crossentropy loss");
	check_close(gprobs, probs, 2 * ROWS, "crossentropy probabilities");
	tp_crossentropy_backward(dlogits, probs, label, soft, cw, ROWS);
	tp_cuda_crossentropy_backward(gpu, gdlogits, gprobs, glabel, gtarget,
	    gweight, ROWS);
	check_close(gdlogits, dlogits, 2 * ROWS, "crossentropy backward");
}
END_TEST

START_TEST(ntxent)
{
	NEED_GPU("ntxent");
	enum { NB = 6, P = 12, M = 2 * NB };
	float tau = 0.5f;
	tp_rng r;
	tp_rng_seed(&r, 15);
	float *z = host_randn(M * P, &r, 1), *u = host_randn(M * P, &r, 1);
	float *norm = host_randn(M, &r, 1), *sim = host_randn(M * M, &r, 1);
	float *dz = host_randn(M * P, &r, 1), *du = host_randn(M * P, &r, 1);
	float *gu = dev(u, M * P), *gnorm = dev(norm, M);
	float *gsim = dev(sim, M * M);
	float *gdz = dev(dz, M * P), *gdu = dev(du, M * P);

	float loss = tp_ntxent_forward(u, norm, sim, z, tau, NB, P);
	float gloss = tp_cuda_ntxent_forward(gpu, gu, gnorm, gsim,
	    dev(z, M * P), tau, NB, P);
	check_scalar(gloss, loss, TOL, "ntxent loss");
	check_close(gu, u, M * P, "ntxent normalised");
	check_close(gnorm, norm, M, "ntxent norms");
	check_close(gsim, sim, M * M, "ntxent softmax");
	tp_ntxent_backward(dz, du, u, norm, sim, tau, NB, P);
	tp_cuda_ntxent_backward(gpu, gdz, gdu, gu, gnorm, gsim, tau, NB, P);
	check_close(gdu, du, M * P, "ntxent backward du");
	check_close(gdz, dz, M * P, "ntxent backward dz");
}
END_TEST

Suite *
cuda_layers_suite(void)
{
	Suite *s = suite_create("cuda_layers");
	TCase *tc = tcase_create("cuda_layers");

	tcase_add_checked_fixture(tc, NULL, release);
	tcase_add_test(tc, embedding);
	tcase_add_test(tc, shrink);
	tcase_add_test(tc, numeric);
	tcase_add_test(tc, additive);
	tcase_add_loop_test(tc, linear, 0, 2);
	tcase_add_test(tc, layernorm);
	tcase_add_loop_test(tc, attention, 0, 2);
	tcase_add_loop_test(tc, activation, 0, 2);
	tcase_add_test(tc, residual);
	tcase_add_loop_test(tc, dropout, 0, 2);
	tcase_add_test(tc, meanpool);
	tcase_add_loop_test(tc, crossentropy, 0, 4);
	tcase_add_test(tc, ntxent);
	suite_add_tcase(s, tc);
	return s;
}
