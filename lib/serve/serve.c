#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "data/request.h"
#include "model/score.h"
#include "serve/serve.h"

typedef struct {
	const tp_serve_opts *o;
	tp_predictor *p;
	tp_serve_counts *c;
	tp_batch row;         /* one request's row, shaped as p's encoding */
	char *buf;            /* bytes read and not yet answered: */
	size_t start, len, cap; /* from buf + start, len of them */
	int skipping;         /* dropping the rest of a request too long */
	int64_t line;         /* lines read */
	char *name;           /* the model's name, when listening */
	unsigned resets;      /* the connection's resets at the LISTEN */
} server;

static void
note(const server *s, int failed, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	if (s->o->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* libpq's messages end with a line end and may hold more: one line. */
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (char *q = msg; *q != '\0'; q++)
		if (*q == '\n' || *q == '\t')
			*q = ' ';
	s->o->note(s->o->ctx, failed, msg);
}

/* Loads the model again and puts it in place of the one serving, which
 * stays when anything fails. */
static void
reload(server *s, const char *why)
{
	tp_predictor np;
	tp_batch row = {0};
	tp_err e = {0};

	if (tp_predictor_open(&np, s->o->db, s->o->ref, s->o->nthreads,
	    &e) != TP_OK ||
	    tp_batch_init(&row, np.vm.enc.ncat, np.vm.enc.nnum, 1, &e) != TP_OK) {
		tp_predictor_free(&np);
		s->c->reload_failures++;
		note(s, 1, "%s: reload failed, still serving %s: %s", why,
		    s->p->vm.path, e.msg);
		return;
	}
	tp_predictor_free(s->p);
	*s->p = np;
	tp_batch_free(&s->row);
	s->row = row;
	s->c->reloads++;
	if (s->p->vm.version.version > 0)
		note(s, 0, "%s: reloaded %s, version %d", why, s->p->vm.path,
		    s->p->vm.version.version);
	else
		note(s, 0, "%s: reloaded %s", why, s->p->vm.path);
}

/* Whether the reference now names another file than the one serving. */
static int
stale(server *s)
{
	tp_model_version v;
	tp_err e = {0};
	int r;

	if (tp_version_find(s->o->db, s->o->ref, &v, &e) != TP_OK)
		return 0;
	r = strcmp(v.sha256, s->p->vm.meta.sha256) != 0;
	tp_version_free(&v);
	return r;
}

/* Listens for promotions on the connection as it is now: at the start,
 * and again once a lost connection is made again, which ends a LISTEN. */
static int
subscribe(server *s, tp_err *e)
{
	int rc;

	s->resets = s->o->db->resets;
	if ((rc = tp_db_exec(s->o->db, "LISTEN tabpipe_production", 0, NULL,
	    NULL, e)) != TP_OK)
		return rc;
	/* A promotion between the load and the LISTEN sent its notification
	 * to nobody. */
	if (stale(s))
		reload(s, "a new version");
	return TP_OK;
}

static int
listen_start(server *s, tp_err *e)
{
	const char *at = strrchr(s->o->ref, '@');

	if ((s->name = strndup(s->o->ref, (size_t)(at - s->o->ref))) == NULL)
		return tp_err_nomem(e, "a model's name");
	return subscribe(s, e);
}

/* After a reconnection, which the prediction log makes: listening again. */
static int
resubscribe(server *s)
{
	tp_err e = {0};

	if (subscribe(s, &e) != TP_OK) {
		note(s, 1, "%s: no reloads on promotion", e.msg);
		return 0;
	}
	note(s, 0, "database: listening for promotions again");
	return 1;
}

/* Acts on the notifications that libpq has read: one reload for all of
 * those that name the model. */
static void
notifications(server *s)
{
	PGconn *conn = s->o->db->conn;
	PGnotify *n;
	int ours = 0;

	while ((n = PQnotifies(conn)) != NULL) {
		cJSON *j = cJSON_Parse(n->extra);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
		if (strcmp(n->relname, "tabpipe_production") == 0 &&
		    cJSON_IsString(m) && strcmp(m->valuestring, s->name) == 0)
			ours = 1;
		cJSON_Delete(j);
		PQfreemem(n);
	}
	if (ours)
		reload(s, "a new Production version");
}

static void
log_failed(server *s, const tp_err *le)
{
	note(s, 1, "%s", le->msg);
}

static int
answer(server *s, const char *line, size_t len, tp_err *e)
{
	const tp_serve_opts *o = s->o;
	tp_row row = tp_batch_row(&s->row, 0);
	char *features = NULL, *id = NULL;
	tp_err re = {0};
	float prob;
	int rc;

	s->c->requests++;
	rc = tp_request_parse_id(&s->p->vm.enc, line, len, s->line, row,
	    o->log != NULL ? &features : NULL, &id, &re);
	if (rc == TP_EDATA) {
		s->c->errors++;
		tp_predict_write_error(o->out, re.msg);
	} else if (rc != TP_OK) {
		*e = re;
		return rc;
	} else {
		s->row.n = 1;
		if ((rc = tp_score(&s->p->vm.model, &s->row, &prob, e)) != TP_OK) {
			free(features);
			free(id);
			return rc;
		}
		int label = tp_predictor_label(s->p, prob);
		char number[24];
		snprintf(number, sizeof(number), "%lld", (long long)*row.id);
		tp_predict_write_line(o->out, id != NULL ? id : number, prob,
		    label, s->p->vm.version.version);
		/* The answer matters more than its record: a log that cannot
		 * be sent is said and the serving goes on. */
		if (o->log != NULL && tp_predlog_add(o->log, s->p->vm.meta.sha256,
		    *row.id, prob, label, features, &re) != TP_OK)
			log_failed(s, &re);
		free(features);
		free(id);
	}
	if (fflush(o->out) != 0 || ferror(o->out))
		return tp_err_set(e, TP_EIO, "output: write error: %s",
		    strerror(errno));
	return TP_OK;
}

static int
too_long(server *s, tp_err *e)
{
	char msg[96];

	s->c->requests++;
	s->c->errors++;
	snprintf(msg, sizeof(msg), "a request is longer than %zu bytes",
	    s->o->max_line);
	tp_predict_write_error(s->o->out, msg);
	if (fflush(s->o->out) != 0 || ferror(s->o->out))
		return tp_err_set(e, TP_EIO, "output: write error: %s",
		    strerror(errno));
	return TP_OK;
}

/* Answers the next whole line in the buffer; 0 when there is none. */
static int
next_line(server *s, int *rc, tp_err *e)
{
	char *p, *nl;

	/* Before the first read buf is NULL, to which no offset applies,
	 * not even 0. */
	if (s->len == 0)
		return 0;
	p = s->buf + s->start;
	if ((nl = memchr(p, '\n', s->len)) == NULL)
		return 0;
	size_t n = (size_t)(nl - p);
	s->line++;
	if (s->skipping)
		s->skipping = 0;
	else if (n > s->o->max_line)
		*rc = too_long(s, e);
	else if (strspn(p, " \t\r") < n)
		*rc = answer(s, p, n, e);
	s->start += n + 1;
	s->len -= n + 1;
	return 1;
}

/* Reads what the input has; *eof at its end. */
static int
fill(server *s, int *eof, tp_err *e)
{
	enum { CHUNK = 65536 };

	if (s->start > 0) {
		memmove(s->buf, s->buf + s->start, s->len);
		s->start = 0;
	}
	if (s->len + CHUNK + 1 > s->cap) {
		size_t cap = s->len + CHUNK + 1;
		char *nb = realloc(s->buf, cap);
		if (nb == NULL)
			return tp_err_nomem(e, "a request");
		s->buf = nb;
		s->cap = cap;
	}
	ssize_t got = read(s->o->in, s->buf + s->len, CHUNK);
	if (got < 0 && errno != EINTR && errno != EAGAIN)
		return tp_err_set(e, TP_EIO, "standard input: read error: %s",
		    strerror(errno));
	if (got == 0)
		*eof = 1;
	if (got > 0)
		s->len += (size_t)got;
	s->buf[s->len] = '\0'; /* so that a last line is a string */
	/* Past the limit, the request is answered with an error at once
	 * and the rest of its line is dropped as it comes. */
	if (s->len > s->o->max_line && memchr(s->buf, '\n', s->len) == NULL) {
		int rc = s->skipping ? TP_OK : too_long(s, e);
		s->skipping = 1;
		s->len = 0;
		s->buf[0] = '\0';
		return rc;
	}
	return TP_OK;
}

/* Waits for input, a notification or a signal, or until the log is due. */
static int
wait_for(server *s, int listening, int *input, int *socket_ready, tp_err *e)
{
	struct pollfd fds[2] = {{.fd = s->o->in, .events = POLLIN}};
	struct timespec ts, *timeout = NULL;
	nfds_t n = 1;

	*input = *socket_ready = 0;
	if (listening) {
		fds[1] = (struct pollfd){.fd = PQsocket(s->o->db->conn),
		    .events = POLLIN};
		n = 2;
	}
	if (s->o->log != NULL) {
		double w = tp_predlog_wait(s->o->log, tp_clock());
		if (w >= 0) {
			ts.tv_sec = (time_t)w;
			ts.tv_nsec = (long)((w - floor(w)) * 1e9);
			timeout = &ts;
		}
	}
	if (ppoll(fds, n, timeout, s->o->wait_mask) < 0) {
		if (errno == EINTR)
			return TP_OK;
		return tp_err_set(e, TP_EIO, "waiting for requests: %s",
		    strerror(errno));
	}
	*input = fds[0].revents != 0;
	*socket_ready = n == 2 && fds[1].revents != 0;
	return TP_OK;
}

int
tp_serve(const tp_serve_opts *o, tp_predictor *p, tp_serve_counts *c,
    tp_err *e)
{
	server s = {.o = o, .p = p, .c = c};
	int rc, eof = 0, listener = 0, listening = 0, input, socket_ready;
	tp_err le = {0};

	memset(c, 0, sizeof(*c));
	if ((rc = tp_batch_init(&s.row, p->vm.enc.ncat, p->vm.enc.nnum, 1, e)) !=
	    TP_OK)
		return rc;
	if (o->db != NULL && tp_version_is_ref(o->ref)) {
		if ((rc = listen_start(&s, e)) != TP_OK)
			goto out;
		listener = listening = 1;
	}
	while (rc == TP_OK) {
		if (o->stop != NULL && *o->stop)
			break;
		if (o->reload != NULL && *o->reload) {
			*o->reload = 0;
			reload(&s, "SIGHUP");
		}
		if (listening)
			notifications(&s);
		if (next_line(&s, &rc, e))
			continue;
		if (eof) {
			if (s.len > 0 && !s.skipping) {
				s.line++;
				if (strspn(s.buf + s.start, " \t\r") < s.len)
					rc = answer(&s, s.buf + s.start, s.len, e);
			}
			break;
		}
		if (o->log != NULL && tp_predlog_due(o->log, tp_clock()) &&
		    tp_predlog_flush(o->log, &le) != TP_OK)
			log_failed(&s, &le);
		if (listener && o->db->resets != s.resets)
			listening = resubscribe(&s);
		if ((rc = wait_for(&s, listening, &input, &socket_ready, e)) !=
		    TP_OK)
			break;
		if (socket_ready && !PQconsumeInput(o->db->conn)) {
			note(&s, 1, "database: connection lost, no reloads on "
			    "promotion until it is made again: %s",
			    PQerrorMessage(o->db->conn));
			listening = 0;
		}
		if (input)
			rc = fill(&s, &eof, e);
	}
out:
	if (o->log != NULL && tp_predlog_finish(o->log, &le) != TP_OK)
		log_failed(&s, &le);
	tp_batch_free(&s.row);
	free(s.buf);
	free(s.name);
	return rc;
}
