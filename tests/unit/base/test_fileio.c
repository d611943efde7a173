/*
 * test_fileio: outputs that appear under their final name only when
 * committed (abort keeps the old file, a failed commit leaves no
 * temporary, a killed writer leaves nothing where the file system has
 * O_TMPFILE), each both without a name until the commit and under a
 * temporary name, standard output and the paths written in place (a FIFO,
 * /dev/null, /dev/full, a link), whole-file reads, input errors naming the
 * file, the hash of a file, and tp_tmpfile in $TMPDIR.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/sha256.h"
#include "suites.h"

/* A fresh folder for one test, in $TMPDIR or /tmp. */
static void
make_dir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	ck_assert_uint_lt((size_t)snprintf(dir, size, "%s/tp_fileioXXXXXX",
	    tmp), size);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* The names in dir, but . and .., joined by spaces in sorted order. */
static void
list_dir(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	size_t len = 0;

	ck_assert_int_ge(n, 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *s = names[i]->d_name;
		if (strcmp(s, ".") != 0 && strcmp(s, "..") != 0)
			len += (size_t)snprintf(out + len, size - len, "%s%s",
			    len ? " " : "", s);
		ck_assert_uint_lt(len, size);
		free(names[i]);
	}
	free(names);
}

/* Removes dir and the plain files, links and empty folders in it. */
static void
remove_dir(const char *dir)
{
	struct dirent **names;
	char path[4096];
	int n = scandir(dir, &names, NULL, alphasort);

	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		const char *s = names[i]->d_name;
		if (strcmp(s, ".") != 0 && strcmp(s, "..") != 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, s);
			if (unlink(path) != 0)
				ck_assert_int_eq(rmdir(path), 0);
		}
		free(names[i]);
	}
	free(names);
	ck_assert_int_eq(rmdir(dir), 0);
}

static void
write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* The whole of path, which must exist, as a string. */
static char *
slurp(const char *path)
{
	char *buf;
	tp_err e = {0};

	ck_assert_msg(tp_read_file(path, &buf, NULL, &e) == TP_OK, "%s", e.msg);
	return buf;
}

/*
 * The two ways an output is written, the loop tests' _i: 0 as the file
 * system allows, which here is without a name until the commit where it
 * has O_TMPFILE; 1 under a temporary name beside the final one, as where
 * it has not (forced by tp_outfile_use_names). Whether the way of 0 is
 * nameless is asked of the file system itself, so that on one without
 * O_TMPFILE the tests check the fallback that it really gets.
 */
static int
named(int way, const char *dir)
{
	int fd;

	tp_outfile_use_names(way);
	if (way)
		return 1;
	if ((fd = open(dir, O_TMPFILE | O_WRONLY, 0600)) < 0)
		return 1;
	close(fd);
	return 0;
}

START_TEST(test_commit_appears)
{
	char dir[4096], path[4200], names[256];
	struct stat st;
	tp_outfile o;
	tp_err e = {0};
	char *got;
	mode_t mask;

	make_dir(dir, sizeof(dir));
	int nm = named(_i, dir);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	mask = umask(022);
	ck_assert_int_eq(tp_outfile_open(&o, path, &e), TP_OK);
	ck_assert_ptr_nonnull(o.f);
	ck_assert_int_eq(o.direct, 0);
	ck_assert_str_eq(o.path, path);
	ck_assert_int_ge(fputs("new\n", o.f), 0);
	ck_assert_int_eq(fflush(o.f), 0);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	list_dir(dir, names, sizeof(names));
	if (nm) {
		/* Before the commit only the temporary is there, next to it. */
		ck_assert_ptr_nonnull(o.tmp);
		ck_assert_int_eq(strncmp(o.tmp, path, strlen(path)), 0);
		ck_assert_int_eq(stat(o.tmp, &st), 0);
		ck_assert_int_eq(strncmp(names, "out.txt.tmp.", 12), 0);
	} else {
		/* Nothing at all: the file has no name yet. */
		ck_assert_ptr_null(o.tmp);
		ck_assert_str_eq(names, "");
	}
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_OK);
	ck_assert_ptr_null(o.f);
	ck_assert_ptr_null(o.tmp);
	ck_assert_ptr_null(o.path);
	list_dir(dir, names, sizeof(names));
	ck_assert_str_eq(names, "out.txt");
	got = slurp(path);
	ck_assert_str_eq(got, "new\n");
	free(got);
	/* The mode a plain open would give, not mkstemp's 0600. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	ck_assert_int_eq(st.st_nlink, 1);

	/* A second commit replaces the old file whole: another file took
	 * the name, the old one was not rewritten. */
	ino_t old = st.st_ino;
	ck_assert_int_eq(tp_outfile_open(&o, path, &e), TP_OK);
	fputs("newer", o.f);
	got = slurp(path);
	ck_assert_str_eq(got, "new\n");
	free(got);
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_OK);
	got = slurp(path);
	ck_assert_str_eq(got, "newer");
	free(got);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_ne(st.st_ino, old);
	ck_assert_int_eq(st.st_nlink, 1);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	list_dir(dir, names, sizeof(names));
	ck_assert_str_eq(names, "out.txt");
	umask(mask);
	tp_outfile_use_names(0);
	remove_dir(dir);
}
END_TEST

