/*
 * test_access: the tokens file (every error with its line, the mode
 * check, no token in a message), lookups by the Authorization header
 * (hits, misses, tokens a byte or a character apart, digests differing at
 * any one byte), the decision per endpoint and role, and the rate
 * limiter: refill arithmetic, Retry-After, a clock that goes back,
 * eviction from a full table, and many threads taking from one bucket
 * without a lost update.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "serve/access.h"
#include "suites.h"

/* Every token of these tests holds this, so that a message can be
 * searched for a leak. */
#define SECRET "s3cr3t"

static char dir[256];
static char path[300];

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_access.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tokens", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

/* Writes s to the tokens file with mode. */
static void
write_tokens(const char *s, size_t len, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
load_ok(tp_access_tokens *t, const char *s)
{
	tp_err e = {0};

	write_tokens(s, strlen(s), 0600);
	ck_assert_msg(tp_access_load(t, path, &e) == TP_OK, "load: %s", e.msg);
}

/* Loading len bytes at s fails with code and the message "PATH:want". */
static void
load_fails(const char *s, size_t len, mode_t mode, int code, const char *want)
{
	tp_access_tokens t = {0};
	tp_err e = {0};
	char msg[1024];

	write_tokens(s, len, mode);
	ck_assert_int_eq(tp_access_load(&t, path, &e), code);
	ck_assert_int_eq(e.code, code);
	snprintf(msg, sizeof(msg), "%s%s", path, want);
	ck_assert_str_eq(e.msg, msg);
	ck_assert_ptr_null(strstr(e.msg, SECRET));
	/* Nothing is left half loaded. */
	ck_assert_ptr_null(t.tokens);
	ck_assert_uint_eq(t.n, 0);
	tp_access_free(&t);
}

#define FAILS(s, want) load_fails((s), sizeof(s) - 1, 0600, TP_EDATA, (want))

/* Comments, blank lines, tabs and CRLF; roles, names and lines kept. */
START_TEST(test_load)
{
	tp_access_tokens t = {0};

	load_ok(&t,
	    "# who may call the server\n"
	    "\n"
	    "admin ops " SECRET "-0123456789abcdef\n"
	    "   # an indented comment\n"
	    " \t \n"
	    "predict\tscoring-app_2.v1\t\t" SECRET "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~\r\n"
	    "  predict  batch  " SECRET "-xxxxxxxxxx  ");
	ck_assert_uint_eq(t.n, 3);
	ck_assert_int_eq(t.tokens[0].role, TP_ROLE_ADMIN);
	ck_assert_str_eq(t.tokens[0].name, "ops");
	ck_assert_int_eq(t.tokens[0].line, 3);
	ck_assert_int_eq(t.tokens[1].role, TP_ROLE_PREDICT);
	ck_assert_str_eq(t.tokens[1].name, "scoring-app_2.v1");
	ck_assert_int_eq(t.tokens[1].line, 6);
	ck_assert_str_eq(t.tokens[2].name, "batch");
	ck_assert_int_eq(t.tokens[2].line, 7);
	ck_assert_ptr_eq(tp_access_lookup(&t,
	    "Bearer " SECRET "-0123456789abcdef"), &t.tokens[0]);
	/* The '\r' was the line's end, not the token's. */
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " SECRET
	    "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~"), &t.tokens[1]);
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " SECRET "-xxxxxxxxxx"),
	    &t.tokens[2]);
	ck_assert_str_eq(tp_role_name(t.tokens[0].role), "admin");
	ck_assert_str_eq(tp_role_name(t.tokens[1].role), "predict");
	tp_access_free(&t);
	ck_assert_ptr_null(t.tokens);
	ck_assert_uint_eq(t.n, 0);
	tp_access_free(&t);
	tp_access_free(NULL);
}
END_TEST

/* The longest name and the shortest token are taken. */
START_TEST(test_limits)
{
	tp_access_tokens t = {0};
	char s[256], name[TP_ACCESS_NAME_MAX + 1];

	memset(name, 'n', TP_ACCESS_NAME_MAX);
	name[TP_ACCESS_NAME_MAX] = '\0';
	snprintf(s, sizeof(s), "admin %s " SECRET "-abcdefghi\n", name);
	ck_assert_int_eq(strlen(SECRET "-abcdefghi"), TP_ACCESS_TOKEN_MIN);
	load_ok(&t, s);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_str_eq(t.tokens[0].name, name);
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " SECRET "-abcdefghi"),
	    &t.tokens[0]);
	tp_access_free(&t);
}
END_TEST

