#define _GNU_SOURCE /* ppoll, open_memstream, eventfd */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "base/clock.h"
#include "data/request.h"
#include "model/modelfile.h"
#include "model/score.h"
#include "serve/card.h"
#include "serve/follow.h"
#include "serve/http.h"
#include "serve/httpstats.h"

/* A loaded model with its card, shared by the requests that score with
 * it: freed when the last reference goes. */
typedef struct {
	tp_predictor p;
	tp_card card;
	char **cat_names;      /* (ncat) by slot: the names as JSON strings */
	uint64_t generation;   /* of the server's loads, from 1 */
	int refs;              /* under tp_http.mu */
	/* Why the model's reasons cannot be given, when what they need could
	 * not be read (TP_OK: they can, if its file has a reference
	 * profile). */
	int why_rc;
	char why_msg[sizeof(((tp_err *)0)->msg)];
} served;

/* One prediction waiting for the control thread to log it. */
typedef struct {
	char sha256[65];
	int version;
	int64_t id;
	float prob;
	int label;
	char *features;        /* the application's JSON (owned) */
	char *request_id;      /* (owned) */
	int item;
	double latency;
} queued;

struct tp_http {
	const tp_http_opts *o;
	struct MHD_Daemon **daemons; /* (o->nfds) */
	int ndaemons;
	tp_metrics metrics;
	pthread_key_t scorer_key;    /* each pool thread's copy of the model */
	int key_made;

	pthread_mutex_t mu;          /* guards current and served.refs */
	served *current;
	uint64_t generations;        /* loads so far */

	/* The control thread and what it is asked. */
	pthread_t control;
	int control_started;
	int wake;                    /* an eventfd that wakes it */
	pthread_mutex_t cmu;         /* guards what follows */
	pthread_cond_t reloaded;     /* a reload asked has been done */
	uint64_t reloads_asked, reloads_done;
	const char *reload_why;      /* what asked last: "SIGHUP", ... */
	int reload_rc;               /* the last reload's result */
	char reload_msg[sizeof(((tp_err *)0)->msg)];
	queued *queue;               /* predictions to log */
	size_t nqueue, capqueue;
	int stopping;                /* the control thread is to end */
	tp_follow follow;

	atomic_int draining;
	atomic_int db_ok;            /* the database is connected */
	atomic_uint_fast64_t inflight, connections, requests, errors;
	atomic_uint_fast64_t explained;  /* applications given reasons */
	atomic_uint_fast64_t unqueued;   /* predictions no memory could queue */
	/* The follower's and the log's counts, as the control thread last
	 * saw them. */
	atomic_uint_fast64_t reloads, reload_failures;
	atomic_uint_fast64_t queued_rows, logged, spooled, replayed, lost;
};

/* A request from its headers to its answer. */
typedef struct {
	double start;
	enum tp_route route;
	char request_id[129];
	char *body;
	size_t len, cap;
	int too_large;        /* the body went past the limit */
	int explain;          /* reasons an application asks for; 0: none */
	int answered;         /* a response is queued */
} request;

/* The follower's notes, passed on to the server's caller. */
static void
relay(void *ctx, int failed, const char *msg)
{
	const tp_http *h = ctx;

	if (h->o->note != NULL)
		h->o->note(h->o->ctx, failed, msg);
}

/* The model. */

static void
served_free(served *s)
{
	if (s == NULL)
		return;
	for (int j = 0; s->cat_names != NULL && j < s->p.vm.enc.ncat; j++)
		free(s->cat_names[j]);
	free(s->cat_names);
	tp_card_free(&s->card);
	tp_predictor_free(&s->p);
	free(s);
}

static served *
acquire(tp_http *h)
{
	served *s;

	pthread_mutex_lock(&h->mu);
	s = h->current;
	s->refs++;
	pthread_mutex_unlock(&h->mu);
	return s;
}

static void
release(tp_http *h, served *s)
{
	int last;

	pthread_mutex_lock(&h->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&h->mu);
	if (last)
		served_free(s);
}

/* The categorical columns' names as JSON strings, for the answers'
 * lists of unseen categories. */
static int
cat_names(served *s, tp_err *e)
{
	const tp_encoding *enc = &s->p.vm.enc;

	if ((s->cat_names = calloc((size_t)enc->ncat + 1, sizeof(char *))) ==
	    NULL)
		return tp_err_nomem(e, "the columns' names");
	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *col = &enc->cols[i];
		if (col->kind != TP_KIND_CATEGORICAL)
			continue;
		cJSON *name = cJSON_CreateString(col->name);
		s->cat_names[col->slot] = cJSON_PrintUnformatted(name);
		cJSON_Delete(name);
		if (s->cat_names[col->slot] == NULL)
			return tp_err_nomem(e, "the columns' names");
	}
	return TP_OK;
}

/* What giving s's reasons needs besides what its load kept (the
 * reference profile and texts, tp_why_load): in place of the model's
 * texts, those of o->why.reasons. */
static int
explain_parts(const tp_http *h, served *s, tp_err *e)
{
	tp_model_meta *meta = &s->p.vm.meta;
	tp_reasons texts;
	int rc;

	if (h->o->why.reasons == NULL)
		return TP_OK;
	if ((rc = tp_reasons_load(&texts, h->o->why.reasons, &s->p.vm.enc,
	    e)) != TP_OK)
		return rc;
	tp_reasons_free(&meta->reasons);
	meta->reasons = texts;
	return TP_OK;
}

/* Makes np, with its card, the model serving; takes np. When the server
 * gives reasons, what they need is read too: the first model is refused
 * when it cannot be (a --reasons file that does not fit it), a reloaded
 * one serves all the same, its reasons refused with why. */
