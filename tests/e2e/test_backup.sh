#!/bin/sh
# Models any node can fetch, and backups: a registered version's bytes are
# kept in the database, so that NAME@production scores without its file,
# fetched into the model cache (a cached copy with other bytes is fetched
# again, never used); scripts/backup dumps the database (keeping the
# newest backups) and scripts/restore restores one into a fresh server,
# where NAME@production scores the same predictions, byte for byte, with
# no model file and an empty cache. A password in TABPIPE_DB shows on no
# command line of theirs.
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
scripts=$(cd ../../scripts && pwd)
q() { psql "$TABPIPE_DB" -qAtc "$1"; }
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 1"
model="loans 'b' é"
sha256() { sha256sum "$1" | cut -d ' ' -f 1; }

# The tools' state in a folder of the test's own: the cache is then
# $TABPIPE_HOME/cache/models.
TABPIPE_HOME=$T/home
export TABPIPE_HOME
unset TABPIPE_MODEL_CACHE
cache=$TABPIPE_HOME/cache/models

tabpipe-ingest -q --target Status --positive bad --split 70/15/15 --seed 3 \
	--out "$T/cd" "$DATA/credit_data.csv"
# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --name "$model" --valid "$T/cd.valid.tps" \
	-o "$T/m1.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
tabpipe-train -q $small --seed 2 --valid "$T/cd.valid.tps" \
	-o "$T/other.safetensors" "$T/cd.train.tps"
sha=$(sha256 "$T/m1.safetensors")
tabpipe-promote -q "$model" 1 >/dev/null

# score NAME [ENV...]: NAME@production scores the test rows into $T/NAME.csv,
# with the environment ENV, and exits 0.
score() {
	as=$1
	shift
	run_status "$as: $model@production scores" 0 env "$@" tabpipe-predict -q \
		-m "$model@production" "$T/cd.test.tps"
	cp "$T/out" "$T/$as.csv"
}

# The registration kept the bytes.
yes_that "the version's bytes are in the database" test "$(q "SELECT b.size || ' ' || b.sha256 FROM model_blobs b JOIN model_versions v ON v.blob = b.sha256")" = \
	"$(wc -c <"$T/m1.safetensors" | tr -d ' ') $sha"
score file
yes_that "a header and a prediction a test row" test "$(wc -l <"$T/file.csv")" = \
	"$(($(tabpipe-cat "$T/cd.test.tps" | wc -l)))"
yes_that "with its file there, nothing is fetched" test ! -e "$cache"

# Without the file: fetched into the cache.
rm "$T/m1.safetensors"
score fetched
same "the same predictions from the database" "$T/file.csv" "$T/fetched.csv"
yes_that "the bytes are cached under their SHA-256" test "$(sha256 "$cache/$sha")" = "$sha"
yes_that "the cache is the user's alone" test "$(stat -c %a "$TABPIPE_HOME/cache")" = 700
yes_that "nothing else is there" test "$(ls -A "$cache")" = "$sha"
cp "$cache/$sha" "$T/cached"
score cached
same "the same predictions from the cache" "$T/file.csv" "$T/cached.csv"

# A cached copy with other bytes is never used: fetched again.
printf 'x' >>"$cache/$sha"
score appended
same "a copy with a byte more: the same predictions" "$T/file.csv" "$T/appended.csv"
same "and the copy mended" "$T/cached" "$cache/$sha"
cp "$T/other.safetensors" "$cache/$sha"
score replaced
same "another model in its place: the same predictions" "$T/file.csv" "$T/replaced.csv"
same "and the copy mended again" "$T/cached" "$cache/$sha"
score elsewhere TABPIPE_MODEL_CACHE="$T/elsewhere"
yes_that "TABPIPE_MODEL_CACHE names another cache" test "$(sha256 "$T/elsewhere/$sha")" = "$sha"
run_status "a cache that cannot be made exits 73" 73 env TABPIPE_MODEL_CACHE=/dev/null/models \
	tabpipe-predict -q -m "$model@production" "$T/cd.test.tps"
err_has "it says where" "/dev/null/models: cannot make the model cache"
yes_that "the model's bytes are in no message" test "$(wc -c <"$T/err")" -lt 300

# A reader fetches them too, for the history of a version.
# Roles belong to the server, which the other tests share.
PGOPTIONS=--client-min-messages=warning q "DROP ROLE IF EXISTS t_backup_reader; CREATE ROLE t_backup_reader LOGIN IN ROLE tabpipe_reader" >/dev/null
run_status "a reader lists the epochs of a version without its file" 0 env TABPIPE_MODEL_CACHE="$T/reader" \
	tabpipe-registry --db "$TABPIPE_DB user=t_backup_reader" epochs "$model@1"
yes_that "fetched into its cache" test -s "$T/reader/$sha"

# Backups, with a password in TABPIPE_DB (the test server trusts its
# clients, so it connects all the same); every command the scripts start
# is found first in $T/spy, which writes its command line to $T/argv.
db_plain=$TABPIPE_DB
mkdir -p "$T/spy" "$T/backups"
for cmd in psql pg_dump pg_restore; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\nexec "%s" "$@"\n' \
		"$cmd" "$T/argv" "$(command -v "$cmd")" >"$T/spy/$cmd"
	chmod +x "$T/spy/$cmd"
