/*
 * clock: seconds on the monotonic clock, for rates, waits and benchmarks.
 * Never the wall clock, which jumps when the time is set.
 */
#ifndef TP_CLOCK_H
#define TP_CLOCK_H

#include <time.h>

/* Inline: the benchmarks time single calls of a few microseconds. */
static inline double
tp_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
