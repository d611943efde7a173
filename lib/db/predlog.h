/*
 * predlog: the prediction log, every prediction a scoring run or a server
 * made, kept in the predictions table.
 *
 * Rows wait in a buffer in COPY's text format and go to the table with one
 * COPY FROM STDIN (one statement, so one transaction) when enough rows are
 * waiting or the oldest has waited long enough, and when flushed.
 */
#ifndef TP_PREDLOG_H
#define TP_PREDLOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"

/* The prediction log. Zeroed with db set, or initialised: */
typedef struct {
	tp_db *db;             /* where the predictions table is */
	int64_t run;           /* the run the rows belong to */
	size_t max_rows;       /* send when this many rows wait */
	double max_wait;       /* or when the oldest has waited this long (s) */
	char *buf;             /* rows in COPY text format */
	size_t len, cap;       /* bytes in buf, allocated */
	size_t rows;           /* rows in buf */
	double since;          /* tp_clock() when the oldest was added */
	uint64_t logged;       /* rows sent to the table */
	uint64_t lost;         /* rows dropped by sends that failed */
} tp_predlog;

enum { TP_PREDLOG_ROWS = 1000 };
#define TP_PREDLOG_WAIT 2.0

void tp_predlog_init(tp_predlog *l, tp_db *db, int64_t run);
/* Frees the buffer, sending nothing: flush first. */
void tp_predlog_free(tp_predlog *l);
/* Adds one row (features: the request's JSON, or NULL) and sends the
 * buffer when it is due. */
int tp_predlog_add(tp_predlog *l, const char *model_sha256, int64_t id,
    float prob, int label, const char *features, tp_err *e);
/* Whether the buffer is due at time now; and the seconds until it will be
 * for its age, -1 when it is empty. */
int tp_predlog_due(const tp_predlog *l, double now);
double tp_predlog_wait(const tp_predlog *l, double now);
/* Sends the rows buffered, if any. On failure they are dropped (the buffer
 * is emptied either way) and the error says how many. */
int tp_predlog_flush(tp_predlog *l, tp_err *e);

#endif
