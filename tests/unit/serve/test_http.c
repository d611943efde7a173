/*
 * test_http: the server in this process, asked over a socket: addresses
 * that --listen refuses, systemd's sockets, an application scored as the
 * model scores its row, a batch, an error that names its field and item,
 * a reload that the next answer shows, reasons refused by a model without
 * a reference profile and given by one with it as tp_why gives them, and
 * the counts at the stop. The
 * end-to-end test (tests/e2e/test_http.sh) asks a real tabpipe-serve with
 * curl for the rest.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "data/request.h"
#include "fixture.h"
#include "model/modelfile.h"
#include "model/score.h"
#include "serve/http.h"
#include "suites.h"

/* The answer to one request (method, path, JSON body or NULL), whole,
 * headers included, to free. */
static char *
ask(int port, const char *method, const char *path, const char *body)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char head[256], *out = NULL;
	size_t len = 0, cap = 0;
	ssize_t got;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", method, path,
	    body != NULL ? strlen(body) : 0);
	ck_assert_int_eq(write(s, head, strlen(head)), (ssize_t)strlen(head));
	if (body != NULL)
		ck_assert_int_eq(write(s, body, strlen(body)),
		    (ssize_t)strlen(body));
	do {
		if (len + 4096 + 1 > cap)
			ck_assert_ptr_nonnull(out = realloc(out, cap += 8192));
		got = read(s, out + len, 4096);
		ck_assert_int_ge(got, 0);
		len += (size_t)got;
	} while (got > 0);
	out[len] = '\0';
	close(s);
	return out;
}

static void
has(const char *text, const char *part)
{
	ck_assert_msg(strstr(text, part) != NULL, "no \"%s\" in:\n%s", part,
	    text);
}

START_TEST(test_http_listen)
{
	static const char *const bad[] = {"localhost", "127.0.0.1:",
	    ":8080", "127.0.0.1:80a", "[::1]:x", "no.such.host.invalid:1"};
	char url[128];
	int fd;
	tp_err e = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tp_http_listen(bad[i], &fd, url, sizeof(url), &e) ==
		    TP_EUSAGE && fd == -1, "%s: %s", bad[i], e.msg);
	ck_assert_msg(tp_http_listen("127.0.0.1:0", &fd, url, sizeof(url), &e) ==
	    TP_OK, "%s", e.msg);
	ck_assert_msg(strncmp(url, "http://127.0.0.1:", 17) == 0 &&
	    atoi(url + 17) > 0, "%s", url);
	close(fd);
}
END_TEST

START_TEST(test_http_activated)
{
	char pid[24];
	int *fds, n;
	tp_err e = {0};

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	ck_assert_int_eq(tp_http_activated(&fds, &n, &e), TP_OK);
	ck_assert_int_eq(n, 0);
	/* Another process's sockets are not this one's. */
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "2", 1);
	ck_assert_int_eq(tp_http_activated(&fds, &n, &e), TP_OK);
	ck_assert_int_eq(n, 0);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	ck_assert_int_eq(tp_http_activated(&fds, &n, &e), TP_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(fds[0], 3);
	ck_assert_int_eq(fds[1], 4);
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	free(fds);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "two", 1);
	ck_assert_int_eq(tp_http_activated(&fds, &n, &e), TP_EUSAGE);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
}
END_TEST

