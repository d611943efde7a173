/*
 * test_safetensors: tensors of each dtype and the metadata written and
 * read back; a file read, then parsed, hashed over the bytes it holds; the
 * data 8-byte aligned whatever the header's length; the writing atomic;
 * and every malformed file the reader promises to refuse (too short, a
 * header past the end or not an object, offsets outside the data,
 * overlaps, gaps, trailing bytes, sizes that do not fit the shape), and
 * tp_st_find's refusals of a missing tensor or one of another dtype or
 * shape; the SHA-256 of the data that the writer puts in the metadata,
 * and every damaged byte of the data that the reader refuses for it.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/sha256.h"
#include "model/safetensors.h"
#include "suites.h"

static const float f32[2][3] = {{1.5f, -2, 0.25f}, {1e-30f, 3e30f, -0.0f}};
static const int32_t i32[4] = {0, -1, 2147483647, -2147483647 - 1};
static const int8_t i8[5] = {1, -128, 127, 0, -7};
static const float f4d[2][1][2][2] = {{{{1, 2}, {3, 4}}}, {{{5, 6}, {7, 8}}}};

/* A fresh folder of its own for each test, and a path in it. */
typedef struct {
	char dir[64];
	char path[128];
} scratch;

static void
scratch_open(scratch *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/tabpipe-st-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/t.safetensors", s->dir);
}

