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
err_has "it names the listings" '"model" is not models, versions, runs, evaluations, audit, epochs or compare'
run_status "versions without a name exits 64" 64 tabpipe-registry versions
run_status "epochs without a version exits 64" 64 tabpipe-registry epochs
run_status "compare with one version exits 64" 64 tabpipe-registry compare "m@1"
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
[{"version":1,"stage":"Archived","created":"YYYY-MM-DDThh:mm:ssZ","sha256":"1111111111111111111111111111111111111111111111111111111111111111","run":1,"valid_auc":0.71,"eval_auc":0.76,"evaluation":1,"path":"/models/1","stored":false,"metrics":{"valid_auc":0.71}},{"version":2,"stage":"Production","created":"YYYY-MM-DDThh:mm:ssZ","sha256":"2222222222222222222222222222222222222222222222222222222222222222","run":1,"valid_auc":0.72,"eval_auc":0.77,"evaluation":2,"path":"/models/2","stored":false,"metrics":{"valid_auc":0.72}}]
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

# The epochs of a version: its run's, and its file's history for the epochs
# the run did not record. The files are safetensors files of metadata
# alone, which is all the history needs: model_file PATH [HISTORY].
model_file() {
	header=$(jq -cn --arg h "${2-}" '{"__metadata__":({"format":"tabpipe-model"} +
		if $h == "" then {} else {"history":$h} end)}')
	# shellcheck disable=SC2059 # the format is the length's bytes
	printf "$(printf '\\%03o' "${#header}")\\0\\0\\0\\0\\0\\0\\0" >"$1"
	printf %s "$header" >>"$1"
}
model_file "$T/h3.safetensors" '[{"epoch":1,"loss":0.61,"valid_auc":0.7,"valid_loss":0.58,"best":true},{"epoch":2,"loss":0.55,"valid_auc":0.69,"valid_loss":0.57,"best":false}]'
model_file "$T/h4.safetensors" '[{"epoch":1,"loss":0.62},{"epoch":2,"loss":0.5},{"epoch":3,"loss":0.45}]'
model_file "$T/bad.safetensors" '[{"loss":0.62}]'
model_file "$T/old.safetensors"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
psql "$TABPIPE_DB" -qAt -v ON_ERROR_STOP=1 -v m1="$model" -v p3="$T/h3.safetensors" \
	-v s3="$(sha "$T/h3.safetensors")" -v p4="$T/h4.safetensors" -v s4="$(sha "$T/h4.safetensors")" \
	-v p5="$T/bad.safetensors" -v s5="$(sha "$T/bad.safetensors")" \
	-v p6="$T/old.safetensors" -v s6="$(sha "$T/old.safetensors")" <<'SQL'
INSERT INTO epochs (run_id, epoch, metrics) VALUES
    (1, 1, '{"loss": 0.6, "valid_auc": 0.7, "valid_log_loss": 0.55, "best": true, "rows_per_s": 51234.4, "seconds": 1.25}'),
    (1, 2, '{"loss": 0.5, "valid_auc": 0.68, "valid_log_loss": 0.56, "best": false, "rows_per_s": 50110, "seconds": 1.5}');
WITH r AS (INSERT INTO runs (tool, status, host, pid, version, finished_at, params)
    VALUES ('train', 'finished', 'h', 3, 't', now(), '{"lr": 1e-05, "epochs": 3}') RETURNING id),
p AS (INSERT INTO epochs (run_id, epoch, metrics)
    SELECT r.id, 3, '{"loss": 0.44, "seconds": 2}' FROM r)
