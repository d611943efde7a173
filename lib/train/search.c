#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"
#include "base/rng.h"
#include "model/config.h"
#include "train/search.h"

/* Redraws of a point that train would refuse, before giving up. */
enum { MAX_REDRAWS = 1000 };

/* Train's options that a search never draws: the budget and the seed are
 * the study's, the checkpoint a trial's own; threads and device change
 * how fast a trial runs, not what it finds, and the shuffle buffer is
 * bounded by the worker's memory. */
static const char *const not_searched[] = {"epochs", "seed", "checkpoint",
	"resume", "threads", "device", "buffer-rows", NULL};
/* Of those, the ones that a trial may not be given either. */
static const char *const not_given[] = {"epochs", "seed", "checkpoint",
	"resume", NULL};

static int
listed(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

/* The entry of train's option tables named name, and in *settings the
 * part of o that it sets; NULL when train has no such option there. */
static const tp_opt *
train_option(const char *name, tp_train_opts *o, void **settings)
{
	const struct {
		const tp_opt *table;
		int model;
	} tables[] = {
		{tp_config_options, 1}, {tp_train_options, 0},
		{tp_classify_options, 0},
	};

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const tp_opt *x = tables[t].table; x->key != NULL; x++)
			if (x->name != NULL && strcmp(x->name, name) == 0) {
				if (settings != NULL)
					*settings = tables[t].model ? (void *)&o->model :
					    (void *)o;
				return x;
			}
	return NULL;
}

/* Whether train's option x takes value (text), over train's defaults. */
static int
option_takes(const tp_opt *x, const char *name, const char *value,
    const char *where, tp_err *e)
{
	tp_train_opts scratch;
	void *settings;
	char from[64];

	tp_train_defaults(&scratch);
	train_option(name, &scratch, &settings);
	snprintf(from, sizeof(from), "%s: --%s", where, name);
	return tp_opt_set(x, settings, value, from, e);
}

/* The failure in e as another status: an option's refusal is a usage
 * error on the command line and bad data in a stored space. */
static int
recode(tp_err *e, int code)
{
	if (e != NULL)
		e->code = code;
	return code;
}

/* The parameter's own checks, for a line and for JSON alike. */
static int
param_check(const tp_hparam *p, const char *where, int code, tp_err *e)
{
	tp_train_opts scratch;
	const tp_opt *x = train_option(p->name, &scratch, NULL);
	char text[64];
	int rc;

	if (x == NULL || listed(not_searched, p->name) ||
	    x->type == TP_OPT_FLAG || x->type == TP_OPT_STRING)
		return tp_err_set(e, code, "%s: \"%s\" is not an option of "
		    "tabpipe-train that a search draws", where, p->name);
	if (p->kind == TP_HPARAM_CHOICE) {
		if (p->nchoices < 1)
			return tp_err_set(e, code, "%s: %s: a choice needs a value",
			    where, p->name);
		for (int i = 0; i < p->nchoices; i++) {
			for (int j = 0; j < i; j++)
				if (strcmp(p->choices[i], p->choices[j]) == 0)
					return tp_err_set(e, code, "%s: %s: \"%s\" is a "
					    "choice twice", where, p->name, p->choices[i]);
			if (strcmp(p->choices[i], "default") != 0 &&
			    (rc = option_takes(x, p->name, p->choices[i], where,
			    e)) != TP_OK)
				return recode(e, code);
		}
		return TP_OK;
	}
	if (p->kind == TP_HPARAM_FLOAT && x->type != TP_OPT_FLOAT &&
	    x->type != TP_OPT_DOUBLE)
		return tp_err_set(e, code, "%s: %s takes no float: make it int "
		    "or choice", where, p->name);
	if (p->kind == TP_HPARAM_INT && x->type != TP_OPT_INT &&
	    x->type != TP_OPT_LONG)
		return tp_err_set(e, code, "%s: %s takes no range of integers: "
		    "make it %s", where, p->name, x->type == TP_OPT_FLOAT ||
		    x->type == TP_OPT_DOUBLE ? "float" : "choice");
	if (!(p->low <= p->high))
		return tp_err_set(e, code, "%s: %s: the low end %g is above the "
		    "high end %g", where, p->name, p->low, p->high);
	if (p->log && !(p->low > 0))
		return tp_err_set(e, code, "%s: %s: a range in the logarithm "
		    "needs a low end above 0, not %g", where, p->name, p->low);
	for (int end = 0; end < 2; end++) {
		double v = end ? p->high : p->low;
		if (p->kind == TP_HPARAM_INT && v != floor(v))
			return tp_err_set(e, code, "%s: %s: %g is not an integer",
			    where, p->name, v);
		snprintf(text, sizeof(text), "%.17g", v);
		if ((rc = option_takes(x, p->name, text, where, e)) != TP_OK)
			return recode(e, code);
	}
	return TP_OK;
}

