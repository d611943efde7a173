#!/bin/sh
# Checks that scripts are clean for shellcheck (POSIX sh).
# Prints "ok - FILE" or "not ok - FILE" with the findings, then a count.
#
# usage: sh tests/shellcheck.sh file ...
set -u
if ! command -v shellcheck >/dev/null 2>&1; then
	echo "not ok - shellcheck is not installed (Debian: shellcheck; scripts/setup installs it)"
	exit 1
fi
pass=0 fail=0
for f in "$@"; do
	if out=$(shellcheck -x -P SCRIPTDIR -s sh "$f" 2>&1); then
		echo "ok - $f"
		pass=$((pass + 1))
	else
		echo "not ok - $f"
		printf '%s\n' "$out" | sed 's/^/#   /'
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
