#!/bin/sh
# Ensembles end to end: tabpipe-train --members k trains k models from
# seeds of their own into one model file, whose probability is the sigmoid
# of its members' mean log-odds: each member is the model that
# tabpipe-train --seed gives alone. Every tool that scores reads the file
# (predict, its explanations, evaluate, drift, the registry); the epochs of
# each member are recorded; bad uses are refused.
. ./lib.sh

small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 3"
tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
ens=$T/ens.safetensors
# ensemble FILE: trains the ensemble of the test into FILE, untracked (a
# run's id would make two files differ).
ensemble() {
	# shellcheck disable=SC2086 # $small holds several options
	env -u TABPIPE_DB tabpipe-train $small --members 3 --seed 7 \
		--valid "$T/cd.valid.tps" -o "$1" "$T/cd.train.tps"
}
run_status "--members 3 trains an ensemble" 0 ensemble "$ens"
auc=$(sed -n 's/.*the ensemble of 3: valid AUC \([0-9.]*\),.*/\1/p' "$T/err")
err_has "each member's epochs are reported as its own" "member 3/3, epoch 3/3"
err_has "and its best epoch" "member 2: best epoch"
err_has "then the ensemble's validation AUC" "the ensemble of 3: valid AUC"
yes_that "the file says it holds 3 members" \
	sh -c 'head -c 200000 "$1" | grep -aq "\"members\":\"3\""' sh "$ens"

# The members alone: member 1 is --seed 7 itself, member j the seed
# 7 + (j - 1) x 0x9e3779b97f4a7c15 mod 2^64 (tp_member_seed).
for s in 7 11400714819323198492 4354685564936845361; do
	# shellcheck disable=SC2086
	tabpipe-train -q $small --seed "$s" --valid "$T/cd.valid.tps" \
		-o "$T/m.$s.safetensors" "$T/cd.train.tps"
	tabpipe-predict -q -m "$T/m.$s.safetensors" "$T/cd.test.tps" >"$T/p.$s.csv"
done
run_status "predict scores the ensemble" 0 tabpipe-predict -m "$ens" "$T/cd.test.tps"
cp "$T/out" "$T/p.ens.csv"
# The ensemble's probability against the sigmoid of the mean of its members'
# log-odds, from their CSV probabilities (9 digits).
paste -d, "$T/p.ens.csv" "$T/p.7.csv" "$T/p.11400714819323198492.csv" \
	"$T/p.4354685564936845361.csv" >"$T/all.csv"
yes_that "its probability is the sigmoid of its members' mean log-odds" awk -F, '
	NR == 1 { next }
	function logit(p) { return log(p / (1 - p)) }
	{ n++; mean = (logit($5) + logit($8) + logit($11)) / 3
	  want = 1 / (1 + exp(-mean))
	  if ($1 != $4 || $1 != $7 || $1 != $10) bad++
	  if ((d = $2 - want) < 0) d = -d
	  if (d > 2e-6) bad++
	  if ($2 != $5) moved++ }
	END { exit !(n > 600 && bad == 0 && moved > n / 2) }' "$T/all.csv"
yes_that "and differs from one member's for most rows" test -n "$(cut -d, -f2 "$T/p.ens.csv" | cmp - "$T/p.7.csv" 2>&1)"

run_status "predict --explain 3 --format jsonl" 0 tabpipe-predict --explain 3 \
	--format jsonl -m "$ens" "$T/cd.test.tps"
cp "$T/out" "$T/why.jsonl"
yes_that "the ensemble's reasons add up to its log-odds (each gap under 0.05)" \
	jq -e -s 'length > 600 and all(.[]; (.gap | fabs) < 0.05 and (.reasons | length) <= 3)' "$T/why.jsonl"
yes_that "with the probabilities of the scores alone" test \
	"$(jq -r .probability "$T/why.jsonl" | paste -sd' ')" = \
	"$(tail -n +2 "$T/p.ens.csv" | cut -d, -f2 | paste -sd' ')"

run_status "evaluate reads it" 0 tabpipe-evaluate -q -m "$ens" -o "$T/eval.json" "$T/cd.valid.tps"
yes_that "its validation AUC is the one train reported for the ensemble ($auc)" \
	test "$(jq -r '.auc * 10000 | round' "$T/eval.json")" = "$(echo "$auc" | awk '{ printf "%d", $1 * 10000 + 0.5 }')"
ensemble "$T/again.safetensors" 2>/dev/null
same "training it again gives the same file" "$ens" "$T/again.safetensors"
run_status "the report of its evaluation" 0 tabpipe-report -q -m "$ens" -o "$T/r.html" "$T/eval.json"
yes_that "says on its card that it is an ensemble of 3" \
	grep -q 'Ensemble</th><td>3 models from seeds of their own, their log-odds averaged' "$T/r.html"
yes_that "and draws the training of its first member" \
	grep -q "3 epochs of the ensemble&#39;s first member" "$T/r.html"
run_status "drift scores it" 0 tabpipe-drift -q -m "$ens" --reference "$T/cd.train.tps" \
	-o "$T/drift.json" "$T/cd.test.tps"
yes_that "and reports its scores' shift" jq -e '.score != null' "$T/drift.json"

# shellcheck disable=SC2086
run_status "--members with --checkpoint is refused" 64 tabpipe-train $small --members 2 \
	--checkpoint "$T/ck" --valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd.train.tps"
err_has "saying why" "--checkpoint keeps one model's training"
for k in 0 65 x; do
	# shellcheck disable=SC2086
	run_status "--members $k is refused" 64 tabpipe-train $small --members "$k" \
		--valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd.train.tps"
done
yes_that "and leaves no model file" test ! -e "$T/x.safetensors"

if [ -z "${TABPIPE_DB:-}" ]; then
	skip "the registry keeps each member's epochs" "no TABPIPE_DB (run under scripts/pg-server)"
else
	# shellcheck disable=SC2086
	run_status "train --members 2 --name registers the ensemble" 0 tabpipe-train -q $small \
		--members 2 --name ens --valid "$T/cd.valid.tps" -o "$T/reg.safetensors" "$T/cd.train.tps"
	q() { psql "$TABPIPE_DB" -X -At -c "$1"; }
	yes_that "the registry keeps each member's epochs" test \
		"$(q "SELECT string_agg(member || ':' || n, ' ' ORDER BY member) FROM (SELECT member, count(*) AS n FROM epochs e JOIN model_versions v ON v.run_id = e.run_id GROUP BY member) t")" = "1:3 2:3"
	yes_that "and the run's result lists the members" test \
		"$(q "SELECT jsonb_array_length(r.result -> 'members') FROM runs r JOIN model_versions v ON v.run_id = r.id")" = 2
	yes_that "and the additive regression's penalty, fit's seconds and AUC alone" test \
		"$(q "SELECT string_agg(jsonb_typeof(r.result -> 'additive' -> k), ' ') FROM runs r JOIN model_versions v ON v.run_id = r.id, unnest(ARRAY['penalty', 'seconds', 'valid_auc']) k")" = "number number number"
	run_status "tabpipe-registry epochs lists them" 0 tabpipe-registry epochs ens@latest
	yes_that "under a MEMBER column, member by member" test \
		"$(awk 'NR == 1 { printf "%s", $1; next } { printf " %s.%s", $1, $2 }' "$T/out")" = \
		"MEMBER 1.1 1.2 1.3 2.1 2.2 2.3"
	run_status "ens@latest scores from the registry" 0 tabpipe-predict -q -m ens@latest "$T/cd.test.tps"
fi
