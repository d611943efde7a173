#!/bin/sh
# tabpipe-serve end to end, with curl on 127.0.0.1: every endpoint, whose
# predictions are those of tabpipe-predict --serve to the digit, and so
# are their reasons (?explain=k); every
# error with its status and JSON; tokens and the rate limit; reloads,
# SIGHUP and a promotion under load, with no request failed and none
# answered by a version that was not the one serving; SIGTERM's drain;
# and, with the throwaway PostgreSQL server of scripts/pg-server
# (TABPIPE_DB), every prediction logged once, also across a database that
# goes away under load and comes back, on a server of the test's own.
# Run from anywhere: run.sh runs it in its folder.
if [ "$(dirname "$0")" != . ]; then
	cd "$(dirname "$0")" || exit 70
	exec sh "./$(basename "$0")" "$@"
fi
. ./lib.sh

db=${TABPIPE_DB:-}
# A server logs to a database only when a test says --db.
unset TABPIPE_DB
q() { psql "$db" -qAtc "$1"; }
pgserver=$(cd ../.. && pwd)/scripts/pg-server
pg=$T/pg

# The servers and clients started here, ended by the trap whatever
# happens; the database server of the test's own stopped.
cleanup() {
	: >"$T/stop"
	# Only the jobs still running: the number of one that ended may now
	# be another process's.
	jobs -l >"$T/jobs"
	awk '{ for (i = 2; i <= NF; i++) if ($i == "Running") print $(i - 1) }' "$T/jobs" |
		while read -r p; do
			kill -9 "$p" 2>/dev/null
		done
	[ -d "$pg/data" ] && sh "$pgserver" stop "$pg" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 755 "$T"

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds, for
# at most SECONDS; fails if it never did.
wait_until() {
	n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# check NAME CMD...: CMD succeeds; otherwise the last answer is the
# evidence.
code=000
check() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		ok "$name"
	else
		echo "not ok - $name"
		echo "#   last answer: $code $(head -c 700 "$T/body" 2>/dev/null | tr '\n' ' ')"
	fi
}

# start NAME ARGS...: tabpipe-serve ARGS on a free port of 127.0.0.1, its
# standard error in $T/NAME.err; sets spid and url once it listens.
start() {
	sname=$1
	shift
	tabpipe-serve --listen 127.0.0.1:0 "$@" 2>"$T/$sname.err" &
	spid=$!
	port=
	wait_until 60 listening
	url=http://127.0.0.1:$port
	if [ -z "$port" ]; then
		echo "not ok - the server $sname listens"
		sed 's/^/#   stderr: /' "$T/$sname.err" | head -n 10
		return 1
	fi
}
listening() {
	port=$(sed -n 's|^tabpipe-serve: listening on https*://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$T/$sname.err" | head -n 1)
	[ -n "$port" ] || ! kill -0 "$spid" 2>/dev/null
}

# stop NAME [SIGNAL]: sends SIGNAL (TERM) to the server and checks that it
# ends with 0 within 60 s.
stop() {
	kill -"${2:-TERM}" "$spid" 2>/dev/null
	if ! wait_until 60 ended; then
		kill -9 "$spid"
		echo "not ok - $1 (still running after 60 s)"
	fi
	wait "$spid"
	got=$?
	if [ "$got" -eq 0 ]; then ok "$1"; else
		echo "not ok - $1 (exit $got)"
		sed 's/^/#   stderr: /' "$T/$sname.err" | tail -n 5
	fi
}
ended() { ! kill -0 "$spid" 2>/dev/null; }

# http METHOD PATH [CURL-OPTION...]: the answer's status in $code, its
# headers in $T/hdr, its body in $T/body.
http() {
	m=$1 path=$2
	shift 2
	rm -f "$T/hdr" "$T/body"
	code=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --max-time 30 \
		-X "$m" "$@" "$url$path")
	[ -f "$T/body" ] || : >"$T/body"
	[ -f "$T/hdr" ] || : >"$T/hdr"
}
# post PATH FILE [CURL-OPTION...]: POSTs FILE as JSON.
post() {
	path=$1 f=$2
	shift 2
	http POST "$path" -H 'Content-Type: application/json' --data-binary "@$f" "$@"
}
# header NAME: the value of the last answer's header NAME (of its final
# response, after a 100 Continue).
header() {
	awk -v h="$1" 'BEGIN { h = tolower(h) }
		{ sub(/\r$/, "") }
		/^HTTP\// { v = "" }
		{ i = index($0, ":") }
		i > 0 && tolower(substr($0, 1, i - 1)) == h {
			v = substr($0, i + 1); sub(/^[ \t]+/, "", v) }
		END { print v }' "$T/hdr"
}
# j FILTER: FILTER of the last answer's body, raw.
j() { jq -r "$1" "$T/body"; }
# eq A B
eq() { [ "$1" = "$2" ]; }
is_hex32() { printf '%s\n' "$1" | grep -qx '[0-9a-f]\{32\}'; }
# refused STATUS: the exit status of a server that refused to start (not
# 0, nor timeout's 124, nor a command that did not run).
refused() { [ "$1" -ne 0 ] && [ "$1" -lt 124 ]; }
# positive_eq A B: A > 0 and B = A.
positive_eq() { [ "$1" -gt 0 ] && [ "$2" = "$1" ]; }
seconds() { printf '%s\n' "$1" | grep -qx '[1-9][0-9]*'; }
# probs FILE, labels FILE: the members as written, in order.
probs() { grep -o '"probability": *[^ ,}]*' "$1" | sed 's/: */:/'; }
labels() { grep -o '"label": *[^ ,}]*' "$1" | sed 's/: */:/'; }

# is_error NAME STATUS CODE [FIELD [ITEM]]: the last answer is the error,
# with the JSON of the contract: status, code, a message, the field and the
# item when given (and no item when not), the request's id.
is_error() {
	check "$1: $2 $3" is_error_json "$2" "$3" "${4:-}" "${5:-}"
}
is_error_json() {
	[ "$code" = "$1" ] || return 1
	case $(header Content-Type) in application/json*) ;; *) return 1 ;; esac
	jq -e --argjson st "$1" --arg c "$2" --arg f "$3" --arg it "$4" \
		--arg rid "$(header X-Request-Id)" '
		.error.status == $st and .error.code == $c and
		(.error.message | type) == "string" and .request_id == $rid and
		(if $f == "" then true else .error.field == $f end) and
		(if $it == "" then (.error | has("item") | not)
		 else .error.item == ($it | tonumber) end)' "$T/body"
}

# The data: two models of the same encoding, and applications as the
# requests of both tabpipe-predict --serve and tabpipe-serve.
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 1"
tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
for s in 5 6; do
	# shellcheck disable=SC2086 # $small holds several options
	tabpipe-train -q $small --seed $s --valid "$T/cd.valid.tps" \
		-o "$T/m$s.safetensors" "$T/cd.train.tps"
done
a=$T/m5.safetensors b=$T/m6.safetensors
sha_a=$(sha256sum "$a" | cut -d' ' -f1)
sha_b=$(sha256sum "$b" | cut -d' ' -f1)
# 1000 applications, ids 1.., each with every feature (NA as null) and
# without the target.
tabpipe-cat "$T/cd.train.tps" | awk -F, 'NR == 1 { for (i = 2; i <= NF; i++) h[i] = $i; next }
	NR <= 1001 { printf "{\"id\":%d", NR - 1
		for (i = 2; i <= NF; i++) {
			if ($i == "NA") v = "null"
			else if ($i ~ /^-?[0-9]+(\.[0-9]+)?$/) v = $i
			else v = "\"" $i "\""
			printf ",\"%s\":%s", h[i], v }
		print "}" }' >"$T/apps"
