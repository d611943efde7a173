/*
 * test_modelfile: a model saved and loaded back (weights, config,
 * encoding, threshold, run id, data fingerprint, and the SHA-256 of the
 * bytes loaded), from a path and from a file already read; the parts a
 * file holds and the parts a caller needs; the refusals of a bad
 * threshold, a weight that is not finite and metadata that lacks a key;
 * a pretrained encoder copied into a model of the same encoding and
 * sizes, and refused for another; the digest of the tensors: every
 * flipped byte of their data refused, and a file without the digest too;
 * and the training's history and threshold rule: saved and read back when
 * asked for, absent in older files, and a history that is no list of
 * epochs refused, on saving and on loading.
 */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "model/modelfile.h"
#include "suites.h"

static const tp_config small = {
	.layers = 2, .d_model = 8, .heads = 2, .d_ff = 12, .head_hidden = 6,
	.proj_dim = 4, .dropout = 0.25f, .activation = TP_RELU,
};

static const char fingerprint64[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* Two categorical features (vocab values the first) and a numeric one,
 * and a target. */
static void
make_encoding(tp_encoding *enc, int vocab)
{
	static const char *const names[] = {"c0", "n0", "c1", "y"};
	static const enum tp_kind kinds[] = {TP_KIND_CATEGORICAL,
	    TP_KIND_NUMERIC, TP_KIND_CATEGORICAL, TP_KIND_TARGET};
	tp_err e = {0};
	char v[16];

	memset(enc, 0, sizeof(*enc));
	enc->ncols = 4;
	enc->cols = calloc(4, sizeof(*enc->cols));
	ck_assert_ptr_nonnull(enc->cols);
	enc->id_col = -1;
	enc->target_col = 3;
	enc->labels[0] = strdup("good");
	enc->labels[1] = strdup("bad");
	for (int i = 0; i < 4; i++) {
		tp_column *c = &enc->cols[i];
		c->name = strdup(names[i]);
		c->kind = kinds[i];
		c->slot = c->kind == TP_KIND_CATEGORICAL ? enc->ncat++ :
		    c->kind == TP_KIND_NUMERIC ? enc->nnum++ : -1;
		c->mean = 0.5;
		c->std = 2;
	}
	for (int k = 0; k < vocab; k++) {
		snprintf(v, sizeof(v), "v%d", k);
		ck_assert_int_ge(tp_strmap_add(&enc->cols[0].vocab, v,
		    strlen(v), &e), 0);
	}
	ck_assert_int_ge(tp_strmap_add(&enc->cols[2].vocab, "x", 1, &e), 0);
	ck_assert_int_eq(tp_encoding_fingerprint(enc, &e), TP_OK);
}

/* A model of small on a three-value encoding, its file saved in a folder
 * of its own. */
typedef struct {
	char dir[64], path[128];
	tp_encoding enc;
	tp_model m;
	tp_model_meta meta;
} fixture;

static void
fixture_open(fixture *fx, int parts)
{
	tp_err e = {0};

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tabpipe-mf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/m.safetensors", fx->dir);
	make_encoding(&fx->enc, 3);
	ck_assert_msg(tp_model_init(&fx->m, &small, &fx->enc, 17, 1, &e) ==
	    TP_OK, "%s", e.msg);
	fx->meta.threshold = 0.375;
	fx->meta.parts = parts;
	snprintf(fx->meta.run_id, sizeof(fx->meta.run_id), "run-42");
	snprintf(fx->meta.data_fingerprint, sizeof(fx->meta.data_fingerprint),
	    "%s", fingerprint64);
}

static void
fixture_save(fixture *fx)
{
	tp_err e = {0};

	ck_assert_msg(tp_model_save(fx->path, &fx->m, &fx->enc, &fx->meta,
	    &e) == TP_OK, "%s", e.msg);
}

static void
fixture_close(fixture *fx)
{
	unlink(fx->path);
	ck_assert_int_eq(rmdir(fx->dir), 0);
	tp_model_free(&fx->m);
	tp_encoding_free(&fx->enc);
}

/* The parameters of the parts wanted are those of want, bit for bit. */
static void
same_weights(const tp_model *got, const tp_model *want, int parts)
{
	ck_assert_int_eq(got->nparam, want->nparam);
	ck_assert_uint_eq(got->nfloats, want->nfloats);
	for (int i = 0; i < want->nparam; i++) {
		const tp_param *p = &want->param[i];
		if ((p->part == TP_PART_HEAD && !(parts & TP_WITH_HEAD)) ||
		    (p->part == TP_PART_PROJECTOR &&
		    !(parts & TP_WITH_PROJECTOR)))
			continue;
		ck_assert_str_eq(got->param[i].name, p->name);
		ck_assert_msg(memcmp(got->params + p->offset,
		    want->params + p->offset, p->numel * sizeof(float)) == 0,
		    "%s differs", p->name);
	}
}

START_TEST(round_trip)
{
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};
	char sha[65];

	fixture_open(&fx, TP_WITH_HEAD | TP_WITH_PROJECTOR);
	fixture_save(&fx);
	ck_assert_int_eq(tp_file_sha256(fx.path, sha, &e), TP_OK);
	ck_assert_msg(tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD, 2,
	    &e) == TP_OK, "%s", e.msg);
	same_weights(&m, &fx.m, TP_WITH_HEAD | TP_WITH_PROJECTOR);
	ck_assert_int_eq(m.cfg.layers, small.layers);
	ck_assert_int_eq(m.cfg.d_model, small.d_model);
	ck_assert_int_eq(m.cfg.heads, small.heads);
	ck_assert_int_eq(m.cfg.d_ff, small.d_ff);
	ck_assert_int_eq(m.cfg.head_hidden, small.head_hidden);
	ck_assert_int_eq(m.cfg.proj_dim, small.proj_dim);
	ck_assert(m.cfg.dropout == small.dropout);
	ck_assert_int_eq(m.cfg.activation, TP_RELU);
	ck_assert_int_eq(m.nthreads, 2);
	ck_assert_str_eq(enc.fingerprint, fx.enc.fingerprint);
	ck_assert_int_eq(enc.ncat, 2);
	ck_assert_int_eq(enc.nnum, 1);
	ck_assert(meta.threshold == 0.375);
	ck_assert_str_eq(meta.run_id, "run-42");
	ck_assert_str_eq(meta.data_fingerprint, fingerprint64);
	ck_assert_int_eq(meta.parts, TP_WITH_HEAD | TP_WITH_PROJECTOR);
	ck_assert_str_eq(meta.sha256, sha);
	tp_model_free(&m);
	tp_encoding_free(&enc);

	/* A threshold that %.9g does not write whole is read back to the
	 * nearest: the file keeps 9 digits. */
	fx.meta.threshold = 1.0 / 3;
	fx.meta.run_id[0] = '\0';
	fx.meta.data_fingerprint[0] = '\0';
	fx.meta.parts = TP_WITH_HEAD;
	fixture_save(&fx);
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD,
	    1, &e), TP_OK);
	ck_assert_double_eq_tol(meta.threshold, 1.0 / 3, 1e-9);
	ck_assert_str_eq(meta.run_id, "");
	ck_assert_str_eq(meta.data_fingerprint, "");
	ck_assert_int_eq(meta.parts, TP_WITH_HEAD);
	same_weights(&m, &fx.m, TP_WITH_HEAD);
	tp_model_free(&m);
	tp_encoding_free(&enc);
	fixture_close(&fx);
}
END_TEST

