/*
 * test_csv: the CSV reader (records, quoting, line ends, line numbers,
 * byte offsets, errors, long records), the check of a field's text (UTF-8
 * without NUL bytes) and the quoting of tp_csv_put_field. The numbers it
 * reads are parsed by base/number.h, tested in base/test_number.c.
 */
#define _GNU_SOURCE /* fopencookie */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "data/csv.h"
#include "suites.h"

enum { CHUNK = 1 << 20 }; /* the reader's first buffer size */

/* Appends a field's text to f, with CR and LF written as \r and \n. */
static void
put_escaped(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			fputs("\\n", f);
		else if (s[i] == '\r')
			fputs("\\r", f);
		else
			putc(s[i], f);
	}
}

/* A stream that gives one byte a read, as a slow pipe may. */
typedef struct { const char *s; size_t len, at; } trickle;

static ssize_t
trickle_read(void *cookie, char *buf, size_t size)
{
	trickle *t = cookie;

	if (t->at == t->len || size == 0)
		return 0;
	buf[0] = t->s[t->at++];
	return 1;
}

static int
trickle_close(void *cookie)
{
	free(cookie);
	return 0;
}

static FILE *
open_input(const char *s, size_t len, int one_byte_reads)
{
	trickle *t;
	FILE *f;

	if (!one_byte_reads)
		return fmemopen((void *)s, len, "rb");
	t = malloc(sizeof(*t));
	ck_assert_ptr_nonnull(t);
	*t = (trickle){s, len, 0};
	f = fopencookie(t, "rb", (cookie_io_functions_t){.read = trickle_read,
	    .close = trickle_close});
	ck_assert_ptr_nonnull(f);
	/* stdio would gather the bytes again: the reader must see each
	 * read as the stream returns it. */
	setvbuf(f, NULL, _IONBF, 0);
	return f;
}

/*
 * Reads every record of the len bytes at s and describes them, one line per
 * record: "LINE:field|field", a quoted field in brackets. The first skip
 * records are left out and line_offset is taken from each line number. An
 * error ends the text with "error: MESSAGE". The caller frees the text.
 * With one_byte_reads the reader gets the bytes one read at a time.
 */
static char *
parse_input(const char *s, size_t len, int skip, long line_offset,
    int one_byte_reads)
{
	FILE *in = open_input(s, len, one_byte_reads), *out;
	char *text = NULL;
	size_t textlen = 0;
	tp_csv *c = NULL;
	tp_err e = {0};
	int r;

	ck_assert_ptr_nonnull(in);
	out = open_memstream(&text, &textlen);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(tp_csv_open(&c, in, "t.csv", &e), TP_OK);
	while ((r = tp_csv_next(c, &e)) > 0) {
		const tp_field *f = tp_csv_fields(c);
		if (skip > 0) {
			skip--;
			continue;
		}
		fprintf(out, "%ld:", tp_csv_line(c) - line_offset);
		for (size_t i = 0; i < tp_csv_nfields(c); i++) {
			if (i > 0)
				putc('|', out);
			if (f[i].quoted)
				putc('[', out);
			put_escaped(out, f[i].s, f[i].len);
			if (f[i].quoted)
				putc(']', out);
		}
		putc('\n', out);
	}
	if (r < 0)
		fprintf(out, "error: %s", e.msg);
	tp_csv_close(c);
	fclose(in);
	fclose(out);
	return text;
}

static char *
parse_skip(const char *s, size_t len, int skip, long line_offset)
{
	return parse_input(s, len, skip, line_offset, 0);
}

static char *
parse(const char *s)
{
	return parse_skip(s, strlen(s), 0, 0);
}

static void
expect_parse(const char *in, const char *want)
{
	char *got = parse(in);

	ck_assert_str_eq(got, want);
	free(got);
}

/* Reads the first record of s and returns its fields' missing flags as a
 * string of '0' and '1'. */
