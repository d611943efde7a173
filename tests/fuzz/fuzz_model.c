/*
 * fuzz_model: the bytes as a model file, loaded by path as the tools load
 * one: tp_model_load (lib/model/modelfile.h), which reads the file whole
 * (tp_st_read), parses and checks its safetensors header and the digest
 * of its data (tp_st_parse, lib/model/safetensors.h), then its metadata,
 * config, encoding and tensors (tp_model_parse). A model it accepts has
 * the SHA-256 of the bytes given and a threshold from 0 to 1, and, when it
 * has a classifier head, scores a row of missing values and one of known
 * ones.
 *
 * The data's digest (TP_ST_DIGEST in the metadata) refuses a file whose
 * tensors changed, so the custom mutator computes it again after most
 * mutations: of the header's bytes, of a metadata value, of the data's
 * bytes, or of one float of the data made an odd one (NaN, infinity,
 * the largest, a subnormal).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/sha256.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "model/safetensors.h"
#include "model/score.h"
#include "fuzz.h"

static char dir[4096], path[4200];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzz_model.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fuzz_fail("cannot make a folder in %s", dir);
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	atexit(cleanup);
	return 0;
}

/* Scores a row of missing values and one of each column's first
 * category. */
static void
score(tp_model *m, const tp_encoding *enc)
{
	tp_batch b;
	float prob[2];
	tp_err e = {0};

	tp_model_freeze(m);
	if (tp_batch_init(&b, enc->ncat, enc->nnum, 2, &e) != TP_OK)
		fuzz_fail("%s", e.msg);
	b.n = 2;
	for (int r = 0; r < 2; r++) {
		tp_row row = tp_batch_row(&b, (size_t)r);
		*row.id = r + 1;
		*row.label = -1;
		for (int i = 0; i < enc->ncols; i++) {
			const tp_column *c = &enc->cols[i];
			if (c->kind == TP_KIND_CATEGORICAL)
				row.cat[c->slot] = r == 1 && c->vocab.n > 0;
			else if (c->kind == TP_KIND_NUMERIC)
				row.num[c->slot] = r == 1 ? 0.5f : NAN;
		}
	}
	if (tp_score(m, &b, prob, &e) != TP_OK)
		fuzz_fail("a model loaded does not score: %s", e.msg);
	tp_batch_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};
	char sha[65];

	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		fuzz_fail("cannot write %s", path);
	if (tp_model_load(path, &m, &enc, &meta, 0, 1, &e) != TP_OK) {
		if (e.msg[0] == '\0')
			fuzz_fail("a model refused without a message");
		return 0;
	}
	tp_sha256_hex_of(data, size, sha);
	if (strcmp(sha, meta.sha256) != 0)
		fuzz_fail("a model loaded with the SHA-256 of other bytes");
	if (!(meta.threshold >= 0 && meta.threshold <= 1))
		fuzz_fail("a model loaded with threshold %g", meta.threshold);
	if (meta.parts & TP_WITH_HEAD)
		score(&m, &enc);
	tp_model_free(&m);
	tp_encoding_free(&enc);
	return 0;
}

/*
 * The mutator.
 */

/* Floats that weights should not hold. */
static const uint32_t odd_floats[] = {
	0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f7fffff,
	0x00000001, 0x80000000, 0x3f800000,
};

/* The metadata members a mutation of values picks from. */
static const char *const meta_keys[] = {
	"threshold", "parts", "config", "format", "run_id", "encoding",
};

/* Changes a string member of the metadata as bytes. */
static void
mutate_meta(cJSON *h, uint64_t *s)
{
	cJSON *md = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
	const char *key = meta_keys[fuzz_random(s) %
	    (sizeof(meta_keys) / sizeof(meta_keys[0]))];
	cJSON *v = cJSON_GetObjectItemCaseSensitive(md, key);

	if (!cJSON_IsString(v))
		return;
	size_t len = strlen(v->valuestring), cap = len + 64;
	char *t = malloc(cap + 1);
	if (t == NULL)
		fuzz_fail("no memory in the mutator");
	memcpy(t, v->valuestring, len);
	len = LLVMFuzzerMutate((uint8_t *)t, len, cap);
	t[len] = '\0';
	cJSON_SetValuestring(v, t);
	free(t);
}

/* Sets the digest of the metadata to the data's, if the header is an
 * object with metadata. */
static void
set_digest(cJSON *h, const uint8_t *body, size_t len)
{
	cJSON *md = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
	char hex[65];

	if (!cJSON_IsObject(md))
		return;
	tp_sha256_hex_of(body, len, hex);
	cJSON_DeleteItemFromObjectCaseSensitive(md, TP_ST_DIGEST);
	cJSON_AddStringToObject(md, TP_ST_DIGEST, hex);
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed)
{
	uint64_t s = seed, n = 0;
	char *header = NULL;
	uint8_t *body;
	size_t hlen, blen, len = 0;

	for (int i = 0; i < 8 && (size_t)i < size; i++)
		n |= (uint64_t)data[i] << (8 * i);
	if (fuzz_random(&s) % 8 == 0 || size < 8 || n > size - 8 || max < size)
		return LLVMFuzzerMutate(data, size, max);
	hlen = (size_t)n;
	blen = size - 8 - hlen;
	body = malloc(max);
	if (body == NULL)
		fuzz_fail("no memory in the mutator");
	memcpy(body, data + 8 + hlen, blen);
	cJSON *h = NULL;
	uint64_t what = fuzz_random(&s) % 8;
	switch (what == 0 ? 0 : what < 3 ? 1 : what < 5 ? 2 : 3) {
	case 0: /* the header's bytes */
		if ((header = malloc(hlen + max / 4 + 1)) == NULL)
			fuzz_fail("no memory in the mutator");
		memcpy(header, data + 8, hlen);
		hlen = LLVMFuzzerMutate((uint8_t *)header, hlen, hlen + max / 4);
		break;
	case 1: /* a metadata value */
		if ((h = cJSON_ParseWithLength((const char *)data + 8, hlen)) != NULL)
			mutate_meta(h, &s);
		break;
	case 2: /* the data's bytes */
		blen = LLVMFuzzerMutate(body, blen, max - 8 - hlen);
		break;
	default: /* one float of the data */
		if (blen >= 4) {
			size_t at = 4 * (fuzz_random(&s) % (blen / 4));
			uint32_t v = odd_floats[fuzz_random(&s) %
			    (sizeof(odd_floats) / sizeof(odd_floats[0]))];
			memcpy(body + at, &v, 4);
		}
		break;
	}
	/* The digest made again, as often as not through a header that
	 * the mutation left as it was. */
	if (header == NULL && h == NULL)
		h = cJSON_ParseWithLength((const char *)data + 8, hlen);
	if (h == NULL && header != NULL && fuzz_random(&s) % 2)
		h = cJSON_ParseWithLength(header, hlen);
	if (h != NULL) {
		if (fuzz_random(&s) % 8 != 0)
			set_digest(h, body, blen);
		free(header);
		if ((header = cJSON_PrintUnformatted(h)) == NULL)
			fuzz_fail("no memory in the mutator");
		hlen = strlen(header);
		cJSON_Delete(h);
	}
	if (header != NULL && 8 + hlen + blen <= max) {
		for (int i = 0; i < 8; i++)
			data[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
		memcpy(data + 8, header, hlen);
		memcpy(data + 8 + hlen, body, blen);
		len = 8 + hlen + blen;
	}
	free(header);
	free(body);
	return len > 0 ? len : LLVMFuzzerMutate(data, size, max);
}
