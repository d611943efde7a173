#!/bin/sh
# tabpipe-evaluate end to end: a small model on the credit data's test part,
# the report's keys, its record in the database (TABPIPE_DB), references to
# registered versions, and bad input.
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
q() { psql "$TABPIPE_DB" -qAtc "$1"; }
# json FILE SQL: runs SQL with the JSON document of FILE as :'doc' (psql
# reads the file itself: a report is too long for an argument).
# shellcheck disable=SC2016 # the backquotes are psql's
json() { printf '\\set doc `cat %s`\n%s\n' "$1" "$2" | psql "$TABPIPE_DB" -qAt; }
small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 2"
# Not $name: lib.sh uses that.
model="evaluated $$"

tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --name "$model" --valid "$T/cd.valid.tps" \
	-o "$T/m.safetensors" "$T/cd.train.tps"

run_status "--help exits 0" 0 tabpipe-evaluate --help
out_has "--help prints the usage" "usage: tabpipe-evaluate [-q]"
run_status "no -m exits 64" 64 tabpipe-evaluate "$T/cd.test.tps"
run_status "an unknown option exits 64" 64 tabpipe-evaluate --nope -m "$T/m.safetensors" "$T/cd.test.tps"
run_status "--bins 0 exits 64" 64 tabpipe-evaluate --bins 0 -m "$T/m.safetensors" "$T/cd.test.tps"

before=$(q "SELECT count(*) FROM evaluations")
run_status "evaluate the model" 0 tabpipe-evaluate -m "$T/m.safetensors" "$T/cd.test.tps"
cp "$T/out" "$T/report.json"
err_has "a summary on stderr" "671 rows, 671 labelled"
yes_that "the report has exactly the documented keys" test "$(json "$T/report.json" \
	"SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(:'doc'::jsonb) k")" = \
	"accuracy,auc,brier,calibration,confusion,data_fingerprint,f1,gini,ks,labelled,log_loss,model,positives,pr,pr_auc,precision,recall,roc,rows,threshold"
yes_that "the measures are numbers in range" test "$(json "$T/report.json" \
	"SELECT (d->>'rows')::int = 671 AND (d->>'auc')::float8 BETWEEN 0 AND 1
	    AND abs((d->>'gini')::float8 - (2 * (d->>'auc')::float8 - 1)) < 1e-12
	    AND (d->'confusion'->>'tp')::int + (d->'confusion'->>'fp')::int
	      + (d->'confusion'->>'tn')::int + (d->'confusion'->>'fn')::int = 671
	    AND jsonb_array_length(d->'calibration') = 10
	    AND jsonb_array_length(d->'roc') = jsonb_array_length(d->'pr')
	    AND (d->'model'->>'threshold')::float8 = (d->>'threshold')::float8
	  FROM (SELECT :'doc'::jsonb d) x")" = t
yes_that "a registered file is its version" test "$(json "$T/report.json" "SELECT :'doc'::jsonb->'model'->>'version'")" = 1
yes_that "the model's sha256" test "$(json "$T/report.json" "SELECT :'doc'::jsonb->'model'->>'sha256'")" = \
	"$(sha256sum <"$T/m.safetensors" | cut -d' ' -f1)"
yes_that "one evaluation row" test "$(q "SELECT count(*) FROM evaluations")" = $((before + 1))
yes_that "it holds the report, the version, the fingerprints and the rows" test "$(json "$T/report.json" \
	"SELECT e.metrics = :'doc'::jsonb AND e.rows = 671
	    AND e.model_sha256 = :'doc'::jsonb->'model'->>'sha256'
	    AND e.data_fingerprint = :'doc'::jsonb->>'data_fingerprint'
	    AND e.version_id = (SELECT v.id FROM model_versions v JOIN models m ON m.id = v.model_id
	      WHERE m.name = '$model' AND v.version = 1)
	  FROM evaluations e ORDER BY e.id DESC LIMIT 1")" = t
yes_that "its run is an evaluate run, finished" test "$(q "SELECT r.tool || ' ' || r.status FROM evaluations e JOIN runs r ON r.id = e.run_id ORDER BY e.id DESC LIMIT 1")" = "evaluate finished"