static int
install_model(tp_http *h, tp_predictor *np, int first, tp_err *e)
{
	served *s = calloc(1, sizeof(*s)), *old;
	int rc;

	if (s == NULL) {
		tp_predictor_free(np);
		return tp_err_nomem(e, "a model");
	}
	s->p = *np;
	if (h->o->why.k > 0 && (rc = explain_parts(h, s, e)) != TP_OK) {
		if (first) {
			served_free(s);
			return rc;
		}
		s->why_rc = rc;
		snprintf(s->why_msg, sizeof(s->why_msg), "%s", e->msg);
		tp_notef(h->o->note, h->o->ctx, 1, "%s: its reasons cannot be "
		    "given: %s", s->p.vm.path, e->msg);
	} else if (h->o->why.k > 0 && s->p.vm.meta.reference.rows == 0) {
		tp_notef(h->o->note, h->o->ctx, 0, "%s: its file has no reference "
		    "profile (it was trained before models kept one): requests "
		    "for reasons are refused until it is trained again",
		    s->p.vm.path);
	}
	if ((rc = tp_card_make(&s->card, &s->p, h->o->db, e)) != TP_OK ||
	    (rc = tp_card_explain(&s->card, h->o->why.k > 0 &&
	    s->why_rc == TP_OK ? &s->p.vm.meta : NULL, &h->o->why, e)) !=
	    TP_OK ||
	    (rc = cat_names(s, e)) != TP_OK) {
		served_free(s);
		return rc;
	}
	s->refs = 1; /* the server's */
	pthread_mutex_lock(&h->mu);
	s->generation = ++h->generations;
	old = h->current;
	h->current = s;
	pthread_mutex_unlock(&h->mu);
	if (old != NULL)
		release(h, old);
	return TP_OK;
}

/* The follower's install: a reloaded model. */
static int
install(void *ctx, tp_predictor *np, tp_err *e)
{
	return install_model(ctx, np, 0, e);
}

/* A pool thread's copy of the model, and the rows of a request. */
typedef struct {
	uint64_t generation;
	tp_model model;
	tp_batch batch;
	float *prob;
	unsigned char *unseen;  /* (ncat) flags of a row */
	tp_why why;             /* the reasons of the rows, planned on model
	                           by the first request that asks */
	int explains;           /* why is open */
} scorer;

static void
scorer_free(void *v)
{
	scorer *sc = v;

	if (sc == NULL)
		return;
	tp_why_free(&sc->why);
	tp_model_free(&sc->model);
	tp_batch_free(&sc->batch);
	free(sc->prob);
	free(sc->unseen);
	free(sc);
}

/* This thread's scorer for s, copied from it when it is new to the
 * thread. */
static scorer *
scorer_for(tp_http *h, const served *s, tp_err *e)
{
	scorer *sc = pthread_getspecific(h->scorer_key);
	const tp_encoding *enc = &s->p.vm.enc;
	size_t rows = h->o->max_batch;

	if (sc != NULL && sc->generation == s->generation)
		return sc;
	scorer_free(sc);
	pthread_setspecific(h->scorer_key, NULL);
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		tp_err_nomem(e, "a scorer");
		return NULL;
	}
	if (tp_model_copy(&sc->model, &s->p.vm.model, enc, 1, e) != TP_OK ||
	    tp_batch_init(&sc->batch, enc->ncat, enc->nnum, rows, e) != TP_OK ||
	    (sc->prob = malloc(rows * sizeof(float))) == NULL ||
	    (sc->unseen = calloc((size_t)enc->ncat + 1, 1)) == NULL) {
		if (e->code == TP_OK)
			tp_err_nomem(e, "a scorer");
		scorer_free(sc);
		return NULL;
	}
	sc->generation = s->generation;
	pthread_setspecific(h->scorer_key, sc);
	return sc;
}

/* Opens sc's explanations of s's model, once; k is then the request's.
 * TP_EDATA: the model cannot be explained (its file has no reference
 * profile, or what its reasons need could not be read when it was
 * loaded). */
static int
explainer_for(const tp_http *h, const served *s, scorer *sc, int k,
    tp_err *e)
{
	tp_why_opts o = {.k = TP_WHY_MAX_K, .steps = h->o->why.steps};
	int rc;

	if (s->why_rc != TP_OK)
		return tp_err_set(e, TP_EDATA, "%s", s->why_msg);
	if (!sc->explains) {
		/* The texts are the model's meta's, which install made those
		 * of --reasons when it was given. */
		if ((rc = tp_why_open(&sc->why, &sc->model, &s->p.vm.meta,
		    &s->p.vm.enc, &o, e)) != TP_OK)
			return rc;
		sc->explains = 1;
	}
	/* Opened for the most reasons, it writes as many as this request
	 * asks for: k is read only by the writing. */
	sc->why.k = k;
	return TP_OK;
}

/* Answers. */

/* Queues body (taken) as the answer, JSON unless type says otherwise,
 * and counts it. */
static enum MHD_Result
respond(tp_http *h, struct MHD_Connection *c, request *r, int status,
    char *body, const char *type, const char *header, const char *value)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (body == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    type != NULL ? type : "application/json");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	if (header != NULL)
		MHD_add_response_header(resp, header, value);
	/* A server that is stopping closes each connection after its
	 * answer. */
	if (atomic_load(&h->draining))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->answered = 1;
	tp_metrics_observe(&h->metrics, r->route, status, tp_clock() - r->start);
	atomic_fetch_add(&h->requests, 1);
	if (status >= 400)
		atomic_fetch_add(&h->errors, 1);
	return ret;
}

