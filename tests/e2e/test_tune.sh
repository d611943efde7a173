#!/bin/sh
# tabpipe-tune end to end, on tiny models of credit_data.csv for one to
# three epochs: a study of successive halving on the local pool, its runs,
# rungs and registered best model; the same points from the same seed;
# random search on GNU parallel; the commands printed for an engine and
# run by hand; a study killed with -9 and resumed without running its
# finished trials again; Slurm and Kubernetes through stand-ins of sbatch
# and kubectl that run their jobs here, and a one-node Slurm cluster of
# this machine (scripts/slurm-server) where slurm-wlm is installed and the
# tests run as root;
# trials that fail; the trainer's rights and the reader's; and every
# misuse, exit 64.
. ./lib.sh

if [ -z "${TABPIPE_DB:-}" ]; then
	echo "not ok - TABPIPE_DB is not set: run under scripts/pg-server run"
	exit 1
fi
q() { psql "$TABPIPE_DB" -qAtc "$1"; }
# trials STUDY COLUMNS [WHERE]: the trials' columns, a trial a line.
trials() {
	q "SELECT $2 FROM trials t JOIN studies s ON s.id = t.study_id
	   WHERE s.name = '$1' ${3:+AND $3} ORDER BY t.number"
}
# count STUDY [WHERE]: how many of its trials.
count() {
	q "SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id
	   WHERE s.name = '$1' ${2:+AND $2}"
}

tabpipe-ingest -q --target Status --positive bad --split 70/15/15 --seed 3 \
	--out "$T/cd" "$DATA/credit_data.csv"
here=$(pwd)
cd "$T" || exit 1
cat >space <<'EOF'
# tiny models, so that a trial takes a fraction of a second
lr float 1e-3 1e-2 log
dropout float 0 0.2
d-model choice 8 16
heads choice 1 2
layers int 1 2
d-ff choice 16 32
batch choice 128 256
class-weight choice default balanced
EOF
data="--valid cd.valid.tps cd.train.tps"
# The trials' tiny transformers alone: a study runs the same with the
# additive part, whose fit (test_train.sh's) would be most of each trial.
fixed="-- --threads 1 --head-hidden 8 --additive none"

# Misuse.
run_status "--help exits 0" 0 tabpipe-tune --help
out_has "--help prints the usage" "usage: tabpipe-tune"
# shellcheck disable=SC2086 # $data and $fixed hold several words
run_status "no --study exits 64" 64 tabpipe-tune $data
# shellcheck disable=SC2086
run_status "a bad --study exits 64" 64 tabpipe-tune --study 'a b' $data
# shellcheck disable=SC2086
run_status "an unknown engine exits 64" 64 tabpipe-tune --study u --engine cron $data
# shellcheck disable=SC2086
run_status "--trials 0 exits 64" 64 tabpipe-tune --study u --trials 0 $data
# shellcheck disable=SC2086
run_status "--eta 1 exits 64" 64 tabpipe-tune --study u --eta 1 $data
# shellcheck disable=SC2086
run_status "a parameter train does not take exits 64" 64 tabpipe-tune --study u \
	--param 'dropout float 0 2' $data
err_has "naming the option and its range" '--dropout: "2" is not a number from 0 to 0.99'
# shellcheck disable=SC2086
run_status "a parameter that is no option exits 64" 64 tabpipe-tune --study u \
	--param 'speed float 0 1' $data
printf 'lr float 1e-3 1e-2 log\nlayers float 1 2\n' >bad.space
# shellcheck disable=SC2086
run_status "a bad space file exits 64" 64 tabpipe-tune --study u --space bad.space $data
err_has "naming its line" "bad.space:2: layers takes no float"
# shellcheck disable=SC2086
run_status "--epochs among train's options exits 64" 64 tabpipe-tune --study u $data -- --epochs 3
err_has "saying whose they are" "give tabpipe-tune --epochs"
# shellcheck disable=SC2086
run_status "-o among train's options exits 64" 64 tabpipe-tune --study u $data -- -o x
run_status "no --valid exits 64" 64 tabpipe-tune --study u cd.train.tps
run_status "a missing stream exits 66" 66 tabpipe-tune --study u --valid cd.valid.tps nothere.tps
run_status "train's options without a stream exit 64" 64 tabpipe-tune --study u -- --threads 1
run_status "a study that is not there exits 64" 64 tabpipe-tune --study nosuch
err_has "saying how to make one" "give a training stream and --valid"
run_status "--trial with a study's options exits 64" 64 tabpipe-tune --study u --trial 1 --trials 3
run_status "--trial of no study exits 66" 66 tabpipe-tune --study nosuch --trial 1
# shellcheck disable=SC2086
run_status "no database exits 64" 64 env -u TABPIPE_DB tabpipe-tune --study u $data
yes_that "misuse made no study" test "$(q "SELECT count(*) FROM studies")" = 0

