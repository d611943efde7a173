/*
 * test_report: the document made from reports written by hand
 * ($TP_TESTDATA/report/): which sections and charts it has and how many
 * series each, the geometry of the charts read back from their pixels
 * (the ROC curve from (0, 0) to (1, 1) and monotone, the calibration
 * points at the bins' mean predictions, the histograms' and drift bars'
 * heights at the shares), drift sorted by severity, old reports without
 * the newer members, escaping, the same bytes twice, the model's card
 * from a file's metadata, bad members named with their file, and the
 * permutation importance and fairness of an evaluation made by the tool
 * (evaluation-groups.json: tabpipe-evaluate --importance --group Home):
 * the bars at the mean losses and the groups' rates, the flagged groups'
 * rows marked, and nothing of them in a report without them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "report/report.h"
#include "suites.h"

static cJSON *
load(const char *name)
{
	const char *dir = getenv("TP_TESTDATA");
	char path[1024], *text;
	size_t len;
	tp_err e = {0};
	cJSON *j;

	ck_assert_msg(dir != NULL, "TP_TESTDATA is not set: run with TP_TESTDATA=tests/data");
	snprintf(path, sizeof(path), "%s/report/%s", dir, name);
	ck_assert_msg(tp_read_file(path, &text, &len, &e) == TP_OK, "%s", e.msg);
	j = cJSON_Parse(text);
	free(text);
	return j;
}

/* The inputs, loaded, and the document made of them; to free with
 * inputs_free. */
typedef struct {
	cJSON *ev, *ch, *val, *drift, *meta, *card;
	tp_report_input in;
	tp_report r;           /* made by report_of or make, or zeroed */
} inputs;

static void
inputs_load(inputs *x, const char *ev, const char *drift)
{
	tp_err e = {0};

	memset(x, 0, sizeof(*x));
	x->ev = load(ev);
	x->val = load("validation.json");
	x->drift = load(drift);
	x->meta = load("metadata.json");
	ck_assert_ptr_nonnull(x->ev);
	ck_assert_int_eq(tp_report_card(x->meta, "models/m.safetensors",
	    "0123abcd", &x->card, &e), TP_OK);
	x->in = (tp_report_input){
		.evaluation = {{x->ev, ev}}, .nevaluations = 1,
		.validation = {x->val, "validation.json"},
		.drift = {x->drift, "new <batch> & co.json"},
		.card = x->card, .notes = "Use: <review> & \"rank\".\n",
		.generator = "test",
	};
}

static void
inputs_free(inputs *x)
{
	tp_report_free(&x->r);
	cJSON_Delete(x->ev);
	cJSON_Delete(x->ch);
	cJSON_Delete(x->val);
	cJSON_Delete(x->drift);
	cJSON_Delete(x->meta);
	cJSON_Delete(x->card);
}

static int
count(const char *s, const char *end, const char *what)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, what)) != NULL && (!end || p < end);
	    p++)
		n++;
	return n;
}

/* A chart of the document, by name. */
typedef struct {
	const char *start, *end;  /* <svg ... </svg> */
	double left, top, width, height, x0, x1, y0, y1;
	int series;
} chart;

static int
find(const tp_report *r, const char *name, chart *c)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "data-chart=\"%s\"", name);
	if ((p = strstr(r->html, key)) == NULL)
		return 0;
	memset(c, 0, sizeof(*c));
	for (c->start = p; strncmp(c->start, "<svg", 4) != 0; c->start--)
		;
	c->end = strstr(p, "</svg>");
	ck_assert_int_eq(sscanf(p + strlen(key), " data-series=\"%d\"",
	    &c->series), 1);
	p = strstr(p, "data-plot=\"");
	ck_assert_int_eq(sscanf(p, "data-plot=\"%lf %lf %lf %lf\" data-x=\"%lf "
	    "%lf\" data-y=\"%lf %lf\"", &c->left, &c->top, &c->width, &c->height,
	    &c->x0, &c->x1, &c->y0, &c->y1), 8);
	ck_assert_int_eq(count(c->start, c->end, "class=\"series\""), c->series);
	return 1;
}

static double
data_x(const chart *c, double px)
{
	return c->x0 + (px - c->left) / c->width * (c->x1 - c->x0);
}