done
for old in 20200101T000000Z 20200102T000000Z; do
	echo old >"$T/backups/tabpipe-$old.dump"
done
echo notes >"$T/backups/notes.txt"
run_status "scripts/backup exits 0" 0 env PATH="$T/spy:$PATH" \
	TABPIPE_DB="$db_plain password=Hush-SECRET-42" sh "$scripts/backup" -d "$T/backups" -k 2
err_has "it says where the backup went" "backup $T/backups/tabpipe-"
backup=$(find "$T/backups" -name 'tabpipe-2???????T??????Z.dump' ! -name 'tabpipe-2020*')
yes_that "one new backup, dated" test "$(printf '%s\n' "$backup" | grep -c .)" = 1
# shellcheck disable=SC2016 # $1 is the inner shell's
yes_that "it is pg_dump's custom format, with the models' bytes" sh -c \
	'pg_restore --list "$1" | grep -q "TABLE DATA public model_blobs"' sh "$backup"
yes_that "-k 2 keeps the newest two" test ! -e "$T/backups/tabpipe-20200101T000000Z.dump"
yes_that "the one before the new one stays" test -e "$T/backups/tabpipe-20200102T000000Z.dump"
yes_that "other files stay" test -e "$T/backups/notes.txt"
yes_that "no temporary file is left" test -z "$(find "$T/backups" -name '.*')"
yes_that "pg_dump was run" grep -q "^pg_dump " "$T/argv"
run_status "-k that is no number exits 64" 64 sh "$scripts/backup" -d "$T/backups" -k two
run_status "an argument exits 64" 64 sh "$scripts/backup" "$T/backups"
run_status "an unreachable database exits 69" 69 env TABPIPE_DB="host=$T/nowhere dbname=x connect_timeout=2" \
	sh "$scripts/backup" -d "$T/failed"
yes_that "and leaves no backup" test -z "$(find "$T/failed" -type f)"

# Restored into a fresh server: no roles of tabpipe's, no model file, an
# empty cache.
pg_server=$scripts/pg-server
chmod 755 "$T"
trap 'sh "$pg_server" stop "$T/pg" >/dev/null 2>&1; rm -rf "$T"' EXIT
fresh=$(sh "$pg_server" start "$T/pg" 2>"$T/err" | sed -n 's/^TABPIPE_DB=//p')
yes_that "a fresh server starts" test -n "$fresh"
yes_that "it has no roles of tabpipe's" test "$(psql "$fresh" -XAtc "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tabpipe\_%'")" = 0
run_status "scripts/restore into it exits 0" 0 env PATH="$T/spy:$PATH" \
	TABPIPE_DB="$fresh password=Hush-SECRET-42" sh "$scripts/restore" "$backup"
# The schema's version: the number of this tabpipe's migrations.
migrations() { set -- "$scripts"/../lib/db/sql/[0-9]*.sql; echo $#; }
err_has "it says what it restored" \
	"schema version $(migrations), 1 models, 1 versions (1 with their bytes)"
yes_that "the roles are made" test "$(psql "$fresh" -XAtc "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tabpipe\_%'")" = 3
yes_that "with their rights" test "$(psql "$fresh" -XAtc "SELECT has_table_privilege('tabpipe_reader', 'model_blobs', 'SELECT')")" = t
yes_that "pg_restore was run" grep -q "^pg_restore " "$T/argv"
yes_that "the password is on no command line" test -z "$(grep -F "Hush-SECRET-42" "$T/argv")"
yes_that "the stage and its audit row are there" test "$(psql "$fresh" -XAtc "SELECT v.stage || ' ' || count(c.id) FROM model_versions v JOIN stage_changes c ON c.version_id = v.id GROUP BY v.stage")" = "Production 1"
rm -rf "$cache" "$T/elsewhere" "$T/reader"
score restored TABPIPE_DB="$fresh"
same "the restored registry scores the same predictions, byte for byte" "$T/file.csv" "$T/restored.csv"
yes_that "from the bytes it fetched" test "$(sha256 "$cache/$sha")" = "$sha"

run_status "a database that holds a registry exits 73" 73 env TABPIPE_DB="$fresh" sh "$scripts/restore" "$backup"
err_has "it says how to replace it" "give -c to replace it"
psql "$fresh" -XAtqc "INSERT INTO models (name) VALUES ('after the backup')"
run_status "-c replaces it" 0 env TABPIPE_DB="$fresh" sh "$scripts/restore" -c "$backup"
yes_that "as the backup has it" test "$(psql "$fresh" -XAtc "SELECT count(*) FROM models")" = 1
run_status "a file that is no backup exits 66" 66 env TABPIPE_DB="$fresh" sh "$scripts/restore" "$T/backups/notes.txt"
run_status "no file exits 64" 64 sh "$scripts/restore"
sh "$pg_server" stop "$T/pg" >/dev/null 2>&1
