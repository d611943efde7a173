#!/bin/sh
# scripts/pipeline and scripts/monitor on small data against the test
# server: the first run promotes, a batch without drift does not retrain, a
# shifted batch does, a failing step leaves Production as it was, and two
# runs started together do not overlap.
. ./lib.sh

scripts=$(cd ../../scripts && pwd)
TABPIPE_HOME=$T/home TABPIPE_MODEL="credit 'test' ü"
TARGET=Status POSITIVE=bad EPOCHS=2 PRETRAIN_EPOCHS=1 GATES="auc>=0.5"
MODEL_OPTS="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128"
export TABPIPE_HOME TABPIPE_MODEL TARGET POSITIVE EPOCHS PRETRAIN_EPOCHS GATES MODEL_OPTS
mkdir -p "$TABPIPE_HOME/data" "$TABPIPE_HOME/incoming"

# Rows 0-6 of every ten are the history, 7-8 a batch like it, 9 a batch
# with incomes doubled, amounts up by half and a new kind of home.
awk -F, -v OFS=, -v t="$T" '
NR == 1 { print > (t "/home/data/history.csv"); print > (t "/batch.csv"); print > (t "/shifted.csv"); next }
{ k = NR % 10 }
k <= 6 { print > (t "/home/data/history.csv"); next }
k <= 8 { print > (t "/batch.csv"); next }
{ $10 = $10 * 2; $13 = $13 * 1.5; if (NR % 20 == 9) $3 = "\"boat\""; print > (t "/shifted.csv") }
' "$DATA/credit_data.csv"

psql_q() { psql "$TABPIPE_DB" -X -A -t -q -v model="$TABPIPE_MODEL" -f -; }
production() {
	psql_q <<'SQL'
SELECT v.version FROM model_versions v JOIN models m ON m.id = v.model_id
WHERE m.name = :'model' AND v.stage = 'Production';
SQL
}
versions() {
	psql_q <<'SQL'
SELECT count(*) FROM model_versions v JOIN models m ON m.id = v.model_id
WHERE m.name = :'model';
SQL
}

run_status "the first pipeline run promotes" 0 sh "$scripts/pipeline"
err_has "it logs the promotion" "to Production"
if [ "$(production)" = 1 ]; then ok "version 1 is in Production"; else not_ok "version 1 is in Production (got '$(production)')"; fi
prom=$TABPIPE_HOME/metrics/tabpipe_pipeline.prom
yes_that "the pipeline wrote its metrics" grep -qx "tabpipe_pipeline_promoted 1" "$prom"
yes_that "with the Production version" grep -qx "tabpipe_production_version 1" "$prom"
yes_that "and the candidate's AUC" grep -q '^tabpipe_candidate_metric{metric="auc"} 0\.' "$prom"

cp "$T/batch.csv" "$TABPIPE_HOME/incoming/"
run_status "the monitor on a batch like the history" 0 sh "$scripts/monitor"
err_has "finds no drift" "drift: none significant"
err_has "and does not retrain" "no retraining needed"
if [ "$(versions)" = 1 ]; then ok "no new version"; else not_ok "no new version (got $(versions))"; fi
yes_that "the batch left the inbox" test ! -e "$TABPIPE_HOME/incoming/batch.csv"
yes_that "for the data" test -n "$(find "$TABPIPE_HOME/data" -name '*batch.csv')"
prom=$TABPIPE_HOME/metrics/tabpipe_monitor.prom
yes_that "the monitor wrote its metrics" grep -qx "tabpipe_monitor_retrained 0" "$prom"
yes_that "with the 7-day average" grep -q '^tabpipe_monitor_metric_7d{metric="auc"} 0\.' "$prom"
yes_that "and PSI per feature" grep -q '^tabpipe_monitor_psi{feature="Income"}' "$prom"

MODEL_OPTS="$MODEL_OPTS --lr 1e30" run_status "a pipeline whose training diverges fails" 65 sh "$scripts/pipeline"
err_has "it names the step" "train failed (exit 65); stopped"
if [ "$(production)" = 1 ]; then ok "Production is as it was"; else not_ok "Production is as it was (got '$(production)')"; fi
yes_that "the metrics say it failed" grep -qx "tabpipe_pipeline_status 65" "$TABPIPE_HOME/metrics/tabpipe_pipeline.prom"

# Two monitors at once on the shifted batch: one runs (and retrains), the
# other finds the lock taken.
cp "$T/shifted.csv" "$TABPIPE_HOME/incoming/"
sh "$scripts/monitor" >"$T/m1.out" 2>"$T/m1.err" &
p1=$!
sh "$scripts/monitor" >"$T/m2.out" 2>"$T/m2.err" &
p2=$!
wait "$p1"
s1=$?
wait "$p2"
s2=$?
if { [ "$s1" -eq 0 ] && [ "$s2" -eq 75 ]; } || { [ "$s1" -eq 75 ] && [ "$s2" -eq 0 ]; }; then
	ok "two monitors started together: one runs, one finds the lock"
else
	not_ok "two monitors started together: one runs, one finds the lock (exits $s1 and $s2)"
	sed 's/^/#   /' "$T/m1.err" "$T/m2.err" | head -n 40
fi
cat "$T/m1.err" "$T/m2.err" >"$T/err"
err_has "the shifted batch drifts" "drift: found"
err_has "the monitor says why it retrains" "retraining: the new data drift significantly"
if [ "$(versions)" = 2 ]; then ok "the retraining registered version 2"; else not_ok "the retraining registered version 2 (got $(versions))"; fi
yes_that "the monitor says it retrained" grep -qx "tabpipe_monitor_retrained 1" "$TABPIPE_HOME/metrics/tabpipe_monitor.prom"
