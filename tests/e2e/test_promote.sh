#!/bin/sh
# tabpipe-promote: gates, the champion rule, stage changes with their audit
# rows, rollback, and promotions racing, against the throwaway server of
# scripts/pg-server (TABPIPE_DB). Evaluations are written with psql, so
# that the metrics are exactly the ones each check needs.
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
# q SQL: the result of SQL, unaligned; the helpers below read their SQL from
# standard input, where psql substitutes the variables given with -v.
q() { psql "$TABPIPE_DB" -qAtc "$1"; }
# ev NAME VERSION DATA METRICS: an evaluation of the version, with its run.
ev() {
	psql "$TABPIPE_DB" -qAt -v ON_ERROR_STOP=1 -v name="$1" -v version="$2" \
		-v data="$3" -v metrics="$4" <<'SQL'
WITH r AS (INSERT INTO runs (tool, status, host, pid, version, finished_at)
    VALUES ('evaluate', 'finished', 'test', 1, 'test', now()) RETURNING id)
INSERT INTO evaluations (run_id, version_id, model_sha256, data_fingerprint,
    rows, metrics)
SELECT r.id, v.id, v.sha256, :'data', 100, :'metrics'::jsonb
FROM r, model_versions v JOIN models m ON m.id = v.model_id
WHERE m.name = :'name' AND v.version = :'version'::integer;
SQL
}
# stage NAME VERSION: the version's stage.
stage() {
	psql "$TABPIPE_DB" -qAt -v name="$1" -v version="$2" <<'SQL'
SELECT v.stage FROM model_versions v JOIN models m ON m.id = v.model_id
WHERE m.name = :'name' AND v.version = :'version'::integer;
SQL
}
# audit NAME: the model's stage changes, one "version:from>to" a line.
audit() {
	psql "$TABPIPE_DB" -qAt -v name="$1" <<'SQL'
SELECT v.version || ':' || c.from_stage || '>' || c.to_stage
FROM stage_changes c JOIN model_versions v ON v.id = c.version_id
JOIN models m ON m.id = v.model_id WHERE m.name = :'name' ORDER BY c.id;
SQL
}
# consistent NAME: the audit log replays to the stages of the versions:
# each change starts from the stage the previous one left, and the last one
# of each version is its stage now. Prints the number of mismatches.
consistent() {
	psql "$TABPIPE_DB" -qAt -v name="$1" <<'SQL'
WITH c AS (
	SELECT c.id, c.version_id, c.from_stage, c.to_stage,
	    coalesce(lag(c.to_stage) OVER w, 'None') AS before,
	    row_number() OVER (PARTITION BY c.version_id ORDER BY c.id DESC) AS last
	FROM stage_changes c JOIN model_versions v ON v.id = c.version_id
	JOIN models m ON m.id = v.model_id WHERE m.name = :'name'
	WINDOW w AS (PARTITION BY c.version_id ORDER BY c.id))
SELECT (SELECT count(*) FROM c WHERE from_stage <> before) +
    (SELECT count(*) FROM c JOIN model_versions v ON v.id = c.version_id
     WHERE c.last = 1 AND c.to_stage <> v.stage);
SQL
}
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 1"

tabpipe-ingest -q --target Status --positive bad --split 70/15/15 --seed 3 \
	--out "$T/cd" "$DATA/credit_data.csv"
model="loan's \"model\" é"
for s in 1 2 3 4; do
	# shellcheck disable=SC2086 # $small holds several options
	tabpipe-train -q $small --seed "$s" --name "$model" --valid "$T/cd.valid.tps" \
		-o "$T/m$s.safetensors" "$T/cd.train.tps"
done

# Usage.
run_status "--help exits 0" 0 tabpipe-promote --help
out_has "--help prints the usage" "usage: tabpipe-promote"
run_status "no arguments exit 64" 64 tabpipe-promote
run_status "a gate that does not parse exits 64" 64 tabpipe-promote --gate 'auc>=x' "$model" 1
err_has "naming the gate and the column" '--gate "auc>=x": column 6: expected a number'
run_status "an unknown metric in a gate exits 64" 64 tabpipe-promote --gate 'roc>=0.7' "$model" 1
err_has "naming it" 'unknown metric "roc"'
run_status "an unknown --metric exits 64" 64 tabpipe-promote --metric roc "$model" 1
run_status "--to elsewhere exits 64" 64 tabpipe-promote --to archive "$model" 1
run_status "a version that is no number exits 64" 64 tabpipe-promote "$model" one
run_status "--rollback with a gate exits 64" 64 tabpipe-promote --rollback --gate 'auc>0' "$model"
run_status "no database exits 64" 64 env -u TABPIPE_DB tabpipe-promote "$model" 1
run_status "an unknown model exits 66" 66 tabpipe-promote nosuchmodel 1
err_has "it says so" 'no model named "nosuchmodel"'
run_status "an unknown version exits 66" 66 tabpipe-promote "$model" 9

