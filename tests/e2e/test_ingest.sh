#!/bin/sh
# tabpipe-ingest end to end: exit statuses, messages, outputs.
. ./lib.sh

run_status "ingest --help exits 0" 0 tabpipe-ingest --help
out_has "ingest --help prints usage" "usage: tabpipe-ingest"
run_status "ingest --version exits 0" 0 tabpipe-ingest --version
run_status "ingest with an unknown option exits 64" 64 tabpipe-ingest --frobnicate
err_has "unknown option prints usage" "usage: tabpipe-ingest"
run_status "ingest --split without --out exits 64" 64 tabpipe-ingest --split 70/15/15 "$DATA/lending_club.csv"
run_status "ingest with a bad split exits 64" 64 tabpipe-ingest --split 70/x --out "$T/x" "$DATA/lending_club.csv"
run_status "ingest of a missing file exits 66" 66 tabpipe-ingest -o "$T/x.tps" "$T/nothing.csv"
err_has "missing file is named" "nothing.csv: cannot open"
run_status "ingest into a missing folder exits 73" 73 tabpipe-ingest --target Class --positive bad -o "$T/no/such/dir.tps" "$DATA/lending_club.csv"
run_status "ingest to a full disk exits 74" 74 sh -c 'tabpipe-ingest --target Class --positive bad "$DATA/lending_club.csv" >/dev/full'
if [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^tabpipe-ingest: standard output: write error: No space left on device$" "$T/err"; then
	ok "the write error is said once, without an input line"
else
	not_ok "the write error is said once, without an input line"
fi
run_status "fitting from standard input without a temporary folder exits 73" 73 sh -c 'TMPDIR=/nonexistent tabpipe-ingest --target Class --positive bad -o "$T/x.tps" <"$DATA/lending_club.csv"'
err_has "it says where it looked" "(in TMPDIR, or /tmp)"
run_status "-o with --split exits 64" 64 tabpipe-ingest --target Class --positive bad --split 70/30 --out "$T/s" -o "$T/x.tps" "$DATA/lending_club.csv"
run_status "a target value without --positive exits 64" 64 tabpipe-ingest --target Class -o "$T/x.tps" "$DATA/lending_club.csv"
err_has "it says to use --positive" "--positive"
run_status "an unknown target column exits 64" 64 tabpipe-ingest --target Nope -o "$T/x.tps" "$DATA/lending_club.csv"

run_status "--max-vocab with --encoding exits 64" 64 tabpipe-ingest --encoding "$T/nothing.json" --max-vocab 3 "$DATA/lending_club.csv"
err_has "it says the encoding holds the vocabularies" "--encoding already holds the vocabularies"
run_status "ingest lending_club with a split" 0 tabpipe-ingest --target Class --positive bad --fit "$T/enc.json" --split 70/15/15 --seed 7 --out "$T/lc" "$DATA/lending_club.csv"
err_has "counts on stderr" "9857 rows read, 0 rejected, 9857 written (train"
yes_that "three streams written" test -s "$T/lc.train.tps" -a -s "$T/lc.valid.tps" -a -s "$T/lc.test.tps"
yes_that "and no column is said to name rows" sh -c '! grep -q "about a value a row" "$T/err"'

# A column of about a value a row (a customer's reference, free text) is
# said, with its count against the training part's rows.
awk 'NR == 1 { print $0 ",\"ref\""; next } { print $0 ",\"c" NR "\"" }' \
	"$DATA/credit_data.csv" >"$T/ref.csv"
run_status "a column of a value a row is ingested" 0 tabpipe-ingest --target Status --positive bad \
	--split 70/15/15 --out "$T/ref" "$T/ref.csv"
err_has "and said" "column 15 (ref): 3119 categories in 3119 training rows: about a value a row"
run_status "--min-count 2 keeps none of its values" 0 tabpipe-ingest --target Status --positive bad \
	--min-count 2 -o "$T/ref.tps" "$T/ref.csv"
yes_that "and says nothing of it" sh -c '! grep -q "about a value a row" "$T/err"'
yes_that "no temporary file left" sh -c '! ls "$T" | grep -q tmp'
tabpipe-ingest -q --target Class --positive bad --split 70/15/15 --seed 7 --out "$T/again" "$DATA/lending_club.csv"
same "the same seed gives the same bytes" "$T/lc.train.tps" "$T/again.train.tps"
tabpipe-ingest -q --target Class --positive bad --split 70/15/15 --seed 8 --out "$T/other" "$DATA/lending_club.csv"
differ "another seed gives another split" "$T/lc.train.tps" "$T/other.train.tps"
tabpipe-ingest -q --target Class --positive bad --split 70/15/15 --seed 7 --out "$T/piped" - <"$DATA/lending_club.csv"
same "standard input gives the same bytes as the file" "$T/lc.test.tps" "$T/piped.test.tps"
run_status "-q silences the counts" 0 tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/all.tps" "$DATA/lending_club.csv"
yes_that "nothing on stderr with -q" test ! -s "$T/err"

# An encoding applied to new data: unseen categories are counted.
printf '%s\n' "$(head -n 1 "$DATA/lending_club.csv")" >"$T/new.csv"
sed -n '2,50p' "$DATA/lending_club.csv" | sed 's/"CT"/"ZZ"/; s/"MN"/"ZZ"/' >>"$T/new.csv"
run_status "apply a saved encoding" 0 tabpipe-ingest --encoding "$T/enc.json" -o "$T/new.tps" "$T/new.csv"
run_status "--encoding with --target is a usage error" 64 tabpipe-ingest --encoding "$T/enc.json" --target Class -o "$T/x.tps" "$T/new.csv"
tabpipe-validate "$T/new.tps" >"$T/new.json" 2>/dev/null
yes_that "validate counts the unseen states" grep -q '"unseen_rate":	0.0[0-9]' "$T/new.json"

# Bad rows: the first stops the run with file, line and column. Column a
# is numeric: all but one of its values are numbers.
{
	echo "a,b,y"
	i=0
	while [ $i -lt 30 ]; do
		echo "$i,x,$((i % 2))"
		i=$((i + 1))
	done
	echo "12abc,z,0"
	echo "30,y"
	echo "31,x,0"
} >"$T/bad.csv"
run_status "a bad number stops ingest with 65" 65 tabpipe-ingest --target y -o "$T/bad.tps" "$T/bad.csv"
err_has "the bad number is placed" "$T/bad.csv:32: column 1 (a): \"12abc\" is not a number"
yes_that "no output left behind" test ! -e "$T/bad.tps"
run_status "two bad rows with --max-rejects 1 exit 65" 65 tabpipe-ingest --target y --max-rejects 1 -o "$T/bad.tps" "$T/bad.csv"
err_has "the limit is named" "more than 1 row rejected"
err_has "the row over the limit is placed" "$T/bad.csv:33: expected 3 fields, found 2"
run_status "--max-rejects 2 skips both" 0 tabpipe-ingest --target y --max-rejects 2 --rejects "$T/rejects.csv" -o "$T/bad.tps" "$T/bad.csv"
err_has "the counts say 2 rejected" "33 rows read, 2 rejected, 31 written"
err_has "each rejected row is reported" "rejected: $T/bad.csv:32:"
printf '12abc,z,0\n30,y\n' >"$T/want-rejects.csv"
same "rejected rows are kept verbatim" "$T/want-rejects.csv" "$T/rejects.csv"
tabpipe-cat "$T/bad.tps" >"$T/bad-back.csv"
grep -v -e 12abc -e '^30,y$' "$T/bad.csv" >"$T/want-back.csv"
same "the good rows come back" "$T/want-back.csv" "$T/bad-back.csv"

# CSV syntax errors name the line.
printf 'a,y\n"1,0\n' >"$T/open.csv"
run_status "an unclosed quote exits 65" 65 tabpipe-ingest --target y -o "$T/x.tps" "$T/open.csv"
err_has "it is placed" "$T/open.csv:2: quoted field not closed"
printf 'a,y\n1,0\n2x"y,1\n' >"$T/quote.csv"
run_status "a stray quote exits 65" 65 tabpipe-ingest --target y -o "$T/x.tps" "$T/quote.csv"
err_has "it is placed" "$T/quote.csv:3: field 1: quote inside an unquoted field"
: >"$T/empty.csv"
run_status "an empty file exits 65" 65 tabpipe-ingest -o "$T/x.tps" "$T/empty.csv"
err_has "it says so" "no header line"

# A schema file gives kinds; ids are kept.
printf 'id,code,amount,y\n10,1,5.5,no\n11,2,6.5,yes\n12,1,NA,no\n' >"$T/s.csv"
printf '{"target": "y", "positive": "yes", "columns": {"code": "categorical"}}\n' >"$T/schema.json"
run_status "a schema file is used" 0 tabpipe-ingest --schema "$T/schema.json" --fit "$T/s-enc.json" -o "$T/s.tps" "$T/s.csv"
yes_that "code is categorical" grep -q '"categorical"' "$T/s-enc.json"
tabpipe-cat "$T/s.tps" >"$T/s-back.csv"
printf 'id,code,amount,y\n10,1,5.5,no\n11,2,6.5,yes\n12,1,NA,no\n' >"$T/s-want.csv"
same "ids, categories, numbers and missing come back" "$T/s-want.csv" "$T/s-back.csv"

# Outputs that are not plain files are written in place, never replaced.
run_status "ingest -o /dev/null" 0 tabpipe-ingest -q --encoding "$T/enc.json" -o /dev/null "$DATA/lending_club.csv"
yes_that "/dev/null is still a device" test -c /dev/null
mkfifo "$T/fifo"
cat "$DATA/lending_club.csv" >"$T/fifo" &
run_status "a pipe as the input of --encoding" 0 tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/fifo.tps" "$T/fifo"
wait
run_status "--rejects - with the stream on standard output is refused" 64 tabpipe-ingest --target y --max-rejects 2 --rejects - "$T/bad.csv"

# A third value of the target is a bad row like any other.
printf 'a,y\n1,no\n2,yes\n3,maybe\n4,no\n' >"$T/three.csv"
run_status "a third target value stops the run" 65 tabpipe-ingest --target y --positive yes -o "$T/x.tps" "$T/three.csv"
err_has "it is placed" "$T/three.csv:4: column 2 (y): \"maybe\" is neither label"
run_status "and can be skipped" 0 tabpipe-ingest --target y --positive yes --max-rejects 1 -o "$T/x.tps" "$T/three.csv"

# The fit's errors name the file, and the header's line where it has one.
run_status "an unknown target column is placed" 64 tabpipe-ingest --target Nope -o "$T/x.tps" "$DATA/lending_club.csv"
err_has "at the header's line" "$DATA/lending_club.csv:1: target column \"Nope\" is not in the header"
run_status "a target without --positive is placed" 64 tabpipe-ingest --target Class -o "$T/x.tps" "$DATA/lending_club.csv"
err_has "at the first value that is neither 0 nor 1" "$DATA/lending_club.csv:2: column 23 (Class): target value \"good\" is neither 0 nor 1"
printf 'a,y\n1,good\n2,good\n' >"$T/one.csv"
run_status "a single class that is not the positive one exits 64" 64 tabpipe-ingest --target y --positive bad -o "$T/x.tps" "$T/one.csv"
err_has "the file is named" "$T/one.csv: positive label \"bad\" is not a value of target \"y\" (\"good\")"

# Fitting on no rows is an error.
printf 'a,y\n' >"$T/head.csv"
run_status "a header alone cannot be fitted" 65 tabpipe-ingest --target y --positive bad --fit "$T/head.json" -o "$T/x.tps" "$T/head.csv"
err_has "it says so" "$T/head.csv: no data rows to fit an encoding on"
yes_that "no encoding is saved" test ! -e "$T/head.json"

# Text that JSON and C strings cannot keep is a bad value, placed.
printf 'a,Class\nx,bad\nx\0y,good\n' >"$T/nul.csv"
run_status "a NUL byte in a value exits 65" 65 tabpipe-ingest --target Class --positive bad --fit "$T/nul.json" -o "$T/x.tps" "$T/nul.csv"
err_has "it is placed" "$T/nul.csv:3: column 1 (a): the value holds a NUL byte (byte 2)"
yes_that "no encoding is saved" test ! -e "$T/nul.json"
printf 'a,Class\nx,bad\ncaf\351,good\n' >"$T/latin1.csv"
run_status "a value that is not UTF-8 exits 65" 65 tabpipe-ingest --target Class --positive bad -o "$T/x.tps" "$T/latin1.csv"
err_has "it is placed" "$T/latin1.csv:3: column 1 (a): the value is not UTF-8 (byte 4 is 0xe9)"
printf 'caf\351,Class\nx,bad\n' >"$T/latin1-head.csv"
run_status "a name that is not UTF-8 exits 65" 65 tabpipe-ingest --target Class --positive bad -o "$T/x.tps" "$T/latin1-head.csv"
err_has "it is placed" "$T/latin1-head.csv:1: column 1: the name is not UTF-8 (byte 4 is 0xe9)"
printf 'ville,Class\nK\303\270benhavn,bad\nZ\303\274rich,good\n' >"$T/utf8.csv"
run_status "UTF-8 values are fitted" 0 tabpipe-ingest -q --target Class --positive bad --fit "$T/utf8.json" -o "$T/utf8.tps" "$T/utf8.csv"
yes_that "and kept as text in the encoding" test "$(jq -r '.columns[0].vocabulary[0]' "$T/utf8.json")" = "$(printf 'K\303\270benhavn')"

# Numbers near the largest double: an encoding that reads back, a stream
# whose CSV ingests again to the same bytes, and a number too far from
# the fitted ones is a bad value.
printf 'a,y\n1,0\n1e155,1\n-1e155,0\n2,1\n' >"$T/big.csv"
run_status "a number near 1e155 is fitted" 0 tabpipe-ingest -q --target y --fit "$T/big.json" -o "$T/big.tps" "$T/big.csv"
yes_that "its encoding holds a finite std" jq -e '.columns[0].std | isinfinite | not' "$T/big.json"
run_status "and reads back" 0 tabpipe-ingest --encoding "$T/big.json" -o "$T/x.tps" "$T/big.csv"
run_status "its stream is written back as CSV" 0 tabpipe-cat "$T/big.tps"
cp "$T/out" "$T/big-back.csv"
tabpipe-ingest -q --encoding "$T/big.json" -o "$T/big-again.tps" "$T/big-back.csv"
same "which ingests again to the same stream" "$T/big.tps" "$T/big-again.tps"
# A constant column of huge values: its mean is far beyond its spread.
printf 'c,y\n8802222222222222222222222222222222222222222222200,0\n8802222222222222222222222222222222222222222222200,1\n' >"$T/flat.csv"
tabpipe-ingest -q --target y --fit "$T/flat.json" -o "$T/flat.tps" "$T/flat.csv"
tabpipe-cat "$T/flat.tps" >"$T/flat-back.csv"
run_status "a constant huge column written back ingests again" 0 \
	tabpipe-ingest -q --encoding "$T/flat.json" -o "$T/flat-again.tps" "$T/flat-back.csv"
same "to the same stream" "$T/flat.tps" "$T/flat-again.tps"
printf 'a,y\n1,0\n2,1\n3,0\n' >"$T/small.csv"
tabpipe-ingest -q --target y --fit "$T/small.json" -o "$T/x.tps" "$T/small.csv"
printf 'a,y\n2,0\n1e300,1\n' >"$T/far.csv"
run_status "a number out of the encoding's range exits 65" 65 tabpipe-ingest --encoding "$T/small.json" -o "$T/x.tps" "$T/far.csv"
err_has "it is placed" "$T/far.csv:3: column 1 (a): \"1e300\" is out of the range the encoding can store"
run_status "and can be skipped" 0 tabpipe-ingest --encoding "$T/small.json" --max-rejects 1 -o "$T/x.tps" "$T/far.csv"

# New applications come without the target: read unlabelled.
sed 's/,[^,]*$//' "$T/new.csv" >"$T/unlabelled.csv"
run_status "an encoding applies to data without its target" 0 tabpipe-ingest --encoding "$T/enc.json" -o "$T/unlabelled.tps" "$T/unlabelled.csv"
tabpipe-cat "$T/unlabelled.tps" | sed 's/,[^,]*$//' | tail -n +2 >"$T/unlabelled-back.csv"
tabpipe-cat "$T/new.tps" | sed 's/,[^,]*$//' | tail -n +2 >"$T/labelled-back.csv"
yes_that "its rows come back" test "$(wc -l <"$T/unlabelled-back.csv")" -eq 49
same "as those of the labelled data" "$T/labelled-back.csv" "$T/unlabelled-back.csv"
labelled=$(tabpipe-cat "$T/unlabelled.tps" | tail -n +2 | grep -vc ',NA$')
yes_that "every label is missing" test "$labelled" -eq 0