static double
data_y(const chart *c, double py)
{
	return c->y0 + (c->top + c->height - py) / c->height * (c->y1 - c->y0);
}

/* Series i's element. */
static const char *
series(const chart *c, int i)
{
	const char *p = c->start;
	for (int k = 0; k <= i; k++) {
		p = strstr(p + (k > 0), "class=\"series\"");
		ck_assert_msg(p != NULL && p < c->end, "no series %d", i);
	}
	return p;
}

/* The values of attribute attr (" cx=\"") of the elements named tag in
 * the series element at s. */
static int
attrs(const char *s, const char *tag, const char *attr, double *v, int max)
{
	const char *end = strstr(s, "</g>"), *p = s;
	int n = 0;

	while ((p = strstr(p, tag)) != NULL && p < end) {
		const char *q = strstr(p, attr);
		ck_assert_int_lt(n, max);
		v[n++] = strtod(q + strlen(attr), NULL);
		p++;
	}
	return n;
}

static int
path_points(const char *s, double *x, double *y, int max)
{
	const char *p = strstr(s, " d=\"");
	int n = 0;

	ck_assert_ptr_nonnull(p);
	for (p += 4; *p == 'M' || *p == 'L' || *p == ' ';) {
		char *end;
		if (*p++ == ' ')
			continue;
		ck_assert_int_lt(n, max);
		x[n] = strtod(p, &end);
		y[n] = strtod(end, &end);
		p = end;
		n++;
	}
	return n;
}

static void
make(tp_report *r, const tp_report_input *in)
{
	tp_err e = {0};
	ck_assert_msg(tp_report_make(r, in, &e) == TP_OK, "%s", e.msg);
	ck_assert_ptr_nonnull(r->html);
	ck_assert_uint_eq(strlen(r->html), r->len);
}

/* The document of the reports ev and drift with the other inputs. */
static void
report_of(inputs *x, const char *ev, const char *drift)
{
	inputs_load(x, ev, drift);
	make(&x->r, &x->in);
}

/* html holds each of the n texts (want 1), or none of them (want 0). */
static void
holds(const char *html, const char *const *texts, size_t n, int want)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg((strstr(html, texts[i]) != NULL) == want, "%s %s",
		    want ? "no" : "an unwanted", texts[i]);
}

#define NTEXTS(a) (sizeof(a) / sizeof((a)[0]))

/* The document has the chart name, with series series. */
static void
chart_is(const tp_report *r, const char *name, int series)
{
	chart c;

	ck_assert_msg(find(r, name, &c), "no chart %s", name);
	ck_assert_msg(c.series == series, "%s: %d series, want %d", name,
	    c.series, series);
}

