#!/bin/sh
# Model quality benchmark (make bench-quality): test ROC AUC of tabpipe's
# defaults against the baselines a risk team would use, on repeated
# stratified splits of every data set in data/.
#
# The data sets are data/*.csv, each with the target and positive class
# that data/README.md's table gives it. Split s (1 to --splits) of a data
# set is `tabpipe-ingest --fit --split 70/15/15 --seed s`; every method
# reads the same three streams, and tabpipe trains with --seed s.
#
# All labels: tabpipe-train with its defaults (early stopping on the
# validation part), tabpipe-predict on the test part; logistic regression,
# scikit-learn's HistGradientBoostingClassifier and XGBoost, each with its
# library's defaults and with a small grid chosen on the validation part
# (bench/quality.py says which grid and which preprocessing).
#
# 10 % of the labels: a stratified 10 % of the training part keeps its
# label (drawn with seed s), the rest is unlabelled (label -1 in the
# stream); tabpipe-train on the labelled rows, without and with an encoder
# from tabpipe-pretrain (its defaults) on all the training rows; the
# baselines on the labelled rows. Validation and test parts as above.
#
# The table: each method's mean test AUC over the splits, and tabpipe's
# paired difference against each method (mean, standard error, wins), and
# whether tabpipe is above the best baseline by one standard error (issue
# 24's goal); then what tabpipe's scores add to each grid baseline's: the
# two blended, the mix chosen on the validation part (bench/quality.py,
# --blend), against the baseline alone. Then the wall time.
#
# usage: sh bench/quality.sh [--datasets "name ..."] [--epochs n]
#            [--no-semi | --semi-distil] [--out file] [--pretrain-epochs n]
#            [--quick] [--splits n] [--torch [--lever NAME]...]
#            [--variant NAME=OPTIONS]...
#
#   --datasets        only these data sets (names of data/NAME.csv)
#   --epochs n        tabpipe-train's --epochs (its default, 30)
#   --no-semi         leave out the 10 % labels case
#   --lever NAME      with --torch and all labels, also the PyTorch
#                     reference with this lever of bench/levers.py (its
#                     NAMES, which its docstring describes) as method
#                     pytorch+NAME, and its paired difference against
#                     pytorch: a lever's figure before it costs lib/ a
#                     layer (glm also gives its regression alone, as
#                     method glm, and pytorch+glm's difference against it)
#   --out file        also write the table to file, the raw results to
#                     file.tsv
#   --pretrain-epochs tabpipe-pretrain's --epochs (its default, 10)
#   --quick           a look in minutes: 2 splits, 5 epochs, 2 of
#                     pretraining
#   --semi-distil     with 10 % of the labels, also an ensemble of 5 of
#                     the labelled rows (tabpipe+ens5) and its student of
#                     all the training rows, the unlabelled ones taught by
#                     it (tabpipe+distil: tabpipe-train --teacher); and the
#                     two again, each member and the student starting from
#                     the pretrained encoder (tabpipe+pre-ens5,
#                     tabpipe+pre-distil)
#   --splits n        splits 1 to n (10)
#   --torch           add the same model in PyTorch (bench/reference.py,
#                     no pretraining, its tables not shrunk: tabpipe's
#                     --shrink is its shrink lever) and check that each tabpipe model
#                     file scores its validation AUC there (slow)
#   --variant NAME=OPTIONS
#                     with all labels, also tabpipe-train with OPTIONS
#                     added to the defaults, as method NAME, compared
#                     with the baselines and with the defaults on the
#                     same splits (a lever's figure before it becomes a
#                     default); may be given again, and a word @NAME of
#                     OPTIONS names the model file of an earlier variant
#                     of the same split: --variant ens5='--members 5'
#                     --variant distil='--teacher @ens5'
#
# Ten splits took 32 minutes on 2 cores that other jobs shared (a load
# average of 3 to 8), --quick 2 minutes. BUILD names the build folder
# (default build). Needs /usr/bin/python3 with numpy, scikit-learn and
# xgboost (scripts/setup --bench), and PyTorch for --torch.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
bin=$build/bin
py=/usr/bin/python3
only=
epochs=
pepochs=
splits=10
semi=1
semi_distil=
torch=
out=
variants=
lever_names=
usage() {
	sed -n 's/^# usage: //p; s/^#            /           /p' "$0" | head -4 >&2
	exit 64
}
# known_variant NAME: whether a --variant NAME came before.
known_variant() {
	printf '%s\n' "$variants" | awk -F= -v name="$1" '$1 == name { found = 1 } END { exit !found }'
}
while [ $# -gt 0 ]; do
	case $1 in
	--datasets) [ $# -gt 1 ] || usage; only=$2; shift ;;
	--epochs) [ $# -gt 1 ] || usage; epochs=$2; shift ;;
	--pretrain-epochs) [ $# -gt 1 ] || usage; pepochs=$2; shift ;;
	--splits) [ $# -gt 1 ] || usage; splits=$2; shift ;;
	--quick) splits=2 epochs=5 pepochs=2 ;;
	--no-semi) semi= ;;
	--semi-distil) semi_distil=1 ;;
	--torch) torch=1 ;;
	--lever)
		[ $# -gt 1 ] || usage
		case $2 in '' | *[!a-z]*) usage ;; esac
		lever_names="$lever_names $2"
		shift ;;
	--out) [ $# -gt 1 ] || usage; out=$2; shift ;;
	--variant)
		[ $# -gt 1 ] || usage
		variant=${2%%=*}
		case $variant in '' | "$2" | tabpipe | tabpipe+pretrain | *[!A-Za-z0-9_.+-]*) usage ;; esac
		for word in ${2#*=}; do
			case $word in
			@*) known_variant "${word#@}" || usage ;;
			esac
		done
		known_variant "$variant" && usage
		variants="$variants${variants:+
}$2"
		shift ;;
	*) usage ;;
	esac
	shift
