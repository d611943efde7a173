#!/bin/sh
# Ingest benchmark: a CSV of N rows (default 1,000,000) resampled from
# data/lending_club.csv, parsed, encoded and written by tabpipe-ingest with
# a saved encoding, against pandas.read_csv on the same file in the same
# run. Prints the median of R runs of each (default 3), the ratio, MB/s,
# and peak memory at N/10 and N rows, to show that it does not grow with
# the input. Needs `scripts/setup --bench` (python3-pandas).
set -eu
cd "$(dirname "$0")/.."
rows=${ROWS:-1000000}
runs=${RUNS:-3}
bin=build/bin
py=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Resample rows (with replacement, fixed seed) into a file of n rows.
resample() {
	awk -v n="$1" 'BEGIN { srand(1) }
		NR == 1 { print; next }
		{ row[++m] = $0 }
		END { for (i = 0; i < n; i++) print row[int(rand() * m) + 1] }' \
		data/lending_club.csv >"$2"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Wall seconds and peak resident KiB of a command, as "secs kib".
measure() {
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>&1
	cat "$work/time"
}

echo "generating $rows rows..." >&2
resample "$rows" "$work/big.csv"
resample $((rows / 10)) "$work/small.csv"
mb=$(du -m "$work/big.csv" | cut -f1)
"$bin/tabpipe-ingest" -q --target Class --positive bad --fit "$work/enc.json" \
	-o "$work/fit.tps" data/lending_club.csv

: >"$work/ours" && : >"$work/pandas"
i=0
while [ "$i" -lt "$runs" ]; do
	measure "$bin/tabpipe-ingest" -q --encoding "$work/enc.json" \
		-o "$work/out.tps" "$work/big.csv" >>"$work/ours"
	"$py" -c 'import sys, time, pandas
t = time.perf_counter(); pandas.read_csv(sys.argv[1])
print(time.perf_counter() - t)' "$work/big.csv" >>"$work/pandas"
	i=$((i + 1))
done
ours=$(cut -d' ' -f1 "$work/ours" | median)
pandas=$(median <"$work/pandas")
big_kib=$(cut -d' ' -f2 "$work/ours" | median)
small_kib=$(measure "$bin/tabpipe-ingest" -q --encoding "$work/enc.json" \
	-o "$work/out.tps" "$work/small.csv" | cut -d' ' -f2)
fit=$(measure "$bin/tabpipe-ingest" -q --target Class --positive bad \
	--split 70/15/15 --out "$work/split" "$work/big.csv")

awk -v rows="$rows" -v mb="$mb" -v ours="$ours" -v pandas="$pandas" \
    -v big="$big_kib" -v small="$small_kib" -v fit="$fit" 'BEGIN {
	printf "ingest benchmark: %d rows, %d MB of CSV, median of runs\n", rows, mb
	printf "  tabpipe-ingest --encoding (parse, encode, write): %.3f s, %.0f MB/s, %.0f rows/s\n", ours, mb / ours, rows / ours
	printf "  pandas.read_csv (parse only):                     %.3f s, %.0f MB/s\n", pandas, mb / pandas
	printf "  ratio pandas / tabpipe: %.2fx\n", pandas / ours
	split(fit, f, " ")
	printf "  tabpipe-ingest fitting and splitting 70/15/15 (3 passes): %.3f s\n", f[1]
	printf "  peak memory: %d KiB at %d rows, %d KiB at %d rows\n", small, rows / 10, big, rows
}'
