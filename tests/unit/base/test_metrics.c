/*
 * test_metrics: ROC-AUC on inputs worked out by hand (ties, NaN scores,
 * unlabelled rows, one class absent), against a brute-force count of the
 * pairs, and the grouped form against the plain one.
 */
#include <math.h>
#include <stdlib.h>

#include "base/metrics.h"
#include "base/rng.h"
#include "suites.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static double
auc(const float *score, const int8_t *label, size_t n)
{
	tp_err e = {0};

	return tp_roc_auc(score, 1, label, n, &e);
}

/* The Mann-Whitney count over every (positive, negative) pair. */
static double
brute_auc(const float *score, size_t stride, const int8_t *label, size_t n)
{
	double u = 0, pairs = 0;

	for (size_t i = 0; i < n; i++) {
		if (label[i] != 1)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (label[j] != 0)
				continue;
			float a = score[i * stride], b = score[j * stride];
			double ka = isnan(a) ? -INFINITY : a;
			double kb = isnan(b) ? -INFINITY : b;
			u += ka > kb ? 1 : ka == kb ? 0.5 : 0;
			pairs++;
		}
	}
	return pairs > 0 ? u / pairs : NAN;
}

START_TEST(test_hand)
{
	static const float s1[] = {0.1f, 0.4f, 0.35f, 0.8f};
	static const int8_t l1[] = {0, 0, 1, 1};
	/* Positives 0.5 (ties two negatives: 1/2 + 1/2) and 0.9 (beats both):
	 * 3 of 4 pairs. */
	static const float s2[] = {0.5f, 0.5f, 0.5f, 0.9f};
	static const int8_t l2[] = {0, 1, 0, 1};
	/* All tied: one half. */
	static const float s3[] = {2, 2, 2, 2, 2};
	static const int8_t l3[] = {1, 0, 0, 1, 1};
	/* Perfect, reversed. */
	static const float s4[] = {3, 2, 1, 0};
	static const int8_t l4[] = {0, 0, 1, 1};
	/* Positives {1, 2, 2}, negatives {2, 3}: pairs (1,2)=0 (1,3)=0
	 * (2,2)=.5 (2,3)=0 twice: 1 of 6. */
	static const float s5[] = {1, 2, 2, 2, 3};
	static const int8_t l5[] = {1, 1, 1, 0, 0};

	ck_assert_double_eq_tol(auc(s1, l1, N(s1)), 0.75, 1e-15);
	ck_assert_double_eq_tol(auc(s2, l2, N(s2)), 0.75, 1e-15);
	ck_assert_double_eq_tol(auc(s3, l3, N(s3)), 0.5, 1e-15);
	ck_assert_double_eq_tol(auc(s4, l4, N(s4)), 0.0, 1e-15);
	ck_assert_double_eq_tol(auc(s5, l5, N(s5)), 1.0 / 6, 1e-15);
}
END_TEST

START_TEST(test_unlabelled_and_nan)
{
	/* Counted as negatives or as positives, the two -1 rows would make
	 * it 2/3. */
	static const float s1[] = {0.1f, 0.9f, 0.95f, 0.0f};
	static const int8_t l1[] = {0, 1, -1, -1};
	/* A NaN score ranks below every number: the NaN positive loses to
	 * both negatives, the 0.7 positive beats both. */
	const float s2[] = {NAN, 0.7f, -5, 0.2f};
	static const int8_t l2[] = {1, 1, 0, 0};
	/* Two NaNs tie. */
	const float s3[] = {NAN, NAN, 1};
	static const int8_t l3[] = {1, 0, 0};

	ck_assert_double_eq_tol(auc(s1, l1, N(s1)), 1.0, 1e-15);
	{
		static const float s[] = {0.3f, 0.9f, 0.6f, 0.1f};
		static const int8_t l[] = {-1, 1, 0, -1};
		ck_assert_double_eq_tol(auc(s, l, N(s)), 1.0, 1e-15);
	}
	ck_assert_double_eq_tol(auc(s2, l2, N(s2)), 0.5, 1e-15);
	ck_assert_double_eq_tol(auc(s3, l3, N(s3)), 0.25, 1e-15);
}
END_TEST