sed -n 1p "$T/apps" >"$T/one.json"
# batch FILE N: the first N applications as one batch.
batch() { { printf '['; head -n "$2" "$T/apps" | paste -sd, -; printf ']'; } >"$1"; }
batch "$T/batch3.json" 3
batch "$T/batch20.json" 20
batch "$T/batch21.json" 21
batch "$T/batch1000.json" 1000
# What tabpipe-predict --serve answers to each application, by each model.
tabpipe-predict -q --serve -m "$a" <"$T/apps" >"$T/ref.a"
tabpipe-predict -q --serve -m "$b" <"$T/apps" >"$T/ref.b"
# ref MODEL LINES: the reference answers of lines LINES (as sed -n takes).
ref() { sed -n "$2p" "$T/ref.$1"; }
thr=$(head -c 4096 "$a" | grep -ao '"threshold":"[^"]*"' | cut -d'"' -f4)
fingerprint=$(head -c 4096 "$a" | grep -ao '"data_fingerprint":"[^"]*"' | cut -d'"' -f4)

tokens=$T/tokens
admin='admin-0123456789abcdef'
predict='predict-0123456789abcdef' other='other-0123456789abcdef'
printf '# the tokens of the test\n\nadmin ops %s\npredict app-1 %s\npredict app.2 %s\n' \
	"$admin" "$predict" "$other" >"$tokens"
chmod 600 "$tokens"

# Usage. Each run is bounded: a server that starts when it should not is
# ended by timeout (124).
run_status "--help exits 0" 0 timeout 30 tabpipe-serve --help
out_has "--help prints the usage" "usage: tabpipe-serve"
run_status "--version exits 0" 0 timeout 30 tabpipe-serve --version
run_status "no -m exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0
run_status "an unknown option exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --nope -m "$a"
timeout 30 tabpipe-serve --listen nowhere -m "$a" >"$T/out" 2>"$T/err"
got=$?
yes_that "--listen that is no address is refused (exit $got)" refused "$got"
run_status "--require-token without --tokens exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --require-token -m "$a"
run_status "--tls-cert without --tls-key exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --tls-cert "$T/enc.json" -m "$a"
run_status "--max-batch 0 exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --max-batch 0 -m "$a"
run_status "--max-explain 65 exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --max-explain 65 -m "$a"
run_status "--steps with --max-explain 0 exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --max-explain 0 --steps 8 -m "$a"
run_status "--steps 0 exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --steps 0 -m "$a"
printf 'feature,value,reason\nSalary,,Salary\n' >"$T/reasons.bad"
run_status "--reasons of a feature the model lacks exits 65" 65 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --reasons "$T/reasons.bad" -m "$a"
err_has "naming the file and line" "$T/reasons.bad:2"
run_status "--reasons that is not there exits 66" 66 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --reasons "$T/none.csv" -m "$a"
run_status "a reference without a database exits 64" 64 timeout 30 tabpipe-serve --listen 127.0.0.1:0 -m loans@production
run_status "a missing model exits 66" 66 timeout 30 tabpipe-serve --listen 127.0.0.1:0 -m "$T/none.safetensors"
run_status "a stream given as the model exits 65" 65 timeout 30 tabpipe-serve --listen 127.0.0.1:0 -m "$T/cd.test.tps"
# tokens_refused NAME STATUS FORMAT [ARG...]: a tokens file of the lines
# printf writes, mode 600, is refused with STATUS, its name said and no
# token.
tokens_refused() {
	tname=$1 tstatus=$2 fmt=$3
	shift 3
	# shellcheck disable=SC2059 # the lines are the format
	printf "$fmt" "$@" >"$T/tokens.bad"
	chmod 600 "$T/tokens.bad"
	run_status "$tname exits $tstatus" "$tstatus" timeout 30 tabpipe-serve --listen 127.0.0.1:0 --tokens "$T/tokens.bad" -m "$a"
	err_has "naming the file" "$T/tokens.bad"
	yes_that "and no token" test "$(grep -c 'tiny7\|-0123456789' "$T/err")" = 0
}
cp "$tokens" "$T/tokens644"
chmod 644 "$T/tokens644"
run_status "a tokens file others may read exits 66" 66 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --tokens "$T/tokens644" -m "$a"
err_has "naming the file" "$T/tokens644"
run_status "a tokens file that is not there exits 66" 66 timeout 30 tabpipe-serve --listen 127.0.0.1:0 --tokens "$T/none" -m "$a"
tokens_refused "a token under 16 characters" 65 'admin ops tiny7\n'
tokens_refused "an unknown role" 65 'root ops tiny7-0123456789abcdef\n'
tokens_refused "a name twice" 65 'admin ops %s\npredict ops %s\n' "$admin" "$predict"
tokens_refused "a token twice" 65 'admin ops %s\npredict app %s\n' "$admin" "$admin"
tokens_refused "no token" 65 '# none\n'

# A file's model, with tokens and small limits.
cp "$a" "$T/live.safetensors"
start live -m "$T/live.safetensors" --tokens "$tokens" --max-batch 20 \
	--max-body 16384 --threads 2 || exit 1

http GET /health/live
check "/health/live: 200 live" eq "$code $(j .status)" "200 live"
http GET /health/ready
check "/health/ready: 200 ready, with the model" eq "$code $(j .status) $(j .model.sha256)" "200 ready $sha_a"

