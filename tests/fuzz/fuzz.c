#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"

FILE *
fuzz_memfile(const void *data, size_t size)
{
	/* Opened for reading only: fmemopen does not write to the bytes. */
	FILE *f = fmemopen((void *)data, size, "r");

	if (f == NULL)
		fuzz_fail("fmemopen of %zu bytes failed", size);
	return f;
}

FILE *
fuzz_memout(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (f == NULL)
		fuzz_fail("open_memstream failed");
	return f;
}

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

char *
fuzz_encoding_again(const tp_encoding *enc, const char *what)
{
	cJSON *json = tp_encoding_to_json(enc), *parsed;
	char *text = json ? cJSON_PrintUnformatted(json) : NULL;
	tp_encoding back;
	tp_err e = {0};

	if (text == NULL)
		fuzz_fail("%s: no JSON form", what);
	if ((parsed = cJSON_Parse(text)) == NULL)
		fuzz_fail("%s: its JSON does not parse: %s", what, text);
	if (tp_encoding_from_json(&back, parsed, what, &e) != TP_OK)
		fuzz_fail("%s: its JSON does not read back: %s", what, e.msg);
	if (strcmp(back.fingerprint, enc->fingerprint) != 0)
		fuzz_fail("%s: reads back as another encoding", what);
	tp_encoding_free(&back);
	cJSON_Delete(parsed);
	cJSON_Delete(json);
	return text;
}

uint64_t
fuzz_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Numbers the columns of each kind again after a change of kinds; an id
 * or target column after the first becomes ignored. */
static void
renumber(tp_encoding *enc)
{
	enc->ncat = enc->nnum = 0;
	enc->id_col = enc->target_col = -1;
	for (int i = 0; i < enc->ncols; i++) {
		tp_column *c = &enc->cols[i];
		c->slot = c->kind == TP_KIND_NUMERIC ? enc->nnum++ :
		    c->kind == TP_KIND_CATEGORICAL ? enc->ncat++ : -1;
		if (c->kind == TP_KIND_ID && enc->id_col < 0)
			enc->id_col = i;
		else if (c->kind == TP_KIND_TARGET && enc->target_col < 0)
			enc->target_col = i;
		else if (c->kind == TP_KIND_ID || c->kind == TP_KIND_TARGET)
			c->kind = TP_KIND_IGNORE;
	}
}

/* Statistics that a float32 standardisation finds hard. */
static const double odd_numbers[] = {
	0, 1, -1, 1e-300, 1e300, -1e300, 3.4028234663852886e38, 1e-45,
	1e155, 9007199254740993.0, 0.1, -2147483648.0, 5e-324,
};

/* A few bytes of any value, NUL-terminated, into s (at least 5 bytes);
 * their length. */
static size_t
odd_bytes(char *s, uint64_t *state)
{
	size_t n = 1 + fuzz_random(state) % 4;

	for (size_t k = 0; k < n; k++)
		s[k] = (char)fuzz_random(state);
	s[n] = '\0';
	return n;
}

char *
fuzz_mutate_encoding(const char *json, size_t len, uint64_t *state)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	const size_t nodd = sizeof(odd_numbers) / sizeof(odd_numbers[0]);
	tp_encoding enc;
	tp_err e = {0};
	char v[8], *name, *text = NULL;

	if (j == NULL || tp_encoding_from_json(&enc, j, "mutant", &e) != TP_OK) {
		cJSON_Delete(j);
		return NULL;
	}
	cJSON_Delete(j);
	tp_column *c = &enc.cols[fuzz_random(state) % (uint64_t)enc.ncols];
	switch (fuzz_random(state) % 5) {
	case 0: /* another kind */
		tp_strmap_free(&c->vocab);
		c->kind = (enum tp_kind)(fuzz_random(state) % (TP_KIND_TARGET + 1));
		c->mean = 0;
		c->std = 1;
		renumber(&enc);
		break;
	case 1: /* odd statistics */
		if (c->kind == TP_KIND_NUMERIC) {
			c->mean = odd_numbers[fuzz_random(state) % nodd];
			double std = odd_numbers[fuzz_random(state) % nodd];
			c->std = std > 0 ? std : 1;
		}
		break;
	case 2: /* one more category */
		if (c->kind == TP_KIND_CATEGORICAL)
			tp_strmap_add(&c->vocab, v, odd_bytes(v, state), &e);
		break;
	case 3: /* another name */
		odd_bytes(v, state);
		if ((name = strdup(v)) != NULL) {
			free(c->name);
			c->name = name;
		}
		break;
	default: /* one column fewer */
		if (enc.ncols > 1) {
			free(c->name);
			tp_strmap_free(&c->vocab);
			memmove(c, c + 1, (size_t)(enc.cols + enc.ncols - c - 1) *
			    sizeof(*c));
			enc.ncols--;
			renumber(&enc);
		}
		break;
	}
	if (tp_encoding_fingerprint(&enc, &e) == TP_OK &&
	    (j = tp_encoding_to_json(&enc)) != NULL) {
		text = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	}
	tp_encoding_free(&enc);
	return text;
}