INSERT INTO model_versions (model_id, version, path, sha256, run_id, metrics)
SELECT m.id, 4, :'p4', :'s4', r.id, '{"valid_auc": 0.7, "threshold": 0.3}'
FROM models m, r WHERE m.name = :'m1';
INSERT INTO model_versions (model_id, version, path, sha256, run_id, metrics)
SELECT m.id, 3, :'p3', :'s3', NULL, '{}' FROM models m WHERE m.name = :'m1';
INSERT INTO model_versions (model_id, version, path, sha256, run_id, metrics)
SELECT m.id, 5, :'p5', :'s5', NULL, '{}' FROM models m WHERE m.name = :'m1';
INSERT INTO model_versions (model_id, version, path, sha256, run_id, metrics)
SELECT m.id, 6, :'p6', :'s6', NULL, '{}' FROM models m WHERE m.name = :'m1';
UPDATE runs SET params = '{"lr": 0.001, "epochs": 30, "device": "cpu"}' WHERE id = 1;
SQL
listing "epochs of a run" epochs "$model@1" <<'EOF2'
EPOCH    LOSS  VALID_AUC  VALID_LOSS  BEST   ROWS/S  SECONDS  SOURCE
    1  0.6000     0.7000      0.5500  true    51234   1.2500  database
    2  0.5000     0.6800      0.5600  false   50110   1.5000  database
EOF2
listing "epochs as JSON" --json epochs "$model@1" <<'EOF2'
[{"epoch":1,"loss":0.6,"valid_auc":0.7,"valid_loss":0.55,"best":true,"rows_per_s":51234.4,"seconds":1.25,"source":"database"},{"epoch":2,"loss":0.5,"valid_auc":0.68,"valid_loss":0.56,"best":false,"rows_per_s":50110,"seconds":1.5,"source":"database"}]
EOF2
listing "epochs of a file without a run: its history" epochs "$model@3" <<'EOF2'
EPOCH    LOSS  VALID_AUC  VALID_LOSS  BEST   ROWS/S  SECONDS  SOURCE
    1  0.6100     0.7000      0.5800  true        -        -  file
    2  0.5500     0.6900      0.5700  false       -        -  file
EOF2
listing "a resumed run's epochs: the file's for those the run did not record" --json epochs "$model@4" <<'EOF2'
[{"epoch":1,"loss":0.62,"valid_auc":null,"valid_loss":null,"best":null,"rows_per_s":null,"seconds":null,"source":"file"},{"epoch":2,"loss":0.5,"valid_auc":null,"valid_loss":null,"best":null,"rows_per_s":null,"seconds":null,"source":"file"},{"epoch":3,"loss":0.44,"valid_auc":null,"valid_loss":null,"best":null,"rows_per_s":null,"seconds":2,"source":"database"}]
EOF2
listing "a file of before histories, without a run, has none" epochs "$model@6" <<'EOF2'
EPOCH  LOSS  VALID_AUC  VALID_LOSS  BEST  ROWS/S  SECONDS  SOURCE
EOF2
run_status "a history that is not one exits 65" 65 tabpipe-registry epochs "$model@5"
err_has "saying so" "its history is not the epochs of a training"
printf 'x' >>"$T/h3.safetensors"
run_status "a file changed since it was registered exits 65" 65 tabpipe-registry epochs "$model@3"
err_has "saying so" "is not the file registered as version 3"
run_status "an unknown version exits 66" 66 tabpipe-registry epochs "$model@9"
run_status "a file name is no reference (64)" 64 tabpipe-registry epochs "$T/h4.safetensors"

short=$(sha "$T/h4.safetensors" | cut -c1-12)
listing "compare: what, the runs' parameters, the metrics, the newest evaluations" \
	compare "$model@1" "$model@4" <<EOF2
