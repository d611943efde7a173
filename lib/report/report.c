/* report: the HTML document of tabpipe-report (report.h). */
#include "report/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/svg.h"

/* ---- reading the reports ---- */

enum tp_report_kind
tp_report_kind(const cJSON *doc)
{
	if (!cJSON_IsObject(doc))
		return TP_REPORT_UNKNOWN;
	if (cJSON_HasObjectItem(doc, "auc") &&
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "confusion")))
		return TP_REPORT_EVALUATION;
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "checks")) &&
	    cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "columns")))
		return TP_REPORT_VALIDATION;
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "features")) &&
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "thresholds")))
		return TP_REPORT_DRIFT;
	return TP_REPORT_UNKNOWN;
}

static const cJSON *
get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A number member, NaN when it is null, missing or not a number. */
static double
num(const cJSON *o, const char *key)
{
	const cJSON *v = get(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = get(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A text member, or fallback when it is missing or not text. */
static const char *
str_or(const cJSON *o, const char *key, const char *fallback)
{
	return str(o, key) ? str(o, key) : fallback;
}

/* The document being made. */
typedef struct {
	const tp_report_input *in;
	tp_svg_buf h;          /* the HTML */
	tp_report *out;
	void **allocs;         /* freed at the end */
	size_t nallocs;
	tp_err *e;
	int failed;            /* a status already in e */
	int subject;           /* the evaluation of the document's model */
} doc;

/* Memory that lives until the document is made; NULL (and failed) when
 * there is none. */
static void *
keep(doc *d, size_t size)
{
	void *p, **a;

	if (d->failed)
		return NULL;
	if ((a = realloc(d->allocs, (d->nallocs + 1) * sizeof(*a))) == NULL ||
	    (p = calloc(1, size ? size : 1)) == NULL) {
		if (a != NULL)
			d->allocs = a;
		d->failed = tp_err_nomem(d->e, "the report");
		return NULL;
	}
	d->allocs = a;
	d->allocs[d->nallocs++] = p;
	return p;
}

static int
bad(doc *d, const char *source, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
bad(doc *d, const char *source, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!d->failed)
		d->failed = tp_err_set(d->e, TP_EDATA, "%s: %s", source, what);
	return d->failed;
}

/* An array member: NULL when it is missing or null; a failure when it is
 * something else. */
static const cJSON *
array(doc *d, const cJSON *o, const char *key, const char *source)
{
	const cJSON *v = get(o, key);

	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v)) {
		bad(d, source, "\"%s\" is not an array", key);
		return NULL;
	}
	return v;
}

/* The numbers of an array (null: NaN) into a new (n) array; a member
 * that is not a number or null fails. */
static double *
numbers(doc *d, const cJSON *a, const char *what, const char *source,
    size_t *n)
{
	size_t len = (size_t)cJSON_GetArraySize(a), i = 0;
	double *v = keep(d, len * sizeof(double));
	const cJSON *x;

	*n = 0;
	if (v == NULL)
		return NULL;
	cJSON_ArrayForEach(x, a) {
		if (cJSON_IsNumber(x))
			v[i] = x->valuedouble;
		else if (cJSON_IsNull(x))
			v[i] = NAN;
		else {
			bad(d, source, "%s[%zu] is not a number", what, i);
			return NULL;
		}
		i++;
	}
	*n = len;
	return v;
}

/* Members kx and ky of each object of array key of o into new arrays:
 * n 0 when the array is missing. */
static int
points(doc *d, const cJSON *o, const char *key, const char *kx,
    const char *ky, const char *source, double **x, double **y, size_t *n)
{
	const cJSON *a = array(d, o, key, source), *p;
	size_t len, i = 0;

	*n = 0;
	*x = *y = NULL;
	if (a == NULL)
		return d->failed;
	len = (size_t)cJSON_GetArraySize(a);
	if ((*x = keep(d, len * sizeof(double))) == NULL ||
	    (*y = keep(d, len * sizeof(double))) == NULL)
		return d->failed;
	cJSON_ArrayForEach(p, a) {
		const cJSON *vx = get(p, kx), *vy = get(p, ky);
		if (!cJSON_IsObject(p))
			return bad(d, source, "%s[%zu] is not an object", key, i);
		if ((vx && !cJSON_IsNumber(vx) && !cJSON_IsNull(vx)) ||
		    (vy && !cJSON_IsNumber(vy) && !cJSON_IsNull(vy)))
			return bad(d, source, "%s[%zu]: \"%s\" or \"%s\" is not a "
			    "number", key, i, kx, ky);
		(*x)[i] = num(p, kx);
		(*y)[i] = num(p, ky);
		i++;
	}
	*n = len;
	return TP_OK;
}

/* ---- writing ---- */

/* What the document shows for a value that is not there: an em dash. */
#define DASH "\xE2\x80\x94"

#define P(...) tp_svg_printf(&d->h, __VA_ARGS__)
#define S(s) tp_svg_puts(&d->h, s)
#define E(s) tp_svg_escape(&d->h, s)

/* A number with dec decimals, or a dash. */
static void
put_num(tp_svg_buf *b, double x, int dec)
{
	if (!isfinite(x))
		tp_svg_puts(b, DASH);
	else
		tp_svg_printf(b, "%.*f", dec, x == 0 ? 0 : x);
}

/* A count with thousands apart: 12,345. */
static void
put_count(tp_svg_buf *b, double x)
{
	if (!isfinite(x))
		tp_svg_puts(b, DASH);
	else
		tp_svg_count(b, x);
}

static void
put_pct(tp_svg_buf *b, double x, int dec)
{
	if (!isfinite(x)) {
		tp_svg_puts(b, DASH);
		return;
	}
	tp_svg_printf(b, "%.*f%%", dec, 100 * x == 0 ? 0 : 100 * x);
}

/* A count as a count, another number with 4 significant digits. */
static void
put_value(tp_svg_buf *b, double x)
{
	if (isfinite(x) && x == floor(x) && fabs(x) < 1e15)
		put_count(b, x);
	else if (isfinite(x))
		tp_svg_printf(b, "%.4g", x);
	else
		tp_svg_puts(b, DASH);
}

/* A statistic in the data's units: 12,345 from a thousand on, 0 for
 * what float32's rounding left of it, else 4 significant digits. */
static void
put_stat(tp_svg_buf *b, double x)
{
	if (!isfinite(x))
		tp_svg_puts(b, DASH);
	else if (fabs(x) >= 1000)
		put_count(b, round(x));
	else if (fabs(x) < 1e-4)
		tp_svg_puts(b, "0");
	else
		tp_svg_printf(b, "%.4g", x);
}

/* "12,345" into buf. */
static const char *
count_text(char *buf, size_t len, double x)
{
	tp_svg_buf b = {0};

	put_count(&b, x);
	snprintf(buf, len, "%s", b.s ? b.s : "");
	tp_svg_buf_free(&b);
	return buf;
}

/* The file name of a path: what comes after its last '/'. */
static const char *
base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path ? path : "";
}

/* A chart's name, unique in the document and safe as a file name. */
static char *
chart_name(doc *d, const char *base)
{
	size_t n = strlen(base);
	char *name = keep(d, n + 16);

	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = base[i];
		name[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ?
		    c : '_';
	}
	for (int k = 2;; k++) {
		int taken = 0;
		for (int i = 0; i < d->out->ncharts && !taken; i++)
			taken = strcmp(d->out->charts[i].name, name) == 0;
		if (!taken)
			return name;
		snprintf(name + n, 16, "-%d", k);
	}
}

/* Adds a chart made in svg to the document and to the list. */
static void
chart_add(doc *d, const char *name, tp_svg_buf *svg)
{
	tp_report_chart *c;

	if (svg->nomem || d->failed) {
		if (!d->failed)
			d->failed = tp_err_nomem(d->e, "a chart");
		tp_svg_buf_free(svg);
		return;
	}
	c = realloc(d->out->charts, (size_t)(d->out->ncharts + 1) * sizeof(*c));
	if (c == NULL || (c[d->out->ncharts].name = strdup(name)) == NULL) {
		if (c != NULL)
			d->out->charts = c;
		d->failed = tp_err_nomem(d->e, "a chart");
		tp_svg_buf_free(svg);
		return;
	}
	d->out->charts = c;
	c[d->out->ncharts].svg = svg->s;
	d->out->ncharts++;
	S("<figure>");
	S(svg->s);
	S("</figure>\n");
	svg->s = NULL;
	tp_svg_buf_free(svg);
}

/* A row of a table whose rows are named: the name; the caller writes
 * the cells and ends it ("</tr>"). */
static void
row_head(doc *d, const char *th)
{
	S("<tr><th>");
	E(th);
	S("</th>");
}

/* A row of a table of names and values, up to its value, which the
 * caller writes and ends ("</td></tr>"). */
static void
row_open(doc *d, const char *th)
{
	row_head(d, th);
	S("<td>");
}

static void
row_text(doc *d, const char *th, const char *value)
{
	row_open(d, th);
	E(value ? value : DASH);
	S("</td></tr>\n");
}

/* A row whose value is an identifier, whole; the caller may add to it
 * and ends it. */
static void
row_code_open(doc *d, const char *th, const char *value)
{
	row_open(d, th);
	S("<code>");
	E(value ? value : DASH);
	S("</code>");
}

/* The start of a long identifier (a SHA-256, a data fingerprint) in
 * <code>: twelve characters tell them apart and keep the tables narrow. */
static void
put_code(doc *d, const char *id)
{
	char start[13];

	snprintf(start, sizeof(start), "%s", id ? id : "");
	S("<code>");
	E(start);
	S("</code>");
}

/* ---- tables of JSON rows ---- */

/* How a cell shows its row's member. */
enum cell_format {
	CELL_NUMBER,   /* a number with the column's decimals */
	CELL_COUNT,    /* a count: 12,345 */
	CELL_PERCENT,  /* a share of 1 as a percentage, the column's decimals */
	CELL_VALUE,    /* a count as a count, another number to 4 digits */
	CELL_STAT,     /* a statistic in the data's units */
	CELL_TEXT,     /* text, escaped; the column's fallback when missing */
	CELL_CODE,     /* an identifier's start (put_code) */
	CELL_FLAG,     /* true or false as yes or no; see column.bad */
	CELL_CUSTOM,   /* the column's write */
};

/* Where a cell's content sits: by the class of the style sheet. */
enum cell_align {
	ALIGN_TEXT,    /* to the left */
	ALIGN_NUMBER,  /* to the right, in figures of one width: "n" */
	ALIGN_TIME,    /* to the left, on one line: "t" */
};

static const char *const align_class[] = {
	[ALIGN_TEXT] = "", [ALIGN_NUMBER] = " class=\"n\"",
	[ALIGN_TIME] = " class=\"t\"",
};

