#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/strmap.h"
#include "serve/access.h"

/* Any of these bits lets someone other than the owner read or write. */
#define TP_ACCESS_OPEN_MODES (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)

/* Reads all of fd, n bytes, into a buffer of cap bytes that the caller
 * wipes and frees: the file holds secrets, so it goes through no stdio
 * buffer that would keep a copy after it is closed. */
static int
read_all(int fd, const char *path, char **buf, size_t *n, size_t *cap,
    tp_err *e)
{
	size_t size = 4096, len = 0;
	char *p = malloc(size), *q;
	ssize_t r;

	if (p == NULL)
		return tp_err_nomem(e, path);
	for (;;) {
		if (len == size) {
			if ((q = malloc(2 * size)) == NULL) {
				explicit_bzero(p, size);
				free(p);
				return tp_err_nomem(e, path);
			}
			memcpy(q, p, len);
			explicit_bzero(p, size);
			free(p);
			p = q;
			size *= 2;
		}
		r = read(fd, p + len, size - len);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			explicit_bzero(p, size);
			free(p);
			return tp_err_set(e, TP_EIO, "%s: %s", path,
			    strerror(errno));
		}
		len += (size_t)r;
	}
	*buf = p;
	*n = len;
	*cap = size;
	return TP_OK;
}

static void
digest_of(const char *s, size_t len, unsigned char d[32])
{
	tp_sha256 h;

	tp_sha256_init(&h);
	tp_sha256_update(&h, s, len);
	tp_sha256_final(&h, d);
	explicit_bzero(&h, sizeof(h));
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Checks one line of n bytes at s (no newline) and appends its token to t;
 * a blank line or a comment adds nothing. */
static int
parse_line(tp_access_tokens *t, const char *s, size_t n, const char *path,
    long line, tp_err *e)
{
	const char *f[3];
	size_t flen[3], i = 0, nf = 0;
	tp_access_token *tok;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\0', n) != NULL)
		return tp_err_set(e, TP_EDATA, "%s:%ld: a NUL byte", path,
		    line);
	while (i < n && is_blank(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return TP_OK;
	while (i < n) {
		size_t start = i;

		while (i < n && !is_blank(s[i]))
			i++;
		if (nf < 3) {
			f[nf] = s + start;
			flen[nf] = i - start;
		}
		nf++;
		while (i < n && is_blank(s[i]))
			i++;
	}
	if (nf != 3)
		return tp_err_set(e, TP_EDATA, "%s:%ld: %zu field%s, expected "
		    "three: ROLE NAME TOKEN", path, line, nf,
		    nf == 1 ? "" : "s");

	/* No field is echoed unless it is a valid name: a misplaced token
	 * must not reach a log. */
	tok = &t->tokens[t->n];
	memset(tok, 0, sizeof(*tok));
	tok->line = line;
	if (flen[0] == 5 && memcmp(f[0], "admin", 5) == 0)
		tok->role = TP_ROLE_ADMIN;
	else if (flen[0] == 7 && memcmp(f[0], "predict", 7) == 0)
		tok->role = TP_ROLE_PREDICT;
	else
		return tp_err_set(e, TP_EDATA, "%s:%ld: the role (field 1) is "
		    "neither admin nor predict", path, line);
	if (flen[1] > TP_ACCESS_NAME_MAX)
		return tp_err_set(e, TP_EDATA, "%s:%ld: the name (field 2) is "
		    "longer than %d characters", path, line,
		    TP_ACCESS_NAME_MAX);
	for (i = 0; i < flen[1]; i++)
		if (!name_char(f[1][i]))
			return tp_err_set(e, TP_EDATA, "%s:%ld: the name "
			    "(field 2) has a character other than letters, "
			    "digits, '-', '_' and '.'", path, line);
	memcpy(tok->name, f[1], flen[1]);
	if (flen[2] < TP_ACCESS_TOKEN_MIN)
		return tp_err_set(e, TP_EDATA, "%s:%ld: the token (field 3) "
		    "has %zu characters, fewer than %d", path, line, flen[2],
		    TP_ACCESS_TOKEN_MIN);
	for (i = 0; i < flen[2]; i++)
		if ((unsigned char)f[2][i] < 0x21 ||
		    (unsigned char)f[2][i] > 0x7e)
			return tp_err_set(e, TP_EDATA, "%s:%ld: the token "
			    "(field 3) has a character that is not printable "
			    "ASCII, at its byte %zu", path, line, i + 1);
	digest_of(f[2], flen[2], tok->digest);

	/* Loading is not secret: memcmp's early exit is harmless here. */
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->tokens[i].name, tok->name) == 0)
			return tp_err_set(e, TP_EDATA, "%s:%ld: the name \"%s\" "
			    "is already on line %ld", path, line, tok->name,
			    t->tokens[i].line);
		if (memcmp(t->tokens[i].digest, tok->digest, 32) == 0)
			return tp_err_set(e, TP_EDATA, "%s:%ld: the same token "
			    "as on line %ld", path, line, t->tokens[i].line);
	}
	t->n++;
	return TP_OK;
}

