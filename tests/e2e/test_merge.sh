#!/bin/sh
# Partial results that merge, end to end: a book of twenty times the
# credit data's rows (every row a little apart, so that the model's scores
# have more distinct values than evaluate's sketch holds) in 4 shards;
# evaluate's, validate's and drift's partials of the shards merged give
# the report of one run over the book, byte for byte but for the data's
# fingerprint (and validate's unseen values, which a shard cannot know);
# partials of whole files merge into one run's report exactly; drift's
# reference profiled once; a merge of merges; what each report says of
# its bounds; bad merges exit 65, misuse 64; and the memory of evaluate,
# validate and drift flat from 200,000 rows to 800,000.
. ./lib.sh

small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 2"
tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --valid "$T/cd.valid.tps" -o "$T/m.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
tabpipe-train -q $small --seed 9 --valid "$T/cd.valid.tps" -o "$T/u.safetensors" "$T/cd.train.tps"

# book N: N copies of the credit data's rows, each Price moved by up to
# 9.99, so that the rows and their scores differ.
book() {
	awk -F, -v OFS=, -v n="$1" 'NR == 1 { print; next } { r[NR] = $0 }
	END { k = 0; for (c = 0; c < n; c++) for (i = 2; i <= NR; i++) {
		$0 = r[i]; if ($14 != "" && $14 != "NA") $14 = $14 + k % 1000 / 100; k++; print } }' \
		"$DATA/credit_data.csv"
}
book 20 >"$T/book.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/book.tps" "$T/book.csv"

# same_but NAME FILTER A B: the JSON files A and B are equal once FILTER
# (jq) has taken out what may differ.
same_but() {
	jq -S "$2" "$3" >"$T/a.json" && jq -S "$2" "$4" >"$T/b.json" &&
		same "$1" "$T/a.json" "$T/b.json"
}
# fingerprint_of PARTIAL...: the SHA-256 of the parts' fingerprints, in order.
fingerprint_of() {
	for p in "$@"; do jq -r '.parts[].fingerprint' "$p"; done | tr -d '\n' |
		sha256sum | cut -d' ' -f1
}

# --- evaluate ------------------------------------------------------------
run_status "evaluate the book in one run" 0 tabpipe-evaluate -q -m "$T/m.safetensors" -o "$T/eval.json" "$T/book.tps"
for k in 1 2 3 4; do
	tabpipe-evaluate -q --partial --shard "$k/4" -m "$T/m.safetensors" -o "$T/e$k.part" "$T/book.tps" ||
		not_ok "evaluate --partial --shard $k/4"
done
yes_that "a partial's envelope" test "$(jq -c '[.format, .version, .kind, .model == null, (.parts | length), .parts[0].source]' "$T/e2.part")" = \
	"[\"tabpipe-partial\",1,\"evaluate\",false,1,\"$T/book.tps, shard 2/4\"]"
yes_that "the shards' rows are the book's" test "$(jq -s 'map(.rows) | add' "$T"/e[1-4].part)" = "$(jq .rows "$T/eval.json")"
run_status "evaluate --merge of the 4 shards" 0 tabpipe-evaluate --merge -o "$T/emerged.json" "$T"/e1.part "$T"/e2.part "$T"/e3.part "$T"/e4.part
err_has "says what it measured" "$(jq .rows "$T/eval.json") rows"
same_but "the merged report is the one run's, but for the fingerprint" 'del(.data_fingerprint)' "$T/eval.json" "$T/emerged.json"
yes_that "whose fingerprint is that of the parts" test "$(jq -r .data_fingerprint "$T/emerged.json")" = \
	"$(fingerprint_of "$T"/e1.part "$T"/e2.part "$T"/e3.part "$T"/e4.part)"
yes_that "the scores have more distinct values than the sketch: AUC, KS and AP bounded, and small" test "$(jq -c \
	'[.sketch.exact, .sketch.level > 0, .auc_error_bound > 0, .auc_error_bound < 1e-3,
	  .ks_error_bound < 1e-2, .pr_auc_error_bound < 1e-2, (.gini - (2 * .auc - 1) | fabs) < 1e-12]' "$T/eval.json")" = \
	'[false,true,true,true,true,true,true]'
yes_that "the curves are thinned to 2000 points, the KS point kept" test "$(jq -c \
	'[(.roc | length) <= 2000, (.roc | length) == (.pr | length), .sketch.thresholds > 2000,
	  ([.roc[] | select(.threshold == $r.ks_threshold)] | length)]' --argjson r "$(jq -c '{ks_threshold}' "$T/eval.json")" "$T/eval.json")" = \
	'[true,true,true,1]'
yes_that "the counts and the exact measures sum as the report's" test "$(jq -c \
	'[([.calibration[].rows] | add) == .labelled, ([.gains[].rows] | add) == .labelled,
	  (.confusion | .tp + .fp + .tn + .fn) == .labelled]' "$T/eval.json")" = '[true,true,true]'
