#!/bin/sh
# The unit tests, and each tool once on a small data set, under valgrind's
# memcheck: a read of uninitialised memory (which the sanitizers of
# check-asan do not see), an invalid access or a definite leak fails it.
# Possible leaks are the thread stacks that libgomp and OpenBLAS keep.
#
# usage: sh tests/valgrind.sh BUILD
set -eu
build=${1:?usage: sh tests/valgrind.sh BUILD}
bin=$build/bin
vg="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
--errors-for-leak-kinds=definite"
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-valgrind.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "valgrind: unit tests" >&2
# Memcheck runs the code some 30 times slower: Check's timeouts grow too.
TP_TESTDATA=tests/data TP_DATA=data CK_TIMEOUT_MULTIPLIER=30 \
	$vg "$build/tests/unit-tests"

# Each tool on 600 rows of credit_data; a status other than the tool's own
# (99 is memcheck's) fails the script through set -e.
run() {
	echo "valgrind: $*" >&2
	# shellcheck disable=SC2086 # $vg is a command line
	$vg "$@"
}
head -n 601 data/credit_data.csv >"$work/small.csv"
run "$bin/tabpipe-ingest" -q --target Status --positive bad \
	--fit "$work/enc.json" --split 70/15/15 --seed 1 --out "$work/d" \
	"$work/small.csv"
run "$bin/tabpipe-validate" "$work/d.train.tps" >/dev/null
run "$bin/tabpipe-cat" "$work/d.test.tps" >/dev/null
run "$bin/tabpipe-pretrain" -q --epochs 1 --layers 1 --seed 1 \
	-o "$work/encoder.st" "$work/d.train.tps"
run "$bin/tabpipe-train" -q --epochs 2 --layers 1 --seed 1 \
	--encoder "$work/encoder.st" --valid "$work/d.valid.tps" \
	-o "$work/model.st" "$work/d.train.tps"
run "$bin/tabpipe-evaluate" -q -m "$work/model.st" -o "$work/report.json" \
	"$work/d.test.tps"
run "$bin/tabpipe-predict" -q -m "$work/model.st" "$work/d.test.tps" >/dev/null
run "$bin/tabpipe-predict" -q --csv -m "$work/model.st" "$work/small.csv" >/dev/null
# Drift may find some between two splits of 600 rows: exit 1 is an answer.
status=0
run "$bin/tabpipe-drift" -q -m "$work/model.st" \
	--reference "$work/d.train.tps" -o "$work/drift.json" \
	"$work/d.test.tps" || status=$?
[ "$status" -le 1 ] || exit "$status"
echo "valgrind: no errors" >&2
