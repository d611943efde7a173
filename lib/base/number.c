#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"

/* Powers of ten that a double holds exactly. */
static const double exact_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

int
tp_parse_double(const char *s, size_t len, double *x)
{
	const char *p = s, *end = s + len;
	uint64_t mant = 0;
	int neg = 0, digits = 0, inexact = 0;
	long exp10 = 0;

	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (mant < UINT64_C(100000000000000000))
			mant = mant * 10 + (uint64_t)(*p - '0');
		else {
			exp10++;
			inexact |= *p != '0';
		}
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
			if (mant < UINT64_C(100000000000000000)) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				exp10--;
			} else
				inexact |= *p != '0';
		}
	}
	if (digits == 0)
		return -1;
	if (p < end && (*p == 'e' || *p == 'E')) {
		int eneg = 0, edigits = 0;
		long ev = 0;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		for (; p < end && *p >= '0' && *p <= '9'; p++, edigits++)
			if (ev < 100000)
				ev = ev * 10 + (*p - '0');
		if (edigits == 0)
			return -1;
		exp10 += eneg ? -ev : ev;
	}
	if (p != end)
		return -1;
	/* Clinger's fast path: an exact mantissa times an exact power of ten
	 * is one correctly rounded operation. */
	if (!inexact && mant <= (UINT64_C(1) << 53) && exp10 >= -22 &&
	    exp10 <= 22) {
		double d = (double)mant;
		d = exp10 < 0 ? d / exact_pow10[-exp10] : d * exact_pow10[exp10];
		*x = neg ? -d : d;
		return 0;
	}
	char tmp[128];
	if (len >= sizeof(tmp)) {
		char *heap = malloc(len + 1);
		if (heap == NULL)
			return -1;
		memcpy(heap, s, len);
		heap[len] = '\0';
		*x = strtod(heap, NULL);
		free(heap);
	} else {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		*x = strtod(tmp, NULL);
	}
	return isfinite(*x) ? 0 : -1;
}
