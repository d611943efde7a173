#!/bin/sh
# Streams that split and join, end to end: shards of a stream (--shard K/N
# and auto) whose outputs, one after the other, are one run's, byte for
# byte, in tabpipe-predict and tabpipe-cat; several files read as one by
# every tool that reads streams; a CSV ingested in shards with the ids of
# the whole file; files of two encodings refused; bad shards refused.
# shellcheck disable=SC2016 # the scripts of sh -c expand $T themselves
. ./lib.sh

# Runs are recorded only where a check asks for it.
db=${TABPIPE_DB:-}
unset TABPIPE_DB

# weights FILE: the tensors of a safetensors file, after its header (whose
# metadata holds the epochs' times).
weights() {
	n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	tail -c +$((n + 9)) "$1"
}

# join OUT FILE...: the CSV files one after the other, the header once.
join() {
	out=$1
	shift
	{
		head -n 1 "$1"
		for f in "$@"; do tail -n +2 "$f"; done
	} >"$out"
}

# A book of four times the lending club's rows, ten blocks of a stream,
# and a model of it.
{
	cat "$DATA/lending_club.csv"
	for _ in 1 2 3; do tail -n +2 "$DATA/lending_club.csv"; done
} >"$T/book.csv"
rows=$(($(wc -l <"$T/book.csv") - 1))
tabpipe-ingest -q --target Class --positive bad --fit "$T/enc.json" \
	-o "$T/book.tps" "$T/book.csv"
tabpipe-cat -s --shard 2/8 "$T/book.tps" >"$T/valid.tps"
m=$T/m.safetensors
tabpipe-train -q --layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 \
	--batch 256 --epochs 1 --seed 4 --shard 1/8 --valid "$T/valid.tps" \
	-o "$m" "$T/book.tps"

# predict: four shards, joined, are one run.
tabpipe-predict -q -m "$m" "$T/book.tps" >"$T/one.csv"
yes_that "one run scores every row" test "$(wc -l <"$T/one.csv")" -eq $((rows + 1))
for k in 1 2 3 4; do
	run_status "predict --shard $k/4" 0 tabpipe-predict -q -m "$m" --shard "$k/4" "$T/book.tps"
	cp "$T/out" "$T/p$k.csv"
done
join "$T/joined.csv" "$T/p1.csv" "$T/p2.csv" "$T/p3.csv" "$T/p4.csv"
same "the shards' predictions, joined, are one run's" "$T/one.csv" "$T/joined.csv"
export rows
yes_that "each shard holds a quarter of the rows, give or take a block" sh -c '
	for k in 1 2 3 4; do
		n=$(($(wc -l <"$T/p$k.csv") - 1))
		[ "$n" -gt $((rows / 4 - 4096)) ] && [ "$n" -lt $((rows / 4 + 4096)) ] || exit 1
	done'
yes_that "a shard starts at a block's first row" test $((($(sed -n 2p "$T/p2.csv" | cut -d, -f1) - 1) % 4096)) -eq 0
tabpipe-predict -q -m "$m" --format jsonl "$T/book.tps" >"$T/one.jsonl"
for k in 1 2 3; do
	tabpipe-predict -q -m "$m" --format jsonl --shard "$k/3" "$T/book.tps"
done >"$T/joined.jsonl"
same "JSON lines of three shards are one run's" "$T/one.jsonl" "$T/joined.jsonl"
# Eight whole blocks in four shards: each cut falls on a block's first row.
head -n $((8 * 4096 + 1)) "$T/book.csv" >"$T/even.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/even.tps" "$T/even.csv"
tabpipe-predict -q -m "$m" "$T/even.tps" >"$T/even-one.csv"
for k in 1 2 3 4; do
	tabpipe-predict -q -m "$m" --shard "$k/4" "$T/even.tps" >"$T/e$k.csv"
done
join "$T/ejoined.csv" "$T/e1.csv" "$T/e2.csv" "$T/e3.csv" "$T/e4.csv"
same "shards cut at block boundaries are one run" "$T/even-one.csv" "$T/ejoined.csv"
yes_that "of two blocks each" test "$(wc -l <"$T/e2.csv")" -eq $((2 * 4096 + 1))
for k in 1 2 3 4 5 6 7; do
	tabpipe-predict -q -m "$m" --threads 2 --shard "$k/7" "$T/book.tps" >"$T/q$k.csv"
done
join "$T/joined7.csv" "$T/q1.csv" "$T/q2.csv" "$T/q3.csv" "$T/q4.csv" \
	"$T/q5.csv" "$T/q6.csv" "$T/q7.csv"