# Gates.
run_status "a gate without an evaluation exits 1" 1 tabpipe-promote --gate 'auc>=0.7' "$model" 1
err_has "it says to evaluate" "version 1 has no evaluation"
out_has "the decision says not promoted" '"promoted":false'
ev "$model" 1 data-a '{"auc": 0.75, "f1": 0.4, "log_loss": 0.5}'
run_status "a failed gate exits 1" 1 tabpipe-promote --gate 'auc>=0.7' --gate 'f1 > 0.5' "$model" 1
err_has "naming the gate and the value" "gate f1>0.5 failed (f1 0.4)"
out_has "the decision has each gate with its value" '{"gate":"auc>=0.7","metric":"auc","op":">=","threshold":0.7,"value":0.75,"passed":true}'
yes_that "the stage is unchanged" test "$(stage "$model" 1)" = None
yes_that "no audit row" test -z "$(audit "$model")"
run_status "a gate on a metric not measured does not pass" 1 tabpipe-promote --gate 'brier<0.3' "$model" 1
err_has "it says what is missing" "has no brier"
run_status "passing gates promote to Production" 0 tabpipe-promote --gate 'auc>=0.7' --gate 'f1>=0.4' "$model" 1
out_has "promoted" '"promoted":true'
out_has "the change" '"changes":[{"version":1,"from":"None","to":"Production"}]'
err_has "said on stderr" "version 1: None -> Production"
yes_that "version 1 is in Production" test "$(stage "$model" 1)" = Production
yes_that "with its audit row" test "$(audit "$model")" = "1:None>Production"
yes_that "whose reason holds the gates" test "$(q "SELECT reason FROM stage_changes ORDER BY id DESC LIMIT 1")" = \
	"gate auc>=0.7 passed (auc 0.75); gate f1>=0.4 passed (f1 0.4); no champion; evaluation 1"
yes_that "by the database user" test "$(q "SELECT db_user FROM stage_changes ORDER BY id DESC LIMIT 1")" = tabpipe
run_status "the Production version again exits 1" 1 tabpipe-promote "$model" 1
err_has "it is already there" "version 1 is already in Production"

# The champion.
ev "$model" 2 data-b '{"auc": 0.80, "log_loss": 0.45}'
run_status "a champion without an evaluation on the same data: exit 1" 1 tabpipe-promote "$model" 2
err_has "it says to evaluate the champion on the same data" "evaluate version 1 on the same data"
out_has "the decision has the champion" '"champion":{"version":1,"metric":"auc"'
ev "$model" 1 data-b '{"auc": 0.78, "log_loss": 0.40}'
run_status "not beating the champion by the margin exits 1" 1 tabpipe-promote --margin 0.05 "$model" 2
err_has "it says by how much" "auc 0.8 against 0.78 of the champion, version 1: not better by more than 0.05"
run_status "a worse log loss does not beat the champion" 1 tabpipe-promote --metric log_loss "$model" 2
err_has "lower log loss wins" "log_loss 0.45 against 0.4 of the champion"
out_has "the decision says lower is better" '"lower_is_better":true'
ev "$model" 3 data-b '{"auc": 0.78, "log_loss": 0.40}'
run_status "a tie does not beat the champion" 1 tabpipe-promote "$model" 3
yes_that "refusals change nothing" test "$(q "SELECT count(*) FROM stage_changes")" = 1
run_status "a better candidate replaces the champion" 0 tabpipe-promote -q "$model" 2
yes_that "-q says nothing" test ! -s "$T/err"
yes_that "it is in Production" test "$(stage "$model" 2)" = Production
yes_that "the champion is Archived" test "$(stage "$model" 1)" = Archived
yes_that "two audit rows in one go" test "$(audit "$model" | tr '\n' ' ')" = \
	"1:None>Production 1:Production>Archived 2:None>Production "
yes_that "the champion's row says by which version" test "$(q "SELECT count(*) FROM stage_changes WHERE reason LIKE 'replaced by version 2: %'")" = 1
yes_that "the reason holds the comparison" test "$(q "SELECT count(*) FROM stage_changes WHERE to_stage = 'Production' AND reason LIKE '%auc 0.8 against 0.78 of the champion, version 1: better by more than 0%'")" = 1

