#!/bin/sh
# tabpipe-predict end to end: streams and CSV, the formats, serving with
# reloads on SIGHUP and on promotion, and predictions logged in the
# throwaway PostgreSQL server of scripts/pg-server (TABPIPE_DB); then on a
# server of the test's own that goes away and comes back, the spool.
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
db=$TABPIPE_DB
q() { psql "$db" -qAtc "$1"; }
# Untracked unless a test says --db, so that the files stay plain files.
unset TABPIPE_DB

# wait_until CMD...: waits up to $wait_tenths tenths of a second (20 s)
# for CMD to succeed.
wait_tenths=200
wait_until() {
	i=0
	while [ $i -lt "$wait_tenths" ] && ! "$@" >/dev/null 2>&1; do
		sleep 0.1
		i=$((i + 1))
	done
}

# wait_for FILE TEXT: waits as long for FILE to hold TEXT.
wait_for() { wait_until grep -qF -- "$2" "$1"; }

# wait_lines FILE N: waits up to 20 s for FILE to have N lines.
has_lines() { [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
wait_lines() { wait_until has_lines "$1" "$2"; }

# end_server NAME [STATUS]: closes the requests' pipe and checks that the
# server ends with STATUS (0); kills it after 20 s.
end_server() {
	exec 3>&-
	wait_until not_running
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		not_ok "$1 (still running)"
	fi
	wait "$pid"
	got=$?
	if [ "$got" -eq "${2:-0}" ]; then ok "$1"; else not_ok "$1 (exit $got)"; fi
}
not_running() { ! kill -0 "$pid"; }

small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 2"
tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
for s in 5 6; do
	# shellcheck disable=SC2086 # $small holds several options
	tabpipe-train -q $small --seed $s --valid "$T/cd.valid.tps" \
		-o "$T/m$s.safetensors" "$T/cd.train.tps"
done
a=$T/m5.safetensors b=$T/m6.safetensors
# The test rows as CSV (no id column: ids are record numbers), and as a
# stream of the model's encoding made from that CSV.
tabpipe-cat "$T/cd.test.tps" >"$T/test.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/test.tps" "$T/test.csv"
rows=$(($(wc -l <"$T/test.csv") - 1))

run_status "--help exits 0" 0 tabpipe-predict --help
out_has "--help prints usage" "usage: tabpipe-predict"
run_status "-V exits 0" 0 tabpipe-predict -V
run_status "no -m exits 64" 64 tabpipe-predict "$T/test.tps"
run_status "an unknown format exits 64" 64 tabpipe-predict --format xml -m "$a" "$T/test.tps"
run_status "--serve with a file exits 64" 64 tabpipe-predict --serve -m "$a" "$T/test.tps"
run_status "--log without a database exits 64" 64 tabpipe-predict --log -m "$a" "$T/test.tps"
run_status "a reference without a database exits 64" 64 tabpipe-predict -m loans@production "$T/test.tps"
run_status "a missing model exits 66" 66 tabpipe-predict -m "$T/none.safetensors" "$T/test.tps"
run_status "a missing input exits 66" 66 tabpipe-predict -m "$a" "$T/none.tps"
run_status "an unreachable database exits 69" 69 tabpipe-predict --db "host=$T/nowhere connect_timeout=2" -m "$a" "$T/test.tps"

# A stream.
run_status "predict a stream" 0 tabpipe-predict -m "$a" "$T/test.tps"
cp "$T/out" "$T/stream.csv"
yes_that "a header, then a line a row" test "$(wc -l <"$T/stream.csv")" = $((rows + 1))
yes_that "the header is id,probability,label" test "$(head -n 1 "$T/stream.csv")" = "id,probability,label"
yes_that "ids are the stream's, in order" test "$(tail -n +2 "$T/stream.csv" | cut -d, -f1 | tr '\n' ' ')" = "$(seq 1 "$rows" | tr '\n' ' ')"
err_has "a summary" "scored $rows rows"
thr=$(head -c 4096 "$a" | grep -ao '"threshold":"[^"]*"' | cut -d'"' -f4)
yes_that "label is 1 exactly when p >= the model's threshold" test "$(tail -n +2 "$T/stream.csv" | awk -F, -v t="$thr" '($2 >= t) != $3' | wc -l)" = 0
yes_that "both labels occur" test "$(tail -n +2 "$T/stream.csv" | cut -d, -f3 | sort -u | tr -d '\n')" = 01
tabpipe-predict -q -m "$a" "$T/cd.test.tps" >"$T/split.csv"
yes_that "the split's stream, with its own ids, gives the same probabilities" \
	test "$(cut -d, -f2,3 "$T/split.csv")" = "$(cut -d, -f2,3 "$T/stream.csv")"
tabpipe-predict -q -m "$a" <"$T/test.tps" >"$T/stdin.csv"
same "a stream from standard input" "$T/stream.csv" "$T/stdin.csv"

# CSV, encoded with the model's encoding.
run_status "predict CSV" 0 tabpipe-predict --csv -m "$a" "$T/test.csv"
same "CSV and the stream made from it give the same bytes" "$T/stream.csv" "$T/out"
cut -d, -f2- "$T/test.csv" >"$T/notarget.csv"
tabpipe-predict -q --csv -m "$a" <"$T/notarget.csv" >"$T/notarget.out"
same "CSV without the target, from standard input" "$T/stream.csv" "$T/notarget.out"
awk -F, -v OFS=, 'NR == 4 { $2 = "abc" } 1' "$T/test.csv" >"$T/bad.csv"
run_status "a bad CSV row exits 65" 65 tabpipe-predict --csv -m "$a" "$T/bad.csv"
err_has "it names file, line and column" "bad.csv:4: column 2 (Seniority): \"abc\" is not a number"
sed '1s/Seniority/Seniorty/' "$T/test.csv" >"$T/badhead.csv"
run_status "a CSV header of other columns exits 65" 65 tabpipe-predict --csv -m "$a" "$T/badhead.csv"
err_has "it names the column" "the encoding expects \"Seniority\""

# JSON lines: the same predictions.
run_status "--format jsonl" 0 tabpipe-predict --format jsonl -m "$a" "$T/test.tps"
yes_that "one object a line" test "$(head -n 1 "$T/out")" = "{\"id\":1,\"probability\":$(sed -n 2p "$T/stream.csv" | cut -d, -f2),\"label\":$(sed -n 2p "$T/stream.csv" | cut -d, -f3)}"
yes_that "the same predictions as CSV" test "$(sed -E 's/^\{"id":([0-9]+),"probability":([^,]+),"label":([01])\}$/\1,\2,\3/' "$T/out")" = "$(tail -n +2 "$T/stream.csv")"

# Streams of another encoding, damaged streams, output errors.
tabpipe-ingest -q --target Status --positive bad --split 60/40 --seed 3 --min-count 5 \
	--out "$T/other" "$DATA/credit_data.csv"
run_status "a stream of another encoding exits 65" 65 tabpipe-predict -m "$a" "$T/other.test.tps"
err_has "it says why" "ingest the data with the model's encoding"
yes_that "and prints nothing" test ! -s "$T/out"
head -c 3000 "$T/test.tps" >"$T/cut.tps"
run_status "a cut stream exits 65" 65 tabpipe-predict -m "$a" "$T/cut.tps"
run_status "a stream given as CSV exits 65" 65 tabpipe-predict --csv -m "$a" "$T/test.tps"
# shellcheck disable=SC2016 # expanded by the inner shell
run_status "a full disk exits 74" 74 sh -c 'tabpipe-predict -m "$1" "$2" >/dev/full' sh "$a" "$T/test.tps"
run_status "a stream given as the model exits 65" 65 tabpipe-predict -m "$T/test.tps" "$T/test.tps"

# Serving: one line in, one line out, and errors do not stop it. Requests
# follow the serving contract: every feature of the model is a key, null
# for a missing value, and a key the model does not know is refused.
# The model's features: the CSV's columns but the target.
features=$(head -n 1 "$T/test.csv" | tr ',' '\n' | grep -vx Status | tr '\n' ' ')
yes_that "which are the encoding's features" test "$features" = "$(jq -r '.columns[]
	| select(.kind == "numeric" or .kind == "categorical") | .name' "$T/enc.json" | tr '\n' ' ')"

# request [NAME VALUE]...: one request line of every feature, null, but for
# the members given: VALUE, as JSON text, in NAME's place, or no member
# NAME when VALUE is empty; a NAME that is no feature (the id, or a key the
# model does not know) comes first, in the order given.
request() {
	awk -v features="$features" 'BEGIN {
		n = split(features, f, " ")
		for (i = 1; i <= n; i++)
			feature[f[i]] = 1
		line = ""
		for (i = 1; i + 1 < ARGC; i += 2) {
			given[ARGV[i]] = 1
			value[ARGV[i]] = ARGV[i + 1]
			if (!(ARGV[i] in feature))
				line = line ", \"" ARGV[i] "\": " ARGV[i + 1]
		}
		for (i = 1; i <= n; i++) {
			if (!(f[i] in given))
				line = line ", \"" f[i] "\": null"
			else if (value[f[i]] != "")
				line = line ", \"" f[i] "\": " value[f[i]]
		}
		print "{" substr(line, 3) "}"
		exit
	}' "$@"
}

req=$(awk -F, 'NR == 1 { for (i = 2; i <= NF; i++) h[i] = $i }
	NR == 2 { printf "{\"id\": 41"; for (i = 2; i <= NF; i++) {
		v = ($i ~ /^-?[0-9.]+$/) ? $i : "\"" $i "\""; printf ", \"%s\": %s", h[i], v }
		print "}" }' "$T/test.csv")
{
	printf '%s\n' "$req" '{"Seniority": '
	request Salary 1
	request Seniority '"nine"'
	request Home '["rent"]'
	request Seniority 9 Home '"castle"'
	echo
	request
	# Partial requests, as the lenient reading took them: refused.
	echo '{"Seniority": 9, "Home": "castle"}'
	request Seniority 9 Age ''
	echo '{}'
	# Wrong types and bad values, of features and of the id.
	request Records true
	request Age '{"years": 30}'
	request Income 1e300
	request Seniority '""'
	request id 1.5
	request id true
	request id 9223372036854775808
	# The target is accepted and not used; a key given twice is not JSON.
	request Status '"bad"'
	request Home '"rent"' | sed 's/"Home": "rent"/&, "Home": "owner"/'
	echo '[1]'
} >"$T/requests"
run_status "serve an empty input" 0 tabpipe-predict --serve -m "$a" </dev/null
yes_that "which has no answer" test ! -s "$T/out"
err_has "and no request" "served 0 requests"

# Ids: exact 64-bit integers, or strings given back as written.
{
	request id 9007199254740993 Seniority 9
	request id 1234567890123456789
	request id '"req-7"'
	request id '"0042"'
	echo null
	request id -9223372036854775808
} >"$T/ids"
run_status "serve requests of every kind of id" 0 tabpipe-predict --serve -m "$a" <"$T/ids"
yes_that "every request is answered" test "$(wc -l <"$T/out")" = 6
yes_that "an id past 2^53 comes back exact" test "$(sed -n 1p "$T/out" | cut -d, -f1)" = '{"id":9007199254740993'
yes_that "and any 64-bit one" test "$(sed -n 2p "$T/out" | cut -d, -f1)" = '{"id":1234567890123456789'
yes_that "a string id comes back as given" test "$(sed -n 3p "$T/out" | cut -d, -f1)" = '{"id":"req-7"'
yes_that "digits in a string too" test "$(sed -n 4p "$T/out" | cut -d, -f1)" = '{"id":"0042"'
yes_that "a null request is said to be null, of the wrong type" test "$(sed -n 5p "$T/out")" = \
	'{"error":"a request is one JSON object of feature values, found null","code":"wrong_type"}'
yes_that "the smallest id" test "$(sed -n 6p "$T/out" | cut -d, -f1)" = '{"id":-9223372036854775808'
err_has "a summary of the ids' requests" "served 6 requests (1 with errors)"

# answer N: the last run's Nth answer (a blank request line has none).
answer() { sed -n "$1p" "$T/out"; }
run_status "serve a file's model" 0 tabpipe-predict --serve -m "$a" <"$T/requests"
yes_that "one answer a request, blank lines skipped" test "$(wc -l <"$T/out")" = 20
yes_that "a request scores as its CSV row does" test "$(answer 1)" = \
	"{\"id\":41,\"probability\":$(sed -n 2p "$T/stream.csv" | cut -d, -f2),\"label\":$(sed -n 2p "$T/stream.csv" | cut -d, -f3)}"
yes_that "bad JSON gets an error line with its code" test "$(answer 2)" = \
	'{"error":"not JSON: byte 14","code":"bad_json"}'
yes_that "an unknown key is refused and named" test "$(answer 3)" = \
	'{"error":"unknown column \"Salary\"","code":"unknown_field","field":"Salary"}'
yes_that "a numeric feature refuses a word, a bad value" test "$(answer 4)" = \
	'{"error":"column \"Seniority\": \"nine\" is not a number","code":"bad_value","field":"Seniority"}'
yes_that "a value of the wrong type" test "$(answer 5)" = \
	'{"error":"column \"Home\": expected a string, found an array","code":"wrong_type","field":"Home"}'
yes_that "an unseen category and null values are scored" test "$(answer 6 | cut -c1-22)" = '{"id":6,"probability":'
yes_that "a request of every feature null is scored, its id the line number" test "$(answer 7 | cut -c1-22)" = '{"id":8,"probability":'
yes_that "a request without every feature is refused, naming the first missing" test "$(answer 8)" = \
	'{"error":"column \"Time\" is missing: every feature is given, null when its value is missing","code":"missing_field","field":"Time"}'
yes_that "one feature left out is named" test "$(answer 9)" = \
	'{"error":"column \"Age\" is missing: every feature is given, null when its value is missing","code":"missing_field","field":"Age"}'
yes_that "an empty request misses the first feature" test "$(answer 10)" = \
	'{"error":"column \"Seniority\" is missing: every feature is given, null when its value is missing","code":"missing_field","field":"Seniority"}'
yes_that "a boolean is of the wrong type" test "$(answer 11)" = \
	'{"error":"column \"Records\": expected a string, found a boolean","code":"wrong_type","field":"Records"}'
yes_that "an object too" test "$(answer 12)" = \
	'{"error":"column \"Age\": expected a number, found an object","code":"wrong_type","field":"Age"}'
yes_that "a number out of the encoding's range is a bad value" test "$(answer 13 | sed 's/ (mean.*"code"/ "code"/')" = \
	'{"error":"column \"Income\": 1e+300 is out of the range the encoding can store "code":"bad_value","field":"Income"}'
yes_that "an empty string is no number" test "$(answer 14)" = \
	'{"error":"column \"Seniority\": \"\" is not a number","code":"bad_value","field":"Seniority"}'
yes_that "an id that is not an integer is a bad value" test "$(answer 15)" = \
	'{"error":"\"id\": 1.5 is not an integer","code":"bad_value","field":"id"}'
yes_that "an id of the wrong type" test "$(answer 16)" = \
	'{"error":"\"id\": an id is an integer or a string, found a boolean","code":"wrong_type","field":"id"}'
yes_that "an id past 64 bits is a bad value" test "$(answer 17)" = \
	'{"error":"\"id\": 9223372036854775808 is out of range: an id is a 64-bit integer","code":"bad_value","field":"id"}'
yes_that "the target is taken and not used" test "$(answer 18 | cut -d, -f2-)" = "$(answer 7 | cut -d, -f2-)"
yes_that "a key given twice is not JSON" test "$(answer 19)" = \
	'{"error":"column \"Home\" is given twice","code":"bad_json","field":"Home"}'
yes_that "an array is not a request" test "$(answer 20)" = \
	'{"error":"a request is one JSON object of feature values, found an array","code":"wrong_type"}'
yes_that "every error line has a code" test "$(grep -c '"error":.*"code":"[a-z_]*"' "$T/out")" = 16
err_has "a summary at the end" "served 20 requests (16 with errors)"
scored=$(answer 1)
# A line longer than 1 MiB is too large, and the next request is answered.
{
	printf '{"Seniority": "'
	head -c 1100000 /dev/zero | tr '\0' 9
	printf '"}\n'
	request
} >"$T/long"
run_status "serve a request too long" 0 tabpipe-predict --serve -m "$a" <"$T/long"
yes_that "is answered with an error line, too large" test "$(answer 1)" = \
	'{"error":"a request is longer than 1048576 bytes","code":"too_large"}'
yes_that "and the next request is scored" test "$(answer 2 | cut -c1-22)" = '{"id":2,"probability":'
err_has "both counted" "served 2 requests (1 with errors)"

# SIGHUP reloads the file; a failed reload keeps the model serving.
cp "$a" "$T/live.safetensors"
printf '%s\n' "$req" >"$T/one"
tabpipe-predict -q --serve -m "$b" <"$T/one" >"$T/b.answer"
mkfifo "$T/pipe"
tabpipe-predict --serve -m "$T/live.safetensors" <"$T/pipe" >"$T/answers" 2>"$T/serve.err" &
pid=$!
exec 3>"$T/pipe"
echo "$req" >&3
wait_lines "$T/answers" 1
yes_that "the server answers at once" test "$(sed -n 1p "$T/answers")" = "$scored"
cp "$b" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.safetensors"
kill -HUP "$pid"
wait_for "$T/serve.err" "SIGHUP: reloaded"
echo "$req" >&3
wait_lines "$T/answers" 2
yes_that "after SIGHUP it answers with the new file" test "$(sed -n 2p "$T/answers")" = "$(cat "$T/b.answer")"
echo "not a model" >"$T/live.safetensors"
kill -HUP "$pid"
wait_for "$T/serve.err" "reload failed"
echo "$req" >&3
wait_lines "$T/answers" 3
yes_that "a failed reload is said on stderr" grep -q "SIGHUP: reload failed, still serving" "$T/serve.err"
yes_that "and the old model goes on serving" test "$(sed -n 3p "$T/answers")" = "$(cat "$T/b.answer")"
end_server "the end of the requests ends the server with 0"

# The registry: a reference, reloaded when another version is promoted,
# with every prediction logged.
for s in 5 6; do
	# shellcheck disable=SC2086
	tabpipe-train -q --db "$db" $small --seed $s --name loans \
		--valid "$T/cd.valid.tps" -o "$T/reg$s.safetensors" "$T/cd.train.tps"
done
q "UPDATE model_versions SET stage = 'Production' WHERE version = 1" >/dev/null
: >"$T/answers"
: >"$T/serve.err"
tabpipe-predict --db "$db" --serve -m loans@production <"$T/pipe" >"$T/answers" 2>"$T/serve.err" &
pid=$!
exec 3>"$T/pipe"
echo "$req" >&3
wait_lines "$T/answers" 1
yes_that "a reference serves its version" grep -q '"version":1}$' "$T/answers"
q "BEGIN; UPDATE model_versions SET stage = 'Archived' WHERE version = 1; UPDATE model_versions SET stage = 'Production' WHERE version = 2; COMMIT" >/dev/null
wait_for "$T/serve.err" "a new Production version: reloaded"
echo "$req" >&3
wait_lines "$T/answers" 2
yes_that "a promotion switches the server to the new version" test "$(sed -n 2p "$T/answers")" = "$(sed 's/}$/,"version":2}/' "$T/b.answer")"
echo '{"Seniority": [' >&3
echo '{"Seniority": 9}' >&3
wait_lines "$T/answers" 4
yes_that "a partial request is refused by the new version too" test "$(sed -n 4p "$T/answers")" = \
	'{"error":"column \"Home\" is missing: every feature is given, null when its value is missing","code":"missing_field","field":"Home"}'
end_server "the registry's server ends with 0"
run=$(q "SELECT max(id) FROM runs WHERE tool = 'predict'")
yes_that "serving is a finished predict run" test "$(q "SELECT status FROM runs WHERE id = $run")" = finished
yes_that "every answer is logged, errors are not" test "$(q "SELECT count(*) FROM predictions WHERE run_id = $run")" = 2
yes_that "with the request's features" test "$(q "SELECT features->>'Home' FROM predictions WHERE run_id = $run LIMIT 1")" = "$(sed -n 2p "$T/test.csv" | cut -d, -f3)"
yes_that "and the model of each answer" test "$(q "SELECT count(DISTINCT model_sha256) FROM predictions WHERE run_id = $run")" = 2
yes_that "the run's result counts the reload" test "$(q "SELECT result->>'reloads' FROM runs WHERE id = $run")" = 1
yes_that "and the requests, the refused among them" test "$(q "SELECT (result->>'requests') || ' ' || (result->>'errors') FROM runs WHERE id = $run")" = "4 2"
yes_that "as its summary says" grep -qF "served 4 requests (2 with errors)" "$T/serve.err"

tabpipe-predict -q --db "$db" --serve -m "$a" <"$T/ids" >/dev/null
run=$(q "SELECT max(id) FROM runs WHERE tool = 'predict'")
yes_that "the log keeps the ids exact" test "$(q "SELECT string_agg(row_id::text, ' ' ORDER BY row_id) FROM predictions WHERE run_id = $run")" = \
	"-9223372036854775808 3 42 9007199254740993 1234567890123456789"
yes_that "and the requests with them" test "$(q "SELECT string_agg(features->>'id', ' ' ORDER BY row_id) FROM predictions WHERE run_id = $run")" = \
	"-9223372036854775808 req-7 0042 9007199254740993 1234567890123456789"
yes_that "whole, the null values included" test "$(q "SELECT count(*) FROM predictions WHERE run_id = $run AND features->'Price' = 'null'::jsonb")" = 5

run_status "--log records a batch" 0 tabpipe-predict --db "$db" --log -m loans@production "$T/test.tps"
run=$(q "SELECT max(id) FROM runs WHERE tool = 'predict'")
yes_that "one row a prediction" test "$(q "SELECT count(*) FROM predictions WHERE run_id = $run AND features IS NULL")" = "$rows"
p1=$(sed -n 2p "$T/out" | cut -d, -f2) l1=$(sed -n 2p "$T/out" | cut -d, -f3)
yes_that "as printed" test "$(q "SELECT count(*) FROM predictions WHERE run_id = $run AND row_id = 1 AND probability = '$p1'::real AND label = $l1")" = 1
yes_that "the run names the version" test "$(q "SELECT inputs->>'model_version' FROM runs WHERE id = $run")" = 2
run_status "without --log a batch logs nothing" 0 tabpipe-predict --db "$db" -m loans@production "$T/test.tps"
run=$(q "SELECT max(id) FROM runs WHERE tool = 'predict'")
yes_that "no predictions for that run" test "$(q "SELECT count(*) FROM predictions WHERE run_id = $run")" = 0
run_status "a reference to no version exits 66" 66 tabpipe-predict --db "$db" -m loans@staging "$T/test.tps"

# The database goes away and comes back, on a server of the test's own
# (which runs as another user when the tests run as root): every answer is
# logged once, none lost and none twice, the predictions waiting in the
# spool meanwhile.
pgserver=$(cd ../.. && pwd)/scripts/pg-server
pg=$T/pg
chmod 755 "$T"
db2=$(sh "$pgserver" start "$pg" 2>"$T/pg.err" | sed -n 's/^TABPIPE_DB=//p')
if [ -z "$db2" ]; then
	echo "not ok - a server of the test's own does not start"
	sed 's/^/#   /' "$T/pg.err"
	exit 1
fi
trap 'sh "$pgserver" stop "$pg" 2>/dev/null; rm -rf "$T"' EXIT
# A server that has ended is a failed check, not the test's end.
trap '' PIPE
q2() { psql "$db2" -qAtc "$1"; }
pg_stop() { sh "$pgserver" stop "$pg" 2>/dev/null; }
# The database server must not hold the requests' pipe open.
pg_start() {
	sh "$pgserver" start "$pg" >/dev/null 2>"$T/pg.err" 3>&- ||
		sed 's/^/# pg-server start failed: /' "$T/pg.err"
}
logged() { [ "$(q2 "SELECT count(*) FROM predictions")" -ge "$1" ]; }
spool=$T/spool
spool_empty() { [ -d "$spool" ] && [ -z "$(find "$spool" -type f)" ]; }

# serve_from MODEL [OPTION...]: a server of MODEL on the requests' pipe,
# logging in the test's server; its answers in $T/answers.
serve_from() {
	m=$1
	shift
	# Emptied here: the server's own shell opens them only once the pipe
	# is open at both ends, and what a former server wrote there must not
	# pass for this one's answers or words.
	: >"$T/answers"
	: >"$T/serve.err"
	tabpipe-predict --db "$db2" --serve -m "$m" "$@" <"$T/pipe" \
		>"$T/answers" 2>"$T/serve.err" &
	pid=$!
	exec 3>"$T/pipe"
}

# send FROM TO: the requests of ids FROM to TO.
send() {
	i=$1
	while [ "$i" -le "$2" ]; do
		request id "$i" Seniority $((i % 20)) Home '"rent"' >&3
		i=$((i + 1))
	done
}

serve_from "$a" --spool "$spool"
send 1 10
wait_until logged 10
yes_that "a server logs its answers" test "$(q2 "SELECT count(*) FROM predictions")" = 10
pg_stop
send 11 20
wait_lines "$T/answers" 20
wait_for "$T/serve.err" "kept in"
yes_that "and answers while the database is away" test "$(grep -c '"probability"' "$T/answers")" = 20
yes_that "saying where the predictions wait" grep -qF "kept in $spool/" "$T/serve.err"
yes_that "which the spool holds" test -n "$(find "$spool" -type f -name '[0-9]*-[0-9]*')"
pg_start
send 21 30
wait_lines "$T/answers" 30
end_server "once the database is back, the server ends with 0"
yes_that "every answer is logged" test "$(q2 "SELECT count(*) FROM predictions")" = 30
yes_that "once" test "$(q2 "SELECT count(DISTINCT row_id) FROM predictions")" = 30
answered=$(sed -E "s/^\\{\"id\":([0-9]+),\"probability\":([^,]+),.*/(\\1, real '\\2')/" "$T/answers" | paste -sd, -)
yes_that "as answered" test "$(q2 "SELECT count(*) FROM predictions p JOIN (VALUES $answered) a (id, probability) ON p.row_id = a.id AND p.probability = a.probability")" = 30
yes_that "the spool is empty" spool_empty
yes_that "its batches were sent as spooled" test "$(q2 "SELECT count(*) > 0 FROM prediction_batches WHERE spooled")" = t
yes_that "the run is finished" test "$(q2 "SELECT status FROM runs WHERE tool = 'predict'")" = finished
yes_that "and says what it logged" test "$(q2 "SELECT result->>'logged' FROM runs WHERE tool = 'predict'")" = 30
yes_that "the server said it reconnected" grep -q "database: reconnected" "$T/serve.err"
yes_that "and that it served every request" grep -qF "served 30 requests (0 with errors)" "$T/serve.err"

# A server that ends with the database away leaves its predictions in the
# spool and its run running; the next run sends them, and the next tool
# marks that run failed.
serve_from "$a" --spool "$spool"
send 31 35
wait_until logged 35
run=$(q2 "SELECT max(id) FROM runs WHERE tool = 'predict'")
pg_stop
send 36 40
wait_lines "$T/answers" 5
end_server "a server that ends with predictions unsent exits 69" 69
cp "$T/serve.err" "$T/err"
err_has "it says how many wait, and where" "database: 5 predictions could not be sent: they wait in $spool/"
err_has "and that its run stays running" "run $run stays running until a tool on this host finds its process ended"
pg_start
yes_that "the run is left running" test "$(q2 "SELECT status FROM runs WHERE id = $run")" = running
TABPIPE_SPOOL=$spool run_status "the next run, with the spool of TABPIPE_SPOOL, sends them" 0 \
	tabpipe-predict --db "$db2" --serve -m "$a" </dev/null
yes_that "every answer is logged once" test "$(q2 "SELECT count(*) || ' ' || count(DISTINCT row_id) FROM predictions WHERE run_id = $run")" = "10 10"
yes_that "with the time each was made" test "$(q2 "SELECT count(*) FROM predictions WHERE run_id = $run AND predicted_at < (SELECT min(sent_at) FROM prediction_batches WHERE run_id = $run AND spooled)")" = 10
yes_that "the spool is empty again" spool_empty
yes_that "the run left running is marked failed" test "$(q2 "SELECT status || ': ' || error FROM runs WHERE id = $run")" = \
	"failed: the process ended without finishing its run"
next=$(q2 "SELECT max(id) FROM runs WHERE tool = 'predict'")
yes_that "the next run says what it sent" test "$(q2 "SELECT result->>'replayed' FROM runs WHERE id = $next")" = 5

# A server of a registry reference listens for promotions again once the
# database is back.
for s in 5 6; do
	# shellcheck disable=SC2086 # $small holds several options
	tabpipe-train -q --db "$db2" $small --seed $s --name loans \
		--valid "$T/cd.valid.tps" -o "$T/own$s.safetensors" "$T/cd.train.tps"
done
q2 "UPDATE model_versions SET stage = 'Production' WHERE version = 1" >/dev/null
serve_from loans@production --spool "$spool"
send 41 41
wait_lines "$T/answers" 1
pg_stop
wait_for "$T/serve.err" "connection lost"
pg_start
# The connection is made again by the log's next try, whose backoff
# doubled while the database was away, up to TP_PREDLOG_BACKOFF (60 s) on
# a slow machine.
wait_tenths=700
wait_for "$T/serve.err" "listening for promotions again"
wait_tenths=200
# What the server said, for the failures below to show.
server_said() { tail -n 10 "$T/serve.err" >"$T/err"; }
server_said
yes_that "a server of a reference listens again once reconnected" grep -q "listening for promotions again" "$T/serve.err"
q2 "BEGIN; UPDATE model_versions SET stage = 'Archived' WHERE version = 1; UPDATE model_versions SET stage = 'Production' WHERE version = 2; COMMIT" >/dev/null
wait_for "$T/serve.err" "a new Production version: reloaded"
send 42 42
wait_lines "$T/answers" 2
yes_that "and a promotion then reloads it" test "$(sed -n 2p "$T/answers" | sed 's/.*"version"://')" = "2}"
end_server "it ends with 0"
server_said
yes_that "both answers are logged" test "$(q2 "SELECT count(*) FROM predictions WHERE row_id IN (41, 42)")" = 2
