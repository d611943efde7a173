#include <math.h>

#include "base/rng.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
tp_rng_seed(tp_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t
tp_rng_below(tp_rng *r, uint64_t n)
{
	/* Rejection of the top partial range keeps every value equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

	do
		x = tp_rng_next(r);
	while (x >= limit);
	return x % n;
}

double
tp_rng_normal(tp_rng *r)
{
	double u1 = ((double)(tp_rng_next(r) >> 11) + 1.0) * 0x1.0p-53;
	double u2 = (double)(tp_rng_next(r) >> 11) * 0x1.0p-53;

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
