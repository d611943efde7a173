/*
 * distinct: how many distinct items (rows, by a 64-bit hash) a data set
 * holds, in memory bounded by k hashes, mergeable.
 *
 * The k least distinct hashes are kept (a "k minimum values" sketch,
 * Bar-Yossef et al. 2002; Beyer et al. 2007). While a data set has k
 * distinct hashes or fewer, they are all kept and the count is exact. With
 * more, the count is estimated as (k - 1) 2^64 / h, h the k-th least hash:
 * unbiased, with a relative standard error of at most 1 / sqrt(k - 2).
 * Sketches of parts, merged, are the sketch of the whole: the k least of
 * the union. Hashes are mixed (SplitMix64's finaliser) before they are
 * kept, so that any hash of the items will do.
 *
 * Text form (tabpipe-partial(5)): "k saturated n" and then the n hashes
 * kept, increasing, each as 16 hex digits after a space; saturated is 1
 * once more than k distinct hashes have been seen.
 */
#ifndef TP_DISTINCT_H
#define TP_DISTINCT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct {
	uint64_t *h;       /* (n) kept hashes; the first sorted ones are
	                      distinct and increasing */
	size_t n, sorted;
	size_t k;          /* hashes kept at most */
	uint64_t bound;    /* with saturated, the k-th least hash (or one
	                      above it): none above it is kept */
	int saturated;     /* more than k distinct hashes seen */
} tp_distinct;

int tp_distinct_init(tp_distinct *d, size_t k, tp_err *e);
void tp_distinct_free(tp_distinct *d); /* accepts a zeroed d */
int tp_distinct_add(tp_distinct *d, uint64_t hash, tp_err *e);
int tp_distinct_merge(tp_distinct *into, const tp_distinct *from,
    tp_err *e);
/* The distinct count; *exact says whether it is exact, and *stderr_rel
 * (may be NULL) gets its relative standard error, 0 when exact. */
double tp_distinct_count(tp_distinct *d, int *exact, double *stderr_rel,
    tp_err *e);

char *tp_distinct_format(const tp_distinct *d); /* to free; NULL on no memory */
int tp_distinct_parse(tp_distinct *d, const char *text, tp_err *e);

#endif
