#!/bin/sh
# tabpipe-validate and tabpipe-cat end to end.
. ./lib.sh

tabpipe-ingest -q --target Class --positive bad --split 70/15/15 --out "$T/lc" "$DATA/lending_club.csv"

run_status "validate --help exits 0" 0 tabpipe-validate --help
out_has "validate --help prints usage" "usage: tabpipe-validate"
run_status "validate of a missing file exits 66" 66 tabpipe-validate "$T/lc.train.tps" "$T/none.tps"
err_has "it names the file" "$T/none.tps: cannot open"
run_status "validate of the training split passes" 0 tabpipe-validate "$T/lc.train.tps"
out_has "the report says passed" '"passed":	true'
out_has "the report has the class balance" '"positive":	'
run_status "a limit that cannot hold fails with 1" 1 tabpipe-validate --min-rows 1000000 "$T/lc.train.tps"
err_has "the failed check is named" "check failed: rows"
out_has "the report says failed" '"passed":	false'
run_status "--pass needs -r" 64 tabpipe-validate --pass "$T/lc.train.tps"
run_status "--pass copies the stream" 0 sh -c 'tabpipe-validate --pass -r "$T/report.json" "$T/lc.train.tps" >"$T/copy.tps"'
same "the copy is the stream, byte for byte" "$T/lc.train.tps" "$T/copy.tps"
yes_that "the report went to the file" grep -q '"passed":	true' "$T/report.json"
run_status "validate inside a pipe" 0 sh -c 'tabpipe-validate --pass -r "$T/r2.json" <"$T/lc.valid.tps" | tabpipe-cat >"$T/valid.csv"'
yes_that "the pipe carried every row" test "$(wc -l <"$T/valid.csv")" -gt 1400

run_status "a CSV file is no stream" 65 tabpipe-validate "$DATA/lending_club.csv"
err_has "it says what it expected" "not a tensor stream"
head -c 5000 "$T/lc.test.tps" >"$T/cut.tps"
run_status "a cut stream exits 65" 65 tabpipe-validate "$T/cut.tps"
err_has "it says truncated" "truncated"
cp "$T/lc.test.tps" "$T/flip.tps"
printf '\377' | dd of="$T/flip.tps" bs=1 seek=3000 conv=notrunc 2>/dev/null
run_status "a damaged stream exits 65" 65 tabpipe-validate "$T/flip.tps"
err_has "it says corrupt" "corrupt"
run_status "cat of a damaged stream exits 65" 65 tabpipe-cat "$T/flip.tps"

# A feature that is the target in disguise is leakage.
{
	echo "x,leak,y"
	i=0
	while [ $i -lt 200 ]; do
		echo "$((i % 7)),$((i % 2 + 10)),$((i % 2))"
		i=$((i + 1))
	done
} >"$T/leak.csv"
tabpipe-ingest -q --target y -o "$T/leak.tps" "$T/leak.csv"
run_status "leakage fails validation" 1 tabpipe-validate --max-duplicates 1 "$T/leak.tps"
err_has "the leaking column is named" "check failed: leakage of leak"
run_status "a looser limit lets it pass" 0 tabpipe-validate --max-duplicates 1 --max-auc 1 "$T/leak.tps"

run_status "cat --encoding prints the encoding" 0 tabpipe-cat --encoding "$T/lc.train.tps"
out_has "with its fingerprint" '"fingerprint"'
run_status "cat to a full disk exits 74" 74 sh -c 'tabpipe-cat "$T/lc.train.tps" >/dev/full'

{ cat "$T/lc.test.tps"; printf 'x'; } >"$T/trailing.tps"
run_status "trailing bytes are corrupt" 65 tabpipe-validate "$T/trailing.tps"
run_status "also with --pass" 65 sh -c 'tabpipe-validate --pass -r "$T/r3.json" "$T/trailing.tps" >/dev/null'
run_status "--pass with the report on standard output is refused" 64 tabpipe-validate --pass -r - "$T/lc.test.tps"
tabpipe-ingest -q --target y -o "$T/other.tps" "$T/leak.csv"
run_status "cat refuses streams of two encodings" 65 tabpipe-cat "$T/lc.test.tps" "$T/other.tps"
err_has "it says why" "$T/other.tps: encoded with"
run_status "cat of two streams of one encoding" 0 tabpipe-cat "$T/lc.test.tps" "$T/lc.valid.tps"
yes_that "one header, every row" test "$(wc -l <"$T/out")" -eq "$(( $(tabpipe-cat "$T/lc.test.tps" | wc -l) + $(tabpipe-cat "$T/lc.valid.tps" | wc -l) - 1 ))"

# A reader of the copy that goes away (head, true) stops the copy, not the
# validation: the report is written and the exit status is its verdict.
# The training split is far larger than a pipe holds, so the copy is cut
# while the stream is still being read.
yes_that "the training split is larger than a pipe holds" test "$(wc -c <"$T/lc.train.tps")" -gt 200000
# downstream NAME WANT CMD...: runs validate --pass on the training split
# into CMD, and checks validate's own status and its report.
downstream() {
	name=$1 want=$2
	shift 2
	rm -f "$T/cut.json" "$T/status"
	{ tabpipe-validate --pass -r "$T/cut.json" "$@" "$T/lc.train.tps" 2>"$T/err"; echo $? >"$T/status"; } |
		$downstream_cmd >/dev/null
	if [ "$(cat "$T/status")" -eq "$want" ]; then ok "$name: the verdict is the status"; else not_ok "$name: exit $(cat "$T/status"), expected $want"; fi
	yes_that "$name: the report is written" grep -q '"rows":	' "$T/cut.json"
}
downstream_cmd="head -c 100"
downstream "into head -c 100" 0
downstream "into head -c 100, a failed check" 1 --min-rows 1000000
err_has "a failed check is still said" "check failed: rows"
downstream_cmd=true
downstream "into true" 0
rm -f "$T/readme.json"
sh -c 'tabpipe-validate --pass -r "$T/readme.json" "$T/lc.train.tps" | tabpipe-cat | head -n 3' >"$T/out" 2>"$T/err"
yes_that "the README's pipeline keeps the report" grep -q '"passed":	true' "$T/readme.json"
yes_that "and prints its rows" test "$(wc -l <"$T/out")" -eq 3
run_status "a full disk is still an error" 74 sh -c 'tabpipe-validate --pass -r "$T/r4.json" "$T/lc.train.tps" >/dev/full'

run_status "validate -q exits with the verdict" 1 tabpipe-validate -q --min-rows 1000000 "$T/lc.train.tps"
yes_that "-q says no failed check" test ! -s "$T/err"
out_has "-q still writes the report" '"passed":	false'
run_status "--quiet too" 1 tabpipe-validate --quiet --min-rows 1000000 "$T/lc.train.tps"
yes_that "--quiet says no failed check" test ! -s "$T/err"
run_status "validate -q keeps errors" 65 tabpipe-validate -q "$T/cut.tps"
err_has "the error is said" "truncated"
run_status "cat -q prints the rows" 0 tabpipe-cat -q "$T/lc.test.tps"
yes_that "the same rows as without -q" sh -c 'tabpipe-cat "$T/lc.test.tps" | cmp -s - "$T/out"'
run_status "cat -q keeps errors" 65 tabpipe-cat -q "$T/flip.tps"
err_has "the error is said" "corrupt"
