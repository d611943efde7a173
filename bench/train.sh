#!/bin/sh
# Model speed benchmark: tabpipe against the same model in PyTorch
# (tests/golden/tabtransformer.py, Debian's python3-torch, on the same 2
# threads) on the training split of data/lending_club.csv, default model
# sizes (6 layers, d_model 32, 4 heads, d_ff 64), batch 256. Prints, with
# their ratios: training and pretraining rows/s (medians of the per-epoch
# rates the tools print, and of torch_speed.py's), batch inference rows/s
# and single-row latency (bench/speed.c and torch_speed.py, medians of
# RUNS runs), this machine's sgemm rate measured in the same run, the
# useful GFLOP/s of training as a share of it, and tabpipe-train's peak
# memory for 1 epoch and for EPOCHS (it should not grow with epochs).
#
#   sh bench/train.sh                  after `make`; BUILD=dir for another
#   EPOCHS=3 RUNS=5 sh bench/train.sh  build folder (default build)
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
epochs=${EPOCHS:-3}
runs=${RUNS:-5}
py=/usr/bin/python3
bin=$build/bin
if [ ! -x "$bin/tabpipe-train" ] || [ ! -f "$build/libtabpipe.a" ]; then
	echo "bench/train.sh: no tools in $build: run make (or set BUILD)" >&2
	exit 66
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

pkgs="libcjson zlib openblas libpq"
# shellcheck disable=SC2046,SC2086 # the package list and flags are words
cc -O2 -std=gnu11 -fopenmp -Ilib -Ibench $(pkg-config --cflags $pkgs) \
	-o "$work/speed" bench/speed.c "$build/libtabpipe.a" \
	$(pkg-config --libs $pkgs) -lm -pthread

"$bin/tabpipe-ingest" -q --target Class --positive bad --fit "$work/enc.json" \
	--split 70/15/15 --seed 1 --out "$work/lc" data/lending_club.csv
train=$work/lc.train.tps
rows=$("$py" -c 'import sys; sys.path.insert(0, "bench"); import tps
s = tps.load(sys.argv[1]); print(len(s), s.cat.shape[1] + s.num.shape[1])' "$train")

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The rows/s of each epoch line a tool printed.
rates() { sed -n 's/.* \([0-9][0-9]*\) rows\/s.*/\1/p' "$1"; }

# Other work on the machine slows both sides: say how busy it was.
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "tabpipe-train, $epochs epochs..." >&2
# Peak resident memory (KiB) of training for 1 epoch and for all: the
# issue wants it not to grow with the epochs.
/usr/bin/time -f '%M' -o "$work/mem1" "$bin/tabpipe-train" -q --epochs 1 \
	--seed 1 --threads 2 --valid "$work/lc.valid.tps" -o "$work/model.st" \
	"$train"
/usr/bin/time -f '%M' -o "$work/mem" "$bin/tabpipe-train" --epochs "$epochs" \
	--patience "$epochs" --seed 1 --threads 2 --valid "$work/lc.valid.tps" \
	-o "$work/model.st" "$train" 2>"$work/train.log"
echo "tabpipe-pretrain, $epochs epochs..." >&2
"$bin/tabpipe-pretrain" --epochs "$epochs" --seed 1 --threads 2 \
	-o "$work/enc.st" "$train" 2>"$work/pretrain.log"
echo "inference and sgemm..." >&2
"$work/speed" "$work/model.st" "$train" "$runs" >"$work/c"
{
	echo "train_rows_per_s $(rates "$work/train.log" | median)"
	echo "pretrain_rows_per_s $(rates "$work/pretrain.log" | median)"
	echo "train_kib_1 $(tail -1 "$work/mem1")"
	echo "train_kib $(tail -1 "$work/mem")"
} >>"$work/c"
echo "PyTorch..." >&2
(cd bench && "$py" torch_speed.py --train "$train" --epochs "$epochs" \
	--runs "$runs") >"$work/torch"

load1=$(cut -d' ' -f1-3 /proc/loadavg)

awk -v rows="$rows" -v epochs="$epochs" -v runs="$runs" -v load0="$load0" \
    -v load1="$load1" -v cpus="$(nproc)" '
	FILENAME ~ /\/c$/ { c[$1] = $2 }
	FILENAME ~ /\/torch$/ { t[$1] = $2 }
	function line(name, key, unit) {
		printf "  %-24s %10.0f %10.0f   %5.2fx\n", name " (" unit ")", c[key], t[key], c[key] / t[key]
	}
	END {
		split(rows, r, " ")
		printf "speed benchmark: data/lending_club.csv training split, %d rows, %d features;\n", r[1], r[2]
		printf "6 layers, d_model 32, 4 heads, d_ff 64, batch 256, 2 threads; medians of %d epochs / %d runs\n", epochs, runs
		printf "load average %s at the start, %s at the end, on %d CPUs\n\n", load0, load1, cpus
		printf "  %-24s %10s %10s   %s\n", "", "tabpipe", "PyTorch", "tabpipe/PyTorch"
		line("training", "train_rows_per_s", "rows/s")
		line("pretraining", "pretrain_rows_per_s", "rows/s")
		line("batch inference", "infer_rows_per_s", "rows/s")
		printf "  %-24s %10.1f %10.1f   %5.2fx faster\n", "single-row latency (us)", c["latency_us"], t["latency_us"], t["latency_us"] / c["latency_us"]
		f = c["forward_mflop_per_row"]
		gc = c["train_rows_per_s"] * 3 * f / 1000
		gt = t["train_rows_per_s"] * 3 * f / 1000
		printf "\n  sgemm on 2 threads (2048^3): %.1f GFLOP/s\n", c["sgemm_gflops"]
		printf "  model: %.3f MFLOP per row forward, 3x that per training row\n", f
		printf "  tabpipe-train peak memory: %d KiB for 1 epoch, %d KiB for %d\n", c["train_kib_1"], c["train_kib"], epochs
		printf "  useful training GFLOP/s: tabpipe %.1f (%.1f %% of sgemm), PyTorch %.1f (%.1f %%)\n", gc, 100 * gc / c["sgemm_gflops"], gt, 100 * gt / c["sgemm_gflops"]
		# In awk, > among printf arguments is a redirection.
		g1 = (c["train_rows_per_s"] >= 5 * t["train_rows_per_s"]) ? "met" : "not met"
		g2 = (c["infer_rows_per_s"] >= 4 * t["infer_rows_per_s"]) ? "met" : "not met"
		g3 = (c["latency_us"] < 100) ? "met" : "not met"
		printf "\n  goals: training >= 5x PyTorch: %s; batch inference >= 4x: %s; latency < 100 us: %s\n", g1, g2, g3
	}' "$work/c" "$work/torch"
