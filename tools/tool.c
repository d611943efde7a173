#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "tool.h"

/* Options: --help and --version are every tool's; a tool's own come from
 * its families, after them. */
typedef struct {
	int help, version;
} every_tool;

static const tp_opt every_tool_options[] = {
	{.key = "help", .name = "help", .letter = 'h', .type = TP_OPT_FLAG,
	    .offset = offsetof(every_tool, help),
	    .help = "this text, and exit"},
	{.key = "version", .name = "version", .letter = 'V',
	    .type = TP_OPT_FLAG, .offset = offsetof(every_tool, version),
	    .help = "the version, and exit"},
	{0},
};

enum { MAX_FAMILIES = 8, MAX_OPTIONS = 64 };

static char name[64] = "tabpipe";
static every_tool asked;
static tool_options families[MAX_FAMILIES + 1];
static const char *operand_text = "", *forms_text;
/* Every entry that has an option, with the settings it writes, by the
 * order the usage shows them. */
static struct entry {
	const tp_opt *o;
	void *settings;
	int order;              /* in the tables, one after the other */
	int given;
} entries[MAX_OPTIONS];
static int nentries;

/* The order of the usage: flags with a letter first, then by name (a
 * letter alone counts as a name), then what is required. */
static int
usage_order(const void *a, const void *b)
{
	const struct entry *ea = a, *eb = b;
	const tp_opt *x = ea->o, *y = eb->o;
	int xr = (x->flags & TP_OPT_REQUIRED) != 0;
	int yr = (y->flags & TP_OPT_REQUIRED) != 0;
	int xf = x->type == TP_OPT_FLAG && x->letter;
	int yf = y->type == TP_OPT_FLAG && y->letter;
	char xn[2] = {(char)x->letter, 0}, yn[2] = {(char)y->letter, 0};

	if (xr != yr)
		return xr - yr;
	if (xr)
		return ea->order - eb->order;
	if (xf != yf)
		return yf - xf;
	return strcmp(x->name ? x->name : xn, y->name ? y->name : yn);
}

void
tool_init(const char *tool, const tool_options *options,
    const char *operands, const char *forms)
{
	int n = 0;

	snprintf(name, sizeof(name), "tabpipe-%s", tool);
	operand_text = operands;
	forms_text = forms;
	families[n++] = (tool_options){every_tool_options, &asked};
	for (; options != NULL && options->table != NULL; options++) {
		if (n == MAX_FAMILIES)
			tool_die(TP_EINTERNAL, "more than %d option tables",
			    MAX_FAMILIES);
		families[n++] = *options;
	}
	families[n] = (tool_options){NULL, NULL};
	nentries = 0;
	for (int f = 0; families[f].table != NULL; f++)
		for (const tp_opt *o = families[f].table; o->key != NULL; o++) {
			if (o->name == NULL && o->letter == 0)
				continue;
			if (nentries == MAX_OPTIONS)
				tool_die(TP_EINTERNAL, "more than %d options",
				    MAX_OPTIONS);
			entries[nentries] = (struct entry){o, families[f].settings,
			    nentries, 0};
			nentries++;
		}
	qsort(entries, (size_t)nentries, sizeof(entries[0]), usage_order);
}

const char *
tool_name(void)
{
	return name;
}

/* An option as the usage and the help show it: "--batch n", "-o file",
 * "--device cpu|cuda". */
static const char *
option_text(const tp_opt *o, int both, char *buf, size_t len)
{
	size_t n = 0;

	if (o->letter)
		n += (size_t)snprintf(buf + n, len - n, "-%c%s", o->letter,
		    both && o->name ? ", " : "");
	if (o->name && (both || !o->letter))
		n += (size_t)snprintf(buf + n, len - n, "--%s", o->name);
	if (o->type == TP_OPT_CHOICE)
		for (int i = 0; o->choices[i] != NULL && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, "%c%s",
			    i ? '|' : ' ', o->choices[i]);
	else if (o->arg != NULL && n < len)
		snprintf(buf + n, len - n, " %s", o->arg);
	return buf;
}