# Staging.
run_status "--to staging ignores the champion" 0 tabpipe-promote --to staging --reason "for a look" "$model" 3
yes_that "version 3 is in Staging" test "$(stage "$model" 3)" = Staging
yes_that "with the reason given" test "$(q "SELECT reason FROM stage_changes ORDER BY id DESC LIMIT 1")" = "for a look"
run_status "the Production version to Staging exits 1" 1 tabpipe-promote --to staging "$model" 2
run_status "staging gates apply" 1 tabpipe-promote --to staging --gate 'auc>0.9' "$model" 4
err_has "no evaluation, no gate passed" "version 4 has no evaluation"

# The database keeps the registered bytes: the file is not needed.
cp "$T/m4.safetensors" "$T/m4.keep"
printf 'x' >>"$T/m4.safetensors"
run_status "a changed model file with its bytes kept exits 1" 1 tabpipe-promote --to staging --gate 'auc>0.9' "$model" 4
err_has "the gate, not the file, says no" "version 4 has no evaluation"
# A version registered before the database kept bytes (migration 4): the
# registered file must be the one promoted.
q "UPDATE model_versions SET blob = NULL WHERE version = 4" >/dev/null
run_status "a changed model file exits 65" 65 tabpipe-promote --to staging "$model" 4
err_has "it says so" "its SHA-256 differs"
mv "$T/m4.keep" "$T/m4.safetensors"
rm "$T/m4.safetensors"
run_status "a missing model file exits 66" 66 tabpipe-promote --to staging "$model" 4

# Rollback.
run_status "rollback exits 0" 0 tabpipe-promote --rollback "$model"
out_has "its decision" '"version":1,"from":"Archived","to":"Production","promoted":true'
yes_that "the former champion is back" test "$(stage "$model" 1)" = Production
yes_that "the replaced version is Archived" test "$(stage "$model" 2)" = Archived
yes_that "the rollback's audit rows" test "$(q "SELECT count(*) FROM stage_changes WHERE reason = 'rollback from version 2 to version 1'")" = 2
run_status "a second rollback undoes the first" 0 tabpipe-promote --rollback --reason "undo" "$model"
yes_that "version 2 is back" test "$(stage "$model" 2)" = Production
yes_that "version 1 is archived again" test "$(stage "$model" 1)" = Archived
yes_that "the audit log replays to the stages" test "$(consistent "$model")" = 0
yes_that "one Production version" test "$(q "SELECT count(*) FROM model_versions WHERE stage = 'Production'")" = 1
# shellcheck disable=SC2086
tabpipe-train -q $small --name solo --valid "$T/cd.valid.tps" -o "$T/solo.safetensors" "$T/cd.train.tps"
run_status "a rollback without Production exits 1" 1 tabpipe-promote --rollback solo
err_has "it says why" "solo has no Production version to roll back"
run_status "a first promotion needs no evaluation without gates" 0 tabpipe-promote solo 1
run_status "a rollback with nothing to go back to exits 1" 1 tabpipe-promote --rollback solo
err_has "it says why" "no archived former Production version"

# Runs.
yes_that "each invocation is a run of promote" test "$(q "SELECT count(*) FROM runs WHERE tool = 'promote'")" -ge 15
yes_that "refusals are finished runs with their decision" test "$(q "SELECT count(*) FROM runs WHERE tool = 'promote' AND status = 'finished' AND result->>'promoted' = 'false'")" -ge 5
yes_that "errors are failed runs" test "$(q "SELECT count(*) FROM runs WHERE tool = 'promote' AND status = 'failed' AND error LIKE '%SHA-256 differs%'")" = 1

# A new Production version is announced on tabpipe_production.
ev solo 1 data-s '{"auc": 0.6}'
# shellcheck disable=SC2086
tabpipe-train -q $small --seed 9 --name solo --valid "$T/cd.valid.tps" -o "$T/solo2.safetensors" "$T/cd.train.tps"
ev solo 2 data-s '{"auc": 0.7}'
psql "$TABPIPE_DB" -qAt -c "LISTEN tabpipe_production" -c "SELECT pg_sleep(3)" >"$T/listen" 2>&1 &
listener=$!
sleep 1
tabpipe-promote -q solo 2 >/dev/null
wait "$listener"
if grep -q 'Asynchronous notification "tabpipe_production" with payload "{"model" : "solo", "version" : 2' "$T/listen"; then
	ok "the promotion is announced"
