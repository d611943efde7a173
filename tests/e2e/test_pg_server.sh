#!/bin/sh
# scripts/pg-server: a second start in a folder where the server already
# runs says where it is, as the first did (eval "$(make -s db-start)"
# twice), and a stopped server starts again.
. ./lib.sh

pg_server=$(cd ../../scripts && pwd)/pg-server
if ! sh "$pg_server" 2>&1 | grep -q usage; then
	skip "pg-server" "no PostgreSQL server here (scripts/setup installs it)"
	exit 0
fi
# As root the server runs as another user, who must reach the folder.
chmod 755 "$T"
trap 'sh "$pg_server" stop "$T/pg" >/dev/null 2>&1; rm -rf "$T"' EXIT
# start N: the output of the start in $T/N.out, $T/N.err.
start() {
	sh "$pg_server" start "$T/pg" >"$T/$1.out" 2>"$T/$1.err"
}

start first
yes_that "the first start exits 0" test $? -eq 0
yes_that "it prints the environment" grep -q "^TABPIPE_DB=host=$T/pg user=tabpipe dbname=tabpipe\$" "$T/first.out"
start second
status=$?
cp "$T/second.err" "$T/err"
if [ "$status" -eq 0 ]; then ok "a second start exits 0"; else not_ok "a second start exits 0 (exit $status)"; fi
same "it prints the same environment" "$T/first.out" "$T/second.out"
err_has "it says that the server already runs" "already runs in $T/pg"
db=$(sed -n 's/^TABPIPE_DB=//p' "$T/second.out")
yes_that "the environment reaches the server" test "$(psql "$db" -XAtc 'SELECT 1' 2>/dev/null)" = 1
run_status "stop exits 0" 0 sh "$pg_server" stop "$T/pg"
start third
yes_that "a stopped server starts again" test $? -eq 0
same "with the same environment" "$T/first.out" "$T/third.out"
yes_that "and answers" test "$(psql "$db" -XAtc 'SELECT 1' 2>/dev/null)" = 1
run_status "stop exits 0 again" 0 sh "$pg_server" stop "$T/pg"
