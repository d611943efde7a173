#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xsum.h"

/* Digit i weighs 2^(32 i - OFFSET): the lowest bit of the least
 * subnormal's mantissa, 2^-1074 once frexp has made it an integer of 53
 * bits, lands at bit 26 of digit 0, and the greatest double's at digit 68. */
#define OFFSET 1152

/* Carries each digit's excess into the next, so that digits 0 to 68 are
 * in [0, 2^32) and the last holds the sign. */
static void
carry(tp_xsum *s)
{
	for (int i = 0; i + 1 < TP_XSUM_DIGITS; i++) {
		int64_t low = s->d[i] & 0xffffffff;
		s->d[i + 1] += (s->d[i] - low) / 4294967296;
		s->d[i] = low;
	}
	s->pending = 0;
}

void
tp_xsum_add(tp_xsum *s, double x)
{
	int e, pos;
	uint64_t mant;
	unsigned __int128 v;

	if (x == 0)
		return;
	if (!isfinite(x)) {
		s->special += x;
		return;
	}
	/* |x| = mant 2^(e - 53), mant an integer below 2^53. */
	mant = (uint64_t)ldexp(frexp(fabs(x), &e), 53);
	pos = e - 53 + OFFSET;
	v = (unsigned __int128)mant << (pos % 32);
	for (int k = 0; k < 3; k++) {
		int64_t piece = (int64_t)(uint32_t)(v >> (32 * k));
		s->d[pos / 32 + k] += x < 0 ? -piece : piece;
	}
	/* A digit takes 2^31 pieces of 32 bits before an int64 could
	 * overflow. */
	if (++s->pending >= (1u << 30))
		carry(s);
}

void
tp_xsum_merge(tp_xsum *into, const tp_xsum *from)
{
	tp_xsum f = *from;

	carry(&f);
	carry(into);
	for (int i = 0; i < TP_XSUM_DIGITS; i++)
		into->d[i] += f.d[i];
	into->pending = 1;
	into->special += from->special;
}

/* s carried, and made its magnitude (the sign into *neg); the index of its
 * highest digit not 0, or -1 when it is 0. */
static int
magnitude(tp_xsum *s, int *neg)
{
	int h;

	carry(s);
	*neg = s->d[TP_XSUM_DIGITS - 1] < 0;
	if (*neg) {
		for (int i = 0; i < TP_XSUM_DIGITS; i++)
			s->d[i] = -s->d[i];
		carry(s);
	}
	for (h = TP_XSUM_DIGITS - 1; h >= 0 && s->d[h] == 0; h--)
		;
	return h;
}

double
tp_xsum_value(const tp_xsum *sum)
{
	tp_xsum s = *sum;
	unsigned __int128 x = 0, rest, half;
	int neg, h, sticky = 0, nbits, shift;
	uint64_t mant;

	if (sum->special != 0)
		return sum->special;
	if ((h = magnitude(&s, &neg)) < 0)
		return 0;
	/* The top four digits, and whether any below them is not 0. */
	for (int i = h; i > h - 4; i--)
		x = x << 32 | (uint64_t)(i >= 0 ? s.d[i] : 0);
	for (int i = h - 4; i >= 0; i--)
		sticky |= s.d[i] != 0;
	for (nbits = 128; !(x >> (nbits - 1) & 1); nbits--)
		;
	/* Digit h is not 0, so x has 97 bits or more: 53 are kept and the
	 * rest round, to nearest, ties to even. */
	shift = nbits - 53;
	mant = (uint64_t)(x >> shift);
	rest = x & (((unsigned __int128)1 << shift) - 1);
	half = (unsigned __int128)1 << (shift - 1);
	if (rest > half || (rest == half && (sticky || (mant & 1))))
		mant++;
	double v = ldexp((double)mant, 32 * (h - 3) - OFFSET + shift);
	return neg ? -v : v;
}

void
tp_xsum_dd(const tp_xsum *s, double *hi, double *lo)
{
	tp_xsum rest = *s;

	*hi = tp_xsum_value(s);
	*lo = 0;
	if (!isfinite(*hi))
		return;
	tp_xsum_add(&rest, -*hi);
	*lo = tp_xsum_value(&rest);
}

void
tp_xsum_format(const tp_xsum *sum, char *buf)
{
	tp_xsum s = *sum;
	int neg, h, l, n;

	if (sum->special != 0) {
		strcpy(buf, isnan(sum->special) ? "nan" :
		    sum->special > 0 ? "inf" : "-inf");
		return;
	}
	if ((h = magnitude(&s, &neg)) < 0) {
		strcpy(buf, "0");
		return;
	}
	for (l = 0; s.d[l] == 0; l++)
		;
	n = sprintf(buf, "%s%" PRIx32, neg ? "-" : "", (uint32_t)s.d[h]);
	for (int i = h - 1; i >= l; i--)
		n += sprintf(buf + n, "%08" PRIx32, (uint32_t)s.d[i]);
	sprintf(buf + n, "p%d", 32 * l - OFFSET);
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

int
tp_xsum_parse(tp_xsum *s, const char *text)
{
	const char *p = text, *hex, *end;
	char *after;
	long ex;
	int neg = 0, l, i;

	memset(s, 0, sizeof(*s));
	if (strcmp(text, "0") == 0)
		return 0;
	if (strcmp(text, "inf") == 0 || strcmp(text, "-inf") == 0 ||
	    strcmp(text, "nan") == 0) {
		s->special = strcmp(text, "nan") == 0 ? NAN :
		    text[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (hex = p; hexval(*p) >= 0; p++)
		;
	end = p;
	if (end == hex || *p != 'p' || hexval(*hex) == 0)
		return -1;
	ex = strtol(p + 1, &after, 10);
	if (after == p + 1 || *after != '\0' || ex < -OFFSET ||
	    (ex + OFFSET) % 32 != 0)
		return -1;
	l = (int)((ex + OFFSET) / 32);
	/* Eight hex digits a digit, from the lowest. */
	for (i = l; end > hex; i++) {
		uint32_t v = 0;
		const char *from = end - 8 > hex ? end - 8 : hex;
		if (i >= TP_XSUM_DIGITS - 1)
			return -1;
		for (const char *c = from; c < end; c++)
			v = v << 4 | (uint32_t)hexval(*c);
		s->d[i] = neg ? -(int64_t)v : (int64_t)v;
		end = from;
	}
	s->pending = 1;
	return 0;
}
