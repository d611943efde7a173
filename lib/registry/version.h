/*
 * version: the registered versions of models. Registering a model file as
 * a model's next version, finding the version a reference names, and
 * loading the model of a reference: the one resolver every tool uses.
 *
 * A reference is a file name, or "NAME@STAGE" (stage production, staging,
 * none or archived, any case: the newest version in it), "NAME@N" (version
 * N) or "NAME@latest". A registered version's file is read once: the
 * SHA-256 that is checked against the registry's is that of the bytes
 * that are then parsed, so a file replaced after it was registered is
 * refused, never loaded unchecked.
 */
#ifndef TP_VERSION_H
#define TP_VERSION_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "data/encoding.h"
#include "db/db.h"
#include "model/model.h"
#include "model/modelfile.h"

typedef struct {
	int64_t id;           /* model_versions.id; 0 for none */
	int version;
	char stage[16];
	char sha256[65];
	char *path;           /* to free */
} tp_model_version;

/* Registers a model file as the next version of model name (created on
 * first use); *version gets its number. */
int tp_version_register(tp_db *db, const char *name, const char *path,
    const char *sha256, int64_t run, const cJSON *metrics, int *version,
    tp_err *e);

/* Whether s reads as a registry reference rather than a file name: it
 * names no existing file and holds an '@' after a non-empty name. */
int tp_version_is_ref(const char *s);

/* The version ref names, as the registry has it (its file unread);
 * TP_EUSAGE when ref is not a reference, TP_ENOINPUT when no version
 * matches. */
int tp_version_find(tp_db *db, const char *ref, tp_model_version *out,
    tp_err *e);
/* The same, and its file checked: it must still have the registered
 * SHA-256 (TP_EDATA otherwise). */
int tp_version_resolve(tp_db *db, const char *ref, tp_model_version *out,
    tp_err *e);
/* The newest registered version whose file has this SHA-256; out->id is 0
 * when none has. */
int tp_version_by_sha256(tp_db *db, const char *sha256,
    tp_model_version *out, tp_err *e);
void tp_version_free(tp_model_version *v); /* accepts a zeroed v */

/* A model loaded from a reference. */
typedef struct {
	tp_model model;
	tp_encoding enc;          /* the encoding stored in the model file */
	tp_model_meta meta;       /* threshold, run, the SHA-256 of the bytes */
	char *path;               /* the file loaded */
	tp_model_version version; /* the registered version it is; id 0 when
	                             none or without a database */
} tp_versioned_model;

/* Loads the model ref names: a file, or with a database a registry
 * reference (a file given by name gets its registered version, if it is
 * one). need and nthreads are tp_model_load's. vm is initialised here. */
int tp_version_load(tp_versioned_model *vm, tp_db *db, const char *ref,
    int need, int nthreads, tp_err *e);
void tp_versioned_model_free(tp_versioned_model *vm); /* accepts zeroed */

#endif