/* {"error":{"status","code","message","field","item"},"request_id"} */
static enum MHD_Result
fail(tp_http *h, struct MHD_Connection *c, request *r, int status,
    const char *code, const char *msg, const char *field, long item,
    const char *header, const char *value)
{
	cJSON *j = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(j,
	    "error");
	char *body;

	cJSON_AddNumberToObject(err, "status", status);
	cJSON_AddStringToObject(err, "code", code);
	cJSON_AddStringToObject(err, "message", msg);
	if (field != NULL && *field != '\0')
		cJSON_AddStringToObject(err, "field", field);
	if (item >= 0)
		cJSON_AddNumberToObject(err, "item", (double)item);
	cJSON_AddStringToObject(j, "request_id", r->request_id);
	body = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (body == NULL)
		return MHD_NO;
	return respond(h, c, r, status, body, NULL, header, value);
}

static enum MHD_Result
ok(tp_http *h, struct MHD_Connection *c, request *r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum MHD_Result
ok(tp_http *h, struct MHD_Connection *c, request *r, const char *fmt, ...)
{
	char *body;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return respond(h, c, r, MHD_HTTP_OK, body, NULL, NULL, NULL);
}

/* Predictions. */

/* The log's copy of an application's prediction, queued for the control
 * thread; features and rid are taken. */
static void
enqueue(tp_http *h, const served *s, int64_t id, float prob, int label,
    char *features, const char *rid, int item, double latency)
{
	queued *q;
	int first;

	pthread_mutex_lock(&h->cmu);
	if (h->nqueue == h->capqueue) {
		size_t cap = h->capqueue ? 2 * h->capqueue : 1024;
		queued *nq = realloc(h->queue, cap * sizeof(*nq));
		if (nq == NULL) {
			pthread_mutex_unlock(&h->cmu);
			free(features);
			atomic_fetch_add(&h->unqueued, 1);
			return;
		}
		h->queue = nq;
		h->capqueue = cap;
	}
	q = &h->queue[h->nqueue++];
	memcpy(q->sha256, s->p.vm.meta.sha256, sizeof(q->sha256));
	q->version = s->p.vm.version.version;
	q->id = id;
	q->prob = prob;
	q->label = label;
	q->features = features;
	q->request_id = strdup(rid);
	q->item = item;
	q->latency = latency;
	first = h->nqueue == 1;
	atomic_store(&h->queued_rows, h->nqueue);
	pthread_mutex_unlock(&h->cmu);
	/* The control thread is woken by the first row after a drain; the
	 * rest wait with it. */
	if (first) {
		uint64_t one = 1;
		if (write(h->wake, &one, sizeof(one)) < 0)
			(void)0; /* a full counter wakes it all the same */
	}
}

/* Appends one application's answer's members to f: its id when it gave
 * one (a string as written, or its number), none otherwise. */
static void
put_prediction(FILE *f, const served *s, const unsigned char *unseen,
    int has_id, const char *id, int64_t row_id, float prob, int label)
{
	const tp_encoding *enc = &s->p.vm.enc;
	int any = 0;

	if (id != NULL)
		fprintf(f, "\"id\":%s,", id);
	else if (has_id)
		fprintf(f, "\"id\":%lld,", (long long)row_id);
	fprintf(f, "\"probability\":%.9g,\"label\":%d", (double)prob, label);
	for (int j = 0; j < enc->ncat; j++)
		if (unseen[j]) {
			fprintf(f, "%s%s", any ? "," : ",\"unseen\":[",
			    s->cat_names[j]);
			any = 1;
		}
	if (any)
		fputc(']', f);
}

/* What reading a request's applications leaves for the answer and the
 * log, by application. */
typedef struct {
	char **ids;                 /* (n) string ids as written, or NULL */
	char **features;            /* (n) the applications' JSON, to log */
	unsigned char *unseen;      /* (n, ncat) */
	unsigned char *has_id;      /* (n) the application gave an id */
} parsed;

static void
parsed_free(parsed *pr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (pr->ids != NULL)
			free(pr->ids[i]);
		if (pr->features != NULL)
			free(pr->features[i]);
	}
	free(pr->ids);
	free(pr->features);
	free(pr->unseen);
	free(pr->has_id);
}

