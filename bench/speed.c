/*
 * speed: the C side of bench/train.sh that no tool measures by itself.
 *
 *   speed MODEL STREAM [RUNS]
 *
 * prints "key value" lines: the kernels OpenBLAS chose for this CPU (or
 * that OPENBLAS_CORETYPE named), this machine's sgemm rate on 2 threads
 * (the physical limit of the matrix work), the model's FLOPs per row, the
 * batch inference rate of tp_score (what a predict tool runs) over the
 * whole stream, and the latency of scoring a single row; each the median
 * of RUNS runs (default 5). Training and pretraining rates come from the tools.
 * bench/train.sh builds it against the library and runs it.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "data/stream.h"
#include "model/mat.h"
#include "model/modelfile.h"
#include "model/score.h"
#include "timing.h"

/* GFLOP/s of a square sgemm of n on the given threads. */
static double
sgemm_rate(int n, int threads, int runs)
{
	size_t nn = (size_t)n * n;
	float *a = malloc(nn * sizeof(float)), *b = malloc(nn * sizeof(float));
	float *c = malloc(nn * sizeof(float));
	double t[64], r;

	if (a == NULL || b == NULL || c == NULL) {
		fprintf(stderr, "speed: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < nn; i++) {
		a[i] = (float)(i % 17) * 0.01f;
		b[i] = (float)(i % 13) * 0.01f;
	}
	tp_mat_threads(threads);
	tp_gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warm-up */
	for (int i = 0; i < runs; i++) {
		double t0 = tp_clock();
		tp_gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		t[i] = 2.0 * n * n * (double)n / (tp_clock() - t0) * 1e-9;
	}
	r = median(t, runs);
	free(a);
	free(b);
	free(c);
	return r;
}

/* Multiply-adds count 2: the products of one forward pass for one row. */
static double
forward_flops(const tp_model *m)
{
	const tp_config *c = &m->cfg;
	double T = m->T, C = c->d_model, F = c->d_ff, H = c->head_hidden;
	double layer = 2 * T * C * 3 * C    /* in_proj */
	    + 2 * 2 * T * T * C             /* Q K^T, att V */
	    + 2 * T * C * C                 /* out_proj */
	    + 2 * 2 * T * C * F;            /* linear1, linear2 */

	return c->layers * layer + 2 * C * H + 2 * H * 2;
}

static void
die(const tp_err *e)
{
	fprintf(stderr, "speed: %s\n", e->msg);
	exit(1);
}

int
main(int argc, char **argv)
{
	tp_model m;
	tp_encoding enc = {0}, menc = {0};
	tp_model_meta meta;
	tp_batch data = {0};
	tp_err e;
	int runs = argc > 3 ? atoi(argv[3]) : 5;
	double t[64];
	float *prob;

	if (argc < 3 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: speed model stream [runs (1-64)]\n");
		return 64;
	}
	printf("openblas_core %s\n", openblas_get_corename());
	printf("sgemm_gflops %.1f\n", sgemm_rate(2048, 2, runs));
	if (tp_stream_load(argv[2], &enc, &data, &e) != TP_OK)
		die(&e);
	if ((prob = malloc((data.n + 1) * sizeof(float))) == NULL) {
		fprintf(stderr, "speed: out of memory\n");
		return 1;
	}

	/* Batch inference, 2 threads, batches of 256 as tp_score makes them,
	 * the model frozen as tabpipe-predict's is. */
	if (tp_model_load(argv[1], &m, &menc, &meta, TP_WITH_HEAD, 2, &e) != TP_OK ||
	    tp_model_plan(&m, 256, &e) != TP_OK)
		die(&e);
	tp_model_freeze(&m);
	printf("forward_mflop_per_row %.4f\n", forward_flops(&m) * 1e-6);
	for (int i = 0; i < runs; i++) {
		double t0 = tp_clock();
		if (tp_score(&m, &data, prob, &e) != TP_OK)
			die(&e);
		t[i] = (double)data.n / (tp_clock() - t0);
	}
	printf("infer_rows_per_s %.0f\n", median(t, runs));
	tp_model_free(&m);
	tp_encoding_free(&menc);

	/* One row at a time on one thread, as a server answers a request
	 * (frozen, as tabpipe-predict's model is): each run the median of
	 * 1000 calls over different rows. */
	if (tp_model_load(argv[1], &m, &menc, &meta, TP_WITH_HEAD, 1, &e) != TP_OK ||
	    tp_model_plan(&m, 1, &e) != TP_OK)
		die(&e);
	tp_model_freeze(&m);
	static double call[1000];
	for (int i = 0; i < runs; i++) {
		for (int k = 0; k < 1000; k++) {
			size_t r = (size_t)(i * 1000 + k) % data.n;
			double t0 = tp_clock();
			tp_model_predict(&m, data.cat + r * data.ncat,
			    data.num + r * data.nnum, 1, prob);
			call[k] = tp_clock() - t0;
		}
		t[i] = median(call, 1000) * 1e6;
	}
	printf("latency_us %.1f\n", median(t, runs));
	tp_model_free(&m);
	tp_encoding_free(&menc);
	tp_encoding_free(&enc);
	tp_batch_free(&data);
	free(prob);
	return 0;
}
