/* Text as every reader takes it: UTF-8 without NUL bytes, by RFC 3629's
 * table of well-formed sequences. */
#include <string.h>

#include "base/text.h"
#include "suites.h"

START_TEST(well_formed)
{
	static const char *const good[] = {
		"", "plain ascii", "caf\xc3\xa9", "\xe2\x82\xac 5",
		"\xf0\x9f\x92\xb0", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xf4\x8f\xbf\xbf", ("\xef\xbb\xbf" "bom"),
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(tp_text_end(good[i], strlen(good[i])) ==
		    strlen(good[i]), "case %zu refused", i);
}
END_TEST

/* Each bad string, and where its first bad byte is. */
START_TEST(ill_formed)
{
	static const struct {
		const char *s;
		size_t len, at;
	} bad[] = {
		{"ab\0cd", 5, 2},           /* NUL */
		{"caf\xe9", 4, 3},          /* Latin-1 */
		{"\xc0\xaf", 2, 0},         /* overlong '/' */
		{"\xc1\xbf", 2, 0},         /* overlong */
		{"\xe0\x80\xaf", 3, 0},     /* overlong, three bytes */
		{"\xf0\x80\x80\xaf", 4, 0}, /* overlong, four bytes */
		{"\xed\xa0\x80", 3, 0},     /* a surrogate, U+D800 */
		{"\xf4\x90\x80\x80", 4, 0}, /* past U+10FFFF */
		{"\xf5\x80\x80\x80", 4, 0},
		{"x\x80", 2, 1},            /* a lone continuation byte */
		{"x\xe2\x82", 3, 1},        /* cut short */
		{"\xe2\x28\xa1", 3, 0},     /* a bad second byte */
		{"ok\xc3\xa9\xff", 5, 4},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tp_text_end(bad[i].s, bad[i].len) == bad[i].at,
		    "case %zu: %zu, want %zu", i,
		    tp_text_end(bad[i].s, bad[i].len), bad[i].at);
}
END_TEST

Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, well_formed);
	tcase_add_test(tc, ill_formed);
	suite_add_tcase(s, tc);
	return s;
}
