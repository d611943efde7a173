#!/bin/sh
# Layer speed, A/B: the encoder's own layers (bench/layers.c: attention,
# layer norm and GELU, forward and backward, without the matrix products)
# in microseconds per row on one thread, for this build's library and,
# with BASE, another build's, run alternately ROUNDS times: the medians
# over the rounds of each side's fastest time, and the ratio base/this.
# A change to one layer moves a training run by a few percent, less than
# the host's noise between runs; its own time moves by much more. The
# host also gives each process one of two speeds for its whole life (up
# to 1.5x apart, the same code): hence many rounds, each a new process,
# and medians.
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

# shellcheck disable=SC2046 # the flags are words
cc -O2 -std=gnu11 -fopenmp -Ilib -Ibench $(pkg-config --cflags openblas) \
	-o "$work/this" bench/layers.c "$build/libtabpipe.a" \
	$(pkg-config --libs openblas) -lm -pthread
if [ -n "$base" ]; then
	# shellcheck disable=SC2046
	cc -O2 -std=gnu11 -fopenmp -Ilib -Ibench $(pkg-config --cflags openblas) \
		-o "$work/base" bench/layers.c "$base/libtabpipe.a" \
		$(pkg-config --libs openblas) -lm -pthread
fi
i=0
while [ "$i" -lt "$rounds" ]; do
	OPENBLAS_NUM_THREADS=1 "$work/this" "$T" >>"$work/this.out"
	[ -z "$base" ] || OPENBLAS_NUM_THREADS=1 "$work/base" "$T" >>"$work/base.out"
	i=$((i + 1))
done
# The median of each layer's times over the rounds, "layer us" lines.
medians() {
	sort -k1,1 -k2,2n "$1" | awk '
	function flush() { if (n) print name, (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
	$1 != name { flush(); name = $1; n = 0 }
	{ v[++n] = $2 }
	END { flush() }'
}
echo "T $T, $rounds rounds, microseconds per row, one thread"
if [ -z "$base" ]; then
	medians "$work/this.out" | awk '{ printf "  %-20s %8.3f\n", $1, $2 }'
else
	medians "$work/this.out" >"$work/this.med"
	medians "$work/base.out" >"$work/base.med"
	printf "  %-20s %8s %8s %8s\n" layer base this base/this
	join "$work/base.med" "$work/this.med" |
		awk '{ printf "  %-20s %8.3f %8.3f %7.2fx\n", $1, $2, $3, $2 / $3 }'
fi
