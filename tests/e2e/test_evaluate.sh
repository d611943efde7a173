#!/bin/sh
# tabpipe-evaluate end to end: a small model on the credit data's test part,
# the report's keys, its score histogram, gains and KS threshold against
# its other members, its record in the database (TABPIPE_DB), references
# to registered versions, the summary on a terminal and the JSON
# elsewhere, fairness by group (from the stream and from a CSV),
# permutation importance, and bad input.
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
q() { psql "$TABPIPE_DB" -qAtc "$1"; }
# json FILE SQL: runs SQL with the JSON document of FILE as :'doc' (psql
# reads the file itself: a report is too long for an argument).
# shellcheck disable=SC2016 # the backquotes are psql's
json() { printf '\\set doc `cat %s`\n%s\n' "$1" "$2" | psql "$TABPIPE_DB" -qAt; }
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 2"
# Not $name: lib.sh uses that.
model="evaluated $$"

tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --name "$model" --valid "$T/cd.valid.tps" \
	-o "$T/m.safetensors" "$T/cd.train.tps"

run_status "--help exits 0" 0 tabpipe-evaluate --help
out_has "--help prints the usage" "usage: tabpipe-evaluate [-q]"
run_status "no -m exits 64" 64 tabpipe-evaluate "$T/cd.test.tps"
run_status "an unknown option exits 64" 64 tabpipe-evaluate --nope -m "$T/m.safetensors" "$T/cd.test.tps"
run_status "--bins 0 exits 64" 64 tabpipe-evaluate --bins 0 -m "$T/m.safetensors" "$T/cd.test.tps"

before=$(q "SELECT count(*) FROM evaluations")
run_status "evaluate the model" 0 tabpipe-evaluate -m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/report.json"
err_has "a summary on stderr" "671 rows, 671 labelled"
yes_that "the report has exactly the documented keys" test "$(json "$T/report.json" \
	"SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(:'doc'::jsonb) k")" = \
	"accuracy,auc,auc_error_bound,brier,calibration,confusion,data_fingerprint,f1,gains,gini,ks,ks_error_bound,ks_threshold,labelled,log_loss,model,positives,pr,pr_auc,pr_auc_error_bound,precision,recall,roc,rows,score_histogram,sketch,threshold"
yes_that "the histogram has 21 edges from 0 to 1, 20 bins of each class" test "$(json "$T/report.json" \
	"SELECT jsonb_array_length(h->'edges') = 21 AND (h->'edges'->>0)::float8 = 0
	    AND (h->'edges'->>3)::float8 = 0.15 AND (h->'edges'->>20)::float8 = 1
	    AND jsonb_array_length(h->'negatives') = 20 AND jsonb_array_length(h->'positives') = 20
	  FROM (SELECT :'doc'::jsonb->'score_histogram' h) x")" = t
yes_that "its counts sum to the labelled rows, its positives to the positives" test "$(json "$T/report.json" \
	"SELECT (SELECT sum(v::int) FROM jsonb_array_elements_text(d->'score_histogram'->'negatives') v)
	      + (SELECT sum(v::int) FROM jsonb_array_elements_text(d->'score_histogram'->'positives') v)
	      = (d->>'labelled')::int
	    AND (SELECT sum(v::int) FROM jsonb_array_elements_text(d->'score_histogram'->'positives') v)
	      = (d->>'positives')::int
	  FROM (SELECT :'doc'::jsonb d) x")" = t
yes_that "the gains have deciles 1 to 10 whose rows and positives sum to the totals" test "$(json "$T/report.json" \
	"SELECT string_agg(g->>'decile', ',' ORDER BY n) = '1,2,3,4,5,6,7,8,9,10'
	    AND sum((g->>'rows')::int) = (d->>'labelled')::int
	    AND sum((g->>'positives')::int) = (d->>'positives')::int
	  FROM (SELECT :'doc'::jsonb d) x, jsonb_array_elements(d->'gains') WITH ORDINALITY AS a(g, n)
	  GROUP BY d")" = t
