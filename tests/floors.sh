#!/bin/sh
# Checks that no wing of the library includes a wing on a floor above its
# own: the floors are the table of LIBDIR/README.md ("| N | wing/ | ..."),
# and every `#include "wing/name.h"` of LIBDIR/WING/... is checked against
# them. An include of a tabpipe header that names no wing is an error too,
# since the rule could not be read off it. Prints one line for each
# include that breaks the rule, and exits 1 if there is one.
#
# usage: sh tests/floors.sh LIBDIR
set -eu
if [ $# -ne 1 ] || [ ! -f "$1/README.md" ]; then
	echo "usage: sh tests/floors.sh LIBDIR (a folder with a README.md)" >&2
	exit 64
fi
lib=$1
floors=$(sed -n 's/^| *\([0-9][0-9]*\) *| *\([a-z][a-z]*\)\/ *|.*/\2 \1/p' "$lib/README.md")
if [ -z "$floors" ]; then
	echo "tests/floors.sh: $lib/README.md has no table of floors" >&2
	exit 1
fi
find "$lib" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) |
	sort | while read -r file; do
		wing=${file#"$lib"/}
		case $wing in
		*/*) wing=${wing%%/*} ;;
		*) wing= ;;
		esac
		echo "$file:$wing:0:"
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
			sed "s|^|$file:$wing:|"
	done |
	awk -v floors="$floors" '
	BEGIN {
		n = split(floors, f, /[ \n]/)
		for (i = 1; i < n; i += 2)
			floor[f[i]] = f[i + 1]
	}
	{
		split($0, part, ":")
		file = part[1]; wing = part[2]; line = part[3]
		header = $0
		sub(/^[^"]*"/, "", header)
		sub(/".*/, "", header)
		to = header
		sub(/\/.*/, "", to)
		if (!(wing in floor)) {
			if (line == 0 && wing == "")
				printf "%s: outside the wings: every module belongs to one\n", file
			else if (line == 0)
				printf "%s: %s/ is not a wing in the table of floors\n", file, wing
			bad = 1
		} else if (line == 0) {
			next
		} else if (index(header, "/") == 0 || !(to in floor)) {
			printf "%s:%s: #include \"%s\" names no wing\n", file, line, header
			bad = 1
		} else if (floor[to] + 0 > floor[wing] + 0) {
			printf "%s:%s: #include \"%s\": %s/ is on floor %d, above %s/ on floor %d\n", \
			    file, line, header, to, floor[to], wing, floor[wing]
			bad = 1
		}
	}
	END { exit bad }'