static void
expect_missing(const char *s, const char *want)
{
	FILE *in = fmemopen((void *)s, strlen(s), "rb");
	char got[64] = {0};
	tp_csv *c;
	tp_err e = {0};

	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(tp_csv_open(&c, in, "t.csv", &e), TP_OK);
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	ck_assert_uint_lt(tp_csv_nfields(c), sizeof(got));
	for (size_t i = 0; i < tp_csv_nfields(c); i++)
		got[i] = tp_field_missing(&tp_csv_fields(c)[i]) ? '1' : '0';
	ck_assert_str_eq(got, want);
	tp_csv_close(c);
	fclose(in);
}

START_TEST(test_simple)
{
	expect_parse("a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n");
	expect_parse("x\n", "1:x\n");
	expect_parse("", "");
	/* An empty unquoted field at each end of a record. */
	expect_parse(",a,\n", "1:|a|\n");
}
END_TEST

START_TEST(test_quoted)
{
	expect_parse("\"a,b\",c\n", "1:[a,b]|c\n");
	expect_parse("\"say \"\"hi\"\"\",x\n", "1:[say \"hi\"]|x\n");
	expect_parse("\"\"\"\"\n", "1:[\"]\n");
	expect_parse("\"\",\"\"\n", "1:[]|[]\n");
	expect_parse("\"line one\nline two\",2\n", "1:[line one\\nline two]|2\n");
	expect_parse("\"a\"\"\nb\"\"\",\"c,\"\"d\"\n",
	    "1:[a\"\\nb\"]|[c,\"d]\n");
}
END_TEST

START_TEST(test_crlf)
{
	expect_parse("a,b\r\n1,2\r\n", "1:a|b\n2:1|2\n");
	expect_parse("\"a\",\"b\"\r\n\"1\"\r\n", "1:[a]|[b]\n2:[1]\n");
	/* A CRLF inside quotes is part of the field. */
	expect_parse("\"a\r\nb\",c\r\nd\r\n", "1:[a\\r\\nb]|c\n3:d\n");
	/* An empty last field before CRLF. */
	expect_parse("a,\r\n", "1:a|\n");
}
END_TEST

START_TEST(test_bom)
{
	expect_parse("\xEF\xBB\xBF" "a,b\n1,2\n", "1:a|b\n2:1|2\n");
	expect_parse("\xEF\xBB\xBF\"a\",b\n", "1:[a]|b\n");
	/* Only at the start. */
	expect_parse("a\n\xEF\xBB\xBF" "b\n", "1:a\n2:\xEF\xBB\xBF" "b\n");
}
END_TEST

START_TEST(test_bom_only)
{
	/* A file holding nothing but a byte order mark has no records, like
	 * an empty file. */
	expect_parse("\xEF\xBB\xBF", "");
	expect_parse("\xEF\xBB\xBF\n", "");
}
END_TEST

START_TEST(test_one_byte_reads)
{
	/* Reads that end inside or just after the byte order mark, or
	 * inside a record, give the records of a file read at once. */
	static const char *const inputs[] = {
		"\xEF\xBB\xBF", "\xEF\xBB\xBF\n",
		/* Split so that the hex escape ends before the "a". */
		("\xEF\xBB\xBF" "a,b\n\"c\"\"d\",e"),
		"\xEF\xBB", "ab\r\n\ncd\n",
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t len = strlen(inputs[i]);
		char *want = parse_input(inputs[i], len, 0, 0, 0);
		char *got = parse_input(inputs[i], len, 0, 0, 1);
		ck_assert_str_eq(got, want);
		free(want);
		free(got);
	}
}
END_TEST

/* A record's byte in the input: past a byte order mark, empty lines and
 * line breaks in quotes, read at once or a byte at a time. */
