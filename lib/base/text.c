#include "base/text.h"

/* The length of the UTF-8 sequence at s (of n bytes), or 0 if none starts
 * there. The second byte's range rules out overlong forms, surrogates and
 * code points above U+10FFFF (RFC 3629, section 4). */
static size_t
utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		if (s[0] == 0xE0)
			lo = 0xA0;
		else if (s[0] == 0xED)
			hi = 0x9F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

size_t
tp_text_end(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0, len;

	while (i < n) {
		if (s[i] >= 0x01 && s[i] <= 0x7F) {
			i++; /* ASCII, the common case */
			continue;
		}
		if (s[i] == 0 || (len = utf8_sequence(s + i, n - i)) == 0)
			return i;
		i += len;
	}
	return n;
}

void
tp_text_put_json(FILE *f, const char *s)
{
	putc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			putc(*p, f);
	}
	putc('"', f);
}
