#!/bin/sh
# Layer speed, A/B: the encoder's own layers (bench/layers.c: attention,
# layer norm and GELU, forward and backward, without the matrix products)
# in microseconds per row on one thread, for this build's library and,
# with BASE, another build's, run alternately ROUNDS times: each side's
# fastest time over the rounds, and the ratio base/this. A change to one
# layer moves a training run by a few percent, less than the host's noise
# between runs; its own time moves by much more. The host runs this
# machine's cores at one of two speeds, about 1.45x apart, for seconds at
# a time (the same binary, run back to back: 4.1 or 5.8 us a row for the
# attention backward); noise only ever slows a run, so the fastest of
# many short rounds is what compares.
#
#   sh bench/layers.sh                         after `make`
#   BASE=/path/to/other/build sh bench/layers.sh
#   T=13 ROUNDS=5 sh bench/layers.sh           tokens (22), rounds (11)
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
base=${BASE:-}
T=${T:-22}
rounds=${ROUNDS:-11}
for b in "$build" $base; do
	if [ ! -f "$b/libtabpipe.a" ]; then
		echo "bench/layers.sh: no library in $b: run make there" >&2
		exit 66
	fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-layers.XXXXXX")
trap 'rm -rf "$work"' EXIT

# bench/layers.c against the library of build folder $1, as $work/$2.
link() {
	# shellcheck disable=SC2046 # the flags are words
	cc -O2 -std=gnu11 -fopenmp -Ilib -Ibench $(pkg-config --cflags openblas) \
		-o "$work/$2" bench/layers.c "$1/libtabpipe.a" \
		$(pkg-config --libs openblas) -lm -pthread
}
link "$build" this
[ -z "$base" ] || link "$base" base
i=0
while [ "$i" -lt "$rounds" ]; do
	OPENBLAS_NUM_THREADS=1 "$work/this" "$T" >>"$work/this.out"
	[ -z "$base" ] || OPENBLAS_NUM_THREADS=1 "$work/base" "$T" >>"$work/base.out"
	i=$((i + 1))
done
# The fastest of each layer's times over the rounds, "layer us" lines.
fastest() {
	sort -k1,1 -k2,2n "$1" | awk '$1 != name { name = $1; print }'
}
echo "T $T, the fastest of $rounds rounds, microseconds per row, one thread"
if [ -z "$base" ]; then
	fastest "$work/this.out" | awk '{ printf "  %-20s %8.3f\n", $1, $2 }'
else
	fastest "$work/this.out" >"$work/this.min"
	fastest "$work/base.out" >"$work/base.min"
	printf "  %-20s %8s %8s %8s\n" layer base this base/this
	join "$work/base.min" "$work/this.min" |
		awk '{ printf "  %-20s %8.3f %8.3f %7.2fx\n", $1, $2, $3, $2 / $3 }'
fi