/* Prints the synopsis, its words wrapped under the tool's name. */
static void
print_synopsis(FILE *f)
{
	char word[160], text[160];
	int col, indent = 11;

	if (forms_text != NULL) {
		fputs(forms_text, f);
		return;
	}
	col = fprintf(f, "usage: %s", name);
	for (int i = 0; i <= nentries; i++) {
		const tp_opt *o = i < nentries ? entries[i].o : NULL;
		if (o == NULL)
			snprintf(word, sizeof(word), "%s", operand_text);
		else if (o->usage != NULL)
			snprintf(word, sizeof(word), "%s", o->usage);
		else if (entries[i].settings == &asked)
			continue;
		else
			snprintf(word, sizeof(word), o->flags & TP_OPT_REQUIRED ?
			    "%s" : "[%s]", option_text(o, 0, text, sizeof(text)));
		if (word[0] == '\0')
			continue;
		if (col + 1 + (int)strlen(word) > 76) {
			fprintf(f, "\n%*s", indent - 1, "");
			col = indent - 1;
		}
		col += fprintf(f, " %s", word);
	}
	putc('\n', f);
}

/* An entry's value where it has a default worth saying: numbers, choices
 * and strings already set. */
static const char *
default_text(const tp_opt *o, const void *settings, char *buf, size_t len)
{
	const char *p = (const char *)settings + o->offset;

	switch (o->type) {
	case TP_OPT_INT: snprintf(buf, len, "%d", *(const int *)p); break;
	case TP_OPT_LONG: snprintf(buf, len, "%ld", *(const long *)p); break;
	case TP_OPT_U64:
		snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)p);
		break;
	case TP_OPT_FLOAT: snprintf(buf, len, "%g", (double)*(const float *)p); break;
	case TP_OPT_DOUBLE: snprintf(buf, len, "%g", *(const double *)p); break;
	case TP_OPT_CHOICE:
		snprintf(buf, len, "%s", o->choices[*(const int *)p]);
		break;
	case TP_OPT_STRING:
		if (*(const char *const *)p == NULL)
			return NULL;
		snprintf(buf, len, "%s", *(const char *const *)p);
		break;
	default:
		return NULL;
	}
	return buf;
}

/* Prints text from column col on, its words wrapped at 79 columns with
 * lines after the first starting at column indent. */