START_TEST(test_offsets)
{
	const char *in = "\xEF\xBB\xBF" "a,b\r\n\r\n\"x\ny\",1\n\nlast";
	static const uint64_t want[] = {3, 10, 19};
	tp_err e = {0};
	tp_csv *c;

	for (int slow = 0; slow <= 1; slow++) {
		FILE *f = open_input(in, strlen(in), slow);
		ck_assert_int_eq(tp_csv_open(&c, f, "t.csv", &e), TP_OK);
		for (size_t i = 0; i < 3; i++) {
			ck_assert_int_eq(tp_csv_next(c, &e), 1);
			ck_assert_uint_eq(tp_csv_offset(c), want[i]);
		}
		ck_assert_int_eq(tp_csv_next(c, &e), 0);
		tp_csv_close(c);
		fclose(f);
	}
}
END_TEST

START_TEST(test_no_final_newline)
{
	expect_parse("a,b\n1,2", "1:a|b\n2:1|2\n");
	expect_parse("a,b\n\"1\",\"2\"", "1:a|b\n2:[1]|[2]\n");
	expect_parse("a,b\n1,", "1:a|b\n2:1|\n");
	expect_parse("a\r\n\"x\ny\"", "1:a\n2:[x\\ny]\n");
}
END_TEST

START_TEST(test_empty_lines)
{
	expect_parse("\n\na\n\r\n\nb\n\n", "3:a\n6:b\n");
	expect_parse("a\n\n\n", "1:a\n");
	expect_parse("\n\n", "");
	expect_parse("\r\n", "");
}
END_TEST

START_TEST(test_missing)
{
	expect_missing("NA,,\"NA\",\"\",x,na,\"\",NA", "11000001");
	expect_missing("1,NAN,N,\"x\",", "00001");
	expect_missing(" NA,NA ", "00");
}
END_TEST

START_TEST(test_line_numbers)
{
	const char *in =
	    "h1,h2\n"            /* 1 */
	    "\"a\nb\nc\",1\n"    /* 2 to 4 */
	    "x,2\n"              /* 5 */
	    "\n"                 /* 6 */
	    "\"\n\",\"\n\"\n"    /* 7 to 9 */
	    "y,3\r\n"            /* 10 */
	    "\"p\r\nq\",4\r\n"   /* 11 to 12 */
	    "z,5";               /* 13 */
	char *got = parse(in);

	ck_assert_str_eq(got,
	    "1:h1|h2\n2:[a\\nb\\nc]|1\n5:x|2\n7:[\\n]|[\\n]\n10:y|3\n"
	    "11:[p\\r\\nq]|4\n13:z|5\n");
	free(got);
}
END_TEST