START_TEST(test_abort_keeps_old)
{
	char dir[4096], path[4200], names[256];
	tp_outfile o, zero = {0};
	tp_err e = {0};
	char *got;

	make_dir(dir, sizeof(dir));
	int nm = named(_i, dir);
	snprintf(path, sizeof(path), "%s/model.st", dir);
	write_file(path, "old", 3);
	ck_assert_int_eq(tp_outfile_open(&o, path, &e), TP_OK);
	fputs("half of a new one", o.f);
	fflush(o.f);
	list_dir(dir, names, sizeof(names));
	if (nm)
		ck_assert_int_eq(strncmp(names, "model.st model.st.tmp.", 22), 0);
	else
		ck_assert_str_eq(names, "model.st");
	tp_outfile_abort(&o);
	ck_assert_ptr_null(o.f);
	ck_assert_ptr_null(o.tmp);
	got = slurp(path);
	ck_assert_str_eq(got, "old");
	free(got);
	list_dir(dir, names, sizeof(names));
	ck_assert_str_eq(names, "model.st");

	/* Abort accepts a zeroed and a committed outfile, and twice. */
	tp_outfile_abort(&zero);
	ck_assert_int_eq(tp_outfile_open(&o, path, &e), TP_OK);
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_OK);
	tp_outfile_abort(&o);
	tp_outfile_abort(&o);
	got = slurp(path);
	ck_assert_str_eq(got, "");
	free(got);
	tp_outfile_use_names(0);
	remove_dir(dir);
}
END_TEST

/* The rename fails (a folder took the final name): an error naming the
 * file, and the temporary is gone. */
START_TEST(test_failed_commit)
{
	char dir[4096], path[4200], names[256];
	tp_outfile o;
	tp_err e = {0};
	char want[4400];

	make_dir(dir, sizeof(dir));
	int nm = named(_i, dir);
	snprintf(path, sizeof(path), "%s/out", dir);
	ck_assert_int_eq(tp_outfile_open(&o, path, &e), TP_OK);
	fputs("data", o.f);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	list_dir(dir, names, sizeof(names));
	if (nm)
		ck_assert_int_eq(strncmp(names, "out out.tmp.", 12), 0);
	else
		ck_assert_str_eq(names, "out");
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_EIO);
	ck_assert_int_eq(e.code, TP_EIO);
	snprintf(want, sizeof(want), "%s: write error: %s", path,
	    strerror(EISDIR));
	ck_assert_str_eq(e.msg, want);
	ck_assert_ptr_null(o.f);
	ck_assert_ptr_null(o.tmp);
	list_dir(dir, names, sizeof(names));
	ck_assert_str_eq(names, "out");
	tp_outfile_use_names(0);
	remove_dir(dir);
}
END_TEST

/*
 * A writer killed (SIGKILL, no chance to clean up) in the middle of its
 * output: the old file is there, whole, and nothing else where the file
 * system has O_TMPFILE; where it has not, the temporary is left beside it
 * (which is why the nameless way is taken wherever it can be).
 */
START_TEST(test_killed)
{
	char dir[4096], path[4200], names[256];
	int status;

	make_dir(dir, sizeof(dir));
	int nm = named(_i, dir);
	snprintf(path, sizeof(path), "%s/out.tps", dir);
	write_file(path, "old", 3);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tp_outfile o;
		tp_err e = {0};
		if (tp_outfile_open(&o, path, &e) != TP_OK)
			_exit(1);
		for (int i = 0; i < 100000; i++)
			fputs("a line of a large output\n", o.f);
		fflush(o.f);
		raise(SIGKILL);
		_exit(2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "the writer was not killed (status %d)", status);
	char *got = slurp(path);
	ck_assert_str_eq(got, "old");
	free(got);
	list_dir(dir, names, sizeof(names));
	if (nm)
		ck_assert_int_eq(strncmp(names, "out.tps out.tps.tmp.", 20), 0);
	else
		ck_assert_str_eq(names, "out.tps");
	tp_outfile_use_names(0);
	remove_dir(dir);
}
END_TEST

