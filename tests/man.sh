#!/bin/sh
# Checks that man pages render without a single warning: groff -man -ww -z,
# and mandoc -Tlint -W warning where mandoc is installed. Prints one line a
# page ("ok - PAGE" or "not ok - PAGE"; the warnings go to standard error),
# then "N passed, M failed", and exits 1 if a page failed.
#
# usage: sh tests/man.sh page ...
set -u

if [ "$#" -eq 0 ]; then
	echo "usage: sh tests/man.sh page ..." >&2
	exit 64
fi

have_groff=0
have_mandoc=0
command -v groff >/dev/null 2>&1 && have_groff=1
command -v mandoc >/dev/null 2>&1 && have_mandoc=1

pass=0
fail=0
for page in "$@"; do
	msgs=
	if [ ! -r "$page" ]; then
		msgs="cannot read $page"
	elif [ "$have_groff" -eq 0 ]; then
		msgs="groff is not installed (Debian: groff-base)"
	else
		# groff exits 0 after a warning: any output at all is a failure.
		if ! out=$(groff -man -ww -z "$page" 2>&1) || [ -n "$out" ]; then
			msgs="groff: ${out:-exit status not 0}"
		fi
		if [ "$have_mandoc" -eq 1 ]; then
			if ! out=$(mandoc -Tlint -W warning "$page" 2>&1) ||
			    [ -n "$out" ]; then
				msgs="${msgs:+$msgs
}${out:-mandoc: exit status not 0}"
			fi
		fi
	fi
	if [ -z "$msgs" ]; then
		echo "ok - $page"
		pass=$((pass + 1))
	else
		echo "not ok - $page"
		printf '%s\n' "$msgs" | sed 's/^/#   /' >&2
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