/* Scores the applications of the body with the model serving. */
static enum MHD_Result
predict(tp_http *h, struct MHD_Connection *c, request *r)
{
	const int logging = h->o->log != NULL;
	tp_request_info info = {.strict = 1, .item = -1};
	tp_request_span *spans = NULL;
	size_t n = 0;
	int batch = 0, rc;
	tp_err e = {0};
	enum MHD_Result ret;

	if (tp_request_split(r->body != NULL ? r->body : "", r->len,
	    h->o->max_batch, &spans, &n, &batch, &info, &e) != TP_OK)
		return fail(h, c, r, strcmp(info.code, "too_large") == 0 ?
		    MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST, info.code,
		    e.msg, info.field, info.item, NULL, NULL);

	served *s = acquire(h);
	const tp_encoding *enc = &s->p.vm.enc;
	size_t ncat = (size_t)enc->ncat + 1;
	parsed pr = {calloc(n, sizeof(char *)), calloc(n, sizeof(char *)),
	    calloc(n * ncat, 1), calloc(n, 1)};
	scorer *sc = scorer_for(h, s, &e);
	if (sc == NULL || pr.ids == NULL || pr.features == NULL ||
	    pr.unseen == NULL || pr.has_id == NULL) {
		ret = fail(h, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
		    sc == NULL ? e.msg : "out of memory", NULL, -1, NULL, NULL);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		tp_request_info one = {.strict = 1, .unseen = sc->unseen,
		    .item = -1};
		rc = tp_request_parse_info(enc, r->body + spans[i].at,
		    spans[i].len, (int64_t)i, tp_batch_row(&sc->batch, i),
		    logging ? &pr.features[i] : NULL, &pr.ids[i], &one, &e);
		if (rc != TP_OK) {
			int status = rc == TP_EDATA ? MHD_HTTP_BAD_REQUEST :
			    MHD_HTTP_INTERNAL_SERVER_ERROR;
			ret = fail(h, c, r, status, rc == TP_EDATA ? one.code :
			    "internal", e.msg, one.field, batch ? (long)i : -1,
			    NULL, NULL);
			n = i + 1;
			goto out;
		}
		memcpy(pr.unseen + i * ncat, sc->unseen, ncat);
		pr.has_id[i] = (unsigned char)one.has_id;
		atomic_fetch_add(&h->metrics.unseen, (uint64_t)one.nunseen);
	}
	sc->batch.n = n;
	/* A model that cannot be explained is no error of the request's:
	 * asked without reasons, it answers. */
	if (r->explain > 0 && (rc = explainer_for(h, s, sc, r->explain, &e)) !=
	    TP_OK) {
		ret = rc == TP_EDATA ? fail(h, c, r, MHD_HTTP_CONFLICT,
		    "cannot_explain", e.msg, "explain", -1, NULL, NULL) :
		    fail(h, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", e.msg,
		    NULL, -1, NULL, NULL);
		goto out;
	}
	if (tp_score(&sc->model, &sc->batch, sc->prob, &e) != TP_OK ||
	    (r->explain > 0 && tp_why_rows(&sc->why, &sc->batch, &e) != TP_OK)) {
		ret = fail(h, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
		    e.msg, NULL, -1, NULL, NULL);
		goto out;
	}
	atomic_fetch_add(&h->metrics.rows, n);
	if (r->explain > 0)
		atomic_fetch_add(&h->explained, n);

	char *body = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&body, &blen);
	if (f == NULL) {
		ret = MHD_NO;
		goto out;
	}
	fprintf(f, "{\"request_id\":\"%s\",\"model\":%s,", r->request_id,
	    s->card.model);
	if (batch)
		fputs("\"predictions\":[", f);
	double latency = tp_clock() - r->start;
	for (size_t i = 0; i < n; i++) {
		int64_t id = sc->batch.id[i];
		int label = tp_predictor_label(&s->p, sc->prob[i]);
		/* A batch's answers are objects; a single one's members are
		 * the answer's own. */
		if (batch)
			fputs(i > 0 ? ",{" : "{", f);
		put_prediction(f, s, pr.unseen + i * ncat, pr.has_id[i], pr.ids[i],
		    id, sc->prob[i], label);
		if (r->explain > 0)
			tp_why_json(f, &sc->why, i);
		if (batch)
			fputc('}', f);
		if (logging) {
			/* Without an id, the row's is its place in the batch. */
			enqueue(h, s, id, sc->prob[i],
			    label, pr.features[i], r->request_id, (int)i, latency);
			pr.features[i] = NULL;
		}
	}
	fputs(batch ? "]}" : "}", f);
	if (fclose(f) != 0) {
		free(body);
		ret = MHD_NO;
		goto out;
	}
	ret = respond(h, c, r, MHD_HTTP_OK, body, NULL, NULL, NULL);
out:
	parsed_free(&pr, n);
	free(spans);
	release(h, s);
	return ret;
}

/* Asks the control thread for a reload, why saying who asks, and when
 * wait is set waits for it (or a later one) to be done: its status, and
 * why it failed in msg. */
static int
ask_reload(tp_http *h, const char *why, int wait, char *msg, size_t msgsize)
{
	uint64_t ticket, one = 1;
	int rc = TP_OK;

	pthread_mutex_lock(&h->cmu);
	ticket = ++h->reloads_asked;
	h->reload_why = why;
	pthread_mutex_unlock(&h->cmu);
	if (write(h->wake, &one, sizeof(one)) < 0)
		(void)0; /* a full counter wakes it all the same */
	if (!wait)
		return TP_OK;
	pthread_mutex_lock(&h->cmu);
	while (h->reloads_done < ticket && !h->stopping)
		pthread_cond_wait(&h->reloaded, &h->cmu);
	if (h->reloads_done < ticket) {
		rc = TP_EUNAVAILABLE;
		snprintf(msg, msgsize, "the server is stopping");
	} else {
		rc = h->reload_rc;
		snprintf(msg, msgsize, "%s", h->reload_msg);
	}
	pthread_mutex_unlock(&h->cmu);
	return rc;
}

void
tp_http_reload(tp_http *h)
{
	ask_reload(h, "SIGHUP", 0, NULL, 0);
}