/* The words of a line, up to n, in place; returns their number, or n + 1
 * when there are more. A '#' ends the line. */
static int
words(char *line, char **w, int n)
{
	int k = 0;
	char *p = line;

	for (char *h = strchr(line, '#'); h != NULL; h = NULL)
		*h = '\0';
	while (*p != '\0') {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (k == n)
			return n + 1;
		w[k++] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	return k;
}

static int
add(tp_space *s, const tp_hparam *p, const char *where, tp_err *e)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->p[i].name, p->name) == 0) {
			s->p[i] = *p;
			return TP_OK;
		}
	if (s->n == TP_SPACE_MAX)
		return tp_err_set(e, TP_EUSAGE, "%s: more than %d parameters",
		    where, TP_SPACE_MAX);
	s->p[s->n++] = *p;
	return TP_OK;
}

int
tp_space_line(tp_space *s, const char *line, const char *where, tp_err *e)
{
	enum { MAXW = TP_HPARAM_CHOICES + 2 };
	char buf[1024], *w[MAXW];
	tp_hparam p;
	int n, rc;

	if (strlen(line) >= sizeof(buf))
		return tp_err_set(e, TP_EUSAGE, "%s: a line longer than %zu bytes",
		    where, sizeof(buf) - 1);
	strcpy(buf, line);
	if ((n = words(buf, w, MAXW)) == 0)
		return TP_OK;
	memset(&p, 0, sizeof(p));
	if (n > MAXW)
		return tp_err_set(e, TP_EUSAGE, "%s: more than %d choices", where,
		    TP_HPARAM_CHOICES);
	if (strlen(w[0]) >= TP_HPARAM_TEXT)
		return tp_err_set(e, TP_EUSAGE, "%s: \"%s\" is not an option of "
		    "tabpipe-train that a search draws", where, w[0]);
	strcpy(p.name, w[0]);
	if (n < 2)
		return tp_err_set(e, TP_EUSAGE, "%s: %s: expected a kind (float, "
		    "int or choice) after the name", where, p.name);
	if (strcmp(w[1], "choice") == 0) {
		p.kind = TP_HPARAM_CHOICE;
		for (int i = 2; i < n; i++) {
			if (strlen(w[i]) >= TP_HPARAM_TEXT)
				return tp_err_set(e, TP_EUSAGE, "%s: %s: the choice "
				    "\"%.40s...\" is too long", where, p.name, w[i]);
			strcpy(p.choices[p.nchoices++], w[i]);
		}
	} else if (strcmp(w[1], "float") == 0 || strcmp(w[1], "int") == 0) {
		p.kind = w[1][0] == 'f' ? TP_HPARAM_FLOAT : TP_HPARAM_INT;
		if (n < 4 || n > 5 || (n == 5 && strcmp(w[4], "log") != 0))
			return tp_err_set(e, TP_EUSAGE, "%s: %s: expected \"%s LOW "
			    "HIGH\" and perhaps \"log\"", where, p.name, w[1]);
		for (int end = 0; end < 2; end++)
			if (tp_parse_double(w[2 + end], strlen(w[2 + end]),
			    end ? &p.high : &p.low) < 0)
				return tp_err_set(e, TP_EUSAGE, "%s: %s: \"%s\" is not a "
				    "number", where, p.name, w[2 + end]);
		p.log = n == 5;
	} else
		return tp_err_set(e, TP_EUSAGE, "%s: %s: \"%s\" is not a kind: "
		    "float, int or choice", where, p.name, w[1]);
	if ((rc = param_check(&p, where, TP_EUSAGE, e)) != TP_OK)
		return rc;
	return add(s, &p, where, e);
}

