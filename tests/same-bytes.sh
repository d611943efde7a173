#!/bin/sh
# Whether two builds give the same bytes: the whole story (ingest with a
# fitted encoding and a split, validate, pretrain, train, fine-tune on the
# pretrained encoder, predict from a stream and from raw CSV, evaluate,
# drift, cat) on both data sets, once with each build's tools, and every
# output compared with cmp. For a change that must not change behaviour
# (a restructuring, a speed-up that keeps the bits): build the commit
# before it in another folder, then
#
#   sh tests/same-bytes.sh OTHER/build/bin build/bin
#
# EPOCHS (3) sets the epochs of each training. Runs without a database,
# so that no run id differs. Exits 0 when every output is the same, 1
# when one differs, naming it.
set -eu
if [ $# -ne 2 ]; then
	echo "usage: tests/same-bytes.sh bin-a bin-b" >&2
	exit 64
fi
data=$(cd "$(dirname "$0")/../data" && pwd)
epochs=${EPOCHS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-same.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset TABPIPE_DB TABPIPE_DEVICE

# story BIN OUT: every output of the story, made with the tools in BIN,
# into the folder OUT, under the same relative names each time (reports
# name their inputs).
story() {
	bin=$(cd "$1" && pwd)
	mkdir -p "$2"
	(cd "$2" && for set in lending_club:Class credit_data:Status; do
		name=${set%%:*} target=${set#*:} d=${set%%:*}
		"$bin/tabpipe-ingest" -q --target "$target" --positive bad \
			--fit "$d.enc.json" --split 70/15/15 --seed 7 --out "$d" \
			"$data/$name.csv"
		"$bin/tabpipe-validate" -r "$d.validate.json" "$d.train.tps" ||
			[ $? -eq 1 ]
		"$bin/tabpipe-pretrain" -q --epochs "$epochs" --seed 3 \
			-o "$d.encoder.safetensors" "$d.train.tps"
		"$bin/tabpipe-train" -q --epochs "$epochs" --seed 3 \
			--valid "$d.valid.tps" -o "$d.model.safetensors" "$d.train.tps"
		"$bin/tabpipe-train" -q --epochs "$epochs" --seed 3 \
			--encoder "$d.encoder.safetensors" --valid "$d.valid.tps" \
			-o "$d.tuned.safetensors" "$d.train.tps"
		"$bin/tabpipe-predict" -q -m "$d.model.safetensors" "$d.test.tps" \
			>"$d.predict.csv"
		"$bin/tabpipe-predict" -q --csv --format jsonl \
			-m "$d.tuned.safetensors" "$data/$name.csv" >"$d.predict.jsonl"
		"$bin/tabpipe-evaluate" -q -m "$d.tuned.safetensors" \
			-o "$d.evaluate.json" "$d.test.tps"
		"$bin/tabpipe-drift" -q -m "$d.model.safetensors" \
			--reference "$d.train.tps" -o "$d.drift.json" "$d.test.tps" ||
			[ $? -eq 1 ]
		"$bin/tabpipe-cat" "$d.test.tps" >"$d.test.csv"
	done)
}

story "$1" "$work/a"
story "$2" "$work/b"
status=0 n=0
for f in "$work"/a/*; do
	n=$((n + 1))
	if ! cmp -s "$f" "$work/b/${f##*/}"; then
		echo "tests/same-bytes.sh: ${f##*/} differs" >&2
		status=1
	fi
done
[ "$status" -ne 0 ] || echo "tests/same-bytes.sh: all $n outputs are the same"
exit "$status"
