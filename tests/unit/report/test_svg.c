/*
 * test_svg: the charts' text and geometry: ticks at nice numbers inside
 * their range, escaping, numbers that are always valid and the same bytes
 * for the same input, a line's pixels mapped back to its points through
 * the chart's data-plot, data-x and data-y, and bars' and histograms'
 * heights in proportion to their values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/svg.h"
#include "suites.h"

/* The plot's place and ranges, as the svg element says them. */
typedef struct {
	double left, top, width, height, x0, x1, y0, y1;
} geom;

static void
geom_read(const char *svg, geom *g)
{
	const char *p = strstr(svg, "data-plot=\"");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p, "data-plot=\"%lf %lf %lf %lf\" data-x=\"%lf "
	    "%lf\" data-y=\"%lf %lf\"", &g->left, &g->top, &g->width, &g->height,
	    &g->x0, &g->x1, &g->y0, &g->y1), 8);
}

static double
data_x(const geom *g, double px)
{
	return g->x0 + (px - g->left) / g->width * (g->x1 - g->x0);
}

static double
data_y(const geom *g, double py)
{
	return g->y0 + (g->top + g->height - py) / g->height * (g->y1 - g->y0);
}

static int
count(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

/* The i-th series' element, from its start. */
static const char *
series(const char *svg, int i)
{
	const char *p = svg;
	for (int k = 0; k <= i; k++) {
		p = strstr(p, "class=\"series\"");
		ck_assert_msg(p != NULL, "no series %d", i);
		if (k < i)
			p++;
	}
	return p;
}

/* The points of the first path after s. */
static int
path_points(const char *s, double *x, double *y, int max)
{
	const char *p = strstr(s, " d=\"");
	int n = 0;

	ck_assert_ptr_nonnull(p);
	p += 4;
	while (*p == 'M' || *p == 'L' || *p == ' ') {
		char *end;
		if (*p == ' ') {
			p++;
			continue;
		}
		p++;
		ck_assert_int_lt(n, max);
		x[n] = strtod(p, &end);
		y[n] = strtod(end, &end);
		p = end;
		n++;
	}
	ck_assert_int_eq(*p, '"');
	return n;
}

/* The heights of the rects of the series that starts at s. */
static int
rect_heights(const char *s, double *h, int max)
{
	const char *end = strstr(s, "</g>"), *p = s;
	int n = 0;

	while ((p = strstr(p, "<rect ")) != NULL && p < end) {
		const char *q = strstr(p, "height=\"");
		ck_assert_int_lt(n, max);
		h[n++] = strtod(q + 8, NULL);
		p++;
	}
	return n;
}

/* Each of the ns series' bars in svg is as high as its values (n), in
 * the data's units. */
static void
bars_match(const char *svg, const tp_svg_series *s, int ns, int n)
{
	double h[8];
	geom g;

	ck_assert_int_le(n, 8);
	geom_read(svg, &g);
	ck_assert_double_eq(g.y0, 0);
	for (int j = 0; j < ns; j++) {
		ck_assert_int_eq(rect_heights(series(svg, j), h, 8), n);
		for (int i = 0; i < n; i++)
			ck_assert_double_eq_tol(h[i] / g.height * (g.y1 - g.y0),
			    s[j].y[i], 0.002);
	}
}

START_TEST(test_ticks)
{
	static const double ranges[][2] = {
		{0, 1}, {0.013, 0.87}, {-3.7, 12.2}, {0, 12345}, {0.5, 0.5001},
		{-1e-3, 2e-3}, {7, 7.9}, {0, 100},
	};
	for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
		double lo = ranges[r][0], hi = ranges[r][1], t[32], step;
		int n = tp_svg_ticks(lo, hi, 5, t, 32, &step);
		double mant = step / pow(10, floor(log10(step)));
		ck_assert_msg(n >= 2 && n <= 12, "%g..%g: %d ticks", lo, hi, n);
		ck_assert_msg(fabs(mant - 1) < 1e-9 || fabs(mant - 2) < 1e-9 ||
		    fabs(mant - 5) < 1e-9, "%g..%g: step %g is not nice", lo, hi,
		    step);
		for (int i = 0; i < n; i++) {
			double k = t[i] / step;
			ck_assert_msg(t[i] >= lo && t[i] <= hi, "%g..%g: tick %g outside",
			    lo, hi, t[i]);
			ck_assert_msg(fabs(k - round(k)) < 1e-6, "%g..%g: tick %g is not "
			    "a multiple of %g", lo, hi, t[i], step);
			if (i > 0)
				ck_assert_msg(fabs(t[i] - t[i - 1] - step) < step * 1e-6,
				    "%g..%g: uneven ticks", lo, hi);
		}
	}
	double t[4];
	ck_assert_int_eq(tp_svg_ticks(0, 1, 5, t, 4, NULL), 4); /* at most max */
	ck_assert_int_eq(tp_svg_ticks(NAN, 1, 5, t, 4, NULL), 0);
}
END_TEST

