#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
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

void
tp_predlog_free(tp_predlog *l)
{
	free(l->buf);
	l->buf = NULL;
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

int
tp_predlog_add(tp_predlog *l, const char *model_sha256, int64_t id,
    float prob, int label, const char *features, tp_err *e)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "%lld\t%s\t%lld\t%.9g\t%d\t",
	    (long long)l->run, model_sha256, (long long)id, (double)prob, label);
	size_t flen = features != NULL ? strlen(features) : 0;
	int rc;

	/* Escaping can at most double the features' bytes. */
	if ((rc = reserve(l, (size_t)n + 2 * flen + 3, e)) != TP_OK)
		return rc;
	memcpy(l->buf + l->len, head, (size_t)n);
	l->len += (size_t)n;
	if (features == NULL) {
		memcpy(l->buf + l->len, "\\N", 2);
		l->len += 2;
	}
	for (size_t i = 0; i < flen; i++) {
		/* COPY's text format: a backslash starts an escape, and tab and
		 * line ends delimit. */
		char c = features[i], *p = l->buf + l->len;
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
	l->buf[l->len++] = '\n';
	if (l->rows++ == 0)
		l->since = tp_clock();
	if (tp_predlog_due(l, tp_clock()))
		return tp_predlog_flush(l, e);
	return TP_OK;
}

int
tp_predlog_due(const tp_predlog *l, double now)
{
	return l->rows > 0 && (l->rows >= l->max_rows ||
	    now - l->since >= l->max_wait);
}

double
tp_predlog_wait(const tp_predlog *l, double now)
{
	if (l->rows == 0)
		return -1;
	double left = l->since + l->max_wait - now;
	return left > 0 ? left : 0;
}

static int
copy_error(tp_predlog *l, PGresult *r, size_t rows, tp_err *e)
{
	char what[64];

	snprintf(what, sizeof(what), "logging %zu prediction%s failed", rows,
	    rows == 1 ? "" : "s");
	return tp_db_failure(l->db, r, what, e);
}

int
tp_predlog_flush(tp_predlog *l, tp_err *e)
{
	PGconn *conn = l->db->conn;
	size_t rows = l->rows;
	PGresult *r;
	int rc = TP_OK;

	if (rows == 0)
		return TP_OK;
	r = PQexec(conn, "COPY predictions (run_id, model_sha256, row_id, "
	    "probability, label, features) FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		rc = copy_error(l, r, rows, e);
		PQclear(r);
		goto out;
	}
	PQclear(r);
	if (PQputCopyData(conn, l->buf, (int)l->len) != 1 ||
	    PQputCopyEnd(conn, NULL) != 1)
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
out:
	if (rc == TP_OK)
		l->logged += rows;
	else
		l->lost += rows;
	l->len = l->rows = 0;
	return rc;
}