START_TEST(test_kinds)
{
	static const struct {
		const char *file;
		enum tp_report_kind kind;
	} cases[] = {
		{"evaluation.json", TP_REPORT_EVALUATION},
		{"evaluation-old.json", TP_REPORT_EVALUATION},
		{"validation.json", TP_REPORT_VALIDATION},
		{"drift.json", TP_REPORT_DRIFT},
		{"unknown.json", TP_REPORT_UNKNOWN},
		{"metadata.json", TP_REPORT_UNKNOWN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = load(cases[i].file);
		ck_assert_msg(tp_report_kind(j) == cases[i].kind, "%s", cases[i].file);
		cJSON_Delete(j);
	}
	ck_assert_int_eq(tp_report_kind(NULL), TP_REPORT_UNKNOWN);
}
END_TEST

START_TEST(test_sections_and_charts)
{
	static const struct {
		const char *name;
		int series;
	} want[] = {
		{"training", 3}, {"roc", 1}, {"pr", 1}, {"calibration", 1},
		{"score-histogram", 2}, {"ks", 2}, {"gains", 1}, {"lift", 1},
		{"confusion", 1}, {"drift-income", 2}, {"drift-home", 2},
		{"drift-age", 2}, {"drift-score", 2},
	};
	static const char *const present[] = {
		"<section id=\"card\">", "<section id=\"performance\">",
		"<section id=\"drift\">", "<section id=\"quality\">",
		"@media print", "best F1 on the validation rows",
	};
	/* No sections without their input, nothing from elsewhere. */
	static const char *const absent[] = {
		"<section id=\"champion\">", "<section id=\"registry\">",
		"<script", "http://www.w3.org/1999", "src=",
	};
	static const char *const balanced[][2] = {
		{"<section", "</section>"}, {"<table", "</table>"}, {"<tr", "</tr>"},
		{"<svg", "</svg>"},
	};
	inputs x;
	tp_report again;

	report_of(&x, "evaluation.json", "drift.json");
	for (size_t i = 0; i < NTEXTS(want); i++)
		chart_is(&x.r, want[i].name, want[i].series);
	ck_assert_int_eq(x.r.ncharts, (int)NTEXTS(want));
	for (int i = 0; i < x.r.ncharts; i++)
		ck_assert_ptr_nonnull(strstr(x.r.html, x.r.charts[i].svg));
	holds(x.r.html, present, NTEXTS(present), 1);
	holds(x.r.html, absent, NTEXTS(absent), 0);
	for (size_t i = 0; i < NTEXTS(balanced); i++)
		ck_assert_msg(count(x.r.html, NULL, balanced[i][0]) ==
		    count(x.r.html, NULL, balanced[i][1]), "%s is not balanced",
		    balanced[i][0]);
	/* The same bytes again. */
	make(&again, &x.in);
	ck_assert_uint_eq(again.len, x.r.len);
	ck_assert(memcmp(again.html, x.r.html, x.r.len) == 0);
	tp_report_free(&again);
	inputs_free(&x);
}
END_TEST

START_TEST(test_roc_geometry)
{
	inputs x;
	chart c;
	double px[256], py[256];
	int n;

	report_of(&x, "evaluation.json", "drift.json");
	ck_assert(find(&x.r, "roc", &c));
	n = path_points(series(&c, 0), px, py, 256);
	ck_assert_int_ge(n, 3);
	ck_assert_double_eq_tol(data_x(&c, px[0]), 0, 1e-3);
	ck_assert_double_eq_tol(data_y(&c, py[0]), 0, 1e-3);
	ck_assert_double_eq_tol(data_x(&c, px[n - 1]), 1, 1e-3);
	ck_assert_double_eq_tol(data_y(&c, py[n - 1]), 1, 1e-3);
	for (int i = 1; i < n; i++) {
		ck_assert_msg(px[i] >= px[i - 1], "x goes back at point %d", i);
		ck_assert_msg(py[i] <= py[i - 1], "y goes down at point %d", i);
	}
	inputs_free(&x);
}
END_TEST

START_TEST(test_calibration_geometry)
{
	inputs x;
	chart c;
	double cx[16], cy[16];
	const cJSON *bin;
	int n, k = 0;

	report_of(&x, "evaluation.json", "drift.json");
	ck_assert(find(&x.r, "calibration", &c));
	n = attrs(series(&c, 0), "<circle", " cx=\"", cx, 16);
	ck_assert_int_eq(attrs(series(&c, 0), "<circle", " cy=\"", cy, 16), n);
	cJSON_ArrayForEach(bin, cJSON_GetObjectItem(x.ev, "calibration")) {
		const cJSON *m = cJSON_GetObjectItem(bin, "mean_predicted");
		if (!cJSON_IsNumber(m))
			continue;
		ck_assert_int_lt(k, n);
		ck_assert_double_eq_tol(data_x(&c, cx[k]), m->valuedouble, 2e-3);
		ck_assert_double_eq_tol(data_y(&c, cy[k]), cJSON_GetObjectItem(bin,
		    "observed_rate")->valuedouble, 2e-3);
		k++;
	}
	ck_assert_int_eq(k, n);
	ck_assert_int_ge(n, 3);
	inputs_free(&x);
}
END_TEST

/* Bars' heights in data units, against want (n). */
static void
heights_are(const chart *c, int s, const double *want, int n)
{
	double h[64];
	ck_assert_int_eq(attrs(series(c, s), "<rect", " height=\"", h, 64), n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(fabs(h[i] / c->height * (c->y1 - c->y0) - want[i]) <
		    2e-3, "bar %d of series %d: %g, want %g", i, s,
		    h[i] / c->height * (c->y1 - c->y0), want[i]);
}

START_TEST(test_histogram_heights)
{
	inputs x;
	chart c;
	double share[2][20], sum[2] = {0, 0};
	const cJSON *h;

	report_of(&x, "evaluation.json", "drift.json");
	h = cJSON_GetObjectItem(x.ev, "score_histogram");
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 20; i++)
			sum[k] += cJSON_GetArrayItem(cJSON_GetObjectItem(h, k ?
			    "positives" : "negatives"), i)->valuedouble;
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 20; i++)
			share[k][i] = cJSON_GetArrayItem(cJSON_GetObjectItem(h, k ?
			    "positives" : "negatives"), i)->valuedouble / sum[k];
	ck_assert(find(&x.r, "score-histogram", &c));
	ck_assert_double_eq(c.x0, 0);
	ck_assert_double_eq(c.x1, 1);
	heights_are(&c, 0, share[0], 20);
	heights_are(&c, 1, share[1], 20);

	/* Drift: the shares as they are. */
	const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(x.drift,
	    "features"), 0), *hist = cJSON_GetObjectItem(f, "histogram");
	double ref[8], cur[8];
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(hist, "reference"));
	for (int i = 0; i < n; i++) {
		ref[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(hist, "reference"),
		    i)->valuedouble;
		cur[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(hist, "current"),
		    i)->valuedouble;
	}
	ck_assert(find(&x.r, "drift-income", &c));
	ck_assert_double_eq(c.y0, 0);
	heights_are(&c, 0, ref, n);
	heights_are(&c, 1, cur, n);
	inputs_free(&x);
}
END_TEST

