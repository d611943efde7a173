#include <stddef.h>
#include <string.h>

#include "model/config.h"

const tp_config tp_default_config = {
	.layers = 6,
	.d_model = 32,
	.heads = 4,
	.d_ff = 64,
	.head_hidden = 64,
	.proj_dim = 32,
	.dropout = 0.1f,
	.activation = TP_GELU,
};

int
tp_config_check(const tp_config *c, tp_err *e)
{
	if (c->layers < 1 || c->layers > 64 || c->d_model < 1 ||
	    c->d_model > 4096 || c->heads < 1 || c->d_model % c->heads != 0 ||
	    c->d_ff < 1 || c->d_ff > 65536 || c->head_hidden < 1 ||
	    c->head_hidden > 65536 || c->proj_dim < 1 || c->proj_dim > 65536 ||
	    !(c->dropout >= 0 && c->dropout < 1))
		return tp_err_set(e, TP_EUSAGE,
		    "bad model size: %d layers, d_model %d, %d heads (d_model must be a multiple), feed-forward %d, head %d, projection %d, dropout %g",
		    c->layers, c->d_model, c->heads, c->d_ff, c->head_hidden,
		    c->proj_dim, (double)c->dropout);
	return TP_OK;
}

cJSON *
tp_config_to_json(const tp_config *c)
{
	cJSON *j = cJSON_CreateObject();

	if (j == NULL)
		return NULL;
	cJSON_AddNumberToObject(j, "layers", c->layers);
	cJSON_AddNumberToObject(j, "d_model", c->d_model);
	cJSON_AddNumberToObject(j, "heads", c->heads);
	cJSON_AddNumberToObject(j, "d_ff", c->d_ff);
	cJSON_AddNumberToObject(j, "head_hidden", c->head_hidden);
	cJSON_AddNumberToObject(j, "proj_dim", c->proj_dim);
	cJSON_AddNumberToObject(j, "dropout", c->dropout);
	cJSON_AddStringToObject(j, "activation",
	    c->activation == TP_GELU ? "gelu" : "relu");
	return j;
}

int
tp_config_from_json(tp_config *c, const cJSON *j, tp_err *e)
{
	static const struct { const char *key; size_t off; } ints[] = {
		{"layers", offsetof(tp_config, layers)},
		{"d_model", offsetof(tp_config, d_model)},
		{"heads", offsetof(tp_config, heads)},
		{"d_ff", offsetof(tp_config, d_ff)},
		{"head_hidden", offsetof(tp_config, head_hidden)},
		{"proj_dim", offsetof(tp_config, proj_dim)},
	};
	const cJSON *v;

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(j, ints[i].key);
		if (!cJSON_IsNumber(v) || v->valuedouble != (int)v->valuedouble)
			return tp_err_set(e, TP_EDATA,
			    "model config: \"%s\" must be an integer", ints[i].key);
		*(int *)((char *)c + ints[i].off) = (int)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "dropout");
	if (!cJSON_IsNumber(v))
		return tp_err_set(e, TP_EDATA, "model config: \"dropout\" must be a number");
	c->dropout = (float)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(j, "activation");
	if (!cJSON_IsString(v) || (strcmp(v->valuestring, "gelu") != 0 &&
	    strcmp(v->valuestring, "relu") != 0))
		return tp_err_set(e, TP_EDATA,
		    "model config: \"activation\" must be \"gelu\" or \"relu\"");
	c->activation = strcmp(v->valuestring, "gelu") == 0 ? TP_GELU : TP_RELU;
	return tp_config_check(c, e);
}
