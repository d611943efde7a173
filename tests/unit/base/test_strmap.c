/*
 * test_strmap: strings numbered in the order they were added, found again
 * by their bytes (NULs included), kept through many growths of the table;
 * absent strings, the zeroed map, and the FNV-1a hash it uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"
#include "suites.h"

static long
add(tp_strmap *m, const char *s, size_t len)
{
	tp_err e = {0};
	long k = tp_strmap_add(m, s, len, &e);

	ck_assert_msg(k >= 0, "add: %s", e.msg);
	ck_assert_int_eq(e.code, TP_OK);
	return k;
}

START_TEST(test_add_find)
{
	tp_strmap m = {0};
	char buf[8];

	ck_assert_int_eq(add(&m, "yes", 3), 0);
	ck_assert_int_eq(add(&m, "no", 2), 1);
	ck_assert_int_eq(add(&m, "maybe", 5), 2);
	/* Adding again gives the old number and adds nothing. */
	ck_assert_int_eq(add(&m, "no", 2), 1);
	ck_assert_int_eq(add(&m, "yes", 3), 0);
	ck_assert_uint_eq(m.n, 3);
	ck_assert_int_eq(tp_strmap_find(&m, "maybe", 5), 2);
	ck_assert_int_eq(tp_strmap_find(&m, "no", 2), 1);
	ck_assert_int_eq(tp_strmap_find(&m, "yes", 3), 0);
	/* Only the len bytes count. */
	ck_assert_int_eq(tp_strmap_find(&m, "yesterday", 3), 0);
	ck_assert_int_eq(add(&m, "nobody", 2), 1);

	/* The map keeps copies: the caller's buffer may change. */
	memcpy(buf, "copy", 5);
	ck_assert_int_eq(add(&m, buf, 4), 3);
	memcpy(buf, "XXXX", 5);
	ck_assert_str_eq(m.keys[3], "copy");
	ck_assert_int_eq(tp_strmap_find(&m, "copy", 4), 3);
	ck_assert_int_eq(tp_strmap_find(&m, buf, 4), -1);
	tp_strmap_free(&m);
}
END_TEST

/* Number k is the k-th string added, with its length. */
START_TEST(test_insertion_order)
{
	static const char *const words[] = {
		"zebra", "apple", "mango", "", "banana", "a", "kiwi", "fig",
	};
	enum { NW = sizeof(words) / sizeof(words[0]) };
	tp_strmap m = {0};

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < NW; i++)
			ck_assert_int_eq(add(&m, words[i], strlen(words[i])),
			    i);
	ck_assert_uint_eq(m.n, NW);
	for (int i = 0; i < NW; i++) {
		ck_assert_str_eq(m.keys[i], words[i]);
		ck_assert_uint_eq(m.lens[i], strlen(words[i]));
	}
	tp_strmap_free(&m);
}
END_TEST

/* Strings differing only after a NUL, or in trailing NULs, are distinct;
 * the copies keep the NULs and end with one more. */
START_TEST(test_nul_bytes)
{
	static const struct {
		const char *s;
		size_t len;
	} keys[] = {
		{"a\0b", 3}, {"a\0c", 3}, {"a", 1}, {"a\0", 2}, {"a\0\0", 3},
		{"", 0}, {"\0", 1}, {"\0\0", 2}, {"\0a", 2},
	};
	enum { NK = sizeof(keys) / sizeof(keys[0]) };
	tp_strmap m = {0};

	for (int i = 0; i < NK; i++)
		ck_assert_int_eq(add(&m, keys[i].s, keys[i].len), i);
	ck_assert_uint_eq(m.n, NK);
	for (int i = 0; i < NK; i++) {
		ck_assert_int_eq(tp_strmap_find(&m, keys[i].s, keys[i].len), i);
		ck_assert_uint_eq(m.lens[i], keys[i].len);
		ck_assert_mem_eq(m.keys[i], keys[i].s, keys[i].len);
		ck_assert_int_eq(m.keys[i][keys[i].len], '\0');
	}
	ck_assert_int_eq(tp_strmap_find(&m, "a\0d", 3), -1);
	ck_assert_int_eq(tp_strmap_find(&m, "\0\0\0", 3), -1);
	tp_strmap_free(&m);
}
END_TEST

/* 100,000 strings: the table doubles some twelve times, and every string
 * keeps its number through each rehash. */