START_TEST(test_create_fails)
{
	char dir[4096], path[4200];
	tp_outfile o;
	tp_err e = {0};

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/no/such/folder/out", dir);
	ck_assert_int_eq(tp_outfile_open(&o, path, &e), TP_ECREAT);
	ck_assert_int_eq(e.code, TP_ECREAT);
	ck_assert_int_eq(strncmp(e.msg, path, strlen(path)), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOENT)));
	ck_assert_ptr_null(o.f);
	ck_assert_ptr_null(o.tmp);
	ck_assert_ptr_null(o.path);
	tp_outfile_abort(&o);
	remove_dir(dir);
}
END_TEST

/* "-" writes to standard output (here a file put on descriptor 1); commit
 * and abort flush it but leave it open. */
START_TEST(test_stdout)
{
	char dir[4096], path[4200];
	tp_outfile o;
	tp_err e = {0};
	char *got;
	int fd, saved;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/stdout", dir);
	fflush(stdout);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);

	ck_assert_int_eq(tp_outfile_open(&o, "-", &e), TP_OK);
	ck_assert_ptr_eq(o.f, stdout);
	ck_assert_ptr_null(o.path);
	ck_assert_ptr_null(o.tmp);
	ck_assert_int_eq(o.direct, 0);
	fputs("one\n", o.f);
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_OK);
	got = slurp(path);
	ck_assert_str_eq(got, "one\n");
	free(got);
	ck_assert_int_eq(tp_outfile_open(&o, "-", &e), TP_OK);
	tp_outfile_abort(&o);
	ck_assert_int_ge(fputs("two\n", stdout), 0);
	ck_assert_int_eq(fflush(stdout), 0);
	got = slurp(path);
	ck_assert_str_eq(got, "one\ntwo\n");
	free(got);

	ck_assert_int_eq(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	remove_dir(dir);
}
END_TEST

/* A FIFO, /dev/null and a link are written in place and stay what they
 * are; nothing else appears beside them. */
