/*
 * test_rng: the generator is xoshiro256** seeded through splitmix64 (its
 * first outputs against values computed apart from this code), a seed
 * gives one sequence and different seeds differ, and tp_rng_below,
 * tp_rng_float and tp_rng_normal draw what they promise. Every draw comes
 * from a fixed seed, so each bound below is either always met or never.
 */
#include <math.h>
#include <stdint.h>

#include "base/rng.h"
#include "suites.h"

/*
 * The first six outputs for four seeds, computed by a Python transcription
 * of the authors' C code (prng.di.unimi.it: splitmix64.c seeding s[0..3]
 * in turn, then xoshiro256starstar.c), in arbitrary-precision integers
 * masked to 64 bits.
 */
static const struct {
	uint64_t seed;
	uint64_t out[6];
} seeded[] = {
	{0, {0x99ec5f36cb75f2b4, 0xbf6e1f784956452a, 0x1a5f849d4933e6e0,
	    0x6aa594f1262d2d2c, 0xbba5ad4a1f842e59, 0xffef8375d9ebcaca}},
	{1, {0xb3f2af6d0fc710c5, 0x853b559647364cea, 0x92f89756082a4514,
	    0x642e1c7bc266a3a7, 0xb27a48e29a233673, 0x24c123126ffda722}},
	{42, {0x15780b2e0c2ec716, 0x6104d9866d113a7e, 0xae17533239e499a1,
	    0xecb8ad4703b360a1, 0xfde6dc7fe2ec5e64, 0xc50da53101795238}},
	{UINT64_MAX, {0x8f5520d52a7ead08, 0xc476a018caa1802d,
	    0x81de31c0d260469e, 0xbf658d7e065f3c2f, 0x913593fda1bca32a,
	    0xbb535e93941ba525}},
};

START_TEST(test_seeded_outputs)
{
	for (size_t k = 0; k < sizeof(seeded) / sizeof(seeded[0]); k++) {
		tp_rng r;
		tp_rng_seed(&r, seeded[k].seed);
		for (int i = 0; i < 6; i++) {
			uint64_t got = tp_rng_next(&r);
			ck_assert_msg(got == seeded[k].out[i],
			    "seed %llu, output %d: %#llx, want %#llx",
			    (unsigned long long)seeded[k].seed, i,
			    (unsigned long long)got,
			    (unsigned long long)seeded[k].out[i]);
		}
	}
}
END_TEST

/*
 * The generator alone, from the state {1, 2, 3, 4}: the outputs that the
 * Rust crate rand_xoshiro tests against (the authors' C code gives the
 * same), so that a fault in the seeding cannot hide one in the generator.
 */
START_TEST(test_generator_outputs)
{
	static const uint64_t want[] = {
		11520, 0, 1509978240, 1215971899390074240,
		1216172134540287360, 607988272756665600,
		16172922978634559625u, 8476171486693032832u,
		10595114339597558777u, 2904607092377533576,
	};
	tp_rng r = {{1, 2, 3, 4}};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(tp_rng_next(&r) == want[i], "output %zu", i);
}
END_TEST

START_TEST(test_same_seed)
{
	tp_rng a, b;

	tp_rng_seed(&a, 20240601);
	tp_rng_seed(&b, 20240601);
	for (int i = 0; i < 10000; i++)
		ck_assert_uint_eq(tp_rng_next(&a), tp_rng_next(&b));
	/* Seeding again starts the sequence again. */
	tp_rng_seed(&b, 20240601);
	tp_rng_seed(&a, 20240601);
	ck_assert_uint_eq(tp_rng_below(&a, 1000), tp_rng_below(&b, 1000));
	ck_assert(tp_rng_float(&a) == tp_rng_float(&b));
	ck_assert(tp_rng_normal(&a) == tp_rng_normal(&b));
}
END_TEST

/* Seeds next to each other give unrelated sequences, and no seed (0
 * included) gives the all-zero state. */
