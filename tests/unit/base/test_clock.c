/* The monotonic clock: it never goes back, and it ticks finer than a
 * millisecond, which the rates of short epochs and requests need. */
#include <time.h>

#include "base/clock.h"
#include "suites.h"

START_TEST(monotonic_and_fine)
{
	double first = tp_clock(), last = first, step = 1;

	for (int i = 0; i < 100000; i++) {
		double now = tp_clock();
		ck_assert_msg(now >= last, "went back by %g s", last - now);
		if (now > last && now - last < step)
			step = now - last;
		last = now;
	}
	ck_assert_msg(step < 1e-3, "its finest tick was %g s", step);
	ck_assert(first > 0);
}
END_TEST

START_TEST(seconds)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	double t0 = tp_clock();

	nanosleep(&pause, NULL);
	ck_assert_msg(tp_clock() - t0 >= 0.02, "20 ms measured as %g s",
	    tp_clock() - t0);
}
END_TEST

Suite *
clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");

	tcase_add_test(tc, monotonic_and_fine);
	tcase_add_test(tc, seconds);
	suite_add_tcase(s, tc);
	return s;
}
