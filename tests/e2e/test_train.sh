#!/bin/sh
# tabpipe-pretrain and tabpipe-train end to end, on a small model.
. ./lib.sh
# Without run tracking: a tracked model carries its run id, so two tracked
# runs differ in that one field (test_db.sh covers tracking).
unset TABPIPE_DB

small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128"
tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"

run_status "train --help exits 0" 0 tabpipe-train --help
out_has "train --help prints usage" "usage: tabpipe-train"
run_status "train without --valid exits 64" 64 tabpipe-train -o "$T/m" "$T/cd.train.tps"
run_status "train with a bad size exits 64" 64 tabpipe-train --d-model 10 --heads 4 --valid "$T/cd.valid.tps" -o "$T/m" "$T/cd.train.tps"
run_status "--resume without --checkpoint exits 64" 64 tabpipe-train --resume --valid "$T/cd.valid.tps" -o "$T/m" "$T/cd.train.tps"

# shellcheck disable=SC2086 # $small holds several options
run_status "train a small model" 0 tabpipe-train $small --epochs 2 --seed 5 \
	--valid "$T/cd.valid.tps" -o "$T/a.safetensors" "$T/cd.train.tps"
err_has "progress per epoch" "epoch 2/2: loss"
err_has "a summary" "valid AUC"
yes_that "the model is written" test -s "$T/a.safetensors"
yes_that "its history holds the two epochs" \
	test "$(meta "$T/a.safetensors" history | jq -c 'map(.epoch)')" = "[1,2]"
yes_that "each as the progress reports it, but for its times" \
	test "$(meta "$T/a.safetensors" history | jq -c '.[0] | keys')" = \
	'["best","epoch","loss","valid_auc","valid_loss"]'
yes_that "the first epoch is the best so far" \
	test "$(meta "$T/a.safetensors" history | jq '.[0].best')" = true
yes_that "the threshold rule says how it was chosen" \
	test "$(meta "$T/a.safetensors" threshold_rule)" = "best F1 on the validation rows"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 1 --seed 5 --threshold 0.4 --valid "$T/cd.valid.tps" \
	-o "$T/given.safetensors" "$T/cd.train.tps"
yes_that "or that it was given" test "$(meta "$T/given.safetensors" threshold_rule)" = "given: 0.4"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 2 --seed 5 --valid "$T/cd.valid.tps" \
	-o "$T/b.safetensors" <"$T/cd.train.tps"
same "the same seed gives the same model bytes" "$T/a.safetensors" "$T/b.safetensors"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 2 --seed 6 --valid "$T/cd.valid.tps" \
	-o "$T/c.safetensors" "$T/cd.train.tps"
differ "another seed gives another model" "$T/a.safetensors" "$T/c.safetensors"

# Shrunk categorical tokens, the default: the tables as they are give
# another model of the same seed; both are files like any other.
# shellcheck disable=SC2086
run_status "--shrink none trains" 0 tabpipe-train -q $small --epochs 2 --seed 5 --shrink none \
	--valid "$T/cd.valid.tps" -o "$T/none.safetensors" "$T/cd.train.tps"
differ "and gives another model than the same seed shrunk" "$T/a.safetensors" "$T/none.safetensors"
run_status "which predicts as any model does" 0 tabpipe-predict -m "$T/none.safetensors" "$T/cd.valid.tps"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 2 --seed 5 --shrink bayes --valid "$T/cd.valid.tps" \
	-o "$T/shrunk.safetensors" "$T/cd.train.tps"
same "--shrink bayes is the default" "$T/a.safetensors" "$T/shrunk.safetensors"
# Data without a categorical column: no table to shrink.
awk -F, -v OFS=, '{ print $1, $2, $4 }' "$DATA/credit_data.csv" | head -n 400 >"$T/num.csv"
tabpipe-ingest -q --target Status --positive bad --split 70/30 --seed 3 --out "$T/num" \
	"$T/num.csv"
# shellcheck disable=SC2086
run_status "a model of numeric features alone trains" 0 tabpipe-train -q $small --epochs 1 \
	--valid "$T/num.test.tps" -o "$T/num.safetensors" "$T/num.train.tps"
run_status "--shrink of another kind exits 64" 64 tabpipe-train --shrink more \
	--valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd.train.tps"
err_has "naming the kinds" "none"

