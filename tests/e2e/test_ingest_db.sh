#!/bin/sh
# tabpipe-ingest --query: a query's rows ingested as a CSV file's would be,
# against the throwaway PostgreSQL server of scripts/pg-server (TABPIPE_DB).
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
q() { psql "$TABPIPE_DB" -qAtc "$1"; }

# The credit data in a table of its own, numbers as numbers, NA as NULL; n
# keeps the file's order, which a table does not.
table="credit_$$"
cols='"Status", "Seniority", "Home", "Time", "Age", "Marital", "Records", "Job", "Expenses", "Income", "Assets", "Debt", "Amount", "Price"'
q "CREATE TABLE $table (n serial, \"Status\" text, \"Seniority\" bigint, \"Home\" text,
	\"Time\" bigint, \"Age\" bigint, \"Marital\" text, \"Records\" text, \"Job\" text,
	\"Expenses\" bigint, \"Income\" bigint, \"Assets\" bigint, \"Debt\" bigint,
	\"Amount\" numeric, \"Price\" bigint)"
psql "$TABPIPE_DB" -qc "\\copy $table ($cols) FROM '$DATA/credit_data.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')"
query="SELECT $cols FROM $table ORDER BY n"

run_status "--query without a database exits 64" 64 env -u TABPIPE_DB tabpipe-ingest -o "$T/x.tps" --query "$query"
err_has "it says why" "--query runs in a database"
run_status "--query with a file exits 64" 64 tabpipe-ingest -o "$T/x.tps" --query "$query" "$DATA/credit_data.csv"

# Fitting reads the rows three times: each pass must see the same ones.
tabpipe-ingest -q --target Status --positive bad --fit "$T/csv.json" --split 70/15/15 \
	--seed 3 --out "$T/csv" "$DATA/credit_data.csv"
run_status "fit and split a query's rows" 0 tabpipe-ingest --target Status --positive bad \
	--fit "$T/query.json" --split 70/15/15 --seed 3 --out "$T/query" --query "$query"
err_has "the counts" "4454 rows read, 0 rejected, 4454 written (train 3115, valid 668, test 671)"
same "the encoding is the CSV file's" "$T/csv.json" "$T/query.json"
for part in train valid test; do
	same "the $part stream is the CSV file's" "$T/csv.$part.tps" "$T/query.$part.tps"
done
tabpipe-cat "$T/csv.test.tps" >"$T/csv.csv"
tabpipe-cat "$T/query.test.tps" >"$T/query.csv"
same "tabpipe-cat reads the same rows" "$T/csv.csv" "$T/query.csv"
yes_that "the data sets' source is the query" test "$(q "SELECT count(*) FROM datasets WHERE source = '$query -> $T/query.train.tps'")" = 1
yes_that "the run's parameters hold it" test "$(q "SELECT count(*) FROM runs WHERE params->>'query' = '$query' AND status = 'finished'")" = 1

run_status "apply an encoding to a query's rows" 0 tabpipe-ingest -q --encoding "$T/csv.json" \
	-o "$T/applied.tps" --query "$query"
tabpipe-ingest -q --encoding "$T/csv.json" -o "$T/applied-csv.tps" "$DATA/credit_data.csv"
same "gives the CSV file's stream" "$T/applied-csv.tps" "$T/applied.tps"
run_status "columns in another order exit 65" 65 tabpipe-ingest -q --encoding "$T/csv.json" \
	-o "$T/x.tps" --query "SELECT \"Age\", \"Status\" FROM $table"

# Only NULL is missing: an empty or "NA" text is a value.
run_status "NULL, NA and empty values" 0 tabpipe-ingest -q --target Status --positive bad \
	-o "$T/na.tps" --query "SELECT \"Status\", NULL::text AS nothing, 'NA' AS na, '' AS empty FROM $table ORDER BY n LIMIT 3"
