/*
 * fuzz_encoding: the bytes as an encoding file (tabpipe-encoding(5)), read
 * as tp_encoding_load reads one: parsed as JSON and checked by
 * tp_encoding_from_json (lib/data/encoding.h). An encoding it accepts
 * must be usable as the tools use one:
 *   - written as JSON again, it reads back with the same fingerprint;
 *   - when its names and categories are text that ingest takes (UTF-8
 *     without NUL), a CSV header of its own columns passes its check;
 *   - a row of its first categories and its means encodes, and writes
 *     back as CSV as tabpipe-cat writes it.
 * A change of bytes almost always breaks the fingerprint, which the reader
 * checks last; so half of the mutations change the encoding itself and
 * make its fingerprint again (fuzz_mutate_encoding), so that odd but valid
 * encodings reach the rest.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/text.h"
#include "data/csv.h"
#include "data/encoding.h"
#include "data/stream.h"
#include "fuzz.h"

/* The fields of a record of enc's columns: their names, or a value of
 * each (the first category, the mean's text, the positive label, an id). */
static tp_field *
record(const tp_encoding *enc, int names, char (*num)[32])
{
	tp_field *f = calloc((size_t)enc->ncols + 1, sizeof(*f));

	if (f == NULL)
		fuzz_fail("no memory");
	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		const char *s = "";
		size_t len = 0;
		if (names) {
			s = c->name;
			len = strlen(s);
		} else if (c->kind == TP_KIND_CATEGORICAL && c->vocab.n > 0) {
			s = c->vocab.keys[0];
			len = c->vocab.lens[0];
		} else if (c->kind == TP_KIND_NUMERIC) {
			len = (size_t)snprintf(num[i], sizeof(num[i]), "%.17g",
			    c->mean);
			s = num[i];
		} else if (c->kind == TP_KIND_TARGET && enc->labels[1] != NULL) {
			s = enc->labels[1];
			len = strlen(s);
		} else if (c->kind == TP_KIND_ID) {
			s = "42";
			len = 2;
		}
		f[i] = (tp_field){.s = s, .len = len, .quoted = names};
	}
	return f;
}

/* Whether s is text that ingest takes (lib/base/text.h). */
static int
text(const char *s, size_t len)
{
	return tp_text_end(s, len) == len;
}

/* Whether the names, categories and labels of enc are all text that
 * ingest takes. */
static int
csv_text(const tp_encoding *enc)
{
	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		if (!text(c->name, strlen(c->name)))
			return 0;
		for (size_t k = 0; k < c->vocab.n; k++)
			if (!text(c->vocab.keys[k], c->vocab.lens[k]))
				return 0;
	}
	for (int i = 0; i < 2; i++)
		if (enc->labels[i] != NULL &&
		    !text(enc->labels[i], strlen(enc->labels[i])))
			return 0;
	return 1;
}

static void
use(const tp_encoding *enc)
{
	char (*num)[32] = calloc((size_t)enc->ncols + 1, sizeof(*num));
	tp_field *header = record(enc, 1, num), *row = record(enc, 0, num);
	char *csv = NULL;
	size_t csvlen = 0;
	FILE *cat = fuzz_memout(&csv, &csvlen);
	tp_batch b;
	tp_err e = {0};

	if (num == NULL)
		fuzz_fail("no memory");
	if (tp_encoding_check_header(enc, header, (size_t)enc->ncols, "header",
	    &e) != TP_OK)
		fuzz_fail("the header of an encoding's own columns: %s", e.msg);
	if (tp_batch_init(&b, enc->ncat, enc->nnum, 1, &e) != TP_OK)
		fuzz_fail("%s", e.msg);
	tp_row r = tp_batch_row(&b, 0);
	if (tp_encoding_encode(enc, row, 1, r, NULL, &e) != TP_OK)
		fuzz_fail("a row of an encoding's own values: %s", e.msg);
	tp_encoding_write_header(enc, cat);
	tp_encoding_write_row(enc, cat, r);
	if (fclose(cat) != 0)
		fuzz_fail("writing to memory failed");
	tp_batch_free(&b);
	free(header);
	free(row);
	free(num);
	free(csv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* As tp_read_file gives a file: its bytes and a NUL. */
	char *text = malloc(size + 1);
	tp_encoding enc;
	tp_err e = {0};
	cJSON *json;

	if (text == NULL)
		fuzz_fail("no memory");
	memcpy(text, data, size);
	text[size] = '\0';
	json = cJSON_Parse(text);
	free(text);
	if (json == NULL)
		return 0;
	if (tp_encoding_from_json(&enc, json, "input", &e) == TP_OK) {
		free(fuzz_encoding_again(&enc, "an encoding read"));
		if (csv_text(&enc))
			use(&enc);
		tp_encoding_free(&enc);
	} else if (e.msg[0] == '\0') {
		fuzz_fail("an encoding refused without a message");
	}
	cJSON_Delete(json);
	return 0;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed)
{
	uint64_t s = seed;
	char *json;
	size_t len;

	if (fuzz_random(&s) % 2 &&
	    (json = fuzz_mutate_encoding((const char *)data, size, &s)) != NULL) {
		len = strlen(json);
		if (len <= max)
			memcpy(data, json, len);
		free(json);
		if (len <= max)
			return len;
	}
	return LLVMFuzzerMutate(data, size, max);
}
