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
# The machine's noise moves either side by tens of percent from one
# minute to the next, so ROUNDS repeats the whole measurement, both
# sides each time, back to back: a line a round, then the medians over
# the rounds of each figure and of each round's ratio, and the goals
# judged on those median ratios.
#
# With BASE, another build's tabpipe is measured too in every round, this
# build and BASE taking turns to go first, and a second table gives each
# figure of both and their ratio this/BASE: an A/B of a change, judged on
# the medians of the rounds and on how far the rounds spread.
#
#   sh bench/train.sh                           after `make`
#   EPOCHS=3 RUNS=5 ROUNDS=6 sh bench/train.sh  the defaults, but ROUNDS (1)
#   BUILD=dir sh bench/train.sh                 another build folder (build)
#   BASE=dir ROUNDS=6 sh bench/train.sh         A/B against a build of
#                                               another commit
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
epochs=${EPOCHS:-3}
runs=${RUNS:-5}
rounds=${ROUNDS:-1}
case $rounds in
''|*[!0-9]*|0*) echo "bench/train.sh: ROUNDS must be a whole number from 1" >&2; exit 64 ;;
esac
base=${BASE:-}
py=/usr/bin/python3
bin=$build/bin
for b in "$build" $base; do
	if [ ! -x "$b/bin/tabpipe-train" ] || [ ! -f "$b/libtabpipe.a" ]; then
		echo "bench/train.sh: no tools in $b: run make there" >&2
		exit 66
	fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

pkgs="libcjson zlib openblas libpq"
# link BUILD NAME: bench/speed.c against the library of BUILD, as
# $work/NAME. A build inside a source tree (a clean export of another
# commit, built in its build/) gets that tree's speed.c and headers: the
# library's structs and functions are its commit's.
link() {
	src=$(dirname "$1")
	[ -f "$src/bench/speed.c" ] && [ -d "$src/lib" ] || src=.
	# shellcheck disable=SC2046,SC2086 # the package list and flags are words
	cc -O2 -std=gnu11 -fopenmp -I"$src/lib" -I"$src/bench" \
		$(pkg-config --cflags $pkgs) -o "$work/$2" "$src/bench/speed.c" \
		"$1/libtabpipe.a" $(pkg-config --libs $pkgs) -lm -pthread
}
link "$build" speed
[ -z "$base" ] || link "$base" base-speed

"$bin/tabpipe-ingest" -q --target Class --positive bad --fit "$work/enc.json" \
	--split 70/15/15 --seed 1 --out "$work/lc" data/lending_club.csv