/* The model file at path given the reference profile of b's rows. */
static void
add_reference(const char *path, const tp_encoding *enc, const tp_batch *b)
{
	tp_model m;
	tp_encoding fenc;
	tp_model_meta meta;
	tp_err e = {0};

	ck_assert_msg(tp_model_load(path, &m, &fenc, &meta, TP_WITH_HEAD, 1,
	    &e) == TP_OK, "%s", e.msg);
	ck_assert_msg(tp_reference_fit(&meta.reference, enc, b, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_msg(tp_model_save(path, &m, &fenc, &meta, &e) == TP_OK, "%s",
	    e.msg);
	tp_model_meta_free(&meta);
	tp_encoding_free(&fenc);
	tp_model_free(&m);
}

START_TEST(test_http_serve)
{
	static const char app[] = "{\"id\":7,\"home\":\"own\",\"age\":40}";
	char path[] = "/tmp/tabpipe-http-XXXXXX", url[128], want[96];
	int fd = mkstemp(path), sock;
	tp_encoding enc = {0};
	tp_predictor p;
	tp_http *h;
	tp_http_counts c;
	tp_err e = {0};
	char *a;

	ck_assert_int_ne(fd, -1);
	close(fd);
	fixture_fit(&enc, 1);
	fixture_save_model(&enc, 1, 0.0, path);
	ck_assert_msg(tp_predictor_open(&p, NULL, path, 1, NULL, &e) == TP_OK, "%s",
	    e.msg);

	/* What scoring the row gives. */
	tp_batch b = {0};
	float prob;
	ck_assert_int_eq(tp_batch_init(&b, enc.ncat, enc.nnum, 1, &e), TP_OK);
	ck_assert_int_eq(tp_request_parse(&enc, app, strlen(app), 1,
	    tp_batch_row(&b, 0), NULL, &e), TP_OK);
	b.n = 1;
	ck_assert_int_eq(tp_score(&p.vm.model, &b, &prob, &e), TP_OK);

	ck_assert_int_eq(tp_http_listen("127.0.0.1:0", &sock, url, sizeof(url),
	    &e), TP_OK);
	int port = atoi(url + 17);
	tp_http_opts o = {.ref = path, .threads = 2, .max_batch = 3,
	    .max_body = 4096, .max_connections = 8, .timeout = 5,
	    .why = {.k = 4, .steps = 8}, .fds = &sock, .nfds = 1};
	ck_assert_msg(tp_http_start(&h, &o, &p, &e) == TP_OK, "%s", e.msg);

	a = ask(port, "GET", "/health/live", NULL);
	has(a, "HTTP/1.1 200 ");
	has(a, "{\"status\":\"live\"}");
	free(a);

	a = ask(port, "POST", "/v1/predict", app);
	has(a, "HTTP/1.1 200 ");
	snprintf(want, sizeof(want), "\"id\":7,\"probability\":%.9g,\"label\":1}",
	    (double)prob);
	has(a, want);
	has(a, "\"model\":{\"name\":\"tabpipe-http-");
	free(a);

	/* A batch answers in order; an error names its item and field. */
	a = ask(port, "POST", "/v1/predict", "[{\"home\":null,\"age\":null},"
	    "{\"id\":\"x\",\"home\":\"own\",\"age\":40}]");
	has(a, "\"predictions\":[{\"probability\":");
	has(a, "{\"id\":\"x\",\"probability\":");
	free(a);
	/* Any int64 is an id, the least too; null is none. */
	a = ask(port, "POST", "/v1/predict", "[{\"id\":-9223372036854775808,"
	    "\"home\":null,\"age\":null},{\"id\":null,\"home\":null,\"age\":null}]");
	has(a, "[{\"id\":-9223372036854775808,\"probability\":");
	has(a, "},{\"probability\":");
	free(a);
	a = ask(port, "POST", "/v1/predict", "[{\"home\":null,\"age\":null},"
	    "{\"home\":null}]");
	has(a, "HTTP/1.1 400 ");
	has(a, "\"code\":\"missing_field\"");
	has(a, "\"field\":\"age\",\"item\":1}");
	free(a);
	a = ask(port, "POST", "/v1/predict", "[{},{},{},{}]");
	has(a, "HTTP/1.1 413 ");
	free(a);

	/* Reasons: more than the server's most is the request's error; a
	 * model without a reference profile cannot give any. */
	a = ask(port, "POST", "/v1/predict?explain=5", app);
	has(a, "HTTP/1.1 400 ");
	has(a, "\"code\":\"bad_value\"");
	has(a, "\"field\":\"explain\"");
	free(a);
	a = ask(port, "POST", "/v1/predict?explain=2", app);
	has(a, "HTTP/1.1 409 ");
	has(a, "\"code\":\"cannot_explain\"");
	has(a, "train it again");
	free(a);
	a = ask(port, "GET", "/v1/model", NULL);
	has(a, ",\"explain\":null}");
	free(a);

	/* Another model in the file, with a reference profile, reloaded: the
	 * next answer is its, and it gives the reasons that tp_why gives. */
	fixture_save_model(&enc, 2, 1.0, path);
	add_reference(path, &enc, &b);
	tp_predictor q;
	tp_why_opts two = {.k = 2, .steps = 8};
	char *reasons = NULL;
	size_t rlen = 0;
	FILE *f = open_memstream(&reasons, &rlen);
	ck_assert_msg(tp_predictor_open(&q, NULL, path, 1, &two, &e) == TP_OK,
	    "%s", e.msg);
	ck_assert_int_eq(tp_why_rows(&q.why, &b, &e), TP_OK);
	tp_why_json(f, &q.why, 0);
	ck_assert_int_eq(fclose(f), 0);
	tp_predictor_free(&q);
	ck_assert_msg(strstr(reasons, "\"reasons\":[{\"feature\":") != NULL,
	    "%s", reasons);
	tp_http_reload(h);
	for (int i = 0; i < 200; i++) {
		a = ask(port, "POST", "/v1/predict", app);
		if (strstr(a, ",\"label\":0}") != NULL)
			break;
		free(a);
		a = NULL;
		usleep(10000);
	}
	ck_assert_msg(a != NULL, "the reloaded model never answered");
	free(a);
	a = ask(port, "POST", "/v1/predict?explain=2", app);
	has(a, "HTTP/1.1 200 ");
	has(a, reasons);
	free(a);
	free(reasons);
	a = ask(port, "GET", "/v1/model", NULL);
	has(a, ",\"explain\":{\"max\":4,\"steps\":8,\"reference_rows\":1,");
	free(a);

	tp_http_stop(h, 1, &c);
	ck_assert_uint_eq(c.reloads, 1);
	ck_assert_uint_ge(c.requests, 11);
	ck_assert_uint_eq(c.errors, 4);
	ck_assert_uint_ge(c.rows, 7);
	ck_assert_uint_eq(c.explained, 1);
	unlink(path);
	tp_batch_free(&b);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_http_listen);
	tcase_add_test(tc, test_http_activated);
	tcase_add_test(tc, test_http_serve);
	suite_add_tcase(s, tc);
	return s;
}
