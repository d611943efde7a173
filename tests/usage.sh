#!/bin/sh
# Checks each tool's --help against its man page: the usage (the lines
# before the first empty one) names the same options as the SYNOPSIS, and
# every option of the list after it (the tool's option tables, each line
# "  -o, --output file  help") is described in OPTIONS. Prints "ok - TOOL"
# or "not ok - TOOL" with the difference, then a count.
#
# usage: sh tests/usage.sh BINDIR [MANDIR]    (MANDIR: man/man1)
set -u
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: sh tests/usage.sh BINDIR [MANDIR]" >&2
	exit 64
fi
mandir=${2:-man/man1}
options() { grep -o -- '--[a-z-]*\|-[a-zA-Z]\b' | sort -u | tr '\n' ' '; }
# section NAME PAGE: the text of a section of a man page, \- as -.
section() {
	sed -n "/^\.SH $1/,/^\.SH /p" "$2" | sed 's/\\-/-/g'
}
# tags PAGE: the tags of the OPTIONS section's paragraphs (the lines after
# .TP), without their fonts.
tags() {
	section OPTIONS "$1" | sed -n '/^\.TP/{n;p;}' |
		sed 's/\\f[BIRP]//g; s/^\.[A-Z]* //'
}
pass=0 fail=0
for bin in "$1"/tabpipe-*; do
	tool=$(basename "$bin")
	page=$mandir/$tool.1
	help=$("$bin" --help)
	usage=$(printf '%s\n' "$help" | sed '/^$/,$d' | options)
	synopsis=$(section SYNOPSIS "$page" | options)
	listed=$(printf '%s\n' "$help" | sed '1,/^$/d' | grep '^  -' |
		sed 's/^ *\(-[^ ,]*\)\(, \(--[^ ]*\)\)\{0,1\}.*/\1 \3/')
	described=$(tags "$page")
	missing=
	for o in $listed; do
		printf '%s\n' "$described" | grep -q -- "\\(^\\|[^-a-z]\\)$o\\b" ||
			missing="$missing $o"
	done
	if [ "$usage" = "$synopsis" ] && [ -z "$missing" ]; then
		echo "ok - $tool"
		pass=$((pass + 1))
		continue
	fi
	echo "not ok - $tool"
	if [ "$usage" != "$synopsis" ]; then
		echo "#   usage:    $usage"
		echo "#   SYNOPSIS: $synopsis"
	fi
	[ -z "$missing" ] || echo "#   not in OPTIONS:$missing"
	fail=$((fail + 1))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
