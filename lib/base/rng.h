/*
 * rng: the seeded pseudo-random generator behind every random choice
 * (splits, shuffles, dropout, corruption of views), so that the same --seed
 * gives the same bytes. xoshiro256** (Blackman and Vigna 2018), seeded
 * through splitmix64 as its authors advise.
 */
#ifndef TP_RNG_H
#define TP_RNG_H

#include <stdint.h>

typedef struct {
	uint64_t s[4]; /* the state; never all zero */
} tp_rng;

void tp_rng_seed(tp_rng *r, uint64_t seed);
/* Uniform in [0, n), without modulo bias; n > 0. */
uint64_t tp_rng_below(tp_rng *r, uint64_t n);

/* Inline: dropout draws one number per activation. */
static inline uint64_t
tp_rng_next(tp_rng *r)
{
	uint64_t *s = r->s, t = s[1] << 17;
	uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/* Uniform in [0, 1) with 24 random bits, as a float holds them. */
static inline float
tp_rng_float(tp_rng *r)
{
	return (float)(tp_rng_next(r) >> 40) * 0x1.0p-24f;
}
/* A standard normal deviate (Box-Muller). */
double tp_rng_normal(tp_rng *r);

#endif
