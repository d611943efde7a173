#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sketch.h"

/* The float's bits as an unsigned number that sorts as the floats do:
 * negative floats reversed below the positive ones. -0 is 0, so that
 * equal values have one key. */
uint32_t
tp_sketch_bits(float x)
{
	uint32_t u;

	if (x == 0)
		x = 0;
	memcpy(&u, &x, sizeof(u));
	return u & 0x80000000u ? ~u : u | 0x80000000u;
}

float
tp_sketch_value(uint32_t u)
{
	float x;

	u = u & 0x80000000u ? u & 0x7fffffffu : ~u;
	memcpy(&x, &u, sizeof(x));
	return x;
}

uint64_t
tp_sketch_total(const tp_sketch_bin *b)
{
	uint64_t t = 0;

	for (int c = 0; c < TP_SKETCH_CLASSES; c++)
		t += b->count[c];
	return t;
}

/* MurmurHash3's finaliser: keys that differ in any bit land apart. */
static size_t
hash(uint32_t k, size_t nslots)
{
	k ^= k >> 16;
	k *= 0x85ebca6bu;
	k ^= k >> 13;
	k *= 0xc2b2ae35u;
	k ^= k >> 16;
	return k & (nslots - 1);
}

/* The slot of key: where it is, or the empty one where it would go. */
static size_t
probe(const tp_sketch *s, uint32_t key)
{
	size_t i = hash(key, s->nslots);

	while (s->slot[i] != 0 && s->bin[s->slot[i] - 1].key != key)
		i = (i + 1) & (s->nslots - 1);
	return i;
}

/* Empties the slots and files every bin again, merging bins of one key
 * (after a coarsening) into the first of them. */
static void
refile(tp_sketch *s)
{
	size_t n = 0;

	memset(s->slot, 0, s->nslots * sizeof(*s->slot));
	for (size_t i = 0; i < s->n; i++) {
		tp_sketch_bin *b = &s->bin[i];
		size_t j = probe(s, b->key);
		if (s->slot[j] == 0) {
			s->bin[n] = *b;
			s->slot[j] = (uint32_t)++n;
			continue;
		}
		tp_sketch_bin *into = &s->bin[s->slot[j] - 1];
		if (b->least < into->least)
			into->least = b->least;
		for (int c = 0; c < TP_SKETCH_CLASSES; c++)
			into->count[c] += b->count[c];
	}
	s->n = n;
}

int
tp_sketch_init(tp_sketch *s, size_t max, tp_err *e)
{
	memset(s, 0, sizeof(*s));
	if (max < 2 || max > UINT32_MAX / 4)
		return tp_err_set(e, TP_EUSAGE, "a sketch of %zu bins: 2 to %u", max,
		    UINT32_MAX / 4);
	s->max = max;
	s->alloc = max < 64 ? max : 64;
	s->nslots = 4;
	while (s->nslots <= 2 * s->alloc)
		s->nslots *= 2;
	s->bin = malloc(s->alloc * sizeof(*s->bin));
	s->slot = calloc(s->nslots, sizeof(*s->slot));
	if (s->bin == NULL || s->slot == NULL) {
		tp_sketch_free(s);
		return tp_err_nomem(e, "a sketch");
	}
	return TP_OK;
}

