/*
 * httpstats: what an HTTP server counts, in Prometheus's text format (0.0.4).
 *
 * Requests by endpoint and status, and a histogram of their latency by
 * endpoint; the rows scored and the categorical values not in a model's
 * vocabulary. The counters are atomics, so that the server's threads add
 * to them without a lock; a scrape reads each on its own, so the numbers
 * of one scrape may be a request apart, as Prometheus allows. What the
 * server knows of itself at the time of a scrape (its model, reloads, the
 * prediction log) is given to the rendering.
 */
#ifndef TP_HTTPSTATS_H
#define TP_HTTPSTATS_H

#include <stdatomic.h>
#include <stdint.h>

/* The endpoints, as the label "endpoint" names them: routes. */
enum tp_route {
	TP_ROUTE_PREDICT, TP_ROUTE_MODEL, TP_ROUTE_RELOAD, TP_ROUTE_LIVE, TP_ROUTE_READY,
	TP_ROUTE_METRICS, TP_ROUTE_OPENAPI, TP_ROUTE_OTHER, TP_NROUTES
};
extern const char *const tp_route_paths[TP_NROUTES];

/* The statuses the server answers, each counted apart; any other is
 * counted as "other". */
enum { TP_NSTATUSES = 13, TP_NBUCKETS = 14 };
extern const int tp_metric_statuses[TP_NSTATUSES];
/* The histogram's upper bounds, in seconds. */
extern const double tp_metric_buckets[TP_NBUCKETS];

typedef struct {
	atomic_uint_fast64_t requests[TP_NROUTES][TP_NSTATUSES + 1];
	atomic_uint_fast64_t latency[TP_NROUTES][TP_NBUCKETS + 1];
	atomic_uint_fast64_t latency_ns[TP_NROUTES]; /* their sum */
	atomic_uint_fast64_t rows;       /* applications scored */
	atomic_uint_fast64_t unseen;     /* categorical values not in the
	                                    vocabulary */
} tp_metrics;

/* What the server says of itself at a scrape. */
typedef struct {
	const char *model_name, *model_sha256;
	int model_version;      /* 0: none */
	uint64_t reloads, reload_failures;
	int logging;            /* there is a prediction log: */
	uint64_t log_queue;     /* rows waiting for the log's thread */
	uint64_t logged, spooled, replayed, lost;
	uint64_t connections;   /* open now */
} tp_metrics_state;

void tp_metrics_init(tp_metrics *m);
/* One request answered with status after seconds. */
void tp_metrics_observe(tp_metrics *m, enum tp_route ep, int status,
    double seconds);
/* The exposition, to free; NULL on no memory. */
char *tp_metrics_render(tp_metrics *m, const tp_metrics_state *s);

#endif