static enum MHD_Result
reload(tp_http *h, struct MHD_Connection *c, request *r)
{
	char msg[sizeof(((tp_err *)0)->msg)];
	served *s;
	enum MHD_Result ret;

	if (ask_reload(h, "POST /v1/reload", 1, msg, sizeof(msg)) != TP_OK)
		return fail(h, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal", msg, NULL, -1, NULL, NULL);
	s = acquire(h);
	ret = ok(h, c, r, "{\"reloaded\":true,\"model\":%s}", s->card.model);
	release(h, s);
	return ret;
}

static int
ready(tp_http *h, const char **why)
{
	*why = NULL;
	if (atomic_load(&h->draining))
		*why = "stopping";
	/* Predictions are kept when the database takes them or the spool
	 * does. */
	else if (h->o->db != NULL && !atomic_load(&h->db_ok) &&
	    (h->o->log == NULL || h->o->log->spool == NULL))
		*why = "the database is away, and there is no spool";
	return *why == NULL;
}

static enum MHD_Result
health(tp_http *h, struct MHD_Connection *c, request *r)
{
	const char *why;
	served *s;
	enum MHD_Result ret;

	if (r->route == TP_ROUTE_LIVE)
		return ok(h, c, r, "{\"status\":\"live\"}");
	/* Not an error of the client's: the answer a load balancer reads. */
	if (!ready(h, &why)) {
		char *body = NULL;
		if (asprintf(&body, "{\"status\":\"not ready\",\"reason\":"
		    "\"%s\"}", why) < 0)
			return MHD_NO;
		return respond(h, c, r, MHD_HTTP_SERVICE_UNAVAILABLE, body, NULL,
		    NULL, NULL);
	}
	s = acquire(h);
	ret = ok(h, c, r, "{\"status\":\"ready\",\"database\":%s,\"model\":%s}",
	    h->o->db == NULL ? "null" : atomic_load(&h->db_ok) ? "\"connected\"" :
	    "\"away\"", s->card.model);
	release(h, s);
	return ret;
}

static enum MHD_Result
metrics(tp_http *h, struct MHD_Connection *c, request *r)
{
	served *s = acquire(h);
	tp_metrics_state st = {
		.model_name = s->card.name, .model_sha256 = s->p.vm.meta.sha256,
		.model_version = s->p.vm.version.version,
		.logging = h->o->log != NULL,
		.log_queue = atomic_load(&h->queued_rows),
		.logged = atomic_load(&h->logged),
		.spooled = atomic_load(&h->spooled),
		.replayed = atomic_load(&h->replayed),
		.lost = atomic_load(&h->lost) + atomic_load(&h->unqueued),
		.reloads = atomic_load(&h->reloads),
		.reload_failures = atomic_load(&h->reload_failures),
		.connections = atomic_load(&h->connections),
	};
	char *text;

	/* The request being answered is counted with the others. */
	text = tp_metrics_render(&h->metrics, &st);
	release(h, s);
	if (text == NULL)
		return MHD_NO;
	return respond(h, c, r, MHD_HTTP_OK, text,
	    "text/plain; version=0.0.4; charset=utf-8", NULL, NULL);
}

static enum MHD_Result
model(tp_http *h, struct MHD_Connection *c, request *r)
{
	served *s = acquire(h);
	enum MHD_Result ret = ok(h, c, r, "%s", s->card.card);

	release(h, s);
	return ret;
}

/* Routing and access. */

static const struct {
	const char *path;
	enum tp_route route;
	const char *method;         /* the one it takes */
	tp_endpoint access;
} routes[] = {
	{"/v1/predict", TP_ROUTE_PREDICT, "POST", TP_ENDPOINT_PREDICT},
	{"/v1/model", TP_ROUTE_MODEL, "GET", TP_ENDPOINT_PREDICT},
	{"/v1/reload", TP_ROUTE_RELOAD, "POST", TP_ENDPOINT_ADMIN},
	{"/health/live", TP_ROUTE_LIVE, "GET", TP_ENDPOINT_OPEN},
	{"/health/ready", TP_ROUTE_READY, "GET", TP_ENDPOINT_OPEN},
	{"/metrics", TP_ROUTE_METRICS, "GET", TP_ENDPOINT_OPEN},
	{"/openapi.json", TP_ROUTE_OPENAPI, "GET", TP_ENDPOINT_OPEN},
};
enum { NROUTES = sizeof(routes) / sizeof(routes[0]) };

/* The request's id: the client's, when it is 1 to 128 printable ASCII
 * characters without a space (and so safe in a header and in JSON but for
 * '"' and '\\', which are refused too), else 32 hex digits of random. */
static void
request_id(struct MHD_Connection *c, char *out)
{
	const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Request-Id");
	unsigned char bytes[16];
	size_t n = given != NULL ? strlen(given) : 0;
	int good = n >= 1 && n <= 128;

	for (size_t i = 0; good && i < n; i++)
		good = given[i] > ' ' && given[i] < 127 && given[i] != '"' &&
		    given[i] != '\\';
	if (good) {
		memcpy(out, given, n + 1);
		return;
	}
	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
		/* Never short for 16 bytes once the pool is ready; the time
		 * and a counter keep ids apart if it were. */
		static atomic_uint_fast64_t count;
		uint64_t t = (uint64_t)(tp_clock() * 1e9), k = atomic_fetch_add(
		    &count, 1);
		memcpy(bytes, &t, 8);
		memcpy(bytes + 8, &k, 8);
	}
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

/* The client's address as text, the rate limit's key without a token. */
static void
client_address(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(out, size, "unknown");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)size);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    out, (socklen_t)size);
}

/* Whether a Content-Type is JSON's (or absent: curl -d sends a form's
 * type by default, which is refused, but a client that sends none means
 * the body as it is). */
static int
json_type(const char *type)
{
	size_t n = strlen("application/json");

	return type == NULL || (strncasecmp(type, "application/json", n) == 0 &&
	    (type[n] == '\0' || type[n] == ';' || type[n] == ' '));
}

/* The query's explain, counted and kept. */
typedef struct {
	int n;
	const char *value;
} explain_arg;

static enum MHD_Result
find_explain(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	explain_arg *a = cls;

	(void)kind;
	if (strcmp(key, "explain") == 0) {
		a->n++;
		a->value = value;
	}
	return MHD_YES;
}

/* The reasons that the query asks each application's answer to give
 * (?explain=k) into r->explain, 0 without it; TP_EUSAGE with why in msg
 * when it is not a whole number from 1 to the server's most. Other
 * parameters are no concern of the server's. */
