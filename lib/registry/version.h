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
 * never loaded unchecked.
 *
 * The database keeps the bytes of every version registered since its
 * migration 4 (model_blobs, by SHA-256, once however many versions share
 * them), so that a machine that never saw the file loads a reference: a
 * version whose file is missing, or no longer has its SHA-256, is read
 * from the model cache, a folder of files named by their SHA-256, and
 * fetched from the database into it when the cache has no copy or a copy
 * with other bytes. The cache is TABPIPE_MODEL_CACHE, or else
 * $TABPIPE_HOME/cache/models, or else var/cache/models (as the scripts keep
 * their state in var); its missing folders are made, 0700. A version
 * registered before migration 4 has only its file.
 */
#ifndef TP_VERSION_H
#define TP_VERSION_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "data/encoding.h"
#include "db/db.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "model/safetensors.h"

typedef struct {
	int64_t id;           /* model_versions.id; 0 for none */
	int version;
	char stage[16];
	char sha256[65];
	char *path;           /* to free */
	int stored;           /* the database holds its bytes */
} tp_model_version;

/* Registers a model file as the next version of model name (created on
 * first use), its bytes kept in the database in the same transaction;
 * *version gets its number. sha256 is the file's, as the caller took it: a
 * file whose bytes no longer have it is refused (TP_EDATA). */
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
/* The same, and its bytes found: kept in the database, or else in its
 * file, which must still have the registered SHA-256 (TP_EDATA
 * otherwise). */
int tp_version_resolve(tp_db *db, const char *ref, tp_model_version *out,
    tp_err *e);
/* Reads the bytes of version v, which ref named, as tp_st_read does (f is
 * initialised here, and unparsed): its file when it has the registered
 * SHA-256; when it does not and the database holds the bytes, the cache's
 * copy, fetched first when the cache has none with that SHA-256.
 * f->path is the file read. */
int tp_version_read(tp_db *db, const char *ref, const tp_model_version *v,
    tp_st_file *f, tp_err *e);
/* The model cache's folder (the top of this header), in buf of n bytes;
 * TP_EUSAGE when it does not fit. */
int tp_version_cache(char *buf, size_t n, tp_err *e);
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
	char *path;               /* the file loaded: the version's, or
	                             its copy in the model cache */
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
