#!/bin/sh
# Runs every tests/e2e/test_*.sh and counts its "ok", "not ok" and
# skipped ("ok - NAME # SKIP why") lines: a skipped check is neither
# passed nor failed, and the summary names each. The tools are found
# through PATH.
#
# The files run E2E_JOBS at a time, twice the cores by default: each has
# its own scratch folder and database, and a file spends much of its time
# on one core or waiting for a server (PostgreSQL, Slurm, Chromium). Their
# outputs are printed whole, in the files' order, as each is reached, each
# with its wall time.
#
# The longest files (as the times printed show them, under ASan too) start
# first: one started last would keep the others waiting at the end.
longest='test_render.sh
test_buffer.sh
test_shards.sh
test_tune.sh
test_fanout.sh
test_distil.sh
test_http.sh
test_merge.sh
test_train.sh'
# The tools' OpenMP threads wait at a barrier by sleeping, not spinning:
# with twice as many files as cores at once, a spinning thread takes the
# core that another file's tool needs (the suite took 2 min 27 s, 1 min
# 51 s with them sleeping).
OMP_WAIT_POLICY=passive
export OMP_WAIT_POLICY
set -u
cd "$(dirname "$0")" || exit 70
jobs=${E2E_JOBS:-$((2 * $(nproc 2>/dev/null || echo 1)))}
outs=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-e2e-run.XXXXXX") || exit 70
trap 'rm -rf "$outs"' EXIT
# Each file writes its output, then its status and its wall time in
# seconds: the status file, moved into place whole, is the sign that the
# output is whole.
# shellcheck disable=SC2016 # expanded by the inner shell
{
	printf '%s\n' "$longest" | grep -xF "$(printf '%s\n' test_*.sh)"
	printf '%s\n' test_*.sh | grep -vxF "$longest"
} | xargs -P "$jobs" -n 1 sh -c \
	'start=$(date +%s); sh "$1" >"$0/$1.out" 2>&1; status=$?
	echo "$status $(($(date +%s) - start))" >"$0/$1.st" &&
	mv "$0/$1.st" "$0/$1.status"' "$outs" &
runner=$!
pass=0 fail=0 skipped=0 skips=
for t in test_*.sh; do
	# A file whose shell was killed leaves no status: once the runner is
	# gone, it counts as failed rather than waited for.
	while [ ! -f "$outs/$t.status" ] && kill -0 "$runner" 2>/dev/null; do
		sleep 0.2
	done
	out=$(cat "$outs/$t.out" 2>/dev/null)
	[ -n "$out" ] || out="# (no output)"
	seconds=
	read -r status seconds <"$outs/$t.status" 2>/dev/null || status=killed
	echo "# $t${seconds:+ ($seconds s)}"
	printf '%s\n' "$out"
	s=$(printf '%s\n' "$out" | grep -c '^ok .* # SKIP ')
	p=$(($(printf '%s\n' "$out" | grep -c '^ok ') - s))
	f=$(printf '%s\n' "$out" | grep -c '^not ok ')
	skips="$skips
$(printf '%s\n' "$out" | sed -n "s|^ok - \(.*\) # SKIP \(.*\)|#   $t: \1 (\2)|p")"
	if [ "$status" = killed ]; then
		echo "not ok - $t left no exit status: killed, or never started"
		f=$((f + 1))
	elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with $status"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skipped=$((skipped + s))
done
wait
if [ "$skipped" -gt 0 ]; then
	echo "# skipped:"
	printf '%s\n' "$skips" | sed '/^$/d'
fi
echo "end-to-end: $pass passed, $skipped skipped, $fail failed"
[ "$fail" -eq 0 ]