START_TEST(test_growth)
{
	enum { N = 100000 };
	tp_strmap m = {0};
	char s[32];

	for (long i = 0; i < N; i++) {
		int n = snprintf(s, sizeof(s), "key-%ld", i);
		ck_assert_int_eq(add(&m, s, (size_t)n), i);
		/* The table stays at most half full. */
		ck_assert_uint_ge(m.nslots, 2 * m.n);
	}
	ck_assert_uint_eq(m.n, N);
	ck_assert_uint_eq(m.nslots & (m.nslots - 1), 0);
	for (long i = 0; i < N; i++) {
		int n = snprintf(s, sizeof(s), "key-%ld", i);
		long k = tp_strmap_find(&m, s, (size_t)n);
		if (k != i)
			ck_abort_msg("\"%s\" found as %ld", s, k);
		ck_assert_str_eq(m.keys[i], s);
	}
	/* Adding them all again adds nothing. */
	for (long i = N - 1; i >= 0; i--) {
		int n = snprintf(s, sizeof(s), "key-%ld", i);
		if (tp_strmap_add(&m, s, (size_t)n, NULL) != i)
			ck_abort_msg("\"%s\" added again as a new string", s);
	}
	ck_assert_uint_eq(m.n, N);
	/* Absent ones, some sharing a prefix with present ones. */
	for (long i = 0; i < N; i += 7) {
		int n = snprintf(s, sizeof(s), "key-%ld-", i);
		ck_assert_int_eq(tp_strmap_find(&m, s, (size_t)n), -1);
		n = snprintf(s, sizeof(s), "key-%ld", i + N);
		ck_assert_int_eq(tp_strmap_find(&m, s, (size_t)n), -1);
	}
	tp_strmap_free(&m);
}
END_TEST

START_TEST(test_absent)
{
	tp_strmap m = {0};

	/* An empty map has no table yet. */
	ck_assert_int_eq(tp_strmap_find(&m, "x", 1), -1);
	ck_assert_int_eq(tp_strmap_find(&m, "", 0), -1);
	add(&m, "x", 1);
	ck_assert_int_eq(tp_strmap_find(&m, "y", 1), -1);
	ck_assert_int_eq(tp_strmap_find(&m, "", 0), -1);
	ck_assert_int_eq(tp_strmap_find(&m, "xx", 2), -1);
	ck_assert_int_eq(tp_strmap_find(&m, "x", 0), -1);
	tp_strmap_free(&m);
}
END_TEST

/* A zeroed map is freed, and a freed one is zeroed and usable again. */
START_TEST(test_free)
{
	tp_strmap m = {0};

	tp_strmap_free(&m);
	tp_strmap_free(NULL);
	add(&m, "a", 1);
	add(&m, "b", 1);
	tp_strmap_free(&m);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_uint_eq(m.nslots, 0);
	ck_assert_ptr_null(m.keys);
	ck_assert_ptr_null(m.slots);
	tp_strmap_free(&m);
	ck_assert_int_eq(tp_strmap_find(&m, "a", 1), -1);
	ck_assert_int_eq(add(&m, "b", 1), 0);
	tp_strmap_free(&m);
}
END_TEST

/* FNV-1a, 64 bits: the test vectors of the FNV reference code
 * (isthe.com/chongo/tech/comp/fnv, test_fnv.c). */
START_TEST(test_hash)
{
	ck_assert_uint_eq(tp_hash_bytes("", 0, TP_HASH_SEED),
	    UINT64_C(0xcbf29ce484222325));
	ck_assert_uint_eq(tp_hash_bytes("a", 1, TP_HASH_SEED),
	    UINT64_C(0xaf63dc4c8601ec8c));
	ck_assert_uint_eq(tp_hash_bytes("foobar", 6, TP_HASH_SEED),
	    UINT64_C(0x85944171f73967e8));
	/* A hash carries on from another: pieces hash as the whole. */
	ck_assert_uint_eq(tp_hash_bytes("bar", 3,
	    tp_hash_bytes("foo", 3, TP_HASH_SEED)),
	    UINT64_C(0x85944171f73967e8));
	/* NUL bytes count. */
	ck_assert_uint_ne(tp_hash_bytes("a\0", 2, TP_HASH_SEED),
	    tp_hash_bytes("a", 1, TP_HASH_SEED));
}
END_TEST

Suite *
strmap_suite(void)
{
	Suite *s = suite_create("strmap");
	TCase *tc = tcase_create("map");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_add_find);
	tcase_add_test(tc, test_insertion_order);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_absent);
	tcase_add_test(tc, test_free);
	tcase_add_test(tc, test_hash);
	suite_add_tcase(s, tc);
	return s;
}