/* From a file the caller read and parsed, which stays the caller's: the
 * same model, the file's hash, and the file still whole after. */
START_TEST(parse_from_file)
{
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_st_file f;
	tp_tensor t;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_HEAD);
	fixture_save(&fx);
	ck_assert_int_eq(tp_st_open(&f, fx.path, &e), TP_OK);
	ck_assert_msg(tp_model_parse(&f, &m, &enc, &meta, TP_WITH_HEAD, 1, &e)
	    == TP_OK, "%s", e.msg);
	same_weights(&m, &fx.m, TP_WITH_HEAD);
	ck_assert_str_eq(meta.sha256, f.sha256);
	ck_assert_str_eq(enc.fingerprint, fx.enc.fingerprint);
	ck_assert_str_eq(meta.run_id, "run-42");
	/* A classifier's file holds no projector. */
	ck_assert_int_eq(tp_st_find(&f, "projector.0.weight", TP_F32, 0, NULL,
	    &t, &e), TP_EDATA);
	ck_assert_int_eq(tp_st_find(&f, "head.0.weight", TP_F32, 0, NULL, &t,
	    &e), TP_OK);
	tp_model_free(&m);
	tp_encoding_free(&enc);
	tp_st_close(&f);
	fixture_close(&fx);
}
END_TEST

