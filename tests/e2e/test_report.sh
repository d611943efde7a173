#!/bin/sh
# tabpipe-report end to end: a small model of the credit data, its
# evaluation, validation and drift reports, and the document made of them:
# well-formed, every section whose input was given, the charts by name with
# their series counted, --svg-dir's files, champion and challenger, the
# registry's history (TABPIPE_DB), the same bytes twice, the permutation
# importance and the measures by group of evaluate --importance --group
# (and nothing of them, the same bytes as before, without them), and bad
# inputs named with their file.
. ./lib.sh

small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 2"
model="reported $$"

# wellformed NAME FILE: the document parses as XML (xmllint), or where
# xmllint is missing, its main elements open and close as often.
wellformed() {
	if command -v xmllint >/dev/null 2>&1; then
		if xmllint --noout "$2" 2>"$T/err"; then ok "$1"; else not_ok "$1"; fi
		return
	fi
	for tag in html head body section table tr svg g text figure; do
		o=$(grep -o "<${tag}[ >]" "$2" | wc -l)
		c=$(grep -o "</$tag>" "$2" | wc -l)
		if [ "$o" -ne "$c" ]; then
			not_ok "$1 ($o <$tag> and $c </$tag>)"
			return
		fi
	done
	ok "$1"
}

# series FILE CHART: the data-series of the chart named CHART, or nothing.
series() {
	sed -n "s/.*data-chart=\"$2\" data-series=\"\([0-9]*\)\".*/\1/p" "$1" | head -n 1
}

