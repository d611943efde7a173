#!/bin/sh
# scripts/fanout end to end: tabpipe-predict over four shards by GNU
# parallel, joined, against one run, byte for byte (streams cut at blocks,
# CSV cut by bytes), through GNU parallel's --sshlogin with this
# machine, a shard that fails, bad options; Slurm's job array where a
# one-node cluster can run here.
. ./lib.sh

unset TABPIPE_DB
fanout=$(cd ../.. && pwd)/scripts/fanout
if ! parallel --version 2>/dev/null | grep -q '^GNU parallel'; then
	skip "scripts/fanout" "GNU parallel is not installed (Debian: parallel)"
	exit 0
fi
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 256 --epochs 1"
tabpipe-ingest -q --target Class --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 2 --out "$T/lc" "$DATA/lending_club.csv"
# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --valid "$T/lc.valid.tps" -o "$T/m.safetensors" "$T/lc.train.tps"
# Three blocks and more: the whole file, four times over, as one stream.
for _ in 1 2 3 4; do tail -n +2 "$DATA/lending_club.csv"; done |
	cat "$DATA/lending_club.csv" - | cut -d, -f1-22 >"$T/book.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/book.tps" "$T/book.csv"
rows=$(($(wc -l <"$T/book.csv") - 1))

tabpipe-predict -q -m "$T/m.safetensors" "$T/book.tps" >"$T/one.csv"
run_status "four shards of a stream" 0 sh "$fanout" -n 4 predict -q -m "$T/m.safetensors" "$T/book.tps"
same "joined, they are one run's predictions" "$T/out" "$T/one.csv"
yes_that "a line a row and the header once" test "$(wc -l <"$T/out")" = $((rows + 1))
tabpipe-predict -q --format jsonl -m "$T/m.safetensors" "$T/book.tps" >"$T/one.jsonl"
run_status "four shards as JSON lines" 0 sh "$fanout" -n 4 -j 2 predict -q --format jsonl -m "$T/m.safetensors" "$T/book.tps"
same "joined, one run's JSON lines" "$T/out" "$T/one.jsonl"
run_status "more shards than blocks" 0 sh "$fanout" -n 9 predict -q -m "$T/m.safetensors" "$T/book.tps"
same "empty shards add nothing" "$T/out" "$T/one.csv"
run_status "one shard" 0 sh "$fanout" -n 1 predict -q -m "$T/m.safetensors" "$T/book.tps"
same "is one run" "$T/out" "$T/one.csv"
run_status "through --sshlogin, this machine" 0 sh "$fanout" -n 4 -S 2/: predict -q -m "$T/m.safetensors" "$T/book.tps"
same "the same predictions" "$T/out" "$T/one.csv"

# CSV shards are cut by bytes, so their batches are not one run's; a
# row's probability does not depend on its batch, so the output is.
tabpipe-predict -q --csv -m "$T/m.safetensors" "$T/book.csv" >"$T/one-csv.csv"
run_status "four shards of the CSV" 0 sh "$fanout" -n 4 predict -q --csv -m "$T/m.safetensors" "$T/book.csv"
same "are one run" "$T/out" "$T/one-csv.csv"

# Reports: the shards' partials merged are one run's report, but for the
# fingerprint of the rows, which is of the parts'.
export TABPIPE_BIN
TABPIPE_BIN=$(dirname "$(command -v tabpipe-predict)")
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/labelled.tps" "$DATA/lending_club.csv" "$DATA/lending_club.csv"
tabpipe-evaluate -q -m "$T/m.safetensors" -o "$T/one-eval.json" "$T/labelled.tps"
run_status "evaluate in four shards" 0 sh "$fanout" -n 4 evaluate -q -m "$T/m.safetensors" -- "$T/labelled.tps"
yes_that "is one run's report" test "$(jq -cS 'del(.data_fingerprint)' "$T/out" | cksum)" = \
	"$(jq -cS 'del(.data_fingerprint)' "$T/one-eval.json" | cksum)"