/* Each malformed file, with its line and what is wrong, and no token. */
START_TEST(test_errors)
{
	char name[TP_ACCESS_NAME_MAX + 64];

	FAILS("admin ops\n", ":1: 2 fields, expected three: ROLE NAME TOKEN");
	FAILS("# one\n\n" SECRET "-0123456789abcdef\n",
	    ":3: 1 field, expected three: ROLE NAME TOKEN");
	FAILS("admin ops " SECRET "-0123456789abcdef extra\n",
	    ":1: 4 fields, expected three: ROLE NAME TOKEN");
	FAILS("admin ops " SECRET "-0123456789abcdef\n"
	    "Admin dev " SECRET "-0123456789abcdeX\n",
	    ":2: the role (field 1) is neither admin nor predict");
	/* A token where the role goes is not echoed. */
	FAILS(SECRET "-0123456789abcdef ops admin\n",
	    ":1: the role (field 1) is neither admin nor predict");
	FAILS("predict o/ps " SECRET "-0123456789abcdef\n",
	    ":1: the name (field 2) has a character other than letters, "
	    "digits, '-', '_' and '.'");
	FAILS("predict " SECRET "/0123456789abcdef ops\n",
	    ":1: the name (field 2) has a character other than letters, "
	    "digits, '-', '_' and '.'");
	memset(name, 0, sizeof(name));
	memcpy(name, "admin ", 6);
	memset(name + 6, 'n', TP_ACCESS_NAME_MAX + 1);
	strcat(name, " " SECRET "-0123456789abcdef\n");
	load_fails(name, strlen(name), 0600, TP_EDATA,
	    ":1: the name (field 2) is longer than 64 characters");
	FAILS("admin ops " SECRET "-abcdefgh\n",
	    ":1: the token (field 3) has 15 characters, fewer than 16");
	FAILS("admin ops " SECRET "-0123456789\x7f" "bcdef\n",
	    ":1: the token (field 3) has a character that is not printable "
	    "ASCII, at its byte 18");
	FAILS("admin ops " SECRET "-0123456789\xc3\xa9\n",
	    ":1: the token (field 3) has a character that is not printable "
	    "ASCII, at its byte 18");
	FAILS("admin ops " SECRET "-0123456789\vabcdef\n",
	    ":1: the token (field 3) has a character that is not printable "
	    "ASCII, at its byte 18");
	/* A '\r' anywhere but at the end of the line is in the token. */
	FAILS("admin ops " SECRET "-0123456789\rabcdef\n",
	    ":1: the token (field 3) has a character that is not printable "
	    "ASCII, at its byte 18");
	FAILS("admin ops " SECRET "-0123456789abcdef\n"
	    "admin dev " SECRET "-01\0" "23456789abcdef\n",
	    ":2: a NUL byte");
	FAILS("admin ops " SECRET "-0123456789abcdef\n"
	    "# another for ops\n"
	    "predict ops " SECRET "-0123456789abcdeX\n",
	    ":3: the name \"ops\" is already on line 1");
	FAILS("admin ops " SECRET "-0123456789abcdef\n"
	    "predict dev " SECRET "-0123456789abcdeX\n"
	    "predict test " SECRET "-0123456789abcdef\n",
	    ":3: the same token as on line 1");
	FAILS("", ": no token in the file");
	FAILS("# only\n\n   \n# comments\n", ": no token in the file");
}
END_TEST

/* A file that group or others may read or write is refused, saying its
 * mode and what to do; the owner's alone is taken, executable or not. */
START_TEST(test_mode)
{
	static const char good[] = "admin ops " SECRET "-0123456789abcdef\n";
	static const mode_t bad[] = {0640, 0620, 0604, 0602, 0644, 0666, 0777};
	static const mode_t fine[] = {0600, 0400, 0700, 0611};
	tp_access_tokens t = {0};
	tp_err e = {0};
	char want[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), ": mode %04o lets group or "
		    "others read or write the tokens; make it the owner's "
		    "alone: chmod 600 %s", (unsigned)bad[i], path);
		load_fails(good, sizeof(good) - 1, bad[i], TP_ENOINPUT, want);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		write_tokens(good, sizeof(good) - 1, fine[i]);
		ck_assert_msg(tp_access_load(&t, path, &e) == TP_OK,
		    "mode %04o: %s", (unsigned)fine[i], e.msg);
		ck_assert_uint_eq(t.n, 1);
		tp_access_free(&t);
	}
	unlink(path);
	ck_assert_int_eq(tp_access_load(&t, path, &e), TP_ENOINPUT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(e.msg, want);
	ck_assert_int_eq(tp_access_load(&t, dir, &e), TP_EIO);
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	ck_assert_str_eq(e.msg, want);
}
END_TEST

