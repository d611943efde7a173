#include <stddef.h>

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

static const char *const activations[] = {"gelu", "relu", NULL};

#define SIZE(field, option, lo, hi, text) {.key = #field, .name = option, \
	.arg = "n", .type = TP_OPT_INT, .offset = offsetof(tp_config, field), \
	.min = lo, .max = hi, .flags = TP_OPT_RECORD | TP_OPT_SIGN, .help = text}

/* In the order of the model file's "config" JSON. */
const tp_opt tp_config_options[] = {
	SIZE(layers, "layers", 1, 64, "transformer layers"),
	SIZE(d_model, "d-model", 1, 4096, "the size of a token"),
	SIZE(heads, "heads", 1, 4096, "attention heads, a divisor of --d-model"),
	SIZE(d_ff, "d-ff", 1, 65536, "the feed-forward's hidden size"),
	SIZE(head_hidden, "head-hidden", 1, 65536,
	    "the hidden size of the classifier and projector heads"),
	SIZE(proj_dim, NULL, 1, 65536, "the projector's output size"),
	{.key = "dropout", .name = "dropout", .arg = "p", .type = TP_OPT_FLOAT,
	    .offset = offsetof(tp_config, dropout), .min = 0, .max = 0.99,
	    .flags = TP_OPT_RECORD | TP_OPT_SIGN,
	    .help = "the rate of every dropout"},
	{.key = "activation", .name = "activation", .type = TP_OPT_CHOICE,
	    .offset = offsetof(tp_config, activation), .choices = activations,
	    .flags = TP_OPT_RECORD | TP_OPT_SIGN,
	    .help = "the feed-forward's activation"},
	/* Its option is tabpipe-train's (tp_classify_options): an encoder
	 * has no classifier to add it to. */
	{.key = "additive", .type = TP_OPT_FLAG,
	    .offset = offsetof(tp_config, additive),
	    .flags = TP_OPT_RECORD | TP_OPT_SIGN},
	{0},
};

int
tp_config_check(const tp_config *c, tp_err *e)
{
	int rc;

	if ((rc = tp_opt_check(tp_config_options, c, "bad model size", e)) !=
	    TP_OK)
		return rc;
	if (c->d_model % c->heads != 0)
		return tp_err_set(e, TP_EUSAGE, "bad model size: %d heads do not "
		    "divide d_model %d", c->heads, c->d_model);
	return TP_OK;
}

cJSON *
tp_config_to_json(const tp_config *c)
{
	cJSON *j = cJSON_CreateObject();

	if (j != NULL && tp_opt_json(tp_config_options, c, TP_OPT_RECORD, j,
	    NULL) != TP_OK) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int
tp_config_from_json(tp_config *c, const cJSON *j, tp_err *e)
{
	int rc;

	if ((rc = tp_opt_from_json(tp_config_options, c, TP_OPT_RECORD, j,
	    "model config", e)) != TP_OK)
		return rc;
	return tp_config_check(c, e);
}