START_TEST(test_drift_order)
{
	inputs x;
	const char *order[] = {"drift-income", "drift-score", "drift-age",
	    "drift-home"};
	const char *row[] = {"<td>income</td>", "<td>score (score)</td>",
	    "<td>age</td>", "<td>home</td>"};

	report_of(&x, "evaluation.json", "drift.json");
	/* Drifting first, then by level, then by PSI. */
	for (int i = 1; i < 4; i++) {
		const char *html = x.r.html;
		ck_assert_msg(strstr(html, order[i - 1]) < strstr(html, order[i]),
		    "%s before %s", order[i - 1], order[i]);
		ck_assert_msg(strstr(html, row[i - 1]) < strstr(html, row[i]),
		    "%s before %s", row[i - 1], row[i]);
	}
	inputs_free(&x);
}
END_TEST

START_TEST(test_escaping)
{
	static const char *const escaped[] = {
		"new &lt;batch&gt; &amp; co.json", "new &lt;batch&gt; &amp; co.tps",
		"&lt;other &amp; &quot;x&quot;&gt;",
		"Use: &lt;review&gt; &amp; &quot;rank&quot;.",
	};
	static const char *const raw[] = {"<batch>", "<review>", "<other"};
	inputs x;

	report_of(&x, "evaluation.json", "drift.json");
	holds(x.r.html, escaped, NTEXTS(escaped), 1);
	holds(x.r.html, raw, NTEXTS(raw), 0);
	inputs_free(&x);
}
END_TEST

START_TEST(test_old_reports)
{
	/* The charts and table of members the older reports lack. */
	static const char *const newer[] = {
		"data-chart=\"gains\"", "data-chart=\"lift\"",
		"data-chart=\"score-histogram\"", "data-chart=\"drift-income\"",
		"Gains table",
	};
	inputs x;

	report_of(&x, "evaluation-old.json", "drift-old.json");
	chart_is(&x.r, "roc", 1);
	chart_is(&x.r, "ks", 2);
	holds(x.r.html, newer, NTEXTS(newer), 0);
	ck_assert_ptr_nonnull(strstr(x.r.html, "<section id=\"drift\">"));
	inputs_free(&x);
}
END_TEST