#define T1 SECRET "-abcdefghij"   /* 16 characters */
#define T2 SECRET "-abcdefghik"   /* T1 with another last byte */
#define T3 SECRET "-abcdefghijk"  /* T1 and one more */
#define T4 SECRET "-abcdefghijkl" /* T3 and one more */

/* Hits on the first, a middle and the last entry; misses by one byte, by
 * one character more or less; the header's forms. */
START_TEST(test_lookup)
{
	static const char *const miss[] = {
		"Bearer " SECRET "-abcdefghil",  /* T1, T2 but the last byte */
		"Bearer " SECRET "-abcdefghi",   /* T1 less its last byte */
		"Bearer " SECRET "-abcdefghijkm",/* between T3 and T4 */
		"Bearer " T4 "m",                /* T4 and one more */
		"Bearer " T1 "\x01",
		"Bearer " T1 " extra",           /* one token, no more */
		"Bearer " "S3CR3T-abcdefghij",   /* tokens have a case */
		"Bearer",
		"Bearer ",
		"Bearer \t ",
		"Bearer" T1,                     /* no space after the scheme */
		"Bearer:" T1,
		"Basic " T1,
		"Bearers " T1,
		T1,
		"",
	};
	tp_access_tokens t = {0};

	load_ok(&t,
	    "predict one " T1 "\n"
	    "admin two " T2 "\n"
	    "predict three " T3 "\n"
	    "admin four " T4 "\n");
	ck_assert_uint_eq(t.n, 4);
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " T1), &t.tokens[0]);
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " T2), &t.tokens[1]);
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " T3), &t.tokens[2]);
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " T4), &t.tokens[3]);
	/* The scheme in any case, blanks around the token. */
	ck_assert_ptr_eq(tp_access_lookup(&t, "bearer " T2), &t.tokens[1]);
	ck_assert_ptr_eq(tp_access_lookup(&t, "BEARER " T2), &t.tokens[1]);
	ck_assert_ptr_eq(tp_access_lookup(&t, "bEaReR\t\t" T4 " \t"),
	    &t.tokens[3]);
	ck_assert_ptr_eq(tp_access_lookup(&t, "  Bearer   " T3), &t.tokens[2]);
	for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++)
		ck_assert_msg(tp_access_lookup(&t, miss[i]) == NULL,
		    "\"%s\" found", miss[i]);
	ck_assert_ptr_null(tp_access_lookup(&t, NULL));
	ck_assert_ptr_null(tp_access_lookup(NULL, "Bearer " T1));
	tp_access_free(&t);
	/* An empty set finds nothing. */
	ck_assert_ptr_null(tp_access_lookup(&t, "Bearer " T1));
}
END_TEST

/* Each of the 32 bytes of the digest counts, in every entry: a set made
 * by hand of digests one byte off the presented token's (SHA-256 gives
 * no such pair of tokens) finds nothing, and finds the one added last. */
START_TEST(test_digest_bytes)
{
	enum { N = 32 * 8 + 1 };
	tp_access_token tokens[N];
	tp_access_tokens t = {tokens, 0};
	unsigned char d[32];
	tp_sha256 h;

	tp_sha256_init(&h);
	tp_sha256_update(&h, T1, strlen(T1));
	tp_sha256_final(&h, d);
	memset(tokens, 0, sizeof(tokens));
	for (int j = 0; j < 32; j++)
		for (int bit = 0; bit < 8; bit++) {
			tp_access_token *k = &tokens[t.n++];

			memcpy(k->digest, d, 32);
			k->digest[j] ^= (unsigned char)(1u << bit);
			k->role = TP_ROLE_PREDICT;
		}
	ck_assert_ptr_null(tp_access_lookup(&t, "Bearer " T1));
	memcpy(tokens[t.n].digest, d, 32);
	t.n++;
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " T1), &tokens[N - 1]);
	/* The match first, the near ones after it. */
	memcpy(tokens[0].digest, d, 32);
	tokens[N - 1].digest[31] ^= 0x80;
	ck_assert_ptr_eq(tp_access_lookup(&t, "Bearer " T1), &tokens[0]);
}
END_TEST

