/*
 * fileio: outputs that appear under their final name only when complete,
 * whole-file reads, and the hash of a file.
 *
 * An output file is written to a temporary file in the same folder, then
 * flushed, fsync'ed and renamed over the final name, so that a reader never
 * sees half a file and a crash leaves the old one in place. "-" means
 * standard output; it, and a path that is not a plain file (a device, a
 * pipe, a link), are written in place.
 */
#ifndef TP_FILEIO_H
#define TP_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

typedef struct {
	FILE *f;      /* where to write */
	char *path;   /* the final name; NULL for standard output */
	char *tmp;    /* the temporary name; NULL for standard output */
	int direct;   /* path is a device, pipe or link, written in place */
} tp_outfile;

int tp_outfile_open(tp_outfile *o, const char *path, tp_err *e);
/* Flushes, syncs and renames; on failure the temporary file is removed. */
int tp_outfile_commit(tp_outfile *o, tp_err *e);
/* Closes and removes the temporary file; accepts a zeroed or committed o. */
void tp_outfile_abort(tp_outfile *o);

/* Reads a whole file ("-" for standard input) into a NUL-terminated buffer. */
int tp_read_file(const char *path, char **buf, size_t *len, tp_err *e);

/* The SHA-256 of a file's bytes ("-" for standard input), as hex. */
int tp_file_sha256(const char *path, char out[65], tp_err *e);

/* Opens an input file, "-" for standard input; the name in messages. */
int tp_open_input(const char *path, FILE **f, tp_err *e);
void tp_close_input(FILE *f); /* leaves standard input open */

/* An anonymous temporary file for reading and writing, in $TMPDIR (or
 * /tmp), gone when closed: unlike tmpfile(3), it honours TMPDIR. NULL with
 * errno set on failure. */
FILE *tp_tmpfile(void);

#endif