done
case $splits in '' | *[!0-9]* | 0) usage ;; esac
[ -z "$semi_distil" ] || [ -n "$semi" ] || usage
[ -z "$lever_names" ] || [ -n "$torch" ] || usage
if [ ! -x "$bin/tabpipe-train" ]; then
	echo "bench/quality.sh: no tools in $build: run make (or set BUILD)" >&2
	exit 66
fi
need="import numpy, sklearn, xgboost${torch:+, torch}"
if ! "$py" -c "$need" 2>/dev/null; then
	echo "bench/quality.sh: $py cannot $need: run scripts/setup --bench" >&2
	exit 69
fi
# A lever is one of bench/levers.py's, checked before any split runs.
# shellcheck disable=SC2086 # the names, one word each
"$py" -c 'import sys; sys.path.insert(0, "bench"); import levers
sys.exit(not set(sys.argv[1:]) <= set(levers.NAMES))' $lever_names || usage
levers=
for lever in $lever_names; do
	levers="$levers --torch-lever $lever"
done
start=$(date +%s)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-quality.XXXXXX")
trap 'rm -rf "$work"' EXIT
results=$work/results
: >"$results"
q() { "$py" bench/quality.py "$@"; }

# Options of the tools: theirs by default.
topt=
popt=
[ -z "$epochs" ] || topt="--epochs $epochs"
[ -z "$pepochs" ] || popt="--epochs $pepochs"

# A tool with its stderr in a log (the first argument), shown when it fails.
run() {
	log=$1
	shift
	"$@" 2>"$log" || { cat "$log" >&2; echo "bench/quality.sh: $1 failed" >&2; exit 70; }
}

# tabpipe-train's "valid AUC" of its best epoch, from its last line.
best_auc() { sed -n 's/.*best epoch .*valid AUC \([0-9.]*\).*/\1/p' "$1" | tail -1; }

