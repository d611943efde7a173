/*
 * safetensors: the file format of model files (and of the reference
 * tensors the tests compare with).
 *
 *   8 bytes   N, the length of the header, uint64 little-endian
 *   N bytes   a JSON object: for each tensor, "name": {"dtype": "F32",
 *             "shape": [..], "data_offsets": [begin, end]} with offsets
 *             relative to the end of the header; and "__metadata__", an
 *             object of string values
 *   the data  the tensors' bytes, little-endian, back to back
 *
 * As Hugging Face's safetensors defines it, so that
 * safetensors.torch.load_file reads what tabpipe writes. The reader checks
 * that every tensor's offsets lie inside the file, match its dtype and
 * shape, and that the tensors neither overlap nor leave gaps.
 *
 * The format has no checksum of its own, so the writer adds one to the
 * metadata: "tensors_sha256", the SHA-256 of the data (every byte after
 * the header) as 64 lowercase hex digits. The reader checks it when it is
 * there and refuses a file whose data does not match; a file of another
 * writer, without it, is read unverified (tp_st_file.verified says which).
 */
#ifndef TP_SAFETENSORS_H
#define TP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"

enum tp_dtype { TP_F32, TP_I32, TP_I8 };

typedef struct {
	const char *name;
	enum tp_dtype dtype;
	int ndim;
	int64_t shape[4];
	const void *data;
} tp_tensor;

/* The metadata's member holding the SHA-256 of the data. */
#define TP_ST_DIGEST "tensors_sha256"

/* Writes the tensors and the metadata (an object of strings, may be NULL;
 * its own TP_ST_DIGEST, if any, is replaced by the data's) to path
 * atomically. */
int tp_st_save(const char *path, const tp_tensor *t, int n,
    const cJSON *metadata, tp_err *e);

/* A file as read: once, whole, so that its SHA-256 is of the very bytes
 * that are parsed (a file replaced between a hash and a parse of two reads
 * would be loaded unchecked). */
typedef struct {
	char *path;
	unsigned char *buf;   /* the whole file */
	size_t len;
	char sha256[65];      /* of buf, as hex */
	cJSON *header;        /* the parsed header */
	size_t data;          /* offset of the data in buf */
	int verified;         /* the data matched its TP_ST_DIGEST (parsed
	                         files only; 0: the file had none) */
} tp_st_file;

/* Reads path whole and parses its header: tp_st_read, then tp_st_parse. */
int tp_st_open(tp_st_file *f, const char *path, tp_err *e);
/* Reads path whole and hashes it, parsing nothing yet: a caller that
 * expects certain bytes checks the hash before it believes the content. */
int tp_st_read(tp_st_file *f, const char *path, tp_err *e);
/* Parses and checks the header of a file tp_st_read has read, and the
 * data against its digest when the metadata has one. Both close f on
 * failure. */
int tp_st_parse(tp_st_file *f, tp_err *e);
void tp_st_close(tp_st_file *f); /* accepts a zeroed f */

/* Finds a tensor, checking its dtype and shape (shape NULL: any); fills
 * out with a pointer into the file's buffer. */
int tp_st_find(const tp_st_file *f, const char *name, enum tp_dtype dtype,
    int ndim, const int64_t *shape, tp_tensor *out, tp_err *e);
/* A metadata value, or NULL. */
const char *tp_st_meta(const tp_st_file *f, const char *key);

#endif
