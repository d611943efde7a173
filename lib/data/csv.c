#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "data/csv.h"

enum { CHUNK = 1 << 20 };

struct tp_csv {
	FILE *f;
	const char *name;
	char *buf;           /* input bytes; [pos, end) not yet parsed */
	size_t cap, pos, end;
	int eof;             /* no more bytes to read after end */
	int at_start;        /* nothing read yet: a BOM may follow */
	long next_line;      /* line number of the next record's first line */
	long line;           /* line number of the current record */
	const char *raw;     /* the current record's bytes */
	size_t rawlen;
	uint64_t shift;      /* input bytes moved out of buf, before buf[0] */
	uint64_t raw_at;     /* the current record's offset in the input */
	tp_field *fields;
	size_t nfields, fcap;
	char *unq;           /* unquoted copies of fields with doubled quotes */
	size_t unqcap;
	size_t *unqoff;      /* per field: offset into unq, or SIZE_MAX */
};

int
tp_csv_open(tp_csv **out, FILE *f, const char *name, tp_err *e)
{
	tp_csv *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL || (c->buf = malloc(CHUNK)) == NULL) {
		free(c);
		return tp_err_nomem(e, "the CSV buffer");
	}
	c->f = f;
	c->name = name;
	c->cap = CHUNK;
	c->at_start = 1;
	c->next_line = 1;
	*out = c;
	return TP_OK;
}

void
tp_csv_close(tp_csv *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	free(c->fields);
	free(c->unq);
	free(c->unqoff);
	free(c);
}

/* Moves the unparsed bytes to the front, grows the buffer when the current
 * record fills it, and reads more. Returns -1 on a read error. */
static int
refill(tp_csv *c, tp_err *e)
{
	size_t n;

	if (c->pos > 0) {
		c->shift += c->pos;
		memmove(c->buf, c->buf + c->pos, c->end - c->pos);
		c->end -= c->pos;
		c->pos = 0;
	}
	if (c->end == c->cap) {
		char *nb = realloc(c->buf, c->cap * 2);
		if (nb == NULL)
			return tp_err_nomem(e, "a long CSV record"), -1;
		c->buf = nb;
		c->cap *= 2;
	}
	n = fread(c->buf + c->end, 1, c->cap - c->end, c->f);
	c->end += n;
	if (n == 0) {
		if (ferror(c->f))
			return tp_err_set(e, TP_EIO, "%s: read error: %s", c->name,
			    strerror(errno)), -1;
		c->eof = 1;
	}
	if (c->at_start && c->end - c->pos >= 3) {
		if (memcmp(c->buf + c->pos, "\xEF\xBB\xBF", 3) == 0)
			c->pos += 3;
		c->at_start = 0;
	} else if (c->at_start && c->eof) {
		c->at_start = 0;
	}
	return 0;
}

static int
add_field(tp_csv *c, const char *s, size_t len, int quoted, size_t unqoff,
    tp_err *e)
{
	if (c->nfields == c->fcap) {
		size_t ncap = c->fcap ? c->fcap * 2 : 64;
		tp_field *nf = realloc(c->fields, ncap * sizeof(*nf));
		size_t *no = realloc(c->unqoff, ncap * sizeof(*no));
		if (nf != NULL)
			c->fields = nf;
		if (no != NULL)
			c->unqoff = no;
		if (nf == NULL || no == NULL)
			return tp_err_nomem(e, "CSV fields"), -1;
		c->fcap = ncap;
	}
	c->fields[c->nfields] = (tp_field){s, len, quoted};
	c->unqoff[c->nfields] = unqoff;
	c->nfields++;
	return 0;
}

/* Copies a quoted field's text with each doubled quote made single. */
static int
unquote(tp_csv *c, const char *s, size_t len, size_t *used, size_t *off,
    size_t *outlen, tp_err *e)
{
	size_t i, n = 0;

	if (*used + len > c->unqcap) {
		size_t ncap = (*used + len) * 2 + 64;
		char *nb = realloc(c->unq, ncap);
		if (nb == NULL)
			return tp_err_nomem(e, "a quoted CSV field"), -1;
		c->unq = nb;
		c->unqcap = ncap;
	}
	*off = *used;
	for (i = 0; i < len; i++) {
		c->unq[*used + n++] = s[i];
		if (s[i] == '"')
			i++; /* the second quote of a pair */
	}
	*used += n;
	*outlen = n;
	return 0;
}

/*
 * Parses one record starting at c->pos. Returns 1 when it is complete,
 * 0 when the buffer ends before the record does (and more input may come),
 * -1 on a malformed record.
 */
