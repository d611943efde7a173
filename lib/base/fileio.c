#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/sha256.h"

int
tp_outfile_open(tp_outfile *o, const char *path, tp_err *e)
{
	int fd;

	memset(o, 0, sizeof(*o));
	if (strcmp(path, "-") == 0) {
		o->f = stdout;
		return TP_OK;
	}
	/* A device, a pipe or a link is written in place: renaming over it
	 * would replace it with a plain file. */
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if ((o->f = fopen(path, "wb")) == NULL)
			return tp_err_set(e, TP_ECREAT, "%s: cannot create: %s",
			    path, strerror(errno));
		o->direct = 1;
		if ((o->path = strdup(path)) == NULL) {
			fclose(o->f);
			memset(o, 0, sizeof(*o));
			return tp_err_nomem(e, "a file name");
		}
		return TP_OK;
	}
	size_t n = strlen(path);
	o->path = strdup(path);
	o->tmp = malloc(n + 16);
	if (o->path == NULL || o->tmp == NULL) {
		tp_outfile_abort(o);
		return tp_err_nomem(e, "a file name");
	}
	snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(o->tmp)) < 0 || (o->f = fdopen(fd, "wb")) == NULL) {
		int err = errno;
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
		tp_outfile_abort(o);
		return tp_err_set(e, TP_ECREAT, "%s: cannot create: %s", path,
		    strerror(err));
	}
	/* mkstemp makes the file private; give it the mode a plain open would. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	return TP_OK;
}

int
tp_outfile_commit(tp_outfile *o, tp_err *e)
{
	int bad;

	if (o->path == NULL) {
		if (fflush(o->f) != 0 || ferror(o->f))
			return tp_err_set(e, TP_EIO, "standard output: write error: %s",
			    strerror(errno));
		return TP_OK;
	}
	if (o->direct) {
		bad = fflush(o->f) != 0 || ferror(o->f);
		int err = errno;
		bad |= fclose(o->f) != 0;
		o->f = NULL;
		if (bad)
			tp_err_set(e, TP_EIO, "%s: write error: %s", o->path,
			    strerror(err));
		free(o->path);
		memset(o, 0, sizeof(*o));
		return bad ? TP_EIO : TP_OK;
	}
	bad = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
	int err = errno;
	bad |= fclose(o->f) != 0;
	o->f = NULL;
	if (!bad && rename(o->tmp, o->path) != 0) {
		err = errno;
		bad = 1;
	}
	if (bad) {
		tp_err_set(e, TP_EIO, "%s: write error: %s", o->path,
		    strerror(err));
		tp_outfile_abort(o);
		return TP_EIO;
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	return TP_OK;
}

void
tp_outfile_abort(tp_outfile *o)
{
	if (o->direct && o->f != NULL)
		fclose(o->f);
	if (o->tmp != NULL) {
		if (o->f != NULL)
			fclose(o->f);
		unlink(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

int
tp_open_input(const char *path, FILE **f, tp_err *e)
{
	if (strcmp(path, "-") == 0) {
		*f = stdin;
		return TP_OK;
	}
	if ((*f = fopen(path, "rb")) == NULL)
		return tp_err_set(e, TP_ENOINPUT, "%s: cannot open: %s", path,
		    strerror(errno));
	return TP_OK;
}

void
tp_close_input(FILE *f)
{
	if (f != NULL && f != stdin)
		fclose(f);
}

int
tp_read_file(const char *path, char **buf, size_t *len, tp_err *e)
{
	FILE *f;
	char *b = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*buf = NULL;
	if ((rc = tp_open_input(path, &f, e)) != TP_OK)
		return rc;
	for (;;) {
		if (cap - n < 65536) {
			char *nb = realloc(b, cap ? cap * 2 : 65536);
			if (nb == NULL) {
				free(b);
				tp_close_input(f);
				return tp_err_nomem(e, path);
			}
			b = nb;
			cap = cap ? cap * 2 : 65536;
		}
		size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(b);
		tp_close_input(f);
		return tp_err_set(e, TP_EIO, "%s: read error: %s", path,
		    strerror(errno));
	}
	tp_close_input(f);
	b[n] = '\0';
	*buf = b;
	if (len != NULL)
		*len = n;
	return TP_OK;
}

FILE *
tp_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	FILE *f;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/tabpipe.XXXXXX", dir) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((fd = mkstemp(path)) < 0)
		return NULL;
	unlink(path);
	if ((f = fdopen(fd, "w+")) == NULL) {
		int err = errno;
		close(fd);
		errno = err;
	}
	return f;
}

int
tp_file_sha256(const char *path, char out[65], tp_err *e)
{
	unsigned char buf[65536], d[32];
	tp_sha256 s;
	FILE *f;
	size_t n;
	int rc;

	if ((rc = tp_open_input(path, &f, e)) != TP_OK)
		return rc;
	tp_sha256_init(&s);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		tp_sha256_update(&s, buf, n);
	rc = ferror(f) ? tp_err_set(e, TP_EIO, "%s: read error: %s", path,
	    strerror(errno)) : TP_OK;
	tp_close_input(f);
	tp_sha256_final(&s, d);
	tp_sha256_hex(d, out);
	return rc;
}