static void
print_wrapped(const char *text, int col, int indent)
{
	while (*text != '\0') {
		size_t n = strcspn(text, " ");
		if (col > indent && col + 1 + (int)n > 79) {
			printf("\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", (int)n, text);
		text += n + (text[n] == ' ');
	}
	putchar('\n');
}

void
tool_usage(int status)
{
	char text[160], dflt[64], help[512];

	print_synopsis(status == 0 ? stdout : stderr);
	if (status != 0)
		exit(TP_EUSAGE);
	putchar('\n');
	for (int i = 0; i < nentries; i++) {
		const tp_opt *o = entries[i].o;
		const char *d = default_text(o, entries[i].settings, dflt,
		    sizeof(dflt));
		int w = printf("  %s%s", o->letter ? "" : "    ",
		    option_text(o, 1, text, sizeof(text)));
		/* The help starts at column 30, or a line below a long option. */
		if (w > 28) {
			putchar('\n');
			w = 0;
		}
		printf("%*s", 30 - w, "");
		if (d != NULL && o->env != NULL)
			snprintf(help, sizeof(help), "%s (%s, or $%s)", o->help, d,
			    o->env);
		else if (d != NULL)
			snprintf(help, sizeof(help), "%s (%s)", o->help, d);
		else
			snprintf(help, sizeof(help), "%s", o->help);
		print_wrapped(help, 30, 30);
	}
	exit(tool_finish(0));
}

int
tool_parse(int argc, char **argv)
{
	struct option longopts[MAX_OPTIONS + 1];
	char shortopts[2 * MAX_OPTIONS + 1] = "", from[96];
	int n = 0, c, index;
	tp_err e = {0};

	for (int i = 0; i < nentries; i++) {
		const tp_opt *o = entries[i].o;
		int arg = o->type != TP_OPT_FLAG;
		if (o->name != NULL)
			longopts[n++] = (struct option){o->name, arg ?
			    required_argument : no_argument, NULL, 256 + i};
		if (o->letter != 0) {
			size_t k = strlen(shortopts);
			shortopts[k] = (char)o->letter;
			shortopts[k + 1] = arg ? ':' : '\0';
			shortopts[k + 2] = '\0';
		}
	}
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	while ((c = getopt_long(argc, argv, shortopts, longopts, &index)) != -1) {
		int i = c - 256;
		/* getopt_long has said what was wrong. */
		if (c == '?')
			tool_usage(TP_EUSAGE);
		for (int k = 0; c < 256 && k < nentries; k++)
			if (entries[k].o->letter == c)
				i = k;
		const tp_opt *o = entries[i].o;
		if (o->name != NULL && (c >= 256 || o->letter == 0))
			snprintf(from, sizeof(from), "--%s", o->name);
		else
			snprintf(from, sizeof(from), "-%c", o->letter);
		if (tp_opt_set(o, entries[i].settings, optarg, from, &e) != TP_OK)
			tool_die(e.code, "%s", e.msg);
		entries[i].given = 1;
		if (asked.help)
			tool_usage(0);
		if (asked.version) {
			printf("%s %s\n", name, TABPIPE_VERSION);
			exit(tool_finish(0));
		}
	}
	for (int i = 0; i < nentries; i++) {
		const tp_opt *o = entries[i].o;
		const char *v = o->env != NULL ? getenv(o->env) : NULL;
		/* An empty variable is an unset one, as ${VAR:-} has it. */
		if (entries[i].given || v == NULL || *v == '\0')
			continue;
		if (tp_opt_set(o, entries[i].settings, v, o->env, &e) != TP_OK)
			tool_die(e.code, "%s", e.msg);
	}
	return optind;
}

int
tool_given(const char *key)
{
	for (int i = 0; i < nentries; i++)
		if (strcmp(entries[i].o->key, key) == 0)
			return entries[i].given;
	return 0;
}

cJSON *
tool_params(void)
{
	cJSON *j = cJSON_CreateObject();

	for (int f = 1; j != NULL && families[f].table != NULL; f++)
		if (tp_opt_json(families[f].table, families[f].settings,
		    TP_OPT_RECORD, j, NULL) != TP_OK) {
			cJSON_Delete(j);
			return NULL;
		}
	return j;
}

/* "tabpipe-NAME: message" and a line end on standard error. */
static void
say(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", name);
	vfprintf(stderr, fmt, ap);
	putc('\n', stderr);
}

void
tool_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	exit(code);
}

void
tool_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

int
tool_report(const tp_err *e)
{
	fprintf(stderr, "%s: %s\n", name, e->msg);
	return e->code ? e->code : TP_EINTERNAL;
}

long
tool_long(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < min || v > max)
		tool_die(TP_EUSAGE, "%s: \"%s\" is not an integer from %ld to %ld",
		    what, s, min, max);
	return v;
}

int
tool_finish(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		/* A failed run has said what went wrong, the write error
		 * included. */
		if (status == 0)
			fprintf(stderr, "%s: standard output: write error: %s\n",
			    name, strerror(errno));
		return status ? status : TP_EIO;
	}
	return status;
}

int
tool_write_report(const char *path, const cJSON *json, tp_err *e)
{
	tp_outfile report;
	char *text = cJSON_Print(json);
	int rc;

	if (text == NULL)
		return tp_err_nomem(e, "the report");
	if ((rc = tp_outfile_open(&report, path, e)) == TP_OK) {
		fputs(text, report.f);
		putc('\n', report.f);
		rc = tp_outfile_commit(&report, e);
	}
	free(text);
	return rc;
}

void
tool_binary_stdout(void)
{
	if (isatty(STDOUT_FILENO))
		tool_die(TP_EUSAGE,
		    "not writing a binary stream to a terminal: redirect standard output");
}

void
tool_device(enum tp_device d)
{
	tp_err e = {0};
	int rc;

	if ((rc = tp_device_check(d, &e)) != TP_OK)
		tool_die(rc, "--device %s: %s", tp_device_name(d), e.msg);
}

const char *
tool_auc_text(double auc, char text[16])
{
	if (isnan(auc))
		return "none (one class)";
	snprintf(text, 16, "%.4f", auc);
	return text;
}

