/*
 * fileio: outputs that appear under their final name only when complete,
 * whole-file reads, and the hash of a file.
 *
 * An output file is written to a file without a name in the final folder
 * (open(2)'s O_TMPFILE), then flushed, fsync'ed and given its name: linked
 * there when the name is free, or else linked to a temporary name beside
 * it and renamed over it. So a reader never sees half a file, a crash
 * leaves the old one in place, and a writer killed on the way leaves
 * nothing behind: the kernel frees a file that never got a name. Where the
 * file system has no O_TMPFILE (or /proc is not there to link it from),
 * the file is written under the temporary name NAME.tmp.XXXXXX from the
 * start, which a killed writer leaves. "-" means standard output; it, and
 * a path that is not a plain file (a device, a pipe, a link), are written
 * in place.
 */
#ifndef TP_FILEIO_H
#define TP_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

typedef struct {
	FILE *f;      /* where to write */
	char *path;   /* the final name; NULL for standard output */
	char *tmp;    /* the temporary name, where the file has one from the
	                 start (no O_TMPFILE); NULL otherwise */
	int direct;   /* path is a device, pipe or link, written in place */
	int nameless; /* an O_TMPFILE file, named only by the commit */
} tp_outfile;

int tp_outfile_open(tp_outfile *o, const char *path, tp_err *e);
/* Flushes, syncs and names the file; on failure the file is removed. */
int tp_outfile_commit(tp_outfile *o, tp_err *e);
/* Closes and removes the temporary file; accepts a zeroed or committed o. */
void tp_outfile_abort(tp_outfile *o);
/* With yes, outputs are written under the temporary name even where the
 * file system has O_TMPFILE, as where it has not (for the tests, which
 * check both ways). Not thread-safe: call it before writing starts. */
void tp_outfile_use_names(int yes);

/* Reads a whole file ("-" for standard input) into a NUL-terminated buffer. */
int tp_read_file(const char *path, char **buf, size_t *len, tp_err *e);

/* The SHA-256 of a file's bytes ("-" for standard input), as hex. */
int tp_file_sha256(const char *path, char out[65], tp_err *e);

/* Opens an input file, "-" for standard input; the name in messages. */
int tp_open_input(const char *path, FILE **f, tp_err *e);
void tp_close_input(FILE *f); /* leaves standard input open */

/* Makes the folders of path that are missing, as mkdir -p does, with mode
 * (less the umask); 0, or -1 with errno set. */
int tp_make_folders(const char *path, unsigned mode);

/* An anonymous temporary file for reading and writing, in $TMPDIR (or
 * /tmp), gone when closed: unlike tmpfile(3), it honours TMPDIR. NULL with
 * errno set on failure. */
FILE *tp_tmpfile(void);

#endif
