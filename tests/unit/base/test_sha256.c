/*
 * test_sha256: the FIPS 180-4 test vectors, whole (tp_sha256_hex_of) and
 * fed in pieces, on both compressions.
 */
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "suites.h"

/* The digest of p fed in pieces of the given sizes, in turn. */
static void
digest_pieces(const void *p, size_t len, const size_t *sizes, size_t nsizes,
    char out[65])
{
	const unsigned char *q = p;
	unsigned char d[32];
	tp_sha256 s;
	size_t k = 0;

	tp_sha256_init(&s);
	while (len > 0) {
		size_t n = sizes[k++ % nsizes];
		if (n > len)
			n = len;
		tp_sha256_update(&s, q, n);
		q += n;
		len -= n;
	}
	tp_sha256_final(&s, d);
	tp_sha256_hex(d, out);
}

static void
expect_digest(const char *msg, const char *want)
{
	char hex[65];

	tp_sha256_hex_of(msg, strlen(msg), hex);
	ck_assert_str_eq(hex, want);
}

START_TEST(test_vectors)
{
	expect_digest("",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_digest("abc",
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	expect_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	expect_digest("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(test_million_a)
{
	static const char *const want =
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	static const size_t odd[] = {1, 3, 7, 63, 65, 127, 1000, 4097, 5};
	static const size_t one[] = {1};
	const size_t n = 1000000;
	char *a = malloc(n), hex[65];

	ck_assert_ptr_nonnull(a);
	memset(a, 'a', n);
	tp_sha256_hex_of(a, n, hex);
	ck_assert_str_eq(hex, want);
	digest_pieces(a, n, odd, sizeof(odd) / sizeof(odd[0]), hex);
	ck_assert_str_eq(hex, want);
	digest_pieces(a, n, one, 1, hex);
	ck_assert_str_eq(hex, want);
	free(a);
}
END_TEST

/* Every length around the padding boundaries gives the same digest however
 * the message is cut. */
START_TEST(test_pieces)
{
	static const size_t sizes[][3] = {
		{1, 1, 1}, {7, 13, 2}, {63, 1, 64}, {64, 64, 64}, {65, 3, 0},
		{55, 1, 8}, {56, 8, 0},
	};
	unsigned char msg[300];
	char whole[65], cut[65];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 31 + 7);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		tp_sha256_hex_of(msg, len, whole);
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t n = sizes[k][2] ? 3 : 2;
			digest_pieces(msg, len, sizes[k], n, cut);
			if (strcmp(whole, cut) != 0)
				ck_abort_msg("length %zu, pieces %zu: %s != %s",
				    len, k, cut, whole);
		}
	}
	/* The 0-byte update changes nothing. */
	{
		tp_sha256 s;
		unsigned char d[32];
		tp_sha256_init(&s);
		tp_sha256_update(&s, "ab", 2);
		tp_sha256_update(&s, "", 0);
		tp_sha256_update(&s, "c", 1);
		tp_sha256_final(&s, d);
		tp_sha256_hex(d, cut);
		ck_assert_str_eq(cut,
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	}
}
END_TEST

START_TEST(test_hex)
{
	unsigned char d[32];
	char hex[65];

	for (int i = 0; i < 32; i++)
		d[i] = (unsigned char)(i * 8 + 1);
	d[31] = 0xff;
	tp_sha256_hex(d, hex);
	ck_assert_str_eq(hex,
	    "0109111921293139414951596169717981899199a1a9b1b9c1c9d1d9e1e9f1ff");
}
END_TEST

/* tp_sha256_hex_of is init, one update, final and hex: the same digest as
 * the pieces, from any address, of any length. */
START_TEST(test_hex_of)
{
	static const size_t one[] = {1};
	unsigned char msg[200], d[32];
	char whole[65], cut[65];
	tp_sha256 s;

	tp_sha256_hex_of("", 0, whole);
	ck_assert_str_eq(whole,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	tp_sha256_hex_of("abc", 3, whole);
	ck_assert_str_eq(whole,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* Only the len bytes: "abc" of "abcd". */
	tp_sha256_hex_of("abcd", 3, whole);
	ck_assert_str_eq(whole,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 131 + 3);
	/* From an odd address too. */
	for (size_t off = 0; off < 2; off++) {
		for (size_t len = 0; len < sizeof(msg); len++) {
			tp_sha256_hex_of(msg + off, len, whole);
			digest_pieces(msg + off, len, one, 1, cut);
			ck_assert_str_eq(whole, cut);
			tp_sha256_init(&s);
			tp_sha256_update(&s, msg + off, len);
			tp_sha256_final(&s, d);
			tp_sha256_hex(d, cut);
			ck_assert_str_eq(whole, cut);
		}
	}
}
END_TEST

/* The CPU's SHA instructions and the portable code agree, on every length
 * around a block's and on a long input fed in odd pieces. */
START_TEST(test_both_compressions)
{
	static const size_t odd[] = {1, 63, 64, 65, 200, 7};
	const size_t n = 100000;
	unsigned char *p = malloc(n);
	char fast[65], slow[65];

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 2654435761u >> 13);
	for (size_t len = 0; len < 300; len++) {
		tp_sha256_use_portable(0);
		tp_sha256_hex_of(p, len, fast);
		tp_sha256_use_portable(1);
		tp_sha256_hex_of(p, len, slow);
		ck_assert_str_eq(fast, slow);
	}
	tp_sha256_use_portable(0);
	digest_pieces(p, n, odd, 6, fast);
	tp_sha256_use_portable(1);
	digest_pieces(p, n, odd, 6, slow);
	tp_sha256_use_portable(0);
	ck_assert_str_eq(fast, slow);
	free(p);
}
END_TEST

Suite *
sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("fips");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_million_a);
	tcase_add_test(tc, test_pieces);
	tcase_add_test(tc, test_hex);
	tcase_add_test(tc, test_hex_of);
	tcase_add_test(tc, test_both_compressions);
	suite_add_tcase(s, tc);
	return s;
}
