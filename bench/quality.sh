#!/bin/sh
# Model quality benchmark: test ROC-AUC of tabpipe-train next to the same
# model in PyTorch (tests/golden/tabtransformer.py trained by
# bench/reference.py with the same hyperparameters on the same split) and a
# logistic-regression floor, on data/lending_club.csv and
# data/credit_data.csv with one fixed stratified 70/15/15 split each
# (tabpipe-ingest --split 70/15/15 --seed 1), over several seeds; then the
# semi-supervised case: 10 % of the training labels (a stratified
# subsample per seed), tabpipe-train with and without tabpipe-pretrain on
# all training rows. Prints the table of bench/reference.py (every seed,
# mean, standard deviation) and whether tabpipe's mean is within 0.01 of
# PyTorch's, and cross-checks that a tabpipe model file scores the same in
# PyTorch as tabpipe-train said (valid AUC).
#
# usage: sh bench/quality.sh [--datasets "lending_club credit_data"]
#            [--epochs n] [--patience n] [--pretrain-epochs n]
#            [--seeds "1 2 3"] [--no-semi] [--torch-pretrain] [--out file]
#
# Defaults are the tools' (30 epochs, patience 5, 10 pretraining epochs):
# about an hour on 2 cores. A quick look in minutes:
#   sh bench/quality.sh --epochs 3 --pretrain-epochs 1 --seeds "1 2"
# --torch-pretrain adds PyTorch with pretraining to the 10 % case (slow).
# BUILD names the build folder (default build).
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
bin=$build/bin
py=/usr/bin/python3
datasets="lending_club credit_data"
epochs=30
patience=5
pepochs=10
seeds="1 2 3"
semi=1
torch_pretrain=
out=
usage() {
	sed -n 's/^# usage: //p; s/^#            /           /p' "$0" | head -3 >&2
	exit 64
}
while [ $# -gt 0 ]; do
	case $1 in
	--datasets) datasets=$2; shift ;;
	--epochs) epochs=$2; shift ;;
	--patience) patience=$2; shift ;;
	--pretrain-epochs) pepochs=$2; shift ;;
	--seeds) seeds=$2; shift ;;
	--no-semi) semi= ;;
	--torch-pretrain) torch_pretrain=1 ;;
	--out) out=$2; shift ;;
	*) usage ;;
	esac
	[ $# -gt 0 ] && shift
done
if [ ! -x "$bin/tabpipe-train" ]; then
	echo "bench/quality.sh: no tools in $build: run make (or set BUILD)" >&2
	exit 66
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-quality.XXXXXX")
trap 'rm -rf "$work"' EXIT
results=$work/results
: >"$results"
ref() { "$py" bench/reference.py "$@"; }
# The same hyperparameters for both implementations; the rest are the
# defaults both share (reference.py's add_train_options).
hyper="--epochs $epochs --patience $patience --threads 2"

# tabpipe-train with its stderr in a log (the first argument), shown when
# it fails.
train() {
	log=$1
	shift
	"$bin/tabpipe-train" "$@" 2>"$log" || { cat "$log" >&2; exit 70; }
}

# tabpipe-train's "valid AUC" of its best epoch, from its last line.
best_auc() { sed -n 's/.*best epoch .*valid AUC \([0-9.]*\).*/\1/p' "$1" | tail -1; }

for d in $datasets; do
	case $d in
	lending_club) target=Class ;;
	credit_data) target=Status ;;
	*) echo "bench/quality.sh: unknown data set $d" >&2; exit 64 ;;
	esac
	p=$work/$d
	"$bin/tabpipe-ingest" -q --target "$target" --positive bad \
		--fit "$p.enc.json" --split 70/15/15 --seed 1 --out "$p" \
		"data/$d.csv"
	"$bin/tabpipe-cat" "$p.train.tps" >"$p.train.csv"
	for s in $seeds; do
		echo "$d, seed $s: all labels" >&2
		# Its log's last line has the valid AUC to cross-check.
		# shellcheck disable=SC2086 # $hyper is a list of options
		train "$p.$s.log" $hyper --seed "$s" --valid "$p.valid.tps" \
			-o "$p.$s.model" "$p.train.tps"
		# shellcheck disable=SC2086
		ref evaluate $hyper --dataset "$d" --setting "all labels" --seed "$s" \
			--out "$results" --train "$p.train.tps" --valid "$p.valid.tps" \
			--test "$p.test.tps" --tabpipe "tabpipe=$p.$s.model" \
			--tabpipe-log "tabpipe=$p.$s.log" --check-valid-auc "$(best_auc "$p.$s.log")" \
			--torch pytorch --logreg logreg
		[ -n "$semi" ] || continue

		echo "$d, seed $s: 10 % of the labels" >&2
		ref subsample --frac 0.1 --seed "$s" "$p.train.tps" \
			"$p.train.csv" "$p.$s.small.csv"
		"$bin/tabpipe-ingest" -q --encoding "$p.enc.json" \
			-o "$p.$s.small.tps" "$p.$s.small.csv"
		# shellcheck disable=SC2086
		"$bin/tabpipe-pretrain" -q --epochs "$pepochs" --seed "$s" \
			--threads 2 -o "$p.$s.encoder" "$p.train.tps"
		# shellcheck disable=SC2086
		train "$p.$s.small.log" $hyper --seed "$s" \
			--valid "$p.valid.tps" -o "$p.$s.small.model" "$p.$s.small.tps"
		# shellcheck disable=SC2086
		train "$p.$s.pre.log" $hyper --seed "$s" --valid "$p.valid.tps" \
			--encoder "$p.$s.encoder" -o "$p.$s.pre.model" "$p.$s.small.tps"
		set -- --torch pytorch
		[ -z "$torch_pretrain" ] ||
			set -- "$@" --torch-pretrain "pytorch+pretrain=mask"
		# shellcheck disable=SC2086
		ref evaluate $hyper --pretrain-epochs "$pepochs" --dataset "$d" \
			--setting "10 % of the labels" --seed "$s" --out "$results" \
			--train "$p.$s.small.tps" --valid "$p.valid.tps" \
			--test "$p.test.tps" --pretrain-data "$p.train.tps" \
			--tabpipe "tabpipe=$p.$s.small.model" \
			--tabpipe "tabpipe+pretrain=$p.$s.pre.model" \
			--tabpipe-log "tabpipe=$p.$s.small.log" \
			--tabpipe-log "tabpipe+pretrain=$p.$s.pre.log" "$@" \
			--logreg logreg
	done
done

set -- --compare tabpipe pytorch \
	--note "hyperparameters: $hyper, pretraining $pepochs epochs (masking 30 %, tau 0.5); seeds: $seeds" \
	--note "split: tabpipe-ingest --split 70/15/15 --seed 1 (stratified), the same for every seed"
[ -z "$out" ] || set -- "$@" --out "$out"
ref table "$@" "$results"
