#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/sha256.h"
#include "model/safetensors.h"

static const char *const dtype_names[] = {"F32", "I32", "I8"};
static const size_t dtype_sizes[] = {4, 4, 1};

static size_t
tensor_bytes(const tp_tensor *t)
{
	size_t n = dtype_sizes[t->dtype];

	for (int d = 0; d < t->ndim; d++)
		n *= (size_t)t->shape[d];
	return n;
}

/* The metadata to write: the caller's members, then the digest of the
 * data. NULL when out of memory. */
static cJSON *
metadata(const tp_tensor *t, int n, const cJSON *meta)
{
	cJSON *md = meta != NULL ? cJSON_Duplicate(meta, 1) :
	    cJSON_CreateObject();
	unsigned char d[32];
	char hex[65];
	tp_sha256 s;

	if (md == NULL)
		return NULL;
	tp_sha256_init(&s);
	for (int i = 0; i < n; i++)
		tp_sha256_update(&s, t[i].data, tensor_bytes(&t[i]));
	tp_sha256_final(&s, d);
	tp_sha256_hex(d, hex);
	cJSON_DeleteItemFromObjectCaseSensitive(md, TP_ST_DIGEST);
	if (cJSON_AddStringToObject(md, TP_ST_DIGEST, hex) == NULL) {
		cJSON_Delete(md);
		return NULL;
	}
	return md;
}

int
tp_st_save(const char *path, const tp_tensor *t, int n, const cJSON *meta,
    tp_err *e)
{
	cJSON *h = cJSON_CreateObject(), *md = metadata(t, n, meta);
	char *text = NULL;
	size_t off = 0;
	tp_outfile o;
	int rc;

	if (h == NULL || md == NULL) {
		cJSON_Delete(h);
		cJSON_Delete(md);
		return tp_err_nomem(e, "a safetensors header");
	}
	cJSON_AddItemToObject(h, "__metadata__", md);
	for (int i = 0; i < n; i++) {
		cJSON *d = cJSON_AddObjectToObject(h, t[i].name), *s;
		size_t len = tensor_bytes(&t[i]);
		cJSON_AddStringToObject(d, "dtype", dtype_names[t[i].dtype]);
		s = cJSON_AddArrayToObject(d, "shape");
		for (int k = 0; k < t[i].ndim; k++)
			cJSON_AddItemToArray(s, cJSON_CreateNumber((double)t[i].shape[k]));
		s = cJSON_AddArrayToObject(d, "data_offsets");
		cJSON_AddItemToArray(s, cJSON_CreateNumber((double)off));
		cJSON_AddItemToArray(s, cJSON_CreateNumber((double)(off + len)));
		off += len;
	}
	if ((text = cJSON_PrintUnformatted(h)) == NULL) {
		cJSON_Delete(h);
		return tp_err_nomem(e, "a safetensors header");
	}
	cJSON_Delete(h);
	/* The data starts 8-byte aligned: pad the header with spaces. */
	size_t hlen = strlen(text), padded = (hlen + 7) & ~(size_t)7;
	unsigned char len8[8];
	for (int i = 0; i < 8; i++)
		len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
	if ((rc = tp_outfile_open(&o, path, e)) != TP_OK) {
		free(text);
		return rc;
	}
	fwrite(len8, 1, 8, o.f);
	fwrite(text, 1, hlen, o.f);
	for (size_t i = hlen; i < padded; i++)
		putc(' ', o.f);
	for (int i = 0; i < n; i++)
		fwrite(t[i].data, 1, tensor_bytes(&t[i]), o.f);
	free(text);
	return tp_outfile_commit(&o, e);
}

void
tp_st_close(tp_st_file *f)
{
	if (f == NULL)
		return;
	free(f->path);
	free(f->buf);
	cJSON_Delete(f->header);
	memset(f, 0, sizeof(*f));
}

typedef struct {
	size_t begin, end;
} span;

