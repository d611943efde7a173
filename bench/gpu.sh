#!/bin/sh
# GPU speed benchmark: tabpipe's CUDA backend (--device cuda) against the
# same model in PyTorch (tests/golden/tabtransformer.py) on the same GPU,
# CUDA, eager mode, the same batch sizes (256 and 4096), default model sizes
# (6 layers, d_model 32, 4 heads, d_ff 64), on the training split of
# data/lending_club.csv repeated REPEAT times (so that an epoch at batch
# 4096 is more than a few steps). Prints, with their ratios: training and
# pretraining rows/s (medians of the per-epoch rates; tabpipe's from the
# tools' epoch lines), batch inference rows/s and single-row latency
# (medians of RUNS runs), the GPU's float32 cuBLAS sgemm rate measured in
# the same run (tabpipe multiplies in full float32, no TF32), and the
# useful training GFLOP/s of each side as a share of it.
#
# Both sides send each batch from host memory and bring the loss or the
# probabilities back, as the tools do. PyTorch's side is
# bench/torch_speed.py --device cuda: the training loop of
# bench/reference.py (the same schedule, clipping and torch.optim.AdamW as
# the CPU comparison of bench/train.sh) with the model on the GPU.
#
#   make CUDA=1 BUILD=build-cuda && sh bench/gpu.sh
#   BUILD=dir EPOCHS=3 RUNS=5 REPEAT=16 sh bench/gpu.sh
#
# Without a GPU (nvidia-smi -L finds none) it says so and exits 0, having
# measured nothing.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build-cuda}
epochs=${EPOCHS:-3}
runs=${RUNS:-5}
repeat=${REPEAT:-16}
py=/usr/bin/python3
bin=$build/bin
cuda_home=${CUDA_HOME:-/usr/local/cuda}

if ! gpus=$(nvidia-smi -L 2>/dev/null) || [ -z "$gpus" ]; then
	echo "bench/gpu.sh: no GPU: nothing measured (nvidia-smi -L finds none)"
	exit 0
fi
if [ ! -x "$bin/tabpipe-train" ] || [ ! -f "$build/libtabpipe.a" ]; then
	echo "bench/gpu.sh: no tools in $build: run make CUDA=1 BUILD=$build (or set BUILD)" >&2
	exit 66
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-gpu.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The tools say at once whether they can use the GPU: a build without CUDA
# or a GPU the runtime cannot open ends the benchmark here.
status=0
"$bin/tabpipe-evaluate" --device cuda -m "$work/none" "$work/none" \
	2>"$work/probe" || status=$?
if [ "$status" -eq 69 ]; then
	echo "bench/gpu.sh: $(cat "$work/probe")" >&2
	exit 69
fi
device=$(nvidia-smi --query-gpu=name,driver_version,memory.total \
	--format=csv,noheader -i 0)

# The C side of what no tool measures by itself: batch inference and
# single-row latency through tp_scorer on the GPU, and the sgemm rate.
cat >"$work/gpu_speed.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cuda/device.h"
#include "modelfile.h"
#include "stream.h"
#include "timing.h"
#include "train.h"

static void
die(const tp_err *e)
{
	fprintf(stderr, "gpu_speed: %s\n", e->msg);
	exit(1);
}

/* Rows [r, r + n) of d, without a copy. */
static tp_batch
slice(const tp_batch *d, size_t r, size_t n)
{
	tp_batch b = *d;

	b.id += r;
	b.cat += r * (size_t)d->ncat;
	b.num += r * (size_t)d->nnum;
	b.label += r;
	b.n = b.cap = n;
	return b;
}

/* GFLOP/s of a float32 sgemm of n cubed on the device. */
static double
sgemm_rate(int n, int runs)
{
	tp_cuda g = {0};
	tp_err e = {0};
	float *a, *b, *c;
	size_t bytes = (size_t)n * n * sizeof(float);
	double t[64];

	if (tp_cuda_open(&g, 0, &e) != TP_OK ||
	    tp_cuda_alloc(&g, (void **)&a, bytes, "A", &e) != TP_OK ||
	    tp_cuda_alloc(&g, (void **)&b, bytes, "B", &e) != TP_OK ||
	    tp_cuda_alloc(&g, (void **)&c, bytes, "C", &e) != TP_OK)
		die(&e);
	tp_cuda_zero(&g, a, bytes);
	tp_cuda_zero(&g, b, bytes);
	tp_cuda_gemm(&g, 0, 0, n, n, n, 1, a, n, b, n, 0, c, n);
	if (tp_cuda_sync(&g, &e) != TP_OK)
		die(&e);
	for (int i = 0; i < runs; i++) {
		double t0 = tp_clock();
		for (int k = 0; k < 10; k++)
			tp_cuda_gemm(&g, 0, 0, n, n, n, 1, a, n, b, n, 0, c, n);
		if (tp_cuda_sync(&g, &e) != TP_OK)
			die(&e);
		t[i] = 10 * 2.0 * n * (double)n * n / (tp_clock() - t0) * 1e-9;
	}
	tp_cuda_free(a);
	tp_cuda_free(b);
	tp_cuda_free(c);
	tp_cuda_close(&g);
	return median(t, runs);
}

