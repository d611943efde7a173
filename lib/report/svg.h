/*
 * svg: charts as SVG text, written by the project: line charts of several
 * series (with markers sized by a weight), bars and grouped bars over
 * categories, histograms over numeric bins, and a grid of cells coloured
 * by their value (a confusion matrix). Each chart has a title, a line
 * saying what its data is, axes with ticks at nice numbers (1, 2 or 5
 * times a power of ten) and their labels, and a legend when it has more
 * than one series; colours are the Okabe-Ito palette, which readers with
 * any common colour blindness tell apart.
 *
 * What a test or a later reader needs to check a chart is in it:
 *
 *   <svg class="chart" data-chart="NAME" data-series="N"
 *        data-plot="LEFT TOP WIDTH HEIGHT" data-x="XMIN XMAX"
 *        data-y="YMIN YMAX" ...>
 *
 * and one element with class="series" (a <g>, data-name its name) per
 * series, holding its <path> (lines: "M x y L x y ...", absolute pixels)
 * or its <circle>s or <rect>s. A pixel (px, py) is the data point
 *   x = XMIN + (px - LEFT) / WIDTH * (XMAX - XMIN)
 *   y = YMIN + (TOP + HEIGHT - py) / HEIGHT * (YMAX - YMIN).
 * Bars and cells are drawn from their value's pixel to the axis (y = 0).
 *
 * Every number is written with a fixed number of decimals (no exponent,
 * never NaN: a point that is not finite is left out and breaks its line),
 * so the text is valid SVG and the same input gives the same bytes. Text
 * is escaped (& < > " '), and bytes that are not UTF-8 become U+FFFD.
 */
#ifndef TP_SVG_H
#define TP_SVG_H

#include <stddef.h>

/* A growing string. Appends after a failed allocation do nothing and set
 * nomem, so a writer checks once at the end. */
typedef struct {
	char *s;       /* NUL-terminated; NULL before the first append */
	size_t len, cap;
	int nomem;     /* an allocation failed: s is incomplete */
} tp_svg_buf;

void tp_svg_printf(tp_svg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tp_svg_puts(tp_svg_buf *b, const char *s);
/* s escaped for XML text and attributes (HTML's too). */
void tp_svg_escape(tp_svg_buf *b, const char *s);
/* x with at most decimals decimals, trailing zeros dropped, no "-0";
 * "0" for a number that is not finite. */
void tp_svg_number(tp_svg_buf *b, double x, int decimals);
/* x rounded to a whole number, thousands apart: 12,345 (the report's
 * counts and the axes' large ticks read alike). */
void tp_svg_count(tp_svg_buf *b, double x);
void tp_svg_buf_free(tp_svg_buf *b); /* accepts a zeroed b */

/* The palette's colour i (modulo its size), as "#RRGGBB": blue,
 * vermillion, bluish green, orange, reddish purple, sky blue, yellow,
 * black. */
const char *tp_svg_color(int i);

/* Ticks at nice numbers (steps of 1, 2 or 5 times a power of ten), about
 * target of them, inside [lo, hi]: up to max of them into ticks; returns
 * how many, and *step (may be NULL) their step. */
int tp_svg_ticks(double lo, double hi, int target, double *ticks, int max,
    double *step);

enum {
	TP_SVG_LINE = 1,     /* a line through the points */
	TP_SVG_MARKERS = 2,  /* a circle at each point */
	TP_SVG_DASHED = 4,   /* the line dashed */
};

/* A series: n points (x[i], y[i]); bars and histograms read y only. */
typedef struct {
	const char *name;      /* in the legend and data-name */
	const double *x, *y;   /* (n) */
	size_t n;
	int style;             /* TP_SVG_LINE, TP_SVG_MARKERS, TP_SVG_DASHED */
	int color;             /* the palette's index */
	const double *weight;  /* (n) markers' areas in proportion, or NULL */
} tp_svg_series;

/* A chart's frame. A zeroed range (min == max) is taken from the data and
 * widened to the ticks around it; bars and histograms start at 0. */
typedef struct {
	const char *name;      /* data-chart: the chart's name */
	const char *title;
	const char *note;      /* under the title: the data's size and source */
	const char *xlabel, *ylabel;
	double xmin, xmax, ymin, ymax;
	int width, height;     /* pixels; 0 for 460 x 320 */
	int diagonal;          /* the line y = x, grey and dashed */
	int has_vline;         /* a grey vertical line at x = vline */
	double vline;
	const char *vlabel;    /* its label */
	int has_hline;         /* a grey horizontal line at y = hline */
	double hline;
	int xpercent, ypercent;/* tick labels as percentages of 1 */
	int xinteger;          /* x ticks at whole numbers only (versions) */
} tp_svg_chart;

/* Appends the chart to b. Lines: the series' points in data units. */
void tp_svg_lines(tp_svg_buf *b, const tp_svg_chart *c,
    const tp_svg_series *s, int ns);
/* Bars over ncat categories named labels: series j's y[i] is the height
 * of its bar in category i; several series are grouped side by side. */
void tp_svg_bars(tp_svg_buf *b, const tp_svg_chart *c,
    const char *const *labels, int ncat, const tp_svg_series *s, int ns);
/* A histogram of nbins bins between edges (nbins + 1, increasing): series
 * j's y[i] is the height of bin i; several series overlap, translucent. */
void tp_svg_histogram(tp_svg_buf *b, const tp_svg_chart *c,
    const double *edges, int nbins, const tp_svg_series *s, int ns);
/* A grid of nrows x ncols cells (values row-major, >= 0), each coloured
 * from white to the palette's blue by its share of the largest and
 * labelled with its value and its share of the total; one series. */
void tp_svg_grid(tp_svg_buf *b, const tp_svg_chart *c,
    const char *const *rows, int nrows, const char *const *cols, int ncols,
    const double *values);

#endif
