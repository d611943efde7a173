/*
 * fuzz_csv: the CSV reader (lib/data/csv.h) on any bytes, record after
 * record to the end of the input or its first error. A record's raw bytes
 * (tp_csv_raw) are bytes of the input. The records are written again, the
 * missing fields as they were and the others with tp_csv_put_field, and
 * must read back as the same records: the same fields, bytes and missing
 * values.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "fuzz.h"

/* One record as text: missing fields as read, the others as the writer
 * writes them. */
static void
write_record(FILE *f, const tp_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			putc(',', f);
		if (tp_field_missing(&fields[i]))
			fwrite(fields[i].s, 1, fields[i].len, f);
		else
			tp_csv_put_field(f, fields[i].s, fields[i].len);
	}
	putc('\n', f);
}

static void
check_same(const tp_csv *a, const tp_csv *b)
{
	const tp_field *fa = tp_csv_fields(a), *fb = tp_csv_fields(b);
	size_t n = tp_csv_nfields(a);
	long line = tp_csv_line(a);

	if (n != tp_csv_nfields(b))
		fuzz_fail("line %ld: %zu fields read, %zu after writing them",
		    line, n, tp_csv_nfields(b));
	for (size_t i = 0; i < n; i++)
		if (fa[i].len != fb[i].len ||
		    memcmp(fa[i].s, fb[i].s, fa[i].len) != 0 ||
		    tp_field_missing(&fa[i]) != tp_field_missing(&fb[i]))
			fuzz_fail("line %ld: field %zu changed when written again",
			    line, i + 1);
}

static tp_csv *
open_csv(FILE *f, const char *name)
{
	tp_csv *c;
	tp_err e = {0};

	if (tp_csv_open(&c, f, name, &e) != TP_OK)
		fuzz_fail("%s", e.msg);
	return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fuzz_memfile(data, size);
	tp_csv *c = open_csv(f, "input");
	char *text = NULL;
	size_t len = 0;
	FILE *out = fuzz_memout(&text, &len);
	tp_err e = {0};
	int got;

	/* A byte order mark, so that a first field that starts with one
	 * keeps it when read back. */
	fputs("\xEF\xBB\xBF", out);
	while ((got = tp_csv_next(c, &e)) == 1) {
		size_t rawlen;
		const char *raw = tp_csv_raw(c, &rawlen);
		if (memmem(data, size, raw, rawlen) == NULL)
			fuzz_fail("line %ld: the record's bytes are not the input's",
			    tp_csv_line(c));
		write_record(out, tp_csv_fields(c), tp_csv_nfields(c));
	}
	if (got < 0 && e.msg[0] == '\0')
		fuzz_fail("an error without a message");
	if (fclose(out) != 0)
		fuzz_fail("writing the records failed");
	tp_csv_close(c);

	/* The input again, and what was written, record by record. */
	rewind(f);
	c = open_csv(f, "input");
	FILE *back = fuzz_memfile(text, len);
	tp_csv *w = open_csv(back, "written");
	while (tp_csv_next(c, &e) == 1) {
		if (tp_csv_next(w, &e) != 1)
			fuzz_fail("line %ld does not read back: %s",
			    tp_csv_line(c), e.msg);
		check_same(c, w);
	}
	if (tp_csv_next(w, &e) != 0)
		fuzz_fail("more records read back than were written");
	tp_csv_close(w);
	tp_csv_close(c);
	fclose(back);
	fclose(f);
	free(text);
	return 0;
}