yes_that "the 10th decile's cumulative shares are 1" test "$(json "$T/report.json" \
	"SELECT (g->>'cumulative_rows_share')::float8 = 1 AND (g->>'cumulative_positives_share')::float8 = 1
	    AND (g->>'cumulative_lift')::float8 = 1
	  FROM (SELECT :'doc'::jsonb->'gains'->9 g) x")" = t
yes_that "each decile's shares, lifts and lowest score agree with its counts" test "$(json "$T/report.json" \
	"SELECT bool_and(
	      abs((g->>'cumulative_rows_share')::float8 - cr::float8 / (d->>'labelled')::int) < 1e-12
	      AND abs((g->>'cumulative_positives_share')::float8 - cp::float8 / (d->>'positives')::int) < 1e-12
	      AND abs((g->>'cumulative_lift')::float8 - (g->>'cumulative_positives_share')::float8
	        / (g->>'cumulative_rows_share')::float8) < 1e-12
	      AND abs((g->>'lift')::float8 - (g->>'positives')::float8 / (g->>'rows')::int
	        / ((d->>'positives')::float8 / (d->>'labelled')::int)) < 1e-12
	      AND (n = 1 OR (g->>'score_min')::float8 <= prev))
	  FROM (SELECT d, g, n,
	      sum((g->>'rows')::int) OVER w AS cr, sum((g->>'positives')::int) OVER w AS cp,
	      lag((g->>'score_min')::float8) OVER w AS prev
	    FROM (SELECT :'doc'::jsonb d) x, jsonb_array_elements(d->'gains') WITH ORDINALITY AS a(g, n)
	    WINDOW w AS (ORDER BY n)) y")" = t
yes_that "KS at ks_threshold is ks" test "$(json "$T/report.json" \
	"SELECT count(*) > 0 AND bool_and(abs(abs((r->>'tpr')::float8 - (r->>'fpr')::float8)
	      - (d->>'ks')::float8) < 1e-12)
	  FROM (SELECT :'doc'::jsonb d) x, jsonb_array_elements(d->'roc') r
	  WHERE (r->>'threshold')::float8 = (d->>'ks_threshold')::float8")" = t
yes_that "and no point has a larger |tpr - fpr|" test "$(json "$T/report.json" \
	"SELECT max(abs((r->>'tpr')::float8 - (r->>'fpr')::float8)) = (d->>'ks')::float8
	  FROM (SELECT :'doc'::jsonb d) x, jsonb_array_elements(d->'roc') r GROUP BY d")" = t
yes_that "the measures are numbers in range" test "$(json "$T/report.json" \
	"SELECT (d->>'rows')::int = 671 AND (d->>'auc')::float8 BETWEEN 0 AND 1
	    AND abs((d->>'gini')::float8 - (2 * (d->>'auc')::float8 - 1)) < 1e-12
	    AND (d->'confusion'->>'tp')::int + (d->'confusion'->>'fp')::int
	      + (d->'confusion'->>'tn')::int + (d->'confusion'->>'fn')::int = 671
	    AND jsonb_array_length(d->'calibration') = 10
	    AND jsonb_array_length(d->'roc') = jsonb_array_length(d->'pr')
	    AND (d->'model'->>'threshold')::float8 = (d->>'threshold')::float8
	  FROM (SELECT :'doc'::jsonb d) x")" = t
yes_that "a registered file is its version" test "$(json "$T/report.json" "SELECT :'doc'::jsonb->'model'->>'version'")" = 1
yes_that "the model's sha256" test "$(json "$T/report.json" "SELECT :'doc'::jsonb->'model'->>'sha256'")" = \
	"$(sha256sum <"$T/m.safetensors" | cut -d' ' -f1)"
yes_that "one evaluation row" test "$(q "SELECT count(*) FROM evaluations")" = $((before + 1))
yes_that "it holds the report, the version, the fingerprints and the rows" test "$(json "$T/report.json" \
	"SELECT e.metrics = :'doc'::jsonb AND e.rows = 671
	    AND e.model_sha256 = :'doc'::jsonb->'model'->>'sha256'
	    AND e.data_fingerprint = :'doc'::jsonb->>'data_fingerprint'
	    AND e.version_id = (SELECT v.id FROM model_versions v JOIN models m ON m.id = v.model_id
	      WHERE m.name = '$model' AND v.version = 1)
	  FROM evaluations e ORDER BY e.id DESC LIMIT 1")" = t
