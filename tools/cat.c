/* tabpipe-cat: a tensor stream back to CSV. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/encoding.h"
#include "data/stream.h"
#include "tool.h"

typedef struct {
	int encoding, quiet; /* quiet: cat has nothing to say but errors */
} settings;

static const tp_opt options[] = {
	{.key = "encoding", .offset = offsetof(settings, encoding),
	    .name = "encoding", .letter = 'e', .type = TP_OPT_FLAG,
	    .help = "print each stream's encoding instead of its rows"},
	TOOL_QUIET(settings, quiet),
	{0},
};

/* Prints one stream as CSV rows. The first stream printed sets the header
 * and the encoding that the others must share. */
static int
cat_stream(const char *path, char *first, tp_err *e)
{
	tp_stream_reader *r = NULL;
	tp_batch b = {0};
	FILE *f;
	long got;
	int rc;

	if ((rc = tp_open_input(path, &f, e)) != TP_OK)
		return rc;
	if ((rc = tp_stream_reader_open(&r, f, strcmp(path, "-") ? path :
	    "standard input", e)) != TP_OK)
		goto out;
	const tp_encoding *enc = tp_stream_encoding(r);
	if ((rc = tp_batch_init(&b, enc->ncat, enc->nnum, TP_STREAM_BLOCK_ROWS,
	    e)) != TP_OK)
		goto out;
	if (*first == '\0') {
		tp_encoding_write_header(enc, stdout);
		memcpy(first, enc->fingerprint, sizeof(enc->fingerprint));
	} else if (strcmp(first, enc->fingerprint) != 0) {
		rc = tp_err_set(e, TP_EDATA,
		    "%s: encoded differently (%.12s...) from the first stream (%.12s...): its rows would not fit the header",
		    path, enc->fingerprint, first);
		goto out;
	}
	while ((got = tp_stream_read(r, &b, b.cap, e)) > 0) {
		for (size_t i = 0; i < b.n; i++)
			tp_encoding_write_row(enc, stdout, tp_batch_row(&b, i));
		b.n = 0;
	}
	if (got < 0)
		rc = e->code;
out:
	tp_batch_free(&b);
	tp_stream_reader_close(r);
	tp_close_input(f);
	return rc;
}

/* Prints the encoding in a stream's header. */
static int
print_encoding(const char *path, tp_err *e)
{
	tp_stream_reader *r = NULL;
	FILE *f;
	int rc;

	if ((rc = tp_open_input(path, &f, e)) != TP_OK)
		return rc;
	if ((rc = tp_stream_reader_open(&r, f, strcmp(path, "-") ? path :
	    "standard input", e)) == TP_OK) {
		cJSON *json = tp_encoding_to_json(tp_stream_encoding(r));
		char *text = json ? cJSON_Print(json) : NULL;
		if (text == NULL)
			rc = tp_err_nomem(e, "the encoding's JSON");
		else
			puts(text);
		free(text);
		cJSON_Delete(json);
	}
	tp_stream_reader_close(r);
	tp_close_input(f);
	return rc;
}

int
main(int argc, char **argv)
{
	settings s = {0};
	tool_options families[] = {{options, &s}, {NULL, NULL}};
	char *stdin_only[] = {"-"};
	int first_operand, status = TP_OK;
	char first[65] = "";
	tp_err e = {0};

	tool_init("cat", families, "[file ...]", NULL);
	first_operand = tool_parse(argc, argv);
	argc -= first_operand;
	argv += first_operand;
	if (argc == 0) {
		argc = 1;
		argv = stdin_only;
	}
	/* A bad stream is reported and the others still printed; the exit
	 * status remembers it. */
	for (int i = 0; i < argc; i++) {
		int rc = s.encoding ? print_encoding(argv[i], &e) :
		    cat_stream(argv[i], first, &e);
		if (rc != TP_OK)
			status = tool_report(&e);
	}
	return tool_finish(status);
}
