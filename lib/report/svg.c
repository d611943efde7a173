/* svg: charts as SVG text (svg.h). */
#include "report/svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

/* ---- the string ---- */

static int
grow(tp_svg_buf *b, size_t more)
{
	size_t cap;
	char *s;

	if (b->nomem)
		return 0;
	if (b->len + more + 1 <= b->cap)
		return 1;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((s = realloc(b->s, cap)) == NULL) {
		b->nomem = 1;
		return 0;
	}
	b->s = s;
	b->cap = cap;
	return 1;
}

static void
append(tp_svg_buf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
tp_svg_puts(tp_svg_buf *b, const char *s)
{
	append(b, s, strlen(s));
}

void
tp_svg_printf(tp_svg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->nomem = 1;
		return;
	}
	if (!grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
tp_svg_escape(tp_svg_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0, i = 0;

	while (i < n) {
		size_t end = i + tp_text_end(s + i, n - i);
		for (; i < end; i++) {
			unsigned char c = (unsigned char)s[i];
			switch (c) {
			case '&': tp_svg_puts(b, "&amp;"); break;
			case '<': tp_svg_puts(b, "&lt;"); break;
			case '>': tp_svg_puts(b, "&gt;"); break;
			case '"': tp_svg_puts(b, "&quot;"); break;
			case '\'': tp_svg_puts(b, "&#39;"); break;
			default:
				/* XML 1.0 has no other control characters. */
				if (c < 0x20 && c != '\n' && c != '\t')
					tp_svg_puts(b, "\xEF\xBF\xBD");
				else
					append(b, s + i, 1);
			}
		}
		if (i < n) {
			tp_svg_puts(b, "\xEF\xBF\xBD");
			i++;
		}
	}
}

void
tp_svg_number(tp_svg_buf *b, double x, int decimals)
{
	char buf[64];
	int n;

	if (!isfinite(x) || fabs(x) > 1e15)
		x = isfinite(x) ? copysign(1e15, x) : 0;
	n = snprintf(buf, sizeof(buf), "%.*f", decimals, x);
	if (decimals > 0) {
		while (n > 0 && buf[n - 1] == '0')
			n--;
		if (n > 0 && buf[n - 1] == '.')
			n--;
		buf[n] = '\0';
	}
	tp_svg_puts(b, strcmp(buf, "-0") == 0 ? "0" : buf);
}

void
tp_svg_count(tp_svg_buf *b, double x)
{
	char digits[64], out[96];
	int n = snprintf(digits, sizeof(digits), "%.0f", fabs(x)), o = 0;

	if (x < 0)
		out[o++] = '-';
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	tp_svg_puts(b, out);
}

/* n numbers apart by spaces, as an attribute's list ("60 52 384 224"). */
static void
number_list(tp_svg_buf *b, const double *v, int n, int decimals)
{
	for (int i = 0; i < n; i++) {
		if (i > 0)
			tp_svg_puts(b, " ");
		tp_svg_number(b, v[i], decimals);
	}
}

/* The attributes  NAME="V"  of n names and values in pixels (2 decimals),
 * each after a space: an element's place and size. */
static void
pixel_attrs(tp_svg_buf *b, const char *const *names, const double *v, int n)
{
	for (int i = 0; i < n; i++) {
		tp_svg_printf(b, " %s=\"", names[i]);
		tp_svg_number(b, v[i], 2);
		tp_svg_puts(b, "\"");
	}
}

void
tp_svg_buf_free(tp_svg_buf *b)
{
	if (b == NULL)
		return;
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* ---- the palette and the ticks ---- */

/* Okabe and Ito, "Color Universal Design" (2008). */
static const char *const palette[] = {
	"#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9",
	"#F0E442", "#000000",
};

const char *
tp_svg_color(int i)
{
	int n = (int)(sizeof(palette) / sizeof(palette[0]));
	return palette[((i % n) + n) % n];
}

static double
nice_step(double range, int target)
{
	double rough = range / (target > 0 ? target : 5);
	double mag = pow(10, floor(log10(rough)));
	double f = rough / mag;

	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

int
tp_svg_ticks(double lo, double hi, int target, double *ticks, int max,
    double *step)
{
	double st, eps;
	int n = 0;

	if (!isfinite(lo) || !isfinite(hi) || hi <= lo) {
		if (step)
			*step = 1;
		if (max > 0 && isfinite(lo)) {
			ticks[0] = lo;
			return 1;
		}
		return 0;
	}
	st = nice_step(hi - lo, target);
	eps = st * 1e-9;
	for (double k = ceil(lo / st - 1e-9); n < max; k++) {
		double t = k * st;
		if (t > hi + eps)
			break;
		if (t < lo)
			t = lo;
		if (t > hi)
			t = hi;
		ticks[n++] = t == 0 ? 0 : t;
	}
	if (step)
		*step = st;
	return n;
}

/* ---- the frame ---- */

/* Where the plot is and what it shows. */
typedef struct {
	double left, top, width, height;   /* the plot's pixels */
	double xmin, xmax, ymin, ymax;
	int w, h;                          /* the whole chart's */
} frame;

static double
px(const frame *f, double x)
{
	return f->left + (x - f->xmin) / (f->xmax - f->xmin) * f->width;
}

static double
py(const frame *f, double y)
{
	return f->top + f->height - (y - f->ymin) / (f->ymax - f->ymin) *
	    f->height;
}

/* The pixel width of text at size 11, roughly (for layout only). */
static double
text_width(const char *s, double size)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return (double)n * size * 0.56;
}

/* Widens [*lo, *hi] to the ticks around it. */
static void
widen(double *lo, double *hi)
{
	double st;

	if (!isfinite(*lo) || !isfinite(*hi)) {
		*lo = 0;
		*hi = 1;
		return;
	}
	if (*hi <= *lo) {
		double d = *lo == 0 ? 1 : fabs(*lo) * 0.1;
		*lo -= d;
		*hi += d;
	}
	st = nice_step(*hi - *lo, 5);
	*lo = floor(*lo / st + 1e-9) * st;
	*hi = ceil(*hi / st - 1e-9) * st;
	if (*lo == 0)
		*lo = 0; /* no -0 */
}

static void
tick_label(tp_svg_buf *b, double t, double step, int percent)
{
	int dec;

	if (percent) {
		t *= 100;
		step *= 100;
	}
	dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
	if (fabs(t) >= 10000 && dec == 0)
		tp_svg_count(b, t);
	else
		tp_svg_number(b, t, dec);
	if (percent)
		tp_svg_puts(b, "%");
}

/* The pixels a legend's item takes: its swatch, its name and a gap. */
static double
legend_width(const tp_svg_series *s)
{
	return 22 + text_width(s->name, 11) + 14;
}

/* The svg element, the title, the note and the legend; sets the plot's
 * place in f (its ranges are the caller's). */
static void
open_chart(tp_svg_buf *b, const tp_svg_chart *c, frame *f,
    const tp_svg_series *s, int ns, int bottom_room)
{
	double y = 20;
	int i;

	f->w = c->width > 0 ? c->width : 460;
	f->h = c->height > 0 ? c->height : 320;
	tp_svg_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
	    "data-chart=\"");
	tp_svg_escape(b, c->name ? c->name : "chart");
	tp_svg_printf(b, "\" data-series=\"%d\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"sans-serif\" "
	    "font-size=\"11\"", ns, f->w, f->h, f->w, f->h);
	f->left = 60;
	f->width = f->w - f->left - 16;
	/* Legend rows: items laid out left to right, wrapped. */
	double lx = f->left, ly, top;
	int rows = ns > 1 ? 1 : 0;
	for (i = 0; ns > 1 && i < ns; i++) {
		double wi = legend_width(&s[i]);
		if (lx + wi > f->w - 8 && lx > f->left) {
			rows++;
			lx = f->left;
		}
		lx += wi;
	}
	ly = (c->note ? 52 : 38);
	top = ly + rows * 16 + (rows ? 6 : 0);
	f->top = top;
	f->height = f->h - top - 44 - bottom_room;
	const double plot[] = {f->left, f->top, f->width, f->height};
	const double xs[] = {f->xmin, f->xmax}, ys[] = {f->ymin, f->ymax};
	tp_svg_puts(b, " data-plot=\"");
	number_list(b, plot, 4, 2);
	tp_svg_puts(b, "\" data-x=\"");
	number_list(b, xs, 2, 9);
	tp_svg_puts(b, "\" data-y=\"");
	number_list(b, ys, 2, 9);
	tp_svg_puts(b, "\">\n<title>");
	tp_svg_escape(b, c->title ? c->title : c->name);
	tp_svg_puts(b, "</title>\n<rect width=\"100%\" height=\"100%\" "
	    "fill=\"#ffffff\"/>\n");
	if (c->title) {
		tp_svg_printf(b, "<text x=\"10\" y=\"%.0f\" font-size=\"14\" "
		    "font-weight=\"bold\" fill=\"#222222\">", y);
		tp_svg_escape(b, c->title);
		tp_svg_puts(b, "</text>\n");
	}
	if (c->note) {
		tp_svg_puts(b, "<text x=\"10\" y=\"38\" fill=\"#555555\">");
		tp_svg_escape(b, c->note);
		tp_svg_puts(b, "</text>\n");
	}
	lx = f->left;
	ly += 4;
	for (i = 0; ns > 1 && i < ns; i++) {
		double wi = legend_width(&s[i]);
		if (lx + wi > f->w - 8 && lx > f->left) {
			ly += 16;
			lx = f->left;
		}
		tp_svg_puts(b, "<g class=\"legend\">");
		if (s[i].style & TP_SVG_LINE)
			tp_svg_printf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" "
			    "y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2.5\"%s/>",
			    lx, ly - 4, lx + 18, ly - 4, tp_svg_color(s[i].color),
			    s[i].style & TP_SVG_DASHED ? " stroke-dasharray=\"6 3\"" : "");
		else
			tp_svg_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" "
			    "height=\"10\" fill=\"%s\"/>", lx + 2, ly - 9,
			    tp_svg_color(s[i].color));
		tp_svg_printf(b, "<text x=\"%.0f\" y=\"%.0f\">", lx + 22, ly);
		tp_svg_escape(b, s[i].name);
		tp_svg_puts(b, "</text></g>\n");
		lx += wi;
	}
}

