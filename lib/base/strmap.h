/*
 * strmap: a set of byte strings numbered in the order they were added.
 *
 * The vocabulary of a categorical column: string -> number, and number ->
 * string. Open addressing with FNV-1a hashes; the strings are copied.
 */
#ifndef TP_STRMAP_H
#define TP_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct {
	char **keys;     /* (n) the strings, NUL-terminated copies */
	size_t *lens;    /* (n) their lengths (a string may hold NUL bytes) */
	size_t n;        /* number of strings */
	size_t keycap;   /* allocated length of keys and lens */
	int32_t *slots;  /* (nslots) string number, or -1 for an empty slot */
	uint64_t *hashes;/* (n) hash of each string */
	size_t nslots;   /* a power of two, at least twice n */
} tp_strmap;

/* A zeroed tp_strmap is an empty map; tp_strmap_free accepts it. */
void tp_strmap_free(tp_strmap *m);

/* The number of s, or -1 if it is not in the map. */
long tp_strmap_find(const tp_strmap *m, const char *s, size_t len);

/* The number of s, adding it first if it is not there; -1 on no memory. */
long tp_strmap_add(tp_strmap *m, const char *s, size_t len, tp_err *e);

uint64_t tp_hash_bytes(const void *p, size_t len, uint64_t h);
#define TP_HASH_SEED UINT64_C(14695981039346656037)

#endif