/* A pretrained encoder (encoder and projector) is no classifier: refused
 * where the head is needed, with the way out; a classifier is refused
 * where the projector is needed; the encoder alone serves either. */
START_TEST(parts)
{
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_PROJECTOR);
	fixture_save(&fx);
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD,
	    1, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, fx.path));
	ck_assert_ptr_nonnull(strstr(e.msg,
	    "holds encoder,projector, not the classifier head this needs"));
	ck_assert_ptr_nonnull(strstr(e.msg, "tabpipe-train --encoder"));
	/* Nothing is left to free after a refusal. */
	ck_assert_ptr_null(m.params);
	ck_assert_ptr_null(enc.cols);
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta,
	    TP_WITH_PROJECTOR, 1, &e), TP_OK);
	ck_assert_int_eq(meta.parts, TP_WITH_PROJECTOR);
	same_weights(&m, &fx.m, TP_WITH_PROJECTOR);
	tp_model_free(&m);
	tp_encoding_free(&enc);
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta, 0, 1, &e),
	    TP_OK);
	tp_model_free(&m);
	tp_encoding_free(&enc);

	fx.meta.parts = TP_WITH_HEAD;
	fixture_save(&fx);
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta,
	    TP_WITH_PROJECTOR, 1, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "not the projector"));
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta,
	    TP_WITH_HEAD | TP_WITH_PROJECTOR, 1, &e), TP_EDATA);
	fixture_close(&fx);
}
END_TEST

/* Saves with threshold t and expects the load refused. */
static void
bad_threshold(fixture *fx, double t)
{
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	fx->meta.threshold = t;
	fixture_save(fx);
	ck_assert_msg(tp_model_load(fx->path, &m, &enc, &meta, TP_WITH_HEAD, 1,
	    &e) == TP_EDATA, "threshold %g taken", t);
	ck_assert_ptr_nonnull(strstr(e.msg, "threshold"));
	ck_assert_ptr_nonnull(strstr(e.msg, "is not a number from 0 to 1"));
}

START_TEST(threshold)
{
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_HEAD);
	bad_threshold(&fx, 1.5);
	bad_threshold(&fx, -0.001);
	bad_threshold(&fx, 1.0000001);
	bad_threshold(&fx, NAN);
	bad_threshold(&fx, INFINITY);
	/* The bounds themselves are thresholds. */
	for (int k = 0; k <= 1; k++) {
		fx.meta.threshold = k;
		fixture_save(&fx);
		ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta,
		    TP_WITH_HEAD, 1, &e), TP_OK);
		ck_assert(meta.threshold == k);
		tp_model_free(&m);
		tp_encoding_free(&enc);
	}
	fixture_close(&fx);
}
END_TEST