/* The y axis's name, upright along it. */
static void
y_label(tp_svg_buf *b, const tp_svg_chart *c, const frame *f)
{
	if (c->ylabel == NULL)
		return;
	tp_svg_printf(b, "<text transform=\"translate(13 %.1f) rotate(-90)\" "
	    "text-anchor=\"middle\" fill=\"#333333\">", f->top + f->height / 2);
	tp_svg_escape(b, c->ylabel);
	tp_svg_puts(b, "</text>\n");
}

/* The y axis: grid lines, ticks and labels, and its name; the x axis's
 * line. */
static void
y_axis(tp_svg_buf *b, const tp_svg_chart *c, const frame *f)
{
	double ticks[32], step;
	int n = tp_svg_ticks(f->ymin, f->ymax, 5, ticks, 32, &step);

	tp_svg_puts(b, "<g class=\"axis y\">\n");
	for (int i = 0; i < n; i++) {
		double y = py(f, ticks[i]);
		tp_svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#e3e3e3\"/>", f->left, y,
		    f->left + f->width, y);
		tp_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
		    "fill=\"#333333\">", f->left - 5, y + 3.5);
		tick_label(b, ticks[i], step, c->ypercent);
		tp_svg_puts(b, "</text>\n");
	}
	y_label(b, c, f);
	tp_svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	    "stroke=\"#333333\"/>\n", f->left, f->top, f->left,
	    f->top + f->height);
	tp_svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	    "stroke=\"#333333\"/>\n</g>\n", f->left, f->top + f->height,
	    f->left + f->width, f->top + f->height);
}