START_TEST(test_allows)
{
	ck_assert(tp_access_allows(TP_ROLE_ADMIN, TP_ENDPOINT_OPEN));
	ck_assert(tp_access_allows(TP_ROLE_ADMIN, TP_ENDPOINT_PREDICT));
	ck_assert(tp_access_allows(TP_ROLE_ADMIN, TP_ENDPOINT_ADMIN));
	ck_assert(tp_access_allows(TP_ROLE_PREDICT, TP_ENDPOINT_OPEN));
	ck_assert(tp_access_allows(TP_ROLE_PREDICT, TP_ENDPOINT_PREDICT));
	ck_assert(!tp_access_allows(TP_ROLE_PREDICT, TP_ENDPOINT_ADMIN));
	ck_assert(!tp_access_allows((tp_role)0, TP_ENDPOINT_PREDICT));
}
END_TEST

/* The status of each request, by tokens file, --require-token, endpoint
 * and header, and who it is. */
START_TEST(test_check)
{
	static const struct {
		int tokens, require;
		tp_endpoint ep;
		const char *auth;
		int status;
		int who; /* the token's number plus one, 0 for none */
	} cases[] = {
		/* Without a tokens file: all but the admin endpoint, and no
		 * header is looked at. */
		{0, 0, TP_ENDPOINT_OPEN, NULL, 0, 0},
		{0, 0, TP_ENDPOINT_PREDICT, NULL, 0, 0},
		{0, 0, TP_ENDPOINT_PREDICT, "Bearer " T1, 0, 0},
		{0, 0, TP_ENDPOINT_ADMIN, NULL, 403, 0},
		{0, 0, TP_ENDPOINT_ADMIN, "Bearer " T1, 403, 0},
		/* Open endpoints take anyone, and name a known caller. */
		{1, 1, TP_ENDPOINT_OPEN, NULL, 0, 0},
		{1, 1, TP_ENDPOINT_OPEN, "Bearer nothing-of-ours", 0, 0},
		{1, 1, TP_ENDPOINT_OPEN, "Bearer " T2, 0, 2},
		/* Predict: open without --require-token, but a token sent
		 * is checked. */
		{1, 0, TP_ENDPOINT_PREDICT, NULL, 0, 0},
		{1, 0, TP_ENDPOINT_PREDICT, "Bearer " T1, 0, 1},
		{1, 0, TP_ENDPOINT_PREDICT, "Bearer " T2, 0, 2},
		{1, 0, TP_ENDPOINT_PREDICT, "Bearer " T3, 401, 0},
		{1, 0, TP_ENDPOINT_PREDICT, "Basic dXNlcjpwYXNz", 401, 0},
		{1, 1, TP_ENDPOINT_PREDICT, NULL, 401, 0},
		{1, 1, TP_ENDPOINT_PREDICT, "Bearer " T3, 401, 0},
		{1, 1, TP_ENDPOINT_PREDICT, "Bearer " T1, 0, 1},
		{1, 1, TP_ENDPOINT_PREDICT, "Bearer " T2, 0, 2},
		/* Admin: an admin token only. */
		{1, 0, TP_ENDPOINT_ADMIN, NULL, 401, 0},
		{1, 0, TP_ENDPOINT_ADMIN, "Bearer " T3, 401, 0},
		{1, 0, TP_ENDPOINT_ADMIN, "Bearer " T1, 403, 1},
		{1, 0, TP_ENDPOINT_ADMIN, "Bearer " T2, 0, 2},
		{1, 1, TP_ENDPOINT_ADMIN, "Bearer " T2, 0, 2},
	};
	tp_access_tokens t = {0};
	tp_access_token other = {0};

	load_ok(&t, "predict app " T1 "\nadmin ops " T2 "\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const tp_access_token *who = &other;
		int status = tp_access_check(cases[i].tokens ? &t : NULL,
		    cases[i].require, cases[i].ep, cases[i].auth, &who);

		ck_assert_msg(status == cases[i].status,
		    "case %zu: status %d, expected %d", i, status,
		    cases[i].status);
		ck_assert_msg(who == (cases[i].who ?
		    &t.tokens[cases[i].who - 1] : NULL), "case %zu: who", i);
		ck_assert_int_eq(tp_access_check(cases[i].tokens ? &t : NULL,
		    cases[i].require, cases[i].ep, cases[i].auth, NULL),
		    status);
	}
	tp_access_free(&t);
}
END_TEST

