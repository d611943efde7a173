#!/bin/sh
# Scale benchmark (tabpipe-scale(7)): a book of ROWS loans (default
# 16,000,000) as one tensor stream, made of a resample of
# data/lending_club.csv ingested once and joined with tabpipe-cat -s, then
#
#   - scored by one tabpipe-predict and by SHARDS shards (default 4) through
#     scripts/fanout: the same bytes out, and the wall time of each;
#   - the peak resident memory of each tool that reads it, at ROWS/16 rows
#     and at ROWS: cat, predict, validate, evaluate, drift (against the
#     book's first part) and train with --buffer-rows 65536 (one epoch of a
#     small model), to show which stay flat in rows;
#   - the terms of tabpipe-scale(7)'s cost model: a core's scoring rate r,
#     a shard's start t0 (a shard of a one-row book), the join's bytes a
#     row and rate.
#
# usage: sh bench/scale.sh      (ROWS, SHARDS, BUILD in the environment)
# Needs GNU parallel (scripts/setup) and /usr/bin/time (scripts/setup
# --bench). At 16M rows it takes about an hour on 2 cores and 2 GB of disk.
# The sh -c commands below take their arguments as $1...:
# shellcheck disable=SC2016
set -eu
cd "$(dirname "$0")/.."
rows=${ROWS:-16000000}
shards=${SHARDS:-4}
bin=$PWD/${BUILD:-build}/bin
export TABPIPE_BIN="$bin"
PATH=$bin:$PATH
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
part=1000000
[ "$rows" -ge "$part" ] || part=$rows

# Seconds and peak resident KiB of a command, as "secs kib". Exit 1 is a
# verdict (validate's checks failed, drift found), not a failure.
measure() {
	status=0
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || status=$?
	if [ "$status" -gt 1 ]; then
		echo "bench/scale.sh: $*: exit $status" >&2
		cat "$work/err" >&2
		exit 1
	fi
	tail -n 1 "$work/time"
}

echo "bench/scale.sh: a book of $rows rows..." >&2
awk -v n="$part" 'BEGIN { srand(1) }
	NR == 1 { print; next }
	{ row[++m] = $0 }
	END { for (i = 0; i < n; i++) print row[int(rand() * m) + 1] }' \
	data/lending_club.csv >"$work/part.csv"
tabpipe-ingest -q --target Class --positive bad --fit "$work/enc.json" \
	--split 70/15/15 --seed 1 --out "$work/lc" data/lending_club.csv
tabpipe-ingest -q --encoding "$work/enc.json" -o "$work/part.tps" "$work/part.csv"
rm "$work/part.csv"
# The book: copies of the part, ROWS rounded down to a whole number of
# them; the small book its first sixteenth, by blocks.
copies=$((rows / part))
rows=$((copies * part))
files=
i=0
while [ "$i" -lt "$copies" ]; do
	files="$files $work/part.tps"
	i=$((i + 1))
done
# shellcheck disable=SC2086 # the file names hold no blanks
tabpipe-cat -s $files >"$work/book.tps"
tabpipe-cat -s --shard 1/16 "$work/book.tps" >"$work/small.tps"
small_rows=$(tabpipe-cat "$work/small.tps" | tail -n +2 | wc -l)
tabpipe-train -q --layers 2 --epochs 2 --valid "$work/lc.valid.tps" \
	-o "$work/m.safetensors" "$work/lc.train.tps"
m=$work/m.safetensors

echo "bench/scale.sh: scoring, once and in $shards shards..." >&2
one=$(measure sh -c 'tabpipe-predict -q -m "$1" "$2" >"$3"' sh "$m" "$work/book.tps" "$work/one.csv")
fan=$(measure sh -c 'sh scripts/fanout -n "$1" predict -q -m "$2" "$3" >"$4"' sh \
	"$shards" "$m" "$work/book.tps" "$work/fan.csv")
if cmp -s "$work/one.csv" "$work/fan.csv"; then same=identical; else same=DIFFERENT; fi
shard=$(measure tabpipe-predict -q --shard "1/$shards" -m "$m" "$work/book.tps")
tabpipe-cat -s --shard "1/$(( (part + 4095) / 4096 ))" "$work/part.tps" >"$work/tiny.tps"
start=$(measure tabpipe-predict -q -m "$m" "$work/tiny.tps")
bytes=$(wc -c <"$work/one.csv")
mkdir "$work/parts"
i=1
while [ "$i" -le "$shards" ]; do
	tabpipe-predict -q --shard "$i/$shards" -m "$m" "$work/book.tps" >"$work/parts/$i.csv"
	i=$((i + 1))
done
joined=$(measure sh -c 'sh scripts/fanout join "$1" >"$2"' sh "$work/parts" "$work/joined.csv")
rm -rf "$work/parts" "$work/fan.csv" "$work/joined.csv"

echo "bench/scale.sh: memory of each tool at $small_rows and $rows rows..." >&2
: >"$work/memory"
mem() {
	name=$1
	shift
	small=$(measure "$@" "$work/small.tps" | cut -d' ' -f2)
	big=$(measure "$@" "$work/book.tps" | cut -d' ' -f2)
	echo "$name $small $big" >>"$work/memory"
}
mem cat tabpipe-cat -q
mem predict tabpipe-predict -q -m "$m"
mem validate tabpipe-validate -q -r /dev/null
mem evaluate tabpipe-evaluate -q -m "$m" -o /dev/null
mem drift tabpipe-drift -q --reference "$work/lc.train.tps" -o /dev/null
mem "train --buffer-rows 65536" tabpipe-train -q --layers 1 --d-model 8 --heads 2 \
	--d-ff 16 --head-hidden 8 --epochs 1 --batch 4096 --buffer-rows 65536 \
	--valid "$work/lc.valid.tps" -o "$work/t.safetensors"

awk -v rows="$rows" -v shards="$shards" -v one="$one" -v fan="$fan" \
    -v same="$same" -v shard="$shard" -v start="$start" -v bytes="$bytes" \
    -v joined="$joined" -v cores="$(nproc)" 'BEGIN {
	split(one, o, " "); split(fan, f, " "); split(shard, s, " ")
	split(start, t, " "); split(joined, j, " ")
	printf "scale benchmark: %d rows, %d shards, %d cores\n", rows, shards, cores
	printf "  one tabpipe-predict:      %8.1f s  %7.0f rows/s  %6.0f MiB\n", o[1], rows / o[1], o[2] / 1024
	printf "  %d shards (scripts/fanout): %6.1f s  %7.0f rows/s, the output %s to one run%s\n", shards, f[1], rows / f[1], same, same == "identical" ? "" : " (FAILED)"
	printf "  one shard alone:          %8.1f s  %7.0f rows/s: r, a core'"'"'s rate\n", s[1], rows / shards / s[1]
	printf "  a shard'"'"'s start (a 1-block book): %.2f s: t0\n", t[1]
	printf "  the join: %.1f bytes a row, %.0f MB/s\n", bytes / rows, bytes / 1e6 / (j[1] > 0 ? j[1] : 1e-9)
}'
echo "  peak resident memory, MiB:"
awk -v rows="$rows" -v small="$small_rows" '{
	name = $1; for (i = 2; i < NF - 1; i++) name = name " " $i
	printf "    %-28s %7.0f at %d rows  %7.0f at %d rows\n", name, $(NF - 1) / 1024, small, $NF / 1024, rows
}' "$work/memory"