START_TEST(test_seeds_differ)
{
	enum { NSEEDS = 64 };
	uint64_t first[NSEEDS];

	for (uint64_t s = 0; s < NSEEDS; s++) {
		tp_rng r;
		tp_rng_seed(&r, s);
		ck_assert(r.s[0] | r.s[1] | r.s[2] | r.s[3]);
		first[s] = tp_rng_next(&r);
		for (uint64_t t = 0; t < s; t++)
			ck_assert_msg(first[s] != first[t],
			    "seeds %llu and %llu", (unsigned long long)s,
			    (unsigned long long)t);
	}
	/* Over a run: about half the bits differ, as for unrelated words. */
	tp_rng a, b;
	long differ = 0;
	tp_rng_seed(&a, 7);
	tp_rng_seed(&b, 8);
	for (int i = 0; i < 1000; i++)
		differ += __builtin_popcountll(tp_rng_next(&a) ^
		    tp_rng_next(&b));
	/* 64000 fair bits: mean 32000, sd 126; 8 sd either side. */
	ck_assert_int_gt(differ, 32000 - 1012);
	ck_assert_int_lt(differ, 32000 + 1012);
}
END_TEST

START_TEST(test_below_range)
{
	static const uint64_t ns[] = {
		1, 2, 3, 7, 10, 1000, (UINT64_C(1) << 32) + 1,
		(UINT64_C(1) << 63) + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	tp_rng r;

	tp_rng_seed(&r, 99);
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		uint64_t n = ns[k], hi = 0;
		for (int i = 0; i < 20000; i++) {
			uint64_t x = tp_rng_below(&r, n);
			ck_assert_msg(x < n, "%llu out of [0, %llu)",
			    (unsigned long long)x, (unsigned long long)n);
			if (x > hi)
				hi = x;
		}
		/* The top of the range is reached too (for n > 1, half the
		 * draws are in the upper half). */
		if (n > 1)
			ck_assert_uint_ge(hi, n / 2);
	}
	/* n = 2: both values. */
	long ones = 0;
	for (int i = 0; i < 1000; i++)
		ones += (long)tp_rng_below(&r, 2);
	ck_assert_int_gt(ones, 0);
	ck_assert_int_lt(ones, 1000);
}
END_TEST

/* The chi-square statistic of counts against equal shares. */
static double
chi2_uniform(const long *count, int k, long draws)
{
	double want = (double)draws / k, x = 0;

	for (int i = 0; i < k; i++)
		x += (count[i] - want) * (count[i] - want) / want;
	return x;
}

/*
 * Uniform over a small n: the chi-square of 100,000 draws of 0..9 stays
 * under the 1e-6 critical value for 9 degrees of freedom (44.81,
 * scipy.stats.chi2.isf(1e-6, 9), checked with mpmath).
 */
START_TEST(test_below_uniform)
{
	enum { K = 10, DRAWS = 100000 };
	long count[K] = {0};
	tp_rng r;

	tp_rng_seed(&r, 12345);
	for (int i = 0; i < DRAWS; i++)
		count[tp_rng_below(&r, K)]++;
	double x = chi2_uniform(count, K, DRAWS);
	ck_assert_msg(x < 44.81, "chi-square %g over %d values", x, K);
}
END_TEST

/*
 * Modulo bias is plain where n is about 2/3 of 2^64: x % n would give the
 * lower half of [0, n) twice as often as the upper (thirds of [0, n) with
 * shares 4/9, 1/3 and 2/9, a chi-square of about 2200 for 30,000 draws).
 * Without bias the thirds are equal: the chi-square stays under the 1e-6
 * critical value for 2 degrees of freedom (27.63).
 */
START_TEST(test_below_no_modulo_bias)
{
	enum { DRAWS = 30000 };
	const uint64_t n = UINT64_C(0xaaaaaaaaaaaaaaa9), third = n / 3;
	long count[3] = {0};
	tp_rng r;

	tp_rng_seed(&r, 271828);
	for (int i = 0; i < DRAWS; i++) {
		uint64_t x = tp_rng_below(&r, n);
		ck_assert_uint_lt(x, n);
		count[x < third ? 0 : x < 2 * third ? 1 : 2]++;
	}
	/* n is a multiple of 3, so the thirds are equal. */
	ck_assert_uint_eq(third * 3, n);
	double x = chi2_uniform(count, 3, DRAWS);
	ck_assert_msg(x < 27.63, "chi-square %g: %ld %ld %ld", x, count[0],
	    count[1], count[2]);
}
END_TEST