int
tp_space_read(tp_space *s, const char *text, const char *path, tp_err *e)
{
	char line[1024], where[512];
	long lineno = 0;
	int rc;

	s->n = 0;
	while (*text != '\0') {
		size_t n = strcspn(text, "\n");
		lineno++;
		snprintf(where, sizeof(where), "%s:%ld", path, lineno);
		if (n >= sizeof(line))
			return tp_err_set(e, TP_EUSAGE, "%s: a line longer than %zu "
			    "bytes", where, sizeof(line) - 1);
		memcpy(line, text, n);
		line[n] = '\0';
		if ((rc = tp_space_line(s, line, where, e)) != TP_OK)
			return rc;
		text += n + (text[n] == '\n');
	}
	if (s->n == 0)
		return tp_err_set(e, TP_EUSAGE, "%s: no parameter to search", path);
	return TP_OK;
}

void
tp_space_default(tp_space *s)
{
	static const char *const lines[] = {
		"lr float 1e-4 1e-2 log",
		"weight-decay float 1e-6 1e-1 log",
		"dropout float 0 0.3",
		"d-model choice 8 16 32 64",
		"layers int 1 6",
		"heads choice 1 2 4 8",
		"d-ff choice 16 32 64 128 256",
		"batch choice 64 128 256 512",
		"warmup float 0 0.2",
		"class-weight choice default balanced",
	};
	tp_err e = {0};

	s->n = 0;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		tp_space_line(s, lines[i], "default space", &e);
}

int
tp_space_remove(tp_space *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->p[i].name, name) == 0) {
			memmove(&s->p[i], &s->p[i + 1],
			    (size_t)(s->n - i - 1) * sizeof(s->p[0]));
			s->n--;
			return 1;
		}
	return 0;
}

const tp_hparam *
tp_space_find(const tp_space *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->p[i].name, name) == 0)
			return &s->p[i];
	return NULL;
}

const char *
tp_hparam_text(const tp_hparam *p, char *buf, size_t n)
{
	size_t k = (size_t)snprintf(buf, n, "%s %s", p->name,
	    p->kind == TP_HPARAM_FLOAT ? "float" : p->kind == TP_HPARAM_INT ?
	    "int" : "choice");

	if (p->kind != TP_HPARAM_CHOICE) {
		if (k < n)
			snprintf(buf + k, n - k, " %.17g %.17g%s", p->low, p->high,
			    p->log ? " log" : "");
		return buf;
	}
	for (int i = 0; i < p->nchoices && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, " %s", p->choices[i]);
	return buf;
}

cJSON *
tp_space_json(const tp_space *s)
{
	cJSON *list = cJSON_CreateArray();

	for (int i = 0; list != NULL && i < s->n; i++) {
		const tp_hparam *p = &s->p[i];
		cJSON *o = cJSON_CreateObject(), *c = NULL;
		int ok = o != NULL && cJSON_AddItemToArray(list, o);

		if (!ok) {
			cJSON_Delete(o);
			cJSON_Delete(list);
			return NULL;
		}
		ok = cJSON_AddStringToObject(o, "name", p->name) != NULL &&
		    cJSON_AddStringToObject(o, "kind", p->kind == TP_HPARAM_FLOAT ?
		    "float" : p->kind == TP_HPARAM_INT ? "int" : "choice") != NULL;
		if (ok && p->kind == TP_HPARAM_CHOICE) {
			ok = (c = cJSON_AddArrayToObject(o, "choices")) != NULL;
			for (int k = 0; ok && k < p->nchoices; k++)
				ok = cJSON_AddItemToArray(c,
				    cJSON_CreateString(p->choices[k]));
		} else if (ok)
			ok = cJSON_AddNumberToObject(o, "low", p->low) != NULL &&
			    cJSON_AddNumberToObject(o, "high", p->high) != NULL &&
			    cJSON_AddBoolToObject(o, "log", p->log) != NULL;
		if (!ok) {
			cJSON_Delete(list);
			return NULL;
		}
	}
	return list;
}

