#!/bin/sh
# HTTP serving benchmark: tabpipe-serve against the same model in PyTorch
# behind FastAPI on uvicorn (bench/http_peer.py, the same request contract),
# both on this machine's cores, driven by wrk (bench/http_wrk.lua).
#
# A model of the default size is trained for one epoch on
# data/lending_club.csv, as bench/serve.sh does. Its first rows become the
# request bodies: one application (a JSON object of raw values, NA as null)
# and a batch of BATCH (default 100) of them (a JSON array). The servers
# are started side by side and checked to give the same probabilities for
# the same bodies; then, taking turns, each is loaded by wrk at 1, 16 and 64
# connections (CONNECTIONS) for DURATION seconds (default 10), single and
# batch, and the table gives requests a second, p50 and p99 latency, the
# failed requests (HTTP status >= 400 and socket errors) and the ratio of
# tabpipe-serve's requests a second to each peer's. The peer runs with one
# uvicorn worker and with one a core (PEER_WORKERS, default "1 NPROC"),
# each worker with PEER_TORCH_THREADS PyTorch threads (default 1, its
# fastest here: see bench/http_peer.py). The fair peer is the one with a
# worker a core, on as many cores as tabpipe-serve's two scoring threads;
# one worker is held to about one core by Python's lock. The table's last
# line gives tabpipe-serve's ratio to the faster peer of each row. wrk
# (two threads) runs on the same cores and takes its share of them.
#
# Then tabpipe-serve alone:
#   memory   VmRSS and VmHWM (/proc/PID/status) at start, after the
#            warm-up, after the table, and after each wrk run of single
#            requests (16 connections, MEM_DURATION seconds, default 30)
#            until MEM_REQUESTS (default 1,000,000) have been answered;
#            RSS grew when it ends over 1 MiB above where the runs began.
#   reloads  POST /v1/reload every 0.5 s, with an admin token of a tokens
#            file (mode 600), while wrk sends single requests for
#            RELOAD_DURATION seconds (default 10): every reload and every
#            request must succeed.
# MEM_REQUESTS=0 or RELOAD_DURATION=0 leaves a part out. Without
# BUILD/bin/tabpipe-serve (BUILD default build) only the peer is measured.
# The exit status is 1 when a request failed, the answers differed, RSS
# grew or a reload failed. Run with `make bench-http`, or
#
#   DURATION=2 MEM_REQUESTS=100000 sh bench/http.sh
set -eu
cd "$(dirname "$0")/.."
duration=${DURATION:-10}
conns=${CONNECTIONS:-1 16 64}
batch=${BATCH:-100}
cores=$(nproc)
peer_workers=${PEER_WORKERS:-$(printf '%s\n' 1 "$cores" | sort -nu | tr '\n' ' ')}
mem_requests=${MEM_REQUESTS:-1000000}
mem_duration=${MEM_DURATION:-30}
reload_duration=${RELOAD_DURATION:-10}
torch_threads=${PEER_TORCH_THREADS:-1}
python=${PYTHON:-/usr/bin/python3}
bin=${BUILD:-build}/bin
unset TABPIPE_DB

for tool in tabpipe-ingest tabpipe-train; do
	if [ ! -x "$bin/$tool" ]; then
		echo "http.sh: $bin/$tool is missing: run make first" >&2
		exit 1
	fi
done
if ! command -v wrk >/dev/null || ! command -v curl >/dev/null; then
	echo "http.sh: needs wrk and curl (Debian packages wrk, curl)" >&2
	exit 1
fi
if ! "$python" -c 'import torch, fastapi, uvicorn' 2>/dev/null; then
	echo "http.sh: $python lacks torch, fastapi or uvicorn (Debian python3-torch, python3-fastapi, python3-uvicorn)" >&2
	exit 1
fi

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-http.XXXXXX")
pids=
reloader=
# Every server and loop this script started is stopped, whatever the exit.
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	for p in $reloader $pids; do kill "$p" 2>/dev/null || true; done
	for p in $reloader $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
failed=0

echo "training a model of the default size for one epoch..." >&2
"$bin/tabpipe-ingest" -q --target Class --positive bad --fit "$work/enc.json" \
	--split 70/15/15 --seed 1 --out "$work/lc" data/lending_club.csv
"$bin/tabpipe-train" -q --epochs 1 --valid "$work/lc.valid.tps" \
	-o "$work/lending_club.safetensors" "$work/lc.train.tps"
model=$work/lending_club.safetensors

# The CSV's first rows as applications, the record number as id.
sh scripts/applications -n "$batch" -t Class data/lending_club.csv >"$work/apps.jsonl"
head -n 1 "$work/apps.jsonl" >"$work/single.json"
{ printf '['; paste -sd, "$work/apps.jsonl"; printf ']\n'; } >"$work/batch.json"

# "name url" of each server, in the order they take turns.
servers=$work/servers
: >"$servers"

