#!/bin/sh
# Tracking and the registry against the throwaway PostgreSQL server that
# scripts/pg-server gives the tests (TABPIPE_DB).
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
q() { psql "$TABPIPE_DB" -qAtc "$1"; }
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 2"

run_status "an unreachable database exits 69" 69 tabpipe-ingest --db "host=$T/nowhere connect_timeout=2" \
	--target Status --positive bad -o "$T/x.tps" "$DATA/credit_data.csv"
err_has "with libpq's message" "database: cannot connect"
yes_that "before any work" test ! -e "$T/x.tps"

run_status "ingest records its run" 0 tabpipe-ingest --target Status --positive bad \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
# As many versions as migrations in lib/db/sql.
migrations=$(find ../../lib/db/sql -name '[0-9]*.sql' | wc -l)
yes_that "the schema is at the last migration's version ($migrations)" test "$(q 'SELECT max(version) FROM schema_version')" = "$migrations"
yes_that "an ingest run, finished" test "$(q "SELECT count(*) FROM runs WHERE tool = 'ingest' AND status = 'finished'")" = 1
yes_that "three data sets with their rows" test "$(q 'SELECT sum(rows) FROM datasets')" = 4454
tabpipe-ingest -q --target Status --positive bad --split 70/15/15 --seed 3 --out "$T/again" "$DATA/credit_data.csv"
yes_that "the same rows have the same fingerprint" test "$(q 'SELECT count(DISTINCT fingerprint) FROM datasets')" = 3

model="loan's \"model\" é"
# shellcheck disable=SC2086 # $small holds several options
run_status "train registers a version" 0 tabpipe-train -q $small --name "$model" \
	--valid "$T/cd.valid.tps" -o "$T/m1.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
tabpipe-train -q $small --seed 2 --name "$model" --valid "$T/cd.valid.tps" \
	-o "$T/m2.safetensors" "$T/cd.train.tps"
yes_that "a name with quotes and accents is kept" test "$(q "SELECT name FROM models")" = "$model"
yes_that "versions 1 and 2" test "$(q "SELECT string_agg(version::text, ',' ORDER BY version) FROM model_versions")" = "1,2"
yes_that "the file's sha256 is recorded" test "$(q "SELECT sha256 FROM model_versions WHERE version = 1")" = "$(sha256sum <"$T/m1.safetensors" | cut -d' ' -f1)"
yes_that "the epochs are recorded" test "$(q "SELECT count(*) FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.tool = 'train'")" = 4
yes_that "the model file names its run" grep -q '"run_id":"[0-9]' "$T/m1.safetensors"

# shellcheck disable=SC2086
run_status "a diverging run exits 65" 65 tabpipe-train $small --lr 1e30 \
	--valid "$T/cd.valid.tps" -o "$T/nan.safetensors" "$T/cd.train.tps"
yes_that "and is recorded as failed, with why" test "$(q "SELECT count(*) FROM runs WHERE status = 'failed' AND error LIKE 'training diverged%'")" = 1

# Concurrent registrations get distinct numbers.
for i in 1 2 3; do
	# shellcheck disable=SC2086
	tabpipe-train -q $small --seed "$i" --name racers --valid "$T/cd.valid.tps" \
		-o "$T/r$i.safetensors" "$T/cd.train.tps" &
done
wait
yes_that "three racing registrations, three versions" test "$(q "SELECT string_agg(v.version::text, ',' ORDER BY v.version) FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'racers'")" = "1,2,3"

# Least privilege: a trainer registers but cannot change a stage.
q "CREATE ROLE trainer_user LOGIN IN ROLE tabpipe_trainer" >/dev/null
# shellcheck disable=SC2086
run_status "the trainer role trains and registers" 0 tabpipe-train -q $small --name "$model" \
	--db "$TABPIPE_DB user=trainer_user" --valid "$T/cd.valid.tps" -o "$T/m3.safetensors" "$T/cd.train.tps"
run_status "the trainer role cannot change a stage" 1 psql "$TABPIPE_DB user=trainer_user" -v ON_ERROR_STOP=1 -qc \
	"UPDATE model_versions SET stage = 'Production' WHERE version = 1"
err_has "permission denied" "permission denied"
run_status "nobody rewrites the audit log" 3 psql "$TABPIPE_DB" -v ON_ERROR_STOP=1 -qf - <<'SQL'
DELETE FROM stage_changes;
SQL
err_has "it is append-only" "append-only"
run_status "a second Production version is refused by the database" 1 psql "$TABPIPE_DB" -v ON_ERROR_STOP=1 -qc \
	"UPDATE model_versions SET stage = 'Production' WHERE model_id = (SELECT id FROM models WHERE name = 'racers')"
err_has "by the unique index" "model_versions_one_production"