START_TEST(test_one_class)
{
	static const float s[] = {0.1f, 0.2f, 0.3f};
	static const int8_t pos[] = {1, 1, 1}, neg[] = {0, 0, -1};
	static const int8_t none[] = {-1, -1, -1};

	ck_assert(isnan(auc(s, pos, N(s))));
	ck_assert(isnan(auc(s, neg, N(s))));
	ck_assert(isnan(auc(s, none, N(s))));
	ck_assert(isnan(auc(s, pos, 0)));
	/* Exactly where the AUC is not defined, both classes are not there. */
	static const int8_t both[] = {-1, 0, 1};
	ck_assert(!tp_labels_of_both_classes(pos, N(s)));
	ck_assert(!tp_labels_of_both_classes(neg, N(s)));
	ck_assert(!tp_labels_of_both_classes(none, N(s)));
	ck_assert(!tp_labels_of_both_classes(both, 0));
	ck_assert(!tp_labels_of_both_classes(both, 2));
	ck_assert(tp_labels_of_both_classes(both, N(s)));
	ck_assert(!isnan(auc(s, both, N(s))));
	{
		static const double rank[] = {1, 2};
		static const uint64_t p[] = {3, 4}, n[] = {0, 0};
		tp_err e = {0};
		ck_assert(isnan(tp_roc_auc_grouped(rank, p, n, 2, &e)));
		ck_assert(isnan(tp_roc_auc_grouped(rank, n, p, 2, &e)));
	}
}
END_TEST

START_TEST(test_stride)
{
	/* Scores in the second of three columns; the others would give 0. */
	static const float s[] = {
		9, 0.1f, 0,
		0, 0.4f, 9,
		9, 0.35f, 0,
		0, 0.8f, 9,
	};
	static const int8_t l[] = {0, 0, 1, 1};
	tp_err e = {0};

	ck_assert_double_eq_tol(tp_roc_auc(s + 1, 3, l, 4, &e), 0.75, 1e-15);
	ck_assert_double_eq_tol(tp_roc_auc(s, 3, l, 4, &e), 0.5, 1e-15);
}
END_TEST

START_TEST(test_grouped_hand)
{
	/* The groups of test_hand's tied case, given out of order. */
	static const double rank[] = {0.9, 0.5};
	static const uint64_t pos[] = {1, 1}, neg[] = {0, 2};
	/* Equal ranks in two groups are one tie. */
	static const double rank2[] = {1, 1, 0};
	static const uint64_t pos2[] = {1, 0, 0}, neg2[] = {0, 1, 1};
	tp_err e = {0};

	ck_assert_double_eq_tol(tp_roc_auc_grouped(rank, pos, neg, 2, &e),
	    0.75, 1e-15);
	ck_assert_double_eq_tol(tp_roc_auc_grouped(rank2, pos2, neg2, 3, &e),
	    0.75, 1e-15);
}
END_TEST

/* Random scores with many ties: the AUC, the pair count and the grouped
 * AUC agree. */
START_TEST(test_random)
{
	enum { n = 1500, levels = 23 };
	float *s = malloc(n * 2 * sizeof(*s));
	int8_t *l = malloc(n);
	double rank[levels + 1];
	uint64_t pos[levels + 1], neg[levels + 1];
	tp_rng r;
	tp_err e = {0};

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(l);
	tp_rng_seed(&r, 99);
	for (int round = 0; round < 20; round++) {
		for (int g = 0; g <= levels; g++) {
			rank[g] = g == levels ? -INFINITY : g * 0.25 - 1;
			pos[g] = neg[g] = 0;
		}
		for (size_t i = 0; i < n; i++) {
			int g = (int)tp_rng_below(&r, levels + 1);
			s[2 * i] = g == levels ? NAN : (float)rank[g];
			s[2 * i + 1] = 0;
			/* Higher scores lean positive. */
			int lean = g == levels ? 0 : g;
			int lab = tp_rng_below(&r, 100) < 20 ? -1 :
			    (int)tp_rng_below(&r, (uint64_t)levels + 4) <= lean;
			l[i] = (int8_t)lab;
			if (lab == 1)
				pos[g]++;
			else if (lab == 0)
				neg[g]++;
		}
		double a = tp_roc_auc(s, 2, l, n, &e);
		double b = brute_auc(s, 2, l, n);
		double c = tp_roc_auc_grouped(rank, pos, neg, levels + 1, &e);
		ck_assert(!isnan(a));
		ck_assert(a > 0.5);
		ck_assert_double_eq_tol(a, b, 1e-12);
		ck_assert_double_eq_tol(c, b, 1e-12);
	}
	free(s);
	free(l);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("auc");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hand);
	tcase_add_test(tc, test_unlabelled_and_nan);
	tcase_add_test(tc, test_one_class);
	tcase_add_test(tc, test_stride);
	tcase_add_test(tc, test_grouped_hand);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);
	return s;
}
