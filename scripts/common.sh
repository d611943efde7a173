# shellcheck shell=sh
# Shell functions that scripts/pipeline and scripts/monitor share; sourced,
# not run. The settings come from the environment, with these defaults:
#
#   TABPIPE_DB      the database (libpq conninfo or URI); required
#   TABPIPE_HOME    the state folder: models, runs, logs, metrics (var)
#   TABPIPE_MODEL   the registered model's name (loans)
#   TABPIPE_BIN     where the tools are (by default the PATH's, or else
#                   build/bin of this checkout)
#
# The database reaches the tools through the environment (TABPIPE_DB,
# which each of them reads), never on a command line: a command line is
# logged here and shown by ps(1) to every user, and TABPIPE_DB may hold a
# password. psql, which does not read TABPIPE_DB, gets the connection
# string without its password, and the password in PGPASSWORD.

: "${TABPIPE_HOME:=var}"
: "${TABPIPE_MODEL:=loans}"
if [ -z "${TABPIPE_BIN:-}" ] && ! command -v tabpipe-train >/dev/null 2>&1; then
	TABPIPE_BIN=$(cd "$(dirname "$0")/.." && pwd)/build/bin
fi
[ -z "${TABPIPE_BIN:-}" ] || PATH="$TABPIPE_BIN:$PATH"
export TABPIPE_HOME TABPIPE_MODEL PATH

script=$(basename "$0")
started=$(date +%s)

# log MESSAGE...: one timestamped line on standard error.
log() {
	printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$script" "$*" >&2
}

# die STATUS MESSAGE...: logs and exits.
die() {
	status=$1
	shift
	log "$*"
	exit "$status"
}

# need_db: stops unless a database is configured.
need_db() {
	[ -n "${TABPIPE_DB:-}" ] || die 64 "no database: set TABPIPE_DB" \
		"(a local one: scripts/pg-server start var/pg)"
	export TABPIPE_DB
}

# take_lock NAME: stops at once when another run holds the lock; a script
# started by one that holds it (TABPIPE_LOCKED) runs under the same lock.
take_lock() {
	[ -n "${TABPIPE_LOCKED:-}" ] && return 0
	mkdir -p "$TABPIPE_HOME"
	exec 9>>"$TABPIPE_HOME/$1.lock"
	flock -n 9 || die 75 "another run holds $TABPIPE_HOME/$1.lock; not starting"
	TABPIPE_LOCKED=$1
	export TABPIPE_LOCKED
}

# step NAME CMD...: runs one step of the work, logged; a failing step
# stops the script with the step's status.
step() {
	name=$1
	shift
	log "$name: $*"
	"$@" || {
		status=$?
		die "$status" "$name failed (exit $status); stopped"
	}
}

# json_number KEY FILE: the first number that a "KEY": holds in FILE (the
# tools' reports put the summary metrics first).
json_number() {
	# shellcheck disable=SC2020 # each of the three becomes a newline
	tr ',{}' '\n\n\n' <"$2" |
		sed -n "s/^[[:space:]]*\"$1\"[[:space:]]*:[[:space:]]*\([-+0-9.eE]*\)[[:space:]]*\$/\1/p" |
		head -n 1
}

# db_part conninfo|password: TABPIPE_DB without its password, or the
# password alone (nothing when it has none). TABPIPE_DB is read as libpq
# reads it: keyword=value pairs (a value in single quotes, backslash
# escapes), a postgresql:// URI whose password is after the user
# (user:password@) or a parameter (password=), percent-encoded, or a
# database name alone.
db_part() {
	printf '%s' "$TABPIPE_DB" | LC_ALL=C awk -v want="$1" '
	function decode(s,   out, i, c) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "%" && substr(s, i + 1, 2) ~ /^[0-9A-Fa-f][0-9A-Fa-f]$/) {
				out = out sprintf("%c", hex(substr(s, i + 1, 2)))
				i += 2
			} else
				out = out c
		}
		return out
	}
	function hex(s,   n, i) {
		n = 0
		for (i = 1; i <= 2; i++)
			n = n * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
		return n
	}
	function quote(s,   out, i, c) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			out = out (c == "\\" || c == "\047" ? "\\" : "") c
		}
		return "\047" out "\047"
	}
	function uri(s,   scheme, rest, q, query, at, slash, user, n, i, kv, params, sep) {
		match(s, /^postgres(ql)?:\/\//)
		scheme = substr(s, 1, RLENGTH)
		rest = substr(s, RLENGTH + 1)
		if ((q = index(rest, "?")) > 0) {
			query = substr(rest, q + 1)
			rest = substr(rest, 1, q - 1)
		}
		slash = index(rest, "/")
		at = index(rest, "@")
		if (at > 0 && (slash == 0 || at < slash)) {
			user = substr(rest, 1, at - 1)
			rest = substr(rest, at)
			if ((i = index(user, ":")) > 0) {
				password = decode(substr(user, i + 1))
				user = substr(user, 1, i - 1)
			}
			rest = user rest
		}
		params = ""
		sep = "?"
		n = split(query, kv, "&")
		for (i = 1; i <= n; i++) {
			if (kv[i] ~ /^password=/) {
				password = decode(substr(kv[i], 10))
				continue
			}
			params = params sep kv[i]
			sep = "&"
		}
		return scheme rest params
	}
	function pairs(s,   out, i, n, c, key, value) {
		out = ""
		n = length(s)
		i = 1
		while (i <= n) {
			while (i <= n && substr(s, i, 1) ~ /[ \t\n\r\f\v]/)
				i++
			if (i > n)
				break
			key = ""
			while (i <= n && (c = substr(s, i, 1)) != "=" && c !~ /[ \t\n\r\f\v]/) {
				key = key c
				i++
			}
			while (i <= n && substr(s, i, 1) ~ /[ \t\n\r\f\v]/)
				i++
			i++ # the "="
			while (i <= n && substr(s, i, 1) ~ /[ \t\n\r\f\v]/)
				i++
			value = ""
			if (substr(s, i, 1) == "\047") {
				for (i++; i <= n && (c = substr(s, i, 1)) != "\047"; i++) {
					if (c == "\\")
						c = substr(s, ++i, 1)
					value = value c
				}
				i++
			} else {
				for (; i <= n && (c = substr(s, i, 1)) !~ /[ \t\n\r\f\v]/; i++) {
					if (c == "\\")
						c = substr(s, ++i, 1)
					value = value c
				}
			}
			if (key == "password")
				password = value
			else
				out = out (out == "" ? "" : " ") key "=" quote(value)
		}
		return out
	}
	{ s = s (NR > 1 ? "\n" : "") $0 }
	END {
		password = ""
		# A string without "=" is a database name.
		rest = s ~ /^postgres(ql)?:\/\// ? uri(s) : index(s, "=") ? pairs(s) : s
		printf "%s", want == "password" ? password : rest
	}'
}

