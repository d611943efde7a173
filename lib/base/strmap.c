#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"

uint64_t
tp_hash_bytes(const void *p, size_t len, uint64_t h)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

void
tp_strmap_free(tp_strmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->lens);
	free(m->hashes);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static size_t
probe(const tp_strmap *m, const char *s, size_t len, uint64_t h)
{
	size_t mask = m->nslots - 1, i = (size_t)h & mask;

	for (;; i = (i + 1) & mask) {
		int32_t k = m->slots[i];
		if (k < 0 || (m->hashes[k] == h && m->lens[k] == len &&
		    memcmp(m->keys[k], s, len) == 0))
			return i;
	}
}

long
tp_strmap_find(const tp_strmap *m, const char *s, size_t len)
{
	if (m->nslots == 0)
		return -1;
	return m->slots[probe(m, s, len, tp_hash_bytes(s, len, TP_HASH_SEED))];
}

static int
grow(tp_strmap *m)
{
	size_t ns = m->nslots ? m->nslots * 2 : 64;
	int32_t *slots = malloc(ns * sizeof(*slots));

	if (slots == NULL)
		return -1;
	memset(slots, 0xff, ns * sizeof(*slots));
	free(m->slots);
	m->slots = slots;
	m->nslots = ns;
	for (size_t k = 0; k < m->n; k++)
		slots[probe(m, m->keys[k], m->lens[k], m->hashes[k])] =
		    (int32_t)k;
	return 0;
}

long
tp_strmap_add(tp_strmap *m, const char *s, size_t len, tp_err *e)
{
	uint64_t h = tp_hash_bytes(s, len, TP_HASH_SEED);
	size_t i;

	if (m->nslots > 0) {
		i = probe(m, s, len, h);
		if (m->slots[i] >= 0)
			return m->slots[i];
	}
	if (m->n >= INT32_MAX)
		return tp_err_set(e, TP_EDATA, "more than %d distinct values",
		    INT32_MAX), -1;
	if (2 * (m->n + 1) > m->nslots && grow(m) < 0)
		return tp_err_nomem(e, "a vocabulary"), -1;
	if (m->n == m->keycap) {
		size_t nc = m->keycap ? m->keycap * 2 : 16;
		char **keys = realloc(m->keys, nc * sizeof(*keys));
		if (keys != NULL)
			m->keys = keys;
		size_t *lens = realloc(m->lens, nc * sizeof(*lens));
		if (lens != NULL)
			m->lens = lens;
		uint64_t *hashes = realloc(m->hashes, nc * sizeof(*hashes));
		if (hashes != NULL)
			m->hashes = hashes;
		if (keys == NULL || lens == NULL || hashes == NULL)
			return tp_err_nomem(e, "a vocabulary"), -1;
		m->keycap = nc;
	}
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return tp_err_nomem(e, "a vocabulary"), -1;
	memcpy(copy, s, len);
	copy[len] = '\0';
	m->keys[m->n] = copy;
	m->lens[m->n] = len;
	m->hashes[m->n] = h;
	m->slots[probe(m, s, len, h)] = (int32_t)m->n;
	return (long)m->n++;
}