static tp_ratelimit
limiter(double rate, double burst, size_t nkeys)
{
	tp_ratelimit rl;
	tp_err e = {0};

	ck_assert_msg(tp_ratelimit_init(&rl, rate, burst, nkeys, &e) == TP_OK,
	    "init: %s", e.msg);
	return rl;
}

/* One call of allow: what it must answer, and the table's count of
 * evictions after it. */
struct call {
	const char *key;
	double now;
	long want;
	uint64_t evictions;
};

static void
run_calls(tp_ratelimit *rl, const struct call *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		long got = tp_ratelimit_allow(rl, c[i].key, c[i].now);

		ck_assert_msg(got == c[i].want, "call %zu, %s at %g: %ld, "
		    "expected %ld", i, c[i].key, c[i].now, got, c[i].want);
		ck_assert_msg(rl->evictions == c[i].evictions,
		    "call %zu: %ju evictions", i, (uintmax_t)rl->evictions);
	}
}

#define RUN_CALLS(rl, c) run_calls((rl), (c), sizeof(c) / sizeof((c)[0]))

/* A burst, then one request a 1/rate; the bucket holds no more than
 * burst however long the wait; each key has its own. */
START_TEST(test_refill)
{
	static const struct call c[] = {
		{"ops", 100, 0, 0}, {"ops", 100, 0, 0}, {"ops", 100, 0, 0},
		{"ops", 100, 1, 0}, {"ops", 100.25, 1, 0},
		/* Another key is not touched. */
		{"10.0.0.1", 100.25, 0, 0},
		{"ops", 100.5, 0, 0}, {"ops", 100.5, 1, 0},
		{"ops", 101.5, 0, 0}, {"ops", 101.5, 0, 0}, {"ops", 101.5, 1, 0},
		/* An hour later, still only the burst. */
		{"ops", 3700, 0, 0}, {"ops", 3700, 0, 0}, {"ops", 3700, 0, 0},
		{"ops", 3700, 1, 0},
	};
	tp_ratelimit rl = limiter(2, 3, 0);

	RUN_CALLS(&rl, c);
	/* Ten a second, at times that are not binary fractions: each
	 * request that comes when its token is due is taken. */
	tp_ratelimit_free(&rl);
	rl = limiter(10, 1, 0);
	for (int i = 0; i < 1000; i++) {
		double now = 1000.1 + i * 0.1;

		ck_assert_msg(tp_ratelimit_allow(&rl, "k", now) == 0,
		    "request %d at %.17g refused", i, now);
		ck_assert_int_eq(tp_ratelimit_allow(&rl, "k", now), 1);
	}
	tp_ratelimit_free(&rl);
}
END_TEST

/* Retry-After: the whole seconds until the bucket holds one request,
 * rounded up, at least 1, at most a day. */
