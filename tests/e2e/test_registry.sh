#!/bin/sh
# tabpipe-registry: every listing as a table and as JSON, on a registry
# written with psql so that every value is known, with a model name that
# holds quotes, spaces and a non-ASCII character.
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
model="loan's \"model\" é"
# Times differ from run to run: each becomes a mask of the same width.
norm() {
	sed 's/20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z/YYYY-MM-DDThh:mm:ssZ/g' "$T/out"
}
# listing NAME ARGS... <<EXPECTED: tabpipe-registry ARGS exits 0 and prints
# EXPECTED once its times are masked.
listing() {
	name=$1
	shift
	cat >"$T/want"
	run_status "$name exits 0" 0 tabpipe-registry "$@"
	norm >"$T/got"
	if cmp -s "$T/want" "$T/got"; then
		ok "$name"
	else
		not_ok "$name"
		diff "$T/want" "$T/got" | sed 's/^/#   /'
	fi
}

run_status "--help exits 0" 0 tabpipe-registry --help
out_has "--help prints the usage" "usage: tabpipe-registry"
run_status "no listing exits 64" 64 tabpipe-registry
run_status "an unknown listing exits 64" 64 tabpipe-registry model
err_has "it names the listings" '"model" is not models, versions, runs, evaluations or audit'
run_status "versions without a name exits 64" 64 tabpipe-registry versions
run_status "models with a name exits 64" 64 tabpipe-registry models x
run_status "--tool with another listing exits 64" 64 tabpipe-registry --tool train models
run_status "a bad --limit exits 64" 64 tabpipe-registry runs --limit 0
run_status "no database exits 64" 64 env -u TABPIPE_DB tabpipe-registry models
run_status "an unreachable database exits 69" 69 tabpipe-registry --db "host=$T/nowhere connect_timeout=2" models

listing "an empty registry" --json models <<'EOF2'
[]
EOF2
psql "$TABPIPE_DB" -qAt -v ON_ERROR_STOP=1 -v m1="$model" <<'SQL'
INSERT INTO models (name) VALUES (:'m1'), ('plain');
WITH r AS (INSERT INTO runs (tool, status, host, pid, version, finished_at)
    VALUES ('train', 'finished', 'h', 1, 't', now()) RETURNING id)
INSERT INTO model_versions (model_id, version, path, sha256, run_id, metrics,
    stage)
SELECT m.id, n, '/models/' || n, repeat(n::text, 64), r.id,
    json_build_object('valid_auc', 0.7 + n / 100.0)::jsonb,
    CASE n WHEN 1 THEN 'Archived' ELSE 'Production' END
FROM models m, r, generate_series(1, 2) n WHERE m.name = :'m1';
INSERT INTO evaluations (run_id, version_id, model_sha256, data_fingerprint,
    rows, metrics)
SELECT v.run_id, v.id, v.sha256, 'abcdef0123456789', 1000,
    json_build_object('auc', 0.75 + v.version / 100.0, 'f1', 0.5,
    'log_loss', 0.4)::jsonb
FROM model_versions v ORDER BY v.version;
INSERT INTO stage_changes (version_id, from_stage, to_stage, reason)
SELECT v.id, 'None', 'Production', 'first, "quoted"' FROM model_versions v
WHERE v.version = 1;
INSERT INTO stage_changes (version_id, from_stage, to_stage, reason, db_user)
SELECT v.id, 'Production', 'Archived', 'replaced by version 2', 'someone'
FROM model_versions v WHERE v.version = 1;
INSERT INTO stage_changes (version_id, from_stage, to_stage, reason)
SELECT v.id, 'None', 'Production', 'better' FROM model_versions v
WHERE v.version = 2;
INSERT INTO runs (tool, status, host, pid, version, finished_at, error)
VALUES ('drift', 'failed', 'h', 2, 't', now(), E'line one\nline two');
SQL

listing "models, aligned by characters, not bytes" models <<'EOF2'
NAME              VERSIONS  PRODUCTION  LATEST  CREATED
loan's "model" é         2           2       2  YYYY-MM-DDThh:mm:ssZ
plain                    0           -       -  YYYY-MM-DDThh:mm:ssZ
EOF2
listing "models as JSON" --json models <<'EOF2'
[{"name":"loan's \"model\" é","versions":2,"production":2,"latest":2,"created":"YYYY-MM-DDThh:mm:ssZ"},{"name":"plain","versions":0,"production":null,"latest":null,"created":"YYYY-MM-DDThh:mm:ssZ"}]
EOF2
listing "versions" versions "$model" <<'EOF2'
VERSION  STAGE       CREATED               SHA256        RUN  VALID_AUC  EVAL_AUC
      1  Archived    YYYY-MM-DDThh:mm:ssZ  111111111111    1     0.7100    0.7600
      2  Production  YYYY-MM-DDThh:mm:ssZ  222222222222    1     0.7200    0.7700
