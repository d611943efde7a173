#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"
#include "base/option.h"

#define FIELD(type, settings, o) ((type *)((char *)(settings) + (o)->offset))
#define CFIELD(type, settings, o) \
	((const type *)((const char *)(settings) + (o)->offset))

const char *
tp_opt_choices(const tp_opt *o, char *buf, size_t len)
{
	size_t n = 0, used = 0;

	while (o->choices[n] != NULL)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", o->choices[i]);
	return buf;
}

/* Whole numbers: strtoll's, all of the text, no sign for U64. */
static int
parse_integer(const tp_opt *o, const char *arg, long long *v)
{
	char *end;

	errno = 0;
	if (o->type == TP_OPT_U64) {
		unsigned long long u = strtoull(arg, &end, 10);
		*v = (long long)u;
		return end == arg || *end != '\0' || errno != 0 || *arg == '-' ?
		    -1 : 0;
	}
	*v = strtoll(arg, &end, 10);
	return end == arg || *end != '\0' || errno != 0 ||
	    (double)*v < o->min || (double)*v > o->max ? -1 : 0;
}

int
tp_opt_set(const tp_opt *o, void *settings, const char *arg,
    const char *from, tp_err *e)
{
	char names[256];
	long long v;
	double x;

	switch (o->type) {
	case TP_OPT_FLAG:
		*FIELD(int, settings, o) = 1;
		return TP_OK;
	case TP_OPT_STRING:
		*FIELD(const char *, settings, o) = arg;
		return TP_OK;
	case TP_OPT_CUSTOM:
		return o->parse(settings, arg, from, e);
	case TP_OPT_CHOICE:
		for (int i = 0; o->choices[i] != NULL; i++)
			if (strcmp(arg, o->choices[i]) == 0) {
				*FIELD(int, settings, o) = i;
				return TP_OK;
			}
		return tp_err_set(e, TP_EUSAGE, "%s: \"%s\" is not %s", from, arg,
		    tp_opt_choices(o, names, sizeof(names)));
	case TP_OPT_U64:
		if (parse_integer(o, arg, &v) < 0)
			return tp_err_set(e, TP_EUSAGE,
			    "%s: \"%s\" is not a non-negative integer", from, arg);
		*FIELD(uint64_t, settings, o) = (uint64_t)v;
		return TP_OK;
	case TP_OPT_INT:
	case TP_OPT_LONG:
		if (parse_integer(o, arg, &v) < 0)
			return tp_err_set(e, TP_EUSAGE,
			    "%s: \"%s\" is not an integer from %.0f to %.0f", from, arg,
			    o->min, o->max);
		if (o->type == TP_OPT_INT)
			*FIELD(int, settings, o) = (int)v;
		else
			*FIELD(long, settings, o) = (long)v;
		return TP_OK;
	case TP_OPT_FLOAT:
	case TP_OPT_DOUBLE:
		if (tp_parse_double(arg, strlen(arg), &x) < 0 || x < o->min ||
		    x > o->max)
			return tp_err_set(e, TP_EUSAGE,
			    "%s: \"%s\" is not a number from %g to %g", from, arg,
			    o->min, o->max);
		if (o->type == TP_OPT_FLOAT)
			*FIELD(float, settings, o) = (float)x;
		else
			*FIELD(double, settings, o) = x;
		return TP_OK;
	}
	return tp_err_set(e, TP_EINTERNAL, "%s: an option of no known type", from);
}

/* A number field's value as a double, or NaN for another type. */
static double
number(const tp_opt *o, const void *settings)
{
	switch (o->type) {
	case TP_OPT_INT: return *CFIELD(int, settings, o);
	case TP_OPT_LONG: return (double)*CFIELD(long, settings, o);
	case TP_OPT_U64: return (double)*CFIELD(uint64_t, settings, o);
	case TP_OPT_FLOAT: return *CFIELD(float, settings, o);
	case TP_OPT_DOUBLE: return *CFIELD(double, settings, o);
	default: return NAN;
	}
}

