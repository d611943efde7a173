#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/rng.h"
#include "sample.h"

void
sample_encoding(tp_encoding *enc)
{
	static const char *const names[] = {"c0", "n0", "c1", "n1", "y"};
	static const enum tp_kind kinds[] = {TP_KIND_CATEGORICAL,
	    TP_KIND_NUMERIC, TP_KIND_CATEGORICAL, TP_KIND_NUMERIC,
	    TP_KIND_TARGET};
	tp_err e;

	memset(enc, 0, sizeof(*enc));
	enc->ncols = 5;
	enc->cols = calloc(5, sizeof(*enc->cols));
	enc->id_col = -1;
	enc->target_col = 4;
	enc->labels[0] = strdup("good");
	enc->labels[1] = strdup("bad");
	for (int i = 0; i < 5; i++) {
		tp_column *c = &enc->cols[i];
		c->name = strdup(names[i]);
		c->kind = kinds[i];
		c->slot = c->kind == TP_KIND_CATEGORICAL ? enc->ncat++ :
		    c->kind == TP_KIND_NUMERIC ? enc->nnum++ : -1;
		c->std = 1;
	}
	tp_strmap_add(&enc->cols[0].vocab, "a", 1, &e);
	tp_strmap_add(&enc->cols[0].vocab, "b", 1, &e);
	tp_strmap_add(&enc->cols[0].vocab, "c", 1, &e);
	tp_strmap_add(&enc->cols[2].vocab, "x", 1, &e);
	tp_strmap_add(&enc->cols[2].vocab, "y", 1, &e);
	ck_assert_int_eq(tp_encoding_fingerprint(enc, &e), TP_OK);
}

void
sample_rows(tp_batch *b, size_t n, uint64_t seed)
{
	tp_rng r;
	tp_err e;

	tp_rng_seed(&r, seed);
	ck_assert_int_eq(tp_batch_init(b, 2, 2, n, &e), TP_OK);
	for (size_t i = 0; i < n; i++) {
		int32_t *cat = b->cat + 2 * i;
		float *num = b->num + 2 * i;
		cat[0] = (int32_t)tp_rng_below(&r, 4);
		cat[1] = (int32_t)tp_rng_below(&r, 3);
		num[0] = (float)tp_rng_normal(&r);
		num[1] = tp_rng_float(&r) < 0.1f ? NAN : (float)tp_rng_normal(&r);
		b->id[i] = (int64_t)i + 1;
		b->label[i] = num[0] + (cat[0] == 2) + 0.5 * tp_rng_normal(&r) >
		    0.5;
	}
	b->n = n;
}