START_TEST(not_finite)
{
	static const float bad[] = {NAN, INFINITY, -INFINITY};
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_HEAD);
	const tp_param *p = tp_model_param(&fx.m,
	    "encoder.layers.1.linear2.bias");
	ck_assert_ptr_nonnull(p);
	float *w = fx.m.params + p->offset + p->numel - 1, keep = *w;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		*w = bad[i];
		fixture_save(&fx);
		ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta,
		    TP_WITH_HEAD, 1, &e), TP_EDATA);
		ck_assert_ptr_nonnull(strstr(e.msg, "tensor "
		    "\"encoder.layers.1.linear2.bias\" holds a value that is "
		    "not finite"));
		ck_assert_ptr_null(m.params);
	}
	/* In a part not loaded, it is not looked at. */
	*w = keep;
	p = tp_model_param(&fx.m, "projector.2.weight");
	fx.m.params[p->offset] = NAN;
	fx.meta.parts = TP_WITH_HEAD | TP_WITH_PROJECTOR;
	fixture_save(&fx);
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD,
	    1, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "projector.2.weight"));
	fixture_close(&fx);
}
END_TEST

/* Writes fx's model with the metadata of tp_model_save but key removed
 * (value NULL) or set to value. */
static void
save_edited(fixture *fx, const char *key, const char *value)
{
	tp_st_file f;
	tp_err e = {0};

	fixture_save(fx);
	ck_assert_int_eq(tp_st_open(&f, fx->path, &e), TP_OK);
	cJSON *md = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(f.header,
	    "__metadata__"), 1);
	ck_assert_ptr_nonnull(md);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(md, key));
	if (value == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(md, key);
	else
		cJSON_ReplaceItemInObjectCaseSensitive(md, key,
		    cJSON_CreateString(value));
	tp_tensor *t = calloc((size_t)fx->m.nparam, sizeof(*t));
	int n = 0;
	ck_assert_ptr_nonnull(t);
	for (int i = 0; i < fx->m.nparam; i++) {
		const tp_param *p = &fx->m.param[i];
		if (p->part == TP_PART_PROJECTOR)
			continue;
		t[n] = (tp_tensor){.name = p->name, .dtype = TP_F32,
		    .ndim = p->ndim, .shape = {p->shape[0], p->shape[1]},
		    .data = fx->m.params + p->offset};
		n++;
	}
	tp_st_close(&f);
	ck_assert_int_eq(tp_st_save(fx->path, t, n, md, &e), TP_OK);
	free(t);
	cJSON_Delete(md);
}

static void
load_refused(fixture *fx, const char *what, const char *want)
{
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	ck_assert_msg(tp_model_load(fx->path, &m, &enc, &meta, TP_WITH_HEAD, 1,
	    &e) == TP_EDATA, "%s: taken (%s)", what, e.msg);
	ck_assert_msg(strstr(e.msg, want) != NULL,
	    "%s: \"%s\" has no \"%s\"", what, e.msg, want);
	ck_assert_msg(strstr(e.msg, fx->path) != NULL,
	    "%s: \"%s\" does not name the file", what, e.msg);
}