# tabpipe: train (train stream, model, log, more options), predict the
# test part, and the validation part for the blends (method tabpipe
# alone), score. Uses $d, $s, $p, $setting.
tabpipe() {
	method=$1 train=$2 model=$3 log=$4
	shift 4
	# shellcheck disable=SC2086 # $topt is a list of options
	run "$log" "$bin/tabpipe-train" $topt --seed "$s" --valid "$p.valid.tps" \
		-o "$model" "$@" "$train"
	[ "$method" != tabpipe ] ||
		"$bin/tabpipe-predict" -q -m "$model" "$p.valid.tps" >"$model.valid.csv"
	"$bin/tabpipe-predict" -q -m "$model" "$p.test.tps" >"$model.csv"
	set --
	[ "$method" = tabpipe+pretrain ] && set -- --log "$p.pre.log"
	q score --dataset "$d" --setting "$setting" --split "$s" --out "$results" \
		--method "$method" --predictions "$model.csv" --test "$p.test.tps" \
		"$@" --log "$log"
}

# The same model in PyTorch on the training stream given, and the check of
# the tabpipe model given (its log has the valid AUC).
torch() {
	[ -n "$torch" ] || return 0
	more=
	[ "$setting" != "all labels" ] || more=$levers
	# shellcheck disable=SC2086 # $topt and $more are lists of options
	"$py" bench/reference.py evaluate $topt --dataset "$d" --setting "$setting" \
		--seed "$s" --out "$work/torch" --train "$1" --valid "$p.valid.tps" \
		--test "$p.test.tps" --tabpipe "check=$2" --check-label check \
		--check-valid-auc "$(best_auc "$3")" --torch pytorch $more
}

