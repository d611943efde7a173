#!/bin/sh
# tabpipe-drift end to end: no drift between the parts of one split, drift
# on a shifted copy, the score, logged predictions, the drift_reports row.
. ./lib.sh

q() { psql "$TABPIPE_DB" -qAtc "$1"; }
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 2"

tabpipe-ingest -q --target Status --positive bad --split 70/15/15 --seed 5 \
	--fit "$T/enc.json" --out "$T/cd" "$DATA/credit_data.csv"
# The shifted copy: Income times 1.5, and every fifth row's Home a category
# the training data never had.
awk -F, 'BEGIN { OFS = "," }
	NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "\"Income\"") inc = i; if ($i == "\"Home\"") home = i }; print; next }
	{ if ($inc != "" && $inc != "NA") $inc = $inc * 1.5; if (NR % 5 == 0) $home = "\"boat\""; print }' \
	"$DATA/credit_data.csv" >"$T/shifted.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/shifted.tps" "$T/shifted.csv"

run_status "drift --help exits 0" 0 tabpipe-drift --help
out_has "drift --help prints usage" "usage: tabpipe-drift"
run_status "no --reference exits 64" 64 tabpipe-drift "$T/cd.valid.tps"
run_status "a missing current file exits 66" 66 tabpipe-drift --reference "$T/cd.train.tps" "$T/cd.valid.tps" "$T/none.tps"
run_status "--bins 1 exits 64" 64 tabpipe-drift --bins 1 --reference "$T/cd.train.tps" "$T/cd.valid.tps"
run_status "moderate above significant exits 64" 64 tabpipe-drift --psi-moderate 0.5 \
	--psi-significant 0.2 --reference "$T/cd.train.tps" "$T/cd.valid.tps"

run_status "training and validation parts do not drift" 0 tabpipe-drift \
	--reference "$T/cd.train.tps" "$T/cd.valid.tps"
out_has "the report says no drift" '"drift":	false'
err_has "the summary counts the features" "no drift: 0 of 13 features drift"
yes_that "the report is JSON with every feature" test "$(jq '.features | length' "$T/out")" -eq 13
yes_that "and no score without a model" test "$(jq '.score' "$T/out")" = null
yes_that "numeric features have an exact KS p-value" test \
	"$(jq -r '.features[] | select(.name == "Income") | .ks_method' "$T/out")" = exact
yes_that "categorical ones a chi-square test" test \
	"$(jq -r '.features[] | select(.name == "Home") | .chi2_dof | type' "$T/out")" = number

run_status "the shifted copy drifts: exit 1" 1 tabpipe-drift \
	--reference "$T/cd.train.tps" "$T/shifted.tps"
err_has "Income is named" "Income drifts: PSI"
err_has "Home too (a new category)" "Home drifts: PSI"
yes_that "Income's level is significant" test \
	"$(jq -r '.features[] | select(.name == "Income") | .level' "$T/out")" = significant
yes_that "unseen Home values are counted as missing or unseen" test \
	"$(jq -r '.features[] | select(.name == "Home") | .current_missing' "$T/out")" -gt 800
yes_that "Seniority does not drift" test \
	"$(jq -r '.features[] | select(.name == "Seniority") | .drift' "$T/out")" = false
# Each histogram, as a chart draws it: a label per bin, shares summing to
# 1 that give back PSI (empty shares counting as epsilon) and JS.
# shellcheck disable=SC2016 # jq's variables
psi_js='.thresholds.epsilon as $eps
	| [(.features + [.score])[] | select(. != null) | . as $f | .histogram
	| ([.reference, .current] | transpose) as $b
	| select((.labels | length) != $f.bins
		or ((.reference | add) - 1 | fabs) > 1e-12
		or ((.current | add) - 1 | fabs) > 1e-12
		or (([$b[] | (if .[0] == 0 then $eps else .[0] end) as $r
			| (if .[1] == 0 then $eps else .[1] end) as $c
			| ($c - $r) * ($c / $r | log)] | add) - $f.psi | fabs) > 1e-12
		or (([$b[] | ((.[0] + .[1]) / 2) as $m
			| (if .[0] > 0 then .[0] * (.[0] / $m | log2) else 0 end)
			+ (if .[1] > 0 then .[1] * (.[1] / $m | log2) else 0 end)]
			| add / 2 | sqrt) - $f.js | fabs) > 1e-12)
	| $f.name] | join(",")'