/* A column of a table whose rows are JSON objects. */
typedef struct {
	const char *header;    /* HTML as it is: it may hold entities */
	const char *key;       /* the row's member */
	enum cell_format format;
	int decimals;          /* CELL_NUMBER and CELL_PERCENT's */
	enum cell_align align; /* a number's header is aligned as its cells */
	const char *fallback;  /* CELL_TEXT's text for a missing member; NULL: "" */
	int bad;               /* CELL_FLAG: the value (1 true, 0 false) that is
	                        * bad; its cell says so in class "bad", and its
	                        * row is marked (class "drifts") */
	void (*write)(doc *d, const cJSON *row); /* CELL_CUSTOM: the content */
} column;

#define NCOLUMNS(c) (sizeof(c) / sizeof((c)[0]))
/* The two common kinds: a member as a number, and as text. */
#define NUMBER_COLUMN(h, k, f, dec) {.header = h, .key = k, .format = f, \
	.decimals = dec, .align = ALIGN_NUMBER}
#define TEXT_COLUMN(h, k) {.header = h, .key = k, .format = CELL_TEXT}

/* x as format shows a number (CELL_NUMBER to CELL_STAT). */
static void
put_number_as(tp_svg_buf *b, enum cell_format format, int decimals, double x)
{
	switch (format) {
	case CELL_COUNT: put_count(b, x); break;
	case CELL_PERCENT: put_pct(b, x, decimals); break;
	case CELL_VALUE: put_value(b, x); break;
	case CELL_STAT: put_stat(b, x); break;
	default: put_num(b, x, decimals); break;
	}
}

static int
flag_is_bad(const column *c, const cJSON *row)
{
	return c->format == CELL_FLAG &&
	    cJSON_IsTrue(get(row, c->key)) == c->bad;
}

static void
table_head(doc *d, const column *c, size_t n)
{
	S("<tr>");
	for (size_t i = 0; i < n; i++) {
		S(c[i].align == ALIGN_NUMBER ? "<th class=\"n\">" : "<th>");
		S(c[i].header);
		S("</th>");
	}
	S("</tr>\n");
}

static void
table_row(doc *d, const column *c, size_t n, const cJSON *row)
{
	int marked = 0;

	for (size_t i = 0; i < n; i++)
		marked |= flag_is_bad(&c[i], row);
	S(marked ? "<tr class=\"drifts\">" : "<tr>");
	for (size_t i = 0; i < n; i++) {
		P("<td%s>", flag_is_bad(&c[i], row) ? " class=\"bad\"" :
		    align_class[c[i].align]);
		switch (c[i].format) {
		case CELL_TEXT:
			E(str_or(row, c[i].key, c[i].fallback ? c[i].fallback : ""));
			break;
		case CELL_CODE:
			put_code(d, str(row, c[i].key));
			break;
		case CELL_FLAG:
			S(cJSON_IsTrue(get(row, c[i].key)) ? "yes" : "no");
			break;
		case CELL_CUSTOM:
			c[i].write(d, row);
			break;
		default:
			put_number_as(&d->h, c[i].format, c[i].decimals,
			    num(row, c[i].key));
		}
		S("</td>");
	}
	S("</tr>\n");
}

/* The table's start and its header row; rows by table_row, then
 * "</table>". */
static void
table_open(doc *d, const column *c, size_t n)
{
	S("<table>\n");
	table_head(d, c, n);
}

/* A table of the objects of the array rows, a row each. */
static void
table_of(doc *d, const column *c, size_t n, const cJSON *rows)
{
	const cJSON *row;

	table_open(d, c, n);
	cJSON_ArrayForEach(row, rows)
		table_row(d, c, n, row);
	S("</table>\n");
}

/* A measure's cell: in bold when it is the better of two, with its sign
 * when it is their difference. */
static void
measure_cell(doc *d, double x, int decimals, int bold, int difference)
{
	S(bold ? "<td class=\"n\"><b>" : "<td class=\"n\">");
	if (difference && isfinite(x) && x > 0)
		S("+");
	put_num(&d->h, x, decimals);
	S(bold ? "</b></td>" : "</td>");
}

/* ---- the model card ---- */

int
tp_report_card(const cJSON *metadata, const char *path, const char *sha256,
    cJSON **card, tp_err *e)
{
	cJSON *c = cJSON_CreateObject(), *feats;
	const char *v;
	char *name;
	size_t n;

	*card = NULL;
	if (c == NULL)
		return tp_err_nomem(e, "the model's card");
	n = strlen(base_name(path));
	if ((name = strdup(base_name(path))) == NULL) {
		cJSON_Delete(c);
		return tp_err_nomem(e, "the model's card");
	}
	if (n > 12 && strcmp(name + n - 12, ".safetensors") == 0)
		name[n - 12] = '\0';
	cJSON_AddStringToObject(c, "name", name);
	free(name);
	cJSON_AddStringToObject(c, "path", path);
	if (sha256)
		cJSON_AddStringToObject(c, "sha256", sha256);
	if ((v = str(metadata, "threshold")) != NULL) {
		char *end;
		double t = strtod(v, &end);
		if (end == v || *end != '\0' || !isfinite(t))
			goto bad_member;
		cJSON_AddNumberToObject(c, "threshold", t);
	}
	if ((v = str(metadata, "members")) != NULL)
		cJSON_AddNumberToObject(c, "members", atof(v));
	static const char *const texts[] = {"threshold_rule", "run_id",
	    "data_fingerprint"};
	for (size_t i = 0; i < 3; i++)
		if ((v = str(metadata, texts[i])) != NULL && *v != '\0')
			cJSON_AddStringToObject(c, texts[i], v);
	/* The JSON members: config, history, and the encoding's columns. */
	static const char *const jsons[] = {"config", "history", "encoding"};
	for (size_t i = 0; i < 3; i++) {
		cJSON *j;
		if ((v = str(metadata, jsons[i])) == NULL)
			continue;
		if ((j = cJSON_Parse(v)) == NULL ||
		    (i == 1 ? !cJSON_IsArray(j) : !cJSON_IsObject(j))) {
			cJSON_Delete(j);
			cJSON_Delete(c);
			return tp_err_set(e, TP_EDATA, "%s: the metadata's \"%s\" is "
			    "not a JSON %s", path, jsons[i], i == 1 ? "array" : "object");
		}
		if (i < 2) {
			cJSON_AddItemToObject(c, jsons[i], j);
			continue;
		}
		feats = cJSON_AddArrayToObject(c, "features");
		const cJSON *col;
		cJSON_ArrayForEach(col, get(j, "columns")) {
			const char *kind = str(col, "kind"), *cn = str(col, "name");
			if (kind == NULL || cn == NULL)
				continue;
			if (strcmp(kind, "target") == 0)
				cJSON_AddStringToObject(c, "target", cn);
			else if (strcmp(kind, "numeric") == 0 ||
			    strcmp(kind, "categorical") == 0) {
				cJSON *f = cJSON_CreateObject();
				cJSON_AddStringToObject(f, "name", cn);
				cJSON_AddStringToObject(f, "kind", kind);
				cJSON_AddItemToArray(feats, f);
			}
		}
		cJSON_Delete(j);
	}
	*card = c;
	return TP_OK;
bad_member:
	cJSON_Delete(c);
	return tp_err_set(e, TP_EDATA, "%s: the metadata's \"threshold\" is not "
	    "a number", path);
}

/* Whether an epoch of a history is of a member of an ensemble but the
 * first: the chart draws one training, the first member's. */
static int
later_member(const cJSON *epoch)
{
	return num(epoch, "member") > 1;
}

/* The training chart: loss, validation loss and AUC by epoch. */
static void
training_chart(doc *d, const cJSON *history, const char *source)
{
	static const struct {
		const char *key, *alt, *name;
		int style;
	} keys[] = {
		{"loss", NULL, "training loss", TP_SVG_LINE | TP_SVG_MARKERS},
		{"valid_loss", "valid_log_loss", "validation loss",
		    TP_SVG_LINE | TP_SVG_MARKERS | TP_SVG_DASHED},
		{"valid_auc", NULL, "validation AUC", TP_SVG_LINE | TP_SVG_MARKERS},
	};
	tp_svg_series s[3];
	int ns = 0, n = 0, others = 0;
	double *x, ymax = 1;
	const cJSON *p;
	char note[160], *name;

	cJSON_ArrayForEach(p, history) {
		if (cJSON_IsObject(p) && later_member(p))
			others++;
		else
			n++;
	}
	if (n == 0 || (x = keep(d, (size_t)n * sizeof(double))) == NULL)
		return;
	for (size_t k = 0; k < 3; k++) {
		double *y = keep(d, (size_t)n * sizeof(double));
		int i = 0, any = 0;
		if (y == NULL)
			return;
		cJSON_ArrayForEach(p, history) {
			if (!cJSON_IsObject(p)) {
				bad(d, source, "history[%d] is not an object", i);
				return;
			}
			if (later_member(p))
				continue;
			x[i] = isfinite(num(p, "epoch")) ? num(p, "epoch") : i + 1;
			y[i] = num(p, keys[k].key);
			if (!isfinite(y[i]) && keys[k].alt)
				y[i] = num(p, keys[k].alt);
			if (isfinite(y[i])) {
				any = 1;
				ymax = fmax(ymax, y[i]);
			}
			i++;
		}
		if (any)
			s[ns++] = (tp_svg_series){.name = keys[k].name, .x = x, .y = y,
			    .n = (size_t)n, .style = keys[k].style, .color = (int)k};
	}
	if (ns == 0 || (name = chart_name(d, "training")) == NULL)
		return;
	snprintf(note, sizeof(note), "%d epoch%s%s, from %s", n,
	    n == 1 ? "" : "s", others > 0 ? " of the ensemble's first member" :
	    "", source);
	tp_svg_chart c = {.name = name, .title = "Training", .note = note,
	    .xlabel = "epoch", .ylabel = "loss; AUC", .ymin = 0, .ymax = ymax,
	    .xinteger = 1};
	if (n == 1) {
		c.xmin = x[0] - 1;
		c.xmax = x[0] + 1;
	}
	tp_svg_buf b = {0};
	tp_svg_lines(&b, &c, s, ns);
	chart_add(d, name, &b);
}

