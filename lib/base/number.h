/*
 * number: strict, locale-independent parsing of decimal numbers, for CSV
 * fields, JSON strings, options and gates alike, so that a number means
 * the same wherever it is read.
 */
#ifndef TP_NUMBER_H
#define TP_NUMBER_H

#include <stddef.h>

/* Parses the whole of s as a decimal number ("-12", "3.5", "1e-3"): no spaces,
 * no hex, no "inf" or "nan", nothing after the number. Returns 0 and sets *x,
 * or -1. The result is correctly rounded and does not depend on the locale. */
int tp_parse_double(const char *s, size_t len, double *x);

#endif