START_TEST(metadata)
{
	static const char *const needed[] = {"format", "parts", "config",
	    "encoding", "threshold"};
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_HEAD);
	/* The edited copy is read as the original is. */
	save_edited(&fx, "format", "tabpipe-model");
	ck_assert_msg(tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD, 1,
	    &e) == TP_OK, "%s", e.msg);
	same_weights(&m, &fx.m, TP_WITH_HEAD);
	tp_model_free(&m);
	tp_encoding_free(&enc);

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		save_edited(&fx, needed[i], NULL);
		load_refused(&fx, needed[i], "not a tabpipe model");
	}
	save_edited(&fx, "format", "onnx");
	load_refused(&fx, "format onnx", "not a tabpipe model");
	save_edited(&fx, "threshold", "");
	load_refused(&fx, "threshold \"\"", "is not a number from 0 to 1");
	save_edited(&fx, "threshold", "0.5x");
	load_refused(&fx, "threshold 0.5x", "is not a number from 0 to 1");
	save_edited(&fx, "config", "{\"layers\": 2");
	load_refused(&fx, "config not JSON", "config is not JSON");
	save_edited(&fx, "config", "{\"layers\": 2}");
	load_refused(&fx, "config without d_model", "model config");
	save_edited(&fx, "encoding", "[");
	load_refused(&fx, "encoding not JSON", "encoding is not JSON");

	/* run_id and data_fingerprint may be missing: an untracked model. */
	save_edited(&fx, "run_id", NULL);
	ck_assert_msg(tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD, 1,
	    &e) == TP_OK, "%s", e.msg);
	ck_assert_str_eq(meta.run_id, "");
	tp_model_free(&m);
	tp_encoding_free(&enc);
	save_edited(&fx, "data_fingerprint", NULL);
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD,
	    1, &e), TP_OK);
	ck_assert_str_eq(meta.data_fingerprint, "");
	tp_model_free(&m);
	tp_encoding_free(&enc);

	/* A config whose sizes are not the tensors'. */
	save_edited(&fx, "config", "{\"layers\":2,\"d_model\":8,\"heads\":2,"
	    "\"d_ff\":16,\"head_hidden\":6,\"proj_dim\":4,\"dropout\":0,"
	    "\"activation\":\"gelu\"}");
	load_refused(&fx, "d_ff 16",
	    "has shape [12, 8], the model expects [16, 8]");
	fixture_close(&fx);
}
END_TEST

/*
 * A pretrained encoder goes into a model of the same encoding and sizes:
 * its encoder's tensors are copied, the model's head is left alone. Of
 * another encoding, or other sizes, it is refused and nothing is copied.
 */
START_TEST(load_encoder)
{
	fixture fx;
	tp_model m;
	tp_encoding other;
	tp_st_file f;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_PROJECTOR);
	fixture_save(&fx);
	ck_assert_int_eq(tp_st_open(&f, fx.path, &e), TP_OK);

	/* Another seed, the head unlike the file's; the head size is no
	 * part of the encoder. */
	tp_config cfg = small;
	cfg.head_hidden = 5;
	cfg.dropout = 0;
	ck_assert_int_eq(tp_model_init(&m, &cfg, &fx.enc, 99, 1, &e), TP_OK);
	const tp_param *h = tp_model_param(&m, "head.0.weight");
	float head0 = m.params[h->offset];
	ck_assert_msg(tp_model_load_encoder(&f, &m, &fx.enc, &e) == TP_OK, "%s",
	    e.msg);
	for (int i = 0; i < m.nparam; i++) {
		const tp_param *p = &m.param[i];
		if (p->part != TP_PART_ENCODER)
			continue;
		const tp_param *q = tp_model_param(&fx.m, p->name);
		ck_assert_ptr_nonnull(q);
		ck_assert_msg(memcmp(m.params + p->offset,
		    fx.m.params + q->offset, p->numel * sizeof(float)) == 0,
		    "%s not copied", p->name);
	}
	ck_assert(m.params[h->offset] == head0);
	tp_model_free(&m);

	/* Another encoding: a fourth value of c0. */
	make_encoding(&other, 4);
	ck_assert_str_ne(other.fingerprint, fx.enc.fingerprint);
	ck_assert_int_eq(tp_model_init(&m, &small, &other, 99, 1, &e), TP_OK);
	float first = m.params[0];
	ck_assert_int_eq(tp_model_load_encoder(&f, &m, &other, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg,
	    "the encoder was trained on encoding"));
	ck_assert_ptr_nonnull(strstr(e.msg, fx.path));
	ck_assert(m.params[0] == first);
	tp_model_free(&m);
	tp_encoding_free(&other);

	/* Other sizes, each in turn. */
	for (int k = 0; k < 4; k++) {
		cfg = small;
		switch (k) {
		case 0: cfg.layers = 3; break;
		case 1: cfg.d_model = 12; cfg.heads = 2; break;
		case 2: cfg.heads = 4; break;
		case 3: cfg.d_ff = 10; break;
		}
		ck_assert_int_eq(tp_model_init(&m, &cfg, &fx.enc, 99, 1, &e),
		    TP_OK);
		first = m.params[0];
		int rc = tp_model_load_encoder(&f, &m, &fx.enc, &e);
		ck_assert_msg(rc != TP_OK, "sizes %d taken", k);
		ck_assert_ptr_nonnull(strstr(e.msg, "the encoder has 2 layers, "
		    "d_model 8, 2 heads, feed-forward 12"));
		ck_assert(m.params[0] == first);
		tp_model_free(&m);
	}
	tp_st_close(&f);
	fixture_close(&fx);
}
END_TEST