# The residual of an additive regression, the default: its config flag
# set, the same model for the same seed, and every reader scores and
# explains it; the explanations add up. --additive none trains the
# transformer alone.
yes_that "a model has an additive part by default" \
	test "$(meta "$T/a.safetensors" config | jq .additive)" = true
# shellcheck disable=SC2086
run_status "--additive regression trains" 0 tabpipe-train -q $small --epochs 2 --seed 5 \
	--additive regression --valid "$T/cd.valid.tps" -o "$T/add.safetensors" "$T/cd.train.tps"
same "which is the default" "$T/a.safetensors" "$T/add.safetensors"
# shellcheck disable=SC2086
run_status "--additive none trains" 0 tabpipe-train -q $small --epochs 2 --seed 5 \
	--additive none --valid "$T/cd.valid.tps" -o "$T/plain.safetensors" "$T/cd.train.tps"
yes_that "and its config says it has no part" \
	test "$(meta "$T/plain.safetensors" config | jq .additive)" = false
run_status "--additive of another kind exits 64" 64 tabpipe-train --additive yes \
	--valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd.train.tps"
err_has "naming the kinds" "none"
# shellcheck disable=SC2086
run_status "an ensemble of 2 trains" 0 tabpipe-train $small --epochs 1 --seed 5 \
	--members 2 --valid "$T/cd.valid.tps" -o "$T/add-ens.safetensors" "$T/cd.train.tps"
err_has "saying first that it fits the regression" "fitting the additive regression first"
yes_that "the summary gives the regression's penalty, AUC and time" grep -q \
	"the additive regression: L2 penalty [0-9.e+-]*, valid AUC alone 0\.[0-9]*, fitted in [0-9]*\.[0-9] s" "$T/err"
run_status "it predicts" 0 tabpipe-predict -m "$T/add.safetensors" "$T/cd.valid.tps"
run_status "and explains" 0 tabpipe-predict --explain 3 --format jsonl \
	-m "$T/add.safetensors" "$T/cd.valid.tps"
run_status "and evaluates, its attributions adding up" 0 tabpipe-evaluate -q --json \
	--importance -m "$T/add.safetensors" -o "$T/add.json" "$T/cd.test.tps"
yes_that "within a hundredth of the change of log-odds" \
	jq -e '.importance.attribution.gap_mean < 0.01 * .importance.attribution.mean_change' "$T/add.json"

# The head starts at the class prior of the weighted loss: a model that
# has not moved (learning rate 0) predicts about the positive share of the
# training rows on average, or about 1/2 with balanced class weights; so
# does one with an additive part, from the regression, which the same
# class weights weigh (the weighted mean, then, is 1/2).
# near_mean X MODEL [W0 W1]: the mean probability over the training rows,
# weighted by their classes' W0 and W1 (1 and 1), is within 0.06 of X.
tabpipe-cat "$T/cd.train.tps" | awk -F, 'NR > 1 { print $1 == "bad" }' >"$T/labels"
near_mean() {
	tabpipe-predict -m "$2" "$T/cd.train.tps" 2>/dev/null | tail -n +2 | cut -d, -f2 |
		paste -d, "$T/labels" - |
		awk -F, -v x="$1" -v w0="${3:-1}" -v w1="${4:-1}" '
			{ w = $1 ? w1 : w0; s += w * $2; n += w }
			END { d = s / n - x; exit !(n > 0 && d < 0.06 && d > -0.06) }'
}
share=$(awk '{ n++; p += $1 } END { print p / n }' "$T/labels")
balanced=$(awk '{ n++; p += $1 } END { print n / (2 * (n - p)), n / (2 * p) }' "$T/labels")
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 1 --lr 0 --seed 5 --additive none --valid "$T/cd.valid.tps" \
	-o "$T/prior.safetensors" "$T/cd.train.tps"
yes_that "an untrained head predicts the positive share ($share)" near_mean "$share" "$T/prior.safetensors"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 1 --lr 0 --seed 5 --additive none --class-weight balanced \
	--valid "$T/cd.valid.tps" -o "$T/prior.safetensors" "$T/cd.train.tps"
yes_that "and 1/2 with balanced class weights" near_mean 0.5 "$T/prior.safetensors"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 1 --lr 0 --seed 5 --valid "$T/cd.valid.tps" \
	-o "$T/prior.safetensors" "$T/cd.train.tps"
yes_that "the regression alone predicts the positive share" near_mean "$share" "$T/prior.safetensors"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 1 --lr 0 --seed 5 --class-weight balanced \
	--valid "$T/cd.valid.tps" -o "$T/prior.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086 # two weights