tabpipe-drift -q --reference "$T/lc.train.tps" -o "$T/one-drift.json" "$T/book.tps"
run_status "drift in four shards" 0 sh "$fanout" -n 4 drift -q --reference "$T/lc.train.tps" -- "$T/book.tps"
yes_that "is one run's report" test "$(jq -cS 'del(.current.fingerprint, .current.source)' "$T/out" | cksum)" = \
	"$(jq -cS 'del(.current.fingerprint, .current.source)' "$T/one-drift.json" | cksum)"
tabpipe-validate -q -r "$T/one-validate.json" "$T/labelled.tps" || true
run_status "validate in three shards" 1 sh "$fanout" -n 3 validate -q -- "$T/labelled.tps"
yes_that "its checks but unseen values are one run's" test \
	"$(jq -cS '[.checks[] | select(.check != "unseen")]' "$T/out" | cksum)" = \
	"$(jq -cS '[.checks[] | select(.check != "unseen")]' "$T/one-validate.json" | cksum)"
run_status "a report's files without -- exits 64" 64 sh "$fanout" -n 2 evaluate -m "$T/m.safetensors" "$T/labelled.tps"
run_status "-o for a report exits 64" 64 sh "$fanout" -n 2 evaluate -o x.json -m "$T/m.safetensors" -- "$T/labelled.tps"

# A shard that fails.
run_status "a shard that fails fails the fan-out" 66 sh "$fanout" -n 3 predict -q -m "$T/none.safetensors" "$T/book.tps"
yes_that "and writes nothing" test ! -s "$T/out"
run_status "-n 0 exits 64" 64 sh "$fanout" -n 0 predict -m "$T/m.safetensors" "$T/book.tps"
run_status "an unknown tool exits 64" 64 sh "$fanout" -n 2 train "$T/book.tps"
run_status "no tool exits 64" 64 sh "$fanout" -n 2

# The parts of a job array or an Indexed Job, joined: numbered from 0 or
# 1, in their numbers' order (10 after 9).
mkdir "$T/parts"
for k in 0 1 2 3 4 5 6 7 8 9 10; do
	tabpipe-predict -q --shard $((k + 1))/11 -m "$T/m.safetensors" "$T/book.tps" >"$T/parts/$k.csv"
done
run_status "join the parts of eleven shards" 0 sh "$fanout" join "$T/parts"
same "they are one run's predictions" "$T/out" "$T/one.csv"
run_status "join a folder without parts exits 66" 66 sh "$fanout" join "$T"

# The Slurm recipe of tabpipe-scale(7) (scripts/recipes/score.sbatch) on a
# one-node cluster of this machine (scripts/slurm-server).
recipes=$(cd ../.. && pwd)/scripts/recipes
bin=$(dirname "$(command -v tabpipe-predict)")
mkdir "$T/slurm"
if [ "$(id -u)" -ne 0 ]; then
	skip "a Slurm job array" "the one-node cluster of scripts/slurm-server runs as root only here"
elif ! command -v sbatch >/dev/null 2>&1 || [ ! -x /usr/sbin/slurmctld ]; then
	skip "a Slurm job array" "slurm-wlm is not installed (scripts/setup installs it)"
else
	# shellcheck disable=SC2016 # the script's own arguments
	run_status "a Slurm job array of four tasks" 0 sh ../../scripts/slurm-server run \
		sh -c 'cd "$1" && sbatch --wait --array=1-4 --export="ALL,MODEL=$2,BOOK=$3,PARTS=$1,TABPIPE_BIN=$4" "$5" >/dev/null' \
		sh "$T/slurm" "$T/m.safetensors" "$T/book.tps" "$bin" "$recipes/score.sbatch"
	run_status "its parts joined" 0 sh "$fanout" join "$T/slurm"
	same "are one run's predictions" "$T/out" "$T/one.csv"
fi