# Waits up to 60 s for GET /health/ready of $1 to answer 200.
ready() {
	i=0
	while [ $i -lt 600 ]; do
		if curl -fs -o /dev/null "$1/health/ready"; then return 0; fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "http.sh: $1 did not become ready" >&2
	return 1
}

free_port() {
	"$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

tp_pid=
if [ -x "$bin/tabpipe-serve" ]; then
	# A tokens file as tabpipe-serve wants it: ROLE NAME TOKEN, mode 600.
	token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	echo "admin bench $token" >"$work/tokens"
	chmod 600 "$work/tokens"
	echo "Authorization: Bearer $token" >"$work/auth"
	"$bin/tabpipe-serve" -m "$model" --listen 127.0.0.1:0 --tokens "$work/tokens" \
		2>"$work/serve.log" &
	tp_pid=$!
	pids="$pids $tp_pid"
	i=0
	port=
	while [ -z "$port" ] && [ $i -lt 100 ] && kill -0 "$tp_pid" 2>/dev/null; do
		sleep 0.1
		port=$(sed -n 's|^tabpipe-serve: listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' \
			"$work/serve.log" | head -n 1)
		i=$((i + 1))
	done
	if [ -z "$port" ]; then
		echo "http.sh: tabpipe-serve did not say where it listens:" >&2
		cat "$work/serve.log" >&2
		exit 1
	fi
	ready "http://127.0.0.1:$port"
	echo "tabpipe-serve http://127.0.0.1:$port" >>"$servers"
else
	echo "http.sh: $bin/tabpipe-serve is not built: measuring the FastAPI peer alone" >&2
fi

rss() { awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { print r, h }' "/proc/$tp_pid/status"; }
[ -n "$tp_pid" ] && rss_start=$(rss)

for w in $peer_workers; do
	port=$(free_port)
	TABPIPE_PEER_MODEL=$model WEB_CONCURRENCY=$w \
		TABPIPE_PEER_TORCH_THREADS=$torch_threads \
		"$python" -m uvicorn --app-dir bench http_peer:app --host 127.0.0.1 \
		--port "$port" --workers "$w" --no-access-log --log-level warning \
		2>"$work/peer$w.log" &
	pids="$pids $!"
	ready "http://127.0.0.1:$port"
	echo "fastapi-${w}w http://127.0.0.1:$port" >>"$servers"
done

# The same bodies to every server: all answer 200 and give the same
# probabilities as the first (float32 models: within 1e-4).
while read -r name url; do
	for body in single batch; do
		code=$(curl -s -o "$work/$name.$body.out" -w '%{http_code}' \
			-H 'Content-Type: application/json' --data-binary "@$work/$body.json" \
			"$url/v1/predict")
		if [ "$code" != 200 ]; then
			echo "http.sh: $name answered $code to the $body body:" >&2
			cat "$work/$name.$body.out" >&2
			exit 1
		fi
	done
done <"$servers"
# shellcheck disable=SC2046 # one file name a server, without spaces
"$python" - $(awk -v w="$work" '{ print w "/" $1 ".single.out", w "/" $1 ".batch.out" }' "$servers") <<'EOF' || failed=1
import json, sys
files = sys.argv[1:]
def probs(single, batch):
    s, b = json.load(open(single)), json.load(open(batch))
    return [s["probability"]] + [p["probability"] for p in b["predictions"]], \
        [s["label"]] + [p["label"] for p in b["predictions"]]
first, labels = probs(files[0], files[1])
worst = 0.0
for i in range(2, len(files), 2):
    p, l = probs(files[i], files[i + 1])
    worst = max([worst] + [abs(x - y) for x, y in zip(first, p)])
    if len(p) != len(first):
        sys.exit("http.sh: the servers answered different numbers of applications")
print(f"answers: {len(first)} probabilities a server, max |difference| {worst:.2e} (limit 1e-4): "
      + ("same" if worst <= 1e-4 else "DIFFERENT"))
sys.exit(worst > 1e-4)
EOF

# wrk: run NAME URL BODY CONNECTIONS SECONDS; sets requests, rps, p50,
# p99 (us) and bad (failed requests: HTTP errors and socket errors) from
# its RESULT line; wrk's output is kept in $work/wrk.out.
run() {
	threads=$(($4 < 2 ? $4 : 2))
	wrk -t "$threads" -c "$4" -d "$5s" --timeout 10s --latency -s bench/http_wrk.lua \
		"$2/v1/predict" -- "$work/$3.json" >"$work/wrk.out" 2>&1 || {
		echo "http.sh: wrk failed against $1:" >&2
		cat "$work/wrk.out" >&2
		exit 1
	}
	sed -n 's/^RESULT //p' "$work/wrk.out" |
		awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); printf "%s%s", kv[2], i < NF ? " " : "\n" } }' \
		>"$work/result"
	read -r requests _ rps p50 p99 _ herr conn rd wr tmo <"$work/result"
	bad=$((herr + conn + rd + wr + tmo))
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $cores cores" >&2
echo "warming up..." >&2
while read -r name url; do
	for body in single batch; do run "$name" "$url" "$body" 16 2; done
