/*
 * option: settings written once. An entry of a table names a field of a
 * settings struct, the command-line option that sets it, the values it
 * takes, the help a user reads, and whether a run records it and a
 * training checkpoint signs it. The tools' parsing, range checks, usage
 * and help text, the run parameters the database keeps and the
 * checkpoint's signature all come from the tables (as git's parse-options
 * and curl's option table do), so an option is never written in five
 * places that can disagree.
 *
 * A table is an array ended by an entry whose key is NULL.
 */
#ifndef TP_OPTION_H
#define TP_OPTION_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"

enum tp_opt_type {
	TP_OPT_FLAG,    /* int: 1 when given; takes no argument */
	TP_OPT_INT,     /* int from min to max */
	TP_OPT_LONG,    /* long from min to max */
	TP_OPT_U64,     /* uint64_t: any integer from 0 */
	TP_OPT_FLOAT,   /* float from min to max */
	TP_OPT_DOUBLE,  /* double from min to max */
	TP_OPT_CHOICE,  /* int (an enum): the index of the argument in choices */
	TP_OPT_STRING,  /* const char *: the argument itself, NULL when not given */
	TP_OPT_CUSTOM,  /* set by parse, written by json */
};

enum {
	TP_OPT_RECORD = 1,   /* a run records it among its parameters */
	TP_OPT_SIGN = 2,     /* a training checkpoint's signature holds it */
	TP_OPT_REQUIRED = 4, /* the tool cannot run without it */
};

typedef struct tp_opt tp_opt;
struct tp_opt {
	const char *key;     /* its name in JSON: "d_model"; NULL ends a table */
	const char *name;    /* its long option, "d-model"; NULL: no option
	                        sets it (it is recorded all the same) */
	int letter;          /* its short option, 'o'; 0 for none */
	const char *arg;     /* its argument in the usage, "n"; NULL for a flag
	                        and a choice (which shows its choices) */
	enum tp_opt_type type;
	size_t offset;       /* of its field in the settings */
	double min, max;     /* the range of a number */
	const char *const *choices; /* a choice's names, NULL-ended */
	int flags;           /* TP_OPT_RECORD, TP_OPT_SIGN, TP_OPT_REQUIRED */
	const char *help;    /* one line for --help */
	const char *usage;   /* the usage's text for it, when not the usual
	                        "[--name arg]"; "" when another entry's shows it */
	const char *env;     /* the environment variable that sets it when the
	                        option is not given, or NULL */
	/* A custom entry's parsing of arg into settings (any of its fields)
	 * and its value in JSON (NULL: not recorded, as when it is unset). */
	int (*parse)(void *settings, const char *arg, const char *from,
	    tp_err *e);
	cJSON *(*json)(const void *settings);
};

/* Sets o's field in settings from arg, checked: a number must be one,
 * whole and in range, a choice one of its names. On failure TP_EUSAGE
 * with "FROM: \"ARG\" is not ..."; from names where arg came from
 * ("--batch", or an environment variable). */
int tp_opt_set(const tp_opt *o, void *settings, const char *arg,
    const char *from, tp_err *e);

/* Checks that the numbers of table's fields in settings are in range:
 * TP_EUSAGE naming the first that is not, after "what: ". */
int tp_opt_check(const tp_opt *table, const void *settings,
    const char *what, tp_err *e);

/* Adds to obj each entry of table that has a flag of flags, in the
 * table's order, with its value in settings. TP_OK, or no memory. */
int tp_opt_json(const tp_opt *table, const void *settings, int flags,
    cJSON *obj, tp_err *e);

/* Reads table's fields from obj, each key that must be there (every one
 * with flags among its flags) checked and in range: TP_EDATA naming the
 * first that is not, after "what: ". A flag may be absent: it is off. */
int tp_opt_from_json(const tp_opt *table, void *settings, int flags,
    const cJSON *obj, const char *what, tp_err *e);

/* A choice's names as "a, b or c", into buf. */
const char *tp_opt_choices(const tp_opt *o, char *buf, size_t len);

#endif
