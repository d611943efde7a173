/*
 * http: the model over HTTP/1.1, on GNU libmicrohttpd (tabpipe-serve(1)).
 *
 * POST /v1/predict scores one application or a batch under the serving
 * contract (lib/data/request.h), and with ?explain=k gives each the k
 * reasons of its score (lib/serve/why.h); GET /v1/model gives the
 * model's card (lib/serve/card.h); POST /v1/reload loads the model again;
 * /health/live, /health/ready, /metrics (lib/serve/httpstats.h) and
 * /openapi.json say how the server is. Access is the tokens' and the rate limit's
 * (lib/serve/access.h). Every answer is JSON, errors too, with the field
 * and the batch's item they concern, and carries X-Request-Id.
 *
 * Threads. Each listening socket has a libmicrohttpd daemon with a pool
 * of threads that read, score and answer; each thread scores with a copy
 * of the model of its own (tp_model_copy), made again when the model has
 * been reloaded, since a model's activations are its threads', and
 * explains with that copy, planned by the first request that asks for
 * reasons. One control thread owns the database's connection: it loads
 * the model again (lib/serve/follow.h), on SIGHUP, on an admin's request
 * and on a promotion, and sends the predictions that the pool's threads
 * queue to the prediction log, which spools them while the database is
 * away.
 *
 * Reasons. A model is loaded for scoring alone; when the server gives
 * reasons (o->why.k > 0), what they need besides, the reference profile
 * and reason texts of the model's file (lib/model/modelfile.h), is read
 * from the same bytes each time a model is installed, and the texts of
 * o->why.reasons replace the model's. A model whose file has no reference
 * profile serves, and its requests for reasons are answered 409.
 *
 * A reload swaps the model whole: a request takes a reference to the
 * model serving when it starts scoring and keeps it to the end, so that
 * it is scored and answered by one version, and the old model is freed by
 * the last request that holds it.
 *
 * Stopping drains: the sockets stop listening (closed, so that a new
 * connection is refused), the requests in flight are answered, then the
 * connections close and the log is sent or spooled.
 */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"
#include "db/predlog.h"
#include "serve/access.h"
#include "serve/predict.h"
#include "serve/why.h"

typedef struct {
	const char *ref;            /* the model as given: file or reference */
	tp_db *db;                  /* NULL without a database */
	tp_predlog *log;            /* where predictions go, or NULL */
	int threads;                /* scoring threads of each socket */
	size_t max_batch;           /* applications in one request */
	size_t max_body;            /* bytes of a request's body */
	unsigned max_connections;   /* of each socket */
	unsigned timeout;           /* seconds a connection may stay idle */
	const tp_access_tokens *tokens; /* NULL: no tokens file */
	int require_token;          /* predictions need a token too */
	tp_ratelimit *rate;         /* NULL: no limit */
	tp_why_opts why;            /* explanations: k the most reasons an
	                               application may ask for (0: none),
	                               the quadrature's steps, and reason
	                               texts to give instead of the model's */
	const char *tls_cert;       /* PEM text; NULL: plain HTTP */
	const char *tls_key;
	const int *fds;             /* listening sockets (the server's) */
	int nfds;
	/* Told what happened: reloads, the log's sends, failures of the
	 * connection; failed is set for what went wrong. Called from the
	 * control thread and the library's. May be NULL. */
	tp_note_fn *note;
	void *ctx;
} tp_http_opts;

typedef struct tp_http tp_http;

/* The memory of a connection, which its request's headers must fit. */
enum { TP_HTTP_HEADER_MEMORY = 64 * 1024 };

/* The OpenAPI document of the endpoints, lib/serve/openapi.json as built
 * in, which GET /openapi.json answers. */
extern const char tp_http_openapi[];

typedef struct {
	uint64_t requests;          /* answered */
	uint64_t errors;            /* of which with a status of 400 or more */
	uint64_t rows;              /* applications scored */
	uint64_t explained;         /* of which explained */
	uint64_t unqueued;          /* predictions lost before the log, for
	                               want of memory */
	uint64_t reloads, reload_failures;
} tp_http_counts;

/* Listens on addr, "HOST:PORT" or "[V6]:PORT" (port 0: any free one):
 * *fd gets the socket, url its address as "http://HOST:PORT" with the
 * port bound. */
int tp_http_listen(const char *addr, int *fd, char *url, size_t urlsize,
    tp_err *e);
/* The sockets systemd passed (LISTEN_PID and LISTEN_FDS, from descriptor
 * 3): *n of them, 0 when none were. The variables are then unset. */
int tp_http_activated(int **fds, int *n, tp_err *e);

/* Serves p (taken, freed by tp_http_stop), loaded from o->ref, on o's
 * sockets, which h takes too. o must outlive h. A reason-code file
 * (o->why.reasons) that cannot be read or does not fit p is an error
 * here. */
int tp_http_start(tp_http **h, const tp_http_opts *o, tp_predictor *p,
    tp_err *e);
/* Asks the control thread to load the model again ("SIGHUP"): safe from
 * any thread but a signal handler. */
void tp_http_reload(tp_http *h);
/* Drains and stops (see above), waiting at most grace seconds for the
 * requests in flight, finishes the log, and frees h; c gets the counts. */
void tp_http_stop(tp_http *h, double grace, tp_http_counts *c);

#endif
