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
units=
trap 'if [ -n "$units" ]; then wait "$units" || :; fi; rm -rf "$work"' EXIT

# The unit tests a suite at a time, as many suites at once as there are
# cores, and beside them the tools one at a time: memcheck runs a
# program's threads one at a time, and the tools alone would leave the
# other cores idle. Memcheck runs the code some 30 times slower: Check's
# timeouts grow too. A suite's output is shown when it fails.
#
# OpenMP's threads wait at a barrier by sleeping, not spinning: under
# memcheck a spinning thread holds the one core that the thread it waits
# for needs (the model suite took 678 s alone, 60 s with them sleeping).
jobs=$(nproc 2>/dev/null || echo 2)
echo "valgrind: unit tests, $jobs suites at a time" >&2
export TP_TESTDATA=tests/data TP_DATA=data CK_TIMEOUT_MULTIPLIER=30 \
	OMP_WAIT_POLICY=passive
# shellcheck disable=SC2016 # expanded by the inner shell
sed -n 's/^SUITE(\(.*\))$/\1/p' "$build/tests/unit/suites.inc" |
	xargs -P "$jobs" -n 1 sh -c '
		if CK_RUN_SUITE=$3 $1 "$0" >"$2/suite.$3" 2>&1; then
			echo "valgrind: unit suite $3: no errors" >&2
		else
			echo "valgrind: unit suite $3 failed:" >&2
			cat "$2/suite.$3" >&2
			exit 1
		fi' "$build/tests/unit-tests" "$vg" "$work" &
units=$!

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
run "$bin/tabpipe-predict" -q --explain 3 --steps 4 --format jsonl -m "$work/model.st" \
	"$work/d.test.tps" >/dev/null
# An ensemble: trained member by member, scored and explained together.
run "$bin/tabpipe-train" -q --epochs 1 --layers 1 --members 2 --seed 1 \
	--valid "$work/d.valid.tps" -o "$work/ensemble.st" "$work/d.train.tps"
run "$bin/tabpipe-predict" -q --explain 2 --steps 4 --format jsonl \
	-m "$work/ensemble.st" "$work/d.test.tps" >/dev/null
# Its student, the rows in memory scored by it once.
run "$bin/tabpipe-train" -q --epochs 1 --layers 1 --teacher "$work/ensemble.st" \
	--seed 1 --valid "$work/d.valid.tps" -o "$work/student.st" "$work/d.train.tps"
# Drift may find some between two splits of 600 rows: exit 1 is an answer.
status=0
run "$bin/tabpipe-drift" -q -m "$work/model.st" \
	--reference "$work/d.train.tps" -o "$work/drift.json" \
	"$work/d.test.tps" || status=$?
[ "$status" -le 1 ] || exit "$status"
# The server, asked a few things with curl, then stopped with SIGTERM.
echo "valgrind: $bin/tabpipe-serve" >&2
# shellcheck disable=SC2086 # $vg is a command line
$vg "$bin/tabpipe-serve" -m "$work/model.st" --listen 127.0.0.1:0 \
	2>"$work/serve.err" &
pid=$!
url=
for _ in $(seq 600); do
	url=$(sed -n 's|^tabpipe-serve: listening on \(http://.*\)$|\1|p' "$work/serve.err")
	[ -n "$url" ] && break
	sleep 0.1
done
[ -n "$url" ] || { cat "$work/serve.err" >&2; exit 1; }
app=$(sh scripts/applications -n 1 -t Status "$work/small.csv")
for body in "$app" "[$app,$app]" '{"x":1}'; do
	curl -s -H 'Content-Type: application/json' -d "$body" "$url/v1/predict" >/dev/null
done
for path in /v1/model /metrics /health/ready /nowhere; do
	curl -s "$url$path" >/dev/null
done
kill -TERM "$pid"
wait "$pid"
echo "valgrind: the tools: no errors" >&2
if ! wait "$units"; then
	units=
	echo "valgrind: a unit suite failed" >&2
	exit 1
fi
units=
echo "valgrind: no errors" >&2