else
	not_ok "the promotion is announced ($(cat "$T/listen"))"
fi

# With the evaluations that tabpipe-evaluate records.
for s in 1 2; do
	# shellcheck disable=SC2086
	tabpipe-train -q $small --seed "$s" --name evaluated --valid "$T/cd.valid.tps" \
		-o "$T/e$s.safetensors" "$T/cd.train.tps"
	tabpipe-evaluate -q -m "evaluated@$s" "$T/cd.test.tps" >/dev/null
done
run_status "gates on tabpipe-evaluate's metrics" 0 tabpipe-promote --gate 'auc>=0' --gate 'log_loss>0' evaluated 1
auc=$(q "SELECT e.metrics->>'auc' FROM evaluations e JOIN model_versions v ON v.id = e.version_id JOIN models m ON m.id = v.model_id WHERE m.name = 'evaluated' AND v.version = 1")
out_has "the gate has the evaluation's AUC" "\"gate\":\"auc>=0\",\"metric\":\"auc\",\"op\":\">=\",\"threshold\":0,\"value\":$auc,"
tabpipe-promote evaluated 2 >"$T/out" 2>"$T/err"
status=$?
if { [ "$status" -eq 0 ] || [ "$status" -eq 1 ]; } && ! grep -q "no evaluation" "$T/err"; then
	ok "the champion is compared on the same data (exit $status)"
else
	not_ok "the champion is compared on the same data (exit $status)"
fi
out_has "with the champion's evaluation" '"champion":{"version":1,"metric":"auc","lower_is_better":false,"margin":0,"evaluation":{"id":'

# Promotions racing: version 1 is the champion, versions 2 and 3 both beat
# it, and 3 beats 2. Both wait on a lock held elsewhere, then go at once:
# whichever goes first, version 3 must end in Production, alone, with an
# audit log that replays to the stages.
sha1=$(sha256sum <"$T/m1.safetensors" | cut -d' ' -f1)
sha2=$(sha256sum <"$T/m2.safetensors" | cut -d' ' -f1)
sha3=$(sha256sum <"$T/m3.safetensors" | cut -d' ' -f1)
i=1
while [ $i -le 10 ]; do
	name="race $i"
	psql "$TABPIPE_DB" -qAt -v ON_ERROR_STOP=1 -v name="$name" -v dir="$T" \
		-v s1="$sha1" -v s2="$sha2" -v s3="$sha3" >/dev/null <<'SQL'
INSERT INTO models (name) VALUES (:'name');
INSERT INTO model_versions (model_id, version, path, sha256)
SELECT m.id, n, :'dir' || '/m' || n || '.safetensors',
    CASE n WHEN 1 THEN :'s1' WHEN 2 THEN :'s2' ELSE :'s3' END
FROM models m, generate_series(1, 3) n WHERE m.name = :'name';
SQL
	ev "$name" 1 race '{"auc": 0.70}'
	ev "$name" 2 race '{"auc": 0.75}'
	ev "$name" 3 race '{"auc": 0.80}'
	tabpipe-promote -q "$name" 1 >/dev/null
	psql "$TABPIPE_DB" -qAt -v name="$name" >/dev/null <<'SQL' &
BEGIN;
SELECT v.id FROM model_versions v JOIN models m ON m.id = v.model_id
WHERE m.name = :'name' FOR UPDATE;
SELECT pg_sleep(0.5);
COMMIT;
SQL
	holder=$!
	sleep 0.2
	tabpipe-promote -q "$name" 2 >"$T/race2" 2>&1 &
	p2=$!
	tabpipe-promote -q "$name" 3 >"$T/race3" 2>&1 &
	p3=$!
	wait "$p2"
	s2=$?
	wait "$p3"
	s3=$?
	wait "$holder"
	prod=$(q "SELECT string_agg(v.version::text, ',') FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'race $i' AND v.stage = 'Production'")
	bad=$(consistent "$name")
	if [ "$prod" = 3 ] && [ "$bad" = 0 ] && [ "$s3" -eq 0 ] &&
	    { [ "$s2" -eq 0 ] || [ "$s2" -eq 1 ]; }; then
		ok "race $i: version 3 alone in Production, the audit log consistent"
	else
		not_ok "race $i: Production $prod, $bad audit mismatches, exits $s2 and $s3 ($(cat "$T/race2" "$T/race3"))"
	fi
	i=$((i + 1))
done
yes_that "the racing models have one Production version each" test \
	"$(q "SELECT count(*) FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name LIKE 'race %' AND v.stage = 'Production'")" = 10