START_TEST(test_in_place)
{
	char dir[4096], fifo[4200], link[4200], target[4200], names[256];
	char buf[64];
	struct stat st;
	tp_outfile o;
	tp_err e = {0};
	char *got;
	int rd;

	make_dir(dir, sizeof(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	/* A reader first, so that opening the writing end does not wait. */
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	ck_assert_int_eq(tp_outfile_open(&o, fifo, &e), TP_OK);
	ck_assert_int_eq(o.direct, 1);
	ck_assert_ptr_null(o.tmp);
	fputs("through the pipe", o.f);
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_OK);
	ck_assert_ptr_null(o.f);
	ck_assert_int_eq(read(rd, buf, sizeof(buf)), 16);
	ck_assert_mem_eq(buf, "through the pipe", 16);
	close(rd);
	ck_assert_int_eq(lstat(fifo, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));

	ck_assert_int_eq(tp_outfile_open(&o, "/dev/null", &e), TP_OK);
	ck_assert_int_eq(o.direct, 1);
	fputs("nothing", o.f);
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_OK);
	ck_assert_int_eq(lstat("/dev/null", &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	/* Aborted in place, too: closed, and nothing to remove. */
	ck_assert_int_eq(tp_outfile_open(&o, "/dev/null", &e), TP_OK);
	tp_outfile_abort(&o);
	ck_assert_ptr_null(o.f);

	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	write_file(target, "old", 3);
	ck_assert_int_eq(symlink("target", link), 0);
	ck_assert_int_eq(tp_outfile_open(&o, link, &e), TP_OK);
	ck_assert_int_eq(o.direct, 1);
	fputs("via the link", o.f);
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_OK);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	got = slurp(target);
	ck_assert_str_eq(got, "via the link");
	free(got);
	list_dir(dir, names, sizeof(names));
	ck_assert_str_eq(names, "fifo link target");
	remove_dir(dir);
}
END_TEST

/* A full device fails at the commit, with the file's name. */
START_TEST(test_in_place_full)
{
	tp_outfile o;
	tp_err e = {0};
	char want[256];

	if (access("/dev/full", W_OK) != 0)
		ck_abort_msg("/dev/full: %s", strerror(errno));
	ck_assert_int_eq(tp_outfile_open(&o, "/dev/full", &e), TP_OK);
	ck_assert_int_eq(o.direct, 1);
	fputs("no room", o.f);
	ck_assert_int_eq(tp_outfile_commit(&o, &e), TP_EIO);
	snprintf(want, sizeof(want), "/dev/full: write error: %s",
	    strerror(ENOSPC));
	ck_assert_str_eq(e.msg, want);
	ck_assert_ptr_null(o.f);
	ck_assert_ptr_null(o.path);
}
END_TEST

START_TEST(test_read_file)
{
	char dir[4096], path[4200];
	size_t n = 200000, len = 1;
	unsigned char *want = malloc(n);
	char *buf;
	tp_err e = {0};

	ck_assert_ptr_nonnull(want);
	/* Every byte value, NULs included, past the first buffer's size. */
	for (size_t i = 0; i < n; i++)
		want[i] = (unsigned char)(i * 7 + i / 256);
	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/in", dir);
	write_file(path, want, n);
	ck_assert_int_eq(tp_read_file(path, &buf, &len, &e), TP_OK);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(buf, want, n);
	ck_assert_int_eq(buf[n], '\0');
	free(buf);

	/* An empty file is an empty string. */
	write_file(path, "", 0);
	ck_assert_int_eq(tp_read_file(path, &buf, &len, &e), TP_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(buf);
	ck_assert_str_eq(buf, "");
	free(buf);

	/* Exactly the first buffer's room. */
	write_file(path, want, 65535);
	ck_assert_int_eq(tp_read_file(path, &buf, &len, &e), TP_OK);
	ck_assert_uint_eq(len, 65535);
	ck_assert_mem_eq(buf, want, 65535);
	ck_assert_int_eq(buf[65535], '\0');
	free(buf);

	ck_assert_int_eq(unlink(path), 0);
	buf = (char *)1;
	ck_assert_int_eq(tp_read_file(path, &buf, &len, &e), TP_ENOINPUT);
	ck_assert_ptr_null(buf);
	ck_assert_int_eq(strncmp(e.msg, path, strlen(path)), 0);
	free(want);
	remove_dir(dir);
}
END_TEST

/* Runs with the file path on descriptor 0; restores standard input. */
static int
with_stdin(const char *path, int saved)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	if (saved < 0) {
		saved = dup(STDIN_FILENO);
		ck_assert_int_ge(saved, 0);
	}
	ck_assert_int_eq(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	clearerr(stdin);
	return saved;
}

static void
restore_stdin(int saved)
{
	ck_assert_int_eq(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	clearerr(stdin);
}

START_TEST(test_read_stdin)
{
	char dir[4096], path[4200], hex[65];
	char *buf;
	size_t len;
	tp_err e = {0};
	int saved;

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/in", dir);
	write_file(path, "a\0bc", 4);
	saved = with_stdin(path, -1);
	ck_assert_int_eq(tp_read_file("-", &buf, &len, &e), TP_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(buf, "a\0bc", 5);
	free(buf);
	/* Standard input is left open. */
	ck_assert_int_ne(fcntl(STDIN_FILENO, F_GETFD), -1);

	write_file(path, "abc", 3);
	with_stdin(path, saved);
	ck_assert_int_eq(tp_file_sha256("-", hex, &e), TP_OK);
	ck_assert_str_eq(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_ne(fcntl(STDIN_FILENO, F_GETFD), -1);
	restore_stdin(saved);
	remove_dir(dir);
}
END_TEST

START_TEST(test_open_input)
{
	char dir[4096], path[4200], want[4400];
	FILE *f = NULL;
	tp_err e = {0};

	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/missing.csv", dir);
	ck_assert_int_eq(tp_open_input(path, &f, &e), TP_ENOINPUT);
	ck_assert_int_eq(e.code, TP_ENOINPUT);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	ck_assert_str_eq(e.msg, want);

	write_file(path, "x", 1);
	ck_assert_int_eq(tp_open_input(path, &f, &e), TP_OK);
	ck_assert_int_eq(getc(f), 'x');
	tp_close_input(f);

	ck_assert_int_eq(tp_open_input("-", &f, &e), TP_OK);
	ck_assert_ptr_eq(f, stdin);
	tp_close_input(f);
	ck_assert_int_ne(fcntl(fileno(stdin), F_GETFD), -1);
	tp_close_input(NULL);
	remove_dir(dir);
}
END_TEST

START_TEST(test_file_sha256)
{
	static const size_t n = 200001;
	char dir[4096], path[4200], hex[65], want[65];
	unsigned char *p = malloc(n);
	tp_err e = {0};

	ck_assert_ptr_nonnull(p);
	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	write_file(path, "abc", 3);
	ck_assert_int_eq(tp_file_sha256(path, hex, &e), TP_OK);
	ck_assert_str_eq(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	write_file(path, "", 0);
	ck_assert_int_eq(tp_file_sha256(path, hex, &e), TP_OK);
	ck_assert_str_eq(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* Across several of its reads: the digest of the same bytes. */
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 2654435761u >> 11);
	write_file(path, p, n);
	tp_sha256_hex_of(p, n, want);
	ck_assert_int_eq(tp_file_sha256(path, hex, &e), TP_OK);
	ck_assert_str_eq(hex, want);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tp_file_sha256(path, hex, &e), TP_ENOINPUT);
	ck_assert_int_eq(strncmp(e.msg, path, strlen(path)), 0);
	free(p);
	remove_dir(dir);
}
END_TEST

/* Where the descriptor's file was made: "DIR/tabpipe.XXXXXX (deleted)". */
static void
fd_path(FILE *f, char *out, size_t size)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fileno(f));
	n = readlink(proc, out, size - 1);
	ck_assert_msg(n > 0, "%s: %s", proc, strerror(errno));
	out[n] = '\0';
}

START_TEST(test_tmpfile)
{
	char dir[4096], where[4400], prefix[4200], names[256], buf[8];
	char real[PATH_MAX];
	const char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;
	char *longdir = malloc(5000);
	FILE *f;

	make_dir(dir, sizeof(dir));
	ck_assert_int_eq(setenv("TMPDIR", dir, 1), 0);
	f = tp_tmpfile();
	ck_assert_ptr_nonnull(f);
	fd_path(f, where, sizeof(where));
	/* The kernel names the file by its real path. */
	ck_assert_ptr_nonnull(realpath(dir, real));
	snprintf(prefix, sizeof(prefix), "%s/tabpipe.", real);
	ck_assert_msg(strncmp(where, prefix, strlen(prefix)) == 0,
	    "made at %s, not in %s", where, dir);
	/* Anonymous: nothing is left in the folder, and it reads back. */
	list_dir(dir, names, sizeof(names));
	ck_assert_str_eq(names, "");
	ck_assert_int_ge(fputs("back", f), 0);
	rewind(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	ck_assert_str_eq(buf, "back");
	fclose(f);

	/* Unset or empty: /tmp. */
	ck_assert_ptr_nonnull(realpath("/tmp", real));
	snprintf(prefix, sizeof(prefix), "%s/tabpipe.", real);
	ck_assert_int_eq(setenv("TMPDIR", "", 1), 0);
	f = tp_tmpfile();
	ck_assert_ptr_nonnull(f);
	fd_path(f, where, sizeof(where));
	ck_assert_msg(strncmp(where, prefix, strlen(prefix)) == 0,
	    "made at %s, not in /tmp", where);
	fclose(f);
	ck_assert_int_eq(unsetenv("TMPDIR"), 0);
	f = tp_tmpfile();
	ck_assert_ptr_nonnull(f);
	fd_path(f, where, sizeof(where));
	ck_assert_msg(strncmp(where, prefix, strlen(prefix)) == 0,
	    "made at %s, not in /tmp", where);
	fclose(f);

	/* A folder that is not there, and a name too long: no file. */
	snprintf(where, sizeof(where), "%s/gone", dir);
	ck_assert_int_eq(setenv("TMPDIR", where, 1), 0);
	errno = 0;
	ck_assert_ptr_null(tp_tmpfile());
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(longdir);
	memset(longdir, 'd', 4999);
	longdir[0] = '/';
	longdir[4999] = '\0';
	ck_assert_int_eq(setenv("TMPDIR", longdir, 1), 0);
	errno = 0;
	ck_assert_ptr_null(tp_tmpfile());
	ck_assert_int_eq(errno, ENAMETOOLONG);

	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	free(longdir);
	remove_dir(dir);
}
END_TEST

Suite *
fileio_suite(void)
{
	Suite *s = suite_create("fileio");
	TCase *tc = tcase_create("outfile");

	tcase_add_loop_test(tc, test_commit_appears, 0, 2);
	tcase_add_loop_test(tc, test_abort_keeps_old, 0, 2);
	tcase_add_loop_test(tc, test_failed_commit, 0, 2);
	tcase_add_loop_test(tc, test_killed, 0, 2);
	tcase_add_test(tc, test_create_fails);
	tcase_add_test(tc, test_stdout);
	tcase_add_test(tc, test_in_place);
	tcase_add_test(tc, test_in_place_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("input");
	tcase_add_test(tc, test_read_file);
	tcase_add_test(tc, test_read_stdin);
	tcase_add_test(tc, test_open_input);
	tcase_add_test(tc, test_file_sha256);
	tcase_add_test(tc, test_tmpfile);
	suite_add_tcase(s, tc);
	return s;
}