START_TEST(test_raw)
{
	const char *in = "a,b\n\n\"x\ny\",\"1\"\"\"\r\nlast,2";
	FILE *f = fmemopen((void *)in, strlen(in), "rb");
	tp_csv *c;
	tp_err e = {0};
	const char *raw;
	size_t len;

	ck_assert_int_eq(tp_csv_open(&c, f, "t.csv", &e), TP_OK);
	ck_assert_str_eq(tp_csv_name(c), "t.csv");
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	raw = tp_csv_raw(c, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(raw, "a,b\n", 4);
	ck_assert_uint_eq(tp_csv_offset(c), 0);
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	raw = tp_csv_raw(c, &len);
	ck_assert_uint_eq(len, 13);
	ck_assert_mem_eq(raw, "\"x\ny\",\"1\"\"\"\r\n", 13);
	ck_assert_uint_eq(tp_csv_offset(c), 5);
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	raw = tp_csv_raw(c, &len);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(raw, "last,2", 6);
	ck_assert_uint_eq(tp_csv_offset(c), 18);
	ck_assert_int_eq(tp_csv_next(c, &e), 0);
	ck_assert_int_eq(tp_csv_next(c, &e), 0);
	tp_csv_close(c);
	fclose(f);
}
END_TEST

START_TEST(test_errors)
{
	/* Records before the bad one come back, then the error. */
	expect_parse("a,b\nab\"c,d\n",
	    "1:a|b\nerror: t.csv:2: field 1: quote inside an unquoted field");
	expect_parse("a,b\nx,y\"\n",
	    "1:a|b\nerror: t.csv:2: field 2: quote inside an unquoted field");
	expect_parse("a,b\n\"x\"y,z\n",
	    "1:a|b\nerror: t.csv:2: field 1: text after the closing quote");
	expect_parse("a,b\n1,\"x\" \n",
	    "1:a|b\nerror: t.csv:2: field 2: text after the closing quote");
	expect_parse("a,b\n1,\"open\nmore\n",
	    "1:a|b\nerror: t.csv:2: quoted field not closed before the end of the input");
	expect_parse("\"",
	    "error: t.csv:1: quoted field not closed before the end of the input");
	/* After multi-line fields, the line numbers are still right. */
	expect_parse("\"a\nb\",1\nx,\"y\"\"\"z\n",
	    "1:[a\\nb]|1\nerror: t.csv:3: field 2: text after the closing quote");
	expect_parse("\"a\nb\",1\n\n\"c\nd\nx\"\"y\nz",
	    "1:[a\\nb]|1\nerror: t.csv:4: quoted field not closed before the end of the input");
	/* Inside a record of several lines, the line of the error. */
	expect_parse("h\n\"a\nb\"x\n",
	    "1:h\nerror: t.csv:3: field 1: text after the closing quote");
	expect_parse("h,i\n\"a\nb\",c\"d\n",
	    "1:h|i\nerror: t.csv:3: field 2: quote inside an unquoted field");
	expect_parse("h\n\"a\r\nb\"\r\nc\"d\r\n",
	    "1:h\n2:[a\\r\\nb]\nerror: t.csv:4: field 1: quote inside an unquoted field");
}
END_TEST

/* A record of many fields, many of them with doubled quotes. */
START_TEST(test_wide_record)
{
	enum { n = 3000 };
	char *in = NULL, *want = NULL;
	size_t inlen = 0, wantlen = 0;
	FILE *fi = open_memstream(&in, &inlen), *fw = open_memstream(&want,
	    &wantlen);

	fputs("1:", fw);
	for (int i = 0; i < n; i++) {
		if (i > 0) {
			putc(',', fi);
			putc('|', fw);
		}
		switch (i % 3) {
		case 0:
			fprintf(fi, "f%d", i);
			fprintf(fw, "f%d", i);
			break;
		case 1:
			fprintf(fi, "\"q\"\"%d\"\"\"", i);
			fprintf(fw, "[q\"%d\"]", i);
			break;
		default:
			break;
		}
	}
	fputs("\nx\n", fi);
	fputs("\n2:x\n", fw);
	ck_assert_int_eq(fclose(fi), 0);
	ck_assert_int_eq(fclose(fw), 0);
	char *got = parse_skip(in, inlen, 0, 0);
	ck_assert_str_eq(got, want);
	free(got);
	free(in);
	free(want);
}
END_TEST

/* Builds n bytes of text into a malloc'ed buffer through a stream. */
typedef struct {
	char *buf;
	size_t len;
	FILE *f;
} membuf;

static void
mb_open(membuf *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	ck_assert_ptr_nonnull(m->f);
}

static void
mb_close(membuf *m)
{
	ck_assert_int_eq(fclose(m->f), 0);
	m->f = NULL;
}

START_TEST(test_long_records)
{
	const size_t n1 = 3 * (size_t)CHUNK + 17, n2 = CHUNK + CHUNK / 2;
	size_t nq = 0, lines = 0;
	membuf m;
	tp_csv *c;
	tp_err e = {0};
	FILE *in;

	/* An unquoted field of 3 MiB, a quoted one of 1.5 MiB with doubled
	 * quotes and line breaks, then a short record. */
	mb_open(&m);
	fputs("h1,h2\n", m.f);
	for (size_t i = 0; i < n1; i++)
		putc('a' + (int)(i % 26), m.f);
	fputs(",\"", m.f);
	for (size_t i = 0; i < n2; i++) {
		int ch = i % 1000 == 999 ? '"' : i % 777 == 5 ? '\n' :
		    'A' + (int)(i % 26);
		if (ch == '"') {
			fputs("\"\"", m.f);
			nq++;
		} else
			putc(ch, m.f);
		lines += ch == '\n';
	}
	fputs("\"\nend,1\n", m.f);
	mb_close(&m);
	ck_assert_uint_gt(nq, 1000);

	in = fmemopen(m.buf, m.len, "rb");
	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(tp_csv_open(&c, in, "big.csv", &e), TP_OK);
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	ck_assert_uint_eq(tp_csv_nfields(c), 2);
	ck_assert_int_eq(tp_csv_line(c), 2);
	const tp_field *f = tp_csv_fields(c);
	ck_assert_uint_eq(f[0].len, n1);
	ck_assert(!f[0].quoted);
	for (size_t i = 0; i < n1; i++)
		if (f[0].s[i] != 'a' + (int)(i % 26))
			ck_abort_msg("field 1 differs at byte %zu", i);
	ck_assert_uint_eq(f[1].len, n2);
	ck_assert(f[1].quoted);
	for (size_t i = 0; i < n2; i++) {
		int ch = i % 1000 == 999 ? '"' : i % 777 == 5 ? '\n' :
		    'A' + (int)(i % 26);
		if (f[1].s[i] != ch)
			ck_abort_msg("field 2 differs at byte %zu", i);
	}
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	ck_assert_int_eq(tp_csv_line(c), 3 + (long)lines);
	ck_assert_uint_eq(tp_csv_nfields(c), 2);
	ck_assert_mem_eq(tp_csv_fields(c)[0].s, "end", 3);
	/* Its byte in the input, past the buffers the long fields took. */
	ck_assert_uint_eq(tp_csv_offset(c), m.len - 6);
	ck_assert_int_eq(tp_csv_next(c, &e), 0);
	tp_csv_close(c);
	fclose(in);
	free(m.buf);
}
END_TEST

/*
 * The same text parses the same wherever the end of the first buffer falls
 * in it: a padding record of about 1 MiB puts each of its bytes in turn at
 * the buffer's end (the first quote of a pair, the CR of a CRLF, the CR of
 * an empty line).
 */
START_TEST(test_buffer_boundary)
{
	static const char *const texts[] = {
		"a,\"b\"\"c\",\"d\r\ne\"\r\n\r\n\"\"\"\",x\r\nNA,\"NA\",\r\n\"q\"\n",
		"\"x\"\"\",\"\"\n,\n\"long\n\nfield\"\r\nlast,\"no newline\"",
		"p,q\r\n\n\"r\"\r\ns",
	};

	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		const char *text = texts[t];
		size_t tl = strlen(text);
		char *want = parse(text);
		for (size_t shift = 0; shift <= tl + 2; shift++) {
			size_t pad = CHUNK - 1 - (tl + 2) + shift; /* then '\n' */
			char *buf = malloc(pad + 1 + tl);
			ck_assert_ptr_nonnull(buf);
			memset(buf, 'z', pad);
			buf[pad] = '\n';
			memcpy(buf + pad + 1, text, tl);
			char *got = parse_skip(buf, pad + 1 + tl, 1, 1);
			if (strcmp(got, want) != 0)
				ck_abort_msg("text %zu shifted by %zu: got \"%s\", want \"%s\"",
				    t, shift, got, want);
			free(got);
			free(buf);
		}
		free(want);
	}
}
END_TEST

