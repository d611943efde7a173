#!/bin/sh
# Runs every tests/e2e/test_*.sh and counts its "ok" and "not ok" lines.
# The tools are found through PATH.
set -u
cd "$(dirname "$0")"
pass=0 fail=0
for t in test_*.sh; do
	echo "# $t"
	out=$(sh "$t" 2>&1)
	status=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^ok ')
	f=$(printf '%s\n' "$out" | grep -c '^not ok ')
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with $status"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "end-to-end: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