# Successive halving on the local pool, the best registered.
# shellcheck disable=SC2086
run_status "a study of 6 points, halving, 2 at a time" 0 tabpipe-tune --study local \
	--space space --trials 6 --eta 3 --epochs 3 -j 2 --seed 4 --name tuned -o local.json \
	$data $fixed
err_has "a line a trial" "trial 7 (rung 2 of 2, 3 epochs): valid AUC"
err_has "a summary" "study local: 8 trials, 8 finished, 0 failed"
err_has "the registration" "registered tuned version 1"
yes_that "the result: 6 trials of 1 epoch, the best 2 for 3" \
	test "$(jq -c '[.rungs[] | [.epochs, .trials, .finished]]' local.json)" = '[[1,6,6],[3,2,2]]'
yes_that "the promoted are the best of the first rung" test "$(jq -c \
	'[.trial_list[] | select(.rung == 1)] | sort_by(-.value) | .[0:2] | map(.trial) | sort' local.json)" = \
	"$(jq -c '[.trial_list[] | select(.rung == 2) | .parent] | sort' local.json)"
yes_that "with their parameters" test "$(jq '.trial_list as $l | [$l[] | select(.rung == 2) |
	. as $t | ($l[] | select(.trial == $t.parent) | .params) == $t.params] | all' local.json)" = true
best=$(jq '.best.trial' local.json)
yes_that "the best is the highest value" \
	test "$(jq '.best.value' local.json)" = "$(jq '[.trial_list[].value] | max' local.json)"
yes_that "its model is version 1 of tuned" test "$(q "SELECT v.path FROM model_versions v
	JOIN models m ON m.id = v.model_id WHERE m.name = 'tuned' AND v.version = 1")" = \
	"$(jq -r '.best.model_file' local.json)"
yes_that "registered from its train run, with the run's result" test "$(q "SELECT v.run_id || ' ' ||
	(v.metrics->>'valid_auc')::float8 FROM model_versions v")" = \
	"$(jq -r '"\(.best.run) \(.best.value)"' local.json)"
yes_that "the study is finished with its best trial and version" test "$(q "SELECT s.state || ' ' ||
	s.best_trial || ' ' || v.version FROM studies s JOIN model_versions v ON v.id = s.version_id
	WHERE s.name = 'local'")" = "finished $best 1"
yes_that "each trial's value is its train run's validation AUC" test "$(count local \
	"t.value IS DISTINCT FROM (SELECT (result->>'valid_auc')::float8 FROM runs
	WHERE id = t.run_id AND tool = 'train' AND status = 'finished')")" = 0
yes_that "each train run trained the trial's epochs with its parameters" test "$(count local \
	"(SELECT (params->>'epochs')::int FROM runs WHERE id = t.run_id) <> t.budget OR
	abs((SELECT (params->>'lr')::float8 FROM runs WHERE id = t.run_id) /
	(t.params->>'lr')::float8 - 1) > 1e-6")" = 0
yes_that "a model file and a log a trial" test "$(find local.trials -name 'trial-*.safetensors' -o \
	-name 'trial-*.log' | wc -l)" = 16
yes_that "the tune run that made it is recorded" test "$(q "SELECT r.status FROM runs r
	JOIN studies s ON s.run_id = r.id WHERE s.name = 'local'")" = finished
train_runs=$(q "SELECT count(*) FROM runs WHERE tool = 'train'")
run_status "the finished study asked again" 0 tabpipe-tune --study local -o again.json
yes_that "trains nothing" test "$(q "SELECT count(*) FROM runs WHERE tool = 'train'")" = "$train_runs"
yes_that "registers nothing more" test "$(q "SELECT count(*) FROM model_versions")" = 1
yes_that "and gives the same best" test "$(jq -c .best again.json)" = "$(jq -c .best local.json)"
# shellcheck disable=SC2086
run_status "the same name with other settings exits 64" 64 tabpipe-tune --study local \
	--space space --trials 7 --eta 3 --epochs 3 --seed 4 --name tuned $data $fixed
err_has "naming what differs" "trials differs"

# The same seed draws the same points, another seed others (--print runs
# nothing).
# shellcheck disable=SC2086
tabpipe-tune --study same --print --space space --trials 6 --eta 3 --epochs 3 --seed 4 \
	$data $fixed >same.cmds
# shellcheck disable=SC2086
tabpipe-tune --study other --print --space space --trials 6 --eta 3 --epochs 3 --seed 5 \
	$data $fixed >/dev/null
yes_that "the same seed, the same points" test "$(trials same "t.params::text" "t.rung = 1")" = \
	"$(trials local "t.params::text" "t.rung = 1")"
