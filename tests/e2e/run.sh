#!/bin/sh
# Runs every tests/e2e/test_*.sh and counts its "ok", "not ok" and
# skipped ("ok - NAME # SKIP why") lines: a skipped check is neither
# passed nor failed, and the summary names each. The tools are found
# through PATH.
#
# The files run E2E_JOBS at a time, twice the cores by default: each has
# its own scratch folder and database, and a file spends much of its time
# on one core or waiting for a server (PostgreSQL, Slurm, Chromium). Their
# outputs are printed whole, in the files' order, as each is reached.
set -u
cd "$(dirname "$0")" || exit 70
jobs=${E2E_JOBS:-$((2 * $(nproc 2>/dev/null || echo 1)))}
outs=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-e2e-run.XXXXXX") || exit 70
trap 'rm -rf "$outs"' EXIT
# Each file writes its output, then its status: the status file is the
# sign that the output is whole.
# shellcheck disable=SC2016 # expanded by the inner shell
printf '%s\n' test_*.sh | xargs -P "$jobs" -n 1 sh -c \
	'sh "$1" >"$0/$1.out" 2>&1; echo $? >"$0/$1.status"' "$outs" &
runner=$!
pass=0 fail=0 skipped=0 skips=
for t in test_*.sh; do
	# A file whose shell was killed leaves no status: once the runner is
	# gone, it counts as failed rather than waited for.
	while [ ! -f "$outs/$t.status" ] && kill -0 "$runner" 2>/dev/null; do
		sleep 0.2
	done
	echo "# $t"
	out=$(cat "$outs/$t.out" 2>/dev/null)
	[ -n "$out" ] || out="# (no output)"
	status=$(cat "$outs/$t.status" 2>/dev/null || echo killed)
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
