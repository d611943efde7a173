#!/bin/sh
# What a crash or damage leaves: a tool killed (SIGKILL, so no handler of
# its own runs) in the middle of writing its outputs leaves nothing new in
# their folder, neither half a file under a final name nor a temporary
# file, and the outputs of an earlier run whole; and a model file whose
# tensors were damaged after it was written is refused by the tools that
# load it, naming the file.
. ./lib.sh

# A tool must not need the database here.
unset TABPIPE_DB

# pid_outputs DIR: the sizes of the files in DIR that process $pid has
# open for writing, one a line (a file without a name shows in /proc as
# "DIR/#INODE (deleted)", a named one by its name).
pid_outputs() {
	for fd in /proc/"$pid"/fd/*; do
		case $(readlink "$fd" 2>/dev/null) in
		"$1"/*)
			[ -p "$fd" ] || stat -L -c %s "$fd" 2>/dev/null
			;;
		esac
	done
}

# An encoding, then a run that leaves the outputs of "yesterday".
out=$T/outputs
mkdir -p "$out"
tabpipe-ingest -q --target Class --positive bad --fit "$T/enc.json" \
	-o /dev/null "$DATA/lending_club.csv"
tabpipe-ingest -q --encoding "$T/enc.json" --split 70/15/15 --out "$out/loans" \
	"$DATA/lending_club.csv"
mkdir "$T/before"
cp "$out"/loans.*.tps "$T/before/"

# Today's run reads a FIFO that is kept open, so that it is surely in the
# middle of its work when it is killed: it has read 20 copies of the data
# and written blocks of all three outputs, and waits for more.
mkfifo "$out/feed"
tabpipe-ingest -q --encoding "$T/enc.json" --split 70/15/15 --out "$out/loans" \
	"$out/feed" 2>"$T/err" &
pid=$!
exec 3>"$out/feed"
cat "$DATA/lending_club.csv" >&3
i=1
while [ $i -lt 20 ]; do
	tail -n +2 "$DATA/lending_club.csv" >&3
	i=$((i + 1))
done
# Up to 20 s for the three outputs to hold data.
i=0
while [ $i -lt 200 ] && [ "$(pid_outputs "$out" | grep -vc '^0$')" -lt 3 ]; do
	sleep 0.1
	i=$((i + 1))
done
sizes=$(pid_outputs "$out" | tr '\n' ' ' | sed 's/ $//')
if [ "$(pid_outputs "$out" | grep -vc '^0$')" -ge 3 ]; then
	ok "ingest is writing its three outputs when it is killed ($sizes bytes)"
else
	not_ok "ingest is writing its three outputs when it is killed (sizes: $sizes)"
fi
kill -9 "$pid"
{ wait "$pid"; } 2>/dev/null
status=$?
exec 3>&-
if [ "$status" -eq 137 ]; then ok "ingest was killed"; else not_ok "ingest was killed (exit $status)"; fi
left=$(cd "$out" && ls -A | tr '\n' ' ')
if [ "$left" = "feed loans.test.tps loans.train.tps loans.valid.tps " ]; then
	ok "a killed ingest leaves no file in the output folder"
else
	not_ok "a killed ingest leaves no file in the output folder (there: $left)"
fi
for p in train valid test; do
	same "the earlier $p output is whole" "$T/before/loans.$p.tps" "$out/loans.$p.tps"
done

# A model whose tensors' bytes are flipped after it was written: each
# tool that loads it refuses it with exit 65, naming the file.
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 1"
tabpipe-ingest -q --target Status --positive bad --fit "$T/cd.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --valid "$T/cd.valid.tps" -o "$T/m.safetensors" "$T/cd.train.tps"
run_status "the model as written scores" 0 tabpipe-predict -m "$T/m.safetensors" "$T/cd.test.tps"
# The data starts after the 8-byte length and the header.
hlen=$(od -A n -t u8 -N 8 "$T/m.safetensors" | tr -d ' ')
size=$(wc -c <"$T/m.safetensors")
# flip FILE OFFSET: flips the lowest bit of the byte at OFFSET.
flip() {
	b=$(od -A n -t u1 -j "$2" -N 1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059 # the format is the byte, as an octal escape
	printf "\\$(printf %o $((b ^ 1)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
# The first and last bytes of the data, and some between.
for at in $((8 + hlen)) $((8 + hlen + 4001)) $(((size + 8 + hlen) / 2)) $((size - 1)); do
	cp "$T/m.safetensors" "$T/bad.safetensors"
	flip "$T/bad.safetensors" "$at"
	differ "byte $at of the model flipped" "$T/m.safetensors" "$T/bad.safetensors"
	run_status "predict refuses the model with byte $at flipped" 65 \
		tabpipe-predict -m "$T/bad.safetensors" "$T/cd.test.tps"
	err_has "naming the file and the digest" "$T/bad.safetensors: the tensors'"
	run_status "evaluate refuses it too" 65 \
		tabpipe-evaluate -m "$T/bad.safetensors" "$T/cd.test.tps"
	err_has "naming the file" "$T/bad.safetensors"
done