yes_that "its run is an evaluate run, finished" test "$(q "SELECT r.tool || ' ' || r.status FROM evaluations e JOIN runs r ON r.id = e.run_id ORDER BY e.id DESC LIMIT 1")" = "evaluate finished"

# A person at a terminal gets one screen; anything else the JSON.
# script(1) gives the tool a terminal, as a person's shell would.
tty_eval() { script -qec "tabpipe-evaluate $*" /dev/null </dev/null; }
if command -v script >/dev/null 2>&1 && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	before=$(q "SELECT count(*) FROM evaluations")
	run_status "on a terminal" 0 tty_eval -m "$T/m.safetensors" "$T/cd.test.tps"
	tr -d '\r' <"$T/out" >"$T/screen"
	cp "$T/screen" "$T/out"
	out_has "a summary of the rows" "671 rows, 671 labelled, $(json "$T/report.json" "SELECT :'doc'::jsonb->>'positives'") positive"
	out_has "the ranking measures" "AUC $(json "$T/report.json" "SELECT round((:'doc'::jsonb->>'auc')::numeric, 4)")"
	out_has "the confusion matrix" "predicted 1  predicted 0"
	out_has "the gains" "Gains by decile"
	out_has "the calibration" "Calibration, 10 bins"
	yes_that "not the JSON" test "$(grep -c '[{"]' "$T/screen")" = 0
	yes_that "nor the line on standard error" test "$(grep -c '^tabpipe-evaluate:' "$T/screen")" = 0
	yes_that "under 40 lines" test "$(wc -l <"$T/screen")" -lt 40
	yes_that "of 80 columns at most" test "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T/screen")" -le 80
	yes_that "the gains' table has its 10 deciles" test "$(grep -cE '^ +([1-9]|10) +[0-9]+ +[0-9]+ ' "$T/screen")" = 10
	yes_that "and the evaluation is recorded" test "$(q "SELECT count(*) FROM evaluations")" = $((before + 1))
	run_status "on a terminal with --json" 0 tty_eval -q --json -m "$T/m.safetensors" "$T/cd.test.tps"
	tr -d '\r' <"$T/out" >"$T/tty.json"
	same "gives the JSON report" "$T/report.json" "$T/tty.json"
	run_status "on a terminal with -o" 0 tty_eval -q -m "$T/m.safetensors" -o "$T/tty-o.json" "$T/cd.test.tps"
	yes_that "writes the report and nothing on the terminal" test ! -s "$T/out"
	same "the same report" "$T/report.json" "$T/tty-o.json"
	run_status "on a terminal with -o -" 0 tty_eval -q -m "$T/m.safetensors" -o - "$T/cd.test.tps"
	tr -d '\r' <"$T/out" >"$T/tty-dash.json"
	same "gives the JSON report" "$T/report.json" "$T/tty-dash.json"
else
	skip "on a terminal" "no script(1) that runs a command (Debian: util-linux)"
fi
tabpipe-evaluate -q -m "$T/m.safetensors" "$T/cd.test.tps" 2>"$T/err" | cat >"$T/piped.json"
same "a pipe gets the JSON report" "$T/report.json" "$T/piped.json"