static int
by_begin(const void *a, const void *b)
{
	const span *x = a, *y = b;

	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Checks one tensor's entry; fills t and its span. */
static int
check_entry(const tp_st_file *f, const cJSON *d, tp_tensor *t, span *s,
    tp_err *e)
{
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(d, "dtype");
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(d, "shape");
	const cJSON *of = cJSON_GetObjectItemCaseSensitive(d, "data_offsets");
	size_t datalen = f->len - f->data;
	int k = 0;

	memset(t, 0, sizeof(*t));
	t->name = d->string;
	if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
	    cJSON_GetArraySize(of) != 2 || cJSON_GetArraySize(sh) > 4)
		return tp_err_set(e, TP_EDATA,
		    "%s: tensor \"%s\": needs dtype, shape (at most 4 dimensions) and data_offsets",
		    f->path, d->string);
	t->dtype = TP_F32;
	while (t->dtype <= TP_I8 && strcmp(dt->valuestring,
	    dtype_names[t->dtype]) != 0)
		t->dtype++;
	if (t->dtype > TP_I8)
		return tp_err_set(e, TP_EDATA,
		    "%s: tensor \"%s\": dtype %s (tabpipe reads F32, I32 and I8)",
		    f->path, d->string, dt->valuestring);
	const cJSON *v;
	cJSON_ArrayForEach(v, sh) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		    v->valuedouble > 1e12 || v->valuedouble != (double)(int64_t)v->valuedouble)
			return tp_err_set(e, TP_EDATA,
			    "%s: tensor \"%s\": bad shape", f->path, d->string);
		t->shape[k++] = (int64_t)v->valuedouble;
	}
	t->ndim = k;
	double b = cJSON_GetArrayItem(of, 0)->valuedouble;
	double en = cJSON_GetArrayItem(of, 1)->valuedouble;
	if (!(b >= 0 && en >= b && en <= (double)datalen))
		return tp_err_set(e, TP_EDATA,
		    "%s: tensor \"%s\": data_offsets [%.0f, %.0f] outside the %zu bytes of data (truncated file?)",
		    f->path, d->string, b, en, datalen);
	s->begin = (size_t)b;
	s->end = (size_t)en;
	if (s->end - s->begin != tensor_bytes(t))
		return tp_err_set(e, TP_EDATA,
		    "%s: tensor \"%s\": %zu bytes for a shape that needs %zu",
		    f->path, d->string, s->end - s->begin, tensor_bytes(t));
	t->data = f->buf + f->data + s->begin;
	return TP_OK;
}

/* Checks the data against the digest in the metadata, if there is one. */
static int
check_digest(tp_st_file *f, tp_err *e)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(f->header,
	    "__metadata__");
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(md, TP_ST_DIGEST);
	char got[65];

	if (want == NULL)
		return TP_OK;
	const char *w = cJSON_IsString(want) ? want->valuestring : "";
	size_t n = strspn(w, "0123456789abcdef");
	if (n != 64 || w[n] != '\0')
		return tp_err_set(e, TP_EDATA,
		    "%s: its " TP_ST_DIGEST " is not 64 lowercase hexadecimal digits",
		    f->path);
	tp_sha256_hex_of(f->buf + f->data, f->len - f->data, got);
	if (strcmp(got, w) != 0)
		return tp_err_set(e, TP_EDATA,
		    "%s: the tensors' %zu bytes of data do not match their SHA-256 (" TP_ST_DIGEST
		    " %.12s..., the data's %.12s...): the file is damaged",
		    f->path, f->len - f->data, w, got);
	f->verified = 1;
	return TP_OK;
}

int
tp_st_read(tp_st_file *f, const char *path, tp_err *e)
{
	char *buf;
	size_t len;
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = tp_read_file(path, &buf, &len, e)) != TP_OK)
		return rc;
	f->buf = (unsigned char *)buf;
	f->len = len;
	tp_sha256_hex_of(f->buf, len, f->sha256);
	if ((f->path = strdup(path)) == NULL) {
		tp_st_close(f);
		return tp_err_nomem(e, "a file name");
	}
	return TP_OK;
}

