#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "data/request.h"
#include "model/score.h"
#include "serve/follow.h"
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
	tp_follow follow;     /* reloads and the log */
} server;

/* Puts a reloaded model in place, with a row shaped as its encoding. */
static int
install(void *ctx, tp_predictor *np, tp_err *e)
{
	server *s = ctx;
	tp_batch row = {0};
	int rc;

	if ((rc = tp_batch_init(&row, np->vm.enc.ncat, np->vm.enc.nnum, 1,
	    e)) != TP_OK) {
		tp_predictor_free(np);
		return rc;
	}
	tp_predictor_free(s->p);
	*s->p = *np;
	tp_batch_free(&s->row);
	s->row = row;
	return TP_OK;
}

/* The follower's notes, passed on to the server's caller. */
static void
relay(void *ctx, int failed, const char *msg)
{
	const server *s = ctx;

	if (s->o->note != NULL)
		s->o->note(s->o->ctx, failed, msg);
}

static int
answer(server *s, const char *line, size_t len, tp_err *e)
{
	const tp_serve_opts *o = s->o;
	tp_row row = tp_batch_row(&s->row, 0);
	char *features = NULL, *id = NULL;
	/* The serving contract: every feature given, null when missing. */
	tp_request_info info = {.strict = 1};
	tp_err re = {0};
	float prob;
	int rc;

	s->c->requests++;
	rc = tp_request_parse_info(&s->p->vm.enc, line, len, s->line, row,
	    o->log != NULL ? &features : NULL, &id, &info, &re);
	if (rc == TP_EDATA) {
		s->c->errors++;
		tp_predict_write_error(o->out, re.msg, info.code, info.field);
	} else if (rc != TP_OK) {
		*e = re;
		return rc;
	} else {
		const tp_why *why = s->p->why.k > 0 ? &s->p->why : NULL;
		s->row.n = 1;
		if ((rc = tp_score(&s->p->vm.model, &s->row, &prob, e)) != TP_OK ||
		    (why != NULL && (rc = tp_why_rows(&s->p->why, &s->row, e)) !=
		    TP_OK)) {
			free(features);
			free(id);
			return rc;
		}
		int label = tp_predictor_label(s->p, prob);
		char number[24];
		snprintf(number, sizeof(number), "%lld", (long long)*row.id);
		tp_predict_write_line(o->out, id != NULL ? id : number, prob,
		    label, s->p->vm.version.version, why, 0);
		/* The answer matters more than its record: a log that cannot
		 * be sent is said and the serving goes on. */
		tp_prediction logged = {.model_sha256 = s->p->vm.meta.sha256,
		    .model_version = s->p->vm.version.version, .id = *row.id,
		    .prob = prob, .label = label, .features = features,
		    .latency = -1};
		if (o->log != NULL && tp_predlog_add(o->log, &logged, &re) !=
		    TP_OK)
			relay(s, 1, re.msg);
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
	tp_predict_write_error(s->o->out, msg, "too_large", NULL);
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
wait_for(server *s, int *input, int *notified, tp_err *e)
{
	struct pollfd fds[2] = {{.fd = s->o->in, .events = POLLIN},
	    {.fd = tp_follow_fd(&s->follow), .events = POLLIN}};
	struct timespec ts, *timeout = NULL;
	double w = tp_follow_wait(&s->follow, tp_clock());

	*input = *notified = 0;
	if (w >= 0) {
		ts.tv_sec = (time_t)w;
		ts.tv_nsec = (long)((w - floor(w)) * 1e9);
		timeout = &ts;
	}
	/* A negative descriptor is left out by poll. */
	if (ppoll(fds, 2, timeout, s->o->wait_mask) < 0) {
		if (errno == EINTR)
			return TP_OK;
		return tp_err_set(e, TP_EIO, "waiting for requests: %s",
		    strerror(errno));
	}
	*input = fds[0].revents != 0;
	*notified = fds[1].revents != 0;
	return TP_OK;
}

int
tp_serve(const tp_serve_opts *o, tp_predictor *p, tp_serve_counts *c,
    tp_err *e)
{
	server s = {.o = o, .p = p, .c = c, .follow = {.db = o->db,
	    .ref = o->ref, .nthreads = o->nthreads, .why = o->why, .log = o->log,
	    .install = install, .note = relay}};
	int rc, eof = 0, input = 0, notified = 0;

	memset(c, 0, sizeof(*c));
	s.follow.ctx = &s;
	if ((rc = tp_batch_init(&s.row, p->vm.enc.ncat, p->vm.enc.nnum, 1, e)) !=
	    TP_OK)
		return rc;
	if ((rc = tp_follow_start(&s.follow, p, e)) != TP_OK)
		goto out;
	while (rc == TP_OK) {
		if (o->stop != NULL && *o->stop) {
			/* Said, for the log to tell a stop from the end of the
			 * input. */
			relay(&s, 0, *o->stop == SIGINT ? "SIGINT: stopping" :
			    "SIGTERM: stopping");
			break;
		}
		if (o->reload != NULL && *o->reload) {
			*o->reload = 0;
			tp_err re = {0};
			tp_follow_reload(&s.follow, "SIGHUP", &re);
		}
		tp_follow_step(&s.follow, notified);
		notified = 0;
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
		if ((rc = wait_for(&s, &input, &notified, e)) != TP_OK)
			break;
		if (input)
			rc = fill(&s, &eof, e);
	}
out:
	tp_follow_finish(&s.follow);
	c->reloads = s.follow.reloads;
	c->reload_failures = s.follow.reload_failures;
	tp_batch_free(&s.row);
	free(s.buf);
	return rc;
}
