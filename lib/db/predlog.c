#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fileio.h"
#include "db/predlog.h"

void
tp_predlog_init(tp_predlog *l, tp_db *db, int64_t run)
{
	memset(l, 0, sizeof(*l));
	l->db = db;
	l->run = run;
	l->max_rows = TP_PREDLOG_ROWS;
	l->max_wait = TP_PREDLOG_WAIT;
}

int
tp_predlog_spool(tp_predlog *l, const char *dir, tp_err *e)
{
	size_t n = strlen(dir) + strlen(l->db->id) + 2;

	if (l->db->id[0] == '\0')
		return tp_err_set(e, TP_EUNAVAILABLE,
		    "database: its id cannot be read, so no spool can be kept for it");
	free(l->spool);
	if ((l->spool = malloc(n)) == NULL)
		return tp_err_nomem(e, "the spool's name");
	snprintf(l->spool, n, "%s/%s", dir, l->db->id);
	l->pending = 1;
	return TP_OK;
}

void
tp_predlog_free(tp_predlog *l)
{
	free(l->buf);
	free(l->spool);
	l->buf = l->spool = NULL;
	l->len = l->cap = l->rows = 0;
}

static int
reserve(tp_predlog *l, size_t more, tp_err *e)
{
	if (l->len + more <= l->cap)
		return TP_OK;
	size_t cap = l->cap ? l->cap : 4096;
	while (cap < l->len + more)
		cap *= 2;
	char *nb = realloc(l->buf, cap);
	if (nb == NULL)
		return tp_err_nomem(e, "the prediction log");
	l->buf = nb;
	l->cap = cap;
	return TP_OK;
}

/* Appends s to the buffer as a field of COPY's text format, in which a
 * backslash starts an escape and tabs and line ends delimit; NULL is \N.
 * Room for twice s's bytes has been made. */
static void
put_text(tp_predlog *l, const char *s)
{
	if (s == NULL) {
		memcpy(l->buf + l->len, "\\N", 2);
		l->len += 2;
		return;
	}
	for (; *s != '\0'; s++) {
		char c = *s, *p = l->buf + l->len;
		const char *esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" :
		    c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
		if (esc != NULL) {
			memcpy(p, esc, 2);
			l->len += 2;
		} else {
			*p = c;
			l->len++;
		}
	}
}

int
tp_predlog_add(tp_predlog *l, const tp_prediction *p, tp_err *e)
{
	char head[256], tail[64], item[16], version[16], latency[32];
	int n = snprintf(head, sizeof(head), "%lld\t%s\t%lld\t%.9g\t%d\t",
	    (long long)l->run, p->model_sha256, (long long)p->id,
	    (double)p->prob, p->label);
	size_t flen = p->features != NULL ? strlen(p->features) : 0;
	size_t rlen = p->request_id != NULL ? strlen(p->request_id) : 0, tlen;
	struct timespec ts;
	struct tm tm;
	int rc;

	/* The time it was made, which a batch sent late from the spool
	 * keeps: UTC, to the microsecond. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	tlen = strftime(tail, sizeof(tail), "\t%Y-%m-%d %H:%M:%S", &tm);
	tlen += (size_t)snprintf(tail + tlen, sizeof(tail) - tlen,
	    ".%06ld+00\t", ts.tv_nsec / 1000);
	/* Escaping can at most double the features' and the id's bytes. */
	if ((rc = reserve(l, (size_t)n + 2 * flen + tlen + 2 * rlen + 96,
	    e)) != TP_OK)
		return rc;
	memcpy(l->buf + l->len, head, (size_t)n);
	l->len += (size_t)n;
	put_text(l, p->features);
	memcpy(l->buf + l->len, tail, tlen);
	l->len += tlen;
	put_text(l, p->request_id);
	/* The numbers of the request's columns, \N where they do not apply. */
	snprintf(item, sizeof(item), "%d", p->request_item);
	snprintf(version, sizeof(version), "%d", p->model_version);
	snprintf(latency, sizeof(latency), "%.6g", p->latency);
	l->len += (size_t)snprintf(l->buf + l->len, l->cap - l->len,
	    "\t%s\t%s\t%s\n", p->request_id != NULL ? item : "\\N",
	    p->model_version > 0 ? version : "\\N",
	    p->latency >= 0 ? latency : "\\N");
	if (l->rows++ == 0)
		l->since = tp_clock();
	if (tp_predlog_due(l, tp_clock()))
		return tp_predlog_flush(l, e);
	return TP_OK;
}

