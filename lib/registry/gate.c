#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"
#include "registry/gate.h"

/* The metrics of tabpipe-evaluate's report that are single numbers. */
static const struct {
	const char *name;
	int lower_better;
} metrics[] = {
	{"auc", 0}, {"gini", 0}, {"ks", 0}, {"pr_auc", 0}, {"log_loss", 1},
	{"brier", 1}, {"f1", 0}, {"precision", 0}, {"recall", 0},
	{"accuracy", 0},
};
#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

/* Longest operators first, so that ">=" is not read as ">". */
static const struct {
	const char *text;
	tp_gate_op op;
} ops[] = {
	{">=", TP_GATE_GE}, {"<=", TP_GATE_LE}, {"==", TP_GATE_EQ},
	{">", TP_GATE_GT}, {"<", TP_GATE_LT},
};

int
tp_gate_metric(const char *name, int *lower_better)
{
	for (size_t i = 0; i < NMETRICS; i++)
		if (strcmp(name, metrics[i].name) == 0) {
			if (lower_better != NULL)
				*lower_better = metrics[i].lower_better;
			return 1;
		}
	return 0;
}

const char *
tp_gate_metric_names(void)
{
	return "auc, gini, ks, pr_auc, log_loss, brier, f1, precision, recall, accuracy";
}

const char *
tp_gate_op_text(tp_gate_op op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].text;
	return "?";
}

static const char *
skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* The shortest decimal text that reads back as x. */
static void
shortest(char *buf, size_t len, double x)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

int
tp_gate_parse(const char *expr, tp_gate *g, tp_err *e)
{
	const char *p = skip_spaces(expr), *start;
	char num[32];
	size_t n;

	memset(g, 0, sizeof(*g));
#define COLUMN(q) ((long)((q) - expr) + 1)
	for (start = p; is_name_char(*p); p++)
		;
	if (p == start)
		return tp_err_set(e, TP_EUSAGE, "\"%s\": column %ld: expected a "
		    "metric (%s)", expr, COLUMN(start), tp_gate_metric_names());
	n = (size_t)(p - start);
	if (n >= sizeof(g->metric)) {
		return tp_err_set(e, TP_EUSAGE, "\"%s\": column %ld: unknown "
		    "metric \"%.*s\" (the metrics are %s)", expr, COLUMN(start),
		    (int)n, start, tp_gate_metric_names());
	}
	memcpy(g->metric, start, n);
	if (!tp_gate_metric(g->metric, NULL))
		return tp_err_set(e, TP_EUSAGE, "\"%s\": column %ld: unknown "
		    "metric \"%s\" (the metrics are %s)", expr, COLUMN(start),
		    g->metric, tp_gate_metric_names());
	p = skip_spaces(p);
	size_t i;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return tp_err_set(e, TP_EUSAGE, "\"%s\": column %ld: expected an "
		    "operator (>=, >, <=, <, ==) after \"%s\"", expr, COLUMN(p),
		    g->metric);
	g->op = ops[i].op;
	p = skip_spaces(p + strlen(ops[i].text));
	for (start = p; *p != '\0' && strchr("0123456789.eE+-", *p) != NULL; p++)
		;
	n = (size_t)(p - start);
	if (n == 0 || n >= sizeof(num) ||
	    tp_parse_double(start, n, &g->threshold) < 0)
		return tp_err_set(e, TP_EUSAGE, "\"%s\": column %ld: expected a "
		    "number after \"%s\"", expr, COLUMN(start), ops[i].text);
	p = skip_spaces(p);
	if (*p != '\0')
		return tp_err_set(e, TP_EUSAGE, "\"%s\": column %ld: unexpected "
		    "\"%s\" after the number", expr, COLUMN(p), p);
#undef COLUMN
	shortest(num, sizeof(num), g->threshold);
	snprintf(g->text, sizeof(g->text), "%s%s%s", g->metric, ops[i].text, num);
	return TP_OK;
}

int
tp_gate_pass(const tp_gate *g, double value)
{
	if (isnan(value))
		return 0;
	switch (g->op) {
	case TP_GATE_GE: return value >= g->threshold;
	case TP_GATE_GT: return value > g->threshold;
	case TP_GATE_LE: return value <= g->threshold;
	case TP_GATE_LT: return value < g->threshold;
	case TP_GATE_EQ: return value == g->threshold;
	}
	return 0;
}