run_status "a registry reference with -o" 0 tabpipe-evaluate -q -m "$model@latest" -o "$T/ref.json" "$T/cd.test.tps"
same "gives the same report" "$T/report.json" "$T/ref.json"
yes_that "-q prints nothing" test ! -s "$T/err"
run_status "a reference to no version exits 66" 66 tabpipe-evaluate -m "$model@9" "$T/cd.test.tps"
run_status "a reference without a database exits 64" 64 env -u TABPIPE_DB tabpipe-evaluate -m "$model@1" "$T/cd.test.tps"
before=$(q "SELECT count(*) FROM evaluations")
run_status "without a database" 0 env -u TABPIPE_DB tabpipe-evaluate -q -m "$T/m.safetensors" -o "$T/nodb.json" - <"$T/cd.test.tps"
yes_that "nothing is recorded" test "$(q "SELECT count(*) FROM evaluations")" = "$before"
yes_that "and the model has no version" grep -q '"version":[[:space:]]*null' "$T/nodb.json"
# shellcheck disable=SC2086
tabpipe-train -q $small --seed 9 --valid "$T/cd.valid.tps" -o "$T/u.safetensors" "$T/cd.train.tps"
run_status "an unregistered file" 0 tabpipe-evaluate -q -m "$T/u.safetensors" -o "$T/unreg.json" "$T/cd.test.tps"
yes_that "has no version" grep -q '"version":[[:space:]]*null' "$T/unreg.json"
yes_that "nor has its record" test "$(q "SELECT version_id IS NULL FROM evaluations ORDER BY id DESC LIMIT 1")" = t
run_status "with --bins 4" 0 tabpipe-evaluate -q --bins 4 -m "$T/m.safetensors" "$T/cd.test.tps"
yes_that "has 4 calibration bins" test "$(json "$T/out" "SELECT jsonb_array_length(:'doc'::jsonb->'calibration')")" = 4

# One class only: no AUC, and it is said.
{ head -n 1 "$DATA/credit_data.csv"; grep '^"good"' "$DATA/credit_data.csv" | head -n 50; } >"$T/good.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/good.tps" "$T/good.csv"
run_status "one class only exits 0" 0 tabpipe-evaluate -m "$T/m.safetensors" "$T/good.tps"
err_has "and says the AUC is null" "every labelled row is negative: AUC, Gini, KS and the ROC curve are null"
yes_that "auc is null" test "$(json "$T/out" "SELECT jsonb_typeof(:'doc'::jsonb->'auc')")" = null

# Bad input.
sed '1!s/^"[a-z]*"//' "$DATA/credit_data.csv" | head -n 40 >"$T/nolabel.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/nolabel.tps" "$T/nolabel.csv"
run_status "a stream without labels exits 65" 65 tabpipe-evaluate -m "$T/m.safetensors" "$T/nolabel.tps"
err_has "it says so" "no row has a label"
tabpipe-ingest -q --target Status --positive bad --split 60/40 --seed 3 --min-count 5 \
	--out "$T/other" "$DATA/credit_data.csv"
run_status "a stream of another encoding exits 65" 65 tabpipe-evaluate -m "$T/m.safetensors" "$T/other.test.tps"
err_has "it says so" "ingest it with the model's encoding"
yes_that "and the run is recorded as failed" test "$(q "SELECT status FROM runs WHERE tool = 'evaluate' ORDER BY id DESC LIMIT 1")" = failed
head -c 2000 "$T/cd.test.tps" >"$T/cut.tps"
run_status "a cut stream exits 65" 65 tabpipe-evaluate -m "$T/m.safetensors" "$T/cut.tps"
run_status "a missing stream exits 66" 66 tabpipe-evaluate -m "$T/m.safetensors" "$T/nothere.tps"
run_status "a missing model exits 66" 66 tabpipe-evaluate -m "$T/nothere.safetensors" "$T/cd.test.tps"
run_status "a stream for a model exits 65" 65 env -u TABPIPE_DB tabpipe-evaluate -m "$T/cd.test.tps" "$T/cd.test.tps"
run_status "a report into a missing folder exits 73" 73 tabpipe-evaluate -m "$T/m.safetensors" -o "$T/no/dir/r.json" "$T/cd.test.tps"
yes_that "and no evaluation is recorded for it" test "$(q "SELECT status FROM runs WHERE tool = 'evaluate' ORDER BY id DESC LIMIT 1")" = failed
run_status "a full disk exits 74" 74 tabpipe-evaluate -m "$T/m.safetensors" -o /dev/full "$T/cd.test.tps"
run_status "an unreachable database exits 69" 69 tabpipe-evaluate --db "host=$T/nowhere connect_timeout=2" \
	-m "$T/m.safetensors" "$T/cd.test.tps"