static void
section_card(doc *d)
{
	const cJSON *card = d->in->card, *reg = get(d->in->registry, "version");
	const cJSON *history = get(card, "history"), *cfg = get(card, "config");
	const char *hsource = "the model file";
	char buf[128];

	if (card == NULL && reg == NULL && d->in->notes == NULL)
		return;
	S("<section id=\"card\">\n<h2>Model card</h2>\n<table class=\"kv\">\n");
	row_text(d, "Name", str_or(reg, "name", str(card, "name")));
	if (reg) {
		snprintf(buf, sizeof(buf), "%.0f", num(reg, "version"));
		row_text(d, "Version", buf);
		row_text(d, "Stage", str(reg, "stage"));
		row_text(d, "Registered", str(reg, "created"));
	}
	if (card) {
		row_text(d, "File", str(card, "path"));
		row_code_open(d, "SHA-256", str(card, "sha256"));
		S("</td></tr>\n");
	}
	row_code_open(d, "Training data", str(card, "data_fingerprint"));
	if (reg && isfinite(num(reg, "rows"))) {
		S(", ");
		put_count(&d->h, num(reg, "rows"));
		S(" rows");
	}
	S("</td></tr>\n");
	if (reg && str(reg, "trained_by"))
		row_text(d, "Trained by", str(reg, "trained_by"));
	if (str(card, "run_id") || (reg && isfinite(num(reg, "run")))) {
		if (str(card, "run_id"))
			snprintf(buf, sizeof(buf), "%s", str(card, "run_id"));
		else
			snprintf(buf, sizeof(buf), "%.0f", num(reg, "run"));
		row_text(d, "Training run", buf);
	}
	if (card && isfinite(num(card, "threshold"))) {
		row_open(d, "Decision threshold");
		put_num(&d->h, num(card, "threshold"), 4);
		S(": rows scored at or above it are called positive; chosen by ");
		E(str_or(card, "threshold_rule",
		    "a rule the model file does not record"));
		S("</td></tr>\n");
	}
	if (str(card, "target"))
		row_text(d, "Target", str(card, "target"));
	if (cJSON_IsArray(get(card, "features"))) {
		const cJSON *f;
		int nn = 0, nc = 0, first = 1;
		cJSON_ArrayForEach(f, get(card, "features")) {
			if (strcmp(str(f, "kind"), "numeric") == 0)
				nn++;
			else
				nc++;
		}
		row_open(d, "Features");
		P("%d numeric, %d categorical: ", nn, nc);
		cJSON_ArrayForEach(f, get(card, "features")) {
			if (!first)
				S(", ");
			E(str(f, "name"));
			first = 0;
		}
		S("</td></tr>\n");
	}
	if (num(card, "members") > 1) {
		snprintf(buf, sizeof(buf), "%.0f models from seeds of their own, "
		    "their log-odds averaged", num(card, "members"));
		row_text(d, "Ensemble", buf);
	}
	if (cJSON_IsObject(cfg)) {
		const cJSON *k;
		int first = 1;
		row_open(d, "Configuration");
		cJSON_ArrayForEach(k, cfg) {
			if (!first)
				S(", ");
			first = 0;
			E(k->string);
			S(" ");
			if (cJSON_IsNumber(k)) {
				tp_svg_number(&d->h, k->valuedouble, 6);
			} else if (cJSON_IsString(k)) {
				E(k->valuestring);
			} else {
				char *t = cJSON_PrintUnformatted(k);
				E(t ? t : "?");
				free(t);
			}
		}
		S("</td></tr>\n");
	}
	S("</table>\n");
	if (!cJSON_IsArray(history) || cJSON_GetArraySize(history) == 0) {
		history = get(d->in->registry, "epochs");
		hsource = "the registry's record of the training run";
	}
	if (cJSON_IsArray(history) && cJSON_GetArraySize(history) > 0) {
		S("<div class=\"charts\">\n");
		training_chart(d, history, hsource);
		S("</div>\n");
	}
	S("<h3>Intended use and limitations</h3>\n");
	if (d->in->notes) {
		S("<div class=\"notes\">");
		E(d->in->notes);
		S("</div>\n");
	} else
		S("<p class=\"muted\">Not stated: tabpipe-report --notes FILE puts "
		    "them here.</p>\n");
	S("</section>\n");
}

/* ---- performance ---- */

/* The label of evaluation i in legends and headings: the model it
 * measured, as a person names it (its registered version, or the start of
 * its SHA-256), else the report's file. */
static const char *
eval_label(doc *d, int i, char *buf, size_t len)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(
	    d->in->evaluation[i].json, "model");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(model, "version");
	const cJSON *sha = cJSON_GetObjectItemCaseSensitive(model, "sha256");
	char what[64];

	if (cJSON_IsNumber(version))
		snprintf(what, sizeof(what), "version %d", version->valueint);
	else if (cJSON_IsString(sha) && strlen(sha->valuestring) >= 12)
		snprintf(what, sizeof(what), "model %.12s", sha->valuestring);
	else
		snprintf(what, sizeof(what), "%s",
		    base_name(d->in->evaluation[i].source));
	if (d->in->nevaluations == 1)
		snprintf(buf, len, "%s", what);
	else
		snprintf(buf, len, "%s: %s", i == 0 ? "champion" : "challenger",
		    what);
	return buf;
}

static void
data_note(const cJSON *ev, char *buf, size_t len)
{
	char a[32], b[32];
	double pos = num(ev, "positives"), lab = num(ev, "labelled");

	snprintf(buf, len, "%s labelled rows, %s positives (%.1f%%)",
	    count_text(a, sizeof(a), lab), count_text(b, sizeof(b), pos),
	    lab > 0 ? 100 * pos / lab : 0);
}

/* Puts (0, 0) before the n points (x, y): a cumulative curve starts
 * there, whatever its first point. 0 when there is no memory. */
static int
start_at_origin(doc *d, double **x, double **y, size_t *n)
{
	double *x2 = keep(d, (*n + 1) * sizeof(double));
	double *y2 = keep(d, (*n + 1) * sizeof(double));

	if (x2 == NULL || y2 == NULL)
		return 0;
	/* keep's memory is zeroed: the origin is there already. */
	memcpy(x2 + 1, *x, *n * sizeof(double));
	memcpy(y2 + 1, *y, *n * sizeof(double));
	*x = x2;
	*y = y2;
	(*n)++;
	return 1;
}

/* A curve of every evaluation: members kx, ky of array key. */
static void
curves(doc *d, const char *cname, const char *key, const char *kx,
    const char *ky, const char *auc_key, const char *auc_name,
    tp_svg_chart *c, int markers, int from_origin)
{
	tp_svg_series s[2];
	int ns = 0;
	char labels[2][300], note[200];
	tp_svg_buf b = {0};

	for (int i = 0; i < d->in->nevaluations; i++) {
		const cJSON *ev = d->in->evaluation[i].json;
		double *x, *y, *w = NULL;
		size_t n;
		if (points(d, ev, key, kx, ky, d->in->evaluation[i].source, &x, &y,
		    &n) != TP_OK)
			return;
		if (n == 0)
			continue;
		if (from_origin && !start_at_origin(d, &x, &y, &n))
			return;
		if (markers) {
			double *dummy;
			size_t m;
			if (points(d, ev, key, "rows", kx, d->in->evaluation[i].source,
			    &w, &dummy, &m) != TP_OK)
				return;
		}
		eval_label(d, i, labels[i], 200);
		if (auc_key) {
			size_t l = strlen(labels[i]);
			snprintf(labels[i] + l, sizeof(labels[i]) - l, " (%s %.3f)",
			    auc_name, num(ev, auc_key));
		}
		s[ns++] = (tp_svg_series){.name = labels[i], .x = x, .y = y, .n = n,
		    .style = markers ? TP_SVG_LINE | TP_SVG_MARKERS : TP_SVG_LINE,
		    .color = i, .weight = w};
	}
	if (ns == 0 || (c->name = chart_name(d, cname)) == NULL)
		return;
	data_note(d->in->evaluation[d->subject].json, note, sizeof(note));
	if (d->in->nevaluations == 2)
		snprintf(note, sizeof(note), "champion and challenger on the same "
		    "axes");
	c->note = note;
	tp_svg_lines(&b, c, s, ns);
	chart_add(d, c->name, &b);
}

static void
score_histogram(doc *d, const cJSON *ev, const char *source)
{
	const cJSON *h = get(ev, "score_histogram");
	size_t ne, nn, np;
	double *edges, *neg, *pos, sn = 0, sp = 0;
	char note[200], *name;
	tp_svg_buf b = {0};

	if (h == NULL || cJSON_IsNull(h))
		return;
	if (!cJSON_IsObject(h)) {
		bad(d, source, "\"score_histogram\" is not an object");
		return;
	}
	const cJSON *ae = array(d, h, "edges", source), *an = array(d, h,
	    "negatives", source), *ap = array(d, h, "positives", source);
	if (ae == NULL || an == NULL || ap == NULL) {
		bad(d, source, "\"score_histogram\" lacks its edges, negatives or "
		    "positives");
		return;
	}
	if ((edges = numbers(d, ae, "score_histogram.edges", source, &ne)) == NULL ||
	    (neg = numbers(d, an, "score_histogram.negatives", source, &nn)) == NULL ||
	    (pos = numbers(d, ap, "score_histogram.positives", source, &np)) == NULL)
		return;
	if (ne < 2 || nn != ne - 1 || np != ne - 1) {
		bad(d, source, "score_histogram: %zu edges for %zu and %zu bins",
		    ne, nn, np);
		return;
	}
	for (size_t i = 0; i + 1 < ne; i++) {
		if (!(edges[i + 1] > edges[i])) {
			bad(d, source, "score_histogram: its edges do not increase");
			return;
		}
		sn += isfinite(neg[i]) ? neg[i] : 0;
		sp += isfinite(pos[i]) ? pos[i] : 0;
	}
	/* Each class's shares, so that the shapes compare whatever the
	 * classes' sizes. */
	for (size_t i = 0; i + 1 < ne; i++) {
		neg[i] = sn > 0 ? neg[i] / sn : 0;
		pos[i] = sp > 0 ? pos[i] / sp : 0;
	}
	if ((name = chart_name(d, "score-histogram")) == NULL)
		return;
	char a[32], c2[32];
	snprintf(note, sizeof(note), "%s negatives, %s positives; each class's "
	    "share of its rows", count_text(a, sizeof(a), sn),
	    count_text(c2, sizeof(c2), sp));
	tp_svg_series s[2] = {
		{.name = "negatives (label 0)", .y = neg, .n = ne - 1, .color = 0},
		{.name = "positives (label 1)", .y = pos, .n = ne - 1, .color = 1},
	};
	char vl[64];
	snprintf(vl, sizeof(vl), "threshold %.3f", num(ev, "threshold"));
	tp_svg_chart c = {.name = name, .title = "Scores by class", .note = note,
	    .xlabel = "predicted probability", .ylabel = "share of the class",
	    .ypercent = 1, .has_vline = isfinite(num(ev, "threshold")),
	    .vline = num(ev, "threshold"), .vlabel = vl};
	tp_svg_histogram(&b, &c, edges, (int)(ne - 1), s, 2);
	chart_add(d, name, &b);
}