same "seven shards, with threads, are one run's" "$T/one.csv" "$T/joined7.csv"

# cat: the same, as CSV and as streams.
tabpipe-cat "$T/book.tps" >"$T/book-back.csv"
for k in 1 2 3 4; do
	tabpipe-cat --shard "$k/4" "$T/book.tps" >"$T/c$k.csv"
	tabpipe-cat -s --shard "$k/4" "$T/book.tps" >"$T/c$k.tps"
done
join "$T/cjoined.csv" "$T/c1.csv" "$T/c2.csv" "$T/c3.csv" "$T/c4.csv"
same "cat of four shards, joined, is one run's" "$T/book-back.csv" "$T/cjoined.csv"
run_status "cat -s joins the cut parts" 0 sh -c 'tabpipe-cat -s "$T"/c1.tps "$T"/c2.tps "$T"/c3.tps "$T"/c4.tps >"$T/rejoined.tps"'
tabpipe-cat "$T/rejoined.tps" >"$T/rejoined.csv"
same "the parts joined hold the rows" "$T/book-back.csv" "$T/rejoined.csv"
tabpipe-predict -q -m "$m" "$T/c1.tps" "$T/c2.tps" "$T/c3.tps" "$T/c4.tps" >"$T/parts.csv"
same "predict of the parts is one run" "$T/one.csv" "$T/parts.csv"

# A CSV ingested in shards keeps the whole file's record numbers: the
# shards, joined, are the bytes of one ingest.
for k in 1 2 3 4; do
	run_status "ingest --shard $k/4" 0 tabpipe-ingest -q --encoding "$T/enc.json" \
		--shard "$k/4" -o "$T/i$k.tps" "$T/book.csv"
done
run_status "cat -s joins ingested shards" 0 sh -c 'tabpipe-cat -s "$T"/i1.tps "$T"/i2.tps "$T"/i3.tps "$T"/i4.tps >"$T/ijoined.tps"'
same "the ingested shards, joined, are one ingest" "$T/book.tps" "$T/ijoined.tps"
before=0
for k in 1 2; do
	before=$((before + $(tabpipe-predict -q -m "$m" "$T/i$k.tps" | wc -l) - 1))
done
yes_that "a later shard's ids are the whole file's" test "$(tabpipe-predict -q -m "$m" "$T/i3.tps" | sed -n 2p | cut -d, -f1)" -eq $((before + 1))
for k in 1 2 3; do
	tabpipe-predict -q -m "$m" --csv --shard "$k/3" "$T/book.csv" >"$T/v$k.csv"
done
join "$T/vjoined.csv" "$T/v1.csv" "$T/v2.csv" "$T/v3.csv"
same "predict --csv in shards is one run" "$T/one.csv" "$T/vjoined.csv"
head -n 5001 "$T/book.csv" >"$T/a.csv"
{ head -n 1 "$T/book.csv"; tail -n +5002 "$T/book.csv"; } >"$T/b.csv"
run_status "predict --csv of two files" 0 tabpipe-predict -q -m "$m" --csv "$T/a.csv" "$T/b.csv"
same "two CSV files number their records on" "$T/one.csv" "$T/out"

# Several files in are one stream, for every tool that reads streams.
parts="$T/i1.tps $T/i2.tps $T/i3.tps $T/i4.tps"
# shellcheck disable=SC2086 # $parts holds the files
{
	tabpipe-validate -r "$T/val-parts.json" $parts
	tabpipe-validate -r "$T/val-one.json" "$T/book.tps"
	tabpipe-evaluate -q -m "$m" -o "$T/ev-parts.json" $parts
	tabpipe-evaluate -q -m "$m" -o "$T/ev-one.json" "$T/book.tps"
	tabpipe-drift -q --reference "$T/valid.tps" -o "$T/dr-parts.json" $parts
	tabpipe-drift -q --reference "$T/valid.tps" -o "$T/dr-one.json" "$T/book.tps"
} 2>/dev/null
same "validate of the parts is validate of one stream" "$T/val-one.json" "$T/val-parts.json"
same "evaluate of the parts is evaluate of one stream" "$T/ev-one.json" "$T/ev-parts.json"
# The current side's source names the files; the rest is the same.
for f in parts one; do
	jq 'del(.current.source)' "$T/dr-$f.json" >"$T/dr-$f.cmp"