yes_that "another seed, other points" test "$(trials other "t.params::text" "t.rung = 1")" != \
	"$(trials local "t.params::text" "t.rung = 1")"
yes_that "--print gives a worker's command a trial" test "$(grep -c -- '--study same --trial [1-6]$' same.cmds)" = 6

# The commands printed, run by hand, one rung after the other.
sh -e same.cmds 2>/dev/null
run_status "asked again, --print gives the next rung" 0 tabpipe-tune --study same --print
out_has "the promoted trials" "--study same --trial 7"
sh -e "$T/out" 2>/dev/null
run_status "and once all have run, the result" 0 tabpipe-tune --study same --print -o same.json
yes_that "nothing left to print" test ! -s "$T/out"
yes_that "the same best as the local pool's" test "$(jq -c '.best | [.params, .value]' same.json)" = \
	"$(jq -c '.best | [.params, .value]' local.json)"
# shellcheck disable=SC2086
tabpipe-tune --study slurmprint --print --engine slurm --engine-arg --partition=small -j 2 \
	--method random --trials 3 --epochs 1 $data >"$T/out" 2>"$T/err"
out_has "--print --engine slurm gives a job array" "#SBATCH --array=1-3%2"
out_has "with the options given" "#SBATCH --partition=small"
# shellcheck disable=SC2016 # the text of the script, not an expansion
out_has "each task a trial" '--trial "$SLURM_ARRAY_TASK_ID"'
run_status "--print --engine kubernetes gives an Indexed Job" 0 tabpipe-tune --study slurmprint \
	--print --engine kubernetes --image reg.example/tabpipe:1
out_has "indexed" "completionMode: Indexed"
# shellcheck disable=SC2016
out_has "each pod a trial" 'shift "$JOB_COMPLETION_INDEX"'

# Random search on GNU parallel.
if parallel --version 2>/dev/null | grep -q '^GNU parallel'; then
	# shellcheck disable=SC2086
	run_status "random search on GNU parallel" 0 tabpipe-tune --study gnu --engine parallel -j 2 \
		--method random --space space --trials 3 --epochs 1 -o gnu.json $data $fixed
	yes_that "every trial finished" test "$(count gnu "t.state = 'finished'")" = 3
	yes_that "random search: one rung, every trial at --epochs" \
		test "$(jq -c '[.rungs[] | [.epochs, .trials]]' gnu.json)" = '[[1,3]]'
else
	skip "random search on GNU parallel" "GNU parallel is not installed (Debian's parallel package)"
fi

# Killed with -9 amid its trials, the study resumes: its finished trials
# are not run again.
# shellcheck disable=SC2086
tabpipe-tune -q --study killed --space space --trials 6 --eta 3 --epochs 3 --seed 4 \
	$data $fixed >/dev/null 2>killed.err &
pid=$!
i=0
while [ $i -lt 300 ] && [ "$(count killed "t.state = 'finished'")" -lt 2 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
sleep 0.5
trials killed "t.number || ' ' || t.run_id" "t.state = 'finished'" >killed.before
left=$(count killed "t.state <> 'finished'")
if [ "$left" -gt 0 ] || [ "$(count killed)" -lt 8 ]; then
	ok "the study was killed amid its trials ($(wc -l <killed.before) finished)"
else
	not_ok "the study had finished before it was killed"
fi
yes_that "its trains ended with it" test -z "$(pgrep -f 'killed\.trials/trial')"
run_status "run again, it resumes" 0 tabpipe-tune --study killed -o killed.json
yes_that "every trial finished" test "$(count killed "t.state = 'finished'")" = 8
yes_that "those finished before were not run again" test "$(trials killed "t.number || ' ' ||
	t.run_id" "t.number IN ($(cut -d ' ' -f 1 killed.before | paste -sd , -))
	AND t.state = 'finished' AND t.attempts = 1")" = "$(cat killed.before)"
yes_that "the points are those of the same seed" test "$(trials killed "t.params::text")" = \
	"$(trials local "t.params::text")"

# Slurm: a job array a rung, through a stand-in of sbatch --wait that runs
# the array's tasks here as Slurm would, and on a real one-node cluster
# where this machine can run one.
mkdir -p bin
cat >bin/sbatch <<'EOF'
#!/bin/sh
# A stand-in of sbatch --wait FILE: each task of FILE's --array, in turn.
[ "$1" = --wait ] || exit 2
list=$(sed -n 's/^#SBATCH --array=\([^%]*\).*/\1/p' "$2")
for part in $(echo "$list" | tr , ' '); do
	for k in $(seq "${part%-*}" "${part#*-}"); do
		SLURM_ARRAY_TASK_ID=$k sh "$2" || status=1
	done
done
echo "Submitted batch job 1"
exit "${status:-0}"
EOF
cat >bin/kubectl <<'EOF'
#!/bin/sh
# A stand-in of kubectl apply -f FILE and get job/NAME: the Indexed Job's
# pods, one after the other, here.
case $1 in
apply)
	cmd=$(sed -n 's/^ *- \(set -- .*\)$/\1/p' "$3")
	STUDY=$(sed -n '/name: STUDY/{n;s/.*value: "\(.*\)"/\1/p;}' "$3")
	TRIALS=$(sed -n '/name: TRIALS/{n;s/.*value: "\(.*\)"/\1/p;}' "$3")
	dir=$(sed -n 's/^ *workingDir: "\(.*\)"/\1/p' "$3")
	export STUDY TRIALS
	i=0
	for _ in $TRIALS; do
		(cd "$dir" && JOB_COMPLETION_INDEX=$i sh -c "$cmd")
		i=$((i + 1))
	done
	echo "job.batch/x created" ;;