static int
dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* Removes the folder and whatever is in it (one level). */
static void
scratch_close(scratch *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	char p[512];

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (dot(de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", s->dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	ck_assert_int_eq(rmdir(s->dir), 0);
}

/* The names in the folder, but . and .., joined by spaces. */
static void
listing(const char *dir, char *out, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	out[0] = '\0';
	while ((de = readdir(d)) != NULL)
		if (!dot(de->d_name))
			snprintf(out + strlen(out), n - strlen(out), "%s%s",
			    out[0] ? " " : "", de->d_name);
	closedir(d);
}

static int
save_all(const char *path, cJSON *meta, tp_err *e)
{
	const tp_tensor t[] = {
		{.name = "weight", .dtype = TP_F32, .ndim = 2, .shape = {2, 3},
		    .data = f32},
		{.name = "ids", .dtype = TP_I32, .ndim = 1, .shape = {4},
		    .data = i32},
		{.name = "flags", .dtype = TP_I8, .ndim = 1, .shape = {5},
		    .data = i8},
		{.name = "block.0.x", .dtype = TP_F32, .ndim = 4,
		    .shape = {2, 1, 2, 2}, .data = f4d},
	};

	return tp_st_save(path, t, 4, meta, e);
}

/* Writes a raw file: the 8-byte length of header (hlen, or strlen(header)
 * when hlen is -1), the header and len bytes of data. */
static void
write_raw(const char *path, long long hlen, const char *header,
    const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	uint64_t n = hlen < 0 ? strlen(header) : (uint64_t)hlen;
	unsigned char len8[8];

	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 8; i++)
		len8[i] = (unsigned char)(n >> (8 * i));
	ck_assert_uint_eq(fwrite(len8, 1, 8, f), 8);
	ck_assert_uint_eq(fwrite(header, 1, strlen(header), f), strlen(header));
	if (len > 0)
		ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Opens path expecting TP_EDATA with a message holding want; f is closed
 * (zeroed) on failure, as the header promises. */
static void
refused(const char *path, const char *want)
{
	tp_st_file f;
	tp_err e = {0};

	ck_assert_int_eq(tp_st_open(&f, path, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, want) != NULL,
	    "expected a message with \"%s\", got \"%s\"", want, e.msg);
	ck_assert_msg(strstr(e.msg, path) != NULL,
	    "the message \"%s\" does not name the file", e.msg);
	ck_assert_ptr_null(f.buf);
	ck_assert_ptr_null(f.header);
	tp_st_close(&f);
}

START_TEST(round_trip)
{
	scratch s;
	tp_st_file f;
	tp_tensor t;
	tp_err e = {0};
	cJSON *meta = cJSON_CreateObject();
	int64_t ws[2] = {2, 3}, is[1] = {4}, bs[1] = {5};
	int64_t xs[4] = {2, 1, 2, 2};

	scratch_open(&s);
	cJSON_AddStringToObject(meta, "format", "test");
	cJSON_AddStringToObject(meta, "note", "a \"quoted\" value, \xc3\xa9");
	ck_assert_int_eq(save_all(s.path, meta, &e), TP_OK);
	cJSON_Delete(meta);

	ck_assert_msg(tp_st_open(&f, s.path, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(tp_st_find(&f, "weight", TP_F32, 2, ws, &t, &e),
	    TP_OK);
	ck_assert_int_eq(t.dtype, TP_F32);
	ck_assert_int_eq(t.ndim, 2);
	ck_assert_int_eq(t.shape[0], 2);
	ck_assert_int_eq(t.shape[1], 3);
	ck_assert_mem_eq(t.data, f32, sizeof(f32));
	ck_assert_int_eq(tp_st_find(&f, "ids", TP_I32, 1, is, &t, &e), TP_OK);
	ck_assert_mem_eq(t.data, i32, sizeof(i32));
	ck_assert_int_eq(tp_st_find(&f, "flags", TP_I8, 1, bs, &t, &e), TP_OK);
	ck_assert_mem_eq(t.data, i8, sizeof(i8));
	ck_assert_int_eq(tp_st_find(&f, "block.0.x", TP_F32, 4, xs, &t, &e),
	    TP_OK);
	ck_assert_mem_eq(t.data, f4d, sizeof(f4d));
	/* Any shape. */
	ck_assert_int_eq(tp_st_find(&f, "flags", TP_I8, 0, NULL, &t, &e),
	    TP_OK);
	ck_assert_int_eq(t.shape[0], 5);

	ck_assert_str_eq(tp_st_meta(&f, "format"), "test");
	ck_assert_str_eq(tp_st_meta(&f, "note"),
	    "a \"quoted\" value, \xc3\xa9");
	ck_assert_ptr_null(tp_st_meta(&f, "absent"));
	tp_st_close(&f);

	/* No metadata given: none to find but the digest. */
	ck_assert_int_eq(save_all(s.path, NULL, &e), TP_OK);
	ck_assert_msg(tp_st_open(&f, s.path, &e) == TP_OK, "%s", e.msg);
	ck_assert_ptr_null(tp_st_meta(&f, "format"));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    f.header, "__metadata__")), 1);
	ck_assert_ptr_nonnull(tp_st_meta(&f, "tensors_sha256"));
	tp_st_close(&f);
	scratch_close(&s);
}
END_TEST

/* tp_st_read hashes and parses nothing; tp_st_parse then parses the very
 * bytes that were hashed; both hashes are those of the file. */
START_TEST(read_then_parse)
{
	scratch s;
	tp_st_file f;
	tp_tensor t;
	tp_err e = {0};
	char want[65];
	struct stat st;

	scratch_open(&s);
	ck_assert_int_eq(save_all(s.path, NULL, &e), TP_OK);
	ck_assert_int_eq(tp_file_sha256(s.path, want, &e), TP_OK);
	ck_assert_int_eq(stat(s.path, &st), 0);

	ck_assert_int_eq(tp_st_read(&f, s.path, &e), TP_OK);
	ck_assert_ptr_null(f.header);
	ck_assert_uint_eq(f.len, (size_t)st.st_size);
	ck_assert_str_eq(f.path, s.path);
	ck_assert_str_eq(f.sha256, want);
	ck_assert_int_eq(tp_st_parse(&f, &e), TP_OK);
	ck_assert(cJSON_IsObject(f.header));
	ck_assert_str_eq(f.sha256, want);
	ck_assert_int_eq(tp_st_find(&f, "ids", TP_I32, 0, NULL, &t, &e), TP_OK);
	ck_assert_mem_eq(t.data, i32, sizeof(i32));
	tp_st_close(&f);

	ck_assert_int_eq(tp_st_open(&f, s.path, &e), TP_OK);
	ck_assert_str_eq(f.sha256, want);
	tp_st_close(&f);
	/* Closing twice, and a zeroed file. */
	tp_st_close(&f);
	tp_st_close(NULL);
	scratch_close(&s);
}
END_TEST

/* Headers of every length modulo 8: the data starts on a multiple of 8,
 * the length field says where, and the padding is spaces (which JSON
 * allows after the object). */
START_TEST(aligned)
{
	scratch s;
	tp_err e = {0};
	char name[16] = "";

	scratch_open(&s);
	for (int k = 1; k <= 8; k++) {
		tp_st_file f;
		tp_tensor t = {.name = name, .dtype = TP_I8, .ndim = 1,
		    .shape = {3}, .data = i8};
		memset(name, 'a', (size_t)k);
		name[k] = '\0';
		ck_assert_int_eq(tp_st_save(s.path, &t, 1, NULL, &e), TP_OK);
		ck_assert_msg(tp_st_open(&f, s.path, &e) == TP_OK, "%s", e.msg);
		ck_assert_msg(f.data % 8 == 0, "name of %d: data at byte %zu",
		    k, f.data);
		uint64_t hlen = 0;
		for (int i = 0; i < 8; i++)
			hlen |= (uint64_t)f.buf[i] << (8 * i);
		ck_assert_uint_eq(hlen + 8, f.data);
		ck_assert_uint_eq(f.len, f.data + 3);
		const unsigned char *end = memchr(f.buf + 8, '\0', hlen);
		ck_assert_ptr_null(end);
		size_t last = f.data - 1;
		while (f.buf[last] == ' ')
			last--;
		ck_assert_int_eq(f.buf[last], '}');
		ck_assert_uint_lt(f.data - 1 - last, 8);
		ck_assert_mem_eq(f.buf + f.data, i8, 3);
		tp_st_close(&f);
	}
	scratch_close(&s);
}
END_TEST

/*
 * The file appears under its name only when whole: a reader that opened
 * the old file still reads it whole after a save over it (a new file was
 * renamed over the name, not the old one rewritten), no temporary file is
 * left, and a save that cannot create its file leaves nothing and the old
 * file as it was.
 */
START_TEST(atomic)
{
	scratch s;
	tp_err e = {0};
	char names[256], missing[192];
	struct stat before, after;
	tp_tensor t = {.name = "x", .dtype = TP_I8, .ndim = 1, .shape = {5},
	    .data = i8};

	scratch_open(&s);
	ck_assert_int_eq(save_all(s.path, NULL, &e), TP_OK);
	listing(s.dir, names, sizeof(names));
	ck_assert_str_eq(names, "t.safetensors");
	ck_assert_int_eq(stat(s.path, &before), 0);
	FILE *old = fopen(s.path, "rb");
	ck_assert_ptr_nonnull(old);

	ck_assert_int_eq(tp_st_save(s.path, &t, 1, NULL, &e), TP_OK);
	ck_assert_int_eq(stat(s.path, &after), 0);
	ck_assert_msg(after.st_ino != before.st_ino,
	    "the file was rewritten in place");
	listing(s.dir, names, sizeof(names));
	ck_assert_str_eq(names, "t.safetensors");
	/* The old bytes, all of them, through the old handle. */
	ck_assert_int_eq(fseek(old, 0, SEEK_END), 0);
	ck_assert_int_eq(ftell(old), before.st_size);
	fclose(old);

	snprintf(missing, sizeof(missing), "%s/no/such/t.safetensors", s.dir);
	ck_assert_int_eq(tp_st_save(missing, &t, 1, NULL, &e), TP_ECREAT);
	ck_assert_ptr_nonnull(strstr(e.msg, missing));
	listing(s.dir, names, sizeof(names));
	ck_assert_str_eq(names, "t.safetensors");

	/* A folder it may not write: the old file stays, whole. Root writes
	 * there all the same, so this is seen only by other users. */
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(s.dir, 0555), 0);
		int rc = save_all(s.path, NULL, &e);
		ck_assert_int_eq(chmod(s.dir, 0755), 0);
		ck_assert_int_eq(rc, TP_ECREAT);
		ck_assert_int_eq(stat(s.path, &before), 0);
		ck_assert_int_eq(before.st_ino, after.st_ino);
		ck_assert_int_eq(before.st_size, after.st_size);
		listing(s.dir, names, sizeof(names));
		ck_assert_str_eq(names, "t.safetensors");
	}
	scratch_close(&s);
}
END_TEST

