#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/modelfile.h"

static int
wanted(const tp_param *p, int parts)
{
	return p->part == TP_PART_ENCODER ||
	    (p->part == TP_PART_HEAD && (parts & TP_WITH_HEAD)) ||
	    (p->part == TP_PART_PROJECTOR && (parts & TP_WITH_PROJECTOR));
}

/* Room for the name of a tensor of a member: "members.", an int, "."
 * and the parameter's name. */
enum { MEMBER_NAME = sizeof(((tp_param *)0)->name) + 24 };

/* The name in the file of parameter `name` of member j: member 0 (a
 * single model) keeps the state_dict names, and member j > 0 has them
 * under "members.j.". */
static void
member_name(char out[MEMBER_NAME], const char *name, int j)
{
	if (j == 0)
		snprintf(out, MEMBER_NAME, "%s", name);
	else
		snprintf(out, MEMBER_NAME, "members.%d.%s", j, name);
}

/* Why text is not a history (a JSON array of objects, each with a number
 * "epoch"), or NULL when it is one. */
static const char *
history_fault(const char *text, cJSON **parsed)
{
	cJSON *j = cJSON_Parse(text), *item;

	*parsed = NULL;
	if (j == NULL)
		return "it is not JSON";
	if (!cJSON_IsArray(j)) {
		cJSON_Delete(j);
		return "it is not a JSON array";
	}
	cJSON_ArrayForEach(item, j)
		if (!cJSON_IsObject(item) || !cJSON_IsNumber(
		    cJSON_GetObjectItemCaseSensitive(item, "epoch"))) {
			cJSON_Delete(j);
			return "an element is not an object with a number \"epoch\"";
		}
	*parsed = j;
	return NULL;
}

void
tp_model_meta_free(tp_model_meta *meta)
{
	if (meta == NULL)
		return;
	free(meta->history);
	meta->history = NULL;
	tp_reference_free(&meta->reference);
	tp_reasons_free(&meta->reasons);
}

/* The reference and reasons of f, when it has them. */
static int
explain_members(const tp_st_file *f, const tp_encoding *enc,
    tp_model_meta *meta, tp_err *e)
{
	const char *ref = tp_st_meta(f, "reference");
	const char *reasons = tp_st_meta(f, "reasons");
	cJSON *j = NULL;
	int rc = TP_OK;

	if (ref != NULL) {
		if ((j = cJSON_Parse(ref)) == NULL)
			return tp_err_set(e, TP_EDATA,
			    "%s: its reference profile is not JSON", f->path);
		rc = tp_reference_from_json(&meta->reference, enc, j, f->path, e);
		cJSON_Delete(j);
	}
	if (rc == TP_OK && reasons != NULL) {
		if ((j = cJSON_Parse(reasons)) == NULL)
			return tp_err_set(e, TP_EDATA, "%s: its reasons are not JSON",
			    f->path);
		rc = tp_reasons_from_json(&meta->reasons, j, f->path, enc, e);
		cJSON_Delete(j);
	}
	return rc;
}

/* The JSON text of meta's reference and reasons, those it has, to free. */
static int
explain_texts(const tp_model_meta *meta, const tp_encoding *enc,
    char **ref, char **reasons, tp_err *e)
{
	cJSON *j;

	*ref = *reasons = NULL;
	if (meta->reference.rows > 0) {
		j = tp_reference_to_json(&meta->reference);
		*ref = j != NULL ? cJSON_PrintUnformatted(j) : NULL;
		cJSON_Delete(j);
		if (*ref == NULL)
			return tp_err_nomem(e, "a model's reference profile");
	}
	if (meta->reasons.lines > 0) {
		j = tp_reasons_to_json(&meta->reasons, enc);
		*reasons = j != NULL ? cJSON_PrintUnformatted(j) : NULL;
		cJSON_Delete(j);
		if (*reasons == NULL)
			return tp_err_nomem(e, "a model's reasons");
	}
	return TP_OK;
}

int
tp_model_history(const tp_st_file *f, char **history, tp_err *e)
{
	const char *text = tp_st_meta(f, "history"), *why;
	cJSON *j;

	*history = NULL;
	if (text == NULL)
		return TP_OK;
	if ((why = history_fault(text, &j)) != NULL)
		return tp_err_set(e, TP_EDATA, "%s: its history is not the "
		    "epochs of a training (%s): the file was edited by hand or "
		    "by another program", f->path, why);
	cJSON_Delete(j);
	if ((*history = strdup(text)) == NULL)
		return tp_err_nomem(e, "a model's history");
	return TP_OK;
}