static void
x_label(tp_svg_buf *b, const tp_svg_chart *c, const frame *f)
{
	if (c->xlabel == NULL)
		return;
	tp_svg_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
	    "fill=\"#333333\">", f->left + f->width / 2, f->h - 8);
	tp_svg_escape(b, c->xlabel);
	tp_svg_puts(b, "</text>\n");
}

/* A numeric x axis: ticks and labels. */
static void
x_axis(tp_svg_buf *b, const tp_svg_chart *c, const frame *f)
{
	double ticks[32], step;
	int n = tp_svg_ticks(f->xmin, f->xmax, f->width < 300 ? 4 : 6, ticks, 32,
	    &step);
	double base = f->top + f->height;

	tp_svg_puts(b, "<g class=\"axis x\">\n");
	for (int i = 0; i < n; i++) {
		double x = px(f, ticks[i]);
		if (c->xinteger && ticks[i] != floor(ticks[i]))
			continue;
		tp_svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#333333\"/>", x, base, x, base + 4);
		tp_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		    "fill=\"#333333\">", x, base + 16);
		tick_label(b, ticks[i], step, c->xpercent);
		tp_svg_puts(b, "</text>\n");
	}
	x_label(b, c, f);
	tp_svg_puts(b, "</g>\n");
}

/* The reference lines: the diagonal, a vertical and a horizontal line. */
static void
references(tp_svg_buf *b, const tp_svg_chart *c, const frame *f)
{
	if (c->diagonal) {
		double lo = fmax(f->xmin, f->ymin), hi = fmin(f->xmax, f->ymax);
		if (hi > lo)
			tp_svg_printf(b, "<line class=\"reference\" x1=\"%.2f\" "
			    "y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#999999\" "
			    "stroke-dasharray=\"4 4\"/>\n", px(f, lo), py(f, lo),
			    px(f, hi), py(f, hi));
	}
	if (c->has_hline && c->hline >= f->ymin && c->hline <= f->ymax)
		tp_svg_printf(b, "<line class=\"reference\" x1=\"%.2f\" y1=\"%.2f\" "
		    "x2=\"%.2f\" y2=\"%.2f\" stroke=\"#999999\" "
		    "stroke-dasharray=\"4 4\"/>\n", f->left, py(f, c->hline),
		    f->left + f->width, py(f, c->hline));
	if (c->has_vline && c->vline >= f->xmin && c->vline <= f->xmax) {
		double x = px(f, c->vline);
		tp_svg_printf(b, "<line class=\"reference\" x1=\"%.2f\" y1=\"%.2f\" "
		    "x2=\"%.2f\" y2=\"%.2f\" stroke=\"#555555\" "
		    "stroke-dasharray=\"2 3\"/>\n", x, f->top, x, f->top + f->height);
		if (c->vlabel) {
			int right = x > f->left + f->width * 0.7;
			tp_svg_printf(b, "<text x=\"%.2f\" y=\"%.2f\" "
			    "text-anchor=\"%s\" fill=\"#555555\">", right ? x - 4 :
			    x + 4, f->top + 11, right ? "end" : "start");
			tp_svg_escape(b, c->vlabel);
			tp_svg_puts(b, "</text>\n");
		}
	}
}

