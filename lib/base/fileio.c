#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/rng.h"
#include "base/sha256.h"

static int use_names;

void
tp_outfile_use_names(int yes)
{
	use_names = yes;
}

/* Where a file without a name is known by: its descriptor's link in
 * /proc, which linkat(2) follows to give it a name. */
static void
proc_path(char *buf, size_t n, int fd)
{
	snprintf(buf, n, "/proc/self/fd/%d", fd);
}

/* Opens o->f as a file without a name in the folder of o->path; -1 with
 * errno set when it cannot, EOPNOTSUPP (or EISDIR, EINVAL from older
 * kernels) where the file system or the kernel has no O_TMPFILE. */
static int
open_nameless(tp_outfile *o)
{
	const char *slash = strrchr(o->path, '/');
	char *dir = slash == NULL ? strdup(".") : slash == o->path ?
	    strdup("/") : strndup(o->path, (size_t)(slash - o->path));
	char proc[64];
	int fd;

	if (dir == NULL)
		return -1;
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	free(dir);
	if (fd < 0)
		return -1;
	/* Without /proc the file could not be named: write it under a name
	 * from the start. */
	proc_path(proc, sizeof(proc), fd);
	if (access(proc, F_OK) != 0) {
		close(fd);
		errno = EOPNOTSUPP;
		return -1;
	}
	if ((o->f = fdopen(fd, "wb")) == NULL) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	o->nameless = 1;
	return 0;
}

/* Opens o->f under a temporary name beside o->path. */
static int
open_named(tp_outfile *o)
{
	size_t n = strlen(o->path) + 16;
	int fd;

	if ((o->tmp = malloc(n)) == NULL)
		return -1;
	snprintf(o->tmp, n, "%s.tmp.XXXXXX", o->path);
	if ((fd = mkstemp(o->tmp)) < 0 || (o->f = fdopen(fd, "wb")) == NULL) {
		int err = errno;
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
		errno = err;
		return -1;
	}
	/* mkstemp makes the file private; give it the mode a plain open would. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	return 0;
}

int
tp_outfile_open(tp_outfile *o, const char *path, tp_err *e)
{
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
	if ((o->path = strdup(path)) == NULL)
		return tp_err_nomem(e, "a file name");
	if (!use_names && open_nameless(o) == 0)
		return TP_OK;
	if ((use_names || errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL) && open_named(o) == 0)
		return TP_OK;
	int err = errno;
	tp_outfile_abort(o);
	if (err == ENOMEM)
		return tp_err_nomem(e, "a file name");
	return tp_err_set(e, TP_ECREAT, "%s: cannot create: %s", path,
	    strerror(err));
}

/* Gives the nameless file of fd the name path: linked there when the name
 * is free; else linked to a temporary name beside it (linkat cannot
 * replace a name) and renamed over it. -1 with errno set on failure,
 * when no name of it is left. */
static int
name_file(int fd, const char *path)
{
	static const char letters[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(path) + 16;
	char proc[64], *tmp;
	struct timespec ts;
	tp_rng r;
	int rc = -1;

	proc_path(proc, sizeof(proc), fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST || (tmp = malloc(n)) == NULL)
		return -1;
	/* Names as mkstemp's, drawn afresh on a clash. */
	clock_gettime(CLOCK_REALTIME, &ts);
	tp_rng_seed(&r, (uint64_t)ts.tv_sec * 1000000000u +
	    (uint64_t)ts.tv_nsec + ((uint64_t)getpid() << 40));
	for (int tries = 0; tries < 100 && rc != 0; tries++) {
		size_t at = (size_t)snprintf(tmp, n, "%s.tmp.", path);
		for (int i = 0; i < 6; i++)
			tmp[at++] = letters[tp_rng_below(&r, sizeof(letters) - 1)];
		tmp[at] = '\0';
		rc = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
		if (rc != 0 && errno != EEXIST)
			break;
	}
	if (rc == 0 && (rc = rename(tmp, path)) != 0) {
		int err = errno;
		unlink(tmp);
		errno = err;
	}
	free(tmp);
	return rc;
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
	if (!bad && o->nameless && name_file(fileno(o->f), o->path) != 0) {
		err = errno;
		bad = 1;
	}
	bad |= fclose(o->f) != 0;
	o->f = NULL;
	if (!bad && !o->nameless && rename(o->tmp, o->path) != 0) {
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
	/* Standard output (no path) stays open. A nameless file is gone
	 * once closed. */
	if (o->f != NULL && o->path != NULL)
		fclose(o->f);
	if (o->tmp != NULL)
		unlink(o->tmp);
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

int
tp_make_folders(const char *path, unsigned mode)
{
	char *copy = strdup(path);
	int bad = 0;

	if (copy == NULL)
		return -1;
	if (*copy == '\0') {
		free(copy);
		errno = ENOENT;
		return -1;
	}
	for (char *p = copy + 1; !bad; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		bad = mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST;
		*p = c;
		if (c == '\0')
			break;
	}
	int err = errno;
	free(copy);
	errno = err;
	return bad ? -1 : 0;
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