START_TEST(test_retry_after)
{
	static const struct call quarter[] = {
		{"a", 0, 0, 0}, {"a", 0, 4, 0}, {"a", 1, 3, 0},
		{"a", 1.5, 3, 0}, {"a", 2, 2, 0}, {"a", 3.5, 1, 0},
		{"a", 3.99, 1, 0}, {"a", 4, 0, 0},
	};
	static const struct call slow[] = {{"a", 0, 0, 0}, {"a", 0, 86400, 0}};
	tp_ratelimit rl = limiter(0.25, 1, 0);

	RUN_CALLS(&rl, quarter);
	tp_ratelimit_free(&rl);
	rl = limiter(1e-6, 1, 0);
	RUN_CALLS(&rl, slow);
	tp_ratelimit_free(&rl);

	/* A rate of 0 limits nothing. */
	rl = limiter(0, 1, 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(tp_ratelimit_allow(&rl, "a", 0), 0);
	tp_ratelimit_free(&rl);
}
END_TEST

/* A thread that read the clock before another took the lock brings an
 * earlier time: it refills nothing and does not move the bucket back. */
START_TEST(test_clock_back)
{
	static const struct call c[] = {
		{"a", 10, 0, 0}, {"a", 10, 0, 0}, {"a", 9, 1, 0},
		{"a", 11, 0, 0}, {"a", 11, 1, 0},
	};
	tp_ratelimit rl = limiter(1, 2, 0);

	RUN_CALLS(&rl, c);
	tp_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_init)
{
	static const double bad[][2] = {
		{-1, 2}, {0.0 / 0.0, 2}, {1.0 / 0.0, 2},
		{1, 0.5}, {1, 0}, {1, 0.0 / 0.0}, {1, 1.0 / 0.0},
	};
	tp_ratelimit rl;
	tp_err e = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(tp_ratelimit_init(&rl, bad[i][0], bad[i][1],
		    0, &e), TP_EUSAGE);
		ck_assert_ptr_null(rl.slots);
		tp_ratelimit_free(&rl);
	}
	ck_assert_str_eq(e.msg, "rate limit: a burst of inf requests; it "
	    "must be at least 1");
	/* The table: sets of TP_RATELIMIT_WAYS, a power of two of them. */
	rl = limiter(1, 1, 0);
	ck_assert_uint_eq(rl.nsets * TP_RATELIMIT_WAYS, TP_RATELIMIT_KEYS);
	tp_ratelimit_free(&rl);
	rl = limiter(1, 1, 1);
	ck_assert_uint_eq(rl.nsets, 1);
	tp_ratelimit_free(&rl);
	rl = limiter(1, 1, TP_RATELIMIT_WAYS + 1);
	ck_assert_uint_eq(rl.nsets, 2);
	tp_ratelimit_free(&rl);
	rl = limiter(1, 1, 5 * TP_RATELIMIT_WAYS);
	ck_assert_uint_eq(rl.nsets, 8);
	tp_ratelimit_free(&rl);
	memset(&rl, 0, sizeof(rl));
	tp_ratelimit_free(&rl);
	tp_ratelimit_free(NULL);
}
END_TEST

/* One set of eight: a ninth key pushes out the stalest, which comes back
 * with a full bucket; the others keep theirs. */
START_TEST(test_eviction)
{
	enum { NO = 86400 }; /* the wait at a rate of almost nothing */
	static const struct call c[] = {
		{"k0", 1, 0, 0}, {"k1", 2, 0, 0}, {"k2", 3, 0, 0},
		{"k3", 4, 0, 0}, {"k4", 5, 0, 0}, {"k5", 6, 0, 0},
		{"k6", 7, 0, 0}, {"k7", 8, 0, 0},
		/* k0, seen at 1, is the stalest; seeing k1 again makes k2
		 * the next. */
		{"k1", 20, NO, 0}, {"new", 21, 0, 1}, {"k0", 22, 0, 2},
		/* k0 took k2's place, and k2 takes k4's. */
		{"k3", 23, NO, 2}, {"k2", 24, 0, 3},
		/* Those still in the table remember. */
		{"k1", 25, NO, 3}, {"k0", 26, NO, 3}, {"new", 27, NO, 3},
		{"k2", 28, NO, 3}, {"k7", 29, NO, 3},
	};
	tp_ratelimit rl = limiter(1e-9, 1, TP_RATELIMIT_WAYS);

	ck_assert_uint_eq(rl.nsets, 1);
	ck_assert_int_eq(TP_RATELIMIT_WAYS, 8);
	RUN_CALLS(&rl, c);
	tp_ratelimit_free(&rl);
}
END_TEST

/* 100,000 addresses in the default table: it holds 4096 of them, every
 * entry used, and each of the others pushed one out. */
START_TEST(test_bounded)
{
	enum { N = 100000 };
	tp_ratelimit rl = limiter(1, 1, 0);
	size_t used = 0;
	char key[64];

	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		ck_assert_int_eq(tp_ratelimit_allow(&rl, key, i * 1e-3), 0);
	}
	for (size_t i = 0; i < rl.nsets * TP_RATELIMIT_WAYS; i++)
		used += rl.slots[i].used;
	ck_assert_uint_eq(used, TP_RATELIMIT_KEYS);
	ck_assert_uint_eq(rl.evictions, N - TP_RATELIMIT_KEYS);
	/* The last one is still there, with its bucket empty. */
	ck_assert_int_eq(tp_ratelimit_allow(&rl, key, (N - 1) * 1e-3), 1);
	tp_ratelimit_free(&rl);
}
END_TEST