static void
series_open(tp_svg_buf *b, const tp_svg_series *s)
{
	tp_svg_puts(b, "<g class=\"series\" data-name=\"");
	tp_svg_escape(b, s->name);
	tp_svg_puts(b, "\">\n");
}

static void
range_of(const double *v, size_t n, double *lo, double *hi)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		if (isfinite(v[i])) {
			*lo = fmin(*lo, v[i]);
			*hi = fmax(*hi, v[i]);
		}
}

/* ---- the charts ---- */

void
tp_svg_lines(tp_svg_buf *b, const tp_svg_chart *c, const tp_svg_series *s,
    int ns)
{
	frame f = {.xmin = c->xmin, .xmax = c->xmax, .ymin = c->ymin,
	    .ymax = c->ymax};

	if (f.xmin == f.xmax) {
		f.xmin = INFINITY;
		f.xmax = -INFINITY;
		for (int i = 0; i < ns; i++)
			range_of(s[i].x, s[i].n, &f.xmin, &f.xmax);
		widen(&f.xmin, &f.xmax);
	}
	if (f.ymin == f.ymax) {
		f.ymin = INFINITY;
		f.ymax = -INFINITY;
		for (int i = 0; i < ns; i++)
			range_of(s[i].y, s[i].n, &f.ymin, &f.ymax);
		if (c->has_hline) {
			f.ymin = fmin(f.ymin, c->hline);
			f.ymax = fmax(f.ymax, c->hline);
		}
		widen(&f.ymin, &f.ymax);
	}
	open_chart(b, c, &f, s, ns, 0);
	y_axis(b, c, &f);
	x_axis(b, c, &f);
	references(b, c, &f);
	for (int i = 0; i < ns; i++) {
		const char *col = tp_svg_color(s[i].color);
		double wmax = 0;
		series_open(b, &s[i]);
		if (s[i].style & TP_SVG_LINE) {
			/* Points closer than a quarter pixel to the last one
			 * drawn add nothing to the line and are left out; the
			 * last point always stays. */
			double lx = NAN, ly = NAN;
			int pen = 0, started = 0;
			tp_svg_printf(b, "<path fill=\"none\" stroke=\"%s\" "
			    "stroke-width=\"2\" stroke-linejoin=\"round\"%s d=\"", col,
			    s[i].style & TP_SVG_DASHED ? " stroke-dasharray=\"6 3\"" : "");
			for (size_t k = 0; k < s[i].n; k++) {
				double x = s[i].x[k], y = s[i].y[k], X, Y;
				if (!isfinite(x) || !isfinite(y)) {
					pen = 0;
					continue;
				}
				X = px(&f, x);
				Y = py(&f, y);
				if (pen && k + 1 < s[i].n && fabs(X - lx) < 0.25 &&
				    fabs(Y - ly) < 0.25)
					continue;
				tp_svg_puts(b, pen ? " L" : started ? " M" : "M");
				tp_svg_number(b, X, 2);
				tp_svg_puts(b, " ");
				tp_svg_number(b, Y, 2);
				lx = X;
				ly = Y;
				pen = started = 1;
			}
			tp_svg_puts(b, "\"/>\n");
		}
		for (size_t k = 0; s[i].weight && k < s[i].n; k++)
			if (isfinite(s[i].weight[k]))
				wmax = fmax(wmax, s[i].weight[k]);
		for (size_t k = 0; (s[i].style & TP_SVG_MARKERS) && k < s[i].n; k++) {
			double x = s[i].x[k], y = s[i].y[k], r = 3.5;
			if (!isfinite(x) || !isfinite(y))
				continue;
			if (s[i].weight && wmax > 0)
				r = 2.5 + 7.5 * sqrt(fmax(0, s[i].weight[k]) / wmax);
			static const char *const circle[] = {"cx", "cy", "r"};
			const double at[] = {px(&f, x), py(&f, y), r};
			tp_svg_puts(b, "<circle");
			pixel_attrs(b, circle, at, 3);
			tp_svg_printf(b, " fill=\"%s\" fill-opacity=\"0.75\" "
			    "stroke=\"#ffffff\"><title>", col);
			tp_svg_escape(b, s[i].name);
			tp_svg_puts(b, ": ");
			tp_svg_number(b, x, 4);
			tp_svg_puts(b, ", ");
			tp_svg_number(b, y, 4);
			if (s[i].weight) {
				tp_svg_puts(b, " (");
				tp_svg_number(b, s[i].weight[k], 0);
				tp_svg_puts(b, " rows)");
			}
			tp_svg_puts(b, "</title></circle>\n");
		}
		tp_svg_puts(b, "</g>\n");
	}
	tp_svg_puts(b, "</svg>\n");
}