get) echo Complete ;;
esac
EOF
chmod +x bin/sbatch bin/kubectl
# shellcheck disable=SC2086
run_status "halving on Slurm (a stand-in sbatch)" 0 env PATH="$T/bin:$PATH" tabpipe-tune \
	--study slurm --engine slurm --space space --trials 3 --epochs 3 --eta 3 -o slurm.json \
	$data $fixed
yes_that "every trial finished" test "$(count slurm "t.state = 'finished'")" = 4
yes_that "a batch script a rung" test "$(find slurm.trials -name '*.sbatch' | wc -l)" = 2
yes_that "its array the rung's trials" grep -q '^#SBATCH --array=4$' slurm.trials/*.sbatch
# shellcheck disable=SC2086
run_status "random search on Kubernetes (a stand-in kubectl)" 0 env PATH="$T/bin:$PATH" \
	tabpipe-tune --study k8s --engine kubernetes --method random --space space --trials 3 \
	--epochs 1 -o k8s.json $data $fixed
yes_that "each pod ran its trial" test "$(count k8s "t.state = 'finished'")" = 3
# A one-node Slurm cluster of this machine (scripts/slurm-server).
if [ "$(id -u)" -ne 0 ]; then
	skip "halving on a one-node Slurm cluster" "the one-node cluster of scripts/slurm-server runs as root only here"
elif ! command -v sbatch >/dev/null 2>&1 || [ ! -x /usr/sbin/slurmctld ]; then
	skip "halving on a one-node Slurm cluster" "slurm-wlm is not installed (scripts/setup installs it)"
else
	# shellcheck disable=SC2086
	run_status "halving on a one-node Slurm cluster" 0 sh "$here/../../scripts/slurm-server" run \
		tabpipe-tune --study realslurm --engine slurm -j 2 --space space --trials 3 \
		--epochs 3 --eta 3 -o realslurm.json $data $fixed
	yes_that "every trial finished" test "$(count realslurm "t.state = 'finished'")" = 4
	yes_that "each array task's output is there" \
		test "$(find realslurm.trials -name '*.out' | wc -l)" = 4
	yes_that "the same points and values as through the stand-in" \
		test "$(jq -c '[.trial_list[] | [.params, .value]]' realslurm.json)" = \
		"$(jq -c '[.trial_list[] | [.params, .value]]' slurm.json)"
fi

# Trials that fail: said, recorded, and not the best.
# shellcheck disable=SC2086
run_status "a study whose every trial fails exits 70" 70 tabpipe-tune --study failing \
	--method random --space space --trials 2 --epochs 1 $data -- --encoder nothere.safetensors
err_has "with train's last word" "nothere.safetensors"
yes_that "the trials are failed, with why" test "$(count failing \
	"t.state = 'failed' AND t.error LIKE '%nothere.safetensors%'")" = 2
yes_that "the study goes on running" test "$(q "SELECT state FROM studies WHERE name = 'failing'")" = running

# The trainer runs studies; a reader may not.
q "CREATE ROLE tune_trainer LOGIN IN ROLE tabpipe_trainer;
   CREATE ROLE tune_reader LOGIN IN ROLE tabpipe_reader" >/dev/null
# shellcheck disable=SC2086
run_status "the trainer runs a study and registers its best" 0 tabpipe-tune \
	--db "$TABPIPE_DB user=tune_trainer" --study roles --method random --space space \
	--trials 2 --epochs 1 --name roles $data $fixed
yes_that "recorded as the trainer" test "$(q "SELECT db_user FROM runs WHERE tool = 'tune'
	ORDER BY id DESC LIMIT 1")" = tune_trainer
# shellcheck disable=SC2086
run_status "a reader cannot: exit 77" 77 tabpipe-tune --db "$TABPIPE_DB user=tune_reader" \
	--study readers --method random --space space --trials 2 --epochs 1 $data $fixed