/* The KS chart: the share of each class scored below each threshold. */
static void
ks_chart(doc *d, const cJSON *ev, const char *source)
{
	double *fpr, *tpr, *thr, *dummy;
	size_t n, m;
	char note[200], vl[64], *name;
	tp_svg_buf b = {0};

	if (points(d, ev, "roc", "fpr", "tpr", source, &fpr, &tpr, &n) != TP_OK ||
	    points(d, ev, "roc", "threshold", "fpr", source, &thr, &dummy,
	    &m) != TP_OK || n == 0)
		return;
	double *neg = keep(d, n * sizeof(double)), *pos = keep(d,
	    n * sizeof(double)), best = -1, at = NAN;
	if (neg == NULL || pos == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		thr[i] = fmin(1, fmax(0, thr[i]));
		neg[i] = 1 - fpr[i];
		pos[i] = 1 - tpr[i];
		if (isfinite(neg[i] - pos[i]) && neg[i] - pos[i] > best) {
			best = neg[i] - pos[i];
			at = thr[i];
		}
	}
	if (isfinite(num(ev, "ks_threshold")))
		at = num(ev, "ks_threshold");
	if ((name = chart_name(d, "ks")) == NULL)
		return;
	snprintf(note, sizeof(note), "KS %.3f: the largest gap between the "
	    "classes' distributions", num(ev, "ks"));
	snprintf(vl, sizeof(vl), "KS at %.3f", at);
	tp_svg_series s[2] = {
		{.name = "negatives (label 0)", .x = thr, .y = neg, .n = n,
		    .style = TP_SVG_LINE, .color = 0},
		{.name = "positives (label 1)", .x = thr, .y = pos, .n = n,
		    .style = TP_SVG_LINE, .color = 1},
	};
	tp_svg_chart c = {.name = name, .title = "Kolmogorov-Smirnov",
	    .note = note, .xlabel = "threshold (predicted probability)",
	    .ylabel = "share scored below", .xmin = 0, .xmax = 1,
	    .ymin = 0, .ymax = 1, .ypercent = 1, .has_vline = isfinite(at),
	    .vline = at, .vlabel = vl};
	tp_svg_lines(&b, &c, s, 2);
	chart_add(d, name, &b);
}

/* Gains and lift: from each evaluation's "gains", when it has them. */
static void
gains_charts(doc *d)
{
	tp_svg_series g[2], l[2];
	int ng = 0;
	char labels[2][200], *labs[10], lbuf[10][8];
	size_t maxn = 0;

	for (int i = 0; i < d->in->nevaluations; i++) {
		const cJSON *ev = d->in->evaluation[i].json;
		const char *src = d->in->evaluation[i].source;
		double *x, *y, *dec, *lift;
		size_t n, m;
		if (points(d, ev, "gains", "cumulative_rows_share",
		    "cumulative_positives_share", src, &x, &y, &n) != TP_OK ||
		    points(d, ev, "gains", "decile", "lift", src, &dec, &lift,
		    &m) != TP_OK)
			return;
		if (n == 0)
			continue;
		size_t deciles = n;
		if (!start_at_origin(d, &x, &y, &n))
			return;
		eval_label(d, i, labels[i], sizeof(labels[i]));
		g[ng] = (tp_svg_series){.name = labels[i], .x = x, .y = y, .n = n,
		    .style = TP_SVG_LINE | TP_SVG_MARKERS, .color = i};
		l[ng] = (tp_svg_series){.name = labels[i], .y = lift, .n = deciles,
		    .color = i};
		ng++;
		if (deciles > maxn)
			maxn = deciles;
	}
	if (ng == 0)
		return;
	char note[200], *name;
	tp_svg_buf b = {0};
	data_note(d->in->evaluation[d->subject].json, note, sizeof(note));
	if ((name = chart_name(d, "gains")) == NULL)
		return;
	tp_svg_chart c = {.name = name, .title = "Cumulative gains",
	    .note = note, .xlabel = "share of rows, highest scores first",
	    .ylabel = "share of positives found", .xmin = 0, .xmax = 1, .ymin = 0,
	    .ymax = 1, .diagonal = 1, .xpercent = 1, .ypercent = 1};
	tp_svg_lines(&b, &c, g, ng);
	chart_add(d, name, &b);
	if (maxn > 10)
		maxn = 10;
	for (size_t k = 0; k < maxn; k++) {
		snprintf(lbuf[k], sizeof(lbuf[k]), "%zu", k + 1);
		labs[k] = lbuf[k];
	}
	for (int i = 0; i < ng; i++)
		if (l[i].n > maxn)
			l[i].n = maxn;
	if ((name = chart_name(d, "lift")) == NULL)
		return;
	tp_svg_chart lc = {.name = name, .title = "Lift by decile", .note = note,
	    .xlabel = "decile (1: the highest scores)",
	    .ylabel = "lift (x the overall rate)", .has_hline = 1, .hline = 1};
	tp_svg_bars(&b, &lc, (const char *const *)labs, (int)maxn, l, ng);
	chart_add(d, name, &b);
}

static void
confusion_chart(doc *d, const cJSON *ev)
{
	const cJSON *m = get(ev, "confusion");
	double v[4] = {num(m, "tp"), num(m, "fn"), num(m, "fp"), num(m, "tn")};
	static const char *const rows[] = {"actual positive", "actual negative"};
	static const char *const cols[] = {"called positive", "called negative"};
	char note[128], *name;
	tp_svg_buf b = {0};

	if ((name = chart_name(d, "confusion")) == NULL)
		return;
	snprintf(note, sizeof(note), "at the threshold %.4f",
	    num(ev, "threshold"));
	tp_svg_chart c = {.name = name, .title = "Confusion matrix", .note = note,
	    .width = 360, .height = 300};
	tp_svg_grid(&b, &c, rows, 2, cols, 2, v);
	chart_add(d, name, &b);
}

/* The measures of the tables: key, name, decimals, higher is better. */
static const struct {
	const char *key, *name;
	int dec, higher;
} measures[] = {
	{"auc", "ROC AUC", 4, 1}, {"gini", "Gini", 4, 1}, {"ks", "KS", 4, 1},
	{"pr_auc", "PR AUC (average precision)", 4, 1},
	{"log_loss", "log loss", 4, 0}, {"brier", "Brier score", 4, 0},
	{"threshold", "threshold", 4, -1}, {"f1", "F1 at the threshold", 4, 1},
	{"precision", "precision at the threshold", 4, 1},
	{"recall", "recall at the threshold", 4, 1},
	{"accuracy", "accuracy at the threshold", 4, 1},
};

static void
write_bin_range(doc *d, const cJSON *bin)
{
	put_num(&d->h, num(bin, "lower"), 2);
	S(" to ");
	put_num(&d->h, num(bin, "upper"), 2);
}

/* The calibration's bins, so that each point's weight can be read. */
static const column calibration_columns[] = {
	{"probability", .format = CELL_CUSTOM, .write = write_bin_range},
	NUMBER_COLUMN("rows", "rows", CELL_COUNT, 0),
	NUMBER_COLUMN("mean predicted", "mean_predicted", CELL_NUMBER, 4),
	NUMBER_COLUMN("observed rate", "observed_rate", CELL_NUMBER, 4),
};

static const column gains_columns[] = {
	NUMBER_COLUMN("decile", "decile", CELL_COUNT, 0),
	NUMBER_COLUMN("rows", "rows", CELL_COUNT, 0),
	NUMBER_COLUMN("positives", "positives", CELL_COUNT, 0),
	NUMBER_COLUMN("lowest score", "score_min", CELL_NUMBER, 4),
	NUMBER_COLUMN("cumulative share of positives",
	    "cumulative_positives_share", CELL_PERCENT, 1),
	NUMBER_COLUMN("lift", "lift", CELL_NUMBER, 2),
	NUMBER_COLUMN("cumulative lift", "cumulative_lift", CELL_NUMBER, 2),
};

/* ---- importance and fairness ---- */

/* The rows of the array key of the evaluation's member (an object, in
 * *o), each an object with the text name and, at keys (nkeys), numbers or
 * nulls; NULL when the member is missing or null, has no row, or is not
 * what the format says (then a failure naming it). */
static const cJSON *
member_rows(doc *d, const cJSON *ev, const char *member, const char *key,
    const char *name, const char *const *keys, size_t nkeys,
    const char *src, const cJSON **o)
{
	const cJSON *rows, *row;
	int i = 0;

	*o = get(ev, member);
	if (*o == NULL || cJSON_IsNull(*o))
		return NULL;
	if (!cJSON_IsObject(*o)) {
		bad(d, src, "\"%s\" is not an object", member);
		return NULL;
	}
	if ((rows = array(d, *o, key, src)) == NULL) {
		bad(d, src, "\"%s\" lacks its %s", member, key);
		return NULL;
	}
	cJSON_ArrayForEach(row, rows) {
		if (!cJSON_IsObject(row) || str(row, name) == NULL) {
			bad(d, src, "%s.%s[%d] is not an object with its \"%s\"",
			    member, key, i, name);
			return NULL;
		}
		for (size_t k = 0; k < nkeys; k++) {
			const cJSON *v = get(row, keys[k]);
			if (v && !cJSON_IsNumber(v) && !cJSON_IsNull(v)) {
				bad(d, src, "%s.%s[%d]: \"%s\" is not a number", member,
				    key, i, keys[k]);
				return NULL;
			}
		}
		i++;
	}
	return i > 0 ? rows : NULL;
}

/* A feature of "importance", with its place for ties. */
typedef struct {
	const cJSON *f;
	int at;
	double mean;
} importance_row;

static int
importance_order(const void *pa, const void *pb)
{
	const importance_row *a = pa, *b = pb;
	double x = isfinite(a->mean) ? a->mean : -INFINITY;
	double y = isfinite(b->mean) ? b->mean : -INFINITY;

	if (x != y)
		return x < y ? 1 : -1;
	return a->at - b->at;
}

static const column importance_columns[] = {
	{.header = "feature", .key = "feature", .format = CELL_TEXT,
	    .fallback = "?"},
	TEXT_COLUMN("kind", "kind"),
	NUMBER_COLUMN("mean AUC lost", "mean", CELL_NUMBER, 4),
	NUMBER_COLUMN("std", "std", CELL_NUMBER, 4),
	NUMBER_COLUMN("mean |attribution|", "mean_abs_attribution", CELL_NUMBER,
	    4),
};

/* Beside the losses, the mean |attribution| of each feature as bars, most
 * first, when the evaluation measured them. */
static void
attribution(doc *d, const cJSON *imp, const importance_row *by_loss, int n)
{
	const cJSON *at = get(imp, "attribution");
	importance_row *rows;
	const char **labels;
	double *value;
	char note[200], *name;
	tp_svg_buf b = {0};

	if (!cJSON_IsObject(at) ||
	    (rows = keep(d, (size_t)n * sizeof(*rows))) == NULL ||
	    (labels = keep(d, (size_t)n * sizeof(*labels))) == NULL ||
	    (value = keep(d, (size_t)n * sizeof(*value))) == NULL ||
	    (name = chart_name(d, "attribution")) == NULL)
		return;
	for (int i = 0; i < n; i++)
		rows[i] = (importance_row){.f = by_loss[i].f, .at = i,
		    .mean = num(by_loss[i].f, "mean_abs_attribution")};
	qsort(rows, (size_t)n, sizeof(*rows), importance_order);
	for (int i = 0; i < n; i++) {
		labels[i] = str(rows[i].f, "feature");
		value[i] = rows[i].mean;
	}
	snprintf(note, sizeof(note), "%d feature%s, most first; over %.0f rows, "
	    "%.0f quadrature steps", n, n == 1 ? "" : "s",
	    isfinite(num(at, "rows")) ? num(at, "rows") : 0,
	    isfinite(num(at, "steps")) ? num(at, "steps") : 0);
	tp_svg_series s = {.name = "mean |attribution|", .y = value,
	    .n = (size_t)n, .color = 1};
	tp_svg_chart c = {.name = name, .title = "Mean absolute attribution",
	    .note = note, .ylabel = "log-odds moved from the reference",
	    .height = 300};
	tp_svg_bars(&b, &c, labels, n, &s, 1);
	chart_add(d, name, &b);
}

