/* tabpipe-registry: the models, versions, runs, evaluations and stage
 * changes of the registry, the epochs of a version's training and two
 * versions side by side, as a table or as JSON. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"
#include "tool.h"

static const char forms[] =
    "usage: tabpipe-registry [-q] [--db conninfo] [--json] models\n"
    "       tabpipe-registry [-q] [--db conninfo] [--json] versions NAME\n"
    "       tabpipe-registry [-q] [--db conninfo] [--json] runs [--tool name] [--limit n]\n"
    "       tabpipe-registry [-q] [--db conninfo] [--json] evaluations NAME\n"
    "       tabpipe-registry [-q] [--db conninfo] [--json] audit NAME\n"
    "       tabpipe-registry [-q] [--db conninfo] [--json] epochs NAME@VERSION\n"
    "       tabpipe-registry [-q] [--db conninfo] [--json] compare A B\n";

typedef struct {
	const char *db, *tool;
	int json, quiet; /* quiet: the listings have nothing to say but errors */
	long limit;
} settings;

static const tp_opt options[] = {
	TP_DB_OPTION(settings, db),
	{.key = "json", .offset = offsetof(settings, json), .name = "json",
	    .type = TP_OPT_FLAG, .help = "the rows as JSON, not as a table"},
	{.key = "limit", .offset = offsetof(settings, limit), .name = "limit",
	    .arg = "n", .type = TP_OPT_LONG, .min = 1, .max = 1000000000,
	    .help = "runs: the newest n"},
	TOOL_QUIET(settings, quiet),
	{.key = "tool", .offset = offsetof(settings, tool), .name = "tool",
	    .arg = "name", .type = TP_OPT_STRING,
	    .help = "runs: only those of one tool"},
	{0},
};

/* A column of the table: the key of the rows' objects and how to show it:
 * 'd' an integer, 'f' a metric (4 decimals), 'h' a digest (12 characters),
 * 's' text, 'v' any value (a number in 6 digits, which a parameter such as
 * 1e-05 needs, a digest as 'h'), 'g' a signed difference. */
typedef struct {
	const char *key;
	const char *heading;
	char kind;
} column;

static const column models_cols[] = {
	{"name", "NAME", 's'}, {"versions", "VERSIONS", 'd'},
	{"production", "PRODUCTION", 'd'}, {"latest", "LATEST", 'd'},
	{"created", "CREATED", 's'}, {NULL, NULL, 0},
};
static const column versions_cols[] = {
	{"version", "VERSION", 'd'}, {"stage", "STAGE", 's'},
	{"created", "CREATED", 's'}, {"sha256", "SHA256", 'h'},
	{"run", "RUN", 'd'}, {"valid_auc", "VALID_AUC", 'f'},
	{"eval_auc", "EVAL_AUC", 'f'}, {NULL, NULL, 0},
};
static const column runs_cols[] = {
	{"id", "ID", 'd'}, {"tool", "TOOL", 's'}, {"status", "STATUS", 's'},
	{"started", "STARTED", 's'}, {"seconds", "SECONDS", 'f'},
	{"user", "USER", 's'}, {"error", "ERROR", 's'}, {NULL, NULL, 0},
};
static const column evaluations_cols[] = {
	{"id", "ID", 'd'}, {"version", "VERSION", 'd'},
	{"created", "CREATED", 's'}, {"data", "DATA", 'h'}, {"rows", "ROWS", 'd'},
	{"auc", "AUC", 'f'}, {"f1", "F1", 'f'}, {"log_loss", "LOG_LOSS", 'f'},
	{"run", "RUN", 'd'}, {NULL, NULL, 0},
};
/* An ensemble's epochs have their member first; one model's have none. */
static const column epochs_cols[] = {
	{"member", "MEMBER", 'd'},
	{"epoch", "EPOCH", 'd'}, {"loss", "LOSS", 'f'},
	{"valid_auc", "VALID_AUC", 'f'}, {"valid_loss", "VALID_LOSS", 'f'},
	{"best", "BEST", 's'}, {"rows_per_s", "ROWS/S", 'd'},
	{"seconds", "SECONDS", 'f'}, {"source", "SOURCE", 's'},
	{NULL, NULL, 0},
};
static const column audit_cols[] = {
	{"id", "ID", 'd'}, {"changed", "CHANGED", 's'},
	{"version", "VERSION", 'd'}, {"from", "FROM", 's'}, {"to", "TO", 's'},
	{"user", "USER", 's'}, {"reason", "REASON", 's'}, {NULL, NULL, 0},
};

