#!/bin/sh
# Search benchmark: tabpipe-tune against Optuna's TPE (Debian's
# python3-optuna, bench/tune_optuna.py) driving the same tabpipe-train on
# the same split of data/lending_club.csv (tabpipe-ingest --split 70/15/15
# --seed 1), over the same space, for SEEDS repeats. Each repeat gives
# every searcher the same seed (of its search and of every training) and
# prints the best validation AUC each found:
#
#   optuna-tpe     TRIALS trials of at most EPOCHS epochs (TPE draws its
#                  first 10 points at random, then from its model);
#   tune-random    tabpipe-tune --method random: the same TRIALS trials of
#                  EPOCHS epochs, the same budget of trials and of epochs;
#   tune-halving   tabpipe-tune --method halving --eta 3 --min-epochs 1:
#                  as many points as the same budget of epochs pays for
#                  (3 x TRIALS points when EPOCHS is 9: rungs of 1, 3 and
#                  9 epochs), more trials, each shorter.
#
# Then the mean of each over the repeats, the epochs each trained and the
# time each took. JOBS trials run at once on every side, each training on
# one thread. The validation AUC is what every searcher maximises; no
# test rows are looked at.
#
#   sh bench/tune.sh                        after `make` (SEEDS="1 2 3",
#                                           TRIALS=12, EPOCHS=9, JOBS=2)
#   TRIALS=20 EPOCHS=9 sh bench/tune.sh     a larger budget
#   BUILD=dir sh bench/tune.sh              another build folder (build)
#
# The studies live in a throwaway PostgreSQL server (scripts/pg-server)
# unless TABPIPE_DB names one.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${TABPIPE_DB:-}" ]; then
	exec sh scripts/pg-server run sh bench/tune.sh "$@"
fi
build=${BUILD:-build}
seeds=${SEEDS:-1 2 3}
trials=${TRIALS:-12}
epochs=${EPOCHS:-9}
jobs=${JOBS:-2}
py=/usr/bin/python3
bin=$(cd "$build/bin" 2>/dev/null && pwd) || {
	echo "bench/tune.sh: no tools in $build: run make there" >&2
	exit 66
}
[ -x "$bin/tabpipe-tune" ] || { echo "bench/tune.sh: no $bin/tabpipe-tune: run make" >&2; exit 66; }
if ! "$py" -c 'import optuna' 2>/dev/null; then
	echo "bench/tune.sh: python3-optuna is missing (sh scripts/setup --bench)" >&2
	exit 69
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tabpipe-bench-tune.XXXXXX")
trap 'rm -rf "$work"' EXIT
here=$(pwd)

"$bin/tabpipe-ingest" -q --target Class --positive bad --split 70/15/15 --seed 1 \
	--out "$work/lc" data/lending_club.csv
# Small models, so that a trial takes seconds on one thread; every point
# of it is one train takes (the heads divide every d-model).
cat >"$work/space" <<'EOF'
lr float 1e-4 1e-2 log
weight-decay float 1e-6 1e-1 log
dropout float 0 0.3
d-model choice 8 16 32
layers int 1 3
heads choice 1 2
d-ff choice 16 32 64
batch choice 64 128 256 512
warmup float 0 0.2
class-weight choice default balanced
EOF
# The points halving can pay for with the epochs of TRIALS x EPOCHS:
# each rung of 1/3 of the points trains 3 times as long, so every rung
# costs about the first's.
points=$("$py" -c 'import sys
t, e = int(sys.argv[1]), int(sys.argv[2])
rungs, x = 1, e
while x / 3 >= 1:
    x /= 3
    rungs += 1
print(max(1, round(t * e / (rungs * x))))' "$trials" "$epochs")

cd "$work"
results=$work/results
: >"$results"
for seed in $seeds; do
	echo "seed $seed: optuna-tpe, $trials trials..." >&2
	start=$(date +%s)
	"$py" "$here/bench/tune_optuna.py" --train-bin "$bin/tabpipe-train" --space space \
		--trials "$trials" --epochs "$epochs" --seed "$seed" --jobs "$jobs" \
		--fixed "--threads 1" --valid lc.valid.tps --out "optuna-$seed" lc.train.tps >"optuna-$seed.json"
	tpe=$(jq '.best' "optuna-$seed.json")
	tpe_s=$(($(date +%s) - start))
	tpe_epochs=$((trials * epochs))

	echo "seed $seed: tune-random, $trials trials..." >&2
	start=$(date +%s)
	"$bin/tabpipe-tune" -q --study "random-$seed" --method random --space space \
		--trials "$trials" --epochs "$epochs" --seed "$seed" -j "$jobs" \
		-o "random-$seed.json" --valid lc.valid.tps lc.train.tps -- --threads 1
	rnd=$(jq '.best.value' "random-$seed.json")
	rnd_s=$(($(date +%s) - start))
	rnd_epochs=$(jq '[.trial_list[].epochs] | add' "random-$seed.json")

	echo "seed $seed: tune-halving, $points points..." >&2
	start=$(date +%s)
	"$bin/tabpipe-tune" -q --study "halving-$seed" --method halving --eta 3 --min-epochs 1 \
		--space space --trials "$points" --epochs "$epochs" --seed "$seed" -j "$jobs" \
		-o "halving-$seed.json" --valid lc.valid.tps lc.train.tps -- --threads 1
	hlv=$(jq '.best.value' "halving-$seed.json")
	hlv_s=$(($(date +%s) - start))
	hlv_epochs=$(jq '[.trial_list[].epochs] | add' "halving-$seed.json")
	hlv_trials=$(jq '.trials' "halving-$seed.json")
	echo "$seed $tpe $rnd $hlv $tpe_epochs $rnd_epochs $hlv_epochs $tpe_s $rnd_s $hlv_s $hlv_trials" >>"$results"
done

awk -v trials="$trials" -v epochs="$epochs" -v points="$points" -v jobs="$jobs" '
{
	n++; s[n] = $1; for (i = 2; i <= 11; i++) v[n, i] = $i
	for (i = 2; i <= 4; i++) sum[i] += $i
	for (i = 5; i <= 10; i++) tot[i] += $i
}
END {
	printf "tune benchmark: data/lending_club.csv, 70/15/15 split (seed 1), the best validation AUC found;\n"
	printf "%d trials of at most %d epochs (halving: %d points, rungs of 1, 3, ... %d epochs), %d at a time, 1 thread each\n\n", trials, epochs, points, epochs, jobs
	printf "%-6s %12s %12s %13s\n", "seed", "optuna-tpe", "tune-random", "tune-halving"
	for (k = 1; k <= n; k++)
		printf "%-6s %12.4f %12.4f %13.4f\n", s[k], v[k, 2], v[k, 3], v[k, 4]
	printf "%-6s %12.4f %12.4f %13.4f\n", "mean", sum[2] / n, sum[3] / n, sum[4] / n
	printf "%-6s %12.4f %12.4f %13.4f\n", "vs tpe", 0, (sum[3] - sum[2]) / n, (sum[4] - sum[2]) / n
	printf "\nepochs at most, all repeats: optuna-tpe %d, tune-random %d, tune-halving %d (%d trials a repeat)\n", tot[5], tot[6], tot[7], v[1, 11]
	printf "seconds: optuna-tpe %d, tune-random %d, tune-halving %d\n", tot[8], tot[9], tot[10]
}' "$results"