# The partials in another order: only the fingerprint moves.
tabpipe-evaluate -q --merge -o "$T/eorder.json" "$T"/e3.part "$T"/e1.part "$T"/e4.part "$T"/e2.part
same_but "in another order, the same report" 'del(.data_fingerprint)' "$T/eval.json" "$T/eorder.json"
differ "but another fingerprint" "$T/emerged.json" "$T/eorder.json"
# A merge of merges.
tabpipe-evaluate -q --merge --partial -o "$T/e12.part" "$T"/e1.part "$T"/e2.part
tabpipe-evaluate -q --merge --partial -o "$T/e34.part" "$T"/e3.part "$T"/e4.part
yes_that "a merged partial keeps its parts" test "$(jq '.parts | length' "$T/e12.part")" = 2
run_status "partials of partials merge" 0 tabpipe-evaluate -q --merge -o "$T/etree.json" "$T/e12.part" "$T/e34.part"
same "into the same report, fingerprint and all" "$T/emerged.json" "$T/etree.json"
run_status "-m with --merge" 0 tabpipe-evaluate -q --merge -m "$T/m.safetensors" -o "$T/em.json" "$T"/e[1-4].part
same "the same report" "$T/emerged.json" "$T/em.json"
# The test part's distinct scores fit the sketch: exact, as before.
tabpipe-evaluate -q -m "$T/m.safetensors" -o "$T/test.json" "$T/cd.test.tps"
yes_that "fewer distinct scores than the sketch: exact, no bound" test "$(jq -c \
	'[.sketch.exact, .auc_error_bound, .ks_error_bound, .pr_auc_error_bound, (.roc | length) == .sketch.bins + 1]' "$T/test.json")" = \
	'[true,0,0,0,true]'
tabpipe-evaluate -q --partial -m "$T/m.safetensors" -o "$T/t.part" "$T/cd.test.tps"
tabpipe-evaluate -q --merge -o "$T/t.json" "$T/t.part"
same "one partial merged is the run's report, fingerprint and all" "$T/test.json" "$T/t.json"

# --- validate ------------------------------------------------------------
run_status "validate the book in one run" 0 tabpipe-validate -q -r "$T/val.json" "$T/book.tps"
for k in 1 2 3 4; do
	tabpipe-validate -q --partial --shard "$k/4" -r "$T/v$k.part" "$T/book.tps" ||
		not_ok "validate --partial --shard $k/4"
done
run_status "validate --merge of the 4 shards" 0 tabpipe-validate -q --merge -r "$T/vmerged.json" "$T"/v[1-4].part
# Shards know no unseen values: no unseen rate, no unseen check.
same_but "the merged report is the one run's, but for unseen values" \
	'del(.columns[].unseen_rate) | .checks |= map(select(.check != "unseen"))' "$T/val.json" "$T/vmerged.json"
yes_that "which it does not know" test "$(jq '[.columns[] | select(.kind == "categorical") | .unseen_rate] | unique' "$T/vmerged.json" | tr -d ' \n')" = '[null]'
yes_that "duplicates across the shards are found, exactly" test "$(jq -c '.duplicates | [.rows > 60000, .exact, .rate_stderr]' "$T/vmerged.json")" = \
	"$(jq -c '.duplicates | [.rows > 60000, .exact, .rate_stderr]' "$T/val.json")"
yes_that "Price, of more distinct values than its sketch, has an AUC bound; the others are exact" test "$(jq -c \
	'[.columns[] | select(.auc_error_bound > 0) | .name]' "$T/val.json")" = '["Price"]'
# Whole files know their unseen values: one run's report, exactly.
tabpipe-validate -q -r "$T/vfiles.json" "$T/cd.train.tps" "$T/cd.valid.tps" "$T/cd.test.tps"
for f in train valid test; do
	tabpipe-validate -q --partial -r "$T/$f.part" "$T/cd.$f.tps"
done
run_status "validate --merge of 3 files" 0 tabpipe-validate -q --merge -r "$T/vfmerged.json" "$T/train.part" "$T/valid.part" "$T/test.part"
same "is one run's over the 3 files, byte for byte" "$T/vfiles.json" "$T/vfmerged.json"
run_status "a merged report fails its checks as one run does" 1 tabpipe-validate --merge --min-rows 1000000 "$T"/v[1-4].part
err_has "saying which" "check failed: rows"