run_status "a registry reference with -o" 0 tabpipe-evaluate -q -m "$model@latest" -o "$T/ref.json" "$T/cd.test.tps"
same "gives the same report" "$T/report.json" "$T/ref.json"
yes_that "-q prints nothing" test ! -s "$T/err"
run_status "a reference to no version exits 66" 66 tabpipe-evaluate -m "$model@9" "$T/cd.test.tps"
run_status "a reference without a database exits 64" 64 env -u TABPIPE_DB tabpipe-evaluate -m "$model@1" "$T/cd.test.tps"
before=$(q "SELECT count(*) FROM evaluations")
run_status "without a database" 0 env -u TABPIPE_DB tabpipe-evaluate -q -m "$T/m.safetensors" -o "$T/nodb.json" - <"$T/cd.test.tps"
yes_that "nothing is recorded" test "$(q "SELECT count(*) FROM evaluations")" = "$before"
yes_that "and the model has no version" grep -q '"version":[[:space:]]*null' "$T/nodb.json"
# shellcheck disable=SC2086
tabpipe-train -q $small --seed 9 --valid "$T/cd.valid.tps" -o "$T/u.safetensors" "$T/cd.train.tps"
run_status "an unregistered file" 0 tabpipe-evaluate -q -m "$T/u.safetensors" -o "$T/unreg.json" "$T/cd.test.tps"
yes_that "has no version" grep -q '"version":[[:space:]]*null' "$T/unreg.json"
yes_that "nor has its record" test "$(q "SELECT version_id IS NULL FROM evaluations ORDER BY id DESC LIMIT 1")" = t
run_status "with --bins 4" 0 tabpipe-evaluate -q --bins 4 -m "$T/m.safetensors" "$T/cd.test.tps"
yes_that "has 4 calibration bins" test "$(json "$T/out" "SELECT jsonb_array_length(:'doc'::jsonb->'calibration')")" = 4

# Fairness by group: a categorical feature of the stream.
run_status "--group Home" 0 tabpipe-evaluate -q --group Home -m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/home.json"
# has_member FILE MEMBER KEYS: the report FILE is the one without options
# and MEMBER, whose keys are KEYS.
has_member() {
	yes_that "the report gains $2, and keeps the rest" test "$(json "$1" "SELECT (:'doc'::jsonb - '$2')::text")" = \
		"$(json "$T/report.json" "SELECT (:'doc'::jsonb)::text")"
	yes_that "$2 has its documented keys" test "$(json "$1" \
		"SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(:'doc'::jsonb->'$2') k")" = "$3"
}
has_member "$T/home.json" fairness \
	"adverse,approval,column,four_fifths,groups,min_group_rows,most_approved,reference,threshold,tpr_gap,tpr_highest,tpr_lowest,ungrouped"
yes_that "and each group its own" test "$(json "$T/home.json" \
	"SELECT string_agg(DISTINCT ks, '|') FROM (SELECT string_agg(k, ',' ORDER BY k) ks
	  FROM jsonb_array_elements(:'doc'::jsonb->'fairness'->'groups') WITH ORDINALITY a(g, n), jsonb_object_keys(g) k
	  GROUP BY n) x")" = \
	"adverse,approval_rate,auc,fpr,group,impact_ratio,labelled,mean_predicted,observed_rate,positives,rows,small,tpr"