done
same "drift of the parts is drift of one stream" "$T/dr-one.cmp" "$T/dr-parts.cmp"
yes_that "drift names the files it read" test "$(jq -r .current.source "$T/dr-parts.json")" = "$T/i1.tps and 3 more"
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 256 --epochs 1 --seed 4"
# shellcheck disable=SC2086 # $small holds several options
{
	tabpipe-train -q $small --valid "$T/valid.tps" -o "$T/tp.safetensors" "$T/i1.tps" "$T/i2.tps"
	tabpipe-cat -s "$T/i1.tps" "$T/i2.tps" >"$T/i12.tps"
	tabpipe-train -q $small --valid "$T/valid.tps" -o "$T/to.safetensors" "$T/i12.tps"
	tabpipe-pretrain -q $small --epochs 1 -o "$T/ep.safetensors" "$T/i3.tps" "$T/i4.tps"
	tabpipe-cat -s "$T/i3.tps" "$T/i4.tps" >"$T/i34.tps"
	tabpipe-pretrain -q $small --epochs 1 -o "$T/eo.safetensors" "$T/i34.tps"
}
tabpipe-predict -q -m "$T/tp.safetensors" "$T/valid.tps" >"$T/tp.csv"
tabpipe-predict -q -m "$T/to.safetensors" "$T/valid.tps" >"$T/to.csv"
same "train on two files is train on one stream of them" "$T/to.csv" "$T/tp.csv"
weights "$T/ep.safetensors" >"$T/ep.weights"
weights "$T/eo.safetensors" >"$T/eo.weights"
yes_that "the encoder has weights" test -s "$T/eo.weights"
same "pretrain on two files is pretrain on one stream of them" "$T/eo.weights" "$T/ep.weights"

# Files of two encodings are refused, naming both, before any output.
tabpipe-ingest -q --target Class --positive bad --max-vocab 3 --fit "$T/enc3.json" \
	-o "$T/other.tps" "$DATA/lending_club.csv"
run_status "cat of two encodings" 65 tabpipe-cat "$T/i1.tps" "$T/other.tps"
yes_that "prints nothing before refusing" test ! -s "$T/out"
for tool in cat validate "evaluate -m $m" "predict -m $m" "drift --reference $T/valid.tps"; do
	name=${tool%% *}
	# shellcheck disable=SC2086 # $tool holds the tool and its options
	run_status "$name refuses files of two encodings" 65 tabpipe-$tool "$T/i1.tps" "$T/other.tps"
	err_has "$name names the file of another encoding" "$T/other.tps: encoded with"
	err_has "$name names the first file" ", $T/i1.tps with"
done
# shellcheck disable=SC2086 # $small holds several options
run_status "train refuses files of two encodings" 65 tabpipe-train -q $small --valid "$T/valid.tps" -o "$T/x.safetensors" "$T/i1.tps" "$T/other.tps"
# shellcheck disable=SC2086 # $small holds several options
run_status "pretrain refuses files of two encodings" 65 tabpipe-pretrain -q $small -o "$T/x.safetensors" "$T/i1.tps" "$T/other.tps"
run_status "cat a.tps b.tps is still not a stream" 65 sh -c 'cat "$T/i1.tps" "$T/i2.tps" | tabpipe-cat'
err_has "it says bytes after the end block" "bytes after the end block"

# --shard auto: a Slurm array from 0 or from 1, a Kubernetes Indexed Job.
run_status "Slurm array from 0" 0 env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=0 \
	SLURM_ARRAY_TASK_COUNT=4 tabpipe-predict -q -m "$m" --shard auto "$T/book.tps"
same "task 1 of an array from 0 is shard 2/4" "$T/p2.csv" "$T/out"
run_status "Slurm array from 1" 0 env SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=1 \
	SLURM_ARRAY_TASK_COUNT=4 tabpipe-predict -q -m "$m" --shard auto "$T/book.tps"
same "task 4 of an array from 1 is shard 4/4" "$T/p4.csv" "$T/out"
run_status "Kubernetes index, TABPIPE_SHARDS" 0 env JOB_COMPLETION_INDEX=2 TABPIPE_SHARDS=4 \
	tabpipe-cat --shard auto "$T/book.tps"
same "index 2 of 4 is shard 3/4" "$T/c3.csv" "$T/out"
run_status "Kubernetes index, auto/N" 0 env JOB_COMPLETION_INDEX=0 \
	tabpipe-predict -q -m "$m" --shard auto/4 "$T/book.tps"
same "index 0 with auto/4 is shard 1/4" "$T/p1.csv" "$T/out"
run_status "Kubernetes index without a count exits 64" 64 env JOB_COMPLETION_INDEX=0 \
	tabpipe-predict -q -m "$m" --shard auto "$T/book.tps"