START_TEST(test_champion)
{
	inputs x;

	inputs_load(&x, "evaluation.json", "drift.json");
	x.ch = load("challenger.json");
	x.in.evaluation[1] = (tp_report_doc){x.ch, "challenger.json"};
	x.in.nevaluations = 2;
	make(&x.r, &x.in);
	ck_assert_ptr_nonnull(strstr(x.r.html, "<section id=\"champion\">"));
	chart_is(&x.r, "roc", 2);
	chart_is(&x.r, "pr", 2);
	chart_is(&x.r, "calibration", 2);
	chart_is(&x.r, "gains", 1); /* the challenger has none */
	chart_is(&x.r, "score-histogram", 2); /* the champion's two classes */
	/* Each named by the model it measured: a file's by its SHA-256, a
	 * registered one by its version. */
	ck_assert_ptr_nonnull(strstr(x.r.html, "champion: model aaaaaaaaaaaa"));
	ck_assert_ptr_nonnull(strstr(x.r.html, "challenger: version 2"));
	/* The measures are the champion's, the model of no card... */
	ck_assert_ptr_nonnull(strstr(x.r.html, "ROC AUC</th><td class=\"n\">0.8352</td>"));
	ck_assert_ptr_nonnull(strstr(x.r.html, "The measures are the champion's"));
	tp_report_free(&x.r);
	/* ...and the challenger's in the report of the challenger (promoted,
	 * beside the champion it replaced): the figures at the top, the
	 * measures and the charts of one model are the card's model's. */
	cJSON_ReplaceItemInObject(x.card, "sha256", cJSON_CreateString(
	    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"));
	make(&x.r, &x.in);
	ck_assert_ptr_nonnull(strstr(x.r.html, "ROC AUC</th><td class=\"n\">0.7852</td>"));
	ck_assert_ptr_null(strstr(x.r.html, "ROC AUC</th><td class=\"n\">0.8352</td>"));
	ck_assert_ptr_nonnull(strstr(x.r.html, "The measures are the challenger's"));
	const char *top = strstr(x.r.html, "<div class=\"summary\">");
	ck_assert_ptr_nonnull(top);
	ck_assert_ptr_nonnull(strstr(top, "ROC AUC<b>0.785</b>"));
	ck_assert_ptr_null(strstr(x.r.html, "data-chart=\"score-histogram\""));
	chart_is(&x.r, "roc", 2);
	inputs_free(&x);
}
END_TEST

START_TEST(test_card)
{
	cJSON *meta = load("metadata.json"), *card;
	tp_err e = {0};

	ck_assert_int_eq(tp_report_card(meta, "dir/loans v2.safetensors", "ab",
	    &card, &e), TP_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(card, "name")->valuestring,
	    "loans v2");
	ck_assert_double_eq(cJSON_GetObjectItem(card, "threshold")->valuedouble,
	    0.4);
	ck_assert_str_eq(cJSON_GetObjectItem(card, "target")->valuestring,
	    "status");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(card,
	    "features")), 2);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(card,
	    "history")), 3);
	ck_assert_str_eq(cJSON_GetObjectItem(card, "threshold_rule")->valuestring,
	    "best F1 on the validation rows");
	cJSON_Delete(card);

	/* An old file: no history, no rule. */
	cJSON_DeleteItemFromObject(meta, "history");
	cJSON_DeleteItemFromObject(meta, "threshold_rule");
	ck_assert_int_eq(tp_report_card(meta, "m.safetensors", "ab", &card, &e),
	    TP_OK);
	ck_assert_ptr_null(cJSON_GetObjectItem(card, "history"));
	tp_report_input in = {.card = card};
	tp_report r;
	make(&r, &in);
	ck_assert_ptr_null(strstr(r.html, "data-chart=\"training\""));
	ck_assert_ptr_nonnull(strstr(r.html, "a rule the model file does not "
	    "record"));
	tp_report_free(&r);
	cJSON_Delete(card);

	cJSON_ReplaceItemInObject(meta, "config", cJSON_CreateString("{"));
	ck_assert_int_eq(tp_report_card(meta, "bad.safetensors", "ab", &card, &e),
	    TP_EDATA);
	ck_assert_ptr_null(card);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad.safetensors"));
	ck_assert_ptr_nonnull(strstr(e.msg, "config"));
	cJSON_Delete(meta);
}
END_TEST

