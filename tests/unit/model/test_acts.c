/*
 * test_acts: tp_carve's rounding and its counting pass, and
 * tp_acts_layout's: the count of its first pass is the floats its second
 * lays out, every buffer the size its shape comment says, on the
 * alignment asked, none overlapping another, none past the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/acts.h"
#include "suites.h"

START_TEST(carve)
{
	float buf[64];
	size_t used = 0, counted = 0;
	/* Sizes with every remainder modulo the alignment, and 0. */
	static const size_t n[] = {5, 8, 0, 1, 7, 3, 16};

	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		size_t before = used;
		float *p = tp_carve(buf, &used, n[i], 8);
		ck_assert_ptr_eq(p, buf + before);
		ck_assert_uint_eq(before % 8, 0);
		ck_assert_uint_eq(used - before, (n[i] + 7) / 8 * 8);
		ck_assert_ptr_null(tp_carve(NULL, &counted, n[i], 8));
		ck_assert_uint_eq(counted, used);
	}
	ck_assert_uint_eq(used, 8 + 8 + 0 + 8 + 8 + 8 + 16);
	/* Alignment 1 packs. */
	used = 0;
	tp_carve(NULL, &used, 5, 1);
	tp_carve(NULL, &used, 3, 1);
	ck_assert_uint_eq(used, 8);
}
END_TEST

/* A buffer of the layout: where it starts and how many floats its shape
 * comment in acts.h gives it. */
typedef struct {
	const char *name;
	float *p;
	size_t n;
} piece;

static int
by_start(const void *a, const void *b)
{
	const piece *x = a, *y = b;

	return x->p < y->p ? -1 : x->p > y->p;
}

/* The buffers of a with their sizes, from acts.h's comments; returns how
 * many. */
static int
pieces(const tp_acts *a, const tp_config *c, int T, int R, int datt_rows,
    piece *out)
{
	size_t N = (size_t)R * T, C = c->d_model, F = c->d_ff,
	    H = c->head_hidden, A = (size_t)R * c->heads * T * T;
	int k = 0;

#define PIECE(ptr, size) (out[k++] = (piece){#ptr, (ptr), (size)})
	PIECE(a->x0, N * C);
	for (int l = 0; l < c->layers; l++) {
		const tp_layer_acts *y = &a->layer[l];
		PIECE(y->ln1, N * C);
		PIECE(y->ln1_mean, N);
		PIECE(y->ln1_rstd, N);
		PIECE(y->qkv, N * 3 * C);
		PIECE(y->att, A);
		PIECE(y->att_mask, A);
		PIECE(y->atty, N * C);
		PIECE(y->ao, N * C);
		PIECE(y->ao_mask, N * C);
		PIECE(y->ao_d, N * C);
		PIECE(y->x2, N * C);
		PIECE(y->ln2, N * C);
		PIECE(y->ln2_mean, N);
		PIECE(y->ln2_rstd, N);
		PIECE(y->h, N * F);
		PIECE(y->ha, N * F);
		PIECE(y->ha_mask, N * F);
		PIECE(y->ha_d, N * F);
		PIECE(y->f, N * C);
		PIECE(y->f_mask, N * C);
		PIECE(y->f_d, N * C);
		PIECE(y->out, N * C);
	}
	PIECE(a->lnf, N * C);
	PIECE(a->lnf_mean, N);
	PIECE(a->lnf_rstd, N);
	PIECE(a->pooled, (size_t)R * C);
	PIECE(a->h1, (size_t)R * H);
	PIECE(a->r1, (size_t)R * H);
	PIECE(a->r1_mask, (size_t)R * H);
	PIECE(a->r1_d, (size_t)R * H);
	PIECE(a->p1, (size_t)R * H);
	PIECE(a->pr, (size_t)R * H);
	PIECE(a->dres, N * C);
	PIECE(a->da, N * C);
	PIECE(a->db, N * C);
	PIECE(a->dqkv, N * 3 * C);
	PIECE(a->dh, N * F);
	PIECE(a->dha, N * F);
	PIECE(a->datt, (size_t)datt_rows * c->heads * T * T);
	PIECE(a->dpooled, (size_t)R * C);
	PIECE(a->dh1, (size_t)R * H);
	PIECE(a->dr1, (size_t)R * H);
#undef PIECE
	return k;
}

/*
 * _i chooses the alignment: 1 (the CPU's), 8 and 32. Sizes chosen odd so
 * that most buffers need padding: T 3, R 5, C 6, F 10, H 7.
 */
START_TEST(layout)
{
	static const size_t aligns[] = {1, 8, 32};
	const size_t align = aligns[_i];
	const tp_config c = {
		.layers = 2, .d_model = 6, .heads = 3, .d_ff = 10,
		.head_hidden = 7, .proj_dim = 4, .dropout = 0,
		.activation = TP_GELU,
	};
	const int T = 3, R = 5, datt_rows = 2;
	tp_layer_acts layer[2];
	tp_acts a;
	piece p[1 + 2 * 22 + 20];

	memset(&a, 0, sizeof(a));
	a.layer = layer;
	size_t count = tp_acts_layout(&a, &c, T, R, datt_rows, align, NULL);
	ck_assert_ptr_null(a.x0);
	ck_assert_ptr_null(a.layer[1].out);
	ck_assert_ptr_null(a.dr1);

	float *base = malloc(count * sizeof(float));
	ck_assert_ptr_nonnull(base);
	ck_assert_uint_eq(tp_acts_layout(&a, &c, T, R, datt_rows, align, base),
	    count);
	int n = pieces(&a, &c, T, R, datt_rows, p);
	ck_assert_int_le(n, (int)(sizeof(p) / sizeof(p[0])));

	/* The count is the sum of the sizes, each rounded up. */
	size_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += (p[i].n + align - 1) / align * align;
	ck_assert_uint_eq(count, sum);
	/* In order of their starts: aligned, inside, apart; with alignment
	 * 1 they tile the buffer. */
	qsort(p, (size_t)n, sizeof(p[0]), by_start);
	size_t end = 0;
	for (int i = 0; i < n; i++) {
		size_t at = (size_t)(p[i].p - base);
		ck_assert_msg(p[i].p >= base && at % align == 0,
		    "%s at float %zu, alignment %zu", p[i].name, at, align);
		ck_assert_msg(at >= end, "%s at float %zu overlaps the buffer "
		    "before, which ends at %zu", p[i].name, at, end);
		if (align == 1)
			ck_assert_msg(at == end,
			    "%s at %zu leaves a gap from %zu", p[i].name, at,
			    end);
		end = at + p[i].n;
	}
	ck_assert_uint_le(end, count);
	/* Every float laid out can be written: under the sanitizers and
	 * memcheck, a count too small for the layout is seen here too. */
	for (int i = 0; i < n; i++)
		memset(p[i].p, 0, p[i].n * sizeof(float));
	free(base);
}
END_TEST

Suite *
acts_suite(void)
{
	Suite *s = suite_create("acts");
	TCase *tc = tcase_create("acts");

	tcase_add_test(tc, carve);
	tcase_add_loop_test(tc, layout, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}