err_has "it says how to give the count" "give auto/N or TABPIPE_SHARDS"
run_status "auto outside an array exits 64" 64 env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX \
	tabpipe-cat --shard auto "$T/book.tps"
run_status "an index past the count exits 64" 64 env SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=0 \
	SLURM_ARRAY_TASK_COUNT=4 tabpipe-cat --shard auto "$T/book.tps"
err_has "it names the variable" "SLURM_ARRAY_TASK_ID makes shard 5, of 4"

# Bad shards, and shards that cannot be cut.
for bad in 0/4 5/4 4 1/0 a/b 1/4x -1/4 "" auto/0; do
	run_status "--shard '$bad' exits 64" 64 tabpipe-predict -m "$m" --shard "$bad" "$T/book.tps"
done
err_has "it says what a shard is" "is not K/N"
run_status "a shard of a pipe exits 64" 64 sh -c 'cat "$T/book.tps" | tabpipe-cat --shard 1/2'
err_has "it says a shard is cut from files" "a shard is cut from files"
run_status "--shard 1/2 from a file as standard input" 0 sh -c 'tabpipe-cat --shard 1/2 <"$T/book.tps"'
run_status "validate --pass of two files exits 64" 64 tabpipe-validate --pass -r "$T/r.json" "$T/i1.tps" "$T/i2.tps"
run_status "validate --pass of a shard exits 64" 64 tabpipe-validate --pass -r "$T/r.json" --shard 1/2 "$T/i1.tps"
run_status "ingest --shard fits no encoding" 64 tabpipe-ingest --target Class --shard 1/2 -o "$T/x.tps" "$T/book.csv"
run_status "ingest --shard takes no --split" 64 tabpipe-ingest --encoding "$T/enc.json" --shard 1/2 --split 50/50 --out "$T/x" "$T/book.csv"
run_status "ingest --shard of a pipe exits 64" 64 sh -c 'cat "$T/book.csv" | tabpipe-ingest --encoding "$T/enc.json" --shard 1/2 -o "$T/x.tps"'
run_status "predict --serve takes no --shard" 64 tabpipe-predict -m "$m" --serve --shard 1/2
run_status "cat -e takes no --shard" 64 tabpipe-cat -e --shard 1/2 "$T/book.tps"
run_status "the same file on standard input twice exits 64" 64 sh -c 'tabpipe-cat - - <"$T/i1.tps"'

# More shards than blocks: the empty ones give a header alone, an empty
# stream, and a validation of no rows.
tabpipe-cat -s --shard 1/10 "$T/book.tps" >"$T/one-block.tps"
run_status "an empty shard is scored" 0 tabpipe-predict -q -m "$m" --shard 3/4 "$T/one-block.tps"
yes_that "into a header alone" test "$(cat "$T/out")" = "id,probability,label"
run_status "an empty shard is a stream" 0 sh -c 'tabpipe-cat -s --shard 4/4 "$T/one-block.tps" | tabpipe-cat'
yes_that "of no rows" test "$(wc -l <"$T/out")" -eq 1
run_status "validate of an empty shard fails its rows check" 1 tabpipe-validate -q --shard 2/2 "$T/one-block.tps"
# The book repeats its rows: duplicates are its nature.
run_status "validate of a shard passes" 0 tabpipe-validate -q --max-duplicates 1 --shard 1/3 "$T/book.tps"
out_has "a shard's unseen rate is not known" '"unseen_rate":	null'
run_status "a damaged block of another shard is passed over" 0 sh -c '
	cp "$T/book.tps" "$T/flip.tps"
	size=$(wc -c <"$T/flip.tps")
	printf "\377" | dd of="$T/flip.tps" bs=1 seek=$((size - 200)) conv=notrunc 2>/dev/null
	tabpipe-cat --shard 1/4 "$T/flip.tps" | cmp -s - "$T/c1.csv"'
run_status "the shard that holds it finds it" 65 tabpipe-cat --shard 4/4 "$T/flip.tps"
err_has "as corrupt" "corrupt: block 10"

# A run records its shard, given or from the environment.
if [ -n "$db" ]; then
	run_status "a recorded run with --shard auto" 0 env SLURM_ARRAY_TASK_ID=3 \
		SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4 \
		tabpipe-predict -q --db "$db" -m "$m" --shard auto "$T/book.tps"
	yes_that "its parameters hold the shard" test "$(psql "$db" -qAtc \
		"SELECT params->>'shard' FROM runs WHERE tool = 'predict' ORDER BY id DESC LIMIT 1")" = "3/4"
else
	skip "a recorded run with --shard auto" "no database (run under scripts/pg-server run)"
fi
