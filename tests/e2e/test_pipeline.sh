#!/bin/sh
# scripts/pipeline and scripts/monitor on small data against the test
# server: the first run promotes, a batch without drift does not retrain, a
# shifted batch does, a failing step leaves Production as it was, two
# runs started together do not overlap, and a password in TABPIPE_DB shows
# neither in the logs nor in the command lines of what the scripts run.
. ./lib.sh

scripts=$(cd ../../scripts && pwd)

# The test server trusts its clients, so a connection string with a
# password connects all the same. Every command the scripts start (the
# tools and psql) is found first in $T/spy, which writes its command line
# to $T/argv, as ps(1) would show it, before it runs the real one.
db_plain=$TABPIPE_DB
TABPIPE_DB="$TABPIPE_DB password=Hush-SECRET-42"
export TABPIPE_DB
mkdir -p "$T/spy"
for tool in psql $(cd "$(dirname "$(command -v tabpipe-train)")" && ls tabpipe-*); do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\nexec "%s" "$@"\n' \
		"$tool" "$T/argv" "$(command -v "$tool")" >"$T/spy/$tool"
	chmod +x "$T/spy/$tool"
done
PATH=$T/spy:$PATH
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

psql_q() { psql "$db_plain" -X -A -t -q -v model="$TABPIPE_MODEL" -f -; }
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
err_has "it trained an ensemble of 5 to teach the model" "teacher: tabpipe-train --members 5"
yes_that "and registered their student" grep -q "^tabpipe-train --name .* --teacher $TABPIPE_HOME/runs/.*/teacher.safetensors" "$T/argv"
if [ "$(production)" = 1 ]; then ok "version 1 is in Production"; else not_ok "version 1 is in Production (got '$(production)')"; fi
# Every series has the model's label (its name needs no escaping).
prom=$TABPIPE_HOME/metrics/tabpipe_pipeline.prom
label="model=\"$TABPIPE_MODEL\""
yes_that "the pipeline wrote its metrics" grep -qxF "tabpipe_pipeline_promoted{$label} 1" "$prom"
yes_that "with the Production version" grep -qxF "tabpipe_production_version{$label} 1" "$prom"
yes_that "and the candidate's AUC" grep -qF "tabpipe_pipeline_candidate_metric{$label,metric=\"auc\"} 0." "$prom"

cp "$T/batch.csv" "$TABPIPE_HOME/incoming/"
run_status "the monitor on a batch like the history" 0 sh "$scripts/monitor"
err_has "finds no drift" "drift: none significant"
err_has "and does not retrain" "no retraining needed"
if [ "$(versions)" = 1 ]; then ok "no new version"; else not_ok "no new version (got $(versions))"; fi
yes_that "the batch left the inbox" test ! -e "$TABPIPE_HOME/incoming/batch.csv"
yes_that "for the data" test -n "$(find "$TABPIPE_HOME/data" -name '*batch.csv')"
prom=$TABPIPE_HOME/metrics/tabpipe_monitor.prom
yes_that "the monitor wrote its metrics" grep -qxF "tabpipe_monitor_retrained{$label} 0" "$prom"
yes_that "with the 7-day average" grep -qF "tabpipe_monitor_metric_7d{$label,metric=\"auc\"} 0." "$prom"
yes_that "and PSI per feature" grep -qF "tabpipe_monitor_psi{$label,feature=\"Income\"} " "$prom"

TEACHER_MEMBERS=five run_status "a pipeline with TEACHER_MEMBERS not a number exits 64" 64 sh "$scripts/pipeline"
err_has "saying so" "TEACHER_MEMBERS is five"
PRETRAIN_EPOCHS=0 TEACHER_MEMBERS=1 MODEL_OPTS="$MODEL_OPTS --lr 1e30" \
	run_status "a pipeline whose training diverges fails" 65 sh "$scripts/pipeline"
err_has "it names the step" "pipeline: train failed (exit 65); stopped"
MODEL_OPTS="$MODEL_OPTS --lr 1e30" run_status "so does one whose pretraining diverges" 65 sh "$scripts/pipeline"
err_has "naming it" "pipeline: pretrain failed (exit 65); stopped"
PRETRAIN_EPOCHS=0 MODEL_OPTS="$MODEL_OPTS --lr 1e30" run_status "and one whose teacher diverges" 65 sh "$scripts/pipeline"
err_has "naming it too" "pipeline: teacher failed (exit 65); stopped"
if [ "$(production)" = 1 ]; then ok "Production is as it was"; else not_ok "Production is as it was (got '$(production)')"; fi
yes_that "the metrics say it failed" grep -qxF "tabpipe_pipeline_status{$label} 65" "$TABPIPE_HOME/metrics/tabpipe_pipeline.prom"

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
yes_that "the monitor says it retrained" grep -qxF "tabpipe_monitor_retrained{$label} 1" "$TABPIPE_HOME/metrics/tabpipe_monitor.prom"

# The password of a URI, after the user or as a parameter, is kept off
# psql's command line as well, and the query still runs.
setting() { printf '%s\n' "$db_plain" | sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
for uri in "postgresql://$(setting user):Hush-SECRET-42@/$(setting dbname)?host=$(setting host)" \
	"postgresql://$(setting user)@/$(setting dbname)?password=Hush-SECRET-42&host=$(setting host)"; do
	# shellcheck disable=SC2016 # $1 is the inner shell's
	got=$(TABPIPE_DB=$uri sh -c '. "$1/common.sh" && echo "SELECT 41 + 1;" | sql' sh "$scripts" 2>"$T/err")
	if [ "$got" = 42 ]; then ok "sql with a password in a URI"; else not_ok "sql with a password in a URI (got '$got')"; fi
done

# A run as cron runs it, its log in a file under TABPIPE_HOME; then the
# password anywhere there, in the logs of the runs above, or in a command
# line, is a leak.
mkdir -p "$TABPIPE_HOME/log"
sh "$scripts/pipeline" >>"$TABPIPE_HOME/log/pipeline.log" 2>&1
status=$?
if [ "$status" -le 1 ]; then ok "a pipeline run logged to a file as cron does"; else not_ok "a pipeline run logged to a file as cron does (exit $status)"; fi
yes_that "its log has the commands" grep -q "train: tabpipe-train" "$TABPIPE_HOME/log/pipeline.log"
yes_that "the scripts' commands were seen" grep -q "^tabpipe-train " "$T/argv"
yes_that "psql's too" grep -q "^psql " "$T/argv"
leaks=$(grep -rlF "Hush-SECRET-42" "$TABPIPE_HOME" "$T/m1.err" "$T/m2.err" "$T/argv")
if [ -z "$leaks" ]; then
	ok "the password is in no log, file or command line"
else
	not_ok "the password is in no log, file or command line (found in: $(printf '%s\n' "$leaks" | tr '\n' ' '))"
	printf '%s\n' "$leaks" | while IFS= read -r f; do
		grep -hF "Hush-SECRET-42" "$f"
	done | head -n 5 | sed 's/^/#   /'
fi
