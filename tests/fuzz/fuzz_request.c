/*
 * fuzz_request: the requests of the serving mode (tabpipe-predict
 * --serve). The bytes are given twice to a model of a small encoding made
 * once (the columns of FIT_CSV, a tiny TabTransformer of random weights):
 *   - whole, as one request, to tp_request_parse (lib/data/request.h):
 *     a request it accepts gives a row that the model can take, and its
 *     features as JSON;
 *   - as an HTTP body (tabpipe-serve's), split into its applications by
 *     tp_request_split, each read by the serving contract: the spans lie
 *     in the body, one for an object and 1 to MAX_BATCH for an array,
 *     and every refusal has a message and one of the documented codes;
 *   - as the input of the JSON-lines loop, tp_serve (lib/serve/serve.h),
 *     through a file descriptor: every answer is one line of JSON, an
 *     object with "error" or with "id" (a number, or a string as the
 *     request gave it), "probability" from 0 to 1 and "label", one for
 *     each request the loop counts.
 */
#define _GNU_SOURCE /* memfd_create */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "data/ingest.h"
#include "data/request.h"
#include "model/config.h"
#include "model/model.h"
#include "serve/predict.h"
#include "serve/serve.h"
#include "fuzz.h"

/* The columns requests name: an id, the target, numeric and categorical
 * features of loans (data/credit_data.csv). */
#define FIT_CSV \
	"id,Class,Seniority,Home,Age,Marital,Income\n" \
	"1,good,9,rent,30,married,129\n" \
	"2,good,17,rent,58,widow,131\n" \
	"3,bad,10,owner,46,married,200\n" \
	"4,good,0,rent,24,single,182\n" \
	"5,bad,0,parents,41,married,NA\n" \
	"6,good,1,owner,36,single,214\n"

/* Requests longer than this are answered with an error at once; a body
 * holds at most MAX_BATCH applications. */
enum { MAX_LINE = 1024, MAX_BATCH = 4 };

static tp_predictor model;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tp_ingest_opts o = {.target = "Class", .positive = "bad",
	    .min_count = 1};
	static const char csv[] = FIT_CSV;
	tp_input in = {.name = "FIT_CSV",
	    .f = fuzz_memfile(csv, sizeof(csv) - 1)};
	tp_config cfg = tp_default_config;
	tp_err e = {0};

	cfg.layers = 1;
	cfg.d_model = 8;
	cfg.heads = 2;
	cfg.d_ff = 16;
	cfg.head_hidden = 8;
	if (tp_ingest_fit(&o, &in, 1, &model.vm.enc, &e) != TP_OK ||
	    tp_model_init(&model.vm.model, &cfg, &model.vm.enc, 1, 1, &e) !=
	    TP_OK)
		fuzz_fail("the model of the requests: %s", e.msg);
	tp_model_freeze(&model.vm.model);
	fclose(in.f);
	model.vm.meta.threshold = 0.5;
	if ((model.vm.path = strdup("fuzz_request")) == NULL)
		fuzz_fail("no memory");
	return 0;
}

/* The bytes as one request. */
static void
parse_one(const uint8_t *data, size_t size)
{
	const tp_encoding *enc = &model.vm.enc;
	tp_batch b;
	char *features = NULL;
	cJSON *j;
	float prob;
	tp_err e = {0};

	if (tp_batch_init(&b, enc->ncat, enc->nnum, 1, &e) != TP_OK)
		fuzz_fail("%s", e.msg);
	tp_row row = tp_batch_row(&b, 0);
	int rc = tp_request_parse(enc, (const char *)data, size, 7, row,
	    &features, &e);
	if (rc == TP_OK) {
		if ((j = cJSON_Parse(features)) == NULL || !cJSON_IsObject(j))
			fuzz_fail("the features of a request are not a JSON object: %s",
			    features);
		cJSON_Delete(j);
		for (int i = 0; i < enc->ncols; i++) {
			const tp_column *c = &enc->cols[i];
			if (c->kind == TP_KIND_CATEGORICAL && (row.cat[c->slot] < 0 ||
			    (size_t)row.cat[c->slot] > c->vocab.n))
				fuzz_fail("column %s: index %d of a vocabulary of %zu",
				    c->name, row.cat[c->slot], c->vocab.n);
		}
		b.n = 1;
		if (tp_score(&model.vm.model, &b, &prob, &e) != TP_OK)
			fuzz_fail("a request's row does not score: %s", e.msg);
	} else if (rc != TP_EDATA || e.msg[0] == '\0') {
		fuzz_fail("a request refused with status %d: \"%s\"", rc, e.msg);
	}
	free(features);
	tp_batch_free(&b);
}

