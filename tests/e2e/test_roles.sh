#!/bin/sh
# Least privilege: login roles that are members of tabpipe_trainer,
# tabpipe_promoter and tabpipe_reader can each do their own work with the
# tools and nothing more; what they may not do exits 77.
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
q() { psql "$TABPIPE_DB" -qAtc "$1"; }
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 1"
trainer="$TABPIPE_DB user=t_trainer"
promoter="$TABPIPE_DB user=t_promoter"
reader="$TABPIPE_DB user=t_reader"
nobody="$TABPIPE_DB user=t_nobody"

# The migrations are applied by the owner first; the roles then only use
# the schema.
tabpipe-registry models >/dev/null
q "CREATE ROLE t_trainer LOGIN IN ROLE tabpipe_trainer;
   CREATE ROLE t_promoter LOGIN IN ROLE tabpipe_promoter;
   CREATE ROLE t_reader LOGIN IN ROLE tabpipe_reader;
   CREATE ROLE t_nobody LOGIN" >/dev/null
tabpipe-ingest -q --db "$trainer" --target Status --positive bad --split 70/15/15 \
	--seed 3 --out "$T/cd" "$DATA/credit_data.csv"
yes_that "the trainer records an ingest" test "$(q "SELECT db_user FROM runs WHERE tool = 'ingest'")" = t_trainer

# shellcheck disable=SC2086 # $small holds several options
run_status "the trainer trains and registers" 0 tabpipe-train -q $small --db "$trainer" \
	--name roles --valid "$T/cd.valid.tps" -o "$T/m1.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
tabpipe-train -q $small --seed 2 --db "$trainer" --name roles --valid "$T/cd.valid.tps" \
	-o "$T/m2.safetensors" "$T/cd.train.tps"
yes_that "two versions" test "$(q "SELECT count(*) FROM model_versions")" = 2
run_status "the trainer cannot promote: exit 77" 77 tabpipe-promote --db "$trainer" roles 1
err_has "the database says why" "permission denied"
yes_that "the stage is unchanged" test "$(q "SELECT stage FROM model_versions WHERE version = 1")" = None
yes_that "the attempt is a failed run" test "$(q "SELECT status || ' ' || db_user FROM runs WHERE tool = 'promote'")" = "failed t_trainer"
run_status "nor roll back" 77 tabpipe-promote --db "$trainer" --rollback roles

run_status "the promoter promotes" 0 tabpipe-promote --db "$promoter" roles 1
yes_that "version 1 is in Production" test "$(q "SELECT stage FROM model_versions WHERE version = 1")" = Production
yes_that "the audit row names the promoter" test "$(q "SELECT db_user FROM stage_changes")" = t_promoter
for v in 1 2; do
	psql "$TABPIPE_DB" -qAt -v ON_ERROR_STOP=1 -v version="$v" <<'SQL'
WITH r AS (INSERT INTO runs (tool, status, host, pid, version, finished_at)
    VALUES ('evaluate', 'finished', 'test', 1, 'test', now()) RETURNING id)
INSERT INTO evaluations (run_id, version_id, model_sha256, data_fingerprint,
    rows, metrics)
SELECT r.id, v.id, v.sha256, 'same', 100,
    json_build_object('auc', 0.6 + v.version / 10.0)::jsonb
FROM r, model_versions v WHERE v.version = :'version'::integer;
SQL
done
run_status "the promoter replaces the champion" 0 tabpipe-promote --db "$promoter" --gate 'auc>0.7' roles 2
run_status "the promoter rolls back" 0 tabpipe-promote --db "$promoter" --rollback roles
yes_that "version 1 is back in Production" test "$(q "SELECT stage FROM model_versions WHERE version = 1")" = Production
# shellcheck disable=SC2086
run_status "the promoter cannot register a version: exit 77" 77 tabpipe-train -q $small --db "$promoter" \
	--name roles --valid "$T/cd.valid.tps" -o "$T/m3.safetensors" "$T/cd.train.tps"

run_status "the reader lists the versions" 0 tabpipe-registry --db "$reader" versions roles
out_has "with their stages" "Production"
run_status "the reader lists the audit log" 0 tabpipe-registry --db "$reader" --json audit roles
out_has "with the promoter's changes" '"user":"t_promoter"'
run_status "the reader lists the runs" 0 tabpipe-registry --db "$reader" runs
run_status "the reader cannot promote: exit 77" 77 tabpipe-promote --db "$reader" roles 2
err_has "the database says why" "permission denied"
run_status "nor roll back" 77 tabpipe-promote --db "$reader" --rollback roles
# shellcheck disable=SC2086
run_status "nor train with tracking" 77 tabpipe-train -q $small --db "$reader" \
	--valid "$T/cd.valid.tps" -o "$T/m4.safetensors" "$T/cd.train.tps"
yes_that "nothing changed" test "$(q "SELECT stage FROM model_versions ORDER BY version")" = "Production
Archived"

run_status "a role of none of them cannot even read: exit 77" 77 tabpipe-registry --db "$nobody" models
run_status "nor promote" 77 tabpipe-promote --db "$nobody" roles 2
yes_that "one Production version all along" test "$(q "SELECT count(*) FROM model_versions WHERE stage = 'Production'")" = 1