int
tp_st_parse(tp_st_file *f, tp_err *e)
{
	const char *path = f->path;
	size_t len = f->len;
	span *spans = NULL;
	int rc, n = 0;

	uint64_t hlen = 0;
	for (int i = 0; i < 8 && (size_t)i < len; i++)
		hlen |= (uint64_t)f->buf[i] << (8 * i);
	if (len < 8 || hlen > len - 8 || hlen < 2) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: not a safetensors file (header length %llu, file %zu bytes)",
		    path, (unsigned long long)hlen, len);
		goto fail;
	}
	f->data = 8 + (size_t)hlen;
	f->header = cJSON_ParseWithLength((const char *)f->buf + 8, (size_t)hlen);
	if (!cJSON_IsObject(f->header)) {
		rc = tp_err_set(e, TP_EDATA, "%s: safetensors header is not a JSON object",
		    path);
		goto fail;
	}
	if ((spans = malloc(((size_t)cJSON_GetArraySize(f->header) + 1) *
	    sizeof(*spans))) == NULL) {
		rc = tp_err_nomem(e, "a safetensors header");
		goto fail;
	}
	const cJSON *d;
	cJSON_ArrayForEach(d, f->header) {
		tp_tensor t;
		if (strcmp(d->string, "__metadata__") == 0)
			continue;
		if ((rc = check_entry(f, d, &t, &spans[n], e)) != TP_OK)
			goto fail;
		n++;
	}
	/* The tensors must tile the data exactly: no overlap, no gap. */
	qsort(spans, (size_t)n, sizeof(*spans), by_begin);
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		if (spans[i].begin != at) {
			rc = tp_err_set(e, TP_EDATA,
			    "%s: tensors overlap or leave a gap at data byte %zu",
			    path, at);
			goto fail;
		}
		at = spans[i].end;
	}
	if (at != f->len - f->data) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: %zu bytes after the last tensor", path,
		    f->len - f->data - at);
		goto fail;
	}
	if ((rc = check_digest(f, e)) != TP_OK)
		goto fail;
	free(spans);
	return TP_OK;
fail:
	free(spans);
	tp_st_close(f);
	return rc;
}

int
tp_st_open(tp_st_file *f, const char *path, tp_err *e)
{
	int rc;

	return (rc = tp_st_read(f, path, e)) != TP_OK ? rc : tp_st_parse(f, e);
}

int
tp_st_find(const tp_st_file *f, const char *name, enum tp_dtype dtype,
    int ndim, const int64_t *shape, tp_tensor *out, tp_err *e)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(f->header, name);
	span s;
	int rc;

	if (d == NULL || strcmp(name, "__metadata__") == 0)
		return tp_err_set(e, TP_EDATA, "%s: no tensor \"%s\"", f->path,
		    name);
	if ((rc = check_entry(f, d, out, &s, e)) != TP_OK)
		return rc;
	if (out->dtype != dtype)
		return tp_err_set(e, TP_EDATA, "%s: tensor \"%s\" is %s, expected %s",
		    f->path, name, dtype_names[out->dtype], dtype_names[dtype]);
	if (shape == NULL)
		return TP_OK;
	int same = out->ndim == ndim;
	for (int k = 0; same && k < ndim; k++)
		same = out->shape[k] == shape[k];
	if (!same) {
		char want[64] = "", got[64] = "";
		for (int k = 0; k < ndim; k++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want),
			    "%s%lld", k ? ", " : "", (long long)shape[k]);
		for (int k = 0; k < out->ndim; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%lld", k ? ", " : "", (long long)out->shape[k]);
		return tp_err_set(e, TP_EDATA,
		    "%s: tensor \"%s\" has shape [%s], the model expects [%s]",
		    f->path, name, got, want);
	}
	return TP_OK;
}

const char *
tp_st_meta(const tp_st_file *f, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(f->header,
	    "__metadata__");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}