/* A bar from y = 0 (or the plot's bottom) to value v, with its title. */
static void
bar(tp_svg_buf *b, const frame *f, double x0, double x1, double v,
    const char *col, double opacity, const char *name, const char *label)
{
	double base = py(f, fmax(f->ymin, 0)), top = py(f, v);

	if (!isfinite(v))
		return;
	if (top > base) {
		double t = top;
		top = base;
		base = t;
	}
	static const char *const rect[] = {"x", "y", "width", "height"};
	const double at[] = {x0, top, fmax(0, x1 - x0), base - top};
	tp_svg_puts(b, "<rect");
	pixel_attrs(b, rect, at, 4);
	tp_svg_printf(b, " fill=\"%s\"", col);
	if (opacity < 1)
		tp_svg_printf(b, " fill-opacity=\"%.2f\" stroke=\"%s\"", opacity, col);
	tp_svg_puts(b, "><title>");
	tp_svg_escape(b, name);
	tp_svg_puts(b, ", ");
	tp_svg_escape(b, label);
	tp_svg_puts(b, ": ");
	tp_svg_number(b, v, 4);
	tp_svg_puts(b, "</title></rect>\n");
}

static void
bars_range(frame *f, const tp_svg_chart *c, const tp_svg_series *s, int ns,
    size_t n)
{
	f->ymin = 0;
	f->ymax = c->ymax;
	if (!(c->ymax > 0)) {
		f->ymax = 0;
		for (int i = 0; i < ns; i++)
			range_of(s[i].y, s[i].n < n ? s[i].n : n, &f->ymin, &f->ymax);
		if (c->has_hline)
			f->ymax = fmax(f->ymax, c->hline);
		if (f->ymax <= 0)
			f->ymax = 1;
		widen(&f->ymin, &f->ymax);
	}
}

