/*
 * gen: writes the weights and inputs of the golden test, which
 * tests/golden/reference.py then runs through the PyTorch model.
 *
 * usage: gen weights.safetensors inputs.safetensors ensemble.safetensors
 *     additive.safetensors
 *
 * The model has the default sizes with dropout 0, over 3 categorical and
 * 4 numeric features; the inputs are ROWS rows, then ROWS more as the second
 * view for the contrastive loss, with missing numerics and unseen
 * categories (index 0), and shrinkage factors and weights for its tables
 * (tp_model_shrink). The ensemble is that model and MEMBERS - 1 more of
 * other seeds, and the additive model one of another seed with an
 * additive part (model/additive.h) of random weights and knots among the
 * inputs' values, both for tests/golden/ensemble_reference.py.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "model/safetensors.h"

enum { ROWS = 16, NCAT = 3, NNUM = 4, MEMBERS = 3 };

int
main(int argc, char **argv)
{
	static const int vocab[NCAT] = {2, 5, 9};
	tp_encoding enc = {0};
	tp_config cfg = tp_default_config;
	tp_model m;
	tp_model_meta meta = {.threshold = 0.5, .parts = TP_WITH_HEAD | TP_WITH_PROJECTOR};
	tp_err e = {0};
	tp_rng r;
	int32_t cat[2 * ROWS * NCAT];
	float num[2 * ROWS * NNUM], weight[2] = {0.6f, 3.0f}, tau[1] = {0.5f};
	int8_t label[ROWS];
	float target[ROWS];
	/* Shrinkage factors and weights (tp_model_shrink) of the table rows:
	 * each table's weights sum to 1. */
	float shrink_b[NCAT + 2 + 5 + 9], shrink_w[NCAT + 2 + 5 + 9];
	char name[32];

	if (argc != 5) {
		fputs("usage: gen weights.safetensors inputs.safetensors ensemble.safetensors additive.safetensors\n",
		    stderr);
		return 64;
	}
	enc.ncols = NCAT + NNUM + 1;
	enc.cols = calloc((size_t)enc.ncols, sizeof(*enc.cols));
	enc.id_col = -1;
	enc.target_col = NCAT + NNUM;
	enc.labels[0] = strdup("good");
	enc.labels[1] = strdup("bad");
	for (int i = 0; i < enc.ncols; i++) {
		tp_column *c = &enc.cols[i];
		snprintf(name, sizeof(name), i < NCAT ? "c%d" : i < NCAT + NNUM ?
		    "n%d" : "y", i < NCAT ? i : i - NCAT);
		c->name = strdup(name);
		c->kind = i < NCAT ? TP_KIND_CATEGORICAL : i < NCAT + NNUM ?
		    TP_KIND_NUMERIC : TP_KIND_TARGET;
		c->slot = i < NCAT ? enc.ncat++ : i < NCAT + NNUM ? enc.nnum++ : -1;
		c->std = 1;
		for (int v = 0; i < NCAT && v < vocab[i]; v++) {
			snprintf(name, sizeof(name), "v%d", v);
			tp_strmap_add(&c->vocab, name, strlen(name), &e);
		}
	}
	tp_encoding_fingerprint(&enc, &e);
	cfg.dropout = 0;
	if (tp_model_init(&m, &cfg, &enc, 2024, 1, &e) != TP_OK ||
	    tp_model_save(argv[1], &m, &enc, &meta, &e) != TP_OK) {
		fprintf(stderr, "gen: %s\n", e.msg);
		return 1;
	}
	tp_model more[MEMBERS - 1];
	for (int j = 0; j < MEMBERS - 1; j++)
		if (tp_model_init(&more[j], &cfg, &enc, 2025 + (uint64_t)j, 1,
		    &e) != TP_OK) {
			fprintf(stderr, "gen: %s\n", e.msg);
			return 1;
		}
	if (tp_model_join(&m, more, MEMBERS - 1, &e) != TP_OK ||
	    tp_model_save(argv[3], &m, &enc, &meta, &e) != TP_OK) {
		fprintf(stderr, "gen: %s\n", e.msg);
		return 1;
	}
	tp_model add;
	tp_config add_cfg = cfg;
	add_cfg.additive = 1;
	if (tp_model_init(&add, &add_cfg, &enc, 2026, 1, &e) != TP_OK) {
		fprintf(stderr, "gen: %s\n", e.msg);
		return 1;
	}
	tp_additive a = tp_model_additive(&add);
	tp_rng_seed(&r, 78);
	for (int i = 0; i < tp_additive_width(&a); i++)
		a.weight[i] = (float)(0.5 * tp_rng_normal(&r));
	for (int k = 0; k < NNUM; k++)
		for (int t = 0; t < TP_ADDITIVE_KNOTS; t++)
			a.knot[k * TP_ADDITIVE_KNOTS + t] = -1.0f + 0.5f * (float)t +
			    0.2f * tp_rng_float(&r);
	if (tp_model_save(argv[4], &add, &enc, &meta, &e) != TP_OK) {
		fprintf(stderr, "gen: %s\n", e.msg);
		return 1;
	}
	tp_model_free(&add);
	tp_rng_seed(&r, 77);
	for (int i = 0; i < 2 * ROWS; i++) {
		for (int j = 0; j < NCAT; j++)
			cat[i * NCAT + j] = (int32_t)tp_rng_below(&r, (uint64_t)vocab[j] + 1);
		for (int j = 0; j < NNUM; j++)
			num[i * NNUM + j] = tp_rng_below(&r, 6) == 0 ? NAN :
			    (float)tp_rng_normal(&r);
	}
	/* Rows 3 and 10 unlabelled: left out on the labels, taught by the
	 * soft targets. */
	for (int i = 0; i < ROWS; i++)
		label[i] = (int8_t)(i % 7 == 3 ? -1 : i % 3 == 0);
	for (int i = 0; i < ROWS; i++)
		target[i] = tp_rng_float(&r);
	for (int j = 0, v = 0; j < NCAT; j++) {
		int first = v;
		float sum = 0;
		for (; v < first + vocab[j] + 1; v++) {
			shrink_b[v] = tp_rng_float(&r);
			sum += shrink_w[v] = 0.1f + tp_rng_float(&r);
		}
		for (int u = first; u < v; u++)
			shrink_w[u] /= sum;
	}
	tp_tensor t[] = {
		{"cat", TP_I32, 2, {2 * ROWS, NCAT}, cat},
		{"num", TP_F32, 2, {2 * ROWS, NNUM}, num},
		{"label", TP_I8, 1, {ROWS}, label},
		{"target", TP_F32, 1, {ROWS}, target},
		{"class_weight", TP_F32, 1, {2}, weight},
		{"tau", TP_F32, 1, {1}, tau},
		{"shrink_b", TP_F32, 1, {m.vocab_rows}, shrink_b},
		{"shrink_w", TP_F32, 1, {m.vocab_rows}, shrink_w},
	};
	if (tp_st_save(argv[2], t, sizeof(t) / sizeof(t[0]), NULL, &e) != TP_OK) {
		fprintf(stderr, "gen: %s\n", e.msg);
		return 1;
	}
	tp_model_free(&m);
	tp_encoding_free(&enc);
	return 0;
}