/* Whether the connection or the spool is to be tried again. */
static int
retrying(const tp_predlog *l)
{
	return l->pending || (l->db != NULL &&
	    PQstatus(l->db->conn) != CONNECTION_OK);
}

int
tp_predlog_due(const tp_predlog *l, double now)
{
	if (l->rows > 0 && (l->rows >= l->max_rows ||
	    now - l->since >= l->max_wait))
		return 1;
	return retrying(l) && now >= l->retry_at;
}

double
tp_predlog_wait(const tp_predlog *l, double now)
{
	double w = l->rows > 0 ? l->since + l->max_wait : -1;

	if (retrying(l) && (w < 0 || l->retry_at < w))
		w = l->retry_at;
	return w < 0 ? -1 : w > now ? w - now : 0;
}

static int
copy_error(tp_predlog *l, PGresult *r, size_t rows, tp_err *e)
{
	char what[64];

	snprintf(what, sizeof(what), "logging %zu prediction%s failed", rows,
	    rows == 1 ? "" : "s");
	return tp_db_failure(l->db, r, what, e);
}

/* One statement of a send, whose failure is the send's. */
static int
statement(tp_predlog *l, const char *sql, int n, const char *const *params,
    size_t rows, PGresult **res, tp_err *e)
{
	PGresult *r = PQexecParams(l->db->conn, sql, n, NULL, params, NULL,
	    NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	int rc = TP_OK;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = copy_error(l, r, rows, e);
	if (rc == TP_OK && res != NULL)
		*res = r;
	else
		PQclear(r);
	return rc;
}

/* The COPY of rows in text: a spool written before version 3 of the
 * schema holds rows of 7 columns, without the request's. */
static const char *
copy_statement(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);
	size_t tabs = 0;

	for (const char *c = text; c < (nl != NULL ? nl : text + len); c++)
		tabs += *c == '\t';
	if (tabs == 6)
		return "COPY predictions (run_id, model_sha256, row_id, "
		    "probability, label, features, predicted_at) FROM STDIN";
	return "COPY predictions (run_id, model_sha256, row_id, probability, "
	    "label, features, predicted_at, request_id, request_item, "
	    "model_version, latency_seconds) FROM STDIN";
}