# chart_has NAME FILE CHART N: FILE has the chart with N series, and N
# elements of class series in it.
chart_has() {
	got=$(series "$2" "$3")
	n=$(awk -v c="data-chart=\"$3\"" 'index($0, c) { on = 1 }
		on && /class="series"/ { k++ } on && /<\/svg>/ { exit } END { print k + 0 }' "$2")
	if [ "$got" = "$4" ] && [ "$n" = "$4" ]; then
		ok "$1"
	else
		not_ok "$1 (data-series \"$got\", $n series elements, expected $4)"
	fi
}

# has_member FILE JQPATH: the JSON report has the member (not null).
has_member() { [ "$(jq -c "$2" "$1" 2>/dev/null)" != null ] && [ -n "$(jq -c "$2" "$1" 2>/dev/null)" ]; }

tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
# shellcheck disable=SC2086 # $small holds several options
tabpipe-train -q $small --name "$model" --valid "$T/cd.valid.tps" \
	-o "$T/m.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
tabpipe-train -q $small --seed 9 --valid "$T/cd.valid.tps" \
	-o "$T/c.safetensors" "$T/cd.train.tps"
tabpipe-evaluate -q -m "$T/m.safetensors" -o "$T/eval.json" "$T/cd.test.tps"
tabpipe-evaluate -q -m "$T/c.safetensors" -o "$T/challenger.json" "$T/cd.test.tps"
tabpipe-evaluate -q -m "$T/m.safetensors" --importance --group Home \
	-o "$T/groups.json" "$T/cd.test.tps"
tabpipe-validate -q -r "$T/quality.json" "$T/cd.train.tps"
tabpipe-drift -q -m "$T/m.safetensors" --reference "$T/cd.train.tps" \
	-o "$T/drift.json" "$T/cd.test.tps"
printf 'Intended use: ranking <applications> & "review".\n\nLimits: retail only.\n' >"$T/notes.txt"

run_status "--help exits 0" 0 tabpipe-report --help
out_has "--help prints the usage" "usage: tabpipe-report"
run_status "nothing to report exits 64" 64 tabpipe-report -o "$T/none.html"
run_status "an unknown option exits 64" 64 tabpipe-report --nope "$T/eval.json"

run_status "a report of everything" 0 env -u TABPIPE_DB tabpipe-report \
	-m "$T/m.safetensors" --notes "$T/notes.txt" -o "$T/r.html" \
	--svg-dir "$T/svg" "$T/eval.json" "$T/quality.json" "$T/drift.json"
yes_that "nothing on stdout" test ! -s "$T/out"
wellformed "it is well-formed" "$T/r.html"
for s in card performance drift quality; do
	yes_that "it has the section $s" grep -q "<section id=\"$s\">" "$T/r.html"
done
yes_that "no champion section for one evaluation" test "$(grep -c 'id="champion"' "$T/r.html")" = 0
yes_that "no registry section without a database" test "$(grep -c 'id="registry"' "$T/r.html")" = 0
yes_that "no script, nothing from the network" test \
	"$(grep -c -e '<script' -e 'src=' -e '<link' "$T/r.html")" = 0
yes_that "the notes are there, escaped" grep -qF \
	'Intended use: ranking &lt;applications&gt; &amp; &quot;review&quot;.' "$T/r.html"
chart_has "roc: one series" "$T/r.html" roc 1
chart_has "pr: one series" "$T/r.html" pr 1
chart_has "calibration: one series" "$T/r.html" calibration 1
chart_has "ks: negatives and positives" "$T/r.html" ks 2
chart_has "confusion: one series" "$T/r.html" confusion 1
# The charts of the members that the other tools' newer reports carry.
if has_member "$T/eval.json" .score_histogram; then
	chart_has "score-histogram: two classes" "$T/r.html" score-histogram 2
else
	yes_that "no score histogram without its member" test -z "$(series "$T/r.html" score-histogram)"
fi
if has_member "$T/eval.json" .gains; then
	chart_has "gains: one series" "$T/r.html" gains 1
	chart_has "lift: one series" "$T/r.html" lift 1
else
	yes_that "no gains chart without gains" test -z "$(series "$T/r.html" gains)"
fi
features=$(jq '[.features[] | select(.histogram != null)] | length' "$T/drift.json")
yes_that "a drift chart per feature with bins" test \
	"$(grep -o 'data-chart="drift-[^"]*"' "$T/r.html" | grep -vc 'drift-score"')" = "$features"
for f in $(jq -r '.features[] | select(.histogram != null) | .name' "$T/drift.json"); do
	chart_has "drift-$f: two series" "$T/r.html" "drift-$f" 2
done
if has_member "$T/drift.json" .score.histogram; then
	chart_has "drift-score: two series" "$T/r.html" drift-score 2
fi
if grep -aq '"history"' "$T/m.safetensors"; then
	chart_has "training: loss and validation" "$T/r.html" training 3
else
	yes_that "no training chart without the file's history" test -z "$(series "$T/r.html" training)"
fi
# Drifting first, then by level, then by PSI.
want=$(jq -r '[.features[], (.score // empty)] | sort_by([(if .drift then 0 else 1 end),
	(if .level == "significant" then 0 elif .level == "moderate" then 1 else 2 end),
	-(.psi // -1), .name]) | .[].name' "$T/drift.json" | tr '\n' ' ')
got=$(sed -n '/<section id="drift">/,/<\/section>/p' "$T/r.html" |
	grep -o '<tr[^>]*><td>[^<]*' | sed 's/.*<td>//; s/ (score)$//' | tr '\n' ' ')
yes_that "drift's table is sorted by severity" test "$got" = "$want"

charts=$(grep -o 'data-chart="[^"]*"' "$T/r.html" | sed 's/data-chart="//; s/"$//')
missing=
for c in $charts; do
	[ -s "$T/svg/$c.svg" ] || missing="$missing $c"
done
yes_that "--svg-dir writes every chart" test -z "$missing"
yes_that "and nothing else" test "$(find "$T/svg" -type f | wc -l)" = "$(printf '%s\n' "$charts" | wc -l)"
if command -v xmllint >/dev/null 2>&1; then
	yes_that "each chart file is XML" xmllint --noout "$T"/svg/*.svg
fi

run_status "the same inputs again" 0 env -u TABPIPE_DB tabpipe-report \
	-m "$T/m.safetensors" --notes "$T/notes.txt" -o "$T/again.html" \
	"$T/eval.json" "$T/quality.json" "$T/drift.json"
same "give the same bytes" "$T/r.html" "$T/again.html"
run_status "reports alone, to standard output" 0 env -u TABPIPE_DB \
	tabpipe-report -o - "$T/drift.json" "$T/quality.json"
yes_that "the drift and quality sections only" test \
	"$(grep -o '<section id="[a-z]*"' "$T/out" | tr '\n' ' ')" = '<section id="drift" <section id="quality" '

# An evaluation with permutation importance and measures by group.
run_status "an evaluation with --importance and --group" 0 env -u TABPIPE_DB \
	tabpipe-report -o "$T/groups.html" "$T/groups.json"
wellformed "it is well-formed" "$T/groups.html"
chart_has "importance: one series" "$T/groups.html" importance 1
chart_has "fairness: approval and true positive rates" "$T/groups.html" fairness 2
nfeatures=$(jq '.importance.features | length' "$T/groups.json")
bars=$(awk 'index($0, "data-chart=\"importance\"") { on = 1 }
	on && /class="series"/ { in_series = 1 } in_series && /^<rect/ { k++ } on && /<\/svg>/ { exit } END { print k + 0 }' "$T/groups.html")
yes_that "a bar per feature" test "$bars" = "$nfeatures"
want=$(jq -r '.importance.features | sort_by(-.mean) | .[].feature' "$T/groups.json" | tr '\n' ' ')
got=$(sed -n '/<h3>Permutation importance/,/<h3>By group/p' "$T/groups.html" |
	grep -o '^<tr><td>[^<]*' | sed 's/.*<td>//' | tr '\n' ' ')
yes_that "the features by decreasing mean loss" test "$got" = "$want"
adverse=$(jq '.fairness.adverse' "$T/groups.json")
marked=$(sed -n '/<h3>By group/,/<\/section>/p' "$T/groups.html" | grep -c '<tr class="drifts">')
yes_that "the groups under four-fifths marked" test "$marked" = "$adverse"
yes_that "the most approved group named" grep -qF \
	"The most approved group is <b>$(jq -r .fairness.most_approved "$T/groups.json")</b>" "$T/groups.html"
yes_that "the groups under four-fifths counted" grep -qE \
	"(No group falls|$adverse groups? falls?) under four-fifths" "$T/groups.html"
yes_that "the largest gap in true positive rates" grep -qF \
	"The largest gap in true positive rates is $(jq -r '.fairness.tpr_gap * 1000 | round / 1000' "$T/groups.json")" "$T/groups.html"
# Without the members, the same bytes as the evaluation without them.
mkdir "$T/plain" "$T/stripped"
cp "$T/eval.json" "$T/plain/eval.json"
jq 'del(.importance, .fairness)' "$T/groups.json" >"$T/stripped/eval.json"
yes_that "the evaluations agree but for the members" test \
	"$(jq -cS . "$T/plain/eval.json")" = "$(jq -cS . "$T/stripped/eval.json")"
(cd "$T/plain" && env -u TABPIPE_DB tabpipe-report -q -o r.html eval.json)
(cd "$T/stripped" && env -u TABPIPE_DB tabpipe-report -q -o r.html eval.json)
same "a report without them is as before" "$T/plain/r.html" "$T/stripped/r.html"
yes_that "and says nothing of them" test \
	"$(grep -c -e 'data-chart="importance"' -e 'data-chart="fairness"' -e 'four-fifths' "$T/r.html")" = 0

run_status "champion and challenger" 0 env -u TABPIPE_DB tabpipe-report \
	-o "$T/two.html" "$T/eval.json" "$T/challenger.json"
wellformed "it is well-formed" "$T/two.html"
yes_that "it has the champion section" grep -q '<section id="champion">' "$T/two.html"
chart_has "roc: two series" "$T/two.html" roc 2
chart_has "pr: two series" "$T/two.html" pr 2
chart_has "calibration: two series" "$T/two.html" calibration 2
run_status "a third evaluation exits 64" 64 env -u TABPIPE_DB tabpipe-report \
	-o "$T/x.html" "$T/eval.json" "$T/challenger.json" "$T/eval.json"
err_has "naming it" "eval.json: a third evaluation"

# Bad inputs are named.
printf '{"rows": 3,' >"$T/cut.json"
run_status "a file that is not JSON exits 65" 65 tabpipe-report -o "$T/x.html" "$T/cut.json"
err_has "naming it" "cut.json: not JSON"
echo '{"hello": 1}' >"$T/other.json"
run_status "JSON of no tool exits 65" 65 tabpipe-report -o "$T/x.html" "$T/eval.json" "$T/other.json"
err_has "naming it" "other.json: not a report of"
jq '.roc = "points"' "$T/eval.json" >"$T/badroc.json"
run_status "a member of the wrong kind exits 65" 65 tabpipe-report -o "$T/x.html" "$T/badroc.json"
err_has "naming the file and the member" 'badroc.json: "roc" is not an array'
yes_that "and writes nothing" test ! -e "$T/x.html"
run_status "a missing file exits 66" 66 tabpipe-report -o "$T/x.html" "$T/nosuch.json"
err_has "naming it" "nosuch.json"
run_status "missing notes exit 66" 66 tabpipe-report --notes "$T/nosuch.txt" -o "$T/x.html" "$T/eval.json"
run_status "an output that cannot be made exits 73" 73 tabpipe-report \
	-o "$T/no/such/dir/r.html" "$T/eval.json"
run_status "a full disk exits 74" 74 tabpipe-report -o /dev/full "$T/eval.json"

if [ -z "${TABPIPE_DB:-}" ]; then
	skip "the registry's history" "TABPIPE_DB is not set"
	exit 0
fi
tabpipe-evaluate -q -m "$model@1" -o "$T/eval1.json" "$T/cd.test.tps"
tabpipe-promote -q --to production --gate 'auc>=0.5' --reason 'first <good> one' "$model" 1 >/dev/null
run_status "a registered model with the registry" 0 tabpipe-report \
	-m "$model@production" -o "$T/reg.html" "$T/eval1.json"
wellformed "it is well-formed" "$T/reg.html"
yes_that "it has the registry section" grep -q '<section id="registry">' "$T/reg.html"
chart_has "registry-auc: the evaluation's and validation's" "$T/reg.html" registry-auc 2
yes_that "the stage change with its reason, escaped" grep -qF 'first &lt;good&gt; one' "$T/reg.html"
yes_that "the card says the stage" grep -q '<th>Stage</th><td>Production</td>' "$T/reg.html"
run_status "without -m, the evaluated version's history" 0 tabpipe-report \
	-o "$T/reg2.html" "$T/eval1.json"
yes_that "has the registry section" grep -q '<section id="registry">' "$T/reg2.html"
run_status "a reference to no version exits 66" 66 tabpipe-report -m "$model@9" -o "$T/x.html"
run_status "an unreachable database exits 69" 69 tabpipe-report \
	--db "host=/nonexistent dbname=x connect_timeout=2" -o "$T/x.html" "$T/eval.json"