START_TEST(test_bad_members)
{
	static const struct {
		const char *file, *drift, *what;
	} cases[] = {
		{"bad-roc.json", "drift.json", "\"roc\" is not an array"},
		{"evaluation.json", "bad-histogram.json", "income's histogram"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		inputs x;
		tp_err e = {0};
		inputs_load(&x, cases[i].file, cases[i].drift);
		x.in.drift.source = cases[i].drift;
		ck_assert_int_eq(tp_report_make(&x.r, &x.in, &e), TP_EDATA);
		ck_assert_ptr_null(x.r.html);
		ck_assert_msg(strstr(e.msg, strcmp(cases[i].file, "bad-roc.json") ?
		    cases[i].drift : cases[i].file) != NULL, "%s", e.msg);
		ck_assert_msg(strstr(e.msg, cases[i].what) != NULL, "%s", e.msg);
		inputs_free(&x);
	}
	/* A report given as another kind. */
	inputs x;
	tp_err e = {0};
	inputs_load(&x, "evaluation.json", "drift.json");
	x.in.validation = (tp_report_doc){x.drift, "d.json"};
	ck_assert_int_eq(tp_report_make(&x.r, &x.in, &e), TP_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "d.json: not a report of "
	    "tabpipe-validate"));
	inputs_free(&x);
}
END_TEST

/* Bar k of series s of a bar chart as the value it stands for: its end
 * away from the axis (y = 0), below the axis for a value below 0. */
static int
bar_values(const chart *c, int s, double *v, int max)
{
	double y[64], h[64];
	int n = attrs(series(c, s), "<rect", " y=\"", y, 64);

	ck_assert_int_eq(attrs(series(c, s), "<rect", " height=\"", h, 64), n);
	ck_assert_int_le(n, max);
	for (int i = 0; i < n; i++) {
		double top = data_y(c, y[i]), bottom = data_y(c, y[i] + h[i]);
		v[i] = fabs(bottom) < 1e-9 ? top : bottom;
	}
	return n;
}

/* The part of the document from the first from to the next to. */
static void
part(const char *html, const char *from, const char *to, const char **start,
    const char **end)
{
	*start = strstr(html, from);
	ck_assert_msg(*start != NULL, "no %s", from);
	*end = strstr(*start, to);
	ck_assert_msg(*end != NULL, "no %s after %s", to, from);
}

START_TEST(test_importance)
{
	inputs x;
	chart c;
	double v[64], prev = INFINITY;
	const cJSON *imp, *f;
	int n, i = 0;

	report_of(&x, "evaluation-groups.json", "drift.json");
	imp = cJSON_GetObjectItem(cJSON_GetObjectItem(x.ev, "importance"),
	    "features");
	ck_assert(find(&x.r, "importance", &c));
	ck_assert_int_eq(c.series, 1);
	/* A bar per feature, its height the mean loss, most first (the tool
	 * wrote them so), one below 0 drawn below the axis. */
	n = bar_values(&c, 0, v, 64);
	ck_assert_int_eq(n, cJSON_GetArraySize(imp));
	cJSON_ArrayForEach(f, imp) {
		double mean = cJSON_GetObjectItem(f, "mean")->valuedouble;
		ck_assert_msg(fabs(v[i] - mean) < 1e-4, "bar %d: %g, want %g", i,
		    v[i], mean);
		ck_assert(v[i] <= prev);
		prev = v[i++];
	}
	ck_assert(v[n - 1] < 0);
	/* The table: feature, kind, mean loss and its spread. */
	static const char *const rows[] = {
		"<tr><td>Job</td><td>categorical</td><td class=\"n\">0.0601</td>"
		    "<td class=\"n\">0.0079</td></tr>",
		"<tr><td>Marital</td><td>categorical</td><td class=\"n\">-0.0029</td>"
		    "<td class=\"n\">0.0034</td></tr>",
		"the mean over 5 shuffles (seed 0)",
	};
	holds(x.r.html, rows, NTEXTS(rows), 1);
	ck_assert(!find(&x.r, "attribution", &c));
	inputs_free(&x);

	/* With the mean |attribution| of each feature: its bars, most first,
	 * and its column. */
	inputs_load(&x, "evaluation-groups.json", "drift.json");
	imp = cJSON_GetObjectItem(x.ev, "importance");
	cJSON *at = cJSON_AddObjectToObject((cJSON *)imp, "attribution");
	cJSON_AddNumberToObject(at, "rows", 300);
	cJSON_AddNumberToObject(at, "steps", 32);
	cJSON_AddNumberToObject(at, "gap_mean", 0.002);
	cJSON_AddNumberToObject(at, "gap_max", 0.01);
	cJSON_AddNumberToObject(at, "mean_change", 0.9);
	i = 0;
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(imp, "features"))
		cJSON_AddNumberToObject((cJSON *)f, "mean_abs_attribution", 0.01 * ++i);
	make(&x.r, &x.in);
	ck_assert(find(&x.r, "attribution", &c));
	n = bar_values(&c, 0, v, 64);
	ck_assert_int_eq(n, i);
	ck_assert_msg(fabs(v[0] - 0.01 * i) < 1e-6 && fabs(v[n - 1] - 0.01) < 1e-6,
	    "bars from %g to %g", v[0], v[n - 1]);
	static const char *const with[] = {
		("<tr><td>Job</td><td>categorical</td><td class=\"n\">0.0601</td>"
		    "<td class=\"n\">0.0079</td><td class=\"n\">0.0100</td></tr>"),
		"mean |attribution|", "over 300 rows",
	};
	holds(x.r.html, with, NTEXTS(with), 1);
	inputs_free(&x);

	/* Features in another order are drawn sorted all the same. */
	inputs_load(&x, "evaluation-groups.json", "drift.json");
	imp = cJSON_GetObjectItem(cJSON_GetObjectItem(x.ev, "importance"),
	    "features");
	cJSON_AddItemToArray((cJSON *)imp, cJSON_DetachItemFromArray(
	    (cJSON *)imp, 0));
	make(&x.r, &x.in);
	ck_assert(find(&x.r, "importance", &c));
	n = bar_values(&c, 0, v, 64);
	for (int k = 1; k < n; k++)
		ck_assert_msg(v[k] <= v[k - 1], "bar %d over bar %d", k, k - 1);
	ck_assert(strstr(x.r.html, "<tr><td>Job</td>") <
	    strstr(x.r.html, "<tr><td>Home</td>"));
	inputs_free(&x);
}
END_TEST