http GET /metrics
cp "$T/body" "$T/metrics0"
# metric FILE NAME [LABEL...]: the value of NAME with those labels in a
# /metrics answer, 0 when absent.
metric() {
	awk -v n="$2" -v want="$(shift 2; printf '%s|' "$@")" '
		BEGIN { k = split(want, w, "|") }
		/^#/ { next }
		{ name = $1; sub(/\{.*/, "", name) }
		name != n { next }
		{ for (i = 1; i <= k; i++) if (w[i] != "" && index($1, w[i]) == 0) next
		  v = $NF; found = 1; exit }
		END { if (!found) print 0; else if (v + 0 == int(v + 0)) printf "%d\n", v; else print v }' "$1"
}

# One application.
post /v1/predict "$T/one.json"
cp "$T/body" "$T/single"
rid=$(header X-Request-Id)
check "a single prediction: 200" eq "$code" 200
check "as JSON" eq "$(header Content-Type | cut -d';' -f1)" application/json
check "its probability is tabpipe-predict --serve's, to the digit" eq "$(probs "$T/single")" "$(ref a 1 | probs /dev/stdin)"
check "and its label" eq "$(labels "$T/single")" "$(ref a 1 | labels /dev/stdin)"
check "and its id" eq "$(j .id)" 1
check "label 1 exactly when p >= the model's threshold" eq "$(j .label)" "$(awk -v p="$(j .probability)" -v t="$thr" 'BEGIN { print (p >= t) ? 1 : 0 }')"
check "the model: the file's name, no version, its SHA-256" eq "$(j '[.model.name, .model.version, .model.sha256] | map(tostring) | join(" ")')" "live null $sha_a"
check "no unseen member when none is unseen" jq -e 'has("unseen") | not' "$T/body"
check "a request id is made: 32 hex digits" is_hex32 "$rid"
check "the body's request_id is the header's" eq "$(j .request_id)" "$rid"
post /v1/predict "$T/one.json"
check "another request, another id" eq "$(is_hex32 "$(header X-Request-Id)" && [ "$(header X-Request-Id)" != "$rid" ] && echo y)" y
post /v1/predict "$T/one.json" -H 'X-Request-Id: abc-123_x.y'
check "the client's request id is echoed" eq "$(header X-Request-Id) $(j .request_id)" "abc-123_x.y abc-123_x.y"
long=$(printf '%0129d' 7)
post /v1/predict "$T/one.json" -H "X-Request-Id: $long"
check "one of 129 characters is replaced by a new one" is_hex32 "$(header X-Request-Id)"
post /v1/predict "$T/one.json" -H "X-Request-Id: $(printf '%0128d' 7)"
check "one of 128 is kept" eq "$(header X-Request-Id)" "$(printf '%0128d' 7)"
post /v1/predict "$T/one.json" -H 'X-Request-Id: a b'
check "one with a space is replaced" is_hex32 "$(header X-Request-Id)"
post /v1/predict "$T/one.json" -H 'Content-Type: application/json; charset=utf-8'
check "application/json with a charset is JSON" eq "$code" 200
post /v1/predict "$T/one.json" -H 'Content-Type:'
check "so is a body with no Content-Type" eq "$code" 200

# A batch.
post /v1/predict "$T/batch20.json"
cp "$T/body" "$T/b20"
check "a batch of 20: 200" eq "$code" 200
check "20 predictions" eq "$(j '.predictions | length')" 20
check "their probabilities are tabpipe-predict --serve's, in order" eq "$(probs "$T/b20")" "$(ref a 1,20 | probs /dev/stdin)"
check "their labels" eq "$(labels "$T/b20")" "$(ref a 1,20 | labels /dev/stdin)"
check "their ids" eq "$(j '[.predictions[].id] | map(tostring) | join(" ")')" "$(seq 1 20 | paste -sd' ' -)"
check "the batch names the model" eq "$(j '[.model.name, .model.sha256] | map(tostring) | join(" ")')" "live $sha_a"
check "and has a request id" is_hex32 "$(j .request_id)"
post /v1/predict "$T/batch21.json"
is_error "a batch over --max-batch" 413 too_large

# Values: unseen categories, nulls, numbers as strings, the target and
# string ids.
# variant NAME JQ: application 1 changed by JQ, in $T/NAME.json, and the
# answer of tabpipe-predict --serve to it in $T/NAME.ref.
variant() {
	jq -c "$2" "$T/one.json" >"$T/$1.json"
	tabpipe-predict -q --serve -m "$a" <"$T/$1.json" >"$T/$1.ref"
}
variant unseen '.Home = "castle" | .Job = "astronaut"'
post /v1/predict "$T/unseen.json"
check "unseen categories are scored: 200" eq "$code" 200
check "and named in column order" eq "$(j '.unseen | join(",")')" "Home,Job"
check "as tabpipe-predict --serve scores them" eq "$(probs "$T/body")" "$(probs "$T/unseen.ref")"
variant nulls '.Income = null | .Home = null'
post /v1/predict "$T/nulls.json"
check "null is a missing value: 200" eq "$code" 200
check "scored as tabpipe-predict --serve scores it" eq "$(probs "$T/body")" "$(probs "$T/nulls.ref")"
variant strnum '.Seniority = (.Seniority | tostring)'
post /v1/predict "$T/strnum.json"
check "a number in a string for a numeric feature" eq "$code $(probs "$T/body")" "200 $(ref a 1 | probs /dev/stdin)"
variant target '.Status = "good"'
post /v1/predict "$T/target.json"
check "the target's key is accepted and not used" eq "$code $(probs "$T/body")" "200 $(ref a 1 | probs /dev/stdin)"
variant strid '.id = "req-7"'
post /v1/predict "$T/strid.json"
check "a string id is given back as written" eq "$code $(j .id)" "200 req-7"
variant noid 'del(.id)'
post /v1/predict "$T/noid.json"
check "no id: none in the answer" eq "$code $(j 'has("id")')" "200 false"

# The model.
http GET /v1/model
cp "$T/body" "$T/model"
check "/v1/model: 200" eq "$code" 200
check "its name, version and SHA-256" eq "$(j '[.name, .version, .sha256] | map(tostring) | join(" ")')" "live null $sha_a"
check "its threshold is the model's" awk -v x="$(j .threshold)" -v t="$thr" 'BEGIN { d = x - t; exit !(x != "" && d < 1e-9 && d > -1e-9) }'
check "its target and positive label" eq "$(j '[.target, .positive_label] | map(tostring) | join(" ")')" "Status bad"
jq -S -c '[.columns[] | select(.kind != "target") | {name, kind, categories: .vocabulary}]' "$T/enc.json" >"$T/cols.want"
jq -S -c '[.columns[] | {name, kind, categories}]' "$T/model" >"$T/cols.got"
check "its columns: the features in order, kinds, categories" cmp -s "$T/cols.want" "$T/cols.got"
check "each says whether it is nullable" jq -e '[.columns[].nullable | type] | unique == ["boolean"]' "$T/model"
check "the training data's fingerprint" eq "$(j .training.fingerprint)" "$fingerprint"
check "the config" eq "$(j '.config.d_model')" 8
post /v1/model "$T/one.json"
is_error "POST /v1/model" 405 method_not_allowed
check "with Allow: GET" eval 'header Allow | grep -q GET'

# Errors.
printf '{"Seniority": ' >"$T/bad.json"
post /v1/predict "$T/bad.json"
is_error "bad JSON" 400 bad_json
printf '[%s, {"id": ' "$(cat "$T/one.json")" >"$T/bad.json"
post /v1/predict "$T/bad.json"
is_error "a batch that is not JSON" 400 bad_json
variant unknown '.Salary = 1'
post /v1/predict "$T/unknown.json"
is_error "an unknown field" 400 unknown_field Salary
{ printf '['; head -n 2 "$T/apps" | paste -sd, - | tr -d '\n'; printf ','; cat "$T/unknown.json"; printf ']'; } >"$T/bunknown.json"
post /v1/predict "$T/bunknown.json"
is_error "an unknown field in a batch" 400 unknown_field Salary 2
variant array '.Home = ["rent"]'
post /v1/predict "$T/array.json"
is_error "an array for a categorical" 400 wrong_type Home
variant bool '.Seniority = true'
post /v1/predict "$T/bool.json"
is_error "a boolean for a numeric" 400 wrong_type Seniority
variant obj '.Income = {"v": 1}'
post /v1/predict "$T/obj.json"
is_error "an object for a numeric" 400 wrong_type Income
variant missing 'del(.Price)'
post /v1/predict "$T/missing.json"
is_error "a feature's key absent" 400 missing_field Price
{ printf '['; sed -n 1p "$T/apps" | tr -d '\n'; printf ','; cat "$T/missing.json"; printf ']'; } >"$T/bmissing.json"
post /v1/predict "$T/bmissing.json"
is_error "a feature's key absent in a batch" 400 missing_field Price 1
variant word '.Seniority = "nine"'
post /v1/predict "$T/word.json"
is_error "a word for a numeric" 400 bad_value Seniority
variant huge '.Income = 1e300'
post /v1/predict "$T/huge.json"
is_error "a number past float32" 400 bad_value Income
sed 's/}$/,"Seniority":3}/' "$T/one.json" >"$T/twice.json"
post /v1/predict "$T/twice.json"
is_error "a key given twice" 400 bad_json Seniority
variant idarray '.id = [1]'
post /v1/predict "$T/idarray.json"
is_error "an array for the id" 400 wrong_type id
printf '42' >"$T/num.json"
post /v1/predict "$T/num.json"
is_error "a number for a body" 400 wrong_type
x=$(printf '\377')
LC_ALL=C sed "s/\"Home\":\"[^\"]*\"/\"Home\":\"r${x}nt\"/" "$T/one.json" >"$T/latin1.json"
post /v1/predict "$T/latin1.json"
is_error "a body that is not UTF-8" 400 bad_json
printf '[]' >"$T/empty.json"
post /v1/predict "$T/empty.json"
is_error "an empty batch" 400 empty_batch
{ printf '{"id":"'; head -c 20000 /dev/zero | tr '\0' x; printf '"}'; } >"$T/big.json"
post /v1/predict "$T/big.json"
is_error "a body over --max-body" 413 too_large
http GET /v1/nowhere
is_error "an unknown path" 404 not_found
http GET /v1/predict
is_error "GET /v1/predict" 405 method_not_allowed
check "with Allow: POST" eval 'header Allow | grep -q POST'
http DELETE /health/live
is_error "DELETE /health/live" 405 method_not_allowed
check "with Allow: GET" eval 'header Allow | grep -q GET'
http POST /v1/predict -H 'Content-Type: text/plain' --data-binary "@$T/one.json"
is_error "a body of text/plain" 415 unsupported_media_type
http POST /v1/reload
is_error "/v1/reload without a token" 401 unauthorized
check "with WWW-Authenticate: Bearer" eval 'header WWW-Authenticate | grep -q "^Bearer"'
http POST /v1/reload -H "Authorization: Bearer ${admin}x"
is_error "/v1/reload with an unknown token" 401 unauthorized
http POST /v1/reload -H "Authorization: Bearer $predict"
is_error "/v1/reload with a predict token" 403 forbidden
post /v1/predict "$T/one.json" -H "Authorization: Bearer ${predict}x"
is_error "/v1/predict with an unknown token, though none is needed" 401 unauthorized
post /v1/predict "$T/one.json" -H "Authorization: Bearer $predict"
check "a predict token predicts" eq "$code" 200
post /v1/predict "$T/one.json" -H "Authorization: Bearer $admin"
check "so does an admin token" eq "$code" 200

# Reloads: of the same file, of another, and one that fails.
http POST /v1/reload -H "Authorization: Bearer $admin"
check "/v1/reload with the admin token: 200 reloaded" eq "$code $(j .reloaded) $(j .model.sha256)" "200 true $sha_a"
cp "$b" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.safetensors"
http POST /v1/reload -H "Authorization: Bearer $admin"
check "a reload of a new file names it" eq "$code $(j .model.sha256)" "200 $sha_b"
post /v1/predict "$T/one.json"
check "which answers at once" eq "$(j .model.sha256) $(probs "$T/body")" "$sha_b $(ref b 1 | probs /dev/stdin)"
echo "not a model" >"$T/live.tmp" && mv "$T/live.tmp" "$T/live.safetensors"
http POST /v1/reload -H "Authorization: Bearer $admin"
check "a failed reload: 500 with an error" eq "$code $(j 'has("error")')" "500 true"
post /v1/predict "$T/one.json"
check "and the old model goes on serving" eq "$code $(j .model.sha256)" "200 $sha_b"
cp "$a" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.safetensors"
kill -HUP "$spid"
served_a() { post /v1/predict "$T/one.json" && [ "$(j .model.sha256)" = "$sha_a" ]; }
check "SIGHUP reloads the file" wait_until 30 served_a
http GET /health/ready
check "ready" eq "$code" 200

# Metrics: the counters moved by what was sent since the first look.
http GET /metrics
cp "$T/body" "$T/metrics1"
check "/metrics is Prometheus text 0.0.4" eval 'header Content-Type | grep -q "^text/plain; *version=0.0.4"'
d200=$(($(metric "$T/metrics1" tabpipe_http_requests_total 'endpoint="/v1/predict"' 'status="200"') - \
	$(metric "$T/metrics0" tabpipe_http_requests_total 'endpoint="/v1/predict"' 'status="200"')))
# 200s to /v1/predict since metrics0: 8 singles and ids, 1 batch, 6
# variants, 2 with tokens, 1 after the reload, 1 after the failed one, and
# the SIGHUP polls (at least 1).
check "requests_total counts the 200s of /v1/predict ($d200)" test "$d200" -ge 20
d400=$(metric "$T/metrics1" tabpipe_http_requests_total 'endpoint="/v1/predict"' 'status="400"')
check "and the 400s ($d400)" test "$d400" -eq 16
check "an unknown path is counted as other" test "$(metric "$T/metrics1" tabpipe_http_requests_total 'endpoint="other"' 'status="404"')" -ge 1
d413=$(metric "$T/metrics1" tabpipe_http_requests_total 'endpoint="/v1/predict"' 'status="413"')
check "and the 413s ($d413)" test "$d413" -eq 2
rows=$(($(metric "$T/metrics1" tabpipe_rows_scored_total) - $(metric "$T/metrics0" tabpipe_rows_scored_total)))
check "rows_scored_total counts the applications ($rows)" test "$rows" -eq $((d200 + 19))
unseen=$(($(metric "$T/metrics1" tabpipe_unseen_categories_total) - $(metric "$T/metrics0" tabpipe_unseen_categories_total)))
check "unseen_categories_total counts the unseen values ($unseen)" test "$unseen" -eq 2
check "model_info names the model" test "$(metric "$T/metrics1" tabpipe_model_info 'name="live"' "sha256=\"$sha_a\"")" = 1
check "reloads_total counts the reloads" test "$(metric "$T/metrics1" tabpipe_reloads_total)" -ge 3
check "reload_failures_total the failed one" test "$(metric "$T/metrics1" tabpipe_reload_failures_total)" -eq 1
hc=$(metric "$T/metrics1" tabpipe_http_request_duration_seconds_count 'endpoint="/v1/predict"')
hinf=$(metric "$T/metrics1" tabpipe_http_request_duration_seconds_bucket 'endpoint="/v1/predict"' 'le="+Inf"')
check "the duration histogram's +Inf bucket is its count ($hinf, $hc)" positive_eq "$hc" "$hinf"
check "connections is a gauge" grep -q '^# TYPE tabpipe_http_connections gauge' "$T/metrics1"
if command -v promtool >/dev/null 2>&1; then
	if promtool check metrics <"$T/metrics1" >"$T/promtool" 2>&1; then
		ok "promtool check metrics"
	else
		echo "not ok - promtool check metrics"
		sed 's/^/#   promtool: /' "$T/promtool" | head -n 10
	fi
