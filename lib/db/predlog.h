/*
 * predlog: the prediction log, every prediction a scoring run or a server
 * made, kept in the predictions table, and kept on disk (the spool) while
 * the database cannot take it, so that none is lost and none is logged
 * twice.
 *
 * Rows wait in a buffer in COPY's text format, each with the time it was
 * made (predicted_at), and go to the table as one batch when enough rows
 * are waiting or the oldest has waited long enough, and when flushed. A
 * batch is numbered within its run (1, 2, ...) and sent in one
 * transaction with its row of prediction_batches: the key (run, batch)
 * lets no batch into the table twice.
 *
 * The spool. A batch that cannot be sent because the connection is lost
 * is written to the spool folder, SPOOL/DATABASE-ID/RUN-BATCH (0600, the
 * folders 0700; the database's id is tabpipe_database's), as the COPY
 * text of its rows: written to .RUN-BATCH.tmp, fsync'ed, renamed, the
 * folder fsync'ed. The connection is then tried again (PQreset) when the
 * next batch is due, but not before a backoff of 1 s after a failed try,
 * doubling to TP_PREDLOG_BACKOFF; a batch due in between goes to the spool
 * at once. On the first flush that has a connection, the spool's batches
 * of this database are sent first, oldest first, every run's (those a run
 * that ended with the database away left, too), each in its transaction
 * with its record, and removed once committed. A crash between the commit
 * and the removal leaves a batch that the next try finds recorded, and
 * only removes; two processes sending one spool take each file under an
 * flock. A spooled batch whose rows the database refuses is set aside as
 * RUN-BATCH.rejected, and said. A batch refused for its rows, or for a
 * right the role lacks, when first sent is lost, and said, as is every
 * batch when there is no spool.
 *
 * The log says what becomes of the batches through note: a failed send
 * and where its rows are kept, a reconnection, the batches sent from the
 * spool.
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
	char *spool;           /* this database's spool folder (owned), or
	                          NULL: a batch that cannot be sent is lost */
	int batch;             /* the number of the run's last batch */
	int pending;           /* the spool may hold batches to send */
	double retry_at;       /* tp_clock() before which the connection or
	                          the spool is not tried again */
	double backoff;        /* the wait after the last failed try (s) */
	uint64_t logged;       /* rows of this run sent to the table */
	uint64_t lost;         /* rows of this run dropped */
	uint64_t spooled;      /* rows of this run put in the spool */
	uint64_t replayed;     /* rows sent from the spool, of any run */
	uint64_t unsent;       /* rows of this run in the spool */
	/* Told what happened, failed set for what went wrong; may be NULL. */
	tp_note_fn *note;
	void *ctx;
} tp_predlog;

enum { TP_PREDLOG_ROWS = 1000 };
#define TP_PREDLOG_WAIT 2.0
#define TP_PREDLOG_BACKOFF 60.0

void tp_predlog_init(tp_predlog *l, tp_db *db, int64_t run);
/* Keeps the batches that cannot be sent in dir/ID, ID the database's;
 * the folders are made when a batch is first kept. The batches there are
 * sent by the next flush that has a connection. */
int tp_predlog_spool(tp_predlog *l, const char *dir, tp_err *e);
/* Frees the buffer and the spool's name, sending nothing: flush first. */
void tp_predlog_free(tp_predlog *l);
/* One prediction as the log keeps it. */
typedef struct {
	const char *model_sha256;
	int model_version;      /* the registered version; 0: none */
	int64_t id;             /* the row's id */
	float prob;
	int label;
	const char *features;   /* the request's JSON, or NULL */
	const char *request_id; /* a server's request, or NULL */
	int request_item;       /* the application's place in its request */
	double latency;         /* seconds from request to answer; < 0: none */
} tp_prediction;

/* Adds one row and sends the buffer when it is due. */
int tp_predlog_add(tp_predlog *l, const tp_prediction *p, tp_err *e);
/* Whether the log is due at time now: the buffer, or a spool or a lost
 * connection to try again; and the seconds until it will be for time's
 * sake, -1 when nothing waits. */
int tp_predlog_due(const tp_predlog *l, double now);
double tp_predlog_wait(const tp_predlog *l, double now);
/* Sends what waits: the spool's batches, then the buffer's, which goes to
 * the spool when the connection is lost (or is lost without a spool); the
 * buffer is emptied either way. A lost connection is tried again only
 * after the backoff. TP_OK when the rows are in the table or the spool;
 * otherwise they are lost, and the error says how many and why. */
int tp_predlog_flush(tp_predlog *l, tp_err *e);
/* The last flush of a run: as tp_predlog_flush, trying the connection
 * whatever the backoff says; then unsent counts the rows of this run
 * that the spool still holds, for a later run to send. */
int tp_predlog_finish(tp_predlog *l, tp_err *e);

#endif