void
tp_sketch_free(tp_sketch *s)
{
	if (s == NULL)
		return;
	free(s->bin);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* Room for one bin more than s holds (s->n < s->max). */
static int
grow(tp_sketch *s, tp_err *e)
{
	size_t alloc = s->alloc * 2 < s->max ? s->alloc * 2 : s->max, nslots = s->nslots;
	tp_sketch_bin *bin;
	uint32_t *slot;

	while (nslots <= 2 * alloc)
		nslots *= 2;
	if ((bin = realloc(s->bin, alloc * sizeof(*bin))) == NULL)
		return tp_err_nomem(e, "a sketch");
	s->bin = bin;
	s->alloc = alloc;
	if (nslots != s->nslots) {
		if ((slot = calloc(nslots, sizeof(*slot))) == NULL)
			return tp_err_nomem(e, "a sketch");
		free(s->slot);
		s->slot = slot;
		s->nslots = nslots;
		refile(s);
	}
	return TP_OK;
}

int
tp_sketch_coarsen(tp_sketch *s, int level, tp_err *e)
{
	if (level > 31)
		return tp_err_set(e, TP_EINTERNAL, "a sketch of level %d", level);
	if (level <= s->level)
		return TP_OK;
	for (size_t i = 0; i < s->n; i++)
		s->bin[i].key = s->bin[i].least >> level;
	s->level = level;
	refile(s);
	return TP_OK;
}

/* Adds the counts of a bin whose least value is least, coarsening s as
 * long as it would have more than max bins. */
static int
add_bin(tp_sketch *s, uint32_t least, const uint64_t *count, tp_err *e)
{
	int rc;

	for (;;) {
		uint32_t key = least >> s->level;
		size_t j = probe(s, key);
		if (s->slot[j] != 0) {
			tp_sketch_bin *b = &s->bin[s->slot[j] - 1];
			if (least < b->least)
				b->least = least;
			for (int c = 0; c < TP_SKETCH_CLASSES; c++)
				b->count[c] += count[c];
			return TP_OK;
		}
		if (s->n < s->max) {
			if (s->n == s->alloc && (rc = grow(s, e)) != TP_OK)
				return rc;
			j = probe(s, key);
			s->bin[s->n] = (tp_sketch_bin){key, least, {0}};
			memcpy(s->bin[s->n].count, count, sizeof(s->bin->count));
			s->slot[j] = (uint32_t)++s->n;
			return TP_OK;
		}
		if ((rc = tp_sketch_coarsen(s, s->level + 1, e)) != TP_OK)
			return rc;
	}
}

int
tp_sketch_add(tp_sketch *s, float x, int cls, uint64_t count, tp_err *e)
{
	uint64_t c[TP_SKETCH_CLASSES] = {0};

	c[cls] = count;
	return add_bin(s, tp_sketch_bits(x), c, e);
}

int
tp_sketch_merge(tp_sketch *into, const tp_sketch *from, tp_err *e)
{
	int rc;

	if (into->max != from->max)
		return tp_err_set(e, TP_EUSAGE,
		    "sketches of %zu and %zu bins do not merge", into->max,
		    from->max);
	if ((rc = tp_sketch_coarsen(into, from->level, e)) != TP_OK)
		return rc;
	for (size_t i = 0; i < from->n; i++)
		if ((rc = add_bin(into, from->bin[i].least, from->bin[i].count,
		    e)) != TP_OK)
			return rc;
	return TP_OK;
}

static int
by_key(const void *a, const void *b)
{
	uint32_t x = ((const tp_sketch_bin *)a)->key;
	uint32_t y = ((const tp_sketch_bin *)b)->key;

	return (x > y) - (x < y);
}

void
tp_sketch_sort(tp_sketch *s)
{
	qsort(s->bin, s->n, sizeof(*s->bin), by_key);
	refile(s);
}

char *
tp_sketch_format(const tp_sketch *s)
{
	/* Five numbers of 20 digits at most a bin, and the first line. */
	char *text = malloc(s->n * 110 + 64);
	tp_sketch_bin *bin = malloc((s->n + 1) * sizeof(*bin));
	size_t len;

	if (text == NULL || bin == NULL) {
		free(text);
		free(bin);
		return NULL;
	}
	memcpy(bin, s->bin, s->n * sizeof(*bin));
	qsort(bin, s->n, sizeof(*bin), by_key);
	len = (size_t)sprintf(text, "%zu %d %zu", s->max, s->level, s->n);
	for (size_t i = 0; i < s->n; i++)
		len += (size_t)sprintf(text + len, " %" PRIu32 " %" PRIu32
		    " %" PRIu64 " %" PRIu64 " %" PRIu64, bin[i].key, bin[i].least,
		    bin[i].count[0], bin[i].count[1], bin[i].count[2]);
	free(bin);
	return text;
}

/* A space and a decimal number no greater than max, at *p; -1 if there
 * is none. */
static int
number(const char **p, uint64_t max, uint64_t *v)
{
	const char *s = *p;

	if (*s++ != ' ' || *s < '0' || *s > '9')
		return -1;
	for (*v = 0; *s >= '0' && *s <= '9'; s++) {
		if (*v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	return 0;
}

int
tp_sketch_parse(tp_sketch *s, const char *text, tp_err *e)
{
	const char *p = text;
	char *line = NULL;
	uint64_t max, level, n, v[5];
	size_t len = strlen(text);
	int rc;

	memset(s, 0, sizeof(*s));
	/* number() wants a space before each number. */
	if ((line = malloc(len + 2)) == NULL)
		return tp_err_nomem(e, "a sketch");
	line[0] = ' ';
	memcpy(line + 1, text, len + 1);
	p = line;
	if (number(&p, UINT32_MAX / 4, &max) < 0 || max < 2 ||
	    number(&p, 31, &level) < 0 || number(&p, max, &n) < 0) {
		free(line);
		return tp_err_set(e, TP_EDATA,
		    "a sketch: expected its bins, its level and its count first");
	}
	if ((rc = tp_sketch_init(s, (size_t)max, e)) != TP_OK) {
		free(line);
		return rc;
	}
	s->level = (int)level;
	for (uint64_t i = 0; i < n; i++) {
		for (int k = 0; k < 5; k++)
			if (number(&p, k < 2 ? UINT32_MAX : UINT64_MAX, &v[k]) < 0) {
				rc = tp_err_set(e, TP_EDATA,
				    "a sketch: bin %" PRIu64 " of %" PRIu64 ": expected 5 numbers",
				    i + 1, n);
				goto fail;
			}
		if (v[0] != v[1] >> level || (i > 0 && v[0] <= s->bin[s->n - 1].key) ||
		    isnan(tp_sketch_value((uint32_t)v[1]))) {
			rc = tp_err_set(e, TP_EDATA,
			    "a sketch: bin %" PRIu64 ": key %" PRIu64 " out of order or not its least value's",
			    i + 1, v[0]);
			goto fail;
		}
		if ((rc = add_bin(s, (uint32_t)v[1], v + 2, e)) != TP_OK)
			goto fail;
	}
	if (*p != '\0') {
		rc = tp_err_set(e, TP_EDATA, "a sketch: more than its %" PRIu64 " bins",
		    n);
		goto fail;
	}
	free(line);
	return TP_OK;
fail:
	free(line);
	tp_sketch_free(s);
	return rc;
}