START_TEST(test_fairness)
{
	inputs x;
	chart c;
	double v[64], want[2][64];
	int nw[2] = {0, 0}, adverse = 0;
	const cJSON *fair, *g;
	const char *start, *end;

	report_of(&x, "evaluation-groups.json", "drift.json");
	fair = cJSON_GetObjectItem(x.ev, "fairness");
	ck_assert(find(&x.r, "fairness", &c));
	ck_assert_int_eq(c.series, 2);
	ck_assert_double_eq(c.y0, 0);
	ck_assert_double_eq(c.y1, 1);
	/* Approval rates, then true positive rates; a group with no positive
	 * has no bar of the latter. */
	cJSON_ArrayForEach(g, cJSON_GetObjectItem(fair, "groups")) {
		static const char *const keys[] = {"approval_rate", "tpr"};
		for (int k = 0; k < 2; k++)
			if (cJSON_IsNumber(cJSON_GetObjectItem(g, keys[k])))
				want[k][nw[k]++] = cJSON_GetObjectItem(g,
				    keys[k])->valuedouble;
		adverse += cJSON_IsTrue(cJSON_GetObjectItem(g, "adverse"));
	}
	ck_assert_int_lt(nw[1], nw[0]);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(bar_values(&c, k, v, 64), nw[k]);
		for (int i = 0; i < nw[k]; i++)
			ck_assert_msg(fabs(v[i] - want[k][i]) < 1e-4, "series %d bar %d: "
			    "%g, want %g", k, i, v[i], want[k][i]);
	}
	/* The groups under four-fifths are marked as drifting rows are. */
	ck_assert_int_eq(adverse, cJSON_GetObjectItem(fair, "adverse")->valueint);
	ck_assert_int_gt(adverse, 0);
	part(x.r.html, "<h3>By group</h3>", "</section>", &start, &end);
	ck_assert_int_eq(count(start, end, "<tr class=\"drifts\">"), adverse);
	ck_assert_int_eq(count(start, end, "<span class=\"bad\">0."), adverse);
	ck_assert_int_eq(count(start, end, "<tr"), 1 + cJSON_GetArraySize(
	    cJSON_GetObjectItem(fair, "groups")));
	static const char *const texts[] = {
		"The most approved group is <b>(missing or unseen)</b> (100.0% "
		    "approved).",
		"<span class=\"bad\">6 groups fall under four-fifths</span>",
		"The largest gap in true positive rates is 0.379, between <b>ignore"
		    "</b> (100.0%) and <b>owner</b> (62.1%).",
		"<tr class=\"drifts\"><td>owner</td><td class=\"n\">317</td>"
		    "<td class=\"n\">58</td><td class=\"n\">0.6670</td>"
		    "<td class=\"n\">59.9%</td><td class=\"n\"><span class=\"bad\">"
		    "0.599</span></td><td class=\"bad\">yes</td>",
	};
	holds(x.r.html, texts, NTEXTS(texts), 1);
	inputs_free(&x);
}
END_TEST