/* A refusal of the serving contract: TP_EDATA, a message, a known code. */
static void
check_refusal(int rc, const tp_err *e, const tp_request_info *info)
{
	static const char *const codes[] = {"bad_json", "unknown_field",
	    "wrong_type", "missing_field", "bad_value", "empty_batch",
	    "too_large"};
	size_t k = 0;

	if (rc != TP_EDATA || e->msg[0] == '\0' || info->code == NULL)
		fuzz_fail("a body refused with status %d, code %s: \"%s\"", rc,
		    info->code != NULL ? info->code : "none", e->msg);
	while (k < sizeof(codes) / sizeof(codes[0]) &&
	    strcmp(codes[k], info->code) != 0)
		k++;
	if (k == sizeof(codes) / sizeof(codes[0]))
		fuzz_fail("an undocumented code: %s", info->code);
}

/* The bytes as an HTTP body. */
static void
split_body(const uint8_t *data, size_t size)
{
	const tp_encoding *enc = &model.vm.enc;
	tp_request_info info = {.strict = 1};
	tp_request_span *spans;
	unsigned char unseen[16];
	size_t n;
	int batch, rc;
	tp_batch b;
	tp_err e = {0};

	rc = tp_request_split((const char *)data, size, MAX_BATCH, &spans, &n,
	    &batch, &info, &e);
	if (rc != TP_OK) {
		check_refusal(rc, &e, &info);
		return;
	}
	if (n < 1 || n > MAX_BATCH || (!batch && n != 1))
		fuzz_fail("%zu applications in a body (batch %d)", n, batch);
	if (tp_batch_init(&b, enc->ncat, enc->nnum, 1, &e) != TP_OK)
		fuzz_fail("%s", e.msg);
	for (size_t i = 0; i < n; i++) {
		tp_request_info one = {.strict = 1, .unseen = unseen};
		char *id = NULL;
		if (spans[i].at > size || spans[i].len > size - spans[i].at)
			fuzz_fail("application %zu lies outside the body", i);
		rc = tp_request_parse_info(enc, (const char *)data + spans[i].at,
		    spans[i].len, (int64_t)i, tp_batch_row(&b, 0), NULL, &id,
		    &one, &e);
		if (rc != TP_OK)
			check_refusal(rc, &e, &one);
		free(id);
	}
	free(spans);
	tp_batch_free(&b);
}

/* One line of the loop's answers. */
static void
check_answer(const char *line, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "probability");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");

	if (!cJSON_IsObject(j))
		fuzz_fail("an answer is not a JSON object: %.*s", (int)len, line);
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "error")))
		;
	else if (!(cJSON_IsNumber(id) || cJSON_IsString(id)) ||
	    !cJSON_IsNumber(p) || !(p->valuedouble >= 0 && p->valuedouble <= 1) ||
	    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "label")))
		fuzz_fail("an answer is neither an error nor a prediction: %.*s",
		    (int)len, line);
	cJSON_Delete(j);
}

/* The bytes as the input of the serving loop. */
static void
serve(const uint8_t *data, size_t size)
{
	int fd = memfd_create("requests", 0);
	char *out = NULL;
	size_t outlen = 0;
	tp_serve_counts c;
	tp_err e = {0};

	if (fd < 0 || write(fd, data, size) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET) != 0)
		fuzz_fail("a memory file of the requests");
	tp_serve_opts o = {.in = fd, .out = fuzz_memout(&out, &outlen),
	    .ref = model.vm.path, .nthreads = 1, .max_line = MAX_LINE};
	if (tp_serve(&o, &model, &c, &e) != TP_OK)
		fuzz_fail("serving from memory failed: %s", e.msg);
	if (fclose(o.out) != 0)
		fuzz_fail("writing to memory failed");
	uint64_t lines = 0;
	for (size_t at = 0; at < outlen; lines++) {
		const char *nl = memchr(out + at, '\n', outlen - at);
		if (nl == NULL)
			fuzz_fail("an answer without a line end");
		check_answer(out + at, (size_t)(nl - out - at));
		at = (size_t)(nl - out) + 1;
	}
	if (lines != c.requests)
		fuzz_fail("%llu answers to %llu requests", (unsigned long long)lines,
		    (unsigned long long)c.requests);
	close(fd);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_one(data, size);
	split_body(data, size);
	serve(data, size);
	return 0;
}