# fair SQL: SQL over the fairness member f and its groups g, of $T/fair.json.
fair() { json "$T/fair.json" "SELECT $1 FROM (SELECT :'doc'::jsonb d) x,
	LATERAL (SELECT d->'fairness' f) y, jsonb_array_elements(d->'fairness'->'groups') g GROUP BY d, f"; }
# check_groups WHAT: the groups of $T/fair.json against each other and
# against the whole report's counts. The groups compared are those not
# small, of min_group_rows rows or more; one of them is the reference.
check_groups() {
	yes_that "$1: the groups' rows, labelled rows and positives sum to the report's" \
		test "$(fair "sum((g->>'rows')::int) = (d->>'rows')::int AND sum((g->>'labelled')::int) = (d->>'labelled')::int
		    AND sum((g->>'positives')::int) = (d->>'positives')::int AND (f->>'ungrouped')::int = 0")" = t
	yes_that "$1: their approved rows are the confusion matrix's predicted 0" \
		test "$(fair "round(sum((g->>'approval_rate')::float8 * (g->>'rows')::int)) = (d->'confusion'->>'tn')::int + (d->'confusion'->>'fn')::int")" = t
	yes_that "$1: their declined positives are its tp" \
		test "$(fair "round(sum(coalesce((g->>'tpr')::float8, 0) * (g->>'positives')::int)) = (d->'confusion'->>'tp')::int")" = t
	yes_that "$1: a group is small exactly when it has fewer than min_group_rows rows" \
		test "$(fair "bool_and((g->>'small')::boolean = ((g->>'rows')::int < (f->>'min_group_rows')::int))")" = t
	yes_that "$1: the reference is the most approved group not small, impact 1, and most_approved names it" \
		test "$(fair "max((g->>'approval_rate')::float8) FILTER (WHERE NOT (g->>'small')::boolean)
		      = max((g->>'approval_rate')::float8) FILTER (WHERE g->>'group' = f->>'reference')
		    AND bool_and((g->>'impact_ratio')::float8 = 1 AND NOT (g->>'small')::boolean) FILTER (WHERE g->>'group' = f->>'reference')
		    AND f->>'most_approved' = f->>'reference'")" = t
	yes_that "$1: each impact ratio is its approval rate over the reference's" \
		test "$(fair "bool_and(abs((g->>'impact_ratio')::float8 - (g->>'approval_rate')::float8 / (SELECT (h->>'approval_rate')::float8
		    FROM jsonb_array_elements(f->'groups') h WHERE h->>'group' = f->>'reference')) < 1e-12)")" = t
	yes_that "$1: a group is adverse exactly when it is not small and its ratio is under 0.8, and they are counted" \
		test "$(fair "bool_and((g->>'adverse')::boolean = (NOT (g->>'small')::boolean AND (g->>'impact_ratio')::float8 < 0.8))
		    AND count(*) FILTER (WHERE (g->>'adverse')::boolean) = (f->>'adverse')::int")" = t
	yes_that "$1: the tpr gap is the highest tpr less the lowest, of the groups not small" \
		test "$(fair "abs(max((g->>'tpr')::float8) FILTER (WHERE NOT (g->>'small')::boolean)
		      - min((g->>'tpr')::float8) FILTER (WHERE NOT (g->>'small')::boolean) - (f->>'tpr_gap')::float8) < 1e-12
		    AND max((g->>'tpr')::float8) FILTER (WHERE g->>'group' = f->>'tpr_highest')
		      = max((g->>'tpr')::float8) FILTER (WHERE NOT (g->>'small')::boolean)
		    AND min((g->>'tpr')::float8) FILTER (WHERE g->>'group' = f->>'tpr_lowest')
		      = min((g->>'tpr')::float8) FILTER (WHERE NOT (g->>'small')::boolean)")" = t
	yes_that "$1: a group's observed rate is its positives over its labelled rows" \
		test "$(fair "bool_and(abs((g->>'observed_rate')::float8 - (g->>'positives')::float8 / (g->>'labelled')::int) < 1e-12)")" = t
}
cp "$T/home.json" "$T/fair.json"
check_groups "by Home"
yes_that "by Home: the groups are the vocabulary's values" test "$(fair "bool_and(g->>'group' IN
	    ('(missing or unseen)', 'owner', 'rent', 'parents', 'other', 'priv', 'ignore')) AND count(*) >= 5")" = t
yes_that "by Home: 30 rows the least by default, and a group of fewer, listed with its measures, is small" \
	test "$(fair "(f->>'min_group_rows')::int = 30 AND count(*) FILTER (WHERE (g->>'small')::boolean AND g->'approval_rate' <> 'null') >= 1")" = t
run_status "--group Home --min-group-rows 1" 0 tabpipe-evaluate -q --group Home --min-group-rows 1 -m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/fair.json"
check_groups "Home, 1 row the least"
yes_that "Home, 1 row the least: no group small, the reference the most approved of all" \
	test "$(fair "(f->>'min_group_rows')::int = 1 AND NOT bool_or((g->>'small')::boolean)
	    AND max((g->>'approval_rate')::float8) = max((g->>'approval_rate')::float8) FILTER (WHERE g->>'group' = f->>'reference')")" = t
yes_that "the run records --min-group-rows" test \
	"$(q "SELECT params->>'min_group_rows' FROM runs WHERE tool = 'evaluate' ORDER BY id DESC LIMIT 1")" = 1
run_status "--group Home --min-group-rows 100000" 0 tabpipe-evaluate -q --group Home --min-group-rows 100000 -m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/fair.json"
yes_that "no group of 100000 rows: every group listed and small, no reference, nothing flagged, no ratio, no tpr gap" \
	test "$(fair "(f->>'min_group_rows')::int = 100000 AND f->'reference' = 'null' AND f->'most_approved' = 'null'
	    AND (f->>'adverse')::int = 0 AND f->'tpr_gap' = 'null' AND f->'tpr_highest' = 'null' AND count(*) >= 5
	    AND bool_and((g->>'small')::boolean AND NOT (g->>'adverse')::boolean AND g->'impact_ratio' = 'null')
	    AND sum((g->>'rows')::int) = (d->>'rows')::int")" = t
# The same column from the CSV the stream came from: the same groups.
run_status "--group Home --group-file the CSV" 0 tabpipe-evaluate -q --group Home --group-file "$DATA/credit_data.csv" \
	-m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/fair.json"
check_groups "Home from the CSV"
yes_that "Home from the CSV: the same groups, rows and rates as from the stream" test \
	"$(fair "string_agg(g::text, ',' ORDER BY g->>'group') FILTER (WHERE g->>'group' <> '(missing)')")" = \
	"$(cp "$T/home.json" "$T/fair.json"; fair "string_agg(g::text, ',' ORDER BY g->>'group') FILTER (WHERE g->>'group' <> '(missing or unseen)')")"
# A column the stream holds no groups of: from the CSV.
run_status "--group Age --group-file the CSV" 0 tabpipe-evaluate -q --group Age --group-file "$DATA/credit_data.csv" \
	-m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/fair.json"
check_groups "by Age"
yes_that "by Age: a group an age" test "$(fair "count(*) > 20")" = t
if command -v script >/dev/null 2>&1 && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	run_status "on a terminal with --group" 0 tty_eval --group Home -m "$T/m.safetensors" "$T/cd.test.tps"
	tr -d '\r' <"$T/out" >"$T/screen"
	cp "$T/screen" "$T/out"
	out_has "the groups' table" "By Home, approved when p < "
	out_has "the tpr gap" "largest TPR gap"
	out_has "the reference" "reference, the most approved of 30 rows or more: "
	out_has "the small groups, marked" "of under 30 rows: not compared"
	yes_that "a line a group" test "$(grep -cE '^  (owner|rent|parents|priv|other|ignore) ' "$T/screen")" -ge 5
	yes_that "of 80 columns at most" test "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T/screen")" -le 80