int
tp_model_save(const char *path, const tp_model *m, const tp_encoding *enc,
    const tp_model_meta *meta, tp_err *e)
{
	size_t ntensors = (size_t)m->nparam * (size_t)m->nmembers;
	tp_tensor *t = calloc(ntensors, sizeof(*t));
	char (*names)[MEMBER_NAME] = calloc(ntensors, sizeof(*names));
	cJSON *md = cJSON_CreateObject(), *cfg = tp_config_to_json(&m->cfg);
	cJSON *ej = tp_encoding_to_json(enc);
	char *cfgs = cfg ? cJSON_PrintUnformatted(cfg) : NULL;
	char *encs = ej ? cJSON_PrintUnformatted(ej) : NULL, *hist = NULL;
	char *ref = NULL, *reasons = NULL;
	cJSON *hj = NULL;
	char thr[32], parts[64], members[16];
	const char *why;
	int n = 0, rc;

	if (t == NULL || names == NULL || md == NULL || cfgs == NULL || encs == NULL) {
		rc = tp_err_nomem(e, "a model file");
		goto out;
	}
	/* Checked here too, so that no file is written that its reader
	 * would refuse; written compact, so that the same history gives the
	 * same bytes. */
	if (meta->history != NULL) {
		if ((why = history_fault(meta->history, &hj)) != NULL) {
			rc = tp_err_set(e, TP_EUSAGE, "%s: the history to save is "
			    "not the epochs of a training (%s)", path, why);
			goto out;
		}
		if ((hist = cJSON_PrintUnformatted(hj)) == NULL) {
			rc = tp_err_nomem(e, "a model's history");
			goto out;
		}
	}
	if ((rc = explain_texts(meta, enc, &ref, &reasons, e)) != TP_OK)
		goto out;
	snprintf(thr, sizeof(thr), "%.9g", meta->threshold);
	snprintf(parts, sizeof(parts), "encoder%s%s",
	    meta->parts & TP_WITH_HEAD ? ",head" : "",
	    meta->parts & TP_WITH_PROJECTOR ? ",projector" : "");
	cJSON_AddStringToObject(md, "format", "tabpipe-model");
	cJSON_AddStringToObject(md, "parts", parts);
	cJSON_AddStringToObject(md, "config", cfgs);
	cJSON_AddStringToObject(md, "encoding", encs);
	cJSON_AddStringToObject(md, "threshold", thr);
	cJSON_AddStringToObject(md, "run_id", meta->run_id);
	cJSON_AddStringToObject(md, "data_fingerprint", meta->data_fingerprint);
	if (meta->threshold_rule[0] != '\0')
		cJSON_AddStringToObject(md, "threshold_rule", meta->threshold_rule);
	if (hist != NULL)
		cJSON_AddStringToObject(md, "history", hist);
	if (ref != NULL)
		cJSON_AddStringToObject(md, "reference", ref);
	if (reasons != NULL)
		cJSON_AddStringToObject(md, "reasons", reasons);
	if (m->nmembers > 1) {
		snprintf(members, sizeof(members), "%d", m->nmembers);
		cJSON_AddStringToObject(md, "members", members);
	}
	for (int j = 0; j < m->nmembers; j++) {
		const tp_model *mj = tp_model_member((tp_model *)m, j);
		for (int i = 0; i < m->nparam; i++) {
			const tp_param *p = &m->param[i];
			if (!wanted(p, meta->parts))
				continue;
			member_name(names[n], p->name, j);
			t[n].name = names[n];
			t[n].dtype = TP_F32;
			t[n].ndim = p->ndim;
			t[n].shape[0] = p->shape[0];
			t[n].shape[1] = p->shape[1];
			t[n].data = mj->params + p->offset;
			n++;
		}
	}
	rc = tp_st_save(path, t, n, md, e);
out:
	free(t);
	free(names);
	free(cfgs);
	free(encs);
	free(hist);
	free(ref);
	free(reasons);
	cJSON_Delete(hj);
	cJSON_Delete(md);
	cJSON_Delete(cfg);
	cJSON_Delete(ej);
	return rc;
}

/* Copies the tensors of the parts wanted of member j from f into m. */
static int
copy_tensors(const tp_st_file *f, tp_model *m, int j, int parts, tp_err *e)
{
	char name[MEMBER_NAME];

	for (int i = 0; i < m->nparam; i++) {
		const tp_param *p = &m->param[i];
		int64_t shape[2] = {p->shape[0], p->shape[1]};
		tp_tensor t;
		int rc;
		if (!wanted(p, parts))
			continue;
		member_name(name, p->name, j);
		if ((rc = tp_st_find(f, name, TP_F32, p->ndim, shape, &t, e)) != TP_OK)
			return rc;
		memcpy(m->params + p->offset, t.data, p->numel * sizeof(float));
		for (size_t k = 0; k < p->numel; k++)
			if (!isfinite(m->params[p->offset + k]))
				return tp_err_set(e, TP_EDATA,
				    "%s: tensor \"%s\" holds a value that is not finite",
				    f->path, name);
	}
	return TP_OK;
}