# --- drift ---------------------------------------------------------------
run_status "drift of the book in one run" 0 tabpipe-drift -q -m "$T/m.safetensors" --reference "$T/cd.train.tps" -o "$T/drift.json" "$T/book.tps"
run_status "the reference profiled once" 0 tabpipe-drift -q --partial -m "$T/m.safetensors" -o "$T/ref.profile" "$T/cd.train.tps"
yes_that "with the model's scores" test "$(jq -c '[.kind, .model != null, .profile.score.rows]' "$T/ref.profile")" = \
	"[\"profile\",true,$(jq .reference.rows "$T/drift.json")]"
for k in 1 2 3 4; do
	tabpipe-drift -q --partial --shard "$k/4" -m "$T/m.safetensors" -o "$T/d$k.part" "$T/book.tps" ||
		not_ok "drift --partial --shard $k/4"
done
run_status "drift --merge of the 4 shards against the profile" 0 tabpipe-drift -q -m "$T/m.safetensors" \
	--reference "$T/ref.profile" --merge -o "$T/dmerged.json" "$T"/d[1-4].part
same_but "the merged report is the one run's, but for the current side's source and fingerprint" \
	'del(.reference.source, .current.source, .current.fingerprint)' "$T/drift.json" "$T/dmerged.json"
yes_that "which name the partials" test "$(jq -c '[.current.source, .current.fingerprint == $f]' \
	--arg f "$(fingerprint_of "$T"/d[1-4].part)" "$T/dmerged.json")" = "[\"$T/d1.part and 3 more\",true]"
yes_that "the reference's fingerprint is the stream's" test "$(jq -r .reference.fingerprint "$T/dmerged.json")" = \
	"$(jq -r .reference.fingerprint "$T/drift.json")"
yes_that "Price and the score are bounded, the rest exact" test "$(jq -c \
	'[(.features + [.score])[] | select(.exact | not) | [.name, .ks_error_bound > 0, .ks_error_bound < 0.01]]' "$T/drift.json")" = \
	'[["Price",true,true],["score",true,true]]'
run_status "a shard against the profile" 0 tabpipe-drift -q -m "$T/m.safetensors" --reference "$T/ref.profile" \
	-o "$T/dshard.json" --shard 2/4 "$T/book.tps"
tabpipe-drift -q -m "$T/m.safetensors" --reference "$T/cd.train.tps" -o "$T/dshard2.json" --shard 2/4 "$T/book.tps"
same_but "is as against the stream" 'del(.reference.source)' "$T/dshard.json" "$T/dshard2.json"
run_status "validate reads drift's profiles" 0 tabpipe-validate -q --merge -r "$T/vd.json" "$T"/d[1-4].part
same "and gives the same report" "$T/vmerged.json" "$T/vd.json"
run_status "without -m, the scores are not compared" 0 tabpipe-drift -q --reference "$T/ref.profile" --merge "$T"/d[1-4].part
yes_that "score null" test "$(jq .score "$T/out")" = null

# --- bad merges ------------------------------------------------------------
tabpipe-evaluate -q --partial --shard 2/4 -m "$T/u.safetensors" -o "$T/u2.part" "$T/book.tps"
run_status "partials of two models exit 65" 65 tabpipe-evaluate --merge "$T/e1.part" "$T/u2.part"
err_has "naming both" "$T/u2.part: of the scores of model"
err_has "and the first" "$T/e1.part of model"
run_status "partials of another model than -m exit 65" 65 tabpipe-evaluate --merge -m "$T/u.safetensors" "$T"/e[1-4].part
tabpipe-evaluate -q --partial --bins 4 -m "$T/m.safetensors" -o "$T/b4.part" "$T/cd.test.tps"
run_status "partials of other --bins exit 65" 65 tabpipe-evaluate --merge "$T/e1.part" "$T/b4.part"
err_has "saying so" "of 4 calibration bins, not 10"
tabpipe-ingest -q --target Status --positive bad --fit "$T/other.json" -o "$T/other.tps" "$DATA/credit_data.csv"
tabpipe-validate -q --partial -r "$T/other.part" "$T/other.tps"
run_status "partials of two encodings exit 65" 65 tabpipe-validate --merge "$T/v1.part" "$T/other.part"
err_has "saying so" "$T/other.part: of data encoded with"
run_status "an evaluate partial to validate exits 65" 65 tabpipe-validate --merge "$T/v1.part" "$T/e1.part"
err_has "saying so" "a partial of evaluate, not of profile"
run_status "a stream to --merge exits 65" 65 tabpipe-evaluate --merge "$T/book.tps"
err_has "saying so" "not a partial"
sed 's/"version":[[:space:]]*1,/"version": 2,/' "$T/e1.part" >"$T/v2.part"
run_status "a partial of another version exits 65" 65 tabpipe-evaluate --merge "$T/v2.part"
err_has "saying so" "a partial of version 2"
jq -c '.evaluate.confusion.tp += 1' "$T/e1.part" >"$T/bad.part"
run_status "a partial whose counts disagree exits 65" 65 tabpipe-evaluate --merge "$T/e2.part" "$T/bad.part"
err_has "saying so" "$T/bad.part: its counts do not agree"
jq -c '.profile.columns[0].values |= sub(" [0-9]+$"; " x")' "$T/v1.part" >"$T/bad.vpart"
run_status "a damaged sketch exits 65" 65 tabpipe-validate --merge "$T/bad.vpart"
head -c 5000 "$T/e1.part" >"$T/cut.part"
run_status "a partial cut short exits 65" 65 tabpipe-evaluate --merge "$T/cut.part"
run_status "a missing partial exits 66" 66 tabpipe-evaluate --merge "$T/e1.part" "$T/nowhere.part"
run_status "a profile without scores as drift's reference with -m exits 65" 65 tabpipe-drift -m "$T/m.safetensors" \
	--reference "$T/train.part" "$T/book.tps"