int
main(int argc, char **argv)
{
	tp_model m = {0};
	tp_encoding enc = {0}, menc = {0};
	tp_model_meta meta;
	tp_batch d = {0};
	tp_scorer *s;
	tp_err e = {0};
	double t[64];
	float *prob;
	int runs;

	if (argc != 4 || (runs = atoi(argv[3])) < 1 || runs > 64) {
		fprintf(stderr, "usage: gpu_speed model stream runs (1-64)\n");
		return 64;
	}
	printf("sgemm_gflops %.0f\n", sgemm_rate(8192, runs));
	if (tp_stream_load(argv[2], &enc, &d, &e) != TP_OK ||
	    tp_model_load(argv[1], &m, &menc, &meta, TP_WITH_HEAD, 1, &e) != TP_OK ||
	    tp_scorer_open(&s, &m, TP_DEVICE_CUDA, &e) != TP_OK)
		die(&e);
	if ((prob = malloc((d.n + 1) * sizeof(float))) == NULL) {
		fprintf(stderr, "gpu_speed: out of memory\n");
		return 1;
	}
	static const int batch[] = {256, 4096};
	for (int k = 0; k < 2; k++) {
		size_t B = (size_t)batch[k];
		for (int i = -1; i < runs; i++) {
			double t0 = tp_clock();
			for (size_t r = 0; r < d.n; r += B) {
				tp_batch b = slice(&d, r, d.n - r < B ? d.n - r : B);
				if (tp_scorer_run(s, &b, prob + r, &e) != TP_OK)
					die(&e);
			}
			/* the first pass plans the device's buffers */
			if (i >= 0)
				t[i] = (double)d.n / (tp_clock() - t0);
		}
		printf("infer_rows_per_s_%zu %.0f\n", B, median(t, runs));
	}
	for (int i = 0; i < runs; i++) {
		double call[1000];
		for (int k = 0; k < 1000; k++) {
			tp_batch b = slice(&d, ((size_t)i * 1000 + (size_t)k) % d.n, 1);
			double t0 = tp_clock();
			if (tp_scorer_run(s, &b, prob, &e) != TP_OK)
				die(&e);
			call[k] = tp_clock() - t0;
		}
		t[i] = median(call, 1000) * 1e6;
	}
	printf("latency_us %.1f\n", median(t, runs));
	tp_scorer_close(s);
	tp_model_free(&m);
	tp_encoding_free(&menc);
	tp_encoding_free(&enc);
	tp_batch_free(&d);
	free(prob);
	return 0;
}
EOF

pkgs="libcjson zlib openblas libpq"
# shellcheck disable=SC2046,SC2086 # the package list and flags are words
cc -O2 -std=gnu11 -fopenmp -DTP_CUDA -Ilib -Ibench $(pkg-config --cflags $pkgs) \
	-o "$work/gpu_speed" "$work/gpu_speed.c" "$build/libtabpipe.a" \
	$(pkg-config --libs $pkgs) -L"$cuda_home/lib64" \
	-Wl,-rpath,"$cuda_home/lib64" -lcublas -lcudart -lstdc++ -lm -pthread
# bench/speed.c gives the model's FLOPs per row (its CPU figures are not
# used here).
# shellcheck disable=SC2046,SC2086
cc -O2 -std=gnu11 -fopenmp -Ilib -Ibench $(pkg-config --cflags $pkgs) \
	-o "$work/speed" bench/speed.c "$build/libtabpipe.a" \
	$(pkg-config --libs $pkgs) -L"$cuda_home/lib64" \
	-Wl,-rpath,"$cuda_home/lib64" -lcublas -lcudart -lstdc++ -lm -pthread

{
	head -n 1 data/lending_club.csv
	i=0
	while [ "$i" -lt "$repeat" ]; do
		tail -n +2 data/lending_club.csv
		i=$((i + 1))
	done
} >"$work/lc.csv"
"$bin/tabpipe-ingest" -q --target Class --positive bad --fit "$work/enc.json" \
	--split 70/15/15 --seed 1 --out "$work/lc" "$work/lc.csv"