yes_that "and 1/2 weighted, with balanced class weights" near_mean 0.5 "$T/prior.safetensors" $balanced
far_mean() { ! near_mean "$@"; }
yes_that "which unweighted it is not" far_mean 0.5 "$T/prior.safetensors"

# A killed run resumes to the same bytes as one never stopped.
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 4 --seed 5 --dropout 0.2 --checkpoint "$T/full.ckpt" \
	--valid "$T/cd.valid.tps" -o "$T/full.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
tabpipe-train $small --epochs 4 --seed 5 --dropout 0.2 --checkpoint "$T/cut.ckpt" \
	--valid "$T/cd.valid.tps" -o "$T/cut.safetensors" "$T/cd.train.tps" 2>"$T/cut.err" &
pid=$!
i=0
# An epoch is reported before its checkpoint is written.
while [ $i -lt 600 ] && ! { grep -q "epoch 1/4" "$T/cut.err" && test -s "$T/cut.ckpt"; } 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
yes_that "the killed run left a checkpoint" test -s "$T/cut.ckpt"
# A run killed between an epoch's history and its checkpoint leaves the
# history an epoch past the checkpoint: the resumed run runs it again.
jq -c '. + [{epoch: (map(.epoch) | max + 1), loss: 0, valid_auc: 0, valid_loss: 0, best: false}]' \
	"$T/cut.ckpt.history" >"$T/history" && mv "$T/history" "$T/cut.ckpt.history"
# shellcheck disable=SC2086
run_status "--resume continues it" 0 tabpipe-train $small --epochs 4 --seed 5 --dropout 0.2 \
	--checkpoint "$T/cut.ckpt" --resume --valid "$T/cd.valid.tps" \
	-o "$T/cut.safetensors" "$T/cd.train.tps"
same "resumed and uninterrupted runs give the same bytes" "$T/full.safetensors" "$T/cut.safetensors"
# shellcheck disable=SC2016 # expanded by the inner shell
yes_that "the checkpoint held the regression's fit: it is not fitted again" \
	sh -c '! grep -q "additive regression" "$1"' sh "$T/err"
yes_that "the resumed model's history holds every epoch once" \
	test "$(meta "$T/cut.safetensors" history | jq -c 'map(.epoch)')" = "[1,2,3,4]"
yes_that "the history is kept beside the checkpoint" \
	test "$(jq -c 'map(.epoch)' "$T/cut.ckpt.history")" = "[1,2,3,4]"
# shellcheck disable=SC2086
run_status "a run resumed from its last epoch" 0 tabpipe-train -q $small --epochs 4 --seed 5 \
	--dropout 0.2 --checkpoint "$T/cut.ckpt" --resume --valid "$T/cd.valid.tps" \
	-o "$T/again.safetensors" "$T/cd.train.tps"
same "keeps the checkpoint's history" "$T/full.safetensors" "$T/again.safetensors"
rm "$T/cut.ckpt.history"
# shellcheck disable=SC2086
run_status "a checkpoint without its history still resumes" 0 tabpipe-train $small --epochs 4 \
	--seed 5 --dropout 0.2 --checkpoint "$T/cut.ckpt" --resume --valid "$T/cd.valid.tps" \
	-o "$T/again.safetensors" "$T/cd.train.tps"
err_has "saying the history is lost" "the model file's history starts at the resumed epoch"
yes_that "with the epochs it has" test "$(meta "$T/again.safetensors" history)" = "[]"
# shellcheck disable=SC2086
run_status "--resume with other options exits 64" 64 tabpipe-train $small --epochs 4 --seed 9 \
	--checkpoint "$T/cut.ckpt" --resume --valid "$T/cd.valid.tps" \
	-o "$T/x.safetensors" "$T/cd.train.tps"
err_has "it says why" "made by a run with other options"
# shellcheck disable=SC2086
run_status "--resume with --shrink of another kind exits 64" 64 tabpipe-train $small --epochs 4 \
	--seed 5 --dropout 0.2 --shrink none --checkpoint "$T/cut.ckpt" --resume \
	--valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd.train.tps"

# A loss that is not finite stops the run and keeps the last checkpoint.
cp "$T/full.ckpt" "$T/kept.ckpt"
# shellcheck disable=SC2086
run_status "a diverging run exits 65" 65 tabpipe-train $small --epochs 2 --lr 1e30 \
	--checkpoint "$T/full.ckpt" --valid "$T/cd.valid.tps" -o "$T/nan.safetensors" "$T/cd.train.tps"