yes_that "every histogram gives back its PSI and JS" test "$(jq -r "$psi_js" "$T/out")" = ""
yes_that "Income's edges are in the CSV's units" test \
	"$(jq -c '.features[] | select(.name == "Income") | .histogram | [.edges[0], .edges[-1], .labels[0], .labels[-1]]' "$T/out")" = \
	'[8,1438.5,"[8, 67)","missing"]'
yes_that "Home's bins are its categories, missing or unseen last" test \
	"$(jq -c '.features[] | select(.name == "Home") | .histogram | [.edges, .labels[0], .labels[-1], .current[-1] > 0.19]' "$T/out")" = \
	'[null,"owner","missing or unseen",true]'
run_status "large PSI thresholds calm it" 0 tabpipe-drift -q \
	--psi-significant 100 --psi-moderate 100 --reference "$T/cd.train.tps" "$T/shifted.tps"
yes_that "-q prints nothing on stderr" test ! -s "$T/err"

run_status "-o writes the report to a file" 1 tabpipe-drift -q -o "$T/r.json" \
	--reference "$T/cd.train.tps" "$T/shifted.tps"
yes_that "nothing on standard output" test ! -s "$T/out"
yes_that "the file holds the report" test "$(jq .drift "$T/r.json")" = true
# shellcheck disable=SC2016 # the inner shell expands $T
run_status "the current stream from standard input" 1 sh -c \
	'tabpipe-drift -q --reference "$T/cd.train.tps" <"$T/shifted.tps"'
# shellcheck disable=SC2016
run_status "a full disk exits 74" 74 sh -c \
	'tabpipe-drift -q --reference "$T/cd.train.tps" "$T/cd.valid.tps" >/dev/full'

tabpipe-ingest -q --target Status --positive bad --fit "$T/other.json" -o "$T/other.tps" "$T/shifted.csv"
run_status "another encoding exits 65" 65 tabpipe-drift --reference "$T/cd.train.tps" "$T/other.tps"
err_has "it says why" "encoded with"
head -c 3000 "$T/cd.valid.tps" >"$T/cut.tps"
run_status "a cut stream exits 65" 65 tabpipe-drift --reference "$T/cd.train.tps" "$T/cut.tps"
run_status "a missing reference exits 66" 66 tabpipe-drift --reference "$T/nowhere.tps" "$T/cd.valid.tps"

# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --valid "$T/cd.valid.tps" -o "$T/m.safetensors" "$T/cd.train.tps"
run_status "with a model, no drift between the parts" 0 tabpipe-drift -m "$T/m.safetensors" \
	--reference "$T/cd.train.tps" "$T/cd.test.tps"
yes_that "the score is compared" test "$(jq -r '.score.name' "$T/out")" = score
yes_that "with its PSI" test "$(jq -r '.score.psi | type' "$T/out")" = number
yes_that "and its histogram, of probabilities" test \
	"$(jq -r '.score.histogram | .edges[0] >= 0 and .edges[-1] <= 1 and .labels[-1] == "missing"' "$T/out")" = true
yes_that "which gives back the score's PSI and JS" test "$(jq -r "$psi_js" "$T/out")" = ""

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
before=$(q "SELECT count(*) FROM drift_reports")
run_status "with a database, drift is recorded" 1 tabpipe-drift -q \
	--reference "$T/cd.train.tps" "$T/shifted.tps"
yes_that "one more drift_reports row" test "$(q "SELECT count(*) FROM drift_reports")" -eq $((before + 1))
yes_that "that says drift, with the report" test \
	"$(q "SELECT drift::text || ' ' || (report->'features'->0->>'name') FROM drift_reports ORDER BY id DESC LIMIT 1")" = "true Seniority"
yes_that "of a finished drift run" test \
	"$(q "SELECT r.tool || ' ' || r.status FROM drift_reports d JOIN runs r ON r.id = d.run_id ORDER BY d.id DESC LIMIT 1")" = "drift finished"
yes_that "the run's result names the worst feature" test \
	"$(q "SELECT r.result->>'worst' FROM drift_reports d JOIN runs r ON r.id = d.run_id ORDER BY d.id DESC LIMIT 1")" = Home