else
	skip "promtool check metrics" "promtool is not installed"
fi

http GET /openapi.json
check "/openapi.json: 200, JSON, OpenAPI 3.0" eq "$code $(j '.openapi | startswith("3.0")')" "200 true"
check "with every endpoint" jq -e '.paths | has("/v1/predict") and has("/v1/model") and has("/v1/reload") and has("/health/live") and has("/health/ready") and has("/metrics")' "$T/body"

# sanitized: no server wrote a sanitizer's report (make check-asan).
sanitized() {
	if grep -q 'Sanitizer\|runtime error:' "$T"/*.err 2>/dev/null; then
		echo "not ok - no server wrote a sanitizer's report"
		grep -h -A 4 'Sanitizer\|runtime error:' "$T"/*.err | head -n 20 | sed 's/^/#   /'
	else
		ok "no server wrote a sanitizer's report"
	fi
}

# Load: 8 clients send requests one after another, in rounds of 10 (on
# one connection, kept alive), until told to stop, or for 200 rounds at
# most; each request with an X-Request-Id of its own,
# "KIND-CLIENT-ROUND-I-ITEMS"; their answers in $T/KIND.CLIENT.out as
# "STATUS ID BODY" lines.
rounds=200
load() {
	lk=$1 lc=$2 lr=0
	while [ "$lr" -lt "$rounds" ] && [ ! -e "$T/stop" ]; do
		awk -v kind="$lk" -v c="$lc" -v r="$lr" -v url="$url" -v t="$T" 'BEGIN {
			for (i = 0; i < 10; i++) {
				n = (kind == "O" && i % 2) ? 3 : 1
				id = kind "-" c "-" r "-" i "-" n
				if (i > 0) print "next"
				printf "url = \"%s/v1/predict\"\nsilent\nmax-time = 30\n", url
				printf "header = \"Content-Type: application/json\"\n"
				printf "header = \"X-Request-Id: %s\"\n", id
				printf "data-binary = \"@%s/%s\"\n", t, n == 3 ? "batch3.json" : "one.json"
				printf "write-out = \"\\n@@ %%{http_code} %s\\n\"\n", id
			} }' >"$T/$lk.$lc.cfg"
		curl -K "$T/$lk.$lc.cfg" >>"$T/$lk.$lc.raw" 2>/dev/null
		lr=$((lr + 1))
		sleep 0.05
	done
	awk '/^@@ / { print $2, $3, body; body = ""; next } { body = body $0 }' \
		"$T/$lk.$lc.raw" >"$T/$lk.$lc.out"
}
# main_post KIND ID FILE: a request of the test's own in a load, its answer
# kept with the clients'.
main_post() {
	post /v1/predict "$T/$3" -H "X-Request-Id: $2"
	echo "$code $2 $(tr -d '\n' <"$T/body")" >>"$T/$1.main.out"
}
# start_load KIND: 8 clients (4 for O) in the background.
start_load() {
	rm -f "$T/stop"
	loads=
	nload=8
	[ "$1" = O ] && nload=4
	c=1
	while [ "$c" -le "$nload" ]; do
		load "$1" "$c" &
		loads="$loads $!"
		c=$((c + 1))
	done
}
end_load() {
	: >"$T/stop"
	for p in $loads; do wait "$p"; done
	cat "$T/$1".*.out >"$T/$1.all"
	cat "$T/$1".[0-9]*.out >"$T/$1.clients"
}
# rounds_done KIND: the rounds of 10 that each client has had answered so
# far, as "N N ...".
rounds_done() {
	c=1
	while [ "$c" -le "$nload" ]; do
		if [ -f "$T/$1.$c.raw" ]; then grep -c '^@@ ' "$T/$1.$c.raw" || true; else echo 0; fi
		c=$((c + 1))
	done | paste -sd' ' -
}
# progressed KIND BEFORE: every client has had answers since rounds_done
# said BEFORE (empty: since it began).
progressed() {
	printf '%s\n%s\n' "$2" "$(rounds_done "$1")" | awk '
		NR == 1 { split($0, b, " ") }
		NR == 2 { for (i = 1; i <= NF; i++) if ($i <= b[i] + 0) exit 1 }'
}
# answered FILE: "VERSION SHA256 PROBABILITY" of each answer.
answered() {
	awk '{ v = s = p = "?"
		if (match($0, /"version": *[^ ,}]*/)) { v = substr($0, RSTART, RLENGTH); sub(/.*: */, "", v) }
		if (match($0, /"sha256": *"[0-9a-f]*"/)) { s = substr($0, RSTART, RLENGTH); sub(/.*: *"/, "", s); sub(/"$/, "", s) }
		if (match($0, /"probability": *[^ ,}]*/)) { p = substr($0, RSTART, RLENGTH); sub(/.*: */, "", p) }
		print v, s, p }' "$1"
}
# backwards KIND FIELD ORDER: the clients that saw a model after a later
# one, FIELD of answered (1 the version, 2 the SHA-256) in ORDER.
backwards() {
	for f in "$T/$1".*.out; do
		cut -d' ' -f3- "$f" | answered /dev/stdin | awk -v f="${f##*/}" -v k="$2" -v order="$3" '
			BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i }
			{ r = rank[$k] + 0; if (r < top) { print f ": answer " NR " from " $k " after a later one"; exit }
			  if (r > top) top = r }'
	done
}
# load_checks KIND ALLOWED...: every request answered 200, each answer one of
# ALLOWED ("VERSION SHA256 PROBABILITY").
load_checks() {
	lk=$1
	shift
	total=$(wc -l <"$T/$lk.all")
	failed=$(awk '$1 != 200' "$T/$lk.all" | wc -l)
	if [ "$total" -gt 0 ] && [ "$failed" -eq 0 ]; then
		ok "$total requests under load, none failed"
	else
		echo "not ok - $total requests under load, none failed ($failed failed)"
		awk '$1 != 200' "$T/$lk.all" | head -n 3 | cut -c1-400 | sed 's/^/#   /'
	fi
	printf '%s\n' "$@" | sort >"$T/allowed"
	cut -d' ' -f3- "$T/$lk.all" | answered /dev/stdin | sort -u >"$T/seen"
	if [ -z "$(comm -13 "$T/allowed" "$T/seen")" ]; then
		ok "every answer is one of the models served, with its probability"
	else
		echo "not ok - every answer is one of the models served, with its probability"
		comm -13 "$T/allowed" "$T/seen" | head -n 5 | sed 's/^/#   answered: /'
		sed 's/^/#   allowed: /' "$T/allowed"
	fi
	cut -d' ' -f3- "$T/$lk.clients" | answered /dev/stdin | sort -u >"$T/seen"
	if [ "$(wc -l <"$T/seen")" -eq "$#" ]; then
		ok "the clients had answers of each"
	else
		echo "not ok - the clients had answers of each"
		sed 's/^/#   seen: /' "$T/seen"
	fi
}