static const unsigned char data12[12] = {0};

START_TEST(malformed)
{
	scratch s;
	char big[64];

	scratch_open(&s);
	/* Shorter than the length field. */
	FILE *f = fopen(s.path, "wb");
	ck_assert_ptr_nonnull(f);
	fputs("abc", f);
	fclose(f);
	refused(s.path, "not a safetensors file");
	/* Empty. */
	f = fopen(s.path, "wb");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	refused(s.path, "not a safetensors file");
	/* A header length past the end, by one byte and by far. */
	write_raw(s.path, 3, "{}", NULL, 0);
	refused(s.path, "not a safetensors file");
	write_raw(s.path, 1LL << 62, "{}", NULL, 0);
	refused(s.path, "not a safetensors file");
	snprintf(big, sizeof(big), "%llu", 1ULL << 62);
	refused(s.path, big);
	/* Headers that are not a JSON object. */
	write_raw(s.path, -1, "[1, 2]", NULL, 0);
	refused(s.path, "not a JSON object");
	write_raw(s.path, -1, "\"weight\"", NULL, 0);
	refused(s.path, "not a JSON object");
	write_raw(s.path, -1, "{\"a\": ", NULL, 0);
	refused(s.path, "not a JSON object");

	/* Offsets outside the data: 8 bytes claimed, 4 there. */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
	    "\"data_offsets\":[0,8]}}", data12, 4);
	refused(s.path, "outside the 4 bytes of data");
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[-4,0]}}", data12, 4);
	refused(s.path, "outside");
	/* Overlapping: [0,8) and [4,12). */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
	    "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
	    "\"data_offsets\":[4,12]}}", data12, 12);
	refused(s.path, "overlap or leave a gap at data byte 8");
	/* The same tensor twice. */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"I8\",\"shape\":[4],"
	    "\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"I8\",\"shape\":[4],"
	    "\"data_offsets\":[0,4]}}", data12, 4);
	refused(s.path, "overlap or leave a gap at data byte 4");
	/* A gap: [0,4) and [8,12). */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[8,12]}}", data12, 12);
	refused(s.path, "overlap or leave a gap at data byte 4");
	/* A gap before the first tensor. */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[4,8]}}", data12, 8);
	refused(s.path, "gap at data byte 0");
	/* Bytes after the last tensor. */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]}}", data12, 7);
	refused(s.path, "3 bytes after the last tensor");
	/* A size that is not the shape's. */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],"
	    "\"data_offsets\":[0,8]}}", data12, 8);
	refused(s.path, "8 bytes for a shape that needs 12");
	/* A dtype tabpipe does not read, a bad shape, an entry lacking its
	 * offsets. */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],"
	    "\"data_offsets\":[0,4]}}", data12, 4);
	refused(s.path, "dtype F16");
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"I8\",\"shape\":[-4],"
	    "\"data_offsets\":[0,4]}}", data12, 4);
	refused(s.path, "bad shape");
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"I8\",\"shape\":[4]}}",
	    data12, 4);
	refused(s.path, "needs dtype, shape");
	/* And a well-formed one of the same bytes is read: the refusals
	 * above are the faults', not the writer's. */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
	    "\"data_offsets\":[4,12]}}", data12, 12);
	tp_st_file ok;
	tp_err e = {0};
	ck_assert_msg(tp_st_open(&ok, s.path, &e) == TP_OK, "%s", e.msg);
	tp_st_close(&ok);
	scratch_close(&s);
}
END_TEST

