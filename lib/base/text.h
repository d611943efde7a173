/*
 * text: whether bytes are text that every reader of tabpipe's files takes:
 * UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing
 * past U+10FFFF) and no NUL byte. JSON, safetensors headers, C strings and
 * the database's text all need it, so ingest and the requests of the
 * serving mode refuse anything else at the door.
 */
#ifndef TP_TEXT_H
#define TP_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* The offset of the first byte of s[0..n) that is a NUL or does not stand
 * in a well-formed UTF-8 sequence, or n when all of it is text. */
size_t tp_text_end(const void *s, size_t n);

/* Writes text s (as tp_text_end passes it) to f as a JSON string, quotes
 * included: '"', '\\' and control characters escaped, the rest as is. */
void tp_text_put_json(FILE *f, const char *s);

#endif
