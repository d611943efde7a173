/*
 * fuzz_ingest: the bytes as a CSV file given to tabpipe-ingest --fit
 * --target Class --positive bad --split 70/30 --max-rejects 3
 * (lib/data/ingest.h), in memory. When ingest accepts the input, what it
 * made must be readable by every reader of the project:
 *   - the encoding is UTF-8 JSON that tp_encoding_from_json reads back
 *     with the same fingerprint;
 *   - each stream reads back whole, with the encoding, the rows counted
 *     and the fingerprint that the writer gave;
 *   - the rows written back as CSV, as tabpipe-cat writes them, ingest
 *     again with the encoding, none rejected.
 */
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "data/encoding.h"
#include "data/ingest.h"
#include "data/stream.h"
#include "fuzz.h"

enum { NPARTS = 2 };

static const tp_ingest_opts fit_opts = {
	.target = "Class", .positive = "bad", .min_count = 1,
	.split = {70, 30}, .nsplit = NPARTS, .seed = 1, .max_rejects = 3,
};

/* The encoding as a reader sees it: its JSON read back, and UTF-8. */
static void
check_encoding(const tp_encoding *enc)
{
	char *text = fuzz_encoding_again(enc, "the fitted encoding");
	size_t len = strlen(text), end = tp_text_end(text, len);

	if (end != len)
		fuzz_fail("the fitted encoding's JSON is not UTF-8 at byte %zu: %s",
		    end + 1, text);
	free(text);
}

/* Reads a stream written with enc back: it must hold rows rows of this
 * fingerprint. Writes them to cat as CSV, as tabpipe-cat does, unless cat
 * is NULL. */
static void
read_back(const char *buf, size_t len, const tp_encoding *enc,
    uint64_t rows, const char *fingerprint, FILE *cat)
{
	FILE *f = fuzz_memfile(buf, len);
	tp_stream_reader *r;
	tp_batch b;
	tp_err e = {0};
	long got;
	char fp[65];

	if (tp_stream_reader_open(&r, f, "written", &e) != TP_OK)
		fuzz_fail("a written stream does not open: %s", e.msg);
	if (strcmp(tp_stream_encoding(r)->fingerprint, enc->fingerprint) != 0)
		fuzz_fail("a written stream has another encoding");
	if (tp_batch_init(&b, enc->ncat, enc->nnum, 1, &e) != TP_OK)
		fuzz_fail("%s", e.msg);
	while ((got = tp_stream_read(r, &b, SIZE_MAX, &e)) > 0)
		;
	if (got < 0)
		fuzz_fail("a written stream does not read back: %s", e.msg);
	if (b.n != rows || tp_stream_rows(r) != rows)
		fuzz_fail("a stream of %llu rows reads back as %zu",
		    (unsigned long long)rows, b.n);
	tp_batch_fingerprint(&b, fp);
	if (strcmp(fp, fingerprint) != 0)
		fuzz_fail("a written stream's rows read back as others");
	for (size_t i = 0; cat != NULL && i < b.n; i++)
		tp_encoding_write_row(enc, cat, tp_batch_row(&b, i));
	tp_batch_free(&b);
	tp_stream_reader_close(r);
	fclose(f);
}

/* Encodes in with enc into the streams of o's split (one without a split)
 * and reads them back, their rows to cat (or NULL) as CSV; *rows gets
 * the rows written. The status of tp_ingest_write. */
static int
write_streams(const tp_ingest_opts *o, tp_input *in, const tp_encoding *enc,
    FILE *cat, uint64_t *rows, tp_err *e)
{
	tp_stream_writer *w[NPARTS] = {0};
	char *buf[NPARTS] = {0}, fp[NPARTS][65];
	size_t len[NPARTS] = {0};
	FILE *f[NPARTS] = {0};
	tp_ingest_counts counts;
	int n = o->nsplit > 1 ? o->nsplit : 1, rc;

	*rows = 0;
	for (int i = 0; i < n; i++) {
		f[i] = fuzz_memout(&buf[i], &len[i]);
		if (tp_stream_writer_open(&w[i], f[i], "written", enc, e) != TP_OK)
			fuzz_fail("%s", e->msg);
	}
	rc = tp_ingest_write(o, in, 1, enc, w, &counts, e);
	for (int i = 0; i < n; i++) {
		if (rc != TP_OK)
			tp_stream_writer_abort(w[i]);
		else if (tp_stream_writer_close(w[i], fp[i], e) != TP_OK)
			fuzz_fail("%s", e->msg);
		if (fclose(f[i]) != 0)
			fuzz_fail("writing a stream to memory failed");
	}
	for (int i = 0; i < n && rc == TP_OK; i++) {
		read_back(buf[i], len[i], enc, counts.written[i], fp[i], cat);
		*rows += counts.written[i];
	}
	if (rc == TP_OK && counts.read != counts.rejected + *rows)
		fuzz_fail("%llu rows read, %llu rejected, %llu written",
		    (unsigned long long)counts.read,
		    (unsigned long long)counts.rejected,
		    (unsigned long long)*rows);
	for (int i = 0; i < n; i++)
		free(buf[i]);
	return rc;
}

/* The rows as tabpipe-cat wrote them, csv, ingest again with enc. */
static void
ingest_again(const tp_encoding *enc, const char *csv, size_t len,
    uint64_t rows)
{
	const tp_ingest_opts apply = {.min_count = 1};
	tp_input in = {.name = "cat", .f = fuzz_memfile(csv, len)};
	uint64_t again;
	tp_err e = {0};
	int rc = write_streams(&apply, &in, enc, NULL, &again, &e);

	if (rc != TP_OK)
		fuzz_fail("the rows written as CSV do not ingest again: %s\n%.*s",
		    e.msg, (int)len, csv);
	if (again != rows)
		fuzz_fail("%llu rows written as CSV ingest as %llu",
		    (unsigned long long)rows, (unsigned long long)again);
	fclose(in.f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tp_input in = {.name = "input.csv", .f = fuzz_memfile(data, size)};
	tp_encoding enc = {0};
	char *csv = NULL;
	size_t len = 0;
	uint64_t rows;
	tp_err e = {0};
	int ignored = 0;

	if (tp_ingest_fit(&fit_opts, &in, 1, &enc, &e) != TP_OK) {
		if (e.msg[0] == '\0')
			fuzz_fail("a failed fit without a message");
		goto out;
	}
	check_encoding(&enc);
	FILE *cat = fuzz_memout(&csv, &len);
	tp_encoding_write_header(&enc, cat);
	int rc = write_streams(&fit_opts, &in, &enc, cat, &rows, &e);
	if (fclose(cat) != 0)
		fuzz_fail("writing CSV to memory failed");
	/* Ignored columns are not written back: such CSV has fewer columns
	 * than the encoding. */
	for (int i = 0; i < enc.ncols; i++)
		ignored |= enc.cols[i].kind == TP_KIND_IGNORE;
	if (rc == TP_OK && !ignored)
		ingest_again(&enc, csv, len, rows);
out:
	free(csv);
	tp_encoding_free(&enc);
	fclose(in.f);
	return 0;
}
