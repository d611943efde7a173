#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

int
tp_err_set(tp_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
tp_err_prefix(tp_err *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;

	if (e == NULL)
		return TP_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	size_t n = strlen(prefix);
	if (n > sizeof(e->msg) - 3)
		n = sizeof(e->msg) - 3;
	memcpy(e->msg, prefix, n);
	memcpy(e->msg + n, ": ", 2);
	size_t room = sizeof(e->msg) - n - 3, m = strlen(old);
	if (m > room)
		m = room;
	memcpy(e->msg + n + 2, old, m);
	e->msg[n + 2 + m] = '\0';
	return e->code;
}

int
tp_err_nomem(tp_err *e, const char *what)
{
	return tp_err_set(e, TP_EINTERNAL, "out of memory allocating %s", what);
}

void
tp_notef(tp_note_fn *note, void *ctx, int failed, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	size_t n;

	if (note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (char *q = msg; *q != '\0'; q++)
		if (*q == '\n' || *q == '\t')
			*q = ' ';
	note(ctx, failed, msg);
}