static int
parse_record(tp_csv *c, long *lines, tp_err *e)
{
	const char *p = c->buf + c->pos, *end = c->buf + c->end;
	size_t used = 0;

	c->nfields = 0;
	*lines = 0;
	for (;;) {
		const char *start = p;
		if (p < end && *p == '"') {
			const char *q = p + 1;
			int doubled = 0;
			for (;;) {
				const char *hit = memchr(q, '"', (size_t)(end - q));
				if (hit == NULL) {
					if (!c->eof)
						return 0;
					for (q = start; q < end; q++)
						*lines += *q == '\n';
					return tp_err_set(e, TP_EDATA,
					    "%s:%ld: quoted field not closed before the end of the input",
					    c->name, c->next_line), -1;
				}
				if (hit + 1 < end && hit[1] == '"') {
					doubled = 1;
					q = hit + 2;
					continue;
				}
				if (hit + 1 == end && !c->eof)
					return 0;
				q = hit;
				break;
			}
			for (const char *r = start; r < q; r++)
				*lines += *r == '\n';
			size_t off = SIZE_MAX, len = (size_t)(q - start - 1);
			if (doubled &&
			    unquote(c, start + 1, len, &used, &off, &len, e) < 0)
				return -1;
			if (add_field(c, start + 1, len, 1, off, e) < 0)
				return -1;
			p = q + 1;
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			if (p < end && *p == '\r' && p + 1 < end && p[1] == '\n')
				p++;
			else if (p + 1 == end && *p == '\r' && !c->eof)
				return 0;
			if (p < end && *p == '\n') {
				(*lines)++;
				p++;
				break;
			}
			if (p == end) {
				if (!c->eof)
					return 0;
				break;
			}
			return tp_err_set(e, TP_EDATA,
			    "%s:%ld: field %zu: text after the closing quote",
			    c->name, c->next_line + *lines, c->nfields), -1;
		}
		while (p < end && *p != ',' && *p != '\n') {
			if (*p == '"')
				return tp_err_set(e, TP_EDATA,
				    "%s:%ld: field %zu: quote inside an unquoted field",
				    c->name, c->next_line + *lines, c->nfields + 1), -1;
			p++;
		}
		if (p == end && !c->eof)
			return 0;
		size_t len = (size_t)(p - start);
		if (p < end && *p == '\n' && len > 0 && p[-1] == '\r')
			len--;
		if (add_field(c, start, len, 0, SIZE_MAX, e) < 0)
			return -1;
		if (p == end)
			break;
		if (*p++ == '\n') {
			(*lines)++;
			break;
		}
	}
	for (size_t i = 0; i < c->nfields; i++)
		if (c->unqoff[i] != SIZE_MAX)
			c->fields[i].s = c->unq + c->unqoff[i];
	c->raw = c->buf + c->pos;
	c->rawlen = (size_t)(p - c->raw);
	c->raw_at = c->shift + c->pos;
	c->pos = (size_t)(p - c->buf);
	return 1;
}

int
tp_csv_next(tp_csv *c, tp_err *e)
{
	long lines;

	for (;;) {
		if (c->pos == c->end || c->at_start) {
			if (c->eof && c->pos == c->end)
				return 0;
			if (refill(c, e) < 0)
				return -1;
			/* A read can end just after a byte order mark, or
			 * inside one: look again before parsing. */
			continue;
		}
		/* An empty line is no record. */
		if (c->buf[c->pos] == '\n' ||
		    (c->buf[c->pos] == '\r' && c->pos + 1 < c->end &&
		    c->buf[c->pos + 1] == '\n')) {
			c->pos += c->buf[c->pos] == '\r' ? 2 : 1;
			c->next_line++;
			continue;
		}
		int r = parse_record(c, &lines, e);
		if (r < 0)
			return -1;
		if (r == 1) {
			c->line = c->next_line;
			c->next_line += lines;
			return 1;
		}
		if (refill(c, e) < 0)
			return -1;
	}
}

const tp_field *tp_csv_fields(const tp_csv *c) { return c->fields; }
size_t tp_csv_nfields(const tp_csv *c) { return c->nfields; }
long tp_csv_line(const tp_csv *c) { return c->line; }
uint64_t tp_csv_offset(const tp_csv *c) { return c->raw_at; }
const char *tp_csv_name(const tp_csv *c) { return c->name; }

const char *
tp_csv_raw(const tp_csv *c, size_t *len)
{
	*len = c->rawlen;
	return c->raw;
}

int
tp_field_missing(const tp_field *f)
{
	return !f->quoted &&
	    (f->len == 0 || (f->len == 2 && f->s[0] == 'N' && f->s[1] == 'A'));
}

int
tp_field_check_text(const tp_field *f, const char *what, tp_err *e)
{
	size_t i = tp_text_end(f->s, f->len);
	unsigned char c = i < f->len ? (unsigned char)f->s[i] : 0;

	if (i == f->len)
		return TP_OK;
	if (c == 0)
		return tp_err_set(e, TP_EDATA, "%s holds a NUL byte (byte %zu)",
		    what, i + 1);
	return tp_err_set(e, TP_EDATA, "%s is not UTF-8 (byte %zu is 0x%02x)",
	    what, i + 1, c);
}

void
tp_csv_put_field(FILE *f, const char *s, size_t len)
{
	int quote = len == 0 || (len == 2 && s[0] == 'N' && s[1] == 'A');

	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' ||
		    s[i] == '\n';
	if (!quote) {
		fwrite(s, 1, len, f);
		return;
	}
	putc('"', f);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			putc('"', f);
		putc(s[i], f);
	}
	putc('"', f);
}
