#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>

#include "serve/httpstats.h"

const char *const tp_route_paths[TP_NROUTES] = {
	"/v1/predict", "/v1/model", "/v1/reload", "/health/live",
	"/health/ready", "/metrics", "/openapi.json", "other",
};

const int tp_metric_statuses[TP_NSTATUSES] = {
	200, 400, 401, 403, 404, 405, 408, 413, 415, 429, 500, 501, 503,
};

/* From a tenth of a millisecond, about a scored row, to seconds. */
const double tp_metric_buckets[TP_NBUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5,
};

void
tp_metrics_init(tp_metrics *m)
{
	for (int ep = 0; ep < TP_NROUTES; ep++) {
		for (int s = 0; s <= TP_NSTATUSES; s++)
			atomic_init(&m->requests[ep][s], 0);
		for (int b = 0; b <= TP_NBUCKETS; b++)
			atomic_init(&m->latency[ep][b], 0);
		atomic_init(&m->latency_ns[ep], 0);
	}
	atomic_init(&m->rows, 0);
	atomic_init(&m->unseen, 0);
}

void
tp_metrics_observe(tp_metrics *m, enum tp_route ep, int status,
    double seconds)
{
	int s = 0, b = 0;

	while (s < TP_NSTATUSES && tp_metric_statuses[s] != status)
		s++;
	/* Each observation is counted in its own bucket; the rendering
	 * adds them up, as the format's buckets are cumulative. */
	while (b < TP_NBUCKETS && seconds > tp_metric_buckets[b])
		b++;
	atomic_fetch_add_explicit(&m->requests[ep][s], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency[ep][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_ns[ep],
	    (uint_fast64_t)(seconds * 1e9), memory_order_relaxed);
}

static uint64_t
get(atomic_uint_fast64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/* A label's value as the format escapes it. */
static void
label(FILE *f, const char *v)
{
	for (; v != NULL && *v != '\0'; v++)
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
}

static void
metric(FILE *f, const char *name, const char *type, const char *help,
    uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name,
	    type, name, (unsigned long long)v);
}

static void
requests(FILE *f, tp_metrics *m)
{
	fputs("# HELP tabpipe_http_requests_total HTTP requests answered, by "
	    "endpoint and status.\n# TYPE tabpipe_http_requests_total counter\n",
	    f);
	for (int ep = 0; ep < TP_NROUTES; ep++)
		for (int s = 0; s <= TP_NSTATUSES; s++) {
			uint64_t n = get(&m->requests[ep][s]);
			/* A status never answered is left out, but for the
			 * successes, which a dashboard expects to find. */
			if (n == 0 && s != 0)
				continue;
			fprintf(f, "tabpipe_http_requests_total{endpoint=\"%s\","
			    "status=\"", tp_route_paths[ep]);
			if (s < TP_NSTATUSES)
				fprintf(f, "%d", tp_metric_statuses[s]);
			else
				fputs("other", f);
			fprintf(f, "\"} %llu\n", (unsigned long long)n);
		}
}

static void
latency(FILE *f, tp_metrics *m)
{
	fputs("# HELP tabpipe_http_request_duration_seconds Time from a "
	    "request's headers to its answer, by endpoint.\n"
	    "# TYPE tabpipe_http_request_duration_seconds histogram\n", f);
	for (int ep = 0; ep < TP_NROUTES; ep++) {
		const char *path = tp_route_paths[ep];
		uint64_t total = 0;
		for (int b = 0; b <= TP_NBUCKETS; b++) {
			total += get(&m->latency[ep][b]);
			if (b < TP_NBUCKETS)
				fprintf(f, "tabpipe_http_request_duration_seconds_"
				    "bucket{endpoint=\"%s\",le=\"%g\"} %llu\n", path,
				    tp_metric_buckets[b], (unsigned long long)total);
		}
		fprintf(f, "tabpipe_http_request_duration_seconds_bucket{"
		    "endpoint=\"%s\",le=\"+Inf\"} %llu\n", path,
		    (unsigned long long)total);
		fprintf(f, "tabpipe_http_request_duration_seconds_sum{"
		    "endpoint=\"%s\"} %.9f\n", path,
		    (double)get(&m->latency_ns[ep]) / 1e9);
		fprintf(f, "tabpipe_http_request_duration_seconds_count{"
		    "endpoint=\"%s\"} %llu\n", path, (unsigned long long)total);
	}
}

char *
tp_metrics_render(tp_metrics *m, const tp_metrics_state *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	requests(f, m);
	latency(f, m);
	metric(f, "tabpipe_rows_scored_total", "counter",
	    "Applications scored.", get(&m->rows));
	metric(f, "tabpipe_unseen_categories_total", "counter",
	    "Categorical values not in the model's vocabulary, scored as "
	    "unseen.", get(&m->unseen));
	fputs("# HELP tabpipe_model_info The model serving.\n"
	    "# TYPE tabpipe_model_info gauge\ntabpipe_model_info{name=\"", f);
	label(f, s->model_name);
	fputs("\",version=\"", f);
	if (s->model_version > 0)
		fprintf(f, "%d", s->model_version);
	fputs("\",sha256=\"", f);
	label(f, s->model_sha256);
	fputs("\"} 1\n", f);
	metric(f, "tabpipe_reloads_total", "counter",
	    "Models loaded after the first.", s->reloads);
	metric(f, "tabpipe_reload_failures_total", "counter",
	    "Reloads that failed, leaving the model serving.",
	    s->reload_failures);
	metric(f, "tabpipe_http_connections", "gauge",
	    "Connections open.", s->connections);
	if (s->logging) {
		metric(f, "tabpipe_predlog_queue_rows", "gauge",
		    "Predictions waiting for the log's thread.", s->log_queue);
		metric(f, "tabpipe_predlog_logged_rows_total", "counter",
		    "Predictions sent to the database.", s->logged);
		metric(f, "tabpipe_predlog_spooled_rows_total", "counter",
		    "Predictions put in the spool while the database was away.",
		    s->spooled);
		metric(f, "tabpipe_predlog_replayed_rows_total", "counter",
		    "Predictions sent from the spool.", s->replayed);
		metric(f, "tabpipe_predlog_lost_rows_total", "counter",
		    "Predictions that could be neither sent nor spooled.",
		    s->lost);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