/* The members of an ensemble file ("members", absent for one model)
 * into *k. */
static int
parse_members(const tp_st_file *f, int *k, tp_err *e)
{
	const char *text = tp_st_meta(f, "members");
	char *end;
	long n;

	*k = 1;
	if (text == NULL)
		return TP_OK;
	n = strtol(text, &end, 10);
	if (end == text || *end != '\0' || n < 2 || n > TP_MAX_MEMBERS)
		return tp_err_set(e, TP_EDATA, "%s: its members \"%.32s\" are not "
		    "a number from 2 to %d", f->path, text, TP_MAX_MEMBERS);
	*k = (int)n;
	return TP_OK;
}

/* Members 2..k of an ensemble of k, of m's config, into m. */
static int
read_members(const tp_st_file *f, tp_model *m, const tp_encoding *enc,
    int k, int parts, tp_err *e)
{
	tp_model more[TP_MAX_MEMBERS - 1];
	int n = 0, rc = TP_OK;

	memset(more, 0, sizeof(more));
	for (; n < k - 1 && rc == TP_OK; n++)
		if ((rc = tp_model_init(&more[n], &m->cfg, enc, 0, m->nthreads,
		    e)) == TP_OK)
			rc = copy_tensors(f, &more[n], n + 1, parts, e);
	if (rc == TP_OK)
		rc = tp_model_join(m, more, k - 1, e);
	for (int j = 0; j < n; j++)
		tp_model_free(&more[j]);
	return rc;
}

/* A model file must carry the digest of its tensors, which tp_st_parse
 * checked: without it, damage to the weights would load and score. */
static int
need_digest(const tp_st_file *f, tp_err *e)
{
	if (f->verified)
		return TP_OK;
	return tp_err_set(e, TP_EDATA,
	    "%s: no " TP_ST_DIGEST " in its __metadata__, so its tensors cannot "
	    "be checked (a model file of tabpipe always has it: write the file "
	    "again with tabpipe-train or tabpipe-pretrain)", f->path);
}

static int
parse_parts(const char *s)
{
	int parts = 0;

	if (s == NULL)
		return -1;
	if (strstr(s, "head") != NULL)
		parts |= TP_WITH_HEAD;
	if (strstr(s, "projector") != NULL)
		parts |= TP_WITH_PROJECTOR;
	return parts;
}

int
tp_model_load(const char *path, tp_model *m, tp_encoding *enc,
    tp_model_meta *meta, int need, int nthreads, tp_err *e)
{
	tp_st_file f;
	int rc;

	memset(m, 0, sizeof(*m));
	memset(enc, 0, sizeof(*enc));
	memset(meta, 0, sizeof(*meta));
	if ((rc = tp_st_open(&f, path, e)) != TP_OK)
		return rc;
	rc = tp_model_parse(&f, m, enc, meta, need, nthreads, e);
	tp_st_close(&f);
	return rc;
}