/* The evaluation's "importance", when it has it: the mean AUC lost per
 * feature as bars, most first, and a table with their spread. */
static void
importance(doc *d, const cJSON *ev, const char *src)
{
	static const char *const keys[] = {"mean", "std",
	    "mean_abs_attribution"};
	const cJSON *imp, *feats, *f;
	importance_row *rows;
	const char **labels;
	double *mean;
	int n = 0;
	char note[200], *name;
	tp_svg_buf b = {0};

	if ((feats = member_rows(d, ev, "importance", "features", "feature",
	    keys, sizeof(keys) / sizeof(keys[0]), src, &imp)) == NULL)
		return;
	int len = cJSON_GetArraySize(feats);
	if ((rows = keep(d, (size_t)len * sizeof(*rows))) == NULL ||
	    (labels = keep(d, (size_t)len * sizeof(*labels))) == NULL ||
	    (mean = keep(d, (size_t)len * sizeof(*mean))) == NULL)
		return;
	cJSON_ArrayForEach(f, feats) {
		rows[n] = (importance_row){.f = f, .at = n, .mean = num(f, "mean")};
		n++;
	}
	qsort(rows, (size_t)n, sizeof(*rows), importance_order);
	for (int i = 0; i < n; i++) {
		labels[i] = str(rows[i].f, "feature");
		mean[i] = rows[i].mean;
	}
	S("<h3>Permutation importance</h3>\n<p>The ROC AUC ");
	put_num(&d->h, num(imp, "auc"), 4);
	S(" of the rows as they are, less that with one feature's values "
	    "shuffled among the rows: the mean over ");
	put_count(&d->h, num(imp, "repeats"));
	S(" shuffles (seed ");
	put_count(&d->h, num(imp, "seed"));
	S("), and their standard deviation. It says what the model uses, not "
	    "what causes default; a loss below 0 is chance.");
	if (cJSON_IsObject(get(imp, "attribution"))) {
		const cJSON *at = get(imp, "attribution");
		S(" Beside it, the mean absolute attribution: how far the feature "
		    "moves a row's log-odds from the reference applicant's "
		    "(integrated gradients over ");
		put_count(&d->h, num(at, "rows"));
		S(" rows; their contributions miss the change they explain by ");
		put_num(&d->h, num(at, "gap_mean"), 4);
		S(" on average, of a mean change of ");
		put_num(&d->h, num(at, "mean_change"), 4);
		S(").");
	}
	S("</p>\n<div class=\"charts\">\n");
	if ((name = chart_name(d, "importance")) == NULL)
		return;
	snprintf(note, sizeof(note), "%d feature%s, most first; mean over %.0f "
	    "shuffles, the spread in the table", n, n == 1 ? "" : "s",
	    isfinite(num(imp, "repeats")) ? num(imp, "repeats") : 0);
	tp_svg_series s = {.name = "mean ROC AUC lost", .y = mean, .n = (size_t)n,
	    .color = 0};
	tp_svg_chart c = {.name = name, .title = "Permutation importance",
	    .note = note, .ylabel = "ROC AUC lost when shuffled", .height = 300};
	tp_svg_bars(&b, &c, labels, n, &s, 1);
	chart_add(d, name, &b);
	attribution(d, imp, rows, n);
	S("</div>\n");
	/* The last column, the attributions', only where they were measured. */
	size_t ncolumns = NCOLUMNS(importance_columns) -
	    (cJSON_IsObject(get(imp, "attribution")) ? 0 : 1);
	table_open(d, importance_columns, ncolumns);
	for (int i = 0; i < n; i++)
		table_row(d, importance_columns, ncolumns, rows[i].f);
	S("</table>\n");
}

/* A group's impact ratio, marked when it is under four-fifths. */
static void
write_impact_ratio(doc *d, const cJSON *group)
{
	int adverse = cJSON_IsTrue(get(group, "adverse"));

	S(adverse ? "<span class=\"bad\">" : "");
	put_num(&d->h, num(group, "impact_ratio"), 3);
	S(adverse ? "</span>" : "");
}

/* A group's name, marked when it has too few rows to be compared. */
static void
write_group_name(doc *d, const cJSON *group)
{
	E(str_or(group, "group", "?"));
	if (cJSON_IsTrue(get(group, "small")))
		S(" <span class=\"muted\">(small)</span>");
}

static const column fairness_columns[] = {
	{.header = "group", .format = CELL_CUSTOM, .write = write_group_name},
	NUMBER_COLUMN("rows", "rows", CELL_COUNT, 0),
	NUMBER_COLUMN("positives", "positives", CELL_COUNT, 0),
	NUMBER_COLUMN("ROC AUC", "auc", CELL_NUMBER, 4),
	NUMBER_COLUMN("approval rate", "approval_rate", CELL_PERCENT, 1),
	{.header = "impact ratio", .format = CELL_CUSTOM, .align = ALIGN_NUMBER,
	    .write = write_impact_ratio},
	{.header = "under 4/5", .key = "adverse", .format = CELL_FLAG, .bad = 1},
	NUMBER_COLUMN("TPR", "tpr", CELL_PERCENT, 1),
	NUMBER_COLUMN("FPR", "fpr", CELL_PERCENT, 1),
	NUMBER_COLUMN("mean predicted", "mean_predicted", CELL_NUMBER, 4),
	NUMBER_COLUMN("observed rate", "observed_rate", CELL_NUMBER, 4),
};

/* The approval rate (or another member) of the group named name. */
static double
group_measure(const cJSON *groups, const char *name, const char *key)
{
	const cJSON *g;

	cJSON_ArrayForEach(g, groups)
		if (name && str(g, "group") && strcmp(str(g, "group"), name) == 0)
			return num(g, key);
	return NAN;
}

/* The evaluation's "fairness", when it has it: approval and true
 * positive rates by group as grouped bars, a table of each group's
 * measures with those under four-fifths marked, and what they add to.
 * The small groups, which are not compared, say their rows in their
 * labels and are marked in the table. A report from before
 * "min_group_rows" names its reference "most_approved" only. */
static void
fairness(doc *d, const cJSON *ev, const char *src)
{
	static const char *const keys[] = {"rows", "positives", "auc",
	    "approval_rate", "impact_ratio", "tpr", "fpr", "mean_predicted",
	    "observed_rate"};
	const cJSON *fair, *groups, *g;
	const char **labels;
	double *approval, *tpr;
	int n = 0, small = 0;
	char note[300], *name;
	tp_svg_buf b = {0};

	if ((groups = member_rows(d, ev, "fairness", "groups", "group", keys,
	    sizeof(keys) / sizeof(keys[0]), src, &fair)) == NULL)
		return;
	int len = cJSON_GetArraySize(groups);
	if ((labels = keep(d, (size_t)len * sizeof(*labels))) == NULL ||
	    (approval = keep(d, (size_t)len * sizeof(double))) == NULL ||
	    (tpr = keep(d, (size_t)len * sizeof(double))) == NULL)
		return;
	cJSON_ArrayForEach(g, groups) {
		labels[n] = str(g, "group");
		if (cJSON_IsTrue(get(g, "small"))) {
			char count[32], *label;
			size_t size;
			small++;
			snprintf(count, sizeof(count), " (%.0f row%s)", num(g, "rows"),
			    num(g, "rows") == 1 ? "" : "s");
			size = strlen(labels[n]) + strlen(count) + 1;
			if ((label = keep(d, size)) == NULL)
				return;
			snprintf(label, size, "%s%s", labels[n], count);
			labels[n] = label;
		}
		approval[n] = num(g, "approval_rate");
		tpr[n] = num(g, "tpr");
		n++;
	}
	const char *most = get(fair, "reference") ? str(fair, "reference") :
	    str(fair, "most_approved");
	const char *high = str(fair, "tpr_highest"), *low = str(fair,
	    "tpr_lowest");
	double gap = num(fair, "tpr_gap"), four = num(fair, "four_fifths");
	double least = num(fair, "min_group_rows");
	double top = group_measure(groups, most, "approval_rate");
	int adverse = 0;
	cJSON_ArrayForEach(g, groups)
		adverse += cJSON_IsTrue(get(g, "adverse"));
	if (!isfinite(four))
		four = 0.8;
	S("<h3>By group</h3>\n<p>By <code>");
	E(str_or(fair, "column", "?"));
	S("</code>, ");
	P("%d group%s; a row is approved when its probability is below the "
	    "threshold ", n, n == 1 ? "" : "s");
	put_num(&d->h, num(fair, "threshold"), 4);
	if (num(fair, "ungrouped") > 0) {
		S(", and ");
		put_count(&d->h, num(fair, "ungrouped"));
		S(" rows of no group are left out");
	}
	S(". ");
	if (small > 0) {
		S("Only groups of ");
		put_count(&d->h, least);
		P(" rows or more are compared: %d group%s of fewer, whose rates "
		    "are mostly chance, %s listed but never the reference, never "
		    "flagged, and not in the gap of true positive rates. ", small,
		    small == 1 ? "" : "s", small == 1 ? "is" : "are");
	}
	if (most == NULL && small == n)
		S("No group has that many rows: none is the reference, and none "
		    "is flagged. ");
	else {
		S("The most approved group is <b>");
		E(most ? most : DASH);
		S("</b> (");
		put_pct(&d->h, top, 1);
		S(" approved). ");
		if (adverse > 0)
			P("<span class=\"bad\">%d group%s fall%s under four-fifths</span>",
			    adverse, adverse == 1 ? "" : "s", adverse == 1 ? "s" : "");
		else
			S("<span class=\"ok\">No group falls under four-fifths</span>");
		S(" of its approval rate (an impact ratio under ");
		put_num(&d->h, four, 2);
		S("). ");
	}
	if (isfinite(gap) && high && low) {
		S("The largest gap in true positive rates is ");
		put_num(&d->h, gap, 3);
		S(", between <b>");
		E(high);
		S("</b> (");
		put_pct(&d->h, group_measure(groups, high, "tpr"), 1);
		S(") and <b>");
		E(low);
		S("</b> (");
		put_pct(&d->h, group_measure(groups, low, "tpr"), 1);
		S(").");
	} else
		P("There is no gap in true positive rates: fewer than two groups "
		    "%shave positives.", small > 0 ? "compared " : "");
	S(" The rates describe this model on these rows, not the groups.</p>\n"
	    "<div class=\"charts\">\n");
	if ((name = chart_name(d, "fairness")) == NULL)
		return;
	snprintf(note, sizeof(note), "approved: p below %.4f; grey line: "
	    "four-fifths of the reference's approval rate%s",
	    num(fair, "threshold"), small > 0 ? "; (n rows): too few to compare" :
	    "");
	tp_svg_series s[2] = {
		{.name = "approval rate", .y = approval, .n = (size_t)n, .color = 0},
		{.name = "true positive rate", .y = tpr, .n = (size_t)n, .color = 1},
	};
	tp_svg_chart c = {.name = name, .title = "Approval and true positive "
	    "rates by group", .note = note, .ylabel = "share of the group's rows",
	    .ymin = 0, .ymax = 1, .ypercent = 1, .height = 300,
	    .has_hline = isfinite(top), .hline = four * top};
	tp_svg_bars(&b, &c, labels, n, s, 2);
	chart_add(d, name, &b);
	S("</div>\n");
	table_of(d, fairness_columns, NCOLUMNS(fairness_columns), groups);
	S("<p class=\"muted\">Impact ratio: the group's approval rate over the "
	    "reference's, the most approved group of ");
	if (isfinite(least)) {
		put_count(&d->h, least);
		S(" rows or more");
	} else
		S("any size");
	S("; TPR and FPR: the shares of its positives and "
	    "negatives declined (p at or above the threshold).</p>\n");
}