err_has "it says so" "training diverged"
same "the checkpoint is as it was" "$T/kept.ckpt" "$T/full.ckpt"
yes_that "no model is written" test ! -e "$T/nan.safetensors"

# Streams and encoders must share the training stream's encoding.
tabpipe-ingest -q --target Status --positive bad --split 60/40 --seed 3 --min-count 5 \
	--out "$T/other" "$DATA/credit_data.csv"
# shellcheck disable=SC2086
run_status "a validation stream of another encoding exits 65" 65 tabpipe-train $small \
	--valid "$T/other.test.tps" -o "$T/x.safetensors" "$T/cd.train.tps"
err_has "it says so" "ingest both with one encoding"

# Labels of one class teach nothing; validation rows of one class give no
# AUC to stop on, which is said, and the summary says none, not 0.
{ head -n 1 "$DATA/credit_data.csv"; grep '^"good"' "$DATA/credit_data.csv" | head -n 300; } >"$T/good.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/good.tps" "$T/good.csv"
# shellcheck disable=SC2086
run_status "training rows of one class exit 65" 65 tabpipe-train $small \
	--valid "$T/cd.valid.tps" -o "$T/one.safetensors" "$T/good.tps"
err_has "it says why" "the training rows' labels are of one class (300 of 0, 0 of 1)"
yes_that "no model is written" test ! -e "$T/one.safetensors"
# shellcheck disable=SC2086
run_status "validation rows of one class train" 0 tabpipe-train $small --epochs 3 --patience 1 \
	--additive none --valid "$T/good.tps" -o "$T/one.safetensors" "$T/cd.train.tps"
err_has "saying so" "good.tps: the validation rows are of one class: there is no AUC to stop early on"
err_has "each epoch has its log loss but no AUC" ", valid AUC none (one class), log loss "
err_has "the summary has no AUC" "best epoch 1 of 2: valid AUC none (one class)"
yes_that "nor the history" test "$(meta "$T/one.safetensors" history | jq -c 'map(.valid_auc)')" = "[null,null]"
# shellcheck disable=SC2086
run_status "and with an additive part" 0 tabpipe-train $small --epochs 3 --patience 1 \
	--valid "$T/good.tps" -o "$T/one.safetensors" "$T/cd.train.tps"
err_has "which keeps the regression alone" "so the additive regression alone is kept"
err_has "its first candidate" "best epoch 0 of 1: valid AUC none (one class)"

run_status "pretrain --help exits 0" 0 tabpipe-pretrain --help
# shellcheck disable=SC2086
run_status "pretrain an encoder" 0 tabpipe-pretrain $small --epochs 1 --corruption resample \
	-o "$T/enc.safetensors" "$T/cd.train.tps"
err_has "pretrain reports its epochs" "epoch 1/1: loss"
yes_that "the encoder's history holds its epochs' losses" \
	test "$(meta "$T/enc.safetensors" history | jq -c 'map(keys)')" = '[["epoch","loss"]]'
yes_that "and no threshold rule" test "$(meta "$T/enc.safetensors" threshold_rule)" = null
# shellcheck disable=SC2086
run_status "train from the encoder" 0 tabpipe-train -q $small --epochs 1 \
	--encoder "$T/enc.safetensors" --valid "$T/cd.valid.tps" -o "$T/e.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
run_status "an encoder of another encoding exits 65" 65 tabpipe-train $small --epochs 1 \
	--encoder "$T/enc.safetensors" --valid "$T/other.test.tps" -o "$T/x.safetensors" "$T/other.train.tps"
err_has "it names the encodings" "the encoder was trained on encoding"
# shellcheck disable=SC2086
run_status "an encoder of other sizes exits 64" 64 tabpipe-train -q $small --d-model 16 --epochs 1 \
	--encoder "$T/enc.safetensors" --valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd.train.tps"
head -c 1000 "$T/enc.safetensors" >"$T/cut.safetensors"
# shellcheck disable=SC2086
run_status "a cut encoder file exits 65" 65 tabpipe-train $small --epochs 1 \
	--encoder "$T/cut.safetensors" --valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
run_status "a model into a missing folder exits 73" 73 tabpipe-train -q $small --epochs 1 \
	--valid "$T/cd.valid.tps" -o "$T/no/dir/m.safetensors" "$T/cd.train.tps"