# Reloads under load, of a file replaced meanwhile.
start_load F
check "every client is answered before the reloads" wait_until 30 progressed F ""
reloads_ok=0
for i in 1 2 3 4 5 6; do
	if [ "$i" -eq 3 ]; then
		cp "$b" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.safetensors"
	fi
	http POST /v1/reload -H "Authorization: Bearer $admin"
	[ "$code" = 200 ] && reloads_ok=$((reloads_ok + 1))
	kill -HUP "$spid"
	post /v1/predict "$T/one.json"
done
served_b() { post /v1/predict "$T/one.json" && [ "$(j .model.sha256)" = "$sha_b" ]; }
wait_until 30 served_b
before=$(rounds_done F)
check "and after them" wait_until 30 progressed F "$before"
end_load F
check "every /v1/reload under load answered 200" eq "$reloads_ok" 6
load_checks F "null $sha_a $(ref a 1 | probs /dev/stdin | cut -d: -f2)" \
	"null $sha_b $(ref b 1 | probs /dev/stdin | cut -d: -f2)"
backwards F 2 "$sha_a $sha_b" >"$T/back"
check "no client saw the old file after the new one" test ! -s "$T/back"
sed 's/^/#   /' "$T/back"
ok=0
for i in 1 2 3 4 5; do
	post /v1/predict "$T/one.json"
	[ "$code $(j .model.sha256)" = "200 $sha_b" ] && ok=$((ok + 1))
done
check "after the reloads every answer is the new file's" eq "$ok" 5
stop "SIGTERM ends the server with 0"
yes_that "no token was written to its log" test "$(grep -c -- '-0123456789abcdef' "$T/live.err")" = 0

# Reasons: ?explain=k gives each answer the k features that raise its
# score most, with the texts of --reasons and the steps of --steps, as
# tabpipe-predict --serve --explain k gives them; through reloads, and of a
# model file without the reference profile that they start from, which
# answers without them.
cat >"$T/reasons.csv" <<'EOF'
feature,value,reason
Records,yes,Records of arrears
Records,,Credit records
Income,,Income is low for the amount asked
Seniority,,Years with the employer
EOF
why="--steps 16 --reasons $T/reasons.csv"
# shellcheck disable=SC2086 # $why holds several options
tabpipe-predict -q --serve --explain 3 $why -m "$a" <"$T/apps" >"$T/ref.whya"
# shellcheck disable=SC2086
tabpipe-predict -q --serve --explain 3 $why -m "$b" <"$T/one.json" >"$T/ref.whyb"
# without_reference IN OUT: the model file IN as files were written before
# models kept a reference profile: its metadata without one.
without_reference() {
	n=$(od -A n -t u8 -N 8 "$1" | tr -d ' ')
	tail -c +9 "$1" | head -c "$n" | jq -cj 'del(.__metadata__.reference)' >"$T/header"
	len=$(wc -c <"$T/header") le='' i=0
	while [ "$i" -lt 8 ]; do
		le="$le\\$(printf %03o $((len % 256)))"
		len=$((len / 256)) i=$((i + 1))
	done
	# shellcheck disable=SC2059 # the format is the length's bytes
	printf "$le" >"$2"
	cat "$T/header" >>"$2"
	tail -c +$((9 + n)) "$1" >>"$2"
}
without_reference "$a" "$T/old.safetensors"
sha_old=$(sha256sum "$T/old.safetensors" | cut -d' ' -f1)
# reasons FILE: the reasons and gap of each answer of FILE, a line each.
reasons() { jq -c 'if has("predictions") then .predictions[] else . end | {reasons, gap}' "$1"; }
cp "$a" "$T/why.safetensors"
# shellcheck disable=SC2086
start why -m "$T/why.safetensors" --max-explain 8 $why || exit 1
post '/v1/predict?explain=3' "$T/one.json" -H 'X-Request-Id: why-1'
cp "$T/body" "$T/why1"
check "?explain=3: 200" eq "$code" 200
check "one to three reasons, each with its feature, value, contribution and text" jq -e '
	(.reasons | length) >= 1 and (.reasons | length) <= 3 and
	all(.reasons[]; (.feature | type) == "string" and has("value") and
		(.contribution | type) == "number" and (.reason | type) == "string")' "$T/why1"
