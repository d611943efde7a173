#!/bin/sh
# Reasons for every score end to end: tabpipe-train --reasons keeps the
# texts and the training rows' reference profile in the model file;
# tabpipe-predict --explain k gives each row of new applications (CSV
# without the outcome, or a stream) its reasons in CSV and JSON lines and
# in the serving mode, with --reasons and --steps; tabpipe-evaluate
# --importance averages the attributions; bad input is refused.
. ./lib.sh

unset TABPIPE_DB
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 3"
tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
cat >"$T/reasons.csv" <<'EOF'
feature,value,reason
Income,,Income is low for the amount asked
Records,yes,"Records of past arrears, as the bureau reports"
Records,,Credit records
Job,,Kind of employment
Seniority,,Years with the employer
EOF
# shellcheck disable=SC2086 # $small holds several options
run_status "train keeps reason codes" 0 tabpipe-train -q $small --seed 4 \
	--reasons "$T/reasons.csv" --valid "$T/cd.valid.tps" -o "$T/m.safetensors" "$T/cd.train.tps"
# New applications: the test rows as CSV without their outcome.
tabpipe-cat "$T/cd.test.tps" | cut -d, -f2- >"$T/new.csv"
rows=$(($(wc -l <"$T/new.csv") - 1))
m=$T/m.safetensors

run_status "--explain 4 --csv" 0 tabpipe-predict --explain 4 --csv -m "$m" "$T/new.csv"
cp "$T/out" "$T/why.csv"
err_has "it says how well the attributions add up" "explained $rows rows with 32 steps"
yes_that "a line a row" test "$(wc -l <"$T/why.csv")" = $((rows + 1))
yes_that "the header names four reasons" test "$(head -n 1 "$T/why.csv")" = \
	"id,probability,label,feature_1,value_1,contribution_1,reason_1,feature_2,value_2,contribution_2,reason_2,feature_3,value_3,contribution_3,reason_3,feature_4,value_4,contribution_4,reason_4"

# The JSON lines give the same reasons, parsed by jq.
run_status "--explain 4 --format jsonl" 0 tabpipe-predict --explain 4 --format jsonl --csv -m "$m" "$T/new.csv"
cp "$T/out" "$T/why.jsonl"
yes_that "every line is JSON with at most four reasons" \
	jq -e -s 'length == '"$rows"' and all(.[]; (.reasons | length) <= 4)' "$T/why.jsonl"
yes_that "every reason raises the score, the largest first" \
	jq -e -s 'all(.[]; .reasons | (map(.contribution) | . == sort_by(-.) and all(.[]; . > 0)))' "$T/why.jsonl"
yes_that "every reason has its feature, value and text" \
	jq -e -s 'all(.[].reasons[]; has("feature") and has("value") and (.reason | type == "string" and length > 0))' "$T/why.jsonl"
yes_that "most rows get four reasons" \
	jq -e -s 'map(select(.reasons | length == 4)) | length > '"$((rows / 2))" "$T/why.jsonl"
yes_that "the reason codes' texts are given" jq -e -s \
	'[.[].reasons[] | select(.feature == "Income")] | length > 0 and all(.[]; .reason == "Income is low for the amount asked")' "$T/why.jsonl"
yes_that "a value's text wins over its feature's" jq -e -s \
	'[.[].reasons[] | select(.feature == "Records")] | all(.[]; .reason == (if .value == "yes" then "Records of past arrears, as the bureau reports" else "Credit records" end))' "$T/why.jsonl"
yes_that "a feature without a text is named by its column" jq -e -s \
	'[.[].reasons[] | select(.feature == "Amount")] | all(.[]; .reason == "Amount")' "$T/why.jsonl"
yes_that "the attributions add up to the change of log-odds, within a gap" \
	jq -e -s 'all(.[]; (.gap | fabs) < 0.05)' "$T/why.jsonl"
# The CSV says the same as the JSON: features, values and texts of row 1.
csv_row=$(sed -n 2p "$T/why.csv" | awk -F, '{ print $4, $5, $7 }')
json_row=$(head -n 1 "$T/why.jsonl" | jq -r '.reasons[0] | "\(.feature) \(.value) \(.reason)"')
yes_that "CSV and JSON give the same first reason" test "$csv_row" = "$json_row"
# A numeric value is the applicant's own, in the CSV's units.
col=$(head -n 1 "$T/new.csv" | tr , '\n' | grep -nx '"Amount"\|Amount' | cut -d: -f1)
jq -r 'select(any(.reasons[]; .feature == "Amount")) | "\(.id) \(.reasons[] | select(.feature == "Amount") | .value)"' \
	"$T/why.jsonl" | head -n 5 >"$T/amounts"
bad=0
while read -r id value; do
	given=$(sed -n "$((id + 1))p" "$T/new.csv" | cut -d, -f"$col")
	[ "$given" = "$value" ] || bad=1
