#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve/card.h"

/* The file's name without its folder and the usual suffix. */
static char *
file_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strlen(base);
	if (n > 12 && strcmp(base + n - 12, ".safetensors") == 0)
		n -= 12;
	return strndup(base, n);
}

/* What the registry holds of a registered version and its training data:
 * its name, stage and metrics, and the rows of the data set of the
 * model's fingerprint (ingest's record, or else the training run's); nulls
 * for a file that is no version. */
static int
registry(cJSON *card, char **name, const tp_predictor *p, tp_db *db,
    tp_err *e)
{
	char id[24];
	const char *params[2] = {id, p->vm.meta.data_fingerprint};
	PGresult *r = NULL;
	int rc;

	snprintf(id, sizeof(id), "%lld", (long long)p->vm.version.id);
	if (db != NULL && p->vm.version.id > 0 && (rc = tp_db_exec(db,
	    "SELECT m.name, v.stage, v.metrics::text, coalesce((SELECT d.rows "
	    "FROM datasets d WHERE d.fingerprint = $2 ORDER BY d.id DESC "
	    "LIMIT 1), (r.inputs->>'train_rows')::bigint) "
	    "FROM model_versions v JOIN models m ON m.id = v.model_id "
	    "LEFT JOIN runs r ON r.id = v.run_id WHERE v.id = $1", 2, params,
	    &r, e)) != TP_OK)
		return rc;
	if (r != NULL && PQntuples(r) == 1) {
		cJSON *metrics = cJSON_Parse(PQgetvalue(r, 0, 2));
		*name = strdup(PQgetvalue(r, 0, 0));
		cJSON_AddStringToObject(card, "stage", PQgetvalue(r, 0, 1));
		cJSON_AddItemToObject(card, "metrics", metrics != NULL ?
		    metrics : cJSON_CreateNull());
		if (PQgetisnull(r, 0, 3))
			cJSON_AddNullToObject(card, "rows");
		else
			cJSON_AddNumberToObject(card, "rows",
			    atof(PQgetvalue(r, 0, 3)));
	} else {
		*name = file_name(p->vm.path);
		cJSON_AddNullToObject(card, "stage");
		cJSON_AddNullToObject(card, "metrics");
		cJSON_AddNullToObject(card, "rows");
	}
	PQclear(r);
	if (*name == NULL)
		return tp_err_nomem(e, "a model's name");
	return TP_OK;
}

static cJSON *
columns(const tp_encoding *enc)
{
	cJSON *cols = cJSON_CreateArray();

	for (int i = 0; i < enc->ncols; i++) {
		const tp_column *c = &enc->cols[i];
		if (c->kind != TP_KIND_NUMERIC && c->kind != TP_KIND_CATEGORICAL)
			continue;
		cJSON *col = cJSON_CreateObject();
		cJSON_AddStringToObject(col, "name", c->name);
		cJSON_AddStringToObject(col, "kind", tp_kind_name(c->kind));
		if (c->kind == TP_KIND_CATEGORICAL) {
			cJSON *v = cJSON_AddArrayToObject(col, "categories");
			for (size_t k = 0; k < c->vocab.n; k++)
				cJSON_AddItemToArray(v,
				    cJSON_CreateString(c->vocab.keys[k]));
		} else {
			cJSON_AddNumberToObject(col, "mean", c->mean);
			cJSON_AddNumberToObject(col, "std", c->std);
		}
		/* The model learns a missing value of every feature. */
		cJSON_AddBoolToObject(col, "nullable", 1);
		cJSON_AddItemToArray(cols, col);
	}
	return cols;
}

/* Moves the registry's fields, added to from, into to in their place. */
static void
take(cJSON *to, cJSON *from, const char *key)
{
	cJSON_AddItemToObject(to, key, cJSON_DetachItemFromObject(from, key));
}

int
tp_card_make(tp_card *c, const tp_predictor *p, tp_db *db, tp_err *e)
{
	const tp_encoding *enc = &p->vm.enc;
	cJSON *card = cJSON_CreateObject(), *reg = cJSON_CreateObject();
	cJSON *model = cJSON_CreateObject(), *training;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = registry(reg, &c->name, p, db, e)) != TP_OK)
		goto out;
	cJSON_AddStringToObject(model, "name", c->name);
	if (p->vm.version.version > 0)
		cJSON_AddNumberToObject(model, "version", p->vm.version.version);
	else
		cJSON_AddNullToObject(model, "version");
	cJSON_AddStringToObject(model, "sha256", p->vm.meta.sha256);

	cJSON_AddStringToObject(card, "name", c->name);
	cJSON_AddItemToObject(card, "version", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(model, "version"), 1));
	take(card, reg, "stage");
	cJSON_AddStringToObject(card, "sha256", p->vm.meta.sha256);
	cJSON_AddNumberToObject(card, "threshold", p->vm.meta.threshold);
	if (enc->target_col >= 0)
		cJSON_AddStringToObject(card, "target",
		    enc->cols[enc->target_col].name);
	cJSON_AddStringToObject(card, "positive_label",
	    enc->labels[1] != NULL ? enc->labels[1] : "");
	if (enc->id_col >= 0)
		cJSON_AddStringToObject(card, "id", enc->cols[enc->id_col].name);
	cJSON_AddItemToObject(card, "columns", columns(enc));
	cJSON_AddStringToObject(card, "encoding", enc->fingerprint);
	training = cJSON_AddObjectToObject(card, "training");
	if (p->vm.meta.data_fingerprint[0] != '\0')
		cJSON_AddStringToObject(training, "fingerprint",
		    p->vm.meta.data_fingerprint);
	else
		cJSON_AddNullToObject(training, "fingerprint");
	take(training, reg, "rows");
	if (p->vm.meta.run_id[0] != '\0')
		cJSON_AddStringToObject(training, "run", p->vm.meta.run_id);
	take(card, reg, "metrics");
	cJSON_AddItemToObject(card, "config",
	    tp_config_to_json(&p->vm.model.cfg));
	cJSON_AddNumberToObject(card, "members", p->vm.model.nmembers);
	if ((c->model = cJSON_PrintUnformatted(model)) == NULL ||
	    (c->card = cJSON_PrintUnformatted(card)) == NULL)
		rc = tp_err_nomem(e, "the model's card");
out:
	cJSON_Delete(card);
	cJSON_Delete(reg);
	cJSON_Delete(model);
	if (rc != TP_OK)
		tp_card_free(c);
	return rc;
}

int
tp_card_explain(tp_card *c, const tp_model_meta *meta, const tp_why_opts *o,
    tp_err *e)
{
	cJSON *card = cJSON_Parse(c->card), *x;
	char *text = NULL;

	if (card == NULL)
		return tp_err_nomem(e, "the model's card");
	if (meta == NULL || meta->reference.rows == 0) {
		cJSON_AddNullToObject(card, "explain");
	} else {
		x = cJSON_AddObjectToObject(card, "explain");
		cJSON_AddNumberToObject(x, "max", o->k);
		cJSON_AddNumberToObject(x, "steps", o->steps);
		cJSON_AddNumberToObject(x, "reference_rows",
		    (double)meta->reference.rows);
		cJSON_AddNumberToObject(x, "reason_texts", meta->reasons.lines);
	}
	text = cJSON_PrintUnformatted(card);
	cJSON_Delete(card);
	if (text == NULL)
		return tp_err_nomem(e, "the model's card");
	free(c->card);
	c->card = text;
	return TP_OK;
}

void
tp_card_free(tp_card *c)
{
	free(c->name);
	free(c->model);
	free(c->card);
	memset(c, 0, sizeof(*c));
}