err_has "saying how to make one" "make it with -m"
run_status "current partials of another model exit 65" 65 tabpipe-drift -m "$T/u.safetensors" \
	--reference "$T/cd.train.tps" --merge "$T"/d[1-4].part
run_status "current partials of another encoding exit 65" 65 tabpipe-drift --reference "$T/ref.profile" \
	--merge "$T/other.part"
err_has "saying so" "ingest both with one encoding"

# --- misuse --------------------------------------------------------------
run_status "--partial with --group exits 64" 64 tabpipe-evaluate --partial --group Home -m "$T/m.safetensors" "$T/book.tps"
run_status "--merge with --importance exits 64" 64 tabpipe-evaluate --merge --importance "$T/e1.part"
run_status "--merge with --shard exits 64" 64 tabpipe-evaluate --merge --shard 1/2 "$T/e1.part"
run_status "--merge with --bins exits 64" 64 tabpipe-evaluate --merge --bins 4 "$T/e1.part"
run_status "--merge of nothing exits 64" 64 tabpipe-evaluate --merge
run_status "--partial with --json exits 64" 64 tabpipe-evaluate --partial --json -m "$T/m.safetensors" "$T/book.tps"
run_status "validate --merge with --pass exits 64" 64 tabpipe-validate --merge --pass -r "$T/x.json" "$T/v1.part"
run_status "validate --merge with --shard exits 64" 64 tabpipe-validate --merge --shard 1/2 "$T/v1.part"
run_status "drift --partial with --reference exits 64" 64 tabpipe-drift --partial --reference "$T/cd.train.tps" "$T/book.tps"
run_status "drift --merge with --shard exits 64" 64 tabpipe-drift --reference "$T/ref.profile" --merge --shard 1/2 "$T/d1.part"
run_status "drift without --reference exits 64" 64 tabpipe-drift "$T/book.tps"
run_status "a partial to a full disk exits 74" 74 tabpipe-evaluate -q --partial -m "$T/m.safetensors" -o /dev/full "$T/cd.test.tps"

# --- memory --------------------------------------------------------------
# The largest resident set of each tool on 200,000 and on 800,000 rows:
# flat in the rows once the sketches are full (evaluate's from the start;
# validate's and drift's row hashes and feature sketches fill up to some
# 300,000 of these rows). A tool that read every row into memory would
# take some 35 MB more on the larger book, twice and more the smaller's.
if grep -q __asan_init "$(command -v tabpipe-evaluate)" 2>/dev/null; then
	skip "memory flat in rows" "the tools are built with AddressSanitizer, whose allocator keeps freed memory in quarantine"
elif [ -x /usr/bin/time ]; then
	book 180 | head -n 800001 >"$T/big.csv"
	tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/big.tps" "$T/big.csv"
	head -n 200001 "$T/big.csv" | tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/small.tps"
	rm "$T/big.csv"
	# rss FILE CMD...: the largest resident set, in kB, of CMD on FILE.
	rss() {
		f=$1
		shift
		/usr/bin/time -f %M -o "$T/rss" "$@" "$f" >/dev/null 2>&1
		cat "$T/rss"
	}
	for tool in "tabpipe-evaluate -q -m $T/m.safetensors -o $T/x.json" \
		"tabpipe-validate -q -r $T/x.json" \
		"tabpipe-drift -q -m $T/m.safetensors --reference $T/ref.profile -o $T/x.json"; do
		# shellcheck disable=SC2086 # $tool is a command and its options
		small=$(rss "$T/small.tps" $tool) big=$(rss "$T/big.tps" $tool)
		name=${tool%% *}
		if [ "$big" -lt $((small * 12 / 10)) ]; then
			ok "$name: $big kB on 800,000 rows, $small kB on 200,000"
		else
			not_ok "$name: $big kB on 800,000 rows, $small kB on 200,000: not flat"
		fi
	done
else
	skip "memory flat in rows" "no /usr/bin/time (Debian: time)"
fi