/* Keys longer than TP_RATELIMIT_KEY_MAX are told apart by that many
 * bytes. */
START_TEST(test_long_keys)
{
	tp_ratelimit rl = limiter(1, 1, 0);
	char a[TP_RATELIMIT_KEY_MAX + 8], b[TP_RATELIMIT_KEY_MAX + 8];

	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[TP_RATELIMIT_KEY_MAX] = 'y';
	ck_assert_int_eq(tp_ratelimit_allow(&rl, a, 0), 0);
	ck_assert_int_eq(tp_ratelimit_allow(&rl, b, 0), 1);
	b[TP_RATELIMIT_KEY_MAX - 1] = 'y';
	ck_assert_int_eq(tp_ratelimit_allow(&rl, b, 0), 0);
	/* A key that is a prefix of another is another key. */
	a[TP_RATELIMIT_KEY_MAX - 1] = '\0';
	ck_assert_int_eq(tp_ratelimit_allow(&rl, a, 0), 0);
	tp_ratelimit_free(&rl);
}
END_TEST

/* The burst is half the calls, so that threads take from the shared
 * bucket at once for most of a round, not only at its start; the rounds
 * start together, so that threads meet there even on two cores. */
enum {
	NTHREADS = 8, ROUNDS = 200, CALLS = 10000,
	BURST = NTHREADS * CALLS / 2
};

struct worker {
	tp_ratelimit *shared; /* one key that every thread takes from */
	tp_ratelimit *churn;  /* keys of each thread's own, more than fit */
	pthread_barrier_t *go;/* all start at once */
	int id;
	long allowed;         /* of the calls on the shared key */
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char key[32];

	for (int r = 0; r < ROUNDS; r++) {
		snprintf(key, sizeof(key), "shared-%d", r);
		pthread_barrier_wait(w->go);
		/* A tight loop, so that the threads meet on one bucket. */
		for (int i = 0; i < CALLS; i++)
			if (tp_ratelimit_allow(w->shared, key, 5) == 0)
				w->allowed++;
	}
	for (int i = 0; i < CALLS / 10; i++) {
		snprintf(key, sizeof(key), "t%d-%d", w->id, i % 16);
		tp_ratelimit_allow(w->churn, key, 5 + i * 1e-6);
	}
	return NULL;
}

/* Each round's shared bucket gives exactly its burst across the threads
 * (an update lost to a race would give more), while the threads evict
 * each other's keys from a small table. */
START_TEST(test_threads)
{
	tp_ratelimit shared = limiter(1, BURST, 0);
	tp_ratelimit churn = limiter(1, 2, 4 * TP_RATELIMIT_WAYS);
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t go;
	long allowed = 0;
	size_t used = 0;

	ck_assert_int_eq(pthread_barrier_init(&go, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){&shared, &churn, &go, i, 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		allowed += w[i].allowed;
	}
	pthread_barrier_destroy(&go);
	ck_assert_int_eq(allowed, (long)ROUNDS * BURST);
	ck_assert_int_eq(tp_ratelimit_allow(&shared, "shared-0", 5), 1);
	for (size_t i = 0; i < churn.nsets * TP_RATELIMIT_WAYS; i++)
		used += churn.slots[i].used;
	ck_assert_uint_eq(used, churn.nsets * TP_RATELIMIT_WAYS);
	ck_assert_uint_gt(churn.evictions, 0);
	tp_ratelimit_free(&shared);
	tp_ratelimit_free(&churn);
}
END_TEST

Suite *
access_suite(void)
{
	Suite *s = suite_create("access");
	TCase *tc = tcase_create("tokens");
	TCase *rc = tcase_create("ratelimit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_digest_bytes);
	tcase_add_test(tc, test_allows);
	tcase_add_test(tc, test_check);
	suite_add_tcase(s, tc);
	tcase_set_timeout(rc, 60);
	tcase_add_test(rc, test_refill);
	tcase_add_test(rc, test_retry_after);
	tcase_add_test(rc, test_clock_back);
	tcase_add_test(rc, test_init);
	tcase_add_test(rc, test_eviction);
	tcase_add_test(rc, test_bounded);
	tcase_add_test(rc, test_long_keys);
	tcase_add_test(rc, test_threads);
	suite_add_tcase(s, rc);
	return s;
}