/* The most pixels a turned label of a bar chart takes. */
#define LABEL_ROOM 96.0

void
tp_svg_bars(tp_svg_buf *b, const tp_svg_chart *c, const char *const *labels,
    int ncat, const tp_svg_series *s, int ns)
{
	frame f = {.xmin = 0, .xmax = ncat > 0 ? ncat : 1};
	double longest = 0, slot;
	int rotate;

	for (int k = 0; k < ncat; k++)
		longest = fmax(longest, text_width(labels[k], 11));
	bars_range(&f, c, s, ns, (size_t)ncat);
	/* Labels that do not fit under their bars are turned. */
	{
		int w = c->width > 0 ? c->width : 460;
		slot = (w - 76.0) / (ncat > 0 ? ncat : 1);
	}
	rotate = longest + 6 > slot;
	/* Turned labels read upwards from the axis; one longer than their
	 * room is cut, whole in its tooltip. */
	/* The chart grows by their room, so that its plot keeps its size. */
	tp_svg_chart grown = *c;
	int room = rotate ? (int)fmin(longest, LABEL_ROOM) : 0;
	grown.height = (c->height > 0 ? c->height : 320) + room;
	open_chart(b, &grown, &f, s, ns, room);
	y_axis(b, c, &f);
	tp_svg_puts(b, "<g class=\"axis x\">\n");
	for (int k = 0; k < ncat; k++) {
		double x = px(&f, k + 0.5), y = f.top + f.height + 14;
		if (!rotate) {
			tp_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" "
			    "text-anchor=\"middle\" fill=\"#333333\">", x, y);
			tp_svg_escape(b, labels[k]);
			tp_svg_puts(b, "</text>\n");
			continue;
		}
		tp_svg_printf(b, "<text transform=\"translate(%.1f %.1f) "
		    "rotate(-90)\" text-anchor=\"end\" fill=\"#333333\">", x + 4,
		    y - 8);
		if (text_width(labels[k], 11) <= LABEL_ROOM)
			tp_svg_escape(b, labels[k]);
		else {
			char cut[64];
			size_t n = (size_t)(LABEL_ROOM / (11 * 0.56)) - 1;
			snprintf(cut, sizeof(cut), "%s", labels[k]);
			if (n >= sizeof(cut))
				n = sizeof(cut) - 1;
			while (n > 0 && ((unsigned char)cut[n] & 0xC0) == 0x80)
				n--; /* not inside a character */
			cut[n] = '\0';
			tp_svg_puts(b, "<title>");
			tp_svg_escape(b, labels[k]);
			tp_svg_puts(b, "</title>");
			tp_svg_escape(b, cut);
			tp_svg_puts(b, "\xE2\x80\xA6");
		}
		tp_svg_puts(b, "</text>\n");
	}
	x_label(b, c, &f);
	tp_svg_puts(b, "</g>\n");
	references(b, c, &f);
	for (int i = 0; i < ns; i++) {
		series_open(b, &s[i]);
		for (int k = 0; k < ncat && (size_t)k < s[i].n; k++) {
			double w = f.width / ncat, inner = w * 0.8 / ns;
			double x0 = f.left + k * w + w * 0.1 + i * inner;
			bar(b, &f, x0, x0 + inner - (ns > 1 ? 1 : 0), s[i].y[k],
			    tp_svg_color(s[i].color), 1, s[i].name, labels[k]);
		}
		tp_svg_puts(b, "</g>\n");
	}
	tp_svg_puts(b, "</svg>\n");
}