done <"$servers"
[ -n "$tp_pid" ] && rss_warm=$(rss)

# The table's rows: body connections server rps p50_us p99_us failed.
results=$work/results
: >"$results"
for body in single batch; do
	for c in $conns; do
		while read -r name url; do
			echo "$body, $c connections: $name..." >&2
			run "$name" "$url" "$body" "$c" "$duration"
			echo "$body $c $name $rps $p50 $p99 $bad" >>"$results"
		done <"$servers"
	done
done
[ -n "$tp_pid" ] && rss_table=$(rss)

echo
echo "POST /v1/predict, $duration s a run, wrk threads min(2, connections); batch = $batch applications a request"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $cores cores"
awk -v batch="$batch" '
BEGIN {
	printf "%-7s %5s  %-14s %10s %12s %9s %9s %7s  %s\n", "body", "conns", "server",
	    "requests/s", "applications/s", "p50 ms", "p99 ms", "failed", "tabpipe/this"
}
{
	if ($3 == "tabpipe-serve") tp[$1 " " $2] = $4
	apps = $1 == "batch" ? $4 * batch : $4
	ratio = ($1 " " $2) in tp && $3 != "tabpipe-serve" ? sprintf("%.2fx", tp[$1 " " $2] / $4) : "-"
	printf "%-7s %5d  %-14s %10.0f %12.0f %9.3f %9.3f %7d  %s\n", $1, $2, $3, $4, apps,
	    $5 / 1000, $6 / 1000, $7, ratio
	bad += $7
	k = $1 " " $2
	if ($3 != "tabpipe-serve" && $4 > best[k]) best[k] = $4
	if (!(k in seen)) { seen[k] = 1; order[++n] = k }
}
END {
	printf "failed requests in the table: %d\n", bad
	line = ""
	for (i = 1; i <= n; i++)
		if ((order[i] in tp) && best[order[i]] > 0)
			line = line sprintf("%s%s: %.2fx", line == "" ? "" : ", ", order[i],
			    tp[order[i]] / best[order[i]])
	if (line != "") print "tabpipe-serve / the faster peer: " line
}' "$results"
if awk '{ bad += $7 } END { exit bad == 0 }' "$results"; then failed=1; fi

if [ -n "$tp_pid" ] && [ "$mem_requests" -gt 0 ]; then
	echo
	echo "tabpipe-serve memory (KiB: VmRSS VmHWM):"
	echo "  at start:          $rss_start"
	echo "  after warm-up:     $rss_warm"
	echo "  after the table:   $rss_table"
	url=$(awk '$1 == "tabpipe-serve" { print $2 }' "$servers")
	total=0
	mem_bad=0
	while [ "$total" -lt "$mem_requests" ]; do
		run tabpipe-serve "$url" single 16 "$mem_duration"
		total=$((total + requests))
		mem_bad=$((mem_bad + bad))
		echo "  after $total single requests: $(rss) ($rps requests/s)"
	done
	before=${rss_table%% *}
	after=$(rss)
	after=${after%% *}
	growth=$((after - before))
	verdict="did not grow"
	if [ "$growth" -gt 1024 ]; then verdict="GREW"; failed=1; fi
	echo "  RSS after $total single requests: $after KiB, $growth KiB from after the table (limit 1024): $verdict"
	echo "  failed requests: $mem_bad"
	[ "$mem_bad" -eq 0 ] || failed=1
fi

if [ -n "$tp_pid" ] && [ "$reload_duration" -gt 0 ]; then
	url=$(awk '$1 == "tabpipe-serve" { print $2 }' "$servers")
	: >"$work/reloads"
	(
		while :; do
			curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "@$work/auth" \
				"$url/v1/reload" >>"$work/reloads" || echo 000 >>"$work/reloads"
			sleep 0.5
		done
	) &
	reloader=$!
	run tabpipe-serve "$url" single 16 "$reload_duration"
	kill "$reloader"
	wait "$reloader" 2>/dev/null || true
	reloader=
	reloads=$(wc -l <"$work/reloads")
	ok=$(grep -c '^200$' "$work/reloads" || true)
	echo
	echo "reloads under load: $reloads POST /v1/reload ($ok answered 200) during $requests single requests at 16 connections, $bad failed"
	if [ "$ok" -ne "$reloads" ] || [ "$reloads" -eq 0 ] || [ "$bad" -ne 0 ]; then failed=1; fi
fi

if [ "$failed" -ne 0 ]; then
	echo "http.sh: a check failed (see above)" >&2
fi
exit "$failed"
