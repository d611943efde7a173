#!/bin/sh
# The demo's report as a person sees it: the demo run (in a folder of the
# test's own), its report.html rendered by headless Chromium, every chart
# has a size on the page and draws the series it declares (data-series),
# the page logs no console error and asks for nothing outside itself, and
# a screenshot of it is a PNG of the page.
# shellcheck disable=SC2016 # the inner shells' and awk's own $1
cd "$(dirname "$0")" || exit 70
. ./lib.sh

chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
	skip "the report rendered in Chromium" "no chromium: scripts/setup installs it"
	exit 0
fi

# The demo, as a fresh clone runs it, in a folder of the test's own and
# with a database of its own when there is one, quicker: its report. A
# teacher of two members takes the same steps as one of five.
root=$(cd ../.. && pwd)
EPOCHS=2 PRETRAIN_EPOCHS=1 TEACHER_MEMBERS=2 DEMO_HOME=$T/demo sh "$root/scripts/demo" \
	>"$T/out" 2>"$T/err"
status=$?
yes_that "the demo runs" test "$status" -eq 0
# Where it stopped: the end of what it said.
[ "$status" -eq 0 ] || tail -n 25 "$T/err" | sed 's/^/#   demo: /'
yes_that "and says where its report is" grep -q "the report (open it in a browser): $T/demo/report.html" "$T/out"
cp "$T/demo/report.html" "$T/report.html" 2>/dev/null
reg=
[ -n "${TABPIPE_DB:-}" ] && reg=yes
# What the demo's report holds: the Production model's card, the champion
# and the challenger of the retraining, the shifted batch's drift, the
# data checks, the registry.
for section in card performance champion drift quality registry; do
	yes_that "the report has its $section section" grep -q "<section id=\"$section\"" "$T/report.html"
done
# Its measures are the Production model's (the card's): the retraining's
# challenger, when promoted, not the champion it replaced, whose
# evaluation comes first.
for last in "$T/demo/runs"/*/; do :; done
ev=${last}champion.json
card=$(sed -n 's|.*<th>SHA-256</th><td><code>\([0-9a-f]*\)</code>.*|\1|p' "$T/report.html")
[ "$(jq -r .model.sha256 "${last}evaluation.json")" = "$card" ] && ev=${last}evaluation.json
auc=$(printf '%.4f' "$(jq .auc "$ev")")
yes_that "the measures are the card's model's (AUC $auc)" \
	grep -q "ROC AUC</th><td class=\"n\">$auc</td>" "$T/report.html"
yes_that "the demo says serving and predicting agree digit for digit" \
	grep -q "the probabilities of tabpipe-predict, digit for digit" "$T/out"

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
for c in training roc pr calibration score-histogram ks gains lift confusion; do
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