static void
section_performance(doc *d)
{
	const cJSON *ev = d->in->evaluation[d->subject].json;
	const char *src = d->in->evaluation[d->subject].source;
	const cJSON *model = get(ev, "model");
	char note[200];

	if (d->in->nevaluations == 0)
		return;
	S("<section id=\"performance\">\n<h2>Performance</h2>\n<p>");
	data_note(ev, note, sizeof(note));
	E(note);
	S(" of ");
	put_count(&d->h, num(ev, "rows"));
	S(" rows, from <code>");
	E(src);
	S("</code>");
	if (str(model, "sha256")) {
		S("; model ");
		put_code(d, str(model, "sha256"));
	}
	if (str(ev, "data_fingerprint")) {
		S(", data ");
		put_code(d, str(ev, "data_fingerprint"));
	}
	S(".");
	if (d->in->nevaluations == 2) {
		S(" The measures are the ");
		S(d->subject ? "challenger" : "champion");
		S("'s, this document's model; the curves show the champion and "
		    "the challenger on the same axes; the histogram, the KS curve "
		    "and the confusion matrix are the ");
		S(d->subject ? "challenger" : "champion");
		S("'s.");
	}
	S("</p>\n<table class=\"metrics\">\n");
	for (size_t i = 0; i < sizeof(measures) / sizeof(measures[0]); i++) {
		row_head(d, measures[i].name);
		measure_cell(d, num(ev, measures[i].key), measures[i].dec, 0, 0);
		S("</tr>\n");
	}
	S("</table>\n<div class=\"charts\">\n");
	tp_svg_chart roc = {.title = "ROC curve", .xlabel = "false positive rate",
	    .ylabel = "true positive rate", .xmin = 0, .xmax = 1, .ymin = 0,
	    .ymax = 1, .diagonal = 1};
	curves(d, "roc", "roc", "fpr", "tpr", "auc", "AUC", &roc, 0, 0);
	tp_svg_chart pr = {.title = "Precision and recall", .xlabel = "recall",
	    .ylabel = "precision", .xmin = 0, .xmax = 1, .ymin = 0, .ymax = 1};
	if (isfinite(num(ev, "positives")) && num(ev, "labelled") > 0) {
		pr.has_hline = 1;
		pr.hline = num(ev, "positives") / num(ev, "labelled");
	}
	curves(d, "pr", "pr", "recall", "precision", "pr_auc", "AP", &pr, 0, 0);
	tp_svg_chart cal = {.title = "Calibration", .xlabel = "mean predicted "
	    "probability in the bin", .ylabel = "observed positive rate",
	    .xmin = 0, .xmax = 1, .ymin = 0, .ymax = 1, .diagonal = 1};
	curves(d, "calibration", "calibration", "mean_predicted", "observed_rate",
	    NULL, NULL, &cal, 1, 0);
	score_histogram(d, ev, src);
	ks_chart(d, ev, src);
	gains_charts(d);
	confusion_chart(d, ev);
	S("</div>\n");
	const cJSON *bins = array(d, ev, "calibration", src);
	if (bins != NULL && cJSON_GetArraySize(bins) > 0) {
		S("<details><summary>Calibration bins</summary>\n");
		table_of(d, calibration_columns, NCOLUMNS(calibration_columns), bins);
		S("</details>\n");
	}
	const cJSON *gains = array(d, ev, "gains", src);
	if (gains != NULL && cJSON_GetArraySize(gains) > 0) {
		S("<h3>Gains table</h3>\n");
		table_of(d, gains_columns, NCOLUMNS(gains_columns), gains);
	}
	importance(d, ev, src);
	fairness(d, ev, src);
	S("</section>\n");
}

/* The header of the measures side by side (the rows are the measures). */
static const column champion_columns[] = {
	{.header = "measure"},
	{.header = "champion", .align = ALIGN_NUMBER},
	{.header = "challenger", .align = ALIGN_NUMBER},
	{.header = "challenger &#8722; champion", .align = ALIGN_NUMBER},
};

static void
section_champion(doc *d)
{
	const cJSON *a = d->in->evaluation[0].json, *b = d->in->evaluation[1].json;
	const char *fa = str(a, "data_fingerprint"), *fb = str(b,
	    "data_fingerprint");

	if (d->in->nevaluations != 2)
		return;
	S("<section id=\"champion\">\n<h2>Champion and challenger</h2>\n<p>"
	    "Champion: <code>");
	E(d->in->evaluation[0].source);
	S("</code>; challenger: <code>");
	E(d->in->evaluation[1].source);
	S("</code>. ");
	if (fa && fb && strcmp(fa, fb) == 0)
		S("Both were evaluated on the same data.");
	else
		S("<span class=\"bad\">They were evaluated on different data: the "
		    "comparison is not like for like.</span>");
	S(" The better value of each measure is in bold.</p>\n<table class=\""
	    "metrics\">\n");
	table_head(d, champion_columns, NCOLUMNS(champion_columns));
	for (size_t i = 0; i < sizeof(measures) / sizeof(measures[0]); i++) {
		double x = num(a, measures[i].key), y = num(b, measures[i].key);
		int h = measures[i].higher, wa = 0, wb = 0;
		if (h >= 0 && isfinite(x) && isfinite(y) && x != y) {
			wa = h ? x > y : x < y;
			wb = !wa;
		}
		row_head(d, measures[i].name);
		measure_cell(d, x, measures[i].dec, wa, 0);
		measure_cell(d, y, measures[i].dec, wb, 0);
		measure_cell(d, y - x, measures[i].dec, 0, 1);
		S("</tr>\n");
	}
	row_head(d, "rows");
	S("<td class=\"n\">");
	put_count(&d->h, num(a, "rows"));
	S("</td><td class=\"n\">");
	put_count(&d->h, num(b, "rows"));
	S("</td><td></td></tr>\n</table>\n</section>\n");
}

/* ---- drift ---- */

typedef struct {
	const cJSON *stat;
	int score;
	int rank;              /* 2 significant, 1 moderate, 0 none */
	double psi;
} drift_row;

static int
drift_order(const void *pa, const void *pb)
{
	const drift_row *a = pa, *b = pb;
	double x = isfinite(a->psi) ? a->psi : -1, y = isfinite(b->psi) ?
	    b->psi : -1;
	int da = cJSON_IsTrue(get(a->stat, "drift")), db =
	    cJSON_IsTrue(get(b->stat, "drift"));

	if (da != db)
		return db - da;
	if (a->rank != b->rank)
		return b->rank - a->rank;
	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(str_or(a->stat, "name", ""), str_or(b->stat, "name", ""));
}

static void
drift_chart(doc *d, const drift_row *r, const char *source)
{
	const cJSON *h = get(r->stat, "histogram"), *lab;
	const char *name = str_or(r->stat, "name", "?");
	size_t nr, nc, nl;
	double *ref, *cur;
	char title[300], note[200], base[300], *cname, a[32], b2[32];
	tp_svg_buf b = {0};

	if (h == NULL || cJSON_IsNull(h))
		return;
	if (!cJSON_IsObject(h)) {
		bad(d, source, "%s's \"histogram\" is not an object", name);
		return;
	}
	const cJSON *al = array(d, h, "labels", source), *ar = array(d, h,
	    "reference", source), *ac = array(d, h, "current", source);
	if (al == NULL || ar == NULL || ac == NULL) {
		bad(d, source, "%s's histogram lacks its labels or shares", name);
		return;
	}
	if ((ref = numbers(d, ar, "histogram.reference", source, &nr)) == NULL ||
	    (cur = numbers(d, ac, "histogram.current", source, &nc)) == NULL)
		return;
	nl = (size_t)cJSON_GetArraySize(al);
	if (nr != nl || nc != nl) {
		bad(d, source, "%s's histogram: %zu labels, %zu reference and %zu "
		    "current shares", name, nl, nr, nc);
		return;
	}
	const char **labels = keep(d, (nl ? nl : 1) * sizeof(char *));
	size_t i = 0;
	if (labels == NULL)
		return;
	cJSON_ArrayForEach(lab, al) {
		if (!cJSON_IsString(lab)) {
			bad(d, source, "%s's histogram: label %zu is not text", name, i);
			return;
		}
		labels[i++] = lab->valuestring;
	}
	snprintf(base, sizeof(base), "drift-%s", name);
	if ((cname = chart_name(d, base)) == NULL)
		return;
	snprintf(title, sizeof(title), "%s%s: PSI %.3f (%s)", name,
	    r->score ? " (the model's score)" : "", r->psi,
	    str_or(r->stat, "level", "?"));
	snprintf(note, sizeof(note), "reference %s rows, current %s rows%s",
	    count_text(a, sizeof(a), num(r->stat, "reference_rows")),
	    count_text(b2, sizeof(b2), num(r->stat, "current_rows")),
	    cJSON_IsTrue(get(r->stat, "drift")) ? "; drifts" : "");
	tp_svg_series s[2] = {
		{.name = "reference", .y = ref, .n = nl, .color = 0},
		{.name = "current", .y = cur, .n = nl, .color = 1},
	};
	tp_svg_chart c = {.name = cname, .title = title, .note = note,
	    .ylabel = "share of rows", .ypercent = 1, .height = 300};
	tp_svg_bars(&b, &c, labels, (int)nl, s, 2);
	chart_add(d, cname, &b);
}

/* A feature's name; the model's score, compared as a feature is, says
 * it is. */
