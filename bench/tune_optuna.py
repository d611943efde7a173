"""The peer of bench/tune.sh: Optuna's TPE (Debian's python3-optuna)
driving the same tabpipe-train on the same streams, over the same space
(tabpipe-tune's space file: "name float|int LOW HIGH [log]" or "name
choice V...", where "default" leaves the option out), with the same
number of trials, the same epochs, the same seed for the training and the
same trials at once. A trial is worth the validation AUC that train prints
("best epoch N of M: valid AUC X"), as tabpipe-tune reads it from train's
run. Prints one JSON object: the best value and its parameters, the trials
and the seconds.

    python3 bench/tune_optuna.py --train-bin build/bin/tabpipe-train \
        --space space --trials 12 --epochs 9 --seed 1 --jobs 2 \
        --fixed "--threads 1" --valid lc.valid.tps --out DIR lc.train.tps
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import optuna


def read_space(path):
    space = []
    with open(path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            name, kind = words[0], words[1]
            if kind == "choice":
                space.append((name, kind, words[2:]))
            else:
                log = len(words) == 5 and words[4] == "log"
                space.append((name, kind, (float(words[2]), float(words[3]), log)))
    return space


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-bin", required=True)
    ap.add_argument("--space", required=True)
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--fixed", default="")
    ap.add_argument("--valid", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("train")
    a = ap.parse_args()
    space = read_space(a.space)
    os.makedirs(a.out, exist_ok=True)

    def objective(trial):
        args = [a.train_bin] + a.fixed.split() + [
            "--epochs", str(a.epochs), "--seed", str(a.seed)]
        for name, kind, spec in space:
            if kind == "choice":
                v = trial.suggest_categorical(name, spec)
                if v == "default":
                    continue
            elif kind == "int":
                v = trial.suggest_int(name, int(spec[0]), int(spec[1]), log=spec[2])
            else:
                v = trial.suggest_float(name, spec[0], spec[1], log=spec[2])
            args += ["--" + name, str(v)]
        model = os.path.join(a.out, "trial-%d.safetensors" % trial.number)
        args += ["--valid", a.valid, "-o", model, a.train]
        r = subprocess.run(args, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        m = re.search(r"best epoch \d+ of \d+: valid AUC ([0-9.]+)", r.stderr)
        if r.returncode != 0 or m is None:
            # A point train refuses (heads that do not divide d-model)
            # is worth nothing, as tabpipe-tune never draws it.
            raise optuna.TrialPruned()
        return float(m.group(1))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=a.seed))
    start = time.time()
    study.optimize(objective, n_trials=a.trials, n_jobs=a.jobs)
    seconds = time.time() - start
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = study.best_trial if done else None
    json.dump({"best": best.value if best else None,
               "params": best.params if best else None,
               "trials": len(study.trials), "completed": len(done),
               "seconds": round(seconds, 1)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
