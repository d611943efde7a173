#!/bin/sh
# Checks that each tool's --help and the SYNOPSIS of its man page name the
# same options. Prints "ok - TOOL" or "not ok - TOOL" with the difference,
# then a count.
#
# usage: sh tests/usage.sh BINDIR
set -u
[ $# -eq 1 ] || { echo "usage: sh tests/usage.sh BINDIR" >&2; exit 64; }
options() { grep -o -- '--[a-z-]*\|-[a-zA-Z]\b' | sort -u | tr '\n' ' '; }
pass=0 fail=0
for bin in "$1"/tabpipe-*; do
	tool=$(basename "$bin")
	page=man/man1/$tool.1
	help=$("$bin" --help | options)
	synopsis=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$page" |
		sed 's/\\-/-/g' | options)
	if [ "$help" = "$synopsis" ]; then
		echo "ok - $tool"
		pass=$((pass + 1))
	else
		echo "not ok - $tool"
		echo "#   --help:   $help"
		echo "#   SYNOPSIS: $synopsis"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
