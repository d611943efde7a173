#!/bin/sh
# tabpipe-report's document as a person sees it: rendered by headless
# Chromium, every chart has a size on the page and draws the series it
# declares (data-series), the page logs no console error and asks for
# nothing outside itself, and a screenshot of it is a PNG of the page.
# The document holds what the demo's does: a model's card and its
# evaluation, a shifted batch's drift, the data checks, and with a
# database the registry's history.
# shellcheck disable=SC2016 # the inner shells' and awk's own $1
cd "$(dirname "$0")" || exit 70
. ./lib.sh

chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
	skip "the report rendered in Chromium" "no chromium: scripts/setup installs it"
	exit 0
fi

small="--epochs 2 --layers 1 --d-model 16 --heads 2 --d-ff 32 --head-hidden 16 --seed 3"
tabpipe-ingest -q --target Status --positive bad --split 70/30 --seed 1 \
	--fit "$T/enc.json" --out "$T/cd" "$DATA/credit_data.csv"
# The shifted batch: incomes up half, a new kind of home.
awk -F, -v OFS=, 'NR > 1 { $10 = int($10 * 1.5); if (NR % 5 == 0) $3 = "\"boat\"" } 1' \
	"$DATA/credit_data.csv" >"$T/shifted.csv"
tabpipe-ingest -q --encoding "$T/enc.json" "$T/shifted.csv" >"$T/shifted.tps"
reg=
if [ -n "${TABPIPE_DB:-}" ]; then
	reg="--name loans"
fi
# shellcheck disable=SC2086 # $small and $reg hold several words
tabpipe-train -q $small $reg --valid "$T/cd.test.tps" -o "$T/m.safetensors" \
	"$T/cd.train.tps"
model=$T/m.safetensors
if [ -n "$reg" ]; then
	tabpipe-promote -q loans 1 >/dev/null
	model=loans@production
fi
tabpipe-evaluate -q -m "$model" -o "$T/eval.json" "$T/cd.test.tps"
tabpipe-drift -q -m "$model" --reference "$T/cd.train.tps" -o "$T/drift.json" \
	"$T/shifted.tps" || true
tabpipe-validate -q -r "$T/validate.json" "$T/cd.test.tps" || true
run_status "the report is written" 0 tabpipe-report -m "$model" \
	-o "$T/report.html" "$T/eval.json" "$T/drift.json" "$T/validate.json"

# Nothing from outside: no remote source, style or font, no script.
yes_that "the document loads nothing from elsewhere" sh -c \
	'! grep -Eiq "(src|href)=\"(https?:)?//|@import|url\\(" "$1"' sh "$T/report.html"
yes_that "and holds no script" sh -c '! grep -iq "<script" "$1"' sh "$T/report.html"

# A copy of the page that measures itself once laid out: each chart's box
# and series, the closed <details> opened first so that nothing is hidden.
cp "$T/report.html" "$T/measured.html"
cat >>"$T/measured.html" <<'EOF'
<script>
window.addEventListener('load', function () {
	document.querySelectorAll('details').forEach(function (d) { d.open = true; });
	var lines = [];
	document.querySelectorAll('svg.chart').forEach(function (s) {
		var r = s.getBoundingClientRect();
		lines.push([s.getAttribute('data-chart'), Math.round(r.width),
		    Math.round(r.height), s.querySelectorAll('.series').length,
		    s.getAttribute('data-series')].join(' '));
	});
	var pre = document.createElement('pre');
	pre.id = 'measured';
	pre.textContent = '\n' + lines.join('\n') + '\n';
	document.body.appendChild(pre);
});
</script>
EOF
flags="--headless --no-sandbox --disable-gpu --disable-dev-shm-usage
--no-first-run --no-default-browser-check --user-data-dir=$T/chrome
--enable-logging=stderr --v=0 --virtual-time-budget=10000"
# shellcheck disable=SC2086 # $flags is a list of options
timeout 120 "$chrome" $flags --dump-dom "file://$T/measured.html" \
	>"$T/dom.html" 2>"$T/chrome.err"
sed -n '/<pre id="measured">/,/<\/pre>/p' "$T/dom.html" |
	grep -E '^[a-z][a-z0-9_-]* [0-9]+ [0-9]+ [0-9]+ ' >"$T/charts"
n=$(wc -l <"$T/charts")
# The charts the inputs call for: the evaluation's, the drift's, the
# training curve's when the file has its history.
yes_that "Chromium lays out the charts ($n)" test "$n" -ge 8
for c in roc pr calibration score-histogram ks gains lift confusion; do
	yes_that "the $c chart is there" grep -q "^$c " "$T/charts"
done
yes_that "the drift of a feature is drawn" grep -q '^drift-' "$T/charts"
if [ -n "$reg" ]; then
	yes_that "and the registry's history" grep -q '^registry' "$T/charts"
fi
yes_that "every chart has a size on the page" \
	awk '$2 <= 0 || $3 <= 0 { bad = 1; print } END { exit bad }' "$T/charts"
yes_that "and draws the series it declares" \
	awk '$4 != $5 || $4 < 1 { bad = 1; print } END { exit bad }' "$T/charts"
# Chromium's log says a page's console messages and failed loads.
yes_that "no console error" sh -c \
	'! grep -E "CONSOLE.*(rror|Uncaught)|Failed to load|net::ERR_" "$1"' sh "$T/chrome.err"

# shellcheck disable=SC2086
timeout 120 "$chrome" $flags --hide-scrollbars --window-size=1280,4000 \
	--screenshot="$T/report.png" "file://$T/report.html" >/dev/null 2>&1
yes_that "a screenshot of the page is a PNG" sh -c \
	'[ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -c | tr -d " ")" = "211PNG\r\n032\n" ]' sh "$T/report.png"
if [ -n "${TABPIPE_RENDER_KEEP:-}" ]; then
	cp "$T/report.png" "$T/report.html" "$TABPIPE_RENDER_KEEP"/
fi