int
tp_space_from_json(tp_space *s, const cJSON *j, tp_err *e)
{
	const cJSON *o;
	int rc;

	s->n = 0;
	if (!cJSON_IsArray(j))
		return tp_err_set(e, TP_EDATA, "space: not an array of parameters");
	cJSON_ArrayForEach(o, j) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
		tp_hparam p;

		memset(&p, 0, sizeof(p));
		if (!cJSON_IsString(name) || strlen(name->valuestring) >=
		    TP_HPARAM_TEXT || !cJSON_IsString(kind))
			return tp_err_set(e, TP_EDATA, "space: a parameter without "
			    "a name and a kind");
		strcpy(p.name, name->valuestring);
		if (strcmp(kind->valuestring, "choice") == 0) {
			const cJSON *c;
			p.kind = TP_HPARAM_CHOICE;
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(o,
			    "choices")) {
				if (!cJSON_IsString(c) || p.nchoices == TP_HPARAM_CHOICES ||
				    strlen(c->valuestring) >= TP_HPARAM_TEXT)
					return tp_err_set(e, TP_EDATA, "space: %s: a bad "
					    "choice", p.name);
				strcpy(p.choices[p.nchoices++], c->valuestring);
			}
		} else if (strcmp(kind->valuestring, "float") == 0 ||
		    strcmp(kind->valuestring, "int") == 0) {
			const cJSON *low = cJSON_GetObjectItemCaseSensitive(o, "low");
			const cJSON *high = cJSON_GetObjectItemCaseSensitive(o, "high");
			p.kind = kind->valuestring[0] == 'f' ? TP_HPARAM_FLOAT :
			    TP_HPARAM_INT;
			if (!cJSON_IsNumber(low) || !cJSON_IsNumber(high))
				return tp_err_set(e, TP_EDATA, "space: %s: a range "
				    "without its ends", p.name);
			p.low = low->valuedouble;
			p.high = high->valuedouble;
			p.log = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
			    "log"));
		} else
			return tp_err_set(e, TP_EDATA, "space: %s: \"%s\" is not a "
			    "kind", p.name, kind->valuestring);
		if ((rc = param_check(&p, "space", TP_EDATA, e)) != TP_OK ||
		    (rc = add(s, &p, "space", e)) != TP_OK)
			return recode(e, TP_EDATA);
	}
	return TP_OK;
}

int
tp_search_fixed(tp_space *s, const char *const *args, int n,
    tp_train_opts *base, tp_err *e)
{
	char name[64], from[80];
	void *settings;
	int rc;

	for (int i = 0; i < n; i++) {
		const char *a = args[i], *value;
		size_t len;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			continue;
		len = strcspn(a + 2, "=");
		if (len >= sizeof(name))
			continue;
		memcpy(name, a + 2, len);
		name[len] = '\0';
		const tp_opt *x = train_option(name, base, &settings);
		if (x == NULL)
			continue;
		if (listed(not_given, name))
			return tp_err_set(e, TP_EUSAGE, "%s: %s", a,
			    strcmp(name, "epochs") == 0 ? "the trials' epochs are the "
			    "search's: give tabpipe-tune --epochs (and --min-epochs)" :
			    strcmp(name, "seed") == 0 ? "the trials' seed is the "
			    "study's: give tabpipe-tune --seed" :
			    "a trial is not resumed from a checkpoint of its own");
		snprintf(from, sizeof(from), "--%s", name);
		if (x->type == TP_OPT_FLAG)
			value = NULL;
		else if (a[2 + len] == '=')
			value = a + 3 + len;
		else if (i + 1 < n)
			value = args[++i];
		else
			return tp_err_set(e, TP_EUSAGE, "%s: needs a value", from);
		if ((rc = tp_opt_set(x, settings, value, from, e)) != TP_OK)
			return rc;
		tp_space_remove(s, name);
	}
	return tp_config_check(&base->model, e);
}

/* FNV-1a: a parameter's own stream of permutations, by its name. */
static uint64_t
name_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

/* Uniform in [0, 1) with 53 random bits. */
static double
uniform(tp_rng *r)
{
	return (double)(tp_rng_next(r) >> 11) * 0x1.0p-53;
}

/* The stratum of trial (from 1) among n for parameter name: a
 * Fisher-Yates permutation drawn from the seed and the name. */
static int
stratum(uint64_t seed, const char *name, int n, int trial)
{
	tp_rng r;
	int *perm = malloc((size_t)n * sizeof(int)), s;

	if (perm == NULL)
		return -1;
	tp_rng_seed(&r, seed ^ name_hash(name));
	for (int i = 0; i < n; i++)
		perm[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)tp_rng_below(&r, (uint64_t)i + 1), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	s = perm[trial - 1];
	free(perm);
	return s;
}