START_TEST(test_float)
{
	enum { DRAWS = 200000, K = 16 };
	long count[K] = {0};
	double sum = 0;
	float lo = 1, hi = 0;
	tp_rng r;

	tp_rng_seed(&r, 31337);
	for (int i = 0; i < DRAWS; i++) {
		float u = tp_rng_float(&r);
		ck_assert_msg(u >= 0 && u < 1, "%.9g out of [0, 1)", u);
		count[(int)(u * K)]++;
		sum += u;
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
	}
	ck_assert_float_lt(lo, 1e-4f);
	ck_assert_float_gt(hi, 1 - 1e-4f);
	/* The mean within 6 standard errors, sqrt(1/12/N) = 6.5e-4. */
	ck_assert_double_lt(fabs(sum / DRAWS - 0.5),
	    6 * sqrt(1.0 / 12 / DRAWS));
	/* 15 degrees of freedom: the 1e-6 critical value is 56.49. */
	ck_assert_double_lt(chi2_uniform(count, K, DRAWS), 56.49);

	/*
	 * The largest output, 2^64 - 1, still gives a float below 1: s[1]
	 * is the inverse of the output function (x -> rotl(5 x, 7) 9 mod
	 * 2^64) at 2^64 - 1, worked out with Python's pow(9, -1, 2**64)
	 * and pow(5, -1, 2**64).
	 */
	tp_rng top = {{1, UINT64_C(0x4fc71c71c71c71c7), 3, 4}};
	tp_rng zero = {{1, 0, 3, 4}};
	tp_rng peek = top;
	ck_assert_uint_eq(tp_rng_next(&peek), UINT64_MAX);
	ck_assert_float_eq(tp_rng_float(&top), 1 - 0x1.0p-24f);
	ck_assert_float_eq(tp_rng_float(&zero), 0);
}
END_TEST

/*
 * Mean 0 and variance 1 within 6 standard errors for the sample size:
 * sqrt(1/N) for the mean and sqrt(2/(N-1)) for the variance of normal
 * values; the share within one standard deviation, 0.682689, within 6 of
 * its standard errors too.
 */
START_TEST(test_normal)
{
	enum { N = 200000 };
	double sum = 0, sq = 0, mean, var, p1 = 0.682689492137;
	long within = 0;
	tp_rng r;

	tp_rng_seed(&r, 4242);
	for (int i = 0; i < N; i++) {
		double z = tp_rng_normal(&r);
		ck_assert(isfinite(z));
		sum += z;
		sq += z * z;
		within += fabs(z) < 1;
	}
	mean = sum / N;
	var = (sq - N * mean * mean) / (N - 1);
	ck_assert_msg(fabs(mean) < 6 * sqrt(1.0 / N), "mean %g", mean);
	ck_assert_msg(fabs(var - 1) < 6 * sqrt(2.0 / (N - 1)), "variance %g",
	    var);
	ck_assert_msg(fabs((double)within / N - p1) <
	    6 * sqrt(p1 * (1 - p1) / N), "%ld of %d within 1", within, N);
}
END_TEST

Suite *
rng_suite(void)
{
	Suite *s = suite_create("rng");
	TCase *tc = tcase_create("sequence");

	tcase_add_test(tc, test_seeded_outputs);
	tcase_add_test(tc, test_generator_outputs);
	tcase_add_test(tc, test_same_seed);
	tcase_add_test(tc, test_seeds_differ);
	suite_add_tcase(s, tc);

	tc = tcase_create("distributions");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_below_range);
	tcase_add_test(tc, test_below_uniform);
	tcase_add_test(tc, test_below_no_modulo_bias);
	tcase_add_test(tc, test_float);
	tcase_add_test(tc, test_normal);
	suite_add_tcase(s, tc);
	return s;
}
