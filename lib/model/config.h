/*
 * config: the TabTransformer's sizes (lib/model/model.h describes the
 * architecture), their defaults and limits, and their JSON form, which a
 * model file keeps in its metadata.
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/option.h"

enum tp_activation { TP_GELU, TP_RELU };

typedef struct {
	int layers;         /* L, transformer layers */
	int d_model;        /* C */
	int heads;          /* NH; C must be a multiple */
	int d_ff;           /* feed-forward hidden size */
	int head_hidden;    /* H of the classifier and projector heads */
	int proj_dim;       /* P, projector output */
	float dropout;      /* rate of every dropout */
	enum tp_activation activation; /* of the feed-forward */
	int additive;       /* the classifier's log-odds are added to an
	                       additive regression's (model/additive.h) */
} tp_config;

extern const tp_config tp_default_config;
/* The sizes as options (lib/base/option.h): --layers, --d-model, ... */
extern const tp_opt tp_config_options[];

/* The config as JSON, and back (with its checks); both from
 * tp_config_options. */
cJSON *tp_config_to_json(const tp_config *cfg);
int tp_config_from_json(tp_config *cfg, const cJSON *json, tp_err *e);
int tp_config_check(const tp_config *cfg, tp_err *e);

#endif
