#!/bin/sh
# Runs every tests/e2e/test_*.sh and counts its "ok", "not ok" and
# skipped ("ok - NAME # SKIP why") lines: a skipped check is neither
# passed nor failed, and the summary names each. The tools are found
# through PATH.
set -u
cd "$(dirname "$0")" || exit 70
pass=0 fail=0 skipped=0 skips=
for t in test_*.sh; do
	echo "# $t"
	out=$(sh "$t" 2>&1)
	status=$?
	printf '%s\n' "$out"
	s=$(printf '%s\n' "$out" | grep -c '^ok .* # SKIP ')
	p=$(($(printf '%s\n' "$out" | grep -c '^ok ') - s))
	f=$(printf '%s\n' "$out" | grep -c '^not ok ')
	skips="$skips
$(printf '%s\n' "$out" | sed -n "s|^ok - \(.*\) # SKIP \(.*\)|#   $t: \1 (\2)|p")"
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with $status"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skipped=$((skipped + s))
done
if [ "$skipped" -gt 0 ]; then
	echo "# skipped:"
	printf '%s\n' "$skips" | sed '/^$/d'
fi
echo "end-to-end: $pass passed, $skipped skipped, $fail failed"
[ "$fail" -eq 0 ]
