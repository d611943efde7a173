/*
 * test_httpstats: counts by endpoint and status (a status not in the table
 * as "other"), cumulative buckets whose +Inf is the count, the sum of the
 * latencies, the model's labels escaped, and the log's metrics only when
 * there is a log.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "serve/httpstats.h"
#include "suites.h"

static void
has(const char *text, const char *line)
{
	ck_assert_msg(strstr(text, line) != NULL, "no \"%s\" in:\n%s", line,
	    text);
}

START_TEST(test_metrics_render)
{
	tp_metrics m;
	tp_metrics_state st = {.model_name = "lo\"ans\\\n", .model_sha256 = "ab",
	    .model_version = 3, .reloads = 2, .connections = 4};
	char *text;

	tp_metrics_init(&m);
	tp_metrics_observe(&m, TP_ROUTE_PREDICT, 200, 0.0002);
	tp_metrics_observe(&m, TP_ROUTE_PREDICT, 200, 0.003);
	tp_metrics_observe(&m, TP_ROUTE_PREDICT, 400, 10);
	tp_metrics_observe(&m, TP_ROUTE_OTHER, 418, 0.0001);
	atomic_fetch_add(&m.rows, 101);
	text = tp_metrics_render(&m, &st);
	ck_assert_ptr_nonnull(text);
	has(text, "# TYPE tabpipe_http_requests_total counter\n");
	has(text, "\ntabpipe_http_requests_total{endpoint=\"/v1/predict\","
	    "status=\"200\"} 2\n");
	has(text, "{endpoint=\"/v1/predict\",status=\"400\"} 1\n");
	has(text, "{endpoint=\"other\",status=\"other\"} 1\n");
	/* A status never answered is not listed, but for 200. */
	ck_assert_ptr_null(strstr(text, "status=\"413\""));
	has(text, "{endpoint=\"/metrics\",status=\"200\"} 0\n");
	/* Cumulative: 0.0002 is in le=0.00025 and above, 0.003 from 0.005,
	 * 10 s only in +Inf. */
	has(text, "_bucket{endpoint=\"/v1/predict\",le=\"0.0001\"} 0\n");
	has(text, "_bucket{endpoint=\"/v1/predict\",le=\"0.00025\"} 1\n");
	has(text, "_bucket{endpoint=\"/v1/predict\",le=\"0.0025\"} 1\n");
	has(text, "_bucket{endpoint=\"/v1/predict\",le=\"0.005\"} 2\n");
	has(text, "_bucket{endpoint=\"/v1/predict\",le=\"2.5\"} 2\n");
	has(text, "_bucket{endpoint=\"/v1/predict\",le=\"+Inf\"} 3\n");
	has(text, "_count{endpoint=\"/v1/predict\"} 3\n");
	has(text, "_sum{endpoint=\"/v1/predict\"} 10.0032");
	has(text, "\ntabpipe_rows_scored_total 101\n");
	has(text, "\ntabpipe_model_info{name=\"lo\\\"ans\\\\\\n\",version=\"3\","
	    "sha256=\"ab\"} 1\n");
	has(text, "\ntabpipe_reloads_total 2\n");
	has(text, "\ntabpipe_http_connections 4\n");
	ck_assert_ptr_null(strstr(text, "predlog"));
	free(text);

	st.logging = 1;
	st.log_queue = 7;
	st.spooled = 5;
	text = tp_metrics_render(&m, &st);
	has(text, "\ntabpipe_predlog_queue_rows 7\n");
	has(text, "\ntabpipe_predlog_spooled_rows_total 5\n");
	has(text, "\ntabpipe_predlog_lost_rows_total 0\n");
	free(text);
}
END_TEST

Suite *
httpstats_suite(void)
{
	Suite *s = suite_create("httpstats");
	TCase *tc = tcase_create("httpstats");

	tcase_add_test(tc, test_metrics_render);
	suite_add_tcase(s, tc);
	return s;
}
