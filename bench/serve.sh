#!/bin/sh
# Serving benchmark: how long tabpipe-predict --serve takes to answer one
# request, model time and JSON included. A model of the default size is
# trained for one epoch on data/lending_club.csv; its rows, as JSON objects
# of raw values by the serving contract (every feature a key), are sent N
# at a time (default 2,000) through a pipe, and each is answered before
# the next is read. The time of a run of one request (start-up: loading
# the model) is taken from that of N, so
#
#   per request = (t(N) - t(1)) / (N - 1)
#
# and the median of R runs (default 5) of each is printed. Without a
# database, so that nothing but the model and the JSON is measured.
set -eu
cd "$(dirname "$0")/.."
requests=${REQUESTS:-2000}
runs=${RUNS:-5}
bin=build/bin
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset TABPIPE_DB

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Seconds of a command with standard input from a file, to 1 ms.
seconds() {
	start=$(date +%s.%N)
	"$@" <"$input" >/dev/null
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f\n", b - a }'
}

echo "training a model of the default size for one epoch..." >&2
"$bin/tabpipe-ingest" -q --target Class --positive bad --fit "$work/enc.json" \
	--split 70/15/15 --seed 1 --out "$work/lc" data/lending_club.csv
"$bin/tabpipe-train" -q --epochs 1 --valid "$work/lc.valid.tps" \
	-o "$work/model.safetensors" "$work/lc.train.tps"

# The CSV's rows as requests by the serving contract.
sh scripts/applications -n "$requests" -t Class data/lending_club.csv \
	>"$work/requests.jsonl"
head -n 1 "$work/requests.jsonl" >"$work/one.jsonl"
n=$(wc -l <"$work/requests.jsonl")

serve() { "$bin/tabpipe-predict" -q --serve -m "$work/model.safetensors"; }
# What is timed must be scoring: every request is answered with a
# probability, none with an error line.
serve <"$work/requests.jsonl" >"$work/answers.jsonl"
if [ "$(grep -c '"probability"' "$work/answers.jsonl")" -ne "$n" ]; then
	echo "bench/serve.sh: not every request is scored:" >&2
	grep -m 3 '"error"' "$work/answers.jsonl" >&2
	exit 1
fi
input=$work/one.jsonl
i=0
while [ $i -lt "$runs" ]; do seconds serve; i=$((i + 1)); done | median >"$work/t1"
input=$work/requests.jsonl
i=0
while [ $i -lt "$runs" ]; do seconds serve; i=$((i + 1)); done | median >"$work/tn"

awk -v t1="$(cat "$work/t1")" -v tn="$(cat "$work/tn")" -v n="$n" 'BEGIN {
	printf "start-up with one request:    %.1f ms (median of runs)\n", t1 * 1000
	printf "%d requests:                %.1f ms\n", n, tn * 1000
	printf "per request (model + JSON):   %.1f us\n", (tn - t1) / (n - 1) * 1e6
	printf "requests a second, one at a time: %.0f\n", (n - 1) / (tn - t1)
}'