START_TEST(test_escape)
{
	tp_svg_buf b = {0};

	tp_svg_escape(&b, "a<b&c>\"d'e");
	ck_assert_str_eq(b.s, "a&lt;b&amp;c&gt;&quot;d&#39;e");
	tp_svg_buf_free(&b);
	tp_svg_escape(&b, "x\xff" "y\x01z\xc3\xa9");
	ck_assert_str_eq(b.s, "x\xEF\xBF\xBDy\xEF\xBF\xBDz\xc3\xa9");
	tp_svg_buf_free(&b);
	tp_svg_number(&b, -0.0001, 2);
	tp_svg_puts(&b, " ");
	tp_svg_number(&b, NAN, 2);
	tp_svg_puts(&b, " ");
	tp_svg_number(&b, 2.50, 3);
	tp_svg_puts(&b, " ");
	tp_svg_number(&b, 1e300, 2);
	ck_assert_str_eq(b.s, "0 0 2.5 1000000000000000");
	tp_svg_buf_free(&b);
}
END_TEST

/* A line chart whose names need escaping, with points that are not
 * finite. */
static void
draw(tp_svg_buf *b)
{
	static const double x[] = {0, 0.1, NAN, 0.5, 1, INFINITY};
	static const double y[] = {0, 0.4, 0.5, 0.8, 1, 2};
	tp_svg_series s[2] = {
		{.name = "x<y & \"z\"", .x = x, .y = y, .n = 6,
		    .style = TP_SVG_LINE | TP_SVG_MARKERS},
		{.name = "second", .x = y, .y = x, .n = 6, .style = TP_SVG_LINE,
		    .color = 1},
	};
	tp_svg_chart c = {.name = "a&b", .title = "<title>", .note = "1 < 2",
	    .xlabel = "x", .ylabel = "y", .diagonal = 1};
	tp_svg_lines(b, &c, s, 2);
}

START_TEST(test_text)
{
	tp_svg_buf a = {0}, b = {0};

	draw(&a);
	draw(&b);
	ck_assert(!a.nomem);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_msg(memcmp(a.s, b.s, a.len) == 0, "the same input, other bytes");
	ck_assert_ptr_nonnull(strstr(a.s, "data-chart=\"a&amp;b\""));
	ck_assert_ptr_nonnull(strstr(a.s, "data-series=\"2\""));
	ck_assert_ptr_nonnull(strstr(a.s,
	    "data-name=\"x&lt;y &amp; &quot;z&quot;\""));
	ck_assert_ptr_nonnull(strstr(a.s, "&lt;title&gt;"));
	ck_assert_ptr_null(strstr(a.s, "x<y"));
	ck_assert_ptr_null(strstr(a.s, "1 < 2"));
	ck_assert_int_eq(count(a.s, "class=\"series\""), 2);
	ck_assert_ptr_null(strstr(a.s, "nan"));
	ck_assert_ptr_null(strstr(a.s, "inf"));
	for (const char *p = a.s; (p = strpbrk(p, "eE")) != NULL; p++)
		ck_assert_msg(p == a.s || p[-1] < '0' || p[-1] > '9' ||
		    (p[1] != '+' && p[1] != '-'),
		    "a number with an exponent: %.20s", p - 1);
	ck_assert_int_eq(count(a.s, "<svg"), 1);
	ck_assert_int_eq(count(a.s, "</svg>"), 1);
	ck_assert_int_eq(count(a.s, "<g"), count(a.s, "</g>"));
	ck_assert_int_eq(count(a.s, "<text"), count(a.s, "</text>"));
	/* A NaN breaks each line, which starts again after it. */
	ck_assert_int_eq(count(series(a.s, 0), " M"), 2);
	tp_svg_buf_free(&a);
	tp_svg_buf_free(&b);
}
END_TEST