# with_db CMD ARG...: runs CMD, a client of libpq (psql, pg_dump,
# pg_restore), as CMD -d CONNINFO ARG..., where CONNINFO is TABPIPE_DB
# without its password: the password goes to CMD in PGPASSWORD, its
# environment, not on its command line.
with_db() {
	(
		cmd=$1
		shift
		conninfo=$TABPIPE_DB
		password=$(db_part password)
		if [ -n "$password" ]; then
			conninfo=$(db_part conninfo)
			PGPASSWORD=$password
			export PGPASSWORD
		fi
		exec "$cmd" -d "$conninfo" "$@"
	)
}

# sql VAR=VALUE... <QUERY: runs a query given on standard input with psql,
# the values passed as psql variables (used as :'VAR', which psql quotes),
# and prints the result unaligned, one row a line.
sql() {
	n=$#
	for kv in "$@"; do
		set -- "$@" -v "$kv"
	done
	shift "$n"
	with_db psql -X -q -A -t -v ON_ERROR_STOP=1 "$@" -f -
}

# production_version: the number of the model's Production version, or
# nothing.
production_version() {
	sql model="$TABPIPE_MODEL" <<'EOF'
SELECT v.version FROM model_versions v JOIN models m ON m.id = v.model_id
WHERE m.name = :'model' AND v.stage = 'Production';
EOF
}

# The metrics files, in $TABPIPE_HOME/metrics, are for node_exporter's
# textfile collector (scripts/prometheus/README.md). Each metric name has
# one owner: scripts/pipeline writes the tabpipe_pipeline_* names and
# tabpipe_production_version, scripts/monitor the tabpipe_monitor_* names,
# tabpipe-serve its own on /metrics; and every series the scripts write
# has a model label, the model's registry name.

# prom_escape TEXT: TEXT as a label value of Prometheus's text format
# writes it (backslash, double quote and newline escaped).
prom_escape() {
	printf '%s\n' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' |
		awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }'
}

# The label that every series carries: model="NAME".
prom_model="model=\"$(prom_escape "$TABPIPE_MODEL")\""

# prom_help NAME TYPE HELP...: the HELP and TYPE lines of a metric.
prom_help() {
	name=$1 type=$2
	shift 2
	printf '# HELP %s %s\n# TYPE %s %s\n' "$name" "$*" "$name" "$type"
}

# prom_series NAME VALUE [LABELS]: one series, with the model's label
# first and LABELS (as k="v",k2="v2", already escaped) after it.
prom_series() {
	printf '%s{%s%s} %s\n' "$1" "$prom_model" "${3:+,$3}" "$2"
}

# prom_value FILE NAME: the value of the model's series NAME in FILE (the
# first when it has several), or nothing.
prom_value() {
	[ -f "$1" ] || return 0
	P="$2{$prom_model" awk 'index($0, ENVIRON["P"]) == 1 { print $NF; exit }' "$1"
}

# prom_carry FILE NAME...: the model's series of the metrics NAME... in
# FILE, with their HELP and TYPE lines, as they are there: the figures of
# an earlier run that this one kept.
prom_carry() {
	[ -f "$1" ] || return 0
	f=$1
	shift
	P="{$prom_model" awk -v names="$*" '
	BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
	/^# (HELP|TYPE) / { if (want[$3]) head[$3] = head[$3] $0 "\n"; next }
	{
		name = $0
		sub(/[{ ].*/, "", name)
		if (want[name] && index($0, name ENVIRON["P"]) == 1)
			body[name] = body[name] $0 "\n"
	}
	END {
		for (i = 1; i <= n; i++)
			if (body[list[i]] != "")
				printf "%s%s", head[list[i]], body[list[i]]
	}' "$f"
}

# prom_write FILE: standard input to FILE, atomically, for Prometheus's
# textfile collector (which must never read half a file).
prom_write() {
	mkdir -p "$(dirname "$1")"
	cat >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
}

# elapsed: seconds since the script started.
elapsed() {
	echo $(($(date +%s) - started))
}