check "the largest contribution first, all positive" jq -e '.reasons | map(.contribution) | . == sort_by(-.) and all(.[]; . > 0)' "$T/why1"
check "and the gap" jq -e '.gap | type == "number" and fabs < 0.05' "$T/why1"
check "the reasons of tabpipe-predict --serve --explain 3, to the digit" eq "$(reasons "$T/why1")" "$(ref whya 1 | reasons /dev/stdin)"
post /v1/predict "$T/one.json" -H 'X-Request-Id: why-1'
check "the answer without explain is the same, byte for byte, but for them" eq \
	"$(sed 's/,"reasons":\[[^]]*\],"gap":[^,}]*//' "$T/why1")" "$(cat "$T/body")"
check "which it does not have" jq -e 'has("reasons") or has("gap") | not' "$T/body"
post '/v1/predict?explain=8' "$T/batch1000.json"
cp "$T/body" "$T/why1000"
check "a batch of 1000 with explain=8: 200" eq "$code $(j '.predictions | length')" "200 1000"
check "each answer with at most 8 reasons, the largest first, all positive" jq -e '
	all(.predictions[]; (.reasons | length) <= 8 and
		(.reasons | map(.contribution) | . == sort_by(-.) and all(.[]; . > 0)))' "$T/why1000"
check "its probabilities are tabpipe-predict --serve's" eq "$(probs "$T/why1000")" "$(probs "$T/ref.a")"
post '/v1/predict?explain=3' "$T/batch20.json"
check "a batch of 20 with explain=3: the reasons of tabpipe-predict --serve, in order" \
	eq "$(reasons "$T/body")" "$(ref whya 1,20 | reasons /dev/stdin)"
check "the texts of --reasons are given" jq -e '[.predictions[].reasons[] | select(.feature == "Income")] |
	length > 0 and all(.[]; .reason == "Income is low for the amount asked")' "$T/why1000"
check "a value's text rather than its feature's" jq -e '[.predictions[].reasons[] | select(.feature == "Records")] |
	length > 0 and all(.[]; .reason == (if .value == "yes" then "Records of arrears" else "Credit records" end))' "$T/why1000"
check "a feature without a text is named by its column" jq -e '[.predictions[].reasons[] | select(.feature == "Amount")] |
	length > 0 and all(.[]; .reason == "Amount")' "$T/why1000"
for v in 0 9 x -1 '' 3.5; do
	post "/v1/predict?explain=$v" "$T/one.json"
	is_error "explain=$v" 400 bad_value explain
done
post '/v1/predict?explain=2&explain=3' "$T/one.json"
is_error "explain twice" 400 bad_value explain
http GET /v1/model
check "the card says how it explains" eq "$(jq -c .explain "$T/body")" \
	"{\"max\":8,\"steps\":16,\"reference_rows\":$(($(tabpipe-cat "$T/cd.train.tps" | wc -l) - 1)),\"reason_texts\":4}"
# reloaded SHA256: the server answers with the model of that SHA-256.
reloaded() { post /v1/predict "$T/one.json" && [ "$(j .model.sha256)" = "$1" ]; }
cp "$b" "$T/why.tmp" && mv "$T/why.tmp" "$T/why.safetensors"
kill -HUP "$spid"
check "SIGHUP reloads another model" wait_until 30 reloaded "$sha_b"
post '/v1/predict?explain=3' "$T/one.json"
check "which gives its own reasons, with the same options" eq "$code $(reasons "$T/body")" "200 $(reasons "$T/ref.whyb")"
cp "$T/old.safetensors" "$T/why.tmp" && mv "$T/why.tmp" "$T/why.safetensors"
kill -HUP "$spid"
check "a model without a reference profile is loaded" wait_until 30 reloaded "$sha_old"
check "and answers without reasons as before" eq "$code $(probs "$T/body")" "200 $(ref a 1 | probs /dev/stdin)"
post '/v1/predict?explain=3' "$T/one.json"
is_error "but not with explain" 409 cannot_explain explain
check "saying to train it again" eval 'j .error.message | grep -q "train it again"'
http GET /v1/model
check "its card says it cannot explain" eq "$(jq -c .explain "$T/body")" null
check "the server said so when it loaded it" grep -q "reasons are refused until it is trained again" "$T/why.err"
cp "$a" "$T/why.tmp" && mv "$T/why.tmp" "$T/why.safetensors"
kill -HUP "$spid"
check "reloaded with one again" wait_until 30 reloaded "$sha_a"
post '/v1/predict?explain=3' "$T/one.json"
check "it gives the reasons again" eq "$code $(reasons "$T/body")" "200 $(ref whya 1 | reasons /dev/stdin)"
stop "the server of reasons ends with 0"

# An ensemble (tabpipe-train --members) is served as any model: each pool
# thread's copy holds every member, and the answers and reasons are
# tabpipe-predict --serve's.
# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --members 3 --seed 5 --valid "$T/cd.valid.tps" \
	-o "$T/ens.safetensors" "$T/cd.train.tps"
tabpipe-predict -q --serve --explain 3 -m "$T/ens.safetensors" <"$T/apps" >"$T/ref.ens"
start ensemble -m "$T/ens.safetensors" --threads 2 || exit 1
post /v1/predict "$T/batch1000.json"
check "an ensemble of 3 served: a batch of 1000, the probabilities of tabpipe-predict --serve" \
	eq "$code $(probs "$T/body")" "200 $(probs "$T/ref.ens")"
http GET /v1/model
check "its card says it has 3 members" eq "$(j .members)" 3
post /v1/predict "$T/batch1000.json"
check "which are not its first member's alone" test "$(probs "$T/body")" != "$(probs "$T/ref.a")"
post '/v1/predict?explain=3' "$T/batch20.json"
check "its reasons are tabpipe-predict --serve --explain 3's" \
	eq "$(reasons "$T/body")" "$(ref ens 1,20 | reasons /dev/stdin)"
check "and add up to the ensemble's log-odds" jq -e 'all(.predictions[]; .gap | fabs < 0.05)' "$T/body"
stop "the server of an ensemble ends with 0"

# Without a tokens file /v1/reload is forbidden; SIGTERM drains.
start drain -m "$a" --max-explain 0 || exit 1
http POST /v1/reload -H "Authorization: Bearer $admin"
is_error "/v1/reload without a tokens file" 403 forbidden
post '/v1/predict?explain=1' "$T/one.json"
is_error "explain of a server of --max-explain 0" 400 bad_value explain
post /v1/predict "$T/batch1000.json"
check "a batch of 1000 (the default --max-batch): 200" eq "$code $(j '.predictions | length')" "200 1000"
check "its probabilities are tabpipe-predict --serve's" eq "$(probs "$T/body")" "$(probs "$T/ref.a")"
# Four of them, sent slowly (2 s each), in flight when SIGTERM comes.
dpids=
for i in 1 2 3 4; do
	curl -s -o "$T/drain.$i" -w '%{http_code}' --max-time 60 --limit-rate 100k \
		-H 'Content-Type: application/json' --data-binary "@$T/batch1000.json" \
		"$url/v1/predict" >"$T/drain.$i.code" &
	dpids="$dpids $!"