static void
write_drift_name(doc *d, const cJSON *stat)
{
	E(str_or(stat, "name", ""));
	if (stat == get(d->in->drift.json, "score"))
		S(" (score)");
}

static double
missing_share(const cJSON *stat, const char *missing, const char *rows)
{
	return num(stat, rows) > 0 ? num(stat, missing) / num(stat, rows) : NAN;
}

static void
write_missing_shares(doc *d, const cJSON *stat)
{
	put_pct(&d->h, missing_share(stat, "reference_missing",
	    "reference_rows"), 1);
	S(", ");
	put_pct(&d->h, missing_share(stat, "current_missing", "current_rows"),
	    1);
}

static const column drift_columns[] = {
	{.header = "feature", .format = CELL_CUSTOM, .write = write_drift_name},
	TEXT_COLUMN("kind", "kind"),
	TEXT_COLUMN("level", "level"),
	NUMBER_COLUMN("PSI", "psi", CELL_NUMBER, 4),
	NUMBER_COLUMN("KS", "ks", CELL_NUMBER, 4),
	NUMBER_COLUMN("KS p", "ks_p", CELL_NUMBER, 4),
	NUMBER_COLUMN("&#967;&#178; p", "chi2_p", CELL_NUMBER, 4),
	NUMBER_COLUMN("JS", "js", CELL_NUMBER, 4),
	{.header = "missing (ref., cur.)", .format = CELL_CUSTOM,
	    .align = ALIGN_NUMBER, .write = write_missing_shares},
	{.header = "drifts", .key = "drift", .format = CELL_FLAG, .bad = 1},
};

/* A sample of drift's: its source (or since when) and its rows. */
static void
drift_sample(doc *d, const cJSON *sample)
{
	S("<code>");
	E(str_or(sample, "source", str_or(sample, "since", "?")));
	S("</code>, ");
	put_count(&d->h, num(sample, "rows"));
	S(" rows");
}

static void
section_drift(doc *d)
{
	const cJSON *j = d->in->drift.json, *f;
	const char *src = d->in->drift.source;
	const cJSON *feats, *score = get(j, "score"), *t = get(j, "thresholds");
	drift_row *rows;
	int n = 0, drifting = 0;

	if (j == NULL)
		return;
	if ((feats = array(d, j, "features", src)) == NULL)
		return;
	rows = keep(d, (size_t)(cJSON_GetArraySize(feats) + 1) * sizeof(*rows));
	if (rows == NULL)
		return;
	cJSON_ArrayForEach(f, feats) {
		if (!cJSON_IsObject(f) || str(f, "name") == NULL) {
			bad(d, src, "features[%d] is not a feature's object", n);
			return;
		}
		rows[n++] = (drift_row){.stat = f};
	}
	if (cJSON_IsObject(score))
		rows[n++] = (drift_row){.stat = score, .score = 1};
	for (int i = 0; i < n; i++) {
		const char *lv = str(rows[i].stat, "level");
		rows[i].rank = lv == NULL ? 0 : strcmp(lv, "significant") == 0 ? 2 :
		    strcmp(lv, "moderate") == 0;
		rows[i].psi = num(rows[i].stat, "psi");
		drifting += cJSON_IsTrue(get(rows[i].stat, "drift"));
	}
	qsort(rows, (size_t)n, sizeof(*rows), drift_order);
	const cJSON *ref = get(j, "reference"), *cur = get(j, "current");
	S("<section id=\"drift\">\n<h2>Drift</h2>\n<p>");
	if (cJSON_IsTrue(get(j, "drift")))
		P("<span class=\"bad\">Drift: %d of %d compared drift%s.</span>",
		    drifting, n, drifting == 1 ? "s" : "");
	else
		P("<span class=\"ok\">No drift</span> in the %d compared.", n);
	S(" Reference: ");
	drift_sample(d, ref);
	S("; current: ");
	drift_sample(d, cur);
	S(". PSI from ");
	put_num(&d->h, num(t, "psi_moderate"), 2);
	S(" is moderate, from ");
	put_num(&d->h, num(t, "psi_significant"), 2);
	S(" significant; a feature drifts when significant, or moderate with "
	    "its test's p-value under ");
	put_num(&d->h, num(t, "alpha"), 2);
	S(". From <code>");
	E(src);
	S("</code>; most severe first.</p>\n");
	table_open(d, drift_columns, NCOLUMNS(drift_columns));
	for (int i = 0; i < n; i++)
		table_row(d, drift_columns, NCOLUMNS(drift_columns), rows[i].stat);
	S("</table>\n<div class=\"charts\">\n");
	for (int i = 0; i < n && !d->failed; i++)
		drift_chart(d, &rows[i], src);
	S("</div>\n</section>\n");
}

/* ---- data quality ---- */

static void
write_check_limit(doc *d, const cJSON *check)
{
	E(str_or(check, "limit", ""));
	S(" ");
	put_value(&d->h, num(check, "threshold"));
}

static const column check_columns[] = {
	{.header = "check", .key = "check", .format = CELL_TEXT,
	    .fallback = "?"},
	TEXT_COLUMN("column", "column"),
	NUMBER_COLUMN("value", "value", CELL_VALUE, 0),
	{.header = "limit", .format = CELL_CUSTOM, .align = ALIGN_NUMBER,
	    .write = write_check_limit},
	{.header = "passed", .key = "passed", .format = CELL_FLAG, .bad = 0},
};

/* A column's name, and whether it never changes: of no use to a model. */
static void
write_column_name(doc *d, const cJSON *col)
{
	E(str_or(col, "name", "?"));
	if (cJSON_IsTrue(get(col, "constant")))
		S(" <span class=\"bad\">(constant)</span>");
}

static const column profile_columns[] = {
	{.header = "column", .format = CELL_CUSTOM, .write = write_column_name},
	TEXT_COLUMN("kind", "kind"),
	NUMBER_COLUMN("present", "count", CELL_COUNT, 0),
	NUMBER_COLUMN("missing", "missing_rate", CELL_PERCENT, 1),
	NUMBER_COLUMN("unseen", "unseen_rate", CELL_PERCENT, 1),
	NUMBER_COLUMN("categories", "categories", CELL_COUNT, 0),
	NUMBER_COLUMN("min", "min", CELL_STAT, 0),
	NUMBER_COLUMN("mean", "mean", CELL_STAT, 0),
	NUMBER_COLUMN("max", "max", CELL_STAT, 0),
	NUMBER_COLUMN("std", "std", CELL_STAT, 0),
	NUMBER_COLUMN("AUC alone", "auc", CELL_NUMBER, 3),
};

static void
section_quality(doc *d)
{
	const cJSON *j = d->in->validation.json, *c;
	const char *src = d->in->validation.source;
	const cJSON *cb = get(j, "class_balance"), *dup = get(j, "duplicates");
	const cJSON *checks, *cols;

	if (j == NULL)
		return;
	if ((checks = array(d, j, "checks", src)) == NULL ||
	    (cols = array(d, j, "columns", src)) == NULL)
		return;
	S("<section id=\"quality\">\n<h2>Data quality</h2>\n<p>");
	S(cJSON_IsTrue(get(j, "passed")) ? "<span class=\"ok\">Every check "
	    "passed</span>" : "<span class=\"bad\">A check failed</span>");
	S(" on ");
	put_count(&d->h, num(j, "rows"));
	S(" rows of <code>");
	E(src);
	S("</code>. Classes: ");
	put_count(&d->h, num(cb, "positive"));
	S(" positive, ");
	put_count(&d->h, num(cb, "negative"));
	S(" negative, ");
	put_count(&d->h, num(cb, "unlabelled"));
	S(" unlabelled (positive rate ");
	put_pct(&d->h, num(cb, "positive_rate"), 1);
	S("); duplicate rows: ");
	put_count(&d->h, num(dup, "rows"));
	S(" (");
	put_pct(&d->h, num(dup, "rate"), 2);
	S(").</p>\n");
	/* The failed checks in sight, the passed ones folded. */
	int npassed = 0, nfailed = 0;
	cJSON_ArrayForEach(c, checks) {
		if (cJSON_IsTrue(get(c, "passed")))
			npassed++;
		else
			nfailed++;
	}
	for (int pass = 0; pass < 2; pass++) {
		if ((pass ? npassed : nfailed) == 0)
			continue;
		if (pass)
			P("<details><summary>%d check%s passed</summary>\n", npassed,
			    npassed == 1 ? "" : "s");
		else
			P("<h3>Failed checks</h3>\n");
		table_open(d, check_columns, NCOLUMNS(check_columns));
		cJSON_ArrayForEach(c, checks)
			if (cJSON_IsTrue(get(c, "passed")) == pass)
				table_row(d, check_columns, NCOLUMNS(check_columns), c);
		S(pass ? "</table>\n</details>\n" : "</table>\n");
	}
	S("<h3>Columns</h3>\n");
	table_of(d, profile_columns, NCOLUMNS(profile_columns), cols);
	S("<p class=\"muted\">AUC alone: the column's own ROC AUC "
	    "against the target (the larger of AUC and 1 &#8722; AUC); near 1 is "
	    "a sign of leakage.</p>\n</section>\n");
}

/* ---- the registry ---- */

static const column version_columns[] = {
	NUMBER_COLUMN("version", "version", CELL_COUNT, 0),
	TEXT_COLUMN("stage", "stage"),
	{.header = "registered (UTC)", .key = "created", .format = CELL_TEXT,
	    .align = ALIGN_TIME},
	{.header = "SHA-256", .key = "sha256", .format = CELL_CODE},
	NUMBER_COLUMN("validation AUC", "valid_auc", CELL_NUMBER, 4),
	NUMBER_COLUMN("evaluation AUC", "eval_auc", CELL_NUMBER, 4),
};

static const column change_columns[] = {
	{.header = "when (UTC)", .key = "changed", .format = CELL_TEXT,
	    .align = ALIGN_TIME},
	NUMBER_COLUMN("version", "version", CELL_COUNT, 0),
	TEXT_COLUMN("from", "from"),
	TEXT_COLUMN("to", "to"),
	TEXT_COLUMN("who", "user"),
	TEXT_COLUMN("why", "reason"),
};