done <"$T/amounts"
yes_that "values are the applications' own" test -s "$T/amounts" -a "$bad" = 0

# A stream of the same rows gives the same reasons; so do two threads.
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/new.tps" "$T/new.csv"
run_status "--explain on a stream" 0 tabpipe-predict --explain 4 -m "$m" "$T/new.tps"
same "the same as from the CSV" "$T/out" "$T/why.csv"
run_status "--explain with 2 threads" 0 tabpipe-predict --threads 2 --explain 4 -m "$m" "$T/new.tps"
cut -d, -f4,8,12,16 "$T/out" >"$T/two"
cut -d, -f4,8,12,16 "$T/why.csv" >"$T/one"
same "the same reasons with 2 threads" "$T/one" "$T/two"

# More steps, a smaller gap.
tabpipe-predict --explain 1 --steps 2 -m "$m" "$T/new.tps" 2>"$T/few" >/dev/null
tabpipe-predict --explain 1 --steps 128 -m "$m" "$T/new.tps" 2>"$T/many" >/dev/null
gap() { sed -n 's/.*log-odds by \([^ ]*\) on average.*/\1/p' "$1"; }
yes_that "128 steps leave a smaller gap than 2" \
	awk -v a="$(gap "$T/few")" -v b="$(gap "$T/many")" 'BEGIN { exit !(b < a && b < 0.01) }'

# --reasons at scoring time replaces the model's texts.
printf 'feature,value,reason\nAmount,,Amount asked is large\n' >"$T/other.csv"
run_status "--reasons replaces the texts" 0 tabpipe-predict --explain 4 --format jsonl --reasons "$T/other.csv" -m "$m" "$T/new.tps"
yes_that "its texts, and column names for the rest" jq -e -s \
	'[.[].reasons[]] | all(.[]; .reason == (if .feature == "Amount" then "Amount asked is large" else .feature end))' "$T/out"

# The serving mode answers with reasons.
head -n 3 "$T/new.csv" >"$T/two.csv"
jq -c -R -s 'split("\n") | map(select(length > 0) | split(",")) | .[0] as $h | .[1:][] |
	[$h, .] | transpose | map({key: (.[0] | ltrimstr("\"") | rtrimstr("\"")),
	value: (.[1] | ltrimstr("\"") | rtrimstr("\"") | (tonumber? // .))}) | from_entries' "$T/two.csv" >"$T/requests"
run_status "--serve --explain 2" 0 tabpipe-predict --serve --explain 2 -m "$m" <"$T/requests"
yes_that "each answer has at most two reasons" jq -e -s 'length == 2 and all(.[]; (.reasons | length) <= 2 and has("gap"))' "$T/out"
yes_that "the same reasons as the batch" test \
	"$(jq -c '[.reasons[].feature]' "$T/out" | head -n 1)" = \
	"$(head -n 1 "$T/why.jsonl" | jq -c '[.reasons[:2][].feature]')"

# Permutation importance with the mean |attribution|.
run_status "evaluate --importance" 0 tabpipe-evaluate -q --importance --repeats 2 \
	--attribution-rows 100 --steps 16 -m "$m" -o "$T/ev.json" "$T/cd.test.tps"
yes_that "every feature has its mean |attribution|" jq -e \
	'.importance.features | all(.[]; .mean_abs_attribution >= 0)' "$T/ev.json"
yes_that "the attributions' rows, steps and gap" jq -e \
	'.importance.attribution | .rows == 100 and .steps == 16 and .gap_mean < 0.1 * .mean_change' "$T/ev.json"

# Bad input.
run_status "--steps without --explain exits 64" 64 tabpipe-predict --steps 8 -m "$m" "$T/new.tps"
run_status "--explain 0 exits 64" 64 tabpipe-predict --explain 0 -m "$m" "$T/new.tps"
run_status "--steps 0 exits 64" 64 tabpipe-predict --explain 2 --steps 0 -m "$m" "$T/new.tps"
printf 'feature,value,reason\nAmount,,ok\nIncome,high,no\n' >"$T/bad.csv"
run_status "a bad reason-code file exits 65" 65 tabpipe-predict --explain 2 --reasons "$T/bad.csv" -m "$m" "$T/new.tps"
err_has "it names the file, the line and why" "bad.csv:3: Income is numeric: its reason takes no value"
run_status "train with a bad reason-code file exits 65" 65 tabpipe-train -q --epochs 1 \
	--reasons "$T/bad.csv" --valid "$T/cd.valid.tps" -o "$T/none.safetensors" "$T/cd.train.tps"
yes_that "and writes no model" test ! -e "$T/none.safetensors"
run_status "a missing reason-code file exits 66" 66 tabpipe-predict --explain 2 --reasons "$T/nowhere.csv" -m "$m" "$T/new.tps"
