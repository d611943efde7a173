# shellcheck shell=sh
# Shell functions that scripts/pipeline and scripts/monitor share; sourced,
# not run. The settings come from the environment, with these defaults:
#
#   TABPIPE_DB      the database (libpq conninfo or URI); required
#   TABPIPE_HOME    the state folder: models, runs, logs, metrics (var)
#   TABPIPE_MODEL   the registered model's name (loans)
#   TABPIPE_BIN     where the tools are (by default the PATH's, or else
#                   build/bin of this checkout)

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

# sql VAR=VALUE... <QUERY: runs a query given on standard input with psql,
# the values passed as psql variables (used as :'VAR', which psql quotes),
# and prints the result unaligned, one row a line.
sql() {
	n=$#
	for kv in "$@"; do
		set -- "$@" -v "$kv"
	done
	shift "$n"
	psql "$TABPIPE_DB" -X -q -A -t -v ON_ERROR_STOP=1 "$@" -f -
}

# production_version: the number of the model's Production version, or
# nothing.
production_version() {
	sql model="$TABPIPE_MODEL" <<'EOF'
SELECT v.version FROM model_versions v JOIN models m ON m.id = v.model_id
WHERE m.name = :'model' AND v.stage = 'Production';
EOF
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