/* x to 3 significant digits, as text would give it. */
static double
round3(double x)
{
	char buf[32];
	double y;

	snprintf(buf, sizeof(buf), "%.3g", x);
	return tp_parse_double(buf, strlen(buf), &y) == 0 ? y : x;
}

/* The value of p at u in [0, 1). */
static cJSON *
value_at(const tp_hparam *p, double u)
{
	double v;

	if (p->kind == TP_HPARAM_CHOICE) {
		int i = (int)(u * p->nchoices);
		const char *c = p->choices[i < p->nchoices ? i : p->nchoices - 1];
		double x;
		if (strcmp(c, "default") == 0)
			return cJSON_CreateNull();
		if (tp_parse_double(c, strlen(c), &x) == 0)
			return cJSON_CreateNumber(x);
		return cJSON_CreateString(c);
	}
	if (p->kind == TP_HPARAM_INT) {
		double hi = p->high + 1;
		v = p->log ? floor(exp(log(p->low) + u * (log(hi) - log(p->low)))) :
		    floor(p->low + u * (hi - p->low));
	} else
		v = round3(p->log ? exp(log(p->low) + u * (log(p->high) -
		    log(p->low))) : p->low + u * (p->high - p->low));
	if (v < p->low)
		v = p->low;
	if (v > p->high)
		v = p->high;
	return cJSON_CreateNumber(v);
}

int
tp_search_sample(const tp_space *s, const tp_train_opts *base,
    uint64_t seed, int ntrials, int trial, cJSON **point, tp_err *e)
{
	tp_rng r;
	tp_err why = {0};
	int rc;

	*point = NULL;
	if (ntrials < 1 || trial < 1 || trial > ntrials)
		return tp_err_set(e, TP_EUSAGE, "trial %d of %d: no such trial",
		    trial, ntrials);
	tp_rng_seed(&r, seed ^ (UINT64_C(0xd1b54a32d192ed03) * (uint64_t)trial));
	for (int draw = 0; draw <= MAX_REDRAWS; draw++) {
		cJSON *p = cJSON_CreateObject();
		tp_train_opts o = *base;
		if (p == NULL)
			return tp_err_nomem(e, "a point");
		for (int i = 0; i < s->n; i++) {
			/* The first draw is the trial's stratum; a redraw is
			 * anywhere. */
			double u = uniform(&r);
			if (draw == 0) {
				int k = stratum(seed, s->p[i].name, ntrials, trial);
				if (k < 0) {
					cJSON_Delete(p);
					return tp_err_nomem(e, "a permutation");
				}
				u = (k + u) / ntrials;
			}
			cJSON *v = value_at(&s->p[i], u);
			if (v == NULL || !cJSON_AddItemToObject(p, s->p[i].name, v)) {
				cJSON_Delete(v);
				cJSON_Delete(p);
				return tp_err_nomem(e, "a point");
			}
		}
		if ((rc = tp_search_apply(p, &o, &why)) == TP_OK) {
			*point = p;
			return TP_OK;
		}
		cJSON_Delete(p);
		if (rc != TP_EUSAGE)
			return tp_err_set(e, rc, "%s", why.msg);
	}
	return tp_err_set(e, TP_EUSAGE, "the space has no point that "
	    "tabpipe-train takes (%d draws): %s", MAX_REDRAWS + 1, why.msg);
}

const char *
tp_search_value_text(const cJSON *v, char *buf, size_t n)
{
	double y;

	if (cJSON_IsString(v)) {
		snprintf(buf, n, "%s", v->valuestring);
		return buf;
	}
	if (!cJSON_IsNumber(v))
		return NULL;
	/* The shortest text that reads back as the same number. */
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, n, "%.*g", digits, v->valuedouble);
		if (tp_parse_double(buf, strlen(buf), &y) == 0 &&
		    y == v->valuedouble)
			break;
	}
	return buf;
}

