# Helpers for the end-to-end tests, sourced by each test file. Every check
# prints "ok - NAME" or "not ok - NAME" with the evidence, or, when it
# cannot run here, "ok - NAME # SKIP why" as TAP has it; run.sh counts
# the three apart.
# $T is a scratch folder of the test file's own, $DATA the data sets.

T=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
DATA=$(cd "$(dirname "$0")/../../data" && pwd)
export T DATA

# Each test file has a database of its own on the harness's server, so that
# no file depends on what another left there.
if [ -n "${TABPIPE_DB:-}" ]; then
	own_db=test_$(basename "$0" .sh)
	PGOPTIONS=--client-min-messages=warning psql "$TABPIPE_DB" -X -q \
		-c "DROP DATABASE IF EXISTS $own_db" \
		-c "CREATE DATABASE $own_db" >/dev/null ||
		{ echo "not ok - cannot create the database $own_db"; exit 1; }
	TABPIPE_DB=$(printf '%s\n' "$TABPIPE_DB" | sed "s/dbname=[^ ]*/dbname=$own_db/")
	export TABPIPE_DB
fi

ok() { echo "ok - $1"; }

# skip NAME WHY: a check that cannot run here, and why.
skip() { echo "ok - $1 # SKIP $2"; }

not_ok() {
	echo "not ok - $1"
	[ -s "$T/err" ] && sed 's/^/#   stderr: /' "$T/err" | head -n 10
	return 0
}

# run_status NAME WANT CMD...: runs CMD with its output in $T/out and
# $T/err, and checks its exit status.
run_status() {
	name=$1 want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$name"
	else
		not_ok "$name (exit $got, expected $want)"
	fi
}

# err_has NAME TEXT: the last command's stderr holds TEXT.
err_has() {
	if grep -qF -- "$2" "$T/err"; then ok "$1"; else not_ok "$1 (stderr lacks: $2)"; fi
}

# out_has NAME TEXT: the last command's stdout holds TEXT.
out_has() {
	if grep -qF -- "$2" "$T/out"; then ok "$1"; else not_ok "$1 (stdout lacks: $2)"; fi
}

# same NAME FILE1 FILE2: the two files are byte for byte equal.
same() {
	if cmp -s "$2" "$3"; then ok "$1"; else not_ok "$1 ($2 and $3 differ)"; fi
}

# differ NAME FILE1 FILE2
differ() {
	if cmp -s "$2" "$3"; then not_ok "$1 ($2 and $3 are equal)"; else ok "$1"; fi
}

# yes_that NAME CMD...: CMD succeeds.
yes_that() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name"; fi
}

# meta FILE KEY: the member KEY of a model file's __metadata__, raw.
meta() {
	n=$(od -A n -t u8 -N 8 "$1" | tr -d ' ')
	tail -c +9 "$1" | head -c "$n" | jq -r ".__metadata__.$2"
}
