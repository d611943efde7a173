#!/bin/sh
# The metrics as Prometheus reads them: the files of scripts/pipeline and
# scripts/monitor pass `promtool check metrics`, each metric name has one
# owner among them and tabpipe-serve's /metrics, every series carries the
# model's name; node_exporter's textfile collector reads the folder
# without error (and does complain of a name written twice); the alerting
# rules pass `promtool check rules` and their cases; the Grafana dashboard
# is JSON whose queries parse and name only metrics that exist.
. ./lib.sh

scripts=$(cd ../../scripts && pwd)

# A model name that the label's escaping must get right.
# shellcheck disable=SC2089,SC2090 # the quotes and backslash are the name's
TABPIPE_HOME=$T/home TABPIPE_MODEL='credit "q" \ ü'
TARGET=Status POSITIVE=bad EPOCHS=2 PRETRAIN_EPOCHS=0 GATES="auc>=0.5 log_loss<=5"
MODEL_OPTS="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128"
# shellcheck disable=SC2090 # as above
export TABPIPE_HOME TABPIPE_MODEL TARGET POSITIVE EPOCHS PRETRAIN_EPOCHS GATES MODEL_OPTS
metrics=$TABPIPE_HOME/metrics
mkdir -p "$TABPIPE_HOME/data" "$TABPIPE_HOME/incoming"
label='model="credit \"q\" \\ ü"'

# Rows 0-7 of every ten are the history, 8-9 a batch like it.
awk -F, -v t="$T" '
NR == 1 { print > (t "/home/data/history.csv"); print > (t "/batch.csv"); next }
NR % 10 <= 7 { print > (t "/home/data/history.csv"); next }
{ print > (t "/batch.csv") }
' "$DATA/credit_data.csv"

# value FILE NAME: the value of the model's series NAME in FILE.
value() {
	P="$2{$label" awk 'index($0, ENVIRON["P"]) == 1 { print $NF; exit }' "$1"
}