int
tp_model_parse(const tp_st_file *f, tp_model *m, tp_encoding *enc,
    tp_model_meta *meta, int need, int nthreads, tp_err *e)
{
	const char *path = f->path;
	tp_config cfg;
	cJSON *j = NULL;
	int members, rc;

	memset(m, 0, sizeof(*m));
	memset(enc, 0, sizeof(*enc));
	memset(meta, 0, sizeof(*meta));
	const char *format = tp_st_meta(f, "format");
	const char *cfgs = tp_st_meta(f, "config");
	const char *encs = tp_st_meta(f, "encoding");
	const char *thr = tp_st_meta(f, "threshold");
	meta->parts = parse_parts(tp_st_meta(f, "parts"));
	if (format == NULL || strcmp(format, "tabpipe-model") != 0 ||
	    cfgs == NULL || encs == NULL || thr == NULL || meta->parts < 0) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: not a tabpipe model (its __metadata__ lacks format, parts, config, encoding or threshold)",
		    path);
		goto out;
	}
	if ((rc = need_digest(f, e)) != TP_OK)
		goto out;
	if ((need & TP_WITH_HISTORY) &&
	    (rc = tp_model_history(f, &meta->history, e)) != TP_OK)
		goto out;
	int explain = need & TP_WITH_EXPLAIN;
	need &= ~(TP_WITH_HISTORY | TP_WITH_EXPLAIN);
	if ((need & meta->parts) != need) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: holds %s, not the %s this needs (a pretrained encoder is not a classifier: train one with tabpipe-train --encoder)",
		    path, tp_st_meta(f, "parts"),
		    need & TP_WITH_HEAD ? "classifier head" : "projector");
		goto out;
	}
	char *end;
	meta->threshold = strtod(thr, &end);
	if (end == thr || *end != '\0' || !(meta->threshold >= 0 &&
	    meta->threshold <= 1)) {
		rc = tp_err_set(e, TP_EDATA, "%s: its threshold \"%.32s\" is not a "
		    "number from 0 to 1", path, thr);
		goto out;
	}
	memcpy(meta->sha256, f->sha256, sizeof(meta->sha256));
	snprintf(meta->run_id, sizeof(meta->run_id), "%s",
	    tp_st_meta(f, "run_id") ? tp_st_meta(f, "run_id") : "");
	snprintf(meta->data_fingerprint, sizeof(meta->data_fingerprint), "%s",
	    tp_st_meta(f, "data_fingerprint") ?
	    tp_st_meta(f, "data_fingerprint") : "");
	snprintf(meta->threshold_rule, sizeof(meta->threshold_rule), "%s",
	    tp_st_meta(f, "threshold_rule") ?
	    tp_st_meta(f, "threshold_rule") : "");
	if ((j = cJSON_Parse(cfgs)) == NULL ||
	    (rc = tp_config_from_json(&cfg, j, e)) != TP_OK) {
		rc = j == NULL ? tp_err_set(e, TP_EDATA, "config is not JSON") : rc;
		tp_err_prefix(e, "%s", path);
		goto out;
	}
	cJSON_Delete(j);
	if ((j = cJSON_Parse(encs)) == NULL) {
		rc = tp_err_set(e, TP_EDATA, "%s: encoding is not JSON", path);
		goto out;
	}
	if ((rc = parse_members(f, &members, e)) != TP_OK ||
	    (rc = tp_encoding_from_json(enc, j, path, e)) != TP_OK ||
	    (rc = tp_model_init(m, &cfg, enc, 0, nthreads, e)) != TP_OK ||
	    (rc = copy_tensors(f, m, 0, meta->parts, e)) != TP_OK ||
	    (rc = read_members(f, m, enc, members, meta->parts, e)) != TP_OK ||
	    (explain && (rc = explain_members(f, enc, meta, e)) != TP_OK))
		goto out;
out:
	cJSON_Delete(j);
	if (rc != TP_OK) {
		tp_model_free(m);
		tp_encoding_free(enc);
		tp_model_meta_free(meta);
	}
	return rc;
}

int
tp_model_load_encoder(const tp_st_file *f, tp_model *m,
    const tp_encoding *enc, tp_err *e)
{
	const char *path = f->path;
	const char *encs = tp_st_meta(f, "encoding");
	const char *cfgs = tp_st_meta(f, "config");
	cJSON *ej = encs ? cJSON_Parse(encs) : NULL, *cj = cfgs ? cJSON_Parse(cfgs) : NULL;
	const cJSON *fp = cJSON_GetObjectItemCaseSensitive(ej, "fingerprint");
	tp_config cfg;
	int rc;

	if (!cJSON_IsString(fp) || cj == NULL)
		rc = tp_err_set(e, TP_EDATA, "%s: not a tabpipe model (no encoding or config in its metadata)", path);
	else
		rc = need_digest(f, e);
	if (rc == TP_OK && strcmp(fp->valuestring, enc->fingerprint) != 0)
		rc = tp_err_set(e, TP_EDATA,
		    "%s: the encoder was trained on encoding %.12s..., the data is encoded with %.12s...: ingest the data with the encoder's encoding",
		    path, fp->valuestring, enc->fingerprint);
	if (rc == TP_OK && (rc = tp_config_from_json(&cfg, cj, e)) == TP_OK) {
		if (cfg.layers != m->cfg.layers || cfg.d_model != m->cfg.d_model ||
		    cfg.heads != m->cfg.heads || cfg.d_ff != m->cfg.d_ff)
			rc = tp_err_set(e, TP_EUSAGE,
			    "%s: the encoder has %d layers, d_model %d, %d heads, feed-forward %d; the model asked for %d, %d, %d, %d",
			    path, cfg.layers, cfg.d_model, cfg.heads, cfg.d_ff,
			    m->cfg.layers, m->cfg.d_model, m->cfg.heads, m->cfg.d_ff);
		else
			rc = copy_tensors(f, m, 0, 0, e);
	}
	cJSON_Delete(ej);
	cJSON_Delete(cj);
	return rc;
}
