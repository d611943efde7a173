#!/bin/sh
# tabpipe-train and tabpipe-pretrain through a shuffle buffer
# (--buffer-rows): the training rows read by blocks, and the memory that
# saves.
. ./lib.sh
# Without run tracking, as test_train.sh.
unset TABPIPE_DB

small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128"
tabpipe-ingest -q --target Status --positive bad --split 70/15/15 --seed 3 \
	--out "$T/cd" "$DATA/credit_data.csv"

# More rows than memory: the training input read by blocks through a
# shuffle buffer (--buffer-rows). Four copies of the training rows joined
# make a stream of four blocks.
tabpipe-cat -s "$T/cd.train.tps" "$T/cd.train.tps" "$T/cd.train.tps" \
	"$T/cd.train.tps" >"$T/cd4.tps"
# best_auc MODEL: the best validation AUC of its history.
best_auc() { meta "$1" history | jq 'map(.valid_auc) | max'; }
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 4 --seed 5 --valid "$T/cd.valid.tps" \
	-o "$T/whole.safetensors" "$T/cd4.tps"
# shellcheck disable=SC2086
run_status "train through a shuffle buffer" 0 tabpipe-train $small --epochs 4 --seed 5 \
	--buffer-rows 1024 --valid "$T/cd.valid.tps" -o "$T/buf.safetensors" "$T/cd4.tps"
err_has "it reports its epochs" "epoch 4/4: loss"
differ "a buffer gives another model than the whole input" "$T/whole.safetensors" "$T/buf.safetensors"
whole_auc=$(best_auc "$T/whole.safetensors")
buf_auc=$(best_auc "$T/buf.safetensors")
yes_that "whose validation AUC ($buf_auc) is close to the whole input's ($whole_auc)" \
	awk -v a="$buf_auc" -v b="$whole_auc" 'BEGIN { d = a - b; exit !(a > 0.7 && d < 0.03 && d > -0.03) }'
yes_that "the same fingerprint of the training rows" \
	test "$(meta "$T/buf.safetensors" data_fingerprint)" = "$(meta "$T/whole.safetensors" data_fingerprint)"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 4 --seed 5 --buffer-rows 1024 --valid "$T/cd.valid.tps" \
	-o "$T/buf2.safetensors" "$T/cd4.tps"
same "the same seed and buffer give the same model bytes" "$T/buf.safetensors" "$T/buf2.safetensors"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 4 --seed 5 --buffer-rows 1024 --valid "$T/cd.valid.tps" \
	-o "$T/buf3.safetensors" <"$T/cd4.tps"
same "standard input from a file is read as the file" "$T/buf.safetensors" "$T/buf3.safetensors"
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 4 --seed 6 --buffer-rows 1024 --valid "$T/cd.valid.tps" \
	-o "$T/buf4.safetensors" "$T/cd4.tps"
differ "another seed gives another model" "$T/buf.safetensors" "$T/buf4.safetensors"
# shellcheck disable=SC2002,SC2086 # cat: a pipe, not a file, is the point
cat "$T/cd4.tps" | run_status "a pipe with --buffer-rows exits 64" 64 tabpipe-train $small \
	--buffer-rows 1024 --valid "$T/cd.valid.tps" -o "$T/x.safetensors"
err_has "it says why" "not a file that can be read again (a pipe?)"
yes_that "no model is written" test ! -e "$T/x.safetensors"
# shellcheck disable=SC2086
run_status "a buffer smaller than a batch exits 64" 64 tabpipe-train $small --buffer-rows 100 \
	--valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd4.tps"
err_has "it says so" "is less than --batch 128"
# shellcheck disable=SC2086
run_status "pretrain through a shuffle buffer" 0 tabpipe-pretrain -q $small --epochs 1 \
	--corruption resample --buffer-rows 512 -o "$T/benc.safetensors" "$T/cd4.tps"
# shellcheck disable=SC2086
tabpipe-pretrain -q $small --epochs 1 --corruption resample --buffer-rows 512 \
	-o "$T/benc2.safetensors" "$T/cd4.tps"
same "the same encoder twice" "$T/benc.safetensors" "$T/benc2.safetensors"
# shellcheck disable=SC2002,SC2086 # as above
cat "$T/cd4.tps" | run_status "pretrain refuses a pipe with --buffer-rows" 64 \
	tabpipe-pretrain -q $small --buffer-rows 512 -o "$T/x.safetensors"

# Memory: about 440,000 rows (the lending club's training rows joined 64
# times) trained one epoch on a tiny model, whole and through a buffer of
# 8192 rows. What the rows add to the peak resident memory of a run on the
# 6,900 rows alone is measured: through the buffer, a small part of what
# the whole input adds (about 1 MiB against 45, 5 against 150 under ASan).
tabpipe-ingest -q --target Class --positive bad --split 70/15/15 --seed 3 \
	--out "$T/lc" "$DATA/lending_club.csv"
rows=$(tabpipe-cat "$T/lc.train.tps" | tail -n +2 | wc -l)
cp "$T/lc.train.tps" "$T/big.tps"
for _ in 1 2 3 4 5 6; do
	tabpipe-cat -s "$T/big.tps" "$T/big.tps" >"$T/big2.tps" && mv "$T/big2.tps" "$T/big.tps"
done
# peak_kb CMD...: runs CMD, its output thrown away, and prints its peak
# resident memory in KiB: GNU time's where it is installed, else the last
# VmHWM that /proc showed while it ran.
peak_kb() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$T/peak" "$@" >/dev/null 2>&1
		tail -n 1 "$T/peak"
		return
	fi
	"$@" >/dev/null 2>&1 &
	pid=$!
	hwm=0
	while kill -0 "$pid" 2>/dev/null; do
		h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		[ -n "$h" ] && hwm=$h
		sleep 0.05
	done
	wait "$pid"
	echo "$hwm"
}
# The transformer alone: the additive regression holds a sample of its
# own, up to 200,000 rows whatever the input (test_regression), which the
# peaks would measure instead of the buffer.
tiny="--layers 1 --d-model 4 --heads 1 --d-ff 4 --head-hidden 4 --batch 4096 --epochs 1 -q --additive none"
# shellcheck disable=SC2086
base_kb=$(peak_kb tabpipe-train $tiny --valid "$T/lc.valid.tps" -o "$T/m.safetensors" "$T/lc.train.tps")
# shellcheck disable=SC2086
whole_kb=$(peak_kb tabpipe-train $tiny --valid "$T/lc.valid.tps" -o "$T/m.safetensors" "$T/big.tps")
# shellcheck disable=SC2086
buf_kb=$(peak_kb tabpipe-train $tiny --buffer-rows 8192 --valid "$T/lc.valid.tps" \
	-o "$T/m.safetensors" "$T/big.tps")
echo "# peak resident memory: ${base_kb} KiB on $rows rows; on $((rows * 64)) rows, ${whole_kb} KiB whole, ${buf_kb} KiB through a buffer of 8192 rows"
yes_that "through a buffer, the rows add under a quarter of what they add whole" \
	test "$buf_kb" -gt 0 -a "$(((buf_kb - base_kb) * 4))" -lt "$((whole_kb - base_kb))"
yes_that "and within 16 MiB of a run on a sixty-fourth of the rows" \
	test "$buf_kb" -gt 0 -a "$buf_kb" -lt "$((base_kb + 16384))"
