#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/distinct.h"

int
tp_distinct_init(tp_distinct *d, size_t k, tp_err *e)
{
	memset(d, 0, sizeof(*d));
	if (k < 3)
		return tp_err_set(e, TP_EUSAGE, "a distinct count of %zu hashes: 3 or more", k);
	d->k = k;
	/* Twice k, so that a compaction comes once every k hashes. */
	if ((d->h = malloc(2 * k * sizeof(*d->h))) == NULL)
		return tp_err_nomem(e, "the distinct count");
	return TP_OK;
}

void
tp_distinct_free(tp_distinct *d)
{
	if (d == NULL)
		return;
	free(d->h);
	memset(d, 0, sizeof(*d));
}

static int
by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts, drops the repeats, keeps the k least. */
static void
compact(tp_distinct *d)
{
	size_t n = 0;

	if (d->sorted == d->n)
		return;
	qsort(d->h, d->n, sizeof(*d->h), by_value);
	for (size_t i = 0; i < d->n; i++)
		if (n == 0 || d->h[i] != d->h[n - 1])
			d->h[n++] = d->h[i];
	if (n > d->k) {
		d->saturated = 1;
		n = d->k;
	}
	if (d->saturated)
		d->bound = d->h[n - 1];
	d->n = d->sorted = n;
}

/* SplitMix64's finaliser (Steele, Lea and Flood 2014). */
static uint64_t
mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Keeps an already mixed hash. */
static void
keep(tp_distinct *d, uint64_t h)
{
	/* Above the k-th least: not among the k least, ever. */
	if (d->saturated && h > d->bound)
		return;
	if (d->n == 2 * d->k)
		compact(d);
	d->h[d->n++] = h;
}

int
tp_distinct_add(tp_distinct *d, uint64_t hash, tp_err *e)
{
	keep(d, mix(hash));
	return TP_OK;
}

int
tp_distinct_merge(tp_distinct *into, const tp_distinct *from, tp_err *e)
{
	if (into->k != from->k)
		return tp_err_set(e, TP_EUSAGE,
		    "distinct counts of %zu and %zu hashes do not merge", into->k,
		    from->k);
	/* A part that saw more than k distinct hashes makes the whole see
	 * them: its k least are below its bound, and it had more. */
	if (from->saturated && !into->saturated) {
		compact(into);
		into->saturated = 1;
		into->bound = into->n == into->k && into->h[into->n - 1] < from->bound ?
		    into->h[into->n - 1] : from->bound;
	} else if (from->saturated && from->bound < into->bound)
		into->bound = from->bound;
	for (size_t i = 0; i < from->n; i++)
		keep(into, from->h[i]);
	compact(into);
	return TP_OK;
}

double
tp_distinct_count(tp_distinct *d, int *exact, double *stderr_rel, tp_err *e)
{
	compact(d);
	*exact = !d->saturated;
	if (stderr_rel != NULL)
		*stderr_rel = d->saturated ? 1 / sqrt((double)d->k - 2) : 0;
	if (!d->saturated)
		return (double)d->n;
	/* The k-th least of uniform 64-bit hashes, as a share of 2^64. */
	return (double)(d->k - 1) / ldexp((double)d->bound, -64);
}

char *
tp_distinct_format(const tp_distinct *from)
{
	tp_distinct d = *from;
	char *text = NULL;
	size_t len;

	/* A copy to compact, so that d stays as it is. */
	if ((d.h = malloc((d.n + 1) * sizeof(*d.h))) == NULL)
		return NULL;
	memcpy(d.h, from->h, d.n * sizeof(*d.h));
	compact(&d);
	if ((text = malloc(d.n * 17 + 64)) != NULL) {
		len = (size_t)sprintf(text, "%zu %d %zu", d.k, d.saturated, d.n);
		for (size_t i = 0; i < d.n; i++)
			len += (size_t)sprintf(text + len, " %016" PRIx64, d.h[i]);
	}
	free(d.h);
	return text;
}

int
tp_distinct_parse(tp_distinct *d, const char *text, tp_err *e)
{
	const char *p = text;
	unsigned long long k, n;
	int sat, used, rc;

	memset(d, 0, sizeof(*d));
	if (sscanf(p, "%llu %d %llu%n", &k, &sat, &n, &used) != 3 ||
	    k < 3 || k > (1u << 30) || (sat != 0 && sat != 1) || n > k ||
	    (sat && n != k) || text[0] == '-')
		return tp_err_set(e, TP_EDATA,
		    "a distinct count: expected its size, whether saturated, and its count first");
	if ((rc = tp_distinct_init(d, (size_t)k, e)) != TP_OK)
		return rc;
	p += used;
	for (size_t i = 0; i < n; i++, p += 17) {
		uint64_t h = 0;
		int ok = p[0] == ' ';
		for (int j = 1; ok && j <= 16; j++) {
			char c = p[j];
			int v = c >= '0' && c <= '9' ? c - '0' :
			    c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			ok = v >= 0;
			h = h << 4 | (uint64_t)(v & 15);
		}
		if (!ok || (i > 0 && h <= d->h[i - 1])) {
			tp_distinct_free(d);
			return tp_err_set(e, TP_EDATA,
			    "a distinct count: hash %zu of %llu: not 16 hex digits above the one before",
			    i + 1, n);
		}
		d->h[d->n++] = h;
	}
	if (*p != '\0') {
		tp_distinct_free(d);
		return tp_err_set(e, TP_EDATA,
		    "a distinct count: more than its %llu hashes", n);
	}
	d->sorted = d->n;
	d->saturated = sat;
	if (sat)
		d->bound = d->h[d->n - 1];
	return TP_OK;
}