SECTION     NAME       loan's "model" é@1    loan's "model" é@4    DIFFERENCE
version     model      loan's "model" é      loan's "model" é               -
version     version    1                     4                              -
version     stage      Archived              None                           -
version     created    YYYY-MM-DDThh:mm:ssZ  YYYY-MM-DDThh:mm:ssZ           -
version     sha256     111111111111          $short                   -
version     run        1                     3                              -
param       device     cpu                   -                              -
param       epochs     30                    3                            -27
param       lr         0.001                 1e-05                   -0.00099
metric      threshold  -                     0.3                            -
metric      valid_auc  0.71                  0.7                        -0.01
evaluation  id         1                     -                              -
evaluation  created    YYYY-MM-DDThh:mm:ssZ  -                              -
evaluation  data       abcdef0123456789      -                              -
evaluation  rows       1000                  -                              -
evaluation  auc        0.76                  -                              -
evaluation  f1         0.5                   -                              -
evaluation  log_loss   0.4                   -                              -
EOF2
listing "compare as JSON, the difference b - a" --json compare "$model@1" "$model@2" <<'EOF2'
[{"section":"version","name":"model","a":"loan's \"model\" é","b":"loan's \"model\" é","difference":null},{"section":"version","name":"version","a":1,"b":2,"difference":null},{"section":"version","name":"stage","a":"Archived","b":"Production","difference":null},{"section":"version","name":"created","a":"YYYY-MM-DDThh:mm:ssZ","b":"YYYY-MM-DDThh:mm:ssZ","difference":null},{"section":"version","name":"sha256","a":"1111111111111111111111111111111111111111111111111111111111111111","b":"2222222222222222222222222222222222222222222222222222222222222222","difference":null},{"section":"version","name":"run","a":1,"b":1,"difference":null},{"section":"param","name":"device","a":"cpu","b":"cpu","difference":null},{"section":"param","name":"epochs","a":30,"b":30,"difference":0},{"section":"param","name":"lr","a":0.001,"b":0.001,"difference":0},{"section":"metric","name":"valid_auc","a":0.71,"b":0.72,"difference":0.01},{"section":"evaluation","name":"id","a":1,"b":2,"difference":null},{"section":"evaluation","name":"created","a":"YYYY-MM-DDThh:mm:ssZ","b":"YYYY-MM-DDThh:mm:ssZ","difference":null},{"section":"evaluation","name":"data","a":"abcdef0123456789","b":"abcdef0123456789","difference":null},{"section":"evaluation","name":"rows","a":1000,"b":1000,"difference":0},{"section":"evaluation","name":"auc","a":0.76,"b":0.77,"difference":0.01},{"section":"evaluation","name":"f1","a":0.5,"b":0.5,"difference":0},{"section":"evaluation","name":"log_loss","a":0.4,"b":0.4,"difference":0}]
EOF2
run_status "compare of an unknown version exits 66" 66 tabpipe-registry compare "$model@1" "$model@9"
err_has "naming it" "@9: no such model version"

# A model trained and registered: its run's epochs are its file's history,
# with their times.
tabpipe-ingest -q --target Status --positive bad --split 70/15/15 --seed 3 \
	--out "$T/cd" "$DATA/credit_data.csv"
for seed in 1 2; do
	tabpipe-train -q --layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 \
		--batch 128 --epochs 2 --seed $seed --name trained --valid "$T/cd.valid.tps" \
		-o "$T/trained$seed.safetensors" "$T/cd.train.tps"
done
run_status "epochs of a trained version" 0 tabpipe-registry --json epochs trained@1
yes_that "its two epochs, from the run" \
	test "$(jq -c 'map([.epoch, .source, (.seconds > 0)])' "$T/out")" = \
	'[[1,"database",true],[2,"database",true]]'
n=$(od -A n -t u8 -N 8 "$T/trained1.safetensors" | tr -d ' ')
tail -c +9 "$T/trained1.safetensors" | head -c "$n" | jq -r '.__metadata__.history' >"$T/history"
yes_that "the same as the file's history" \
	test "$(jq -c 'map([.epoch, .loss, .valid_auc, .valid_loss, .best])' "$T/out")" = \
	"$(jq -c 'map([.epoch, .loss, .valid_auc, .valid_loss, .best])' "$T/history")"
run_status "compare two trained versions" 0 tabpipe-registry --json compare trained@1 trained@2
yes_that "their seeds side by side" test "$(jq -c '.[] | select(.section == "param" and
	.name == "seed") | [.a, .b, .difference]' "$T/out")" = '[1,2,1]'
yes_that "their validation AUCs and the difference" test "$(jq '.[] | select(.section == "metric" and
	.name == "valid_auc") | .b - .a - .difference | fabs < 1e-12' "$T/out")" = true
yes_that "their inputs: the same training rows" test "$(jq '.[] | select(.section == "input" and
	.name == "train") | .a == .b' "$T/out")" = true

run_status "an unknown model exits 66" 66 tabpipe-registry versions "loan's model"
err_has "naming it" "no model named \"loan's model\""
run_status "its audit too" 66 tabpipe-registry audit nosuch
run_status "a full disk exits 74" 74 sh -c 'tabpipe-registry models >/dev/full'