static int
explain_param(const tp_http *h, struct MHD_Connection *c, request *r,
    char *msg, size_t size)
{
	explain_arg a = {0};
	const char *v;
	long k = 0;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, find_explain, &a);
	if (a.n == 0)
		return TP_OK;
	v = a.value != NULL ? a.value : "";
	if (a.n > 1) {
		snprintf(msg, size, "explain is given %d times: give it once",
		    a.n);
		return TP_EUSAGE;
	}
	if (h->o->why.k == 0) {
		snprintf(msg, size, "explain: this server gives no reasons "
		    "(it runs with --max-explain 0)");
		return TP_EUSAGE;
	}
	if (*v != '\0' && strlen(v) <= 3 && strspn(v, "0123456789") ==
	    strlen(v))
		k = strtol(v, NULL, 10);
	if (k < 1 || k > h->o->why.k) {
		snprintf(msg, size, "explain: give the reasons wanted for each "
		    "application, a whole number from 1 to %d%s", h->o->why.k,
		    h->o->why.k < TP_WHY_MAX_K ? " (the server's --max-explain)" :
		    "");
		return TP_EUSAGE;
	}
	r->explain = (int)k;
	return TP_OK;
}

/* What can be decided from the headers: the route, the method, access,
 * the rate, the body's type and announced size, and the query. MHD_YES
 * with nothing queued to read the body and go on. */
static enum MHD_Result
admit(tp_http *h, struct MHD_Connection *c, request *r, const char *url,
    const char *method)
{
	const tp_access_token *who = NULL;
	char key[INET6_ADDRSTRLEN + TP_ACCESS_NAME_MAX + 8], retry[24];
	char msg[160];
	const char *length;
	int i, status;

	for (i = 0; i < NROUTES && strcmp(url, routes[i].path) != 0; i++)
		;
	if (i == NROUTES)
		return fail(h, c, r, MHD_HTTP_NOT_FOUND, "not_found",
		    "no such endpoint", NULL, -1, NULL, NULL);
	r->route = routes[i].route;
	if (strcmp(method, routes[i].method) != 0 &&
	    !(strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
		return fail(h, c, r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method_not_allowed", "the endpoint takes another method",
		    NULL, -1, MHD_HTTP_HEADER_ALLOW, routes[i].method);
	status = tp_access_check(h->o->tokens, h->o->require_token,
	    routes[i].access, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION), &who);
	if (status == 401)
		return fail(h, c, r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		    "a valid bearer token is needed", NULL, -1,
		    MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tabpipe\"");
	if (status == 403)
		return fail(h, c, r, MHD_HTTP_FORBIDDEN, "forbidden",
		    h->o->tokens == NULL ? "the server has no tokens file, so no "
		    "admin token" : "the token's role may not call this endpoint",
		    NULL, -1, NULL, NULL);
	if (h->o->rate != NULL && routes[i].access != TP_ENDPOINT_OPEN) {
		long wait;
		if (who != NULL)
			snprintf(key, sizeof(key), "token:%s", who->name);
		else
			client_address(c, key, sizeof(key));
		if ((wait = tp_ratelimit_allow(h->o->rate, key, tp_clock())) > 0) {
			snprintf(retry, sizeof(retry), "%ld", wait);
			return fail(h, c, r, MHD_HTTP_TOO_MANY_REQUESTS,
			    "rate_limited", "too many requests: try again later",
			    NULL, -1, MHD_HTTP_HEADER_RETRY_AFTER, retry);
		}
	}
	if (r->route == TP_ROUTE_PREDICT) {
		if (!json_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_TYPE)))
			return fail(h, c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			    "unsupported_media_type", "the body must be "
			    "application/json", NULL, -1, NULL, NULL);
		if (explain_param(h, c, r, msg, sizeof(msg)) != TP_OK)
			return fail(h, c, r, MHD_HTTP_BAD_REQUEST, "bad_value", msg,
			    "explain", -1, NULL, NULL);
		length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (length != NULL && strtoull(length, NULL, 10) > h->o->max_body)
			r->too_large = 1;
	}
	return MHD_YES;
}

static enum MHD_Result
too_large(tp_http *h, struct MHD_Connection *c, request *r)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "the body is longer than %zu bytes",
	    h->o->max_body);
	return fail(h, c, r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", msg, NULL,
	    -1, NULL, NULL);
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	tp_http *h = cls;
	request *r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&h->inflight, 1);
		r->start = tp_clock();
		r->route = TP_ROUTE_OTHER;
		request_id(c, r->request_id);
		enum MHD_Result ret = admit(h, c, r, url, method);
		/* A body announced too long is refused before it is read. */
		if (r->answered || ret == MHD_NO)
			return ret;
		if (r->too_large)
			return too_large(h, c, r);
		return MHD_YES;
	}
	if (r->answered) {
		/* The rest of a body that was answered early is dropped. */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->too_large || r->len + n > h->o->max_body) {
			r->too_large = 1;
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			size_t cap = r->cap ? r->cap : 4096;
			while (cap < r->len + n + 1)
				cap *= 2;
			char *nb = realloc(r->body, cap);
			if (nb == NULL)
				return MHD_NO;
			r->body = nb;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	if (r->too_large)
		return too_large(h, c, r);
	switch (r->route) {
	case TP_ROUTE_PREDICT:
		return predict(h, c, r);
	case TP_ROUTE_MODEL:
		return model(h, c, r);
	case TP_ROUTE_RELOAD:
		return reload(h, c, r);
	case TP_ROUTE_METRICS:
		return metrics(h, c, r);
	case TP_ROUTE_OPENAPI:
		return respond(h, c, r, MHD_HTTP_OK, strdup(tp_http_openapi),
		    NULL, NULL, NULL);
	default:
		return health(h, c, r);
	}
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	tp_http *h = cls;
	request *r = *con_cls;

	(void)c;
	(void)why;
	if (r == NULL)
		return;
	free(r->body);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&h->inflight, 1);
}

static void
connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode what)
{
	tp_http *h = cls;

	(void)c;
	(void)socket_ctx;
	if (what == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&h->connections, 1);
	else
		atomic_fetch_sub(&h->connections, 1);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	tp_http *h = cls;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	tp_notef(h->o->note, h->o->ctx, 0, "http: %s", msg);
}

/* The control thread. */

