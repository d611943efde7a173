/*
 * gate: the conditions a model version must meet to be promoted. A gate is
 * an expression "metric operator number" ("auc>=0.70", "log_loss < 0.6")
 * over the metrics of an evaluation; this module parses gates, checks a
 * value against one, and knows the metrics that tabpipe-evaluate records
 * and which way each of them is better.
 */
#ifndef TP_GATE_H
#define TP_GATE_H

#include "base/err.h"

typedef enum {
	TP_GATE_GE, /* >= */
	TP_GATE_GT, /* >  */
	TP_GATE_LE, /* <= */
	TP_GATE_LT, /* <  */
	TP_GATE_EQ, /* == (exact: for 0 and 1) */
} tp_gate_op;

typedef struct {
	char metric[16];  /* one of the known metrics */
	tp_gate_op op;
	double threshold; /* the number on the right */
	char text[64];    /* the gate written back: "auc>=0.7" */
} tp_gate;

/* Parses expr, which may have spaces around its three parts. A syntax
 * error or an unknown metric is TP_EUSAGE with a message naming the
 * expression and the column (from 1) where it goes wrong. */
int tp_gate_parse(const char *expr, tp_gate *g, tp_err *e);

/* 1 if value meets the gate; a value that is NaN (not measured) never does. */
int tp_gate_pass(const tp_gate *g, double value);

/* ">=" and the others. */
const char *tp_gate_op_text(tp_gate_op op);

/* 1 if name is a metric of an evaluation; *lower_better (may be NULL) says
 * whether lower values are the better ones (log_loss, brier). */
int tp_gate_metric(const char *name, int *lower_better);

/* The known metrics, as "auc, gini, ...", for messages. */
const char *tp_gate_metric_names(void);

#endif