train=$work/lc.train.tps
rows=$("$py" -c 'import sys; sys.path.insert(0, "bench"); import tps
s = tps.load(sys.argv[1]); print(len(s), s.cat.shape[1] + s.num.shape[1])' "$train")

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rates() { sed -n 's/.* \([0-9][0-9]*\) rows\/s.*/\1/p' "$1"; }

: >"$work/c"
for batch in 256 4096; do
	echo "tabpipe-train --device cuda --batch $batch, $epochs epochs..." >&2
	"$bin/tabpipe-train" --device cuda --batch "$batch" --epochs "$epochs" \
		--patience "$epochs" --seed 1 --valid "$work/lc.valid.tps" \
		-o "$work/model.st" "$train" 2>"$work/train.log"
	echo "tabpipe-pretrain --device cuda --batch $batch, $epochs epochs..." >&2
	"$bin/tabpipe-pretrain" --device cuda --batch "$batch" --epochs "$epochs" \
		--seed 1 -o "$work/enc.st" "$train" 2>"$work/pretrain.log"
	{
		echo "train_rows_per_s_$batch $(rates "$work/train.log" | median)"
		echo "pretrain_rows_per_s_$batch $(rates "$work/pretrain.log" | median)"
	} >>"$work/c"
done
echo "inference, latency and sgemm on the GPU..." >&2
"$work/gpu_speed" "$work/model.st" "$train" "$runs" >>"$work/c"
"$work/speed" "$work/model.st" "$work/lc.test.tps" 1 |
	grep '^forward_mflop_per_row ' >>"$work/c"
echo "PyTorch on the GPU..." >&2
: >"$work/torch"
for batch in 256 4096; do
	(cd bench && "$py" torch_speed.py --device cuda --train "$train" \
		--epochs "$epochs" --runs "$runs" --batch "$batch") \
		>"$work/torch.$batch"
	# torch_speed.py's keys, with the batch size on the rates.
	sed "s/^\([a-z_]*_per_s\) /\1_$batch /" "$work/torch.$batch" >>"$work/torch"
done

awk -v rows="$rows" -v epochs="$epochs" -v runs="$runs" -v repeat="$repeat" \
    -v device="$device" -v tv="$("$py" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')" '
	FILENAME ~ /\/c$/ { c[$1] = $2 }
	FILENAME ~ /\/torch$/ { t[$1] = $2 }
	function line(name, key, unit) {
		printf "  %-30s %10.0f %10.0f   %6.2fx\n", name " (" unit ")", c[key], t[key], c[key] / t[key]
	}
	END {
		split(rows, r, " ")
		printf "GPU speed benchmark on %s\n", device
		printf "data/lending_club.csv x %d, training split: %d rows, %d features\n", repeat, r[1], r[2]
		printf "6 layers, d_model 32, 4 heads, d_ff 64; medians of %d epochs / %d runs; PyTorch %s, eager\n\n", epochs, runs, tv
		printf "  %-30s %10s %10s   %s\n", "", "tabpipe", "PyTorch", "tabpipe/PyTorch"
		f = c["forward_mflop_per_row"]
		for (i = 1; i <= 2; i++) {
			b = i == 1 ? 256 : 4096
			line("training, batch " b, "train_rows_per_s_" b, "rows/s")
			line("pretraining, batch " b, "pretrain_rows_per_s_" b, "rows/s")
			line("inference, batch " b, "infer_rows_per_s_" b, "rows/s")
		}
		printf "  %-30s %10.1f %10.1f   %6.2fx faster\n", "single-row latency (us)", c["latency_us"], t["latency_us"], t["latency_us"] / c["latency_us"]
		printf "\n  cuBLAS sgemm, float32 (8192^3): %.0f GFLOP/s\n", c["sgemm_gflops"]
		printf "  model: %.3f MFLOP per row forward, 3x that per training row\n", f
		for (i = 1; i <= 2; i++) {
			b = i == 1 ? 256 : 4096
			gc = c["train_rows_per_s_" b] * 3 * f / 1000
			gt = t["train_rows_per_s_" b] * 3 * f / 1000
			printf "  useful training GFLOP/s at batch %d: tabpipe %.1f (%.2f %% of sgemm), PyTorch %.1f (%.2f %%)\n", b, gc, 100 * gc / c["sgemm_gflops"], gt, 100 * gt / c["sgemm_gflops"]
		}
		# In awk, > among printf arguments is a redirection.
		g1 = (c["train_rows_per_s_256"] > t["train_rows_per_s_256"]) ? "met" : "not met"
		g2 = (c["train_rows_per_s_4096"] > t["train_rows_per_s_4096"]) ? "met" : "not met"
		printf "\n  goal, training faster than PyTorch eager: batch 256 %s; batch 4096 %s\n", g1, g2
	}' "$work/c" "$work/torch"