done
conns() {
	curl -s --max-time 10 "$url/metrics" >"$T/m.conn" &&
		[ "$(metric "$T/m.conn" tabpipe_http_connections)" -ge 5 ]
}
wait_until 20 conns || echo "# the connections gauge never showed the 4 uploads: $(metric "$T/m.conn" tabpipe_http_connections)"
stop "SIGTERM with requests in flight ends the server with 0"
for p in $dpids; do wait "$p"; done
drained=0
for i in 1 2 3 4; do
	[ "$(cat "$T/drain.$i.code")" = 200 ] && [ "$(jq '.predictions | length' "$T/drain.$i" 2>/dev/null)" = 1000 ] &&
		drained=$((drained + 1))
done
check "the requests in flight were answered, whole" eq "$drained" 4
[ "$drained" -eq 4 ] || for i in 1 2 3 4; do echo "#   $(cat "$T/drain.$i.code") $(head -c 200 "$T/drain.$i")"; done
curl -s --max-time 10 -o /dev/null "$url/health/live"
got=$?
check "a new connection is refused afterwards (curl exit $got)" test "$got" -eq 7

# --require-token, and the rate limit: one request a second, per token.
start tokens -m "$a" --tokens "$tokens" --require-token --rate 1 --burst 1 || exit 1
post /v1/predict "$T/one.json"
is_error "--require-token: /v1/predict without a token" 401 unauthorized
check "with WWW-Authenticate: Bearer" eval 'header WWW-Authenticate | grep -q "^Bearer"'
http GET /v1/model -H "Authorization: Bearer nosuchtoken-0123456789"
is_error "--require-token: /v1/model with an unknown token" 401 unauthorized
http GET /health/live
check "the health endpoints need none" eq "$code" 200
http GET /metrics
check "nor /metrics" eq "$code" 200
http GET /openapi.json
check "nor /openapi.json" eq "$code" 200
http GET /v1/model -H "Authorization: Bearer $other"
check "/v1/model with a predict token: 200" eq "$code" 200
post /v1/predict "$T/one.json" -H "Authorization: Bearer $predict"
check "with a predict token: 200" eq "$code" 200
i=0
while [ $i -lt 5 ]; do
	post /v1/predict "$T/one.json" -H "Authorization: Bearer $predict"
	[ "$code" = 429 ] && break
	i=$((i + 1))
done
is_error "over --rate" 429 rate_limited
ra=$(header Retry-After)
check "with Retry-After in seconds ($ra)" seconds "$ra"
post /v1/predict "$T/one.json" -H "Authorization: Bearer $admin"
check "another token has a budget of its own" eq "$code" 200
case $ra in [1-9] | [1-9][0-9]) sleep "$ra" ;; *) sleep 1 ;; esac
post /v1/predict "$T/one.json" -H "Authorization: Bearer $predict"
check "after Retry-After the token is served again" eq "$code" 200
stop "the server of tokens ends with 0"

# HTTPS, with a certificate made here.
if command -v openssl >/dev/null 2>&1 &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/key.pem" -out "$T/cert.pem" -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1; then
	chmod 600 "$T/key.pem"
	start tls -m "$a" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" || exit 1
	check "it says an https address" grep -q "listening on https://127.0.0.1:$port\$" "$T/tls.err"
	url=https://127.0.0.1:$port
	post /v1/predict "$T/one.json" --cacert "$T/cert.pem"
	check "a prediction over HTTPS" eq "$code $(probs "$T/body")" "200 $(ref a 1 | probs /dev/stdin)"
	url=http://127.0.0.1:$port
	http GET /health/live
	check "and none in plain HTTP" test "$code" != 200
	stop "the HTTPS server ends with 0"
else
	skip "HTTPS" "openssl cannot make a certificate here"
fi

# Socket activation: the listening socket is systemd's (here its
# systemd-socket-activate's), passed as descriptor 3 with LISTEN_FDS.
activated() { grep -q 'listening on 1 socket from systemd' "$T/act.err"; }
if command -v systemd-socket-activate >/dev/null 2>&1; then
	# A free port: one that tabpipe-serve was given and let go.
	start free -m "$a"
	stop "a server ends with 0"
	systemd-socket-activate -l "127.0.0.1:$port" \
		tabpipe-serve -m "$a" 2>"$T/act.err" &
	spid=$!
	sname=act
	# The activator starts the server at the first connection.
	wait_until 30 curl -s "http://127.0.0.1:$port/health/live"
	url=http://127.0.0.1:$port
	post /v1/predict "$T/one.json"
	check "a server on systemd's socket answers" eq "$code $(probs "$T/body")" "200 $(ref a 1 | probs /dev/stdin)"
	check "and says whose socket it is" activated
	stop "the activated server ends with 0"
	# shellcheck disable=SC2016 # the inner shell's $$, which exec keeps
	sh -c 'LISTEN_FDS=1 LISTEN_PID=$$ exec tabpipe-serve -m "$1" --listen 127.0.0.1:0' \
		sh "$a" >/dev/null 2>"$T/both.err"
	code=$?
	check "systemd's sockets and --listen together exit 64" eq "$code" 64
else
	skip "socket activation" "no systemd-socket-activate"
fi

if [ -z "$db" ]; then
	for c in "a reference's server" "reloads, SIGHUP and a promotion under load" \
		"every prediction logged" "the database away under load"; do
		skip "$c" "no database: run under scripts/pg-server run"
	done
	sanitized
	exit 0
fi

# The registry: loans@production followed under load through reloads,
# SIGHUP and a promotion; every prediction logged with its request and
# version.
# Two seeds of the transformer alone: with the additive regression
# beneath, both are about the regression, too near for the gate to call
# one better.
for s in 5 6; do
	# shellcheck disable=SC2086 # $small holds several options
	tabpipe-train -q --db "$db" $small --additive none --seed $s --name loans \
		--valid "$T/cd.valid.tps" -o "$T/reg$s.safetensors" "$T/cd.train.tps"
done
# The worse version first, so that the better one beats it as champion.
for v in 1 2; do
	tabpipe-evaluate -q --db "$db" -m "loans@$v" -o "$T/ev$v.json" "$T/cd.test.tps"
done
if [ "$(jq -n --slurpfile x "$T/ev1.json" --slurpfile y "$T/ev2.json" '$x[0].auc < $y[0].auc')" = true ]; then
	first=1 second=2
else
	first=2 second=1
fi
file_of() { echo "$T/reg$(($1 + 4)).safetensors"; }
tabpipe-predict -q --serve -m "$(file_of "$first")" <"$T/one.json" >"$T/ref.v1"
tabpipe-predict -q --serve -m "$(file_of "$second")" <"$T/one.json" >"$T/ref.v2"
sha1=$(sha256sum "$(file_of "$first")" | cut -d' ' -f1)
sha2=$(sha256sum "$(file_of "$second")" | cut -d' ' -f1)
run_status "version $first to Production" 0 tabpipe-promote -q --db "$db" loans "$first"
start reg --db "$db" -m loans@production --tokens "$tokens" --spool "$T/spool.reg" || exit 1
http GET /v1/model
check "a reference's server serves its Production version" eq "$code $(j '[.name, .version, .stage, .sha256] | map(tostring) | join(" ")')" "200 loans $first Production $sha1"
# The same number, which jsonb and cJSON write with other digits.
# shellcheck disable=SC2016 # $v is jq's
check "its card has the validation metrics registered with it" jq -e --arg v \
	"$(q "SELECT v.metrics->>'valid_auc' FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'loans' AND v.version = $first")" \
	'.metrics.valid_auc - ($v | tonumber) | . * . < 1e-24' "$T/body"