fi
run_status "--group of a numeric column exits 64" 64 tabpipe-evaluate --group Age -m "$T/m.safetensors" "$T/cd.test.tps"
err_has "it says where its values are" "give them with --group-file"
run_status "--group of no column exits 64" 64 tabpipe-evaluate --group Nope -m "$T/m.safetensors" "$T/cd.test.tps"
run_status "--min-group-rows 0 exits 64" 64 tabpipe-evaluate --group Home --min-group-rows 0 -m "$T/m.safetensors" "$T/cd.test.tps"
run_status "--min-group-rows without --group exits 64" 64 tabpipe-evaluate --min-group-rows 5 -m "$T/m.safetensors" "$T/cd.test.tps"
err_has "it says what it needs" "--min-group-rows needs --group"
run_status "--group-file without --group exits 64" 64 tabpipe-evaluate --group-file "$DATA/credit_data.csv" -m "$T/m.safetensors" "$T/cd.test.tps"
run_status "a group file without the column exits 65" 65 tabpipe-evaluate --group Nope --group-file "$DATA/credit_data.csv" -m "$T/m.safetensors" "$T/cd.test.tps"
err_has "it says so" "no column Nope in the header"
head -n 100 "$DATA/credit_data.csv" >"$T/short.csv"
run_status "a group file short of the stream's rows exits 65" 65 tabpipe-evaluate --group Home --group-file "$T/short.csv" -m "$T/m.safetensors" "$T/cd.test.tps"
err_has "it names the id" "no record has id"
run_status "a missing group file exits 66" 66 tabpipe-evaluate --group Home --group-file "$T/nothere.csv" -m "$T/m.safetensors" "$T/cd.test.tps"