EOF2
listing "versions as JSON" --json versions "$model" <<'EOF2'
[{"version":1,"stage":"Archived","created":"YYYY-MM-DDThh:mm:ssZ","sha256":"1111111111111111111111111111111111111111111111111111111111111111","run":1,"valid_auc":0.71,"eval_auc":0.76,"evaluation":1,"path":"/models/1","metrics":{"valid_auc":0.71}},{"version":2,"stage":"Production","created":"YYYY-MM-DDThh:mm:ssZ","sha256":"2222222222222222222222222222222222222222222222222222222222222222","run":1,"valid_auc":0.72,"eval_auc":0.77,"evaluation":2,"path":"/models/2","metrics":{"valid_auc":0.72}}]
EOF2
listing "a model without versions" versions plain <<'EOF2'
VERSION  STAGE  CREATED  SHA256  RUN  VALID_AUC  EVAL_AUC
EOF2
listing "evaluations" evaluations "$model" <<'EOF2'
ID  VERSION  CREATED               DATA          ROWS     AUC      F1  LOG_LOSS  RUN
 1        1  YYYY-MM-DDThh:mm:ssZ  abcdef012345  1000  0.7600  0.5000    0.4000    1
 2        2  YYYY-MM-DDThh:mm:ssZ  abcdef012345  1000  0.7700  0.5000    0.4000    1
EOF2
listing "evaluations as JSON" --json evaluations "$model" <<'EOF2'
[{"id":1,"version":1,"created":"YYYY-MM-DDThh:mm:ssZ","data":"abcdef0123456789","rows":1000,"auc":0.76,"f1":0.5,"log_loss":0.4,"run":1,"metrics":{"f1":0.5,"auc":0.76,"log_loss":0.4}},{"id":2,"version":2,"created":"YYYY-MM-DDThh:mm:ssZ","data":"abcdef0123456789","rows":1000,"auc":0.77,"f1":0.5,"log_loss":0.4,"run":1,"metrics":{"f1":0.5,"auc":0.77,"log_loss":0.4}}]
EOF2
listing "audit" audit "$model" <<'EOF2'
ID  CHANGED               VERSION  FROM        TO          USER     REASON
 1  YYYY-MM-DDThh:mm:ssZ        1  None        Production  tabpipe  first, "quoted"
 2  YYYY-MM-DDThh:mm:ssZ        1  Production  Archived    someone  replaced by version 2
 3  YYYY-MM-DDThh:mm:ssZ        2  None        Production  tabpipe  better
EOF2
listing "audit as JSON" --json audit "$model" <<'EOF2'
[{"id":1,"changed":"YYYY-MM-DDThh:mm:ssZ","version":1,"from":"None","to":"Production","user":"tabpipe","reason":"first, \"quoted\""},{"id":2,"changed":"YYYY-MM-DDThh:mm:ssZ","version":1,"from":"Production","to":"Archived","user":"someone","reason":"replaced by version 2"},{"id":3,"changed":"YYYY-MM-DDThh:mm:ssZ","version":2,"from":"None","to":"Production","user":"tabpipe","reason":"better"}]
EOF2

# -q has nothing to silence: the listing is the same.
listing "models with -q" -q models <<'EOF2'
NAME              VERSIONS  PRODUCTION  LATEST  CREATED
loan's "model" é         2           2       2  YYYY-MM-DDThh:mm:ssZ
plain                    0           -       -  YYYY-MM-DDThh:mm:ssZ
EOF2
run_status "-q keeps errors" 66 tabpipe-registry -q versions "loan's model"
err_has "naming the model" "no model named \"loan's model\""

run_status "runs, newest first" 0 tabpipe-registry runs
yes_that "two runs and a heading" test "$(wc -l <"$T/out")" -eq 3
yes_that "the newest first, its error on one line" grep -q '^ 2  drift  failed .*line one?line two$' "$T/out"
run_status "runs --tool --limit" 0 tabpipe-registry --json runs --tool train --limit 1
yes_that "one train run" test "$(grep -o '"tool":"[a-z]*"' "$T/out")" = '"tool":"train"'
run_status "runs --limit" 0 tabpipe-registry --json runs --limit 1
yes_that "the newest one" grep -q '^\[{"id":2,"tool":"drift","status":"failed",.*"error":"line one\\nline two"' "$T/out"

run_status "an unknown model exits 66" 66 tabpipe-registry versions "loan's model"
err_has "naming it" "no model named \"loan's model\""
run_status "its audit too" 66 tabpipe-registry audit nosuch
run_status "a full disk exits 74" 74 sh -c 'tabpipe-registry models >/dev/full'