check "and the rows of its training data" eq "$(j '.training.rows')" \
	"$(($(tabpipe-cat "$T/cd.train.tps" | wc -l) - 1))"
http GET /health/ready
check "and is ready" eq "$code" 200
rm -f "$T/L.main.out"
main_post L M-0-0-0-1 one.json
check "its answers name the version" eq "$(j '[.model.name, .model.version] | map(tostring) | join(" ")') $(probs "$T/body")" "loans $first $(probs "$T/ref.v1")"
start_load L
for i in 1 2; do
	http POST /v1/reload -H "Authorization: Bearer $admin"
	check "/v1/reload under load: 200, version $first" eq "$code $(j .model.version)" "200 $first"
	kill -HUP "$spid"
done
check "every client is answered before the promotion" wait_until 30 progressed L ""
run_status "version $second promoted under load" 0 tabpipe-promote -q --db "$db" loans "$second"
promoted() {
	curl -s --max-time 10 "$url/metrics" >"$T/m.reg" &&
		[ "$(metric "$T/m.reg" tabpipe_model_info 'name="loans"' "version=\"$second\"")" = 1 ]
}
check "the promotion's reload is seen in /metrics" wait_until 30 promoted
ok=0
for i in 1 2 3 4 5; do
	main_post L "M-1-0-$i-1" one.json
	[ "$code $(j .model.version)" = "200 $second" ] && ok=$((ok + 1))
done
check "after it, new requests answer with version $second" eq "$ok" 5
before=$(rounds_done L)
check "every client is answered after it" wait_until 30 progressed L "$before"
for i in 1 2; do
	http POST /v1/reload -H "Authorization: Bearer $admin"
	check "/v1/reload after it: 200, version $second" eq "$code $(j .model.version)" "200 $second"
	kill -HUP "$spid"
done
end_load L
load_checks L "$first $sha1 $(probs "$T/ref.v1" | cut -d: -f2)" \
	"$second $sha2 $(probs "$T/ref.v2" | cut -d: -f2)"
backwards L 1 "$first $second" >"$T/back"
check "no client saw version $first after $second" test ! -s "$T/back"
sed 's/^/#   /' "$T/back"
curl -s --max-time 10 "$url/metrics" >"$T/m.reg"
check "reloads_total counts them ($(metric "$T/m.reg" tabpipe_reloads_total))" test "$(metric "$T/m.reg" tabpipe_reloads_total)" -ge 5
stop "the reference's server ends with 0"
check "no request failed" eq "$(awk '$1 != 200' "$T/L.all" | wc -l)" 0
awk '$1 == 200 { v = "?"; if (match($0, /"version": *[0-9]+/)) { v = substr($0, RSTART, RLENGTH); sub(/.*: */, "", v) } print $2, v }' "$T/L.all" |
	LC_ALL=C sort >"$T/want"
q "SELECT request_id || ' ' || coalesce(model_version::text, '-') FROM predictions" | LC_ALL=C sort >"$T/got"
if cmp -s "$T/want" "$T/got"; then
	ok "every prediction is logged once, with its request id and version ($(wc -l <"$T/got"))"
else
	echo "not ok - every prediction is logged once, with its request id and version"
	echo "#   $(wc -l <"$T/want") answered, $(wc -l <"$T/got") logged"
	diff "$T/want" "$T/got" | head -n 6 | sed 's/^/#   /'
fi
yes_that "with its latency" test "$(q "SELECT count(*) FROM predictions WHERE latency_seconds IS NULL OR latency_seconds < 0 OR latency_seconds > 60")" = 0
yes_that "the model of each answer" test "$(q "SELECT count(*) FROM predictions WHERE model_sha256 <> CASE model_version WHEN $first THEN '$sha1' ELSE '$sha2' END")" = 0
yes_that "and the request's features" test "$(q "SELECT count(*) FROM predictions WHERE request_id = 'M-0-0-0-1' AND features->>'Home' = '$(jq -r .Home "$T/one.json")'")" = 1

# The database goes away under load and comes back, on a server of the
# test's own: the spool fills and is sent, and every application answered
# 200 is logged once.
db2=$(sh "$pgserver" start "$pg" 2>"$T/pg.err" | sed -n 's/^TABPIPE_DB=//p')
if [ -z "$db2" ]; then
	echo "not ok - a database server of the test's own starts"
	sed 's/^/#   /' "$T/pg.err"
	exit 1
fi
q2() { psql "$db2" -qAtc "$1" 2>/dev/null; }
pg_start() { sh "$pgserver" start "$pg" >/dev/null 2>&1; }
pg_stop() { sh "$pgserver" stop "$pg" >/dev/null 2>&1; }
logged() { [ "$(q2 "SELECT count(*) FROM predictions")" -gt 0 ]; }
# While the outage is awaited, the test sends requests of its own too, so
# that there are predictions to spool whatever the clients do.
outage=0
spooled() {
	outage=$((outage + 1))
	main_post O "M-$outage-0-0-3" batch3.json
	curl -s --max-time 10 "$url/metrics" >"$T/m.out" &&
		[ "$(metric "$T/m.out" tabpipe_predlog_spooled_rows_total)" -gt 0 ] &&
		[ -n "$(find "$T/spool" -type f -name '[0-9]*-[0-9]*')" ]
}
replayed() {
	outage=$((outage + 1))
	main_post O "M-$outage-0-0-3" batch3.json
	curl -s --max-time 10 "$url/metrics" >"$T/m.out" &&
		[ "$(metric "$T/m.out" tabpipe_predlog_replayed_rows_total)" -gt 0 ]
}
start out --db "$db2" -m "$a" --spool "$T/spool" || exit 1
rm -f "$T/O.main.out"
start_load O
check "predictions are logged" wait_until 30 logged
pg_stop
http GET /health/ready
check "with the database away and a spool, ready" eq "$code" 200
check "the spool fills" wait_until 30 spooled
pg_start
check "and is sent once the database is back" wait_until 60 replayed
end_load O
curl -s --max-time 10 "$url/metrics" >"$T/m.out"
check "no prediction lost" test "$(metric "$T/m.out" tabpipe_predlog_lost_rows_total)" -eq 0
total=$(wc -l <"$T/O.all")
failed=$(awk '$1 != 200' "$T/O.all" | wc -l)
check "$total requests across the outage, none failed ($failed)" positive_eq "$total" $((total - failed))
stop "the server ends with 0, its log flushed"
apps=$(awk '$1 == 200 { split($2, f, "-"); n += f[5] } END { print n + 0 }' "$T/O.all")
yes_that "the predictions are the applications answered 200 ($apps)" \
	test "$(q2 "SELECT count(*) FROM predictions")" = "$apps"
yes_that "none twice" test "$(q2 "SELECT count(*) FROM (SELECT 1 FROM predictions GROUP BY request_id, request_item HAVING count(*) > 1) d")" = 0
awk '$1 == 200 { split($2, f, "-"); print $2, f[5] }' "$T/O.all" | LC_ALL=C sort >"$T/want"
q2 "SELECT request_id || ' ' || count(*) FROM predictions GROUP BY request_id" | LC_ALL=C sort >"$T/got"
check "each request's, with each of its applications" cmp -s "$T/want" "$T/got"
yes_that "items numbered from 0" test "$(q2 "SELECT count(*) FROM predictions WHERE request_item NOT IN (0, 1, 2)")" = 0
yes_that "some were sent from the spool" test "$(q2 "SELECT count(*) > 0 FROM prediction_batches WHERE spooled")" = t
yes_that "the spool is empty" test -z "$(find "$T/spool" -type f)"
sanitized