START_TEST(test_importance_fairness_absent)
{
	/* Reports without the members: no chart, table or word of them. */
	static const char *const none[] = {
		"data-chart=\"importance\"", "data-chart=\"fairness\"",
		"Permutation importance", "By group", "four-fifths",
	};
	static const char *const files[] = {"evaluation.json",
	    "evaluation-old.json"};
	for (size_t i = 0; i < NTEXTS(files); i++) {
		inputs x;
		report_of(&x, files[i], "drift.json");
		holds(x.r.html, none, NTEXTS(none), 0);
		inputs_free(&x);
	}
	/* Null members are absent members. */
	inputs x, y;
	report_of(&y, "evaluation.json", "drift.json");
	inputs_load(&x, "evaluation.json", "drift.json");
	cJSON_AddNullToObject(x.ev, "importance");
	cJSON_AddNullToObject(x.ev, "fairness");
	make(&x.r, &x.in);
	ck_assert_uint_eq(x.r.len, y.r.len);
	ck_assert(memcmp(x.r.html, y.r.html, y.r.len) == 0);
	inputs_free(&x);
	inputs_free(&y);
}
END_TEST

START_TEST(test_importance_fairness_bad)
{
	static const struct {
		const char *member, *json, *what;
	} cases[] = {
		{"importance", "\"much\"", "\"importance\" is not an object"},
		{"importance", "{\"features\": 3}", "\"features\" is not an array"},
		{"importance", "{\"features\": [{\"feature\": \"a\", \"mean\": "
		    "\"x\"}]}", "importance.features[0]: \"mean\""},
		{"fairness", "[]", "\"fairness\" is not an object"},
		{"fairness", "{\"groups\": [{\"group\": \"a\", \"tpr\": true}]}",
		    "fairness.groups[0]: \"tpr\" is not a number"},
		{"fairness", "{\"groups\": [7]}", "fairness.groups[0] is not"},
	};
	for (size_t i = 0; i < NTEXTS(cases); i++) {
		inputs x;
		tp_err e = {0};
		inputs_load(&x, "evaluation.json", "drift.json");
		cJSON_AddItemToObject(x.ev, cases[i].member,
		    cJSON_Parse(cases[i].json));
		ck_assert_int_eq(tp_report_make(&x.r, &x.in, &e), TP_EDATA);
		ck_assert_ptr_null(x.r.html);
		ck_assert_msg(strstr(e.msg, "evaluation.json: ") == e.msg, "%s",
		    e.msg);
		ck_assert_msg(strstr(e.msg, cases[i].what) != NULL, "%s", e.msg);
		inputs_free(&x);
	}
}
END_TEST

Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_sections_and_charts);
	tcase_add_test(tc, test_roc_geometry);
	tcase_add_test(tc, test_calibration_geometry);
	tcase_add_test(tc, test_histogram_heights);
	tcase_add_test(tc, test_drift_order);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_old_reports);
	tcase_add_test(tc, test_champion);
	tcase_add_test(tc, test_card);
	tcase_add_test(tc, test_bad_members);
	tcase_add_test(tc, test_importance);
	tcase_add_test(tc, test_fairness);
	tcase_add_test(tc, test_importance_fairness_absent);
	tcase_add_test(tc, test_importance_fairness_bad);
	suite_add_tcase(s, tc);
	return s;
}
