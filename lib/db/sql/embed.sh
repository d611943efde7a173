#!/bin/sh
# Writes the C file that holds the migrations: each NNN_name.sql given, in
# order, as a C string. Used by the Makefile.
set -eu
echo '/* Made from the migrations in lib/db/sql by lib/db/sql/embed.sh; do not edit. */'
echo '#include "db/db.h"'
echo 'const tp_migration tp_migrations[] = {'
n=0
for f in "$@"; do
	n=$((n + 1))
	base=$(basename "$f")
	version=$(printf '%s' "$base" | sed 's/^0*\([0-9][0-9]*\)_.*/\1/')
	[ "$version" -eq "$n" ] || { echo "embed.sh: $base is not migration $n" >&2; exit 1; }
	printf '\t{%s, "%s",\n' "$version" "$base"
	sed 's/\\/\\\\/g; s/"/\\"/g; s/\t/\\t/g; s/^/\t"/; s/$/\\n"/' "$f"
	printf '\t},\n'
done
echo '};'
echo "const int tp_nmigrations = $n;"