train=$work/lc.train.tps
rows=$("$py" -c 'import sys; sys.path.insert(0, "bench"); import tps
s = tps.load(sys.argv[1]); print(len(s), s.cat.shape[1] + s.num.shape[1])' "$train")

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The rows/s of each epoch line a tool printed.
rates() { sed -n 's/.* \([0-9][0-9]*\) rows\/s.*/\1/p' "$1"; }

# tabpipe BIN SPEED OUT ROUND: one build's training, pretraining,
# inference and memory, appended to OUT.
tabpipe() {
	echo "round $4 of $rounds: $1: tabpipe-train, $epochs epochs..." >&2
	# Peak resident memory (KiB) of training for 1 epoch and for all: it
	# should not grow with the epochs.
	/usr/bin/time -f '%M' -o "$work/mem1" "$1/tabpipe-train" -q \
		--epochs 1 --seed 1 --threads 2 --valid "$work/lc.valid.tps" \
		-o "$work/model.st" "$train"
	/usr/bin/time -f '%M' -o "$work/mem" "$1/tabpipe-train" \
		--epochs "$epochs" --patience "$epochs" --seed 1 --threads 2 \
		--valid "$work/lc.valid.tps" -o "$work/model.st" "$train" \
		2>"$work/train.log"
	echo "round $4 of $rounds: $1: tabpipe-pretrain, $epochs epochs..." >&2
	"$1/tabpipe-pretrain" --epochs "$epochs" --seed 1 --threads 2 \
		-o "$work/enc.st" "$train" 2>"$work/pretrain.log"
	echo "round $4 of $rounds: $1: inference and sgemm..." >&2
	"$2" "$work/model.st" "$train" "$runs" >>"$3"
	{
		echo "train_rows_per_s $(rates "$work/train.log" | median)"
		echo "pretrain_rows_per_s $(rates "$work/pretrain.log" | median)"
		echo "train_kib_1 $(tail -1 "$work/mem1")"
		echo "train_kib $(tail -1 "$work/mem")"
	} >>"$3"
}

# One round: every side once, into $work/c.N (this build), $work/b.N
# (BASE) and $work/torch.N. Other work on the machine slows every side:
# each round says how busy it was. This build and BASE take turns to go
# first, so that neither has the machine's better minutes each time.
measure() {
	c=$work/c.$1
	echo "load_start $(cut -d' ' -f1 /proc/loadavg)" >"$c"
	if [ -n "$base" ] && [ $(($1 % 2)) -eq 0 ]; then
		tabpipe "$base/bin" "$work/base-speed" "$work/b.$1" "$1"
	fi
	tabpipe "$bin" "$work/speed" "$c" "$1"
	if [ -n "$base" ] && [ $(($1 % 2)) -eq 1 ]; then
		tabpipe "$base/bin" "$work/base-speed" "$work/b.$1" "$1"
	fi
	echo "round $1 of $rounds: PyTorch..." >&2
	(cd bench && "$py" torch_speed.py --train "$train" --epochs "$epochs" \
		--runs "$runs") >"$work/torch.$1"
	echo "load_end $(cut -d' ' -f1 /proc/loadavg)" >>"$c"
}
i=1
while [ "$i" -le "$rounds" ]; do
	measure "$i"
	i=$((i + 1))
done

awk -v rows="$rows" -v epochs="$epochs" -v runs="$runs" -v rounds="$rounds" \
    -v cpus="$(nproc)" '
	{ n = split(FILENAME, p, "."); k = p[n] }
	FILENAME ~ /\/c\.[0-9]+$/ { c[k, $1] = $2 }
	FILENAME ~ /\/torch\.[0-9]+$/ { t[k, $1] = $2 }
	# The median over the rounds of v[1..rounds], which it sorts.
	function median(v,    i, j, x) {
		for (i = 2; i <= rounds; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				x = v[j]; v[j] = v[j - 1]; v[j - 1] = x
			}
		return (rounds % 2) ? v[(rounds + 1) / 2] : (v[rounds / 2] + v[rounds / 2 + 1]) / 2
	}
	# The median of a key of one side (s: c or t) over the rounds.
	function med(s, key,    i, v) {
		for (i = 1; i <= rounds; i++)
			v[i] = (s == "c") ? c[i, key] : t[i, key]
		return median(v)
	}
	# The median over the rounds of tabpipe / PyTorch, or, with inv,
	# PyTorch / tabpipe (latency: how many times faster).
	function medratio(key, inv,    i, v) {
		for (i = 1; i <= rounds; i++)
			v[i] = inv ? t[i, key] / c[i, key] : c[i, key] / t[i, key]
		return median(v)
	}
	function gflops(s, i) {
		return ((s == "c") ? c[i, "train_rows_per_s"] : t[i, "train_rows_per_s"]) * 3 * c[i, "forward_mflop_per_row"] / 1000
	}
	function line(name, key, unit) {
		printf "  %-24s %10.0f %10.0f   %5.2fx\n", name " (" unit ")", med("c", key), med("t", key), medratio(key, 0)
	}
	END {
		split(rows, r, " ")
		printf "speed benchmark: data/lending_club.csv training split, %d rows, %d features;\n", r[1], r[2]
		printf "6 layers, d_model 32, 4 heads, d_ff 64, batch 256, 2 threads; medians of %d epochs / %d runs\n", epochs, runs
		printf "OpenBLAS kernels: %s; %d CPUs\n\n", c[1, "openblas_core"], cpus
		printf "  %-5s %-11s %-17s %-7s %-8s %-17s %-7s %-14s %-7s\n", "round", "load", "training rows/s", "ratio", "pretrain", "inference rows/s", "ratio", "latency us", "sgemm"
		for (i = 1; i <= rounds; i++) {
			printf "  %-5d %-11s %-17s %-7s %-8s %-17s %-7s %-14s %-7.0f\n", i,
			    c[i, "load_start"] "-" c[i, "load_end"],
			    sprintf("%.0f (%.0f)", c[i, "train_rows_per_s"], t[i, "train_rows_per_s"]),
			    sprintf("%.2fx", c[i, "train_rows_per_s"] / t[i, "train_rows_per_s"]),
			    sprintf("%.2fx", c[i, "pretrain_rows_per_s"] / t[i, "pretrain_rows_per_s"]),
			    sprintf("%.0f (%.0f)", c[i, "infer_rows_per_s"], t[i, "infer_rows_per_s"]),
			    sprintf("%.2fx", c[i, "infer_rows_per_s"] / t[i, "infer_rows_per_s"]),
			    sprintf("%.1f (%.0f)", c[i, "latency_us"], t[i, "latency_us"]),
			    c[i, "sgemm_gflops"]
		}
		printf "\n  %-24s %10s %10s   %s\n", (rounds > 1) ? "medians of the rounds" : "", "tabpipe", "PyTorch", "tabpipe/PyTorch"
		line("training", "train_rows_per_s", "rows/s")
		line("pretraining", "pretrain_rows_per_s", "rows/s")
		line("batch inference", "infer_rows_per_s", "rows/s")
		printf "  %-24s %10.1f %10.1f   %5.2fx faster\n", "single-row latency (us)", med("c", "latency_us"), med("t", "latency_us"), medratio("latency_us", 1)
		for (i = 1; i <= rounds; i++) {
			gc[i] = gflops("c", i); gt[i] = gflops("t", i)
			sc[i] = 100 * gc[i] / c[i, "sgemm_gflops"]; st[i] = 100 * gt[i] / c[i, "sgemm_gflops"]
		}
		printf "\n  sgemm on 2 threads (2048^3): %.1f GFLOP/s\n", med("c", "sgemm_gflops")
		printf "  model: %.3f MFLOP per row forward, 3x that per training row\n", c[1, "forward_mflop_per_row"]
		printf "  tabpipe-train peak memory: %d KiB for 1 epoch, %d KiB for %d\n", med("c", "train_kib_1"), med("c", "train_kib"), epochs
		printf "  useful training GFLOP/s: tabpipe %.1f (%.1f %% of sgemm), PyTorch %.1f (%.1f %%)\n", median(gc), median(sc), median(gt), median(st)
		# In awk, > among printf arguments is a redirection.
		g1 = (medratio("train_rows_per_s", 0) >= 5) ? "met" : "not met"
		g2 = (medratio("infer_rows_per_s", 0) >= 4) ? "met" : "not met"
		g3 = (med("c", "latency_us") < 100) ? "met" : "not met"
		printf "\n  goals: training >= 5x PyTorch: %s; batch inference >= 4x: %s; latency < 100 us: %s\n", g1, g2, g3
	}' "$work"/c.* "$work"/torch.*
[ -n "$base" ] || exit 0

# The A/B: each figure of this build and of BASE, round by round, and the
# median over the rounds of their ratio (for latency, BASE's over this
# build's: above 1 is faster here).
awk -v rounds="$rounds" -v base="$base" '
	{ n = split(FILENAME, p, "."); k = p[n] }
	FILENAME ~ /\/c\.[0-9]+$/ { c[k, $1] = $2 }
	FILENAME ~ /\/b\.[0-9]+$/ { b[k, $1] = $2 }
	function median(v,    i, j, x) {
		for (i = 2; i <= rounds; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				x = v[j]; v[j] = v[j - 1]; v[j - 1] = x
			}
		return (rounds % 2) ? v[(rounds + 1) / 2] : (v[rounds / 2] + v[rounds / 2 + 1]) / 2
	}
	function ab(name, key, inv,    i, v, lo, hi) {
		lo = 1e300; hi = 0
		for (i = 1; i <= rounds; i++) {
			v[i] = inv ? b[i, key] / c[i, key] : c[i, key] / b[i, key]
			lo = v[i] < lo ? v[i] : lo; hi = v[i] > hi ? v[i] : hi
		}
		printf "  %-24s %7.3fx  (rounds %.3f to %.3f)\n", name, median(v), lo, hi
	}
	END {
		printf "\nA/B against %s, this/base (latency: base/this), medians of %d rounds:\n", base, rounds
		printf "  %-5s %-21s %-21s %-21s %-17s\n", "round", "training rows/s", "pretrain rows/s", "inference rows/s", "latency us"
		for (i = 1; i <= rounds; i++)
			printf "  %-5d %-21s %-21s %-21s %-17s\n", i,
			    sprintf("%.0f (%.0f)", c[i, "train_rows_per_s"], b[i, "train_rows_per_s"]),
			    sprintf("%.0f (%.0f)", c[i, "pretrain_rows_per_s"], b[i, "pretrain_rows_per_s"]),
			    sprintf("%.0f (%.0f)", c[i, "infer_rows_per_s"], b[i, "infer_rows_per_s"]),
			    sprintf("%.1f (%.1f)", c[i, "latency_us"], b[i, "latency_us"])
		ab("training", "train_rows_per_s", 0)
		ab("pretraining", "pretrain_rows_per_s", 0)
		ab("batch inference", "infer_rows_per_s", 0)
		ab("single-row latency", "latency_us", 1)
	}' "$work"/c.* "$work"/b.*