tabpipe-cat "$T/na.tps" >"$T/na.csv"
yes_that "NULL is missing, the others values" test "$(sed -n 2p "$T/na.csv")" = 'good,NA,"NA",""'

# Bad rows are named by their row number and column.
bad="SELECT \"Status\", \"Seniority\", \"Home\", \"Time\",
	CASE WHEN n IN (7, 9) THEN 'old' ELSE \"Age\"::text END AS \"Age\", \"Marital\",
	\"Records\", \"Job\", \"Expenses\", \"Income\", \"Assets\", \"Debt\", \"Amount\",
	\"Price\" FROM $table ORDER BY n"
run_status "a bad value exits 65" 65 tabpipe-ingest -q --encoding "$T/csv.json" -o "$T/x.tps" --query "$bad"
err_has "naming the query row and the column" 'query row 7, column 5 (Age): "old" is not a number'
run_status "bad rows can be rejected" 0 tabpipe-ingest --encoding "$T/csv.json" --max-rejects 2 \
	--rejects "$T/rejects.csv" -o "$T/x.tps" --query "$bad"
err_has "and are counted" "4454 rows read, 2 rejected, 4452 written"
yes_that "the rejects file holds them as CSV" test "$(cut -d, -f5 "$T/rejects.csv" | tr '\n' ' ')" = "old old "

# The query runs read-only and alone.
run_status "a query that writes exits 77" 77 tabpipe-ingest -q -o "$T/x.tps" \
	--query "SELECT nextval('${table}_n_seq') AS n"
err_has "it says so" "--query runs read-only"
run_status "a query that deletes exits 64" 64 tabpipe-ingest -q -o "$T/x.tps" \
	--query "WITH d AS (DELETE FROM $table RETURNING *) SELECT * FROM d"
run_status "a second statement exits 64" 64 tabpipe-ingest -q -o "$T/x.tps" \
	--query "SELECT 1 AS a; DROP TABLE $table"
run_status "a query that commits exits 64" 64 tabpipe-ingest -q -o "$T/x.tps" --query "COMMIT"
yes_that "the table is untouched" test "$(q "SELECT count(*) || ' ' || max(n) FROM $table")" = "4454 4454"
run_status "a syntax error exits 64" 64 tabpipe-ingest -q -o "$T/x.tps" --query "SELECT \"Age\" FORM $table"
err_has "with its place in the query" "syntax error at or near \"$table\" (at character 19 of the query)"
run_status "an unknown table exits 64" 64 tabpipe-ingest -q -o "$T/x.tps" --query "SELECT * FROM nothere_$$"
run_status "a query failing on its data exits 65" 65 tabpipe-ingest -q -o "$T/x.tps" \
	--query "SELECT 1 / (n - 5) AS x FROM $table"
err_has "with PostgreSQL's message" "query: division by zero"
yes_that "and the run is recorded as failed" test "$(q "SELECT error FROM runs ORDER BY id DESC LIMIT 1")" = "query: division by zero"
run_status "a query of no rows cannot be fitted" 65 tabpipe-ingest -q -o "$T/empty.tps" \
	--query "SELECT \"Status\", \"Age\" FROM $table WHERE false"
err_has "it says so" "query: no data rows to fit an encoding on"
tabpipe-ingest -q --fit "$T/sa.json" -o "$T/x.tps" --query "SELECT \"Status\", \"Age\" FROM $table"
run_status "a query of no rows, with an encoding, writes an empty stream" 0 \
	tabpipe-ingest -q --encoding "$T/sa.json" -o "$T/empty.tps" \
	--query "SELECT \"Status\", \"Age\" FROM $table WHERE false"
yes_that "that reads back" test "$(tabpipe-cat "$T/empty.tps")" = "Status,Age"
run_status "an unreachable database exits 69" 69 tabpipe-ingest --db "host=$T/nowhere connect_timeout=2" \
	-o "$T/x.tps" --query "$query"
q "DROP TABLE $table"