run_status "a failed comparison records no report" 65 tabpipe-drift \
	--reference "$T/cd.train.tps" "$T/other.tps"
yes_that "and a failed run" test \
	"$(q "SELECT status FROM runs WHERE tool = 'drift' ORDER BY id DESC LIMIT 1")" = failed
yes_that "still one report more" test "$(q "SELECT count(*) FROM drift_reports")" -eq $((before + 1))

# Logged predictions: requests with a much larger Income than in training,
# by the serving contract: every feature of the encoding a key, null but
# for the members given.
# request MEMBERS: one request line, MEMBERS the text of a JSON object's
# members.
request() {
	jq -c --argjson set "{$1}" '[.columns[]
		| select(.kind == "numeric" or .kind == "categorical")
		| {(.name): null}] | add + $set' "$T/enc.json"
}
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	request "\"id\": $i, \"Income\": $((400 + i * 20)), \"Home\": \"owner\", \"Age\": $((20 + i))"
done >"$T/requests.jsonl"
run_status "the predictor serves the requests" 0 tabpipe-predict --serve --log \
	-m "$T/m.safetensors" <"$T/requests.jsonl"
yes_that "every one is scored" test "$(grep -c '"probability"' "$T/out")" = 20
err_has "none with an error" "served 20 requests (0 with errors)"
yes_that "the predictor logged the requests" test "$(q "SELECT count(*) FROM predictions WHERE features IS NOT NULL")" -ge 20
yes_that "with every feature, null where missing" test \
	"$(q "SELECT count(*) FROM predictions WHERE features->'Seniority' = 'null'::jsonb")" -eq 20
run_status "--since compares the logged predictions" 1 tabpipe-drift -m "$T/m.safetensors" \
	--since '1 hour' --reference "$T/cd.train.tps"
# Every request holds every feature, null when missing: each is compared,
# and a feature that no request gives a value is all missing values now.
yes_that "every feature, which every request holds" test \
	"$(jq -r '[.features[].name] | join(",")' "$T/out")" = \
	"$(jq -r '[.columns[] | select(.kind == "numeric" or .kind == "categorical") | .name] | join(",")' "$T/enc.json")"
yes_that "one never given a value drifts" test \
	"$(jq -r '.features[] | select(.name == "Seniority") | .drift' "$T/out")" = true
yes_that "and the score of every logged prediction" test \
	"$(jq -r '.score.current_rows' "$T/out")" -eq "$(q "SELECT count(*) FROM predictions")"
yes_that "Income drifts" test \
	"$(jq -r '.features[] | select(.name == "Income") | .drift' "$T/out")" = true
yes_that "the current side names the interval" test "$(jq -r '.current.since' "$T/out")" = "1 hour"
# Requests logged before the serving contract held only some features:
# the others are not compared.
q "UPDATE predictions SET features = jsonb_build_object('id', features->'id',
	'Home', features->'Home', 'Age', features->'Age', 'Income', features->'Income')" >/dev/null
run_status "requests of some features only" 1 tabpipe-drift -m "$T/m.safetensors" \
	--since '1 hour' --reference "$T/cd.train.tps"
yes_that "only the features the requests hold" test \
	"$(jq -r '[.features[].name] | join(",")' "$T/out")" = "Home,Age,Income"
run_status "without -m, the logged features alone" 1 tabpipe-drift -q \
	--since '1 hour' --reference "$T/cd.train.tps"
yes_that "and no score" test "$(jq '.score' "$T/out")" = null
run_status "an empty window exits 66" 66 tabpipe-drift -m "$T/m.safetensors" \
	--since '0 seconds' --reference "$T/cd.train.tps"
run_status "a bad interval exits 64" 64 tabpipe-drift -m "$T/m.safetensors" \
	--since 'a fortnight' --reference "$T/cd.train.tps"
err_has "it names the option" "--since"
run_status "--since with a file exits 64" 64 tabpipe-drift --since '1 day' \
	--reference "$T/cd.train.tps" "$T/cd.valid.tps"
run_status "--since without a database exits 64" 64 env -u TABPIPE_DB tabpipe-drift \
	--since '1 day' --reference "$T/cd.train.tps"