void
tp_svg_histogram(tp_svg_buf *b, const tp_svg_chart *c, const double *edges,
    int nbins, const tp_svg_series *s, int ns)
{
	frame f = {.xmin = c->xmin, .xmax = c->xmax};

	if (f.xmin == f.xmax) {
		f.xmin = nbins > 0 ? edges[0] : 0;
		f.xmax = nbins > 0 ? edges[nbins] : 1;
		if (!(f.xmax > f.xmin))
			widen(&f.xmin, &f.xmax);
	}
	bars_range(&f, c, s, ns, (size_t)nbins);
	open_chart(b, c, &f, s, ns, 0);
	y_axis(b, c, &f);
	x_axis(b, c, &f);
	for (int i = 0; i < ns; i++) {
		series_open(b, &s[i]);
		for (int k = 0; k < nbins && (size_t)k < s[i].n; k++) {
			char label[96];
			snprintf(label, sizeof(label), "%.4g to %.4g", edges[k],
			    edges[k + 1]);
			bar(b, &f, px(&f, edges[k]), px(&f, edges[k + 1]), s[i].y[k],
			    tp_svg_color(s[i].color), ns > 1 ? 0.45 : 0.85, s[i].name,
			    label);
		}
		tp_svg_puts(b, "</g>\n");
	}
	references(b, c, &f);
	tp_svg_puts(b, "</svg>\n");
}

void
tp_svg_grid(tp_svg_buf *b, const tp_svg_chart *c, const char *const *rows,
    int nrows, const char *const *cols, int ncols, const double *values)
{
	frame f = {.xmin = 0, .xmax = ncols, .ymin = 0, .ymax = nrows};
	tp_svg_series one = {.name = c->title ? c->title : "cells"};
	double max = 0, total = 0, cw, ch;

	for (int k = 0; k < nrows * ncols; k++)
		if (isfinite(values[k]) && values[k] > 0) {
			max = fmax(max, values[k]);
			total += values[k];
		}
	open_chart(b, c, &f, &one, 1, 0);
	/* The row labels need room on the left. */
	cw = f.width / ncols;
	ch = f.height / nrows;
	tp_svg_puts(b, "<g class=\"axis\">\n");
	for (int r = 0; r < nrows; r++) {
		tp_svg_printf(b, "<text transform=\"translate(%.1f %.1f) "
		    "rotate(-90)\" text-anchor=\"middle\" fill=\"#333333\">",
		    f.left - 8, f.top + (r + 0.5) * ch);
		tp_svg_escape(b, rows[r]);
		tp_svg_puts(b, "</text>\n");
	}
	for (int k = 0; k < ncols; k++) {
		tp_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		    "fill=\"#333333\">", f.left + (k + 0.5) * cw,
		    f.top + f.height + 16);
		tp_svg_escape(b, cols[k]);
		tp_svg_puts(b, "</text>\n");
	}
	x_label(b, c, &f);
	y_label(b, c, &f);
	tp_svg_puts(b, "</g>\n");
	series_open(b, &one);
	for (int r = 0; r < nrows; r++)
		for (int k = 0; k < ncols; k++) {
			double v = values[r * ncols + k];
			double a = max > 0 && isfinite(v) ? fmax(0, v) / max : 0;
			/* White to #0072B2 (0, 114, 178). */
			int R = (int)lround(255 - a * 255), G = (int)lround(255 - a * 141),
			    B = (int)lround(255 - a * 77);
			tp_svg_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			    "height=\"%.1f\" fill=\"#%02X%02X%02X\" stroke=\"#ffffff\" "
			    "stroke-width=\"2\"><title>", f.left + k * cw, f.top + r * ch,
			    cw, ch, R, G, B);
			tp_svg_escape(b, rows[r]);
			tp_svg_puts(b, ", ");
			tp_svg_escape(b, cols[k]);
			tp_svg_puts(b, ": ");
			tp_svg_number(b, v, 0);
			tp_svg_puts(b, "</title></rect>\n");
			tp_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" "
			    "text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\" "
			    "fill=\"%s\">", f.left + (k + 0.5) * cw, f.top + (r + 0.5) * ch,
			    a > 0.55 ? "#ffffff" : "#222222");
			tp_svg_number(b, v, 0);
			tp_svg_printf(b, "</text>\n<text x=\"%.1f\" y=\"%.1f\" "
			    "text-anchor=\"middle\" fill=\"%s\">", f.left + (k + 0.5) * cw,
			    f.top + (r + 0.5) * ch + 16, a > 0.55 ? "#ffffff" : "#444444");
			tp_svg_number(b, total > 0 ? 100 * v / total : 0, 1);
			tp_svg_puts(b, "% of rows</text>\n");
		}
	tp_svg_puts(b, "</g>\n</svg>\n");
}
