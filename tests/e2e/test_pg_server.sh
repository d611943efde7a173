#!/bin/sh
# scripts/pg-server: a second start in a folder where the server already
# runs says where it is, as the first did (eval "$(make -s db-start)"
# twice), and a stopped server starts again; on that server, whose roles
# no tool has made yet, two databases' first migrations race for them.
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

# Roles belong to the server, the lock that serialises migrations to one
# database: a migration that creates tabpipe's roles while another
# database's first migration holds one of them, not yet committed, waits
# for it and then takes the role as there. This server has run no tool, so
# no role exists yet.
psql "$db" -Xq -c "CREATE DATABASE race_a" -c "CREATE DATABASE race_b"
db_a=$(printf '%s\n' "$db" | sed 's/dbname=[^ ]*/dbname=race_a/')
db_b=$(printf '%s\n' "$db" | sed 's/dbname=[^ ]*/dbname=race_b/')
printf 'BEGIN;\nCREATE ROLE tabpipe_reader NOLOGIN;\nSELECT pg_sleep(2);\nCOMMIT;\n' |
	psql "$db_a" -Xq >/dev/null 2>&1 &
holder=$!
tries=0
until [ "$(psql "$db" -XAtc "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")" = 1 ] ||
	[ $tries -ge 50 ]; do
	sleep 0.1
	tries=$((tries + 1))
done
yes_that "the other database holds the new role" test "$tries" -lt 50
TABPIPE_DB=$db_b run_status "a migration beside another database's holding a new role exits 0" 0 \
	tabpipe-registry models
wait "$holder"
migrations=$(find ../../lib/db/sql -name '[0-9]*.sql' | wc -l)
yes_that "that database's schema is whole" test "$(psql "$db_b" -XAtc \
	"SELECT max(version) FROM schema_version")" -eq "$migrations"
run_status "stop exits 0 again" 0 sh "$pg_server" stop "$T/pg"
