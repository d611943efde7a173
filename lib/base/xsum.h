/*
 * xsum: sums of doubles that do not depend on the order of their terms.
 *
 * Each finite term is added exactly into a fixed-point number wide enough
 * for every double (its bits from 2^-1152 to 2^1087, in 70 digits of 32
 * bits), so the sum is the exact sum of the terms, rounded once, to
 * nearest, when it is read. The same terms added in any order, in parts
 * merged in any grouping, read as the same double: what lets the partial
 * results of shards merge into the very numbers one run gives (log loss,
 * Brier score, means and variances). Non-finite terms are summed apart, as
 * doubles (an infinity, or NaN), and the sum reads as theirs.
 *
 * Text form (tabpipe-partial(5)): "0"; or "[-]HEXpE", the exact value HEX
 * (hex digits, the lowest of them not 0) times 2^E, E a multiple of 32;
 * or "inf", "-inf", "nan".
 */
#ifndef TP_XSUM_H
#define TP_XSUM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum { TP_XSUM_DIGITS = 70 };

typedef struct {
	int64_t d[TP_XSUM_DIGITS]; /* digit i weighs 2^(32 i - 1152); each
	                              a sum of 32-bit pieces, carried into
	                              the next once 2^30 terms have come */
	uint32_t pending;          /* terms since the last carrying */
	double special;            /* the sum of the non-finite terms, 0
	                              when none */
} tp_xsum;

/* A zeroed tp_xsum is 0: no init and nothing to free. */
void tp_xsum_add(tp_xsum *s, double x);
/* into += from. */
void tp_xsum_merge(tp_xsum *into, const tp_xsum *from);
/* The sum rounded to the nearest double (ties to even). */
double tp_xsum_value(const tp_xsum *s);
/* The sum as hi + lo, hi the nearest double and lo the nearest to the
 * rest: some 106 bits, for a difference that would cancel in a double. */
void tp_xsum_dd(const tp_xsum *s, double *hi, double *lo);

/* The text form, NUL-terminated, into buf of TP_XSUM_TEXT bytes. */
enum { TP_XSUM_TEXT = 8 * TP_XSUM_DIGITS + 16 };
void tp_xsum_format(const tp_xsum *s, char *buf);
/* Reads the text form; -1 when text is not one. */
int tp_xsum_parse(tp_xsum *s, const char *text);

#endif
