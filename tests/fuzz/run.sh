#!/bin/sh
# Runs one libFuzzer target of tests/fuzz for a bounded time on a copy of
# its corpus, tests/fuzz/corpus/NAME, so that the committed corpus does
# not grow. A crash, a leak, a timeout, a sanitizer report or a broken
# promise of the target fails the run, with the input that did it kept
# under BUILD/tests/fuzz/run/NAME/. Prints the target's executions.
#
# usage: sh tests/fuzz/run.sh BUILD fuzz_NAME SECONDS
set -eu
if [ $# -ne 3 ]; then
	echo "usage: sh tests/fuzz/run.sh BUILD fuzz_NAME SECONDS" >&2
	exit 64
fi
build=$1 target=$2 seconds=$3
name=${target#fuzz_}
work=$build/tests/fuzz/run/$name
rm -rf "$work"
mkdir -p "$work/corpus" "$work/found"
cp tests/fuzz/corpus/"$name"/* "$work/corpus/"
count() { find "$1" -type f | wc -l; }
seeds=$(count "$work/corpus")

# One thread each: the targets are deterministic, and make -j runs several.
status=0
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
UBSAN_OPTIONS=print_stacktrace=1 \
"$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=20 \
	-rss_limit_mb=2048 -detect_leaks=1 -error_exitcode=77 \
	-timeout_exitcode=78 -print_final_stats=1 \
	-artifact_prefix="$work/found/" "$work/corpus" >"$work/log" 2>&1 ||
	status=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
cov=$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$work/log")
found=$(ls "$work/found")
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
	tail -n 40 "$work/log" >&2
	echo "fuzz: $target FAILED (exit $status) after ${execs:-?} executions; its input: $work/found/$found; its log: $work/log" >&2
	exit 1
fi
echo "fuzz: $target: $execs executions in $seconds s, no finding ($seeds seeds, $(count "$work/corpus") inputs after, $cov edges covered)"