# names FILE: the metric names that FILE's TYPE lines declare, one a line.
names() { sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$1" | sort -u; }

# --- the scripts' files ----------------------------------------------------
run_status "the pipeline promotes" 0 sh "$scripts/pipeline"
cp "$T/batch.csv" "$TABPIPE_HOME/incoming/"
run_status "the monitor scores a batch" 0 sh "$scripts/monitor"
pipeline=$metrics/tabpipe_pipeline.prom
monitor=$metrics/tabpipe_monitor.prom
cp "$monitor" "$T/monitor.first"
scored=$(value "$monitor" tabpipe_monitor_batch_timestamp_seconds)

yes_that "the Production version is the pipeline's" test "$(value "$pipeline" tabpipe_production_version)" = 1
yes_that "and not the monitor's" test -z "$(grep '^tabpipe_production_version' "$monitor")"
yes_that "the monitor says which version scored" test "$(value "$monitor" tabpipe_monitor_model_version)" = 1
yes_that "the pipeline writes its gates" grep -qxF "tabpipe_pipeline_gate{$label,metric=\"auc\",op=\">=\"} 0.5" "$pipeline"
yes_that "each of them" grep -qxF "tabpipe_pipeline_gate{$label,metric=\"log_loss\",op=\"<=\"} 5" "$pipeline"
yes_that "the pipeline's last success is now" test "$(value "$pipeline" tabpipe_pipeline_last_success_timestamp_seconds)" -gt $(($(date +%s) - 600))
yes_that "the monitor's too" test "$(value "$monitor" tabpipe_monitor_last_success_timestamp_seconds)" -gt $(($(date +%s) - 600))
yes_that "the monitor writes the batch's rows" test "$(value "$monitor" tabpipe_monitor_rows)" -gt 0
yes_that "and the score's PSI" grep -qF "tabpipe_monitor_psi{$label,feature=\"score\"} " "$monitor"
report=$(find "$TABPIPE_HOME/monitor" -name drift.json | head -n 1)
want=$(jq -r '.features[], .score | "\(.name) \(.psi)"' "$report" | sort)
got=$(sed -n 's/^tabpipe_monitor_psi{[^}]*feature="\([^"]*\)"} \(.*\)/\1 \2/p' "$monitor" | sort)
# (jq writes the numbers shorter: they are compared as numbers)
printf '%s\n' "$want" >"$T/psi.want"
printf '%s\n' "$got" >"$T/psi.got"
if [ -n "$want" ] && paste -d ' ' "$T/psi.want" "$T/psi.got" |
	awk '$1 != $3 || $2 - $4 > 1e-12 || $4 - $2 > 1e-12 || NF != 4 { bad = 1 } END { exit bad }'; then
	ok "a PSI for each feature of the drift report, and the score"
else
	not_ok "a PSI for each feature of the drift report, and the score"
	printf '%s\n' "$want" "--" "$got" | head -n 40 | sed 's/^/#   /'
fi

# A monitor run without new data succeeds and keeps the last batch's
# figures; a failing pipeline keeps the last success.
sleep 1
run_status "the monitor without new data" 0 sh "$scripts/monitor"
yes_that "still writes its file, with a later success" test "$(value "$monitor" tabpipe_monitor_last_success_timestamp_seconds)" -gt "$scored"
yes_that "and the last batch's figures as they were" test "$(grep -v '^tabpipe_monitor_\(status\|last_\|duration\)' "$monitor")" = "$(grep -v '^tabpipe_monitor_\(status\|last_\|duration\)' "$T/monitor.first")"
# A second run has a champion to compare with; its file has every name
# the pipeline writes.
sh "$scripts/pipeline" >"$T/out" 2>"$T/err"
status=$?
if [ "$status" -le 1 ]; then ok "a second pipeline run decides"; else not_ok "a second pipeline run decides (exit $status)"; fi
yes_that "with the champion's metrics" grep -qF "tabpipe_pipeline_champion_metric{$label,metric=\"auc\"} " "$pipeline"
cp "$pipeline" "$T/pipeline.second"
success=$(value "$pipeline" tabpipe_pipeline_last_success_timestamp_seconds)
MODEL_OPTS="$MODEL_OPTS --lr 1e30" run_status "a pipeline whose training diverges fails" 65 sh "$scripts/pipeline"
yes_that "its status is in the file" test "$(value "$pipeline" tabpipe_pipeline_status)" = 65
yes_that "and the last success as it was" test "$(value "$pipeline" tabpipe_pipeline_last_success_timestamp_seconds)" = "$success"

# --- tabpipe-serve's /metrics ----------------------------------------------
# With the database, the server logs predictions, and has the prediction
# log's metrics too.
tabpipe-serve --listen 127.0.0.1:0 -m "$TABPIPE_MODEL@production" 2>"$T/serve.err" &
spid=$!
# A process waited for is no longer killed: its number may be another's.
trap '[ -z "$spid" ] || kill "$spid" 2>/dev/null; [ -z "${ne_pid:-}" ] || kill "$ne_pid" 2>/dev/null; rm -rf "$T"' EXIT
n=600
port=
while [ "$n" -gt 0 ] && [ -z "$port" ] && kill -0 "$spid" 2>/dev/null; do
	sleep 0.1
	n=$((n - 1))
	port=$(sed -n 's|^tabpipe-serve: listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$T/serve.err" | head -n 1)
done
if [ -n "$port" ] && curl -sf --max-time 10 "http://127.0.0.1:$port/metrics" >"$T/serve.prom"; then
	ok "tabpipe-serve answers /metrics"
else
	not_ok "tabpipe-serve answers /metrics"
	sed 's/^/#   /' "$T/serve.err" | head -n 5
fi
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
spid=
# The server's names, from its answer and, should a metric be left out of
# it, from the source.
{
	names "$T/serve.prom"
	sed -n 's/.*"\(tabpipe_[a-z_]*[a-z]\)[ "].*/\1/p' ../../lib/serve/httpstats.c
} | sort -u >"$T/serve.names"
yes_that "with the prediction log's metrics" grep -qx tabpipe_predlog_queue_rows "$T/serve.names"

# --- one owner per name, a model label on every series -----------------------
cat "$pipeline" "$T/pipeline.second" >"$T/pipeline.all"
names "$T/pipeline.all" >"$T/pipeline.names"
names "$monitor" >"$T/monitor.names"
twice=$(sort "$T/pipeline.names" "$T/monitor.names" "$T/serve.names" | uniq -d)
if [ -z "$twice" ]; then
	ok "no metric name has two owners"
else
	not_ok "no metric name has two owners (twice: $(echo "$twice" | tr '\n' ' '))"
fi
for f in "$pipeline" "$T/pipeline.second" "$monitor"; do
	bad=$(P="{$label" awk '!/^#/ { n = $0; sub(/[{ ].*/, "", n); if (index($0, n ENVIRON["P"]) != 1) print }' "$f")
	if [ -z "$bad" ]; then
		ok "every series of $(basename "$f") has the model's label"
	else
		not_ok "every series of $(basename "$f") has the model's label"
		printf '%s\n' "$bad" | head -n 3 | sed 's/^/#   /'
	fi
	undeclared=$(awk '/^# TYPE / { t[$3] = 1; next } !/^#/ { n = $0; sub(/[{ ].*/, "", n); if (!t[n]) print n }' "$f")
	if [ -z "$undeclared" ]; then ok "every metric of $(basename "$f") has its TYPE"; else not_ok "every metric of $(basename "$f") has its TYPE ($undeclared)"; fi
done

# --- promtool ---------------------------------------------------------------
if command -v promtool >/dev/null 2>&1; then
	for f in "$metrics"/*.prom "$T/pipeline.second"; do
		if promtool check metrics <"$f" >"$T/err" 2>&1; then
			ok "promtool check metrics $(basename "$f")"
		else
			not_ok "promtool check metrics $(basename "$f")"
		fi
	done
	if promtool check rules "$scripts/prometheus/tabpipe.rules.yml" >"$T/err" 2>&1; then
		ok "promtool check rules"
	else
		not_ok "promtool check rules"
	fi
	if (cd "$scripts/prometheus" && promtool test rules tabpipe.rules.test.yml) >"$T/err" 2>&1; then
		ok "promtool test rules: each alert fires where it should, and only there"
	else
		not_ok "promtool test rules: each alert fires where it should, and only there"
		sed 's/^/#   /' "$T/err" | head -n 20
	fi
	# The rules fail their cases when an alert is turned off.
	sed 's/expr: tabpipe_monitor_drift == 1/expr: tabpipe_monitor_drift == 2/' \
		"$scripts/prometheus/tabpipe.rules.yml" >"$T/tabpipe.rules.yml"
	sed 's|^  - tabpipe.rules.yml|  - '"$T"'/tabpipe.rules.yml|' \
		"$scripts/prometheus/tabpipe.rules.test.yml" >"$T/rules.test.yml"
	if (cd "$scripts/prometheus" && promtool test rules "$T/rules.test.yml") >/dev/null 2>&1; then
		not_ok "the cases fail when an alert does not fire"
	else
		ok "the cases fail when an alert does not fire"
	fi
else
	skip "promtool check metrics" "promtool is not installed (Debian: prometheus)"
	skip "promtool check rules" "promtool is not installed (Debian: prometheus)"
	skip "promtool test rules" "promtool is not installed (Debian: prometheus)"
fi

# --- node_exporter's textfile collector -------------------------------------
ne=/usr/bin/prometheus-node-exporter
command -v prometheus-node-exporter >/dev/null 2>&1 && ne=$(command -v prometheus-node-exporter)
# ne_start: node_exporter with the textfile collector alone on the metrics
# folder, on a free port of 127.0.0.1; sets ne_pid and ne_url.
ne_start() {
	for try in 1 2 3 4 5 6 7 8; do
		ne_port=$((30000 + ($$ * 7 + try * 7919) % 30000))
		"$ne" --web.listen-address="127.0.0.1:$ne_port" \
			--collector.disable-defaults --collector.textfile \
			--collector.textfile.directory="$metrics" 2>"$T/ne.err" &
		ne_pid=$!
		n=100
		while [ "$n" -gt 0 ] && kill -0 "$ne_pid" 2>/dev/null; do
			if grep -q "Listening on.*address=127.0.0.1:$ne_port" "$T/ne.err"; then
				ne_url=http://127.0.0.1:$ne_port/metrics
				return 0
			fi
			sleep 0.1
			n=$((n - 1))
		done
		kill "$ne_pid" 2>/dev/null
		wait "$ne_pid" 2>/dev/null
		ne_pid=
	done
	return 1
}
if [ ! -x "$ne" ]; then
	skip "node_exporter reads the metrics" "node_exporter is not installed (Debian: prometheus-node-exporter)"
elif ! ne_start; then
	not_ok "node_exporter starts"
	sed 's/^/#   /' "$T/ne.err" | tail -n 5
else
	ok "node_exporter starts"
	curl -sf --max-time 10 "$ne_url" >"$T/ne.out"
	yes_that "it has the pipeline's series" grep -qxF "tabpipe_production_version{$label} $(value "$pipeline" tabpipe_production_version)" "$T/ne.out"
	# (node_exporter writes the labels in their names' order)
	yes_that "and the monitor's" grep -qF "tabpipe_monitor_psi{feature=\"score\",$label}" "$T/ne.out"
	yes_that "node_textfile_scrape_error is 0" grep -qx "node_textfile_scrape_error 0" "$T/ne.out"
	yes_that "it read both files" test "$(grep -c '^node_textfile_mtime_seconds{' "$T/ne.out")" -eq 2
	if grep -q "collected before\|error gathering" "$T/ne.err"; then
		not_ok "it logs no error gathering the metrics"
		grep "collected before\|error gathering" "$T/ne.err" | head -n 3 | sed 's/^/#   /'
	else
		ok "it logs no error gathering the metrics"
	fi
	# What it said of the two files that defined the same name: a copy of
	# the pipeline's file is such a pair.
	cp "$pipeline" "$metrics/copy.prom"
	curl -sf --max-time 10 "$ne_url" >/dev/null
	yes_that "a name in two files is an error it logs" grep -q "collected before" "$T/ne.err"
	rm -f "$metrics/copy.prom"
	kill "$ne_pid" 2>/dev/null
	wait "$ne_pid" 2>/dev/null
	ne_pid=
fi

# --- the Grafana dashboard --------------------------------------------------
: >"$T/err"
dash=$scripts/grafana/tabpipe.json
if jq -e '.schemaVersion >= 36 and .schemaVersion <= 39 and (.panels | length) > 0' "$dash" >/dev/null 2>&1; then
	ok "the dashboard is JSON of Grafana 9 or 10"
else
	not_ok "the dashboard is JSON of Grafana 9 or 10"
fi
yes_that "with a Prometheus data source variable" \
	jq -e '[.templating.list[] | select(.type == "datasource" and .query == "prometheus")] | length == 1' "$dash"
# shellcheck disable=SC2016 # the dashboard's variable, not the shell's
yes_that "that every panel's queries use" \
	jq -e '[.panels[] | select(.type != "row") | (.datasource.uid, .targets[].datasource.uid)] | all(. == "${datasource}")' "$dash"
# Every query, the variables' too, with Grafana's variables given values.
# shellcheck disable=SC2016 # as above
jq -r '(.panels[] | .targets[]? | .expr), (.templating.list[] | select(.type == "query") | .query.query)' "$dash" |
	sed -e 's/label_values(\(.*\), *[a-z_]*)$/\1/' -e 's/\$__rate_interval/5m/g' -e 's/\$[a-z_]*/x/g' >"$T/exprs"
grep -o 'tabpipe_[a-z0-9_]*' "$T/exprs" | sort -u >"$T/used"
# The names that exist: the scripts' and the server's, with a histogram's
# series.
awk '{ print; print $0 "_bucket"; print $0 "_sum"; print $0 "_count" }' \
	"$T/pipeline.names" "$T/monitor.names" "$T/serve.names" | sort -u >"$T/known"
unknown=$(comm -23 "$T/used" "$T/known")
if [ -s "$T/used" ] && [ -z "$unknown" ]; then
	ok "the dashboard's $(wc -l <"$T/used") metric names all exist"
else
	not_ok "the dashboard's metric names all exist (unknown: $(echo "$unknown" | tr '\n' ' '))"
fi
for m in tabpipe_production_version tabpipe_pipeline_gate tabpipe_monitor_psi \
	tabpipe_pipeline_last_success_timestamp_seconds tabpipe_monitor_last_success_timestamp_seconds \
	tabpipe_http_requests_total tabpipe_http_request_duration_seconds_bucket tabpipe_rows_scored_total \
	tabpipe_unseen_categories_total tabpipe_predlog_queue_rows tabpipe_predlog_spooled_rows_total \
	tabpipe_reloads_total; do
	grep -qx "$m" "$T/used" || not_ok "the dashboard shows $m"
done
# The rules name only metrics that exist too.
grep -o 'tabpipe_[a-z0-9_]*' "$scripts/prometheus/tabpipe.rules.yml" | sort -u | comm -23 - "$T/known" >"$T/unknown"
if [ -s "$T/unknown" ]; then not_ok "the rules' metric names all exist (unknown: $(tr '\n' ' ' <"$T/unknown"))"; else ok "the rules' metric names all exist"; fi
# promtool parses the queries, as recording rules.
if command -v promtool >/dev/null 2>&1; then
	jq -R -s '{groups: [{name: "dashboard", rules: [split("\n")[] | select(length > 0) | {record: "dashboard:query", expr: .}]}]}' \
		"$T/exprs" >"$T/dashboard.rules.json"
	if promtool check rules "$T/dashboard.rules.json" >"$T/err" 2>&1; then
		ok "promtool parses every query of the dashboard"
	else
		not_ok "promtool parses every query of the dashboard"
		sed 's/^/#   /' "$T/err" | head -n 10
	fi
else
	skip "promtool parses every query of the dashboard" "promtool is not installed (Debian: prometheus)"
fi