list=$(q datasets data/README.md data/*.csv)
names=
echo "$list" | {
	while IFS="$(printf '\t')" read -r d csv target positive; do
		if [ -n "$only" ]; then
			case " $only " in *" $d "*) ;; *) continue ;; esac
		fi
		s=1
		while [ "$s" -le "$splits" ]; do
			p=$work/$d.$s
			setting="all labels"
			echo "bench/quality.sh: $d, split $s of $splits: all labels" >&2
			run "$p.ingest.log" "$bin/tabpipe-ingest" --target "$target" \
				--positive "$positive" --fit "$p.enc.json" \
				--split 70/15/15 --seed "$s" --out "$p" "$csv"
			tabpipe tabpipe "$p.train.tps" "$p.model" "$p.log"
			[ -z "$variants" ] || printf '%s\n' "$variants" | while IFS= read -r v; do
				name=${v%%=*}
				set --
				for word in ${v#*=}; do
					case $word in
					@*) set -- "$@" "$p.${word#@}.variant.model" ;;
					*) set -- "$@" "$word" ;;
					esac
				done
				tabpipe "$name" "$p.train.tps" "$p.$name.variant.model" \
					"$p.$name.variant.log" "$@"
			done
			q baselines --dataset "$d" --setting "$setting" --split "$s" \
				--out "$results" --train "$p.train.tps" \
				--valid "$p.valid.tps" --test "$p.test.tps" \
				--blend "$p.model.valid.csv" "$p.model.csv"
			torch "$p.train.tps" "$p.model" "$p.log"
			if [ -n "$semi" ]; then
				setting="10 % of the labels"
				echo "bench/quality.sh: $d, split $s of $splits: 10 % of the labels" >&2
				"$bin/tabpipe-cat" -q "$p.train.tps" >"$p.train.csv"
				q labels --frac 0.1 --seed "$s" "$p.train.tps" \
					"$p.train.csv" "$p.semi.csv" "$p.small.csv"
				for part in semi small; do
					run "$p.ingest.log" "$bin/tabpipe-ingest" \
						--encoding "$p.enc.json" -o "$p.$part.tps" \
						"$p.$part.csv"
				done
				# shellcheck disable=SC2086
				run "$p.pre.log" "$bin/tabpipe-pretrain" $popt --seed "$s" \
					-o "$p.encoder" "$p.semi.tps"
				tabpipe tabpipe "$p.small.tps" "$p.small.model" "$p.small.log"
				tabpipe tabpipe+pretrain "$p.small.tps" "$p.pre.model" \
					"$p.pre.train.log" --encoder "$p.encoder"
				if [ -n "$semi_distil" ]; then
					tabpipe tabpipe+ens5 "$p.small.tps" "$p.ens5.model" \
						"$p.ens5.log" --members 5
					tabpipe tabpipe+distil "$p.semi.tps" "$p.distil.model" \
						"$p.distil.log" --teacher "$p.ens5.model"
					tabpipe tabpipe+pre-ens5 "$p.small.tps" \
						"$p.pre-ens5.model" "$p.pre-ens5.log" \
						--members 5 --encoder "$p.encoder"
					tabpipe tabpipe+pre-distil "$p.semi.tps" \
						"$p.pre-distil.model" "$p.pre-distil.log" \
						--teacher "$p.pre-ens5.model" --encoder "$p.encoder"
				fi
				q baselines --dataset "$d" --setting "$setting" --split "$s" \
					--out "$results" --train "$p.small.tps" \
					--valid "$p.valid.tps" --test "$p.test.tps" \
					--blend "$p.small.model.valid.csv" "$p.small.model.csv"
				torch "$p.small.tps" "$p.small.model" "$p.small.log"
			fi
			rm -f "$p".*
			s=$((s + 1))
		done
		names="$names $d"
	done
	[ -n "$names" ] || { echo "bench/quality.sh: no data set to run" >&2; exit 64; }
}

# PyTorch's lines, without those of the models it checked.
if [ -f "$work/torch" ]; then
	awk -F'\t' '$3 != "check"' "$work/torch" >>"$results"
fi
end=$(date +%s)
secs=$((end - start))
wall="wall time: $((secs / 60)) min $((secs % 60)) s on $(nproc 2>/dev/null || echo ?) cores (load average at the start $load, at the end $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown))"
set -- \
	--note "splits: tabpipe-ingest --fit --split 70/15/15 --seed s, s = 1..$splits; tabpipe-train ${topt:+$topt }--seed s (defaults otherwise); tabpipe-pretrain ${popt:+$popt }--seed s on all training rows; 10 %: a stratified 10 % of the training labels (seed s)" \
	--note "$wall"
[ -z "$semi_distil" ] ||
	set -- "$@" --note "10 %: tabpipe+ens5: tabpipe-train --members 5 on the labelled rows; tabpipe+distil: tabpipe-train --teacher (that ensemble) on all the training rows; tabpipe+pre-ens5 and tabpipe+pre-distil: the same, each with --encoder (tabpipe+pretrain's; the s column leaves out its pretraining)"
while IFS= read -r v; do
	[ -z "$v" ] ||
		set -- "$@" --note "${v%%=*}: tabpipe-train ${v#*=} ${topt:+$topt }--seed s, with all labels"
done <<EOF
$variants
EOF
# shellcheck disable=SC2086 # the names, one word each
[ -z "$lever_names" ] ||
	set -- "$@" --note "levers:$(printf ' pytorch+%s' $lever_names): the PyTorch reference (bench/reference.py) with that lever of bench/levers.py, on the same split and seed as pytorch"
if [ -f "$work/torch.check" ]; then
	set -- "$@" --note "$(awk -F'\t' '{ n++; if ($6 != "ok") bad++ }
		END { printf "cross-check of %d tabpipe model files in PyTorch (valid AUC within 1e-4): %d mismatched", n, bad }' "$work/torch.check")"
fi
[ -z "$out" ] || { set -- "$@" --out "$out"; cp "$results" "$out.tsv"; }
q table "$@" "$results"