/*
 * Every byte of the tensors' data flipped in turn, in place, at some
 * hundreds of places spread over all of it (a bit of each byte, the low
 * bits of a mantissa as well as the sign and the exponent): each load is
 * refused, naming the file and the digest that caught it. Without a
 * digest, such damage gave a model that loads and scores, only
 * differently.
 */
START_TEST(flipped_data)
{
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_st_file f;
	tp_err e = {0};
	size_t tried = 0, taken = 0;
	unsigned char b;

	fixture_open(&fx, TP_WITH_HEAD);
	fixture_save(&fx);
	ck_assert_int_eq(tp_st_open(&f, fx.path, &e), TP_OK);
	size_t data = f.data, len = f.len, step = (len - data) / 400;
	tp_st_close(&f);
	int fd = open(fx.path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	for (size_t at = data; at < len; at += step > 0 ? step : 1) {
		unsigned char bit = (unsigned char)(1 << (tried++ % 8));
		ck_assert_int_eq(pread(fd, &b, 1, (off_t)at), 1);
		b ^= bit;
		ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)at), 1);
		int rc = tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD,
		    1, &e);
		b ^= bit;
		ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)at), 1);
		if (rc == TP_OK) {
			taken++;
			tp_model_free(&m);
			tp_encoding_free(&enc);
			continue;
		}
		ck_assert_msg(rc == TP_EDATA, "byte %zu: status %d (%s)", at,
		    rc, e.msg);
		ck_assert_msg(strstr(e.msg, fx.path) != NULL,
		    "byte %zu: \"%s\" does not name the file", at, e.msg);
		ck_assert_msg(strstr(e.msg, "tensors_sha256") != NULL,
		    "byte %zu: refused for another reason: %s", at, e.msg);
	}
	ck_assert_int_eq(close(fd), 0);
	ck_assert_uint_ge(tried, 400);
	ck_assert_msg(taken == 0, "%zu of %zu flipped bytes taken", taken,
	    tried);
	/* Each byte put back, the file loads. */
	ck_assert_msg(tp_model_load(fx.path, &m, &enc, &meta, TP_WITH_HEAD, 1,
	    &e) == TP_OK, "%s", e.msg);
	same_weights(&m, &fx.m, TP_WITH_HEAD);
	tp_model_free(&m);
	tp_encoding_free(&enc);
	fixture_close(&fx);
}
END_TEST

/* A model file without the digest of its tensors (its member blanked out
 * in place, the JSON still valid) is refused as a model and as an
 * encoder, saying why; as a safetensors file it is read. */
