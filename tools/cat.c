/* tabpipe-cat: tensor streams back to CSV, or joined into one stream. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/encoding.h"
#include "data/shard.h"
#include "data/stream.h"
#include "tool.h"

typedef struct {
	int encoding, stream, quiet; /* quiet: cat has nothing to say but errors */
} settings;

static const tp_opt options[] = {
	{.key = "encoding", .offset = offsetof(settings, encoding),
	    .name = "encoding", .letter = 'e', .type = TP_OPT_FLAG,
	    .help = "print each stream's encoding instead of its rows"},
	{.key = "stream", .offset = offsetof(settings, stream),
	    .name = "stream", .letter = 's', .type = TP_OPT_FLAG,
	    .help = "write the rows as one tensor stream, not as CSV"},
	TOOL_QUIET(settings, quiet),
	{0},
};

/* Prints the rows of the input, the files as one stream, as CSV under one
 * header; or, with to_stream, writes them as one tensor stream. */
static int
cat(char **files, int n, const tp_shard *shard, int to_stream, tp_err *e)
{
	tp_shard_reader *r = NULL;
	tp_stream_writer *w = NULL;
	tp_batch b = {0};
	long got;
	int rc;

	if ((rc = tp_shard_reader_open(&r, files, n, shard, e)) != TP_OK)
		return rc;
	const tp_encoding *enc = tp_shard_reader_encoding(r);
	if ((rc = tp_batch_init(&b, enc->ncat, enc->nnum, TP_STREAM_BLOCK_ROWS,
	    e)) != TP_OK)
		goto out;
	if (to_stream)
		rc = tp_stream_writer_open(&w, stdout, "standard output", enc, e);
	else
		tp_encoding_write_header(enc, stdout);
	while (rc == TP_OK && (got = tp_shard_read(r, &b, b.cap, e)) > 0) {
		if (to_stream)
			rc = tp_stream_writer_write(w, &b, e);
		else
			for (size_t i = 0; i < b.n; i++)
				tp_encoding_write_row(enc, stdout, tp_batch_row(&b, i));
		b.n = 0;
	}
	if (rc == TP_OK && got < 0)
		rc = e->code;
	/* The joined stream counts the files' unseen values; a shard's are
	 * not known, and it counts none. */
	if (rc == TP_OK && w != NULL) {
		if (tp_shard_reader_unseen(r) != NULL)
			tp_stream_writer_unseen(w, tp_shard_reader_unseen(r));
		rc = tp_stream_writer_close(w, NULL, e);
		w = NULL;
	}
out:
	/* A stream cut short has no end block: its reader says so. */
	tp_stream_writer_abort(w);
	tp_batch_free(&b);
	tp_shard_reader_close(r);
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
	tp_shard shard = {0};
	tool_options families[] = {
		{options, &s}, {tp_shard_options, &shard}, {NULL, NULL},
	};
	int n, status = TP_OK;
	char **files;
	tp_err e = {0};

	tool_init("cat", families, "[file ...]", NULL);
	tool_parse(argc, argv);
	files = tool_inputs(argc, argv, &n);
	if (s.encoding && (s.stream || shard.n > 0))
		tool_die(TP_EUSAGE, "-e prints each file's encoding: it takes no -s or --shard");
	if (s.stream)
		tool_binary_stdout();
	if (!s.encoding) {
		if ((status = cat(files, n, &shard, s.stream, &e)) != TP_OK)
			tool_report(&e);
		return tool_finish(status);
	}
	/* A header that cannot be read is reported and the others still
	 * printed; the exit status remembers it. */
	for (int i = 0; i < n; i++)
		if (print_encoding(files[i], &e) != TP_OK)
			status = tool_report(&e);
	return tool_finish(status);
}