/* Text that JSON and C strings can keep: UTF-8 without NUL bytes. */
START_TEST(test_field_text)
{
	static const struct {
		const char *s;
		size_t len;
		const char *msg; /* NULL: good text */
	} cases[] = {
		{"", 0, NULL},
		{"plain ascii, ~\x7f", 15, NULL},
		{"\xc3\xa9t\xc3\xa9", 5, NULL},              /* U+00E9 */
		{"\xe2\x82\xac", 3, NULL},                   /* U+20AC */
		{"\xef\xbf\xbf", 3, NULL},                   /* U+FFFF */
		{"\xf0\x9d\x84\x9e", 4, NULL},               /* U+1D11E */
		{"\xf4\x8f\xbf\xbf", 4, NULL},               /* U+10FFFF */
		{"x\0y", 3, "the value holds a NUL byte (byte 2)"},
		{"\0", 1, "the value holds a NUL byte (byte 1)"},
		{"\xc3\xa9\0", 3, "the value holds a NUL byte (byte 3)"},
		{"x\xff", 2, "the value is not UTF-8 (byte 2 is 0xff)"},
		{"\x80", 1, "the value is not UTF-8 (byte 1 is 0x80)"},
		{"caf\xe9", 4, "the value is not UTF-8 (byte 4 is 0xe9)"},
		{"\xc3", 1, "the value is not UTF-8 (byte 1 is 0xc3)"},
		{"\xc3x", 2, "the value is not UTF-8 (byte 1 is 0xc3)"},
		{"\xc0\xaf", 2, "the value is not UTF-8 (byte 1 is 0xc0)"},
		{"\xc1\xbf", 2, "the value is not UTF-8 (byte 1 is 0xc1)"},
		{"\xe0\x80\xaf", 3, "the value is not UTF-8 (byte 1 is 0xe0)"},
		{"\xed\xa0\x80", 3, "the value is not UTF-8 (byte 1 is 0xed)"},
		{"\xe2\x82", 2, "the value is not UTF-8 (byte 1 is 0xe2)"},
		{"\xf0\x8f\xbf\xbf", 4, "the value is not UTF-8 (byte 1 is 0xf0)"},
		{"\xf4\x90\x80\x80", 4, "the value is not UTF-8 (byte 1 is 0xf4)"},
		{"\xf5\x80\x80\x80", 4, "the value is not UTF-8 (byte 1 is 0xf5)"},
		{"ab\xf0\x9d\x84", 5, "the value is not UTF-8 (byte 3 is 0xf0)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tp_field f = {cases[i].s, cases[i].len, 0};
		tp_err e = {0};
		int rc = tp_field_check_text(&f, "the value", &e);
		if (cases[i].msg == NULL) {
			ck_assert_msg(rc == TP_OK, "case %zu: %s", i, e.msg);
			continue;
		}
		ck_assert_msg(rc == TP_EDATA, "case %zu passed", i);
		ck_assert_str_eq(e.msg, cases[i].msg);
	}
}
END_TEST

START_TEST(test_put_field)
{
	static const char *const values[] = {
		"plain", "a,b", "say \"hi\"", "line\nbreak", "cr\rhere", "",
		"NA", "N", "NAN", " spaced ", "\"", "crlf\r\n", "-12.5", "na",
	};
	static const char *const written =
	    "plain,\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",\"cr\rhere\",\"\","
	    "\"NA\",N,NAN, spaced ,\"\"\"\",\"crlf\r\n\",-12.5,na\n";
	const size_t n = sizeof(values) / sizeof(values[0]);
	membuf m;
	tp_csv *c;
	tp_err e = {0};
	FILE *in;

	mb_open(&m);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			putc(',', m.f);
		tp_csv_put_field(m.f, values[i], strlen(values[i]));
	}
	putc('\n', m.f);
	/* A value with a NUL byte is written whole. */
	tp_csv_put_field(m.f, "a\0b", 3);
	putc('\n', m.f);
	mb_close(&m);
	ck_assert_uint_eq(m.len, strlen(written) + 4);
	ck_assert_mem_eq(m.buf, written, strlen(written));
	ck_assert_mem_eq(m.buf + strlen(written), "a\0b\n", 4);

	in = fmemopen(m.buf, m.len, "rb");
	ck_assert_int_eq(tp_csv_open(&c, in, "put.csv", &e), TP_OK);
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	ck_assert_uint_eq(tp_csv_nfields(c), n);
	for (size_t i = 0; i < n; i++) {
		const tp_field *f = &tp_csv_fields(c)[i];
		ck_assert_uint_eq(f->len, strlen(values[i]));
		ck_assert_mem_eq(f->s, values[i], f->len);
		ck_assert_msg(!tp_field_missing(f), "value %zu reads as missing", i);
	}
	ck_assert_int_eq(tp_csv_next(c, &e), 1);
	ck_assert_uint_eq(tp_csv_nfields(c), 1);
	ck_assert_uint_eq(tp_csv_fields(c)[0].len, 3);
	ck_assert_mem_eq(tp_csv_fields(c)[0].s, "a\0b", 3);
	ck_assert_int_eq(tp_csv_next(c, &e), 0);
	tp_csv_close(c);
	fclose(in);
	free(m.buf);
}
END_TEST