/* Sends the queued predictions to the log. */
static void
drain_queue(tp_http *h)
{
	queued *q;
	size_t n;
	tp_err e = {0};

	pthread_mutex_lock(&h->cmu);
	q = h->queue;
	n = h->nqueue;
	h->queue = NULL;
	h->nqueue = h->capqueue = 0;
	pthread_mutex_unlock(&h->cmu);
	atomic_store(&h->queued_rows, 0);
	for (size_t i = 0; i < n; i++) {
		tp_prediction p = {.model_sha256 = q[i].sha256,
		    .model_version = q[i].version, .id = q[i].id,
		    .prob = q[i].prob, .label = q[i].label,
		    .features = q[i].features, .request_id = q[i].request_id,
		    .request_item = q[i].item, .latency = q[i].latency};
		/* The answer has gone: a log that cannot be sent is said
		 * and the serving goes on. */
		if (tp_predlog_add(h->o->log, &p, &e) != TP_OK)
			relay(h, 1, e.msg);
		free(q[i].features);
		free(q[i].request_id);
	}
	free(q);
}

/* Does the reloads asked so far, as one. */
static void
reloads(tp_http *h)
{
	const char *why;
	uint64_t asked;
	tp_err e = {0};
	int rc;

	pthread_mutex_lock(&h->cmu);
	asked = h->reloads_asked;
	why = h->reload_why;
	pthread_mutex_unlock(&h->cmu);
	if (asked == h->reloads_done)
		return;
	rc = tp_follow_reload(&h->follow, why, &e);
	pthread_mutex_lock(&h->cmu);
	h->reloads_done = asked;
	h->reload_rc = rc;
	snprintf(h->reload_msg, sizeof(h->reload_msg), "%s", e.msg);
	pthread_cond_broadcast(&h->reloaded);
	pthread_mutex_unlock(&h->cmu);
}

/* What the follower and the log have done, for /metrics, and whether
 * the database is there, for /health/ready. */
static void
observe_log(tp_http *h)
{
	const tp_predlog *l = h->o->log;

	atomic_store(&h->reloads, h->follow.reloads);
	atomic_store(&h->reload_failures, h->follow.reload_failures);

	if (h->o->db != NULL)
		atomic_store(&h->db_ok, PQstatus(h->o->db->conn) == CONNECTION_OK);
	if (l == NULL)
		return;
	atomic_store(&h->logged, l->logged);
	atomic_store(&h->spooled, l->spooled);
	atomic_store(&h->replayed, l->replayed);
	atomic_store(&h->lost, l->lost);
}

static void *
control(void *arg)
{
	tp_http *h = arg;
	int stopping = 0, fd_ready = 0;

	while (!stopping) {
		struct pollfd fds[2] = {{.fd = h->wake, .events = POLLIN},
		    {.fd = tp_follow_fd(&h->follow), .events = POLLIN}};
		/* The queue is sent at least this often, and the log looked
		 * at. */
		double wait = tp_follow_wait(&h->follow, tp_clock());
		if (wait < 0 || wait > 0.5)
			wait = 0.5;
		struct timespec ts = {(time_t)wait,
		    (long)((wait - floor(wait)) * 1e9)};
		uint64_t count;

		if (ppoll(fds, 2, &ts, NULL) > 0) {
			if (fds[0].revents != 0 &&
			    read(h->wake, &count, sizeof(count)) < 0)
				(void)0; /* woken by another, already read */
			fd_ready = fds[1].revents != 0;
		}
		pthread_mutex_lock(&h->cmu);
		stopping = h->stopping;
		pthread_mutex_unlock(&h->cmu);
		if (h->o->log != NULL)
			drain_queue(h);
		reloads(h);
		tp_follow_step(&h->follow, fd_ready);
		fd_ready = 0;
		observe_log(h);
	}
	return NULL;
}

/* Sockets. */