# Permutation importance.
run_status "--importance --repeats 3 --seed 5" 0 tabpipe-evaluate -q --importance --repeats 3 --seed 5 \
	-m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/imp.json"
has_member "$T/imp.json" importance "attribution,auc,features,metric,repeats,seed"
yes_that "its attributions: 1000 rows at most, 32 steps, and every feature's mean" test "$(json "$T/imp.json" \
	"SELECT (a->>'rows')::int = least(1000, (d->>'rows')::int) AND (a->>'steps')::int = 32
	    AND (a->>'gap_mean')::float8 < 0.1 * (a->>'mean_change')::float8
	    AND (SELECT bool_and((f->>'mean_abs_attribution')::float8 >= 0) FROM jsonb_array_elements(i->'features') f)
	  FROM (SELECT :'doc'::jsonb d, :'doc'::jsonb->'importance' i, :'doc'::jsonb->'importance'->'attribution' a) x")" = t
yes_that "its AUC is the report's, its repeats and seed the options'" test "$(json "$T/imp.json" \
	"SELECT (i->>'auc')::float8 = (d->>'auc')::float8 AND (i->>'repeats')::int = 3 AND (i->>'seed')::int = 5
	    AND i->>'metric' = 'roc_auc' FROM (SELECT :'doc'::jsonb d, :'doc'::jsonb->'importance' i) x")" = t
yes_that "a feature each of the encoding's features, with its kind" test "$(json "$T/imp.json" \
	"SELECT string_agg(f->>'feature' || ':' || (f->>'kind'), ',' ORDER BY f->>'feature')
	  FROM jsonb_array_elements(:'doc'::jsonb->'importance'->'features') f")" = \
	"$(json "$T/enc.json" "SELECT string_agg((c->>'name') || ':' || (c->>'kind'), ',' ORDER BY c->>'name')
	  FROM jsonb_array_elements(:'doc'::jsonb->'columns') c WHERE c->>'kind' IN ('categorical', 'numeric')")"
yes_that "each with 3 losses, their mean and standard deviation" test "$(json "$T/imp.json" \
	"SELECT bool_and(n = 3 AND abs(m - (f->>'mean')::float8) < 1e-12 AND abs(s - (f->>'std')::float8) < 1e-12)
	  FROM jsonb_array_elements(:'doc'::jsonb->'importance'->'features') f,
	  LATERAL (SELECT count(*) n, avg(v::float8) m, stddev_pop(v::float8) s FROM jsonb_array_elements_text(f->'losses') v) y")" = t
yes_that "by decreasing mean loss" test "$(json "$T/imp.json" \
	"SELECT bool_and(prev IS NULL OR prev >= m) FROM (SELECT (f->>'mean')::float8 m,
	    lag((f->>'mean')::float8) OVER (ORDER BY n) prev
	  FROM jsonb_array_elements(:'doc'::jsonb->'importance'->'features') WITH ORDINALITY a(f, n)) x")" = t
yes_that "the first feature's loss is above its spread" test "$(json "$T/imp.json" \
	"SELECT (f->>'mean')::float8 > 0.005 AND (f->>'mean')::float8 > (f->>'std')::float8
	  FROM (SELECT :'doc'::jsonb->'importance'->'features'->0 f) x")" = t
tabpipe-evaluate -q --importance --repeats 3 --seed 5 -m "$T/m.safetensors" -o "$T/imp2.json" "$T/cd.test.tps"
same "the same seed gives the same report" "$T/imp.json" "$T/imp2.json"
tabpipe-evaluate -q --importance --repeats 3 --seed 6 -m "$T/m.safetensors" -o "$T/imp3.json" "$T/cd.test.tps"
yes_that "another seed other losses" test "$(json "$T/imp3.json" "SELECT (:'doc'::jsonb->'importance'->'features')::text")" != \
	"$(json "$T/imp.json" "SELECT (:'doc'::jsonb->'importance'->'features')::text")"
run_status "--importance defaults to 5 repeats" 0 tabpipe-evaluate -q --importance -m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/out.json"
yes_that "5 losses each" test "$(json "$T/out" \
	"SELECT (:'doc'::jsonb->'importance'->>'repeats')::int = 5 AND bool_and(jsonb_array_length(f->'losses') = 5)
	  FROM jsonb_array_elements(:'doc'::jsonb->'importance'->'features') f GROUP BY :'doc'::jsonb")" = t