int
tp_opt_check(const tp_opt *table, const void *settings, const char *what,
    tp_err *e)
{
	for (const tp_opt *o = table; o->key != NULL; o++) {
		double x = number(o, settings), lo = o->min, hi = o->max;
		if (o->type == TP_OPT_U64 || (isnan(x) && o->type != TP_OPT_FLOAT &&
		    o->type != TP_OPT_DOUBLE))
			continue;
		/* A float holds its bounds rounded, as tp_opt_set stored them. */
		if (o->type == TP_OPT_FLOAT) {
			lo = (float)lo;
			hi = (float)hi;
		}
		if (!(x >= lo && x <= hi))
			return tp_err_set(e, TP_EUSAGE, "%s: %s is %.9g, not from "
			    "%g to %g", what, o->key, x, o->min, o->max);
	}
	return TP_OK;
}

/* o's value as JSON, or NULL when it has none to record (an unset string
 * or custom entry). *nomem is set when memory ran out. */
static cJSON *
value_json(const tp_opt *o, const void *settings, int *nomem)
{
	cJSON *v = NULL;

	switch (o->type) {
	case TP_OPT_FLAG:
		v = cJSON_CreateBool(*CFIELD(int, settings, o));
		break;
	case TP_OPT_STRING:
		if (*CFIELD(char *, settings, o) == NULL)
			return NULL;
		v = cJSON_CreateString(*CFIELD(char *, settings, o));
		break;
	case TP_OPT_CHOICE:
		v = cJSON_CreateString(o->choices[*CFIELD(int, settings, o)]);
		break;
	case TP_OPT_CUSTOM:
		return o->json(settings);
	default:
		v = cJSON_CreateNumber(number(o, settings));
		break;
	}
	*nomem = v == NULL;
	return v;
}

int
tp_opt_json(const tp_opt *table, const void *settings, int flags,
    cJSON *obj, tp_err *e)
{
	for (const tp_opt *o = table; o->key != NULL; o++) {
		int nomem = 0;
		if (!(o->flags & flags))
			continue;
		cJSON *v = value_json(o, settings, &nomem);
		if (nomem || (v != NULL && !cJSON_AddItemToObject(obj, o->key, v))) {
			cJSON_Delete(v);
			return tp_err_nomem(e, "the settings' JSON");
		}
	}
	return TP_OK;
}

int
tp_opt_from_json(const tp_opt *table, void *settings, int flags,
    const cJSON *obj, const char *what, tp_err *e)
{
	char names[256];

	for (const tp_opt *o = table; o->key != NULL; o++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, o->key);
		double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
		if (!(o->flags & flags))
			continue;
		switch (o->type) {
		case TP_OPT_CHOICE: {
			int found = -1;
			for (int i = 0; cJSON_IsString(v) && o->choices[i]; i++)
				if (strcmp(v->valuestring, o->choices[i]) == 0)
					found = i;
			if (found < 0)
				return tp_err_set(e, TP_EDATA, "%s: \"%s\" must be %s",
				    what, o->key, tp_opt_choices(o, names, sizeof(names)));
			*FIELD(int, settings, o) = found;
			continue;
		}
		case TP_OPT_INT:
			if (!(x == floor(x) && x >= o->min && x <= o->max))
				return tp_err_set(e, TP_EDATA,
				    "%s: \"%s\" must be an integer from %.0f to %.0f",
				    what, o->key, o->min, o->max);
			*FIELD(int, settings, o) = (int)x;
			continue;
		case TP_OPT_FLAG:
			/* Absent is off, so that settings recorded before the
			 * flag existed read as they were meant. */
			if (v != NULL && !cJSON_IsBool(v))
				return tp_err_set(e, TP_EDATA,
				    "%s: \"%s\" must be true or false", what,
				    o->key);
			*FIELD(int, settings, o) = cJSON_IsTrue(v);
			continue;
		case TP_OPT_FLOAT:
			if (!(x >= (float)o->min && x <= (float)o->max))
				return tp_err_set(e, TP_EDATA,
				    "%s: \"%s\" must be a number from %g to %g", what,
				    o->key, o->min, o->max);
			*FIELD(float, settings, o) = (float)x;
			continue;
		default:
			return tp_err_set(e, TP_EINTERNAL,
			    "%s: \"%s\" is of a type JSON settings do not take", what,
			    o->key);
		}
	}
	return TP_OK;
}