START_TEST(no_digest)
{
	static const char member[] = ",\"tensors_sha256\":\"";
	char blank[sizeof(member) + 64 + 1];
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_st_file f;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_HEAD);
	fixture_save(&fx);
	ck_assert_int_eq(tp_st_open(&f, fx.path, &e), TP_OK);
	const char *at = memmem(f.buf, f.data, member, strlen(member));
	ck_assert_msg(at != NULL, "no tensors_sha256 in the header");
	off_t where = (off_t)(at - (const char *)f.buf);
	tp_st_close(&f);
	memset(blank, ' ', sizeof(blank) - 1);
	int fd = open(fx.path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, blank, sizeof(blank) - 1, where),
	    (ssize_t)sizeof(blank) - 1);
	ck_assert_int_eq(close(fd), 0);

	ck_assert_msg(tp_st_open(&f, fx.path, &e) == TP_OK, "%s", e.msg);
	ck_assert_ptr_null(tp_st_meta(&f, "tensors_sha256"));
	ck_assert_int_eq(f.verified, 0);
	ck_assert_int_eq(tp_model_parse(&f, &m, &enc, &meta, TP_WITH_HEAD, 1,
	    &e), TP_EDATA);
	ck_assert_ptr_null(m.params);
	ck_assert_int_eq(tp_model_init(&m, &small, &fx.enc, 99, 1, &e), TP_OK);
	float first = m.params[0];
	ck_assert_int_eq(tp_model_load_encoder(&f, &m, &fx.enc, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, fx.path));
	ck_assert_ptr_nonnull(strstr(e.msg, "no tensors_sha256"));
	ck_assert(m.params[0] == first);
	tp_model_free(&m);
	tp_st_close(&f);
	load_refused(&fx, "no digest", "no tensors_sha256");
	fixture_close(&fx);
}
END_TEST

static const char saved_history[] =
    "[{\"epoch\":1,\"loss\":0.52,\"valid_auc\":0.71,\"valid_loss\":0.49,"
    "\"best\":true},{\"epoch\":2,\"loss\":0.47,\"valid_auc\":null,"
    "\"valid_loss\":0.5,\"best\":false}]";

/* Loads fx's file with need and checks the history (NULL: none) and the
 * rule it gives; everything loaded is freed after. */
static void
history_is(const fixture *fx, int need, const char *history,
    const char *rule)
{
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	ck_assert_msg(tp_model_load(fx->path, &m, &enc, &meta, need, 1, &e) ==
	    TP_OK, "%s", e.msg);
	if (history == NULL)
		ck_assert_ptr_null(meta.history);
	else
		ck_assert_pstr_eq(meta.history, history);
	ck_assert_str_eq(meta.threshold_rule, rule);
	tp_model_meta_free(&meta);
	ck_assert_ptr_null(meta.history);
	tp_model_meta_free(&meta);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}

/* The history and the rule come back as saved, but the history only when
 * asked for: the loads that score never hold it, and so never have it to
 * free. */
START_TEST(history_round_trip)
{
	static const char rule[] = "best F1 on the validation rows";
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_st_file f;
	char *text;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_HEAD);
	/* Written compact, whatever the white space it was given in. */
	fx.meta.history = "[ {\"epoch\": 1, \"loss\": 0.52, \"valid_auc\": "
	    "0.71, \"valid_loss\": 0.49, \"best\": true},\n {\"epoch\": 2, "
	    "\"loss\": 0.47, \"valid_auc\": null, \"valid_loss\": 0.5, "
	    "\"best\": false} ]";
	snprintf(fx.meta.threshold_rule, sizeof(fx.meta.threshold_rule), "%s",
	    rule);
	fixture_save(&fx);
	history_is(&fx, TP_WITH_HEAD | TP_WITH_HISTORY, saved_history, rule);
	history_is(&fx, TP_WITH_HEAD, NULL, rule);
	/* TP_WITH_HISTORY is no part: it comes without the head, and the
	 * parts the file holds are still checked. */
	history_is(&fx, TP_WITH_HISTORY, saved_history, rule);
	ck_assert_int_eq(tp_model_load(fx.path, &m, &enc, &meta,
	    TP_WITH_PROJECTOR | TP_WITH_HISTORY, 1, &e), TP_EDATA);
	ck_assert_ptr_null(meta.history);

	ck_assert_int_eq(tp_st_open(&f, fx.path, &e), TP_OK);
	ck_assert_int_eq(tp_model_history(&f, &text, &e), TP_OK);
	ck_assert_str_eq(text, saved_history);
	free(text);
	tp_st_close(&f);

	/* An empty history is one: a run of no epochs. */
	fx.meta.history = "[]";
	fixture_save(&fx);
	history_is(&fx, TP_WITH_HEAD | TP_WITH_HISTORY, "[]", rule);
	fixture_close(&fx);
}
END_TEST