/* The rows, text[0..len), into the predictions table with COPY. */
static int
copy(tp_predlog *l, const char *text, size_t len, size_t rows, tp_err *e)
{
	enum { PIECE = 1 << 20 };
	PGconn *conn = l->db->conn;
	PGresult *r;
	int rc = TP_OK;

	r = PQexec(conn, copy_statement(text, len));
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		rc = copy_error(l, r, rows, e);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	/* PQputCopyData takes an int's worth of bytes at a time. */
	for (size_t off = 0; rc == TP_OK && off < len; off += PIECE)
		if (PQputCopyData(conn, text + off, (int)(len - off < PIECE ?
		    len - off : PIECE)) != 1)
			rc = copy_error(l, NULL, rows, e);
	if (PQputCopyEnd(conn, NULL) != 1 && rc == TP_OK)
		rc = copy_error(l, NULL, rows, e);
	/* The statement's results are read to the end whatever happened, so
	 * that the connection is ready for the next one. */
	while ((r = PQgetResult(conn)) != NULL) {
		if (rc == TP_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = copy_error(l, r, rows, e);
		PQclear(r);
		if (PQstatus(conn) == CONNECTION_BAD)
			break;
	}
	return rc;
}

/* Sends rows, batch n of run, in one transaction with its record; a batch
 * recorded already is not sent again (*dup). */
static int
send_batch(tp_predlog *l, int64_t run, int n, const char *text, size_t len,
    size_t rows, int spooled, int *dup, tp_err *e)
{
	char r[24], b[16], nr[24], by[24];
	const char *params[] = {r, b, nr, spooled ? "true" : "false", by};
	PGresult *res;
	int rc;

	snprintf(r, sizeof(r), "%lld", (long long)run);
	snprintf(b, sizeof(b), "%d", n);
	snprintf(nr, sizeof(nr), "%zu", rows);
	snprintf(by, sizeof(by), "%lld", (long long)l->run);
	*dup = 0;
	if ((rc = statement(l, "BEGIN", 0, NULL, rows, NULL, e)) != TP_OK)
		return rc;
	if ((rc = statement(l, "INSERT INTO prediction_batches (run_id, batch, "
	    "rows, spooled, sent_by) VALUES ($1, $2, $3, $4, $5) "
	    "ON CONFLICT DO NOTHING", 5, params, rows, &res, e)) != TP_OK)
		goto fail;
	*dup = strcmp(PQcmdTuples(res), "0") == 0;
	PQclear(res);
	if ((!*dup && (rc = copy(l, text, len, rows, e)) != TP_OK) ||
	    (rc = statement(l, "COMMIT", 0, NULL, rows, NULL, e)) != TP_OK)
		goto fail;
	return TP_OK;
fail:
	if (PQstatus(l->db->conn) == CONNECTION_OK)
		tp_db_rollback(l->db);
	return rc;
}

static void
clear(tp_predlog *l)
{
	l->len = l->rows = 0;
}

/* After a failed try: the next waits for the backoff, which doubles. */
static void
back_off(tp_predlog *l, double now)
{
	l->backoff = l->backoff > 0 ? 2 * l->backoff : 1;
	if (l->backoff > TP_PREDLOG_BACKOFF)
		l->backoff = TP_PREDLOG_BACKOFF;
	l->retry_at = now + l->backoff;
}

/* Writes the buffer as the spool's file of batch n, durably: a temporary
 * file written and fsync'ed, renamed, the folder fsync'ed. */
static int
spool_write(tp_predlog *l, int n, tp_err *e)
{
	char name[48], tmp[56];
	int dir = -1, fd = -1, rc = TP_OK;
	size_t off = 0;

	snprintf(name, sizeof(name), "%lld-%d", (long long)l->run, n);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	if (tp_make_folders(l->spool, 0700) < 0 ||
	    (dir = open(l->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		rc = tp_err_set(e, TP_ECREAT, "the spool: %s: %s", l->spool,
		    strerror(errno));
		goto out;
	}
	while (off < l->len) {
		ssize_t w = write(fd, l->buf + off, l->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	int bad = off < l->len || fsync(fd) != 0;
	bad |= close(fd) != 0;
	fd = -1;
	if (bad || renameat(dir, tmp, dir, name) != 0 || fsync(dir) != 0)
		rc = tp_err_set(e, TP_EIO, "the spool: %s/%s: %s", l->spool, name,
		    strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (rc != TP_OK && dir >= 0)
		unlinkat(dir, tmp, 0);
	if (dir >= 0)
		close(dir);
	return rc;
}

/* Keeps the buffer, batch n, which could not be sent for why, in the
 * spool; without one, or when it cannot be written, its rows are lost. */
static int
keep(tp_predlog *l, int n, const tp_err *why, tp_err *e)
{
	size_t rows = l->rows;
	tp_err we = {0};

	if (rows == 0)
		return TP_OK;
	if (l->spool == NULL || spool_write(l, n, &we) != TP_OK) {
		l->lost += rows;
		clear(l);
		if (l->spool == NULL) {
			*e = *why;
			return why->code;
		}
		return tp_err_set(e, we.code, "%s; and %zu prediction%s cannot be "
		    "kept: %s", why->msg, rows, rows == 1 ? "" : "s", we.msg);
	}
	l->spooled += rows;
	l->unsent += rows;
	l->pending = 1;
	clear(l);
	tp_notef(l->note, l->ctx, 1, "%s: %zu prediction%s kept in %s/%lld-%d", why->msg, rows,
	    rows == 1 ? "" : "s", l->spool, (long long)l->run, n);
	return TP_OK;
}

/* A batch in the spool: the name RUN-N. */
typedef struct {
	int64_t run;
	int n;
} spooled;

static int
batch_order(const void *a, const void *b)
{
	const spooled *x = a, *y = b;

	if (x->run != y->run)
		return x->run < y->run ? -1 : 1;
	return (x->n > y->n) - (x->n < y->n);
}

/* A batch's file name, "RUN-N": digits, a dash, digits, and no more. */
static int
batch_parse(const char *s, spooled *b)
{
	char *end;
	long long run, n;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	run = strtoll(s, &end, 10);
	if (errno != 0 || *end != '-' || !isdigit((unsigned char)end[1]))
		return -1;
	n = strtoll(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || run <= 0 || n <= 0 || n > INT_MAX)
		return -1;
	*b = (spooled){run, (int)n};
	return 0;
}

/* The batches in the spool, oldest first, to free; *n of them. A spool
 * that is not there has none. */
static int
spool_list(const tp_predlog *l, spooled **out, size_t *n, tp_err *e)
{
	DIR *d = opendir(l->spool);
	struct dirent *de;
	spooled *list = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (d == NULL)
		return errno == ENOENT ? TP_OK : tp_err_set(e, TP_EIO,
		    "the spool: %s: %s", l->spool, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		spooled b;
		if (batch_parse(de->d_name, &b) < 0)
			continue;
		if (*n == cap) {
			spooled *nl = realloc(list, (cap = cap ? 2 * cap : 16) *
			    sizeof(*list));
			if (nl == NULL) {
				free(list);
				closedir(d);
				return tp_err_nomem(e, "the spool's list");
			}
			list = nl;
		}
		list[(*n)++] = b;
	}
	closedir(d);
	if (*n > 0)
		qsort(list, *n, sizeof(*list), batch_order);
	*out = list;
	return TP_OK;
}

/* Reads the file of batch b, under an exclusive lock, into *text; *fd is
 * left open, holding the lock. 0 without a file: gone, or another process
 * sending it. */
static int
spool_read(const tp_predlog *l, int dir, const char *name, int *fd,
    char **text, size_t *len, tp_err *e)
{
	struct stat st;
	size_t off = 0;

	*text = NULL;
	if ((*fd = openat(dir, name, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -tp_err_set(e, TP_EIO,
		    "the spool: %s/%s: %s", l->spool, name, strerror(errno));
	/* Another process is sending it, or has sent and removed it since
	 * the list was made. */
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0 || fstat(*fd, &st) != 0 ||
	    st.st_nlink == 0) {
		close(*fd);
		return 0;
	}
	if ((*text = malloc((size_t)st.st_size + 1)) == NULL) {
		close(*fd);
		return -tp_err_nomem(e, "a batch of the spool");
	}
	while (off < (size_t)st.st_size) {
		ssize_t got = read(*fd, *text + off, (size_t)st.st_size - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		off += (size_t)got;
	}
	*len = off;
	return 1;
}

/* Sends batch b of the spool and removes it; a batch whose rows the
 * database refuses is set aside. Fails for the connection or a right,
 * when the spool is to be tried again later. */
static int
replay_one(tp_predlog *l, int dir, const spooled *b, uint64_t *sent,
    tp_err *e)
{
	char name[48], aside[64], *text;
	size_t len = 0, rows = 0;
	int fd, dup, rc, refused;

	snprintf(name, sizeof(name), "%lld-%d", (long long)b->run, b->n);
	if ((rc = spool_read(l, dir, name, &fd, &text, &len, e)) <= 0)
		return -rc;
	for (size_t i = 0; i < len; i++)
		rows += text[i] == '\n';
	rc = send_batch(l, b->run, b->n, text, len, rows, 1, &dup, e);
	refused = rc != TP_OK && rc != TP_EUNAVAILABLE && rc != TP_ENOPERM;
	if (rc == TP_OK) {
		unlinkat(dir, name, 0);
		*sent += dup ? 0 : rows;
		l->replayed += dup ? 0 : rows;
	} else if (refused) {
		snprintf(aside, sizeof(aside), "%s.rejected", name);
		renameat(dir, name, dir, aside);
		tp_notef(l->note, l->ctx, 1, "%s: the spool's batch is set aside as %s/%s", e->msg,
		    l->spool, aside);
	}
	if ((rc == TP_OK || refused) && b->run == l->run) {
		l->unsent -= rows < l->unsent ? rows : l->unsent;
		if (rc == TP_OK)
			l->logged += rows;
		else
			l->lost += rows;
	}
	free(text);
	close(fd);
	return refused ? TP_OK : rc;
}

/* Sends the spool's batches, oldest first, until the connection or a
 * right fails. */
static int
replay(tp_predlog *l, tp_err *e)
{
	spooled *list;
	size_t n;
	uint64_t sent = 0;
	int dir = -1, rc;

	if ((rc = spool_list(l, &list, &n, e)) != TP_OK)
		return rc;
	if (n > 0 && (dir = open(l->spool, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		rc = tp_err_set(e, TP_EIO, "the spool: %s: %s", l->spool,
		    strerror(errno));
	for (size_t i = 0; rc == TP_OK && i < n; i++)
		rc = replay_one(l, dir, &list[i], &sent, e);
	if (n > 0 && dir >= 0)
		close(dir);
	free(list);
	if (rc == TP_OK)
		l->pending = 0;
	if (sent > 0)
		tp_notef(l->note, l->ctx, 0, "database: %llu prediction%s sent from the spool %s",
		    (unsigned long long)sent, sent == 1 ? "" : "s", l->spool);
	return rc;
}

/* Makes the log ready to send: the connection made again if it was lost
 * and the backoff is over (or force), the spool sent. TP_EUNAVAILABLE,
 * why, when there is no connection to send on. */
static int
ready(tp_predlog *l, int force, double now, tp_err *why)
{
	int rc;

	if (!force && now < l->retry_at) {
		if (PQstatus(l->db->conn) == CONNECTION_OK)
			return TP_OK;
		return tp_err_set(why, TP_EUNAVAILABLE, "database: logging %zu "
		    "prediction%s failed: the connection is lost, tried again in "
		    "%.0f s", l->rows, l->rows == 1 ? "" : "s", l->retry_at - now);
	}
	if (PQstatus(l->db->conn) != CONNECTION_OK) {
		if ((rc = tp_db_reconnect(l->db, why)) != TP_OK) {
			back_off(l, now);
			return rc;
		}
		l->backoff = 0;
		tp_notef(l->note, l->ctx, 0, "database: reconnected");
	}
	if (!l->pending || l->spool == NULL)
		return TP_OK;
	if ((rc = replay(l, why)) == TP_OK) {
		l->backoff = 0;
		return TP_OK;
	}
	back_off(l, now);
	if (rc == TP_EUNAVAILABLE)
		return rc;
	/* A right the role lacks, or a spool that cannot be read: said, and
	 * tried again later; the new rows go on. */
	tp_notef(l->note, l->ctx, 1, "%s", why->msg);
	return TP_OK;
}

/* Sends what waits: the spool first, then the buffer; force tries the
 * connection whatever the backoff says, and once more when it is lost
 * while sending. */
static int
flush(tp_predlog *l, int force, tp_err *e)
{
	double now = tp_clock();
	int n = l->rows > 0 ? ++l->batch : 0, dup, rc;
	tp_err why = {0};

	if (l->rows == 0 && !retrying(l))
		return TP_OK;
	for (int tries = 0;; tries++) {
		if (ready(l, force, now, &why) != TP_OK)
			return keep(l, n, &why, e);
		if (l->rows == 0)
			return TP_OK;
		rc = send_batch(l, l->run, n, l->buf, l->len, l->rows, 0, &dup,
		    &why);
		if (rc != TP_EUNAVAILABLE)
			break;
		if (!force || tries > 0) {
			back_off(l, now);
			return keep(l, n, &why, e);
		}
	}
	if (rc == TP_OK)
		l->logged += l->rows;
	else
		l->lost += l->rows;
	clear(l);
	if (rc != TP_OK)
		*e = why;
	return rc;
}

int
tp_predlog_flush(tp_predlog *l, tp_err *e)
{
	return flush(l, 0, e);
}

int
tp_predlog_finish(tp_predlog *l, tp_err *e)
{
	int rc = flush(l, 1, e);
	spooled *list;
	size_t n;
	tp_err le = {0};

	/* What of this run the spool holds now, whoever sent the rest. */
	if (l->spool == NULL || spool_list(l, &list, &n, &le) != TP_OK)
		return rc;
	l->unsent = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		FILE *f;
		int c;
		if (list[i].run != l->run)
			continue;
		snprintf(path, sizeof(path), "%s/%lld-%d", l->spool,
		    (long long)list[i].run, list[i].n);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while ((c = getc(f)) != EOF)
			l->unsent += c == '\n';
		fclose(f);
	}
	free(list);
	return rc;
}