if command -v script >/dev/null 2>&1 && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	run_status "on a terminal with --importance" 0 tty_eval --importance -m "$T/m.safetensors" "$T/cd.test.tps"
	tr -d '\r' <"$T/out" >"$T/screen"
	cp "$T/screen" "$T/out"
	out_has "the losses" "AUC lost when a feature is shuffled, 5 times (seed 0)"
	out_has "the first feature" "  $(json "$T/out.json" "SELECT :'doc'::jsonb->'importance'->'features'->0->>'feature'") "
fi
run_status "--repeats without --importance exits 64" 64 tabpipe-evaluate --repeats 3 -m "$T/m.safetensors" "$T/cd.test.tps"
run_status "--repeats 0 exits 64" 64 tabpipe-evaluate --importance --repeats 0 -m "$T/m.safetensors" "$T/cd.test.tps"

# One class only: no AUC, and it is said.
{ head -n 1 "$DATA/credit_data.csv"; grep '^"good"' "$DATA/credit_data.csv" | head -n 50; } >"$T/good.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/good.tps" "$T/good.csv"
run_status "one class only exits 0" 0 tabpipe-evaluate -m "$T/m.safetensors" "$T/good.tps"
err_has "and says the AUC is null" "every labelled row is negative: AUC, Gini, KS and the ROC curve are null"
yes_that "auc is null" test "$(json "$T/out" "SELECT jsonb_typeof(:'doc'::jsonb->'auc')")" = null
run_status "one class only with --importance exits 65" 65 tabpipe-evaluate --importance -m "$T/m.safetensors" "$T/good.tps"
err_has "and says why" "of one class"

# Bad input.
sed '1!s/^"[a-z]*"//' "$DATA/credit_data.csv" | head -n 40 >"$T/nolabel.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/nolabel.tps" "$T/nolabel.csv"
run_status "a stream without labels exits 65" 65 tabpipe-evaluate -m "$T/m.safetensors" "$T/nolabel.tps"
err_has "it says so" "no row has a label"
tabpipe-ingest -q --target Status --positive bad --split 60/40 --seed 3 --min-count 5 \
	--out "$T/other" "$DATA/credit_data.csv"
run_status "a stream of another encoding exits 65" 65 tabpipe-evaluate -m "$T/m.safetensors" "$T/other.test.tps"
err_has "it says so" "ingest it with the model's encoding"
yes_that "and the run is recorded as failed" test "$(q "SELECT status FROM runs WHERE tool = 'evaluate' ORDER BY id DESC LIMIT 1")" = failed
head -c 2000 "$T/cd.test.tps" >"$T/cut.tps"
run_status "a cut stream exits 65" 65 tabpipe-evaluate -m "$T/m.safetensors" "$T/cut.tps"
run_status "a missing stream exits 66" 66 tabpipe-evaluate -m "$T/m.safetensors" "$T/nothere.tps"
run_status "a missing model exits 66" 66 tabpipe-evaluate -m "$T/nothere.safetensors" "$T/cd.test.tps"
run_status "a stream for a model exits 65" 65 env -u TABPIPE_DB tabpipe-evaluate -m "$T/cd.test.tps" "$T/cd.test.tps"
run_status "a report into a missing folder exits 73" 73 tabpipe-evaluate -m "$T/m.safetensors" -o "$T/no/dir/r.json" "$T/cd.test.tps"
yes_that "and no evaluation is recorded for it" test "$(q "SELECT status FROM runs WHERE tool = 'evaluate' ORDER BY id DESC LIMIT 1")" = failed
run_status "a full disk exits 74" 74 tabpipe-evaluate -m "$T/m.safetensors" -o /dev/full "$T/cd.test.tps"
run_status "an unreachable database exits 69" 69 tabpipe-evaluate --db "host=$T/nowhere connect_timeout=2" \
	-m "$T/m.safetensors" "$T/cd.test.tps"