/* Whether s is a SHA-256 as hex, which a table shortens. */
static int
digest(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The text of one cell, to free; control characters become '?' so that a
 * row stays one line. */
static char *
cell(const cJSON *row, const column *col)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, col->key);
	char buf[64], *s;

	if (v == NULL || cJSON_IsNull(v))
		return strdup("-");
	if (cJSON_IsNumber(v)) {
		if (col->kind == 'f')
			snprintf(buf, sizeof(buf), "%.4f", v->valuedouble);
		else if (col->kind == 'v')
			snprintf(buf, sizeof(buf), "%.6g", v->valuedouble);
		else if (col->kind == 'g')
			snprintf(buf, sizeof(buf), v->valuedouble == 0 ? "0" :
			    "%+.6g", v->valuedouble);
		else
			snprintf(buf, sizeof(buf), "%.0f", v->valuedouble);
		return strdup(buf);
	}
	if (!cJSON_IsString(v))
		return cJSON_PrintUnformatted(v);
	s = col->kind == 'h' || (col->kind == 'v' && digest(v->valuestring)) ?
	    strndup(v->valuestring, 12) : strdup(v->valuestring);
	for (char *p = s; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* Characters on screen: UTF-8 continuation bytes take no room. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Prints rows as aligned columns under a heading; numbers to the right. */
static void
table(const cJSON *rows, const column *cols)
{
	int ncols = 0, nrows = cJSON_GetArraySize(rows);
	size_t w[16] = {0};
	char **cells;

	while (cols[ncols].key != NULL)
		ncols++;
	if ((cells = calloc((size_t)(nrows * ncols) + 1, sizeof(*cells))) == NULL)
		tool_die(TP_EINTERNAL, "out of memory");
	for (int j = 0; j < ncols; j++)
		w[j] = width(cols[j].heading);
	for (int i = 0; i < nrows; i++)
		for (int j = 0; j < ncols; j++) {
			char *s = cell(cJSON_GetArrayItem(rows, i), &cols[j]);
			if (s == NULL)
				tool_die(TP_EINTERNAL, "out of memory");
			cells[i * ncols + j] = s;
			if (width(s) > w[j])
				w[j] = width(s);
		}
	for (int i = -1; i < nrows; i++) {
		for (int j = 0; j < ncols; j++) {
			const char *s = i < 0 ? cols[j].heading : cells[i * ncols + j];
			int pad = (int)(w[j] - width(s)), last = j == ncols - 1;
			int right = cols[j].kind == 'd' || cols[j].kind == 'f' ||
			    cols[j].kind == 'g';
			if (right)
				printf("%*s", pad, "");
			fputs(s, stdout);
			if (!right && !last)
				printf("%*s", pad, "");
			fputs(last ? "\n" : "  ", stdout);
		}
	}
	for (int i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
}

int
main(int argc, char **argv)
{
	settings s = {.limit = 20};
	tool_options families[] = {{options, &s}, {NULL, NULL}};
	const char *what;
	const column *cols;
	/* compare's: its columns are headed by the references compared. */
	column compare_cols[] = {
		{"section", "SECTION", 's'}, {"name", "NAME", 's'},
		{"a", "A", 'v'}, {"b", "B", 'v'},
		{"difference", "DIFFERENCE", 'g'}, {NULL, NULL, 0},
	};
	cJSON *rows = NULL;
	int first, rc;
	tp_db *db;
	tp_err e = {0};

	tool_init("registry", families, NULL, forms);
	first = tool_parse(argc, argv);
	argc -= first;
	argv += first;
	if (argc < 1)
		tool_usage(TP_EUSAGE);
	what = argv[0];
	/* How many operands each listing takes after its name. */
	int operands = strcmp(what, "compare") == 0 ? 2 :
	    strcmp(what, "versions") == 0 || strcmp(what, "evaluations") == 0 ||
	    strcmp(what, "audit") == 0 || strcmp(what, "epochs") == 0 ? 1 :
	    strcmp(what, "models") == 0 || strcmp(what, "runs") == 0 ? 0 : -1;
	if (operands < 0)
		tool_die(TP_EUSAGE, "\"%s\" is not models, versions, runs, "
		    "evaluations, audit, epochs or compare", what);
	if (argc != operands + 1)
		tool_usage(TP_EUSAGE);
	if ((tool_given("tool") || tool_given("limit")) &&
	    strcmp(what, "runs") != 0)
		tool_die(TP_EUSAGE, "--tool and --limit go with runs");
	if ((db = tool_db_open(s.db)) == NULL)
		tool_die(TP_EUSAGE, "the registry is in the database: give one with "
		    "--db or TABPIPE_DB");

	if (strcmp(what, "models") == 0) {
		cols = models_cols;
		rc = tp_registry_models(db, &rows, &e);
	} else if (strcmp(what, "versions") == 0) {
		cols = versions_cols;
		rc = tp_registry_versions(db, argv[1], &rows, &e);
	} else if (strcmp(what, "runs") == 0) {
		cols = runs_cols;
		rc = tp_registry_runs(db, s.tool, s.limit, &rows, &e);
	} else if (strcmp(what, "evaluations") == 0) {
		cols = evaluations_cols;
		rc = tp_registry_evaluations(db, argv[1], &rows, &e);
	} else if (strcmp(what, "audit") == 0) {
		cols = audit_cols;
		rc = tp_registry_audit(db, argv[1], &rows, &e);
	} else if (strcmp(what, "epochs") == 0) {
		rc = tp_registry_epochs(db, argv[1], &rows, &e);
		cols = rc == TP_OK && cJSON_HasObjectItem(cJSON_GetArrayItem(rows,
		    0), "member") ? epochs_cols : epochs_cols + 1;
	} else {
		compare_cols[2].heading = argv[1];
		compare_cols[3].heading = argv[2];
		cols = compare_cols;
		rc = tp_registry_compare(db, argv[1], argv[2], &rows, &e);
	}
	tp_db_close(db);
	if (rc != TP_OK)
		return tool_finish(tool_report(&e));
	if (s.json) {
		char *text = cJSON_PrintUnformatted(rows);
		if (text == NULL)
			tool_die(TP_EINTERNAL, "out of memory");
		puts(text);
		free(text);
	} else {
		table(rows, cols);
	}
	cJSON_Delete(rows);
	return tool_finish(TP_OK);
}