void
tool_epoch_report(void *ctx, const tp_epoch_report *r)
{
	tool_progress *p = ctx;
	char valid[96] = "", auc[16];

	if (p->db != NULL) {
		cJSON *m = cJSON_CreateObject();
		tp_err e = {0};
		cJSON_AddNumberToObject(m, "loss", r->loss);
		if (!isnan(r->valid_loss)) {
			cJSON_AddNumberToObject(m, "valid_auc", r->valid_auc);
			cJSON_AddNumberToObject(m, "valid_log_loss", r->valid_loss);
			cJSON_AddBoolToObject(m, "best", r->best);
		}
		cJSON_AddNumberToObject(m, "rows_per_s", r->rows_per_s);
		cJSON_AddNumberToObject(m, "seconds", r->seconds);
		/* Metrics are a record, not the work: a failure to keep one is
		 * said and the training goes on. */
		if (tp_db_epoch(p->db, p->run, r->member, r->epoch, m,
		    &e) != TP_OK)
			tool_report(&e);
		cJSON_Delete(m);
	}
	if (p->quiet)
		return;
	/* Pretraining has no validation; rows of one class, no AUC. */
	if (!isnan(r->valid_loss))
		snprintf(valid, sizeof(valid), ", valid AUC %s, log loss %.4f%s",
		    tool_auc_text(r->valid_auc, auc), r->valid_loss,
		    r->best ? " (best)" : "");
	/* Of an ensemble, the members to come run at most as many epochs. */
	int members_left = r->members > 1 ? r->members - r->member : 0;
	double eta = r->seconds * (r->epochs - r->epoch +
	    (double)members_left * r->epochs);
	char member[32] = "";
	if (r->members > 1)
		snprintf(member, sizeof(member), "member %d/%d, ", r->member,
		    r->members);
	fprintf(stderr, "%s: %sepoch %d/%d: loss %.4f%s, %.0f rows/s, %.1f s, at most %d:%02d left\n",
	    name, member, r->epoch, r->epochs, r->loss, valid, r->rows_per_s,
	    r->seconds, (int)(eta / 60), (int)eta % 60);
}

const char *
tool_input(int argc, char **argv, const char *dflt)
{
	if (argc - optind > 1)
		tool_usage(TP_EUSAGE);
	return argc - optind == 1 ? argv[optind] : dflt;
}

char **
tool_inputs(int argc, char **argv, int *n)
{
	static char *stdin_only[] = {"-", NULL};

	if (argc - optind == 0) {
		*n = 1;
		return stdin_only;
	}
	*n = argc - optind;
	return argv + optind;
}

tp_db *
tool_db_open(const char *conninfo)
{
	tp_db *db;
	tp_err e = {0};

	if (tp_db_open(&db, conninfo, name + strlen("tabpipe-"), &e) != TP_OK)
		exit(tool_report(&e));
	return db;
}

int64_t
tool_run_start(tp_db *db, const cJSON *params, const cJSON *inputs)
{
	tp_err e = {0};
	int64_t run = 0;

	if (db != NULL && tp_db_run_start(db, params, inputs, &run, &e) != TP_OK)
		exit(tool_report(&e));
	return run;
}

int
tool_run_finish(tp_db *db, int64_t run, int status, const char *error,
    const cJSON *result)
{
	tp_err e = {0};

	if (db == NULL)
		return status;
	if (run > 0 && tp_db_run_finish(db, run, status == TP_OK || status == TP_NO,
	    status == TP_OK || status == TP_NO ? NULL : error, result, &e) != TP_OK) {
		tool_report(&e);
		if (status == TP_OK)
			status = e.code;
	}
	tp_db_close(db);
	return status;
}

void
tool_note(void *ctx, int failed, const char *msg)
{
	if (failed || !*(const int *)ctx)
		tool_warn("%s", msg);
}

void
tool_log_open(tp_predlog *log, tp_db *db, int64_t run, const char *spool,
    int *quiet)
{
	const char *home = getenv("TABPIPE_HOME");
	char dflt[4096];
	tp_err e = {0};

	tp_predlog_init(log, db, run);
	log->note = tool_note;
	log->ctx = quiet;
	if (spool == NULL) {
		snprintf(dflt, sizeof(dflt), "%s/spool", home != NULL &&
		    *home != '\0' ? home : "var");
		spool = dflt;
	}
	if (tp_predlog_spool(log, spool, &e) != TP_OK)
		tool_warn("%s: predictions that cannot be sent will be lost", e.msg);
}