int
tp_http_listen(const char *addr, int *fd, char *url, size_t urlsize,
    tp_err *e)
{
	const char *colon = strrchr(addr, ':');
	char host[256], port[16], shown[INET6_ADDRSTRLEN];
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	size_t hlen;
	int s = -1, one = 1, rc;

	*fd = -1;
	if (colon == NULL || colon == addr || colon[1] == '\0' ||
	    strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return tp_err_set(e, TP_EUSAGE, "--listen %s: give ADDRESS:PORT, "
		    "such as 127.0.0.1:8080 or [::1]:8080", addr);
	hlen = (size_t)(colon - addr);
	/* [::1] is IPv6's way to keep the colons apart from the port's. */
	if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') {
		addr++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return tp_err_set(e, TP_EUSAGE, "--listen: the address is too long");
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		return tp_err_set(e, TP_EUSAGE, "--listen %s: %s", host,
		    gai_strerror(rc));
	if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ai->ai_family == AF_INET6 && setsockopt(s, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, 1024) < 0 ||
	    getsockname(s, (struct sockaddr *)&bound, &blen) < 0) {
		rc = tp_err_set(e, TP_EUNAVAILABLE, "--listen %s:%s: %s", host,
		    port, strerror(errno));
		if (s >= 0)
			close(s);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	if (bound.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&bound;
		inet_ntop(AF_INET6, &a->sin6_addr, shown, sizeof(shown));
		snprintf(url, urlsize, "http://[%s]:%u", shown,
		    (unsigned)ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&bound;
		inet_ntop(AF_INET, &a->sin_addr, shown, sizeof(shown));
		snprintf(url, urlsize, "http://%s:%u", shown,
		    (unsigned)ntohs(a->sin_port));
	}
	*fd = s;
	return TP_OK;
}

int
tp_http_activated(int **fds, int *n, tp_err *e)
{
	const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
	char *end;
	long k;

	*fds = NULL;
	*n = 0;
	/* The sockets are this process's only when systemd started it, not
	 * a parent that was given them. */
	if (pid == NULL || count == NULL ||
	    strtol(pid, NULL, 10) != (long)getpid())
		return TP_OK;
	k = strtol(count, &end, 10);
	if (*end != '\0' || k < 1 || k > 64)
		return tp_err_set(e, TP_EUSAGE, "LISTEN_FDS=%s: not a count of "
		    "sockets", count);
	if ((*fds = calloc((size_t)k, sizeof(int))) == NULL)
		return tp_err_nomem(e, "the sockets");
	for (int i = 0; i < k; i++)
		(*fds)[i] = 3 + i;
	*n = (int)k;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return TP_OK;
}

/* Starting and stopping. */

static int
start_daemon(tp_http *h, int fd, tp_err *e)
{
	const tp_http_opts *o = h->o;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_Daemon *d;

	if (o->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return tp_err_set(e, TP_EUNAVAILABLE, "TLS: this build "
			    "of libmicrohttpd has no TLS");
		flags |= MHD_USE_TLS;
	}
	/* The logger first, so that the other options' messages go to it. */
	d = MHD_start_daemon(flags, 0, NULL, NULL, answer, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
	    MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, o->timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)TP_HTTP_HEADER_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, connection, h,
	    MHD_OPTION_ARRAY, o->tls_cert != NULL ? tls : tls + 2,
	    MHD_OPTION_END);
	if (d == NULL)
		return tp_err_set(e, TP_EUNAVAILABLE, "the HTTP server could not "
		    "start (see the messages above)");
	h->daemons[h->ndaemons++] = d;
	return TP_OK;
}

int
tp_http_start(tp_http **out, const tp_http_opts *o, tp_predictor *p,
    tp_err *e)
{
	tp_http *h = calloc(1, sizeof(*h));
	tp_predictor first = *p;
	int rc;

	memset(p, 0, sizeof(*p));
	*out = NULL;
	if (h == NULL) {
		tp_predictor_free(&first);
		return tp_err_nomem(e, "the server");
	}
	h->o = o;
	h->wake = -1;
	tp_metrics_init(&h->metrics);
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->cmu, NULL);
	pthread_cond_init(&h->reloaded, NULL);
	/* Reloads keep what reasons need, and give none themselves: the
	 * pool's threads do, each with its copy. */
	h->follow = (tp_follow){.db = o->db, .ref = o->ref,
	    .nthreads = 1, .why = o->why.k > 0 ? &tp_why_load : NULL,
	    .log = o->log, .install = install, .note = relay, .ctx = h};
	/* The first model serves before the follower listens, which may
	 * find a newer one at once. */
	if ((rc = install_model(h, &first, 1, e)) != TP_OK ||
	    (rc = tp_follow_start(&h->follow, &h->current->p, e)) != TP_OK)
		goto fail;
	h->key_made = pthread_key_create(&h->scorer_key, scorer_free) == 0;
	if (!h->key_made ||
	    (h->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (h->daemons = calloc((size_t)o->nfds, sizeof(*h->daemons))) ==
	    NULL) {
		rc = tp_err_set(e, TP_EINTERNAL, "the server: %s", strerror(errno));
		goto fail;
	}
	observe_log(h);
	if (pthread_create(&h->control, NULL, control, h) != 0) {
		rc = tp_err_set(e, TP_EINTERNAL, "the control thread: %s",
		    strerror(errno));
		goto fail;
	}
	h->control_started = 1;
	for (int i = 0; i < o->nfds; i++)
		if ((rc = start_daemon(h, o->fds[i], e)) != TP_OK) {
			tp_http_stop(h, 0, NULL);
			return rc;
		}
	*out = h;
	return TP_OK;
fail:
	tp_http_stop(h, 0, NULL);
	return rc;
}

void
tp_http_stop(tp_http *h, double grace, tp_http_counts *c)
{
	double until = tp_clock() + grace;

	if (h == NULL)
		return;
	atomic_store(&h->draining, 1);
	/* No new connection: the sockets are closed, so that a client is
	 * refused at once rather than left waiting in the backlog. */
	for (int i = 0; i < h->ndaemons; i++) {
		MHD_socket s = MHD_quiesce_daemon(h->daemons[i]);
		if (s != MHD_INVALID_SOCKET)
			close(s);
	}
	while (atomic_load(&h->inflight) > 0 && tp_clock() < until) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < h->ndaemons; i++)
		MHD_stop_daemon(h->daemons[i]);
	if (h->control_started) {
		uint64_t one = 1;
		pthread_mutex_lock(&h->cmu);
		h->stopping = 1;
		pthread_cond_broadcast(&h->reloaded);
		pthread_mutex_unlock(&h->cmu);
		if (write(h->wake, &one, sizeof(one)) < 0)
			(void)0; /* a full counter wakes it all the same */
		pthread_join(h->control, NULL);
	}
	/* What the last requests queued, then the log's last send. */
	if (h->o->log != NULL)
		drain_queue(h);
	tp_follow_finish(&h->follow);
	observe_log(h);
	if (c != NULL) {
		c->requests = atomic_load(&h->requests);
		c->errors = atomic_load(&h->errors);
		c->rows = atomic_load(&h->metrics.rows);
		c->explained = atomic_load(&h->explained);
		c->unqueued = atomic_load(&h->unqueued);
		c->reloads = h->follow.reloads;
		c->reload_failures = h->follow.reload_failures;
	}
	if (h->current != NULL)
		release(h, h->current);
	if (h->key_made)
		pthread_key_delete(h->scorer_key);
	if (h->wake >= 0)
		close(h->wake);
	free(h->daemons);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->cmu);
	pthread_cond_destroy(&h->reloaded);
	free(h);
}