static void
section_registry(doc *d)
{
	const cJSON *reg = d->in->registry;
	const cJSON *versions = get(reg, "versions"), *changes = get(reg,
	    "changes");
	const char *src = "the registry";

	if (reg == NULL)
		return;
	S("<section id=\"registry\">\n<h2>Registry history</h2>\n<p>");
	E(str_or(get(reg, "version"), "name", "?"));
	P(": %d version%s, %d stage change%s.</p>\n",
	    cJSON_GetArraySize(versions), cJSON_GetArraySize(versions) == 1 ?
	    "" : "s", cJSON_GetArraySize(changes),
	    cJSON_GetArraySize(changes) == 1 ? "" : "s");
	int n = cJSON_GetArraySize(versions);
	if (n > 0) {
		double *ver, *eauc, *vauc;
		size_t m;
		if (points(d, reg, "versions", "version", "eval_auc", src, &ver,
		    &eauc, &m) != TP_OK || points(d, reg, "versions", "version",
		    "valid_auc", src, &ver, &vauc, &m) != TP_OK)
			return;
		tp_svg_series s[2];
		int ns = 0, ae = 0, av = 0;
		for (size_t i = 0; i < m; i++) {
			ae |= isfinite(eauc[i]);
			av |= isfinite(vauc[i]);
		}
		if (ae)
			s[ns++] = (tp_svg_series){.name = "newest evaluation's AUC",
			    .x = ver, .y = eauc, .n = m, .color = 0,
			    .style = TP_SVG_LINE | TP_SVG_MARKERS};
		if (av)
			s[ns++] = (tp_svg_series){.name = "validation AUC at training",
			    .x = ver, .y = vauc, .n = m, .color = 2,
			    .style = TP_SVG_LINE | TP_SVG_MARKERS | TP_SVG_DASHED};
		if (ns > 0) {
			char *name = chart_name(d, "registry-auc"), note[64];
			tp_svg_buf b = {0};
			if (name == NULL)
				return;
			snprintf(note, sizeof(note), "%d version%s, in the order "
			    "registered", n, n == 1 ? "" : "s");
			tp_svg_chart c = {.name = name, .title = "AUC by version",
			    .note = note, .xlabel = "version", .ylabel = "ROC AUC",
			    .xinteger = 1};
			if (m == 1) {
				c.xmin = ver[0] - 1;
				c.xmax = ver[0] + 1;
			}
			S("<div class=\"charts\">\n");
			tp_svg_lines(&b, &c, s, ns);
			chart_add(d, name, &b);
			S("</div>\n");
		}
		table_of(d, version_columns, NCOLUMNS(version_columns), versions);
	}
	S("<h3>Stage changes</h3>\n");
	if (cJSON_GetArraySize(changes) == 0)
		S("<p class=\"muted\">None yet.</p>\n");
	else
		table_of(d, change_columns, NCOLUMNS(change_columns), changes);
	S("</section>\n");
}

/* ---- the document ---- */

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,"
    "Arial,sans-serif;color:#222;background:#fff;max-width:1180px;margin:0 "
    "auto;padding:12px 24px 40px;line-height:1.45;font-size:15px}\n"
    "h1{font-size:26px;margin:12px 0 4px}\n"
    "h2{font-size:20px;margin:36px 0 10px;padding-bottom:4px;border-bottom:"
    "2px solid #0072B2}\n"
    "h3{font-size:16px;margin:20px 0 6px}\n"
    "nav{margin:6px 0 10px;font-size:14px}nav a{margin-right:14px;color:"
    "#0072B2}\n"
    "table{border-collapse:collapse;margin:8px 0 12px;font-size:14px}\n"
    "th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;"
    "vertical-align:top}\n"
    "th{font-weight:600;background:#f4f6f8}table.kv th{width:11em}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;"
    "word-break:break-all}\n"
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax("
    "440px,1fr));gap:14px;margin:10px 0}\n"
    "figure{margin:0}svg.chart{display:block;width:100%;height:auto;border:"
    "1px solid #e2e2e2;border-radius:3px}\n"
    ".bad{color:#B34700;font-weight:600}.ok{color:#007A5A;font-weight:600}\n"
    "tr.drifts td{background:#fff1e6}\n"
    ".muted{color:#666}td.t{white-space:nowrap}\n"
    ".summary{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}\n"
    ".summary div{border:1px solid #ccd;border-radius:4px;padding:6px 14px;"
    "min-width:7em}\n"
    ".summary b{display:block;font-size:22px}\n"
    ".notes{white-space:pre-wrap;background:#f6f6f6;border-left:4px solid "
    "#0072B2;padding:8px 12px}\n"
    "footer{margin-top:40px;color:#666;font-size:13px}\n"
    "@page{size:A4;margin:14mm}\n"
    "@media print{body{max-width:none;padding:0;font-size:10pt}"
    "nav{display:none}h2{break-after:avoid}figure,tr{break-inside:avoid}"
    ".charts{grid-template-columns:1fr 1fr;gap:4mm}svg.chart{border:none}"
    "a{color:inherit;text-decoration:none}}\n";

/* A figure of the summary: its name, then its value in bold, coloured
 * by verdict ("ok", "bad") or not (NULL); figure_close ends it. */
static void
figure_open(doc *d, const char *name, const char *verdict)
{
	P("<div>%s<b", name);
	if (verdict)
		P(" class=\"%s\"", verdict);
	S(">");
}

static void
figure_close(doc *d)
{
	S("</b></div>\n");
}

/* A figure that is a verdict: good or bad, in words. */
static void
figure_verdict(doc *d, const char *name, int good, const char *good_word,
    const char *bad_word)
{
	figure_open(d, name, good ? "ok" : "bad");
	S(good ? good_word : bad_word);
	figure_close(d);
}

/* The evaluation's figures at the top. */
static const struct {
	const char *name, *key;
	enum cell_format format;
	int decimals;
} evaluation_figures[] = {
	{"ROC AUC", "auc", CELL_NUMBER, 3}, {"Gini", "gini", CELL_NUMBER, 3},
	{"KS", "ks", CELL_NUMBER, 3}, {"rows evaluated", "labelled", CELL_COUNT, 0},
};

/* The figures at the top: what a reader wants first. */
static void
summary(doc *d)
{
	const cJSON *ev = d->in->evaluation[d->subject].json,
	    *dr = d->in->drift.json, *va = d->in->validation.json;
	const cJSON *reg = get(d->in->registry, "version");

	if (ev == NULL && dr == NULL && va == NULL && reg == NULL)
		return;
	S("<div class=\"summary\">\n");
	if (reg) {
		figure_open(d, "stage", NULL);
		E(str_or(reg, "stage", "?"));
		figure_close(d);
	}
	for (size_t i = 0; ev && i < sizeof(evaluation_figures) /
	    sizeof(evaluation_figures[0]); i++) {
		figure_open(d, evaluation_figures[i].name, NULL);
		put_number_as(&d->h, evaluation_figures[i].format,
		    evaluation_figures[i].decimals,
		    num(ev, evaluation_figures[i].key));
		figure_close(d);
	}
	if (dr)
		figure_verdict(d, "drift", !cJSON_IsTrue(get(dr, "drift")), "none",
		    "found");
	if (va)
		figure_verdict(d, "data checks", cJSON_IsTrue(get(va, "passed")),
		    "passed", "failed");
	S("</div>\n");
}

/* The evaluation that measured the model of SHA-256 sha (the card's):
 * the challenger when a report of the challenger, promoted, also shows
 * the champion it replaced; else the first. */
static int
subject_of(const tp_report_input *in, const char *sha)
{
	for (int i = 0; sha != NULL && i < in->nevaluations; i++) {
		const char *measured = str(get(in->evaluation[i].json, "model"),
		    "sha256");
		if (measured != NULL && strcmp(measured, sha) == 0)
			return i;
	}
	return 0;
}

/* One more of the footer's sources, after a comma when there is one
 * before it. */
static void
footer_source(doc *d, int *any, const char *name)
{
	S(*any ? ", <code>" : "<code>");
	E(name);
	S("</code>");
	*any = 1;
}

int
tp_report_make(tp_report *r, const tp_report_input *in, tp_err *e)
{
	doc dd = {.in = in, .out = r, .e = e}, *d = &dd;
	const cJSON *card = in->card, *reg = get(in->registry, "version");
	const char *name = str_or(reg, "name", str(card, "name"));

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < in->nevaluations; i++)
		if (tp_report_kind(in->evaluation[i].json) != TP_REPORT_EVALUATION)
			return tp_err_set(e, TP_EDATA, "%s: not a report of "
			    "tabpipe-evaluate", in->evaluation[i].source);
	d->subject = subject_of(in, str_or(card, "sha256", str(reg, "sha256")));
	if (in->validation.json && tp_report_kind(in->validation.json) !=
	    TP_REPORT_VALIDATION)
		return tp_err_set(e, TP_EDATA, "%s: not a report of "
		    "tabpipe-validate", in->validation.source);
	if (in->drift.json && tp_report_kind(in->drift.json) != TP_REPORT_DRIFT)
		return tp_err_set(e, TP_EDATA, "%s: not a report of tabpipe-drift",
		    in->drift.source);
	S("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>"
	    "\n<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"/>\n<title>");
	S("Model report");
	if (name) {
		S(": ");
		E(name);
	}
	S("</title>\n<style>\n");
	S(style);
	S("</style>\n</head>\n<body>\n<header>\n<h1>Model report");
	if (name) {
		S(": ");
		E(name);
		if (reg && isfinite(num(reg, "version")))
			P(" version %.0f", num(reg, "version"));
	}
	S("</h1>\n<nav>");
	if (card || reg || in->notes)
		S("<a href=\"#card\">Model card</a>");
	if (in->nevaluations > 0)
		S("<a href=\"#performance\">Performance</a>");
	if (in->nevaluations > 1)
		S("<a href=\"#champion\">Champion and challenger</a>");
	if (in->drift.json)
		S("<a href=\"#drift\">Drift</a>");
	if (in->validation.json)
		S("<a href=\"#quality\">Data quality</a>");
	if (in->registry)
		S("<a href=\"#registry\">Registry history</a>");
	S("</nav>\n");
	summary(d);
	S("</header>\n");
	section_card(d);
	section_performance(d);
	section_champion(d);
	section_drift(d);
	section_quality(d);
	section_registry(d);
	S("<footer>Made by ");
	E(in->generator ? in->generator : "tabpipe-report");
	S(" from ");
	{
		int any = 0;
		for (int i = 0; i < in->nevaluations; i++)
			footer_source(d, &any, in->evaluation[i].source);
		const tp_report_doc *o[] = {&in->validation, &in->drift};
		for (int i = 0; i < 2; i++)
			if (o[i]->json)
				footer_source(d, &any, o[i]->source);
		if (card)
			footer_source(d, &any, str_or(card, "path", "the model"));
		if (in->registry) {
			S(any ? " and the registry" : "the registry");
			any = 1;
		}
		if (!any)
			S("nothing: give reports, a model or a database");
	}
	S(".</footer>\n</body>\n</html>\n");
	for (size_t i = 0; i < d->nallocs; i++)
		free(d->allocs[i]);
	free(d->allocs);
	if (!d->failed && d->h.nomem)
		d->failed = tp_err_nomem(e, "the report");
	if (d->failed) {
		tp_svg_buf_free(&d->h);
		tp_report_free(r);
		return d->failed;
	}
	r->html = d->h.s;
	r->len = d->h.len;
	return TP_OK;
}

void
tp_report_free(tp_report *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->ncharts; i++) {
		free(r->charts[i].name);
		free(r->charts[i].svg);
	}
	free(r->charts);
	free(r->html);
	memset(r, 0, sizeof(*r));
}