int
tp_search_apply(const cJSON *point, tp_train_opts *o, tp_err *e)
{
	const cJSON *v;
	char text[64], from[80];
	void *settings;
	int rc;

	cJSON_ArrayForEach(v, point) {
		const tp_opt *x = train_option(v->string, o, &settings);
		if (x == NULL || listed(not_searched, v->string))
			return tp_err_set(e, TP_EUSAGE, "\"%s\" is not an option of "
			    "tabpipe-train that a search draws", v->string);
		if (tp_search_value_text(v, text, sizeof(text)) == NULL) {
			if (cJSON_IsNull(v))
				continue;
			return tp_err_set(e, TP_EUSAGE, "%s: not a number or a "
			    "string", v->string);
		}
		snprintf(from, sizeof(from), "--%s", v->string);
		if ((rc = tp_opt_set(x, settings, text, from, e)) != TP_OK)
			return rc;
	}
	return tp_config_check(&o->model, e);
}

int
tp_search_rungs(const tp_search_plan *plan, tp_rung rungs[TP_SEARCH_RUNGS],
    tp_err *e)
{
	int by_budget = 1, by_trials = 1, k;
	double x = plan->epochs;

	if (plan->trials < 1 || plan->epochs < 1)
		return -tp_err_set(e, TP_EUSAGE, "a search needs a trial and an "
		    "epoch at least");
	if (plan->eta == 0) {
		rungs[0] = (tp_rung){plan->epochs, plan->trials};
		return 1;
	}
	if (plan->eta < 2 || plan->min_epochs < 1 ||
	    plan->min_epochs > plan->epochs)
		return -tp_err_set(e, TP_EUSAGE, "halving needs eta 2 or more "
		    "and a least budget from 1 to the most epochs (%d), not eta "
		    "%d and %d", plan->epochs, plan->eta, plan->min_epochs);
	/* The rungs the budgets allow: epochs / eta^k down to min_epochs. */
	while (by_budget < TP_SEARCH_RUNGS && x / plan->eta >=
	    plan->min_epochs * (1 - 1e-12)) {
		x /= plan->eta;
		by_budget++;
	}
	/* The rungs the trials fill: one trial at least on the top rung. */
	for (long p = plan->eta; by_trials < TP_SEARCH_RUNGS &&
	    p <= plan->trials; p *= plan->eta)
		by_trials++;
	k = by_budget < by_trials ? by_budget : by_trials;
	for (int i = 0; i < k; i++) {
		double budget = plan->epochs;
		long n = plan->trials;
		for (int j = i; j < k - 1; j++)
			budget /= plan->eta;
		for (int j = 0; j < i; j++)
			n /= plan->eta;
		int b = (int)lround(budget);
		rungs[i].epochs = b < plan->min_epochs ? plan->min_epochs : b;
		rungs[i].trials = n < 1 ? 1 : (int)n;
	}
	return k;
}

/* Whether x ranks before y: the higher value, then the lower number. */
static int
ranks_before(const tp_search_trial *x, const tp_search_trial *y)
{
	return x->value > y->value ||
	    (x->value == y->value && x->number < y->number);
}

/* Sorts the indices idx[0..n) of t, by rank or by number; insertion, as
 * a rung holds a few hundred trials at most. */
static void
sort_indices(const tp_search_trial *t, int *idx, int n, int rank)
{
	for (int i = 1; i < n; i++) {
		int v = idx[i], j = i;
		while (j > 0 && (rank ? ranks_before(&t[v], &t[idx[j - 1]]) :
		    t[v].number < t[idx[j - 1]].number)) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = v;
	}
}

static int
done(const tp_search_trial *t)
{
	return t->done && isfinite(t->value);
}

int
tp_search_promote(const tp_search_trial *t, int n, int k, int *chosen)
{
	int m = 0;

	for (int i = 0; i < n; i++)
		if (done(&t[i]))
			chosen[m++] = i;
	sort_indices(t, chosen, m, 1);
	if (m > k)
		m = k < 0 ? 0 : k;
	sort_indices(t, chosen, m, 0);
	return m;
}

int
tp_search_best(const tp_search_trial *t, int n)
{
	int best = -1;

	for (int i = 0; i < n; i++) {
		if (!done(&t[i]))
			continue;
		if (best < 0 || t[i].value > t[best].value ||
		    (t[i].value == t[best].value && (t[i].rung > t[best].rung ||
		    (t[i].rung == t[best].rung && t[i].number < t[best].number))))
			best = i;
	}
	return best;
}
