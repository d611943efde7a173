/*
 * timing: the median that the speed benchmarks' C programs
 * (bench/speed.c, and the one bench/gpu.sh writes) report with.
 */
#ifndef TP_BENCH_TIMING_H
#define TP_BENCH_TIMING_H

#include <stdlib.h>

#include "base/clock.h"

static inline int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n values, which it sorts. */
static inline double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