/* A file written before files had them (or by a caller that gives none)
 * loads, with no history and no rule; nothing is written for them. */
START_TEST(history_absent)
{
	fixture fx;
	tp_st_file f;
	char *text = (char *)"x";
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_HEAD);
	fixture_save(&fx);
	ck_assert_int_eq(tp_st_open(&f, fx.path, &e), TP_OK);
	ck_assert_ptr_null(tp_st_meta(&f, "history"));
	ck_assert_ptr_null(tp_st_meta(&f, "threshold_rule"));
	ck_assert_int_eq(tp_model_history(&f, &text, &e), TP_OK);
	ck_assert_ptr_null(text);
	tp_st_close(&f);
	history_is(&fx, TP_WITH_HEAD | TP_WITH_HISTORY, NULL, "");
	fixture_close(&fx);
}
END_TEST

/* A history that is no list of epochs is refused where it is read, with
 * the file and what is wrong, since a report would draw it wrong; a load
 * that does not ask for it is not stopped by it (the metadata are not
 * under the digest, and scoring does not need them). Saving one is
 * refused too, and writes nothing. */
START_TEST(history_malformed)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"[{\"epoch\":1", "it is not JSON"},
		{"{\"epoch\":1}", "it is not a JSON array"},
		{"[1,2]", "an element is not an object with a number \"epoch\""},
		{"[{\"loss\":0.5}]", "an element is not an object"},
		{"[{\"epoch\":\"1\"}]", "an element is not an object"},
	};
	fixture fx;
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	fixture_open(&fx, TP_WITH_HEAD);
	fx.meta.history = "[]";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		save_edited(&fx, "history", bad[i].text);
		ck_assert_msg(tp_model_load(fx.path, &m, &enc, &meta,
		    TP_WITH_HEAD | TP_WITH_HISTORY, 1, &e) == TP_EDATA,
		    "%s taken", bad[i].text);
		ck_assert_ptr_nonnull(strstr(e.msg, fx.path));
		ck_assert_msg(strstr(e.msg, "its history is not the epochs of a "
		    "training") != NULL && strstr(e.msg, bad[i].why) != NULL,
		    "%s: %s", bad[i].text, e.msg);
		ck_assert_ptr_null(meta.history);
		ck_assert_ptr_null(m.params);
		history_is(&fx, TP_WITH_HEAD, NULL, "");
	}

	unlink(fx.path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx.meta.history = (char *)bad[i].text;
		ck_assert_int_eq(tp_model_save(fx.path, &fx.m, &fx.enc, &fx.meta,
		    &e), TP_EUSAGE);
		ck_assert_ptr_nonnull(strstr(e.msg, bad[i].why));
		ck_assert_int_eq(access(fx.path, F_OK), -1);
	}
	fixture_close(&fx);
}
END_TEST

START_TEST(no_file)
{
	tp_model m;
	tp_encoding enc;
	tp_model_meta meta;
	tp_err e = {0};

	ck_assert_int_eq(tp_model_load("/nonexistent/m.safetensors", &m, &enc,
	    &meta, TP_WITH_HEAD, 1, &e), TP_ENOINPUT);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/m.safetensors"));
	tp_model_free(&m);
	tp_encoding_free(&enc);
}
END_TEST

Suite *
modelfile_suite(void)
{
	Suite *s = suite_create("modelfile");
	TCase *tc = tcase_create("modelfile");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, parse_from_file);
	tcase_add_test(tc, parts);
	tcase_add_test(tc, threshold);
	tcase_add_test(tc, not_finite);
	tcase_add_test(tc, metadata);
	tcase_add_test(tc, load_encoder);
	tcase_add_test(tc, flipped_data);
	tcase_add_test(tc, no_digest);
	tcase_add_test(tc, history_round_trip);
	tcase_add_test(tc, history_absent);
	tcase_add_test(tc, history_malformed);
	tcase_add_test(tc, no_file);
	suite_add_tcase(s, tc);
	return s;
}