START_TEST(test_line_geometry)
{
	enum { N = 400 };
	double x[N], y[N], px[N], py[N];
	tp_svg_buf b = {0};
	geom g;
	int n;

	for (int i = 0; i < N; i++) {
		x[i] = (double)i / (N - 1);
		y[i] = sqrt(x[i]);
	}
	tp_svg_series s = {.name = "curve", .x = x, .y = y, .n = N,
	    .style = TP_SVG_LINE};
	tp_svg_chart c = {.name = "t", .xmin = 0, .xmax = 1, .ymin = 0, .ymax = 1};
	tp_svg_lines(&b, &c, &s, 1);
	geom_read(b.s, &g);
	ck_assert(g.x0 == 0 && g.x1 == 1 && g.y0 == 0 && g.y1 == 1);
	n = path_points(series(b.s, 0), px, py, N);
	ck_assert_int_gt(n, 10);
	ck_assert_double_eq_tol(data_x(&g, px[0]), 0, 1e-3);
	ck_assert_double_eq_tol(data_y(&g, py[0]), 0, 1e-3);
	ck_assert_double_eq_tol(data_x(&g, px[n - 1]), 1, 1e-3);
	ck_assert_double_eq_tol(data_y(&g, py[n - 1]), 1, 1e-3);
	for (int i = 0; i < n; i++)
		ck_assert_double_eq_tol(data_y(&g, py[i]), sqrt(fmax(0,
		    data_x(&g, px[i]))), 0.02);
	tp_svg_buf_free(&b);

	/* A range from the data is widened to ticks around it. */
	tp_svg_chart auto_c = {.name = "t"};
	for (int i = 0; i < N; i++)
		y[i] = 3.3 + 4 * x[i];
	tp_svg_lines(&b, &auto_c, &s, 1);
	geom_read(b.s, &g);
	ck_assert(g.y0 <= 3.3 && g.y1 >= 7.3);
	ck_assert_double_eq_tol(g.y0, 3, 1e-9);
	ck_assert_double_eq_tol(g.y1, 8, 1e-9);
	n = path_points(series(b.s, 0), px, py, N);
	ck_assert_double_eq_tol(data_y(&g, py[0]), 3.3, 0.01);
	ck_assert_double_eq_tol(data_y(&g, py[n - 1]), 7.3, 0.01);
	tp_svg_buf_free(&b);
}
END_TEST

START_TEST(test_bar_heights)
{
	static const double edges[] = {0, 0.25, 0.5, 0.75, 1};
	static const double a[] = {0.1, 0.4, 0.3, 0.2};
	static const double c2[] = {0.05, 0.05, 0.6, 0.3};
	static const char *const labels[] = {"a", "b", "<c>", "d"};
	tp_svg_series s[2] = {
		{.name = "ref", .y = a, .n = 4},
		{.name = "cur", .y = c2, .n = 4, .color = 1},
	};
	tp_svg_chart c = {.name = "h", .ypercent = 1};
	tp_svg_buf b = {0};

	tp_svg_histogram(&b, &c, edges, 4, s, 2);
	bars_match(b.s, s, 2, 4);
	tp_svg_buf_free(&b);

	tp_svg_bars(&b, &c, labels, 4, s, 2);
	bars_match(b.s, s, 2, 4);
	ck_assert_ptr_nonnull(strstr(b.s, "&lt;c&gt;"));
	tp_svg_buf_free(&b);
}
END_TEST

START_TEST(test_grid)
{
	static const char *const r[] = {"actual 1", "actual 0"};
	static const char *const k[] = {"called 1", "called 0"};
	static const double v[] = {30, 10, 5, 55};
	tp_svg_chart c = {.name = "confusion", .title = "m"};
	tp_svg_buf b = {0};

	tp_svg_grid(&b, &c, r, 2, k, 2, v);
	ck_assert_int_eq(count(b.s, "class=\"series\""), 1);
	ck_assert_ptr_nonnull(strstr(b.s, "data-series=\"1\""));
	ck_assert_int_eq(count(series(b.s, 0), "<rect "), 4);
	ck_assert_ptr_nonnull(strstr(b.s, ">55<"));
	ck_assert_ptr_nonnull(strstr(b.s, ">55% of rows<"));
	/* The largest cell is the palette's blue. */
	ck_assert_ptr_nonnull(strstr(b.s, "fill=\"#0072B2\""));
	tp_svg_buf_free(&b);
}
END_TEST

Suite *
svg_suite(void)
{
	Suite *s = suite_create("svg");
	TCase *tc = tcase_create("svg");

	tcase_add_test(tc, test_ticks);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_line_geometry);
	tcase_add_test(tc, test_bar_heights);
	tcase_add_test(tc, test_grid);
	suite_add_tcase(s, tc);
	return s;
}
