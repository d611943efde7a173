/*
 * err: the status codes and the error message every library function fills.
 *
 * A library function returns TP_OK (0) or one of the status codes below, and
 * on failure writes "where: what" into a tp_err. The codes are the
 * sysexits(3) values the tools exit with, so a tool maps a status to its exit
 * code by returning it. The library never prints and never exits.
 */
#ifndef TP_ERR_H
#define TP_ERR_H

enum {
	TP_OK = 0,
	TP_NO = 1,            /* a check said no: not an error of the program */
	TP_EUSAGE = 64,       /* bad options or arguments */
	TP_EDATA = 65,        /* the input data is malformed */
	TP_ENOINPUT = 66,     /* an input cannot be opened */
	TP_EUNAVAILABLE = 69, /* a service (the database, a device) is not there */
	TP_EINTERNAL = 70,    /* a bug or an exhausted resource */
	TP_ECREAT = 73,       /* an output cannot be created */
	TP_ENOPERM = 77,      /* not allowed (a database role lacks a right) */
	TP_EIO = 74,          /* reading or writing failed */
};

typedef struct {
	int code;       /* the status of the last failure, TP_OK if none */
	char msg[1024]; /* "where: what", one line, no trailing newline */
} tp_err;

/* Fills e (which may be NULL) and returns code, so that a caller writes
 * `return tp_err_set(e, TP_EDATA, "%s:%ld: ...", ...);`. */
int tp_err_set(tp_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Puts "prefix: " in front of the message already in e and returns its code:
 * an outer layer adds the place (a file name) that an inner one did not know. */
int tp_err_prefix(tp_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The status for an allocation failure, with a message naming what. */
int tp_err_nomem(tp_err *e, const char *what);

/* What a long-running part of the library tells its caller as it goes (a
 * reload, a send that failed and went to the spool), neither a result nor
 * an error of the call: failed is set for what went wrong. */
typedef void tp_note_fn(void *ctx, int failed, const char *msg);
/* Formats a note and tells it to note (nothing when NULL), on one line:
 * libpq's messages end with a line end and may hold more. */
void tp_notef(tp_note_fn *note, void *ctx, int failed, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