/*
 * The writer puts the SHA-256 of the data section in __metadata__ as
 * "tensors_sha256", after the caller's members, whatever the caller's
 * metadata said under that name; the reader checks it and says so.
 */
START_TEST(digest_written)
{
	scratch s;
	tp_st_file f;
	tp_err e = {0};
	char want[65];
	cJSON *meta = cJSON_CreateObject();

	scratch_open(&s);
	cJSON_AddStringToObject(meta, "format", "test");
	cJSON_AddStringToObject(meta, "tensors_sha256", "stale");
	ck_assert_int_eq(save_all(s.path, meta, &e), TP_OK);
	/* The caller's metadata is left as it was. */
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(meta,
	    "tensors_sha256")->valuestring, "stale");
	cJSON_Delete(meta);

	ck_assert_msg(tp_st_open(&f, s.path, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(f.verified, 1);
	tp_sha256_hex_of(f.buf + f.data, f.len - f.data, want);
	ck_assert_str_eq(tp_st_meta(&f, "tensors_sha256"), want);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(f.header,
	    "__metadata__");
	ck_assert_int_eq(cJSON_GetArraySize(md), 2);
	ck_assert_str_eq(cJSON_GetArrayItem(md, 0)->string, "format");
	ck_assert_str_eq(cJSON_GetArrayItem(md, 1)->string, "tensors_sha256");
	/* The metadata comes first in the header. */
	ck_assert_str_eq(f.header->child->string, "__metadata__");
	tp_st_close(&f);

	/* No tensors: the digest of nothing. */
	ck_assert_int_eq(tp_st_save(s.path, NULL, 0, NULL, &e), TP_OK);
	ck_assert_msg(tp_st_open(&f, s.path, &e) == TP_OK, "%s", e.msg);
	ck_assert_str_eq(tp_st_meta(&f, "tensors_sha256"),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	tp_st_close(&f);
	scratch_close(&s);
}
END_TEST

/*
 * Every bit of every byte of the data flipped in turn: each is refused,
 * naming the file and the digest. A digest that is not one (too short, in
 * capitals, not a string) is refused too; a file without the digest, as
 * other writers make them, is read, and said unverified.
 */
START_TEST(digest_checked)
{
	static const char member[] = "\"tensors_sha256\":\"";
	scratch s;
	tp_st_file f;
	tp_err e = {0};
	char digest[64];
	unsigned char b;

	scratch_open(&s);
	ck_assert_int_eq(save_all(s.path, NULL, &e), TP_OK);
	ck_assert_int_eq(tp_st_open(&f, s.path, &e), TP_OK);
	size_t data = f.data, len = f.len;
	const char *at = strstr((const char *)f.buf + 8, member);
	ck_assert_msg(at != NULL, "no tensors_sha256 in the header");
	off_t where = (off_t)(at - (const char *)f.buf + strlen(member));
	tp_st_close(&f);
	int fd = open(s.path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	for (size_t k = data; k < len; k++)
		for (int bit = 0; bit < 8; bit++) {
			ck_assert_int_eq(pread(fd, &b, 1, (off_t)k), 1);
			b ^= (unsigned char)(1 << bit);
			ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)k), 1);
			refused(s.path, "do not match their SHA-256 (tensors_sha256");
			b ^= (unsigned char)(1 << bit);
			ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)k), 1);
		}
	/* A digit of the digest itself changed. */
	ck_assert_int_eq(pread(fd, digest, 64, where), 64);
	b = digest[10] == '0' ? '1' : '0';
	ck_assert_int_eq(pwrite(fd, &b, 1, where + 10), 1);
	refused(s.path, "tensors_sha256");
	/* In capitals: not the form written, refused. */
	for (int i = 0; i < 64; i++)
		digest[i] = (char)toupper((unsigned char)digest[i]);
	ck_assert_int_eq(pwrite(fd, digest, 64, where), 64);
	refused(s.path, "is not 64 lowercase hexadecimal digits");
	ck_assert_int_eq(close(fd), 0);

	write_raw(s.path, -1, "{\"__metadata__\":{\"tensors_sha256\":\"abc\"},"
	    "\"a\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
	    data12, 4);
	refused(s.path, "is not 64 lowercase hexadecimal digits");
	write_raw(s.path, -1, "{\"__metadata__\":{\"tensors_sha256\":7},"
	    "\"a\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
	    data12, 4);
	refused(s.path, "is not 64 lowercase hexadecimal digits");
	/* The right digest of those four zero bytes, in a file of another
	 * writer. */
	write_raw(s.path, -1, "{\"__metadata__\":{\"tensors_sha256\":"
	    "\"df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119\"},"
	    "\"a\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
	    data12, 4);
	ck_assert_msg(tp_st_open(&f, s.path, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(f.verified, 1);
	tp_st_close(&f);
	/* Without one. */
	write_raw(s.path, -1, "{\"a\":{\"dtype\":\"I8\",\"shape\":[4],"
	    "\"data_offsets\":[0,4]}}", data12, 4);
	ck_assert_msg(tp_st_open(&f, s.path, &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(f.verified, 0);
	tp_st_close(&f);
	scratch_close(&s);
}
END_TEST

START_TEST(no_file)
{
	tp_st_file f;
	tp_err e = {0};

	ck_assert_int_eq(tp_st_open(&f, "/nonexistent/t.safetensors", &e),
	    TP_ENOINPUT);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/t.safetensors"));
	ck_assert_ptr_null(f.buf);
	tp_st_close(&f);
}
END_TEST

START_TEST(find_refuses)
{
	scratch s;
	tp_st_file f;
	tp_tensor t;
	tp_err e = {0};
	int64_t other[2] = {3, 2}, flat[1] = {6}, is[1] = {4};
	cJSON *meta = cJSON_CreateObject();

	scratch_open(&s);
	cJSON_AddStringToObject(meta, "k", "v");
	ck_assert_int_eq(save_all(s.path, meta, &e), TP_OK);
	cJSON_Delete(meta);
	ck_assert_int_eq(tp_st_open(&f, s.path, &e), TP_OK);

	ck_assert_int_eq(tp_st_find(&f, "weight", TP_I32, 0, NULL, &t, &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "\"weight\" is F32, expected I32"));
	ck_assert_int_eq(tp_st_find(&f, "ids", TP_I8, 1, is, &t, &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "\"ids\" is I32, expected I8"));
	ck_assert_int_eq(tp_st_find(&f, "weight", TP_F32, 2, other, &t, &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg,
	    "has shape [2, 3], the model expects [3, 2]"));
	/* The same number of elements in another number of dimensions. */
	ck_assert_int_eq(tp_st_find(&f, "weight", TP_F32, 1, flat, &t, &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "the model expects [6]"));
	ck_assert_int_eq(tp_st_find(&f, "bias", TP_F32, 0, NULL, &t, &e),
	    TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "no tensor \"bias\""));
	ck_assert_ptr_nonnull(strstr(e.msg, s.path));
	/* The metadata is no tensor. */
	ck_assert_int_eq(tp_st_find(&f, "__metadata__", TP_F32, 0, NULL, &t,
	    &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "no tensor \"__metadata__\""));
	tp_st_close(&f);
	scratch_close(&s);
}
END_TEST

Suite *
safetensors_suite(void)
{
	Suite *s = suite_create("safetensors");
	TCase *tc = tcase_create("safetensors");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, read_then_parse);
	tcase_add_test(tc, aligned);
	tcase_add_test(tc, atomic);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, no_file);
	tcase_add_test(tc, find_refuses);
	tcase_add_test(tc, digest_written);
	tcase_add_test(tc, digest_checked);
	suite_add_tcase(s, tc);
	return s;
}