/* Random fields written with tp_csv_put_field read back the same. */
START_TEST(test_put_field_random)
{
	static const char alphabet[] = "ab,\"\r\n NA";
	char fields[8][16];
	size_t lens[8];
	tp_rng r;

	tp_rng_seed(&r, 7);
	for (int round = 0; round < 2000; round++) {
		size_t nf = 1 + (size_t)tp_rng_below(&r, 8);
		membuf m;
		tp_csv *c;
		tp_err e = {0};
		FILE *in;

		mb_open(&m);
		for (size_t i = 0; i < nf; i++) {
			lens[i] = (size_t)tp_rng_below(&r, 16);
			for (size_t k = 0; k < lens[i]; k++)
				fields[i][k] = alphabet[tp_rng_below(&r,
				    sizeof(alphabet) - 1)];
			if (i > 0)
				putc(',', m.f);
			tp_csv_put_field(m.f, fields[i], lens[i]);
		}
		fputs(tp_rng_below(&r, 2) ? "\n" : "\r\n", m.f);
		mb_close(&m);
		in = fmemopen(m.buf, m.len, "rb");
		ck_assert_int_eq(tp_csv_open(&c, in, "r.csv", &e), TP_OK);
		ck_assert_msg(tp_csv_next(c, &e) == 1, "round %d: %s", round,
		    e.msg);
		ck_assert_uint_eq(tp_csv_nfields(c), nf);
		for (size_t i = 0; i < nf; i++) {
			const tp_field *f = &tp_csv_fields(c)[i];
			ck_assert_uint_eq(f->len, lens[i]);
			ck_assert_mem_eq(f->s, fields[i], lens[i]);
			ck_assert(!tp_field_missing(f));
		}
		ck_assert_int_eq(tp_csv_next(c, &e), 0);
		tp_csv_close(c);
		fclose(in);
		free(m.buf);
	}
}
END_TEST

Suite *
csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("reader");

	tcase_add_test(tc, test_simple);
	tcase_add_test(tc, test_quoted);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_bom);
	tcase_add_test(tc, test_bom_only);
	tcase_add_test(tc, test_one_byte_reads);
	tcase_add_test(tc, test_no_final_newline);
	tcase_add_test(tc, test_empty_lines);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_line_numbers);
	tcase_add_test(tc, test_raw);
	tcase_add_test(tc, test_offsets);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_field_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("long");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_long_records);
	tcase_add_test(tc, test_wide_record);
	tcase_add_test(tc, test_buffer_boundary);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_test(tc, test_put_field);
	tcase_add_test(tc, test_put_field_random);
	suite_add_tcase(s, tc);
	return s;
}
