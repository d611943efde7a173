/*
 * csv: a streaming reader and a writer of RFC 4180 CSV.
 *
 * Records are read one at a time from a FILE, so memory does not grow with
 * the file. Accepted: fields quoted with '"' that hold commas, doubled quotes
 * and line breaks; LF or CRLF line ends; a UTF-8 byte order mark at the
 * start; a last line without a line end. Lines that are entirely empty are
 * skipped. A quote inside an unquoted field, text after a closing quote and
 * a quoted field still open at the end of the input are errors that name the
 * line. Whether a field is missing ("NA" or empty, unquoted) is for the
 * caller to decide: the reader says whether each field was quoted.
 */
#ifndef TP_CSV_H
#define TP_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

typedef struct {
	const char *s; /* the field's text without quotes; not NUL-terminated */
	size_t len;    /* its length in bytes */
	int quoted;    /* 1 if it was written in quotes */
} tp_field;

typedef struct tp_csv tp_csv;

/* Reads from f, which stays the caller's; name is used in messages. */
int tp_csv_open(tp_csv **out, FILE *f, const char *name, tp_err *e);
void tp_csv_close(tp_csv *c);

/* Reads the next record: returns 1 with a record, 0 at the end of the input,
 * -1 on a malformed record or a read error (e filled, "name:line: what").
 * The fields stay valid until the next call. */
int tp_csv_next(tp_csv *c, tp_err *e);

const tp_field *tp_csv_fields(const tp_csv *c); /* the record's fields */
size_t tp_csv_nfields(const tp_csv *c);
long tp_csv_line(const tp_csv *c);       /* line where the record starts */
uint64_t tp_csv_offset(const tp_csv *c); /* byte where it starts, from the
                                            reader's start (0) */
const char *tp_csv_raw(const tp_csv *c, size_t *len); /* the record's bytes as
                                                          read, line end included */
const char *tp_csv_name(const tp_csv *c);

/* 1 if the field is a missing value: unquoted and empty or "NA". */
int tp_field_missing(const tp_field *f);

/* Checks that the field's text is UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) without NUL bytes, as JSON documents
 * and C strings need it: TP_OK, or TP_EDATA with "WHAT holds a NUL byte
 * (byte N)" or "WHAT is not UTF-8 (byte N is 0xXX)" in e, N counting the
 * field's bytes from 1. */
int tp_field_check_text(const tp_field *f, const char *what, tp_err *e);


/* Writes s as one CSV field, quoted when it holds a comma, quote, CR or LF,
 * or when it would otherwise read back as missing. */
void tp_csv_put_field(FILE *f, const char *s, size_t len);

#endif