/* The n bytes at buf, which may hold NULs: lines are found by length. */
static int
parse(tp_access_tokens *t, const char *buf, size_t n, const char *path,
    tp_err *e)
{
	const char *s = buf, *end = buf + n, *nl;
	size_t lines = 1;
	long line = 0;
	int rc;

	for (nl = buf; (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL;
	    nl++)
		lines++;
	/* A line holds at most one token: room for all of them at once. */
	if ((t->tokens = calloc(lines, sizeof(*t->tokens))) == NULL)
		return tp_err_nomem(e, path);
	while (s < end) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		rc = parse_line(t, s, (size_t)(nl - s), path, ++line, e);
		if (rc != TP_OK) {
			/* The refused line may have left its digest. */
			explicit_bzero(&t->tokens[t->n], sizeof(*t->tokens));
			return rc;
		}
		s = nl + 1;
	}
	if (t->n == 0)
		return tp_err_set(e, TP_EDATA, "%s: no token in the file",
		    path);
	return TP_OK;
}

int
tp_access_load(tp_access_tokens *t, const char *path, tp_err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int fd, rc;

	memset(t, 0, sizeof(*t));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return tp_err_set(e, TP_ENOINPUT, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = tp_err_set(e, TP_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (st.st_mode & TP_ACCESS_OPEN_MODES) {
		close(fd);
		return tp_err_set(e, TP_ENOINPUT, "%s: mode %04o lets group or "
		    "others read or write the tokens; make it the owner's "
		    "alone: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
	}
	rc = read_all(fd, path, &buf, &n, &cap, e);
	close(fd);
	if (rc != TP_OK)
		return rc;
	rc = parse(t, buf, n, path, e);
	explicit_bzero(buf, cap);
	free(buf);
	if (rc != TP_OK)
		tp_access_free(t);
	return rc;
}

void
tp_access_free(tp_access_tokens *t)
{
	if (t == NULL)
		return;
	if (t->tokens != NULL)
		explicit_bzero(t->tokens, t->n * sizeof(*t->tokens));
	free(t->tokens);
	t->tokens = NULL;
	t->n = 0;
}

/* The token of "Bearer TOKEN" (RFC 6750, 2.1) and its length, or NULL. */
static const char *
bearer(const char *h, size_t *len)
{
	size_t n;

	while (is_blank(*h))
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 || !is_blank(h[6]))
		return NULL;
	h += 6;
	while (is_blank(*h))
		h++;
	n = strlen(h);
	while (n > 0 && is_blank(h[n - 1]))
		n--;
	if (n == 0)
		return NULL;
	*len = n;
	return h;
}

const tp_access_token *
tp_access_lookup(const tp_access_tokens *t, const char *authorization)
{
	const char *tok;
	unsigned char d[32];
	size_t len, found = 0;

	if (t == NULL || authorization == NULL ||
	    (tok = bearer(authorization, &len)) == NULL)
		return NULL;
	digest_of(tok, len, d);
	/* Every entry and every byte, whatever matched: diff is 0 only for
	 * the equal digest, and (diff - 1) >> 8 turns that into a 1 without
	 * a branch (diff is at most 255, so for any other value it is 0).
	 * The digests are distinct (the loader refuses a repeated token), so
	 * at most one entry sets found, to its number plus one. */
	for (size_t i = 0; i < t->n; i++) {
		const unsigned char *s = t->tokens[i].digest;
		unsigned diff = 0;
		size_t hit;

		for (int j = 0; j < 32; j++)
			diff |= (unsigned)(d[j] ^ s[j]);
		hit = ((diff - 1) >> 8) & 1;
		found |= (0 - hit) & (i + 1);
	}
	explicit_bzero(d, sizeof(d));
	return found == 0 ? NULL : &t->tokens[found - 1];
}

int
tp_access_allows(tp_role role, tp_endpoint endpoint)
{
	switch (endpoint) {
	case TP_ENDPOINT_OPEN:
		return 1;
	case TP_ENDPOINT_PREDICT:
		return role == TP_ROLE_PREDICT || role == TP_ROLE_ADMIN;
	case TP_ENDPOINT_ADMIN:
		return role == TP_ROLE_ADMIN;
	}
	return 0;
}

int
tp_access_check(const tp_access_tokens *t, int require_token,
    tp_endpoint endpoint, const char *authorization,
    const tp_access_token **who)
{
	const tp_access_token *tok = tp_access_lookup(t, authorization);

	if (who != NULL)
		*who = tok;
	if (endpoint == TP_ENDPOINT_OPEN)
		return 0;
	if (t == NULL)
		return endpoint == TP_ENDPOINT_ADMIN ? 403 : 0;
	if (tok == NULL) {
		if (endpoint == TP_ENDPOINT_PREDICT && !require_token &&
		    authorization == NULL)
			return 0;
		return 401;
	}
	return tp_access_allows(tok->role, endpoint) ? 0 : 403;
}

const char *
tp_role_name(tp_role role)
{
	return role == TP_ROLE_ADMIN ? "admin" : "predict";
}

/* A request that comes when its token is due is not refused because the
 * refill came out a rounding error short of 1. */
#define TP_RATELIMIT_SLACK 1e-9
/* The longest Retry-After: what a client may be told to wait. */
#define TP_RATELIMIT_WAIT_MAX 86400

int
tp_ratelimit_init(tp_ratelimit *rl, double rate, double burst, size_t nkeys,
    tp_err *e)
{
	size_t want;

	memset(rl, 0, sizeof(*rl));
	if (!(rate >= 0) || isinf(rate))
		return tp_err_set(e, TP_EUSAGE, "rate limit: a rate of %g "
		    "requests a second; it must be 0 (no limit) or more", rate);
	if (!(burst >= 1) || isinf(burst))
		return tp_err_set(e, TP_EUSAGE, "rate limit: a burst of %g "
		    "requests; it must be at least 1", burst);
	if (nkeys == 0)
		nkeys = TP_RATELIMIT_KEYS;
	want = (nkeys + TP_RATELIMIT_WAYS - 1) / TP_RATELIMIT_WAYS;
	for (rl->nsets = 1; rl->nsets < want; rl->nsets *= 2)
		;
	rl->slots = calloc(rl->nsets * TP_RATELIMIT_WAYS, sizeof(*rl->slots));
	if (rl->slots == NULL)
		return tp_err_nomem(e, "rate limit table");
	if ((errno = pthread_mutex_init(&rl->mu, NULL)) != 0) {
		free(rl->slots);
		rl->slots = NULL;
		return tp_err_set(e, TP_EINTERNAL, "rate limit: %s",
		    strerror(errno));
	}
	rl->rate = rate;
	rl->burst = burst;
	rl->live = 1;
	return TP_OK;
}

void
tp_ratelimit_free(tp_ratelimit *rl)
{
	if (rl == NULL)
		return;
	if (rl->live)
		pthread_mutex_destroy(&rl->mu);
	free(rl->slots);
	memset(rl, 0, sizeof(*rl));
}

/* key's entry in its set, made (with a full bucket) if it is not there,
 * in the first free way or else in place of the stalest. Under mu. */
static tp_ratelimit_entry *
entry(tp_ratelimit *rl, const char *key, size_t len, double now)
{
	uint64_t h = tp_hash_bytes(key, len, TP_HASH_SEED);
	tp_ratelimit_entry *set, *way = NULL, *stalest = NULL;

	/* FNV-1a's low bits alone mix poorly: fold the high ones in. */
	set = rl->slots + (((h >> 32) ^ h) & (rl->nsets - 1)) *
	    TP_RATELIMIT_WAYS;
	for (int w = 0; w < TP_RATELIMIT_WAYS; w++) {
		tp_ratelimit_entry *s = &set[w];

		if (!s->used) {
			if (way == NULL)
				way = s;
		} else if (s->hash == h && memcmp(s->key, key, len) == 0 &&
		    s->key[len] == '\0')
			return s;
		else if (stalest == NULL || s->last < stalest->last)
			stalest = s;
	}
	if (way == NULL) {
		way = stalest;
		rl->evictions++;
	}
	memcpy(way->key, key, len);
	way->key[len] = '\0';
	way->hash = h;
	way->tokens = rl->burst;
	way->last = now;
	way->used = 1;
	return way;
}

long
tp_ratelimit_allow(tp_ratelimit *rl, const char *key, double now)
{
	size_t len = strnlen(key, TP_RATELIMIT_KEY_MAX);
	tp_ratelimit_entry *s;
	double wait;

	if (rl->rate == 0)
		return 0;
	pthread_mutex_lock(&rl->mu);
	s = entry(rl, key, len, now);
	if (now > s->last) {
		s->tokens = fmin(rl->burst,
		    s->tokens + (now - s->last) * rl->rate);
		s->last = now;
	}
	if (s->tokens >= 1 - TP_RATELIMIT_SLACK) {
		s->tokens -= 1;
		pthread_mutex_unlock(&rl->mu);
		return 0;
	}
	/* The time until the bucket holds one request again. */
	wait = ceil((1 - s->tokens) / rl->rate);
	pthread_mutex_unlock(&rl->mu);
	if (wait < 1)
		return 1;
	return wait > TP_RATELIMIT_WAIT_MAX ? TP_RATELIMIT_WAIT_MAX :
	    (long)wait;
}
