/*
 * access: who may call the HTTP server (tabpipe-serve), and how often.
 *
 * Tokens. A tokens file holds one token a line, `ROLE NAME TOKEN` (fields
 * separated by spaces or tabs): ROLE admin or predict, NAME a label for
 * logs, metrics and rate limits (1 to 64 letters, digits, '-', '_', '.'),
 * TOKEN at least 16 printable ASCII characters other than space. Blank
 * lines and lines whose first non-blank character is '#' are ignored; a
 * '\r' before the newline is taken as part of it. Like ssh with its keys,
 * a file that group or others may read or write is refused (the mode is
 * checked with fstat on the descriptor read, not on the name, so nothing
 * can swap the file between the check and the read). Two lines with the
 * same name or the same token are refused, and so is a file without a
 * token. Messages say "FILE:LINE: what" and never hold a token, nor a
 * field that is not a valid name (it might be a token in the wrong place).
 *
 * Only the SHA-256 digest of each token is kept. A presented token is
 * hashed and compared with every stored digest, all 32 bytes of each,
 * with the differences gathered by OR of XORs and no branch on them: the
 * time of a lookup depends neither on where the first differing byte is
 * nor on the stored tokens' lengths (hashing first also makes the lengths
 * equal), so it tells an attacker nothing about how close a guess was.
 * The loaded set is read-only, so lookups from any thread need no lock.
 *
 * Rate limits. A token bucket per key (a token's name, or the client's
 * address as text): the bucket holds up to burst requests and fills at
 * rate per second; a request takes one, or is refused with the seconds to
 * wait for one (for Retry-After). The time is the caller's (tp_clock()),
 * so tests control it. Memory is bounded: a fixed table of keys, set-
 * associative as CPU caches are (a key's hash picks a set of
 * TP_RATELIMIT_WAYS entries, and it lives in one of them), so each call
 * looks at a handful of entries whatever the traffic. A new key in a full
 * set takes the place of the set's stalest entry (the one seen least
 * recently), and a key evicted and seen again starts with a full bucket.
 * The stalest has had the longest to refill, so its loss usually forgets
 * nothing; at worst a flood of new keys gives the keys it pushes out
 * their full burst again: it weakens their limit, never refuses a client.
 * One mutex guards the table; a call holds it for a few dozen
 * nanoseconds.
 */
#ifndef TP_ACCESS_H
#define TP_ACCESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum {
	TP_ACCESS_NAME_MAX = 64,  /* the longest token name */
	TP_ACCESS_TOKEN_MIN = 16, /* the shortest token */
};

typedef enum {
	TP_ROLE_PREDICT = 1, /* /v1/predict and /v1/model */
	TP_ROLE_ADMIN = 2,   /* every endpoint */
} tp_role;

/* What an endpoint asks of its caller. */
typedef enum {
	TP_ENDPOINT_OPEN,    /* /health/..., /metrics, /openapi.json: anyone */
	TP_ENDPOINT_PREDICT, /* /v1/predict, /v1/model: anyone, or with
	                        --require-token any token */
	TP_ENDPOINT_ADMIN,   /* /v1/reload: an admin token */
} tp_endpoint;

typedef struct {
	tp_role role;                        /* what it may call */
	char name[TP_ACCESS_NAME_MAX + 1];   /* its label, NUL-terminated */
	unsigned char digest[32];            /* SHA-256 of the token */
	long line;                           /* its line in the file */
} tp_access_token;

typedef struct {
	tp_access_token *tokens; /* (n) in the file's order */
	size_t n;                /* number of tokens */
} tp_access_tokens;

/* Reads the tokens file path into t (zeroed or freed before). TP_ENOINPUT
 * when it cannot be opened or group or others may read or write it,
 * TP_EDATA for a malformed line, a duplicate or no token at all, TP_EIO
 * when reading fails; t is then empty. */
int tp_access_load(tp_access_tokens *t, const char *path, tp_err *e);
/* Accepts a zeroed t, and NULL. */
void tp_access_free(tp_access_tokens *t);

/* The token that the value of an Authorization header presents:
 * "Bearer TOKEN", the scheme in any case, one or more spaces or tabs
 * before the token, blanks after it ignored. NULL when t or authorization
 * is NULL, the value is not of that form, or no stored token is the one
 * presented. Constant time in the stored tokens (see above). */
const tp_access_token *tp_access_lookup(const tp_access_tokens *t,
    const char *authorization);

/* Whether role may call endpoint: admin every one, predict the open and
 * predict ones. */
int tp_access_allows(tp_role role, tp_endpoint endpoint);

/* The whole decision for one request, as the spec (tabpipe-serve(1))
 * gives it: 0 to go on, 401 (no token, or one not in the file) or 403 (a
 * token of the wrong role, or no tokens file for an admin endpoint). t is
 * NULL without a tokens file; require_token is --require-token. Open
 * endpoints take every request; a predict endpoint without require_token
 * takes a request without an Authorization header, but one that presents
 * a token that is not in the file gets 401 (a client that sends a token
 * wants it checked, and the server would otherwise count it under its
 * address). *who (may be NULL) is set to the token found, or NULL. */
int tp_access_check(const tp_access_tokens *t, int require_token,
    tp_endpoint endpoint, const char *authorization,
    const tp_access_token **who);

/* "admin" or "predict". */
const char *tp_role_name(tp_role role);

enum {
	TP_RATELIMIT_KEYS = 4096, /* the table's size unless told otherwise */
	TP_RATELIMIT_WAYS = 8,    /* entries of a set */
	TP_RATELIMIT_KEY_MAX = 79,/* bytes of a key kept; keys sharing these
	                             share a bucket */
};

typedef struct {
	char key[TP_RATELIMIT_KEY_MAX + 1]; /* NUL-terminated, "" if unused */
	uint64_t hash;   /* of the key as kept */
	double tokens;   /* requests the bucket held at last */
	double last;     /* when tokens was right (seconds), the last call */
	int used;        /* the entry holds a key */
} tp_ratelimit_entry;

typedef struct {
	double rate;               /* requests per second; 0: no limit */
	double burst;              /* the bucket's size, at least 1 */
	tp_ratelimit_entry *slots; /* (nsets * TP_RATELIMIT_WAYS) */
	size_t nsets;              /* a power of two */
	uint64_t evictions;        /* keys pushed out of a full set */
	pthread_mutex_t mu;        /* guards slots and evictions */
	int live;                  /* initialised: mu to destroy */
} tp_ratelimit;

/* rate per second (0 for no limit, when allow always says yes), bursts of
 * burst (at least 1), a table of nkeys keys (0 for TP_RATELIMIT_KEYS;
 * otherwise rounded up to a power of two times TP_RATELIMIT_WAYS).
 * TP_EUSAGE for a negative or infinite rate or a burst under 1. */
int tp_ratelimit_init(tp_ratelimit *rl, double rate, double burst,
    size_t nkeys, tp_err *e);
/* Accepts a zeroed rl, and NULL. */
void tp_ratelimit_free(tp_ratelimit *rl);

/* Takes one request from key's bucket at time now (seconds, tp_clock()):
 * 0 when it is allowed, or else the whole seconds to wait until the
 * bucket holds one again, rounded up, at least 1 (for Retry-After; capped
 * at a day). A time earlier than the key's last one (callers on other
 * threads read the clock before the lock) refills nothing. Thread-safe. */
long tp_ratelimit_allow(tp_ratelimit *rl, const char *key, double now);

#endif
