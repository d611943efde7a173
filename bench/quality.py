"""The Python side of bench/quality.sh (make bench-quality): the data sets,
the 10 % labels, the baselines, tabpipe's test AUC and the table. Run with
/usr/bin/python3 (numpy, Debian's python3-sklearn and python3-xgboost).

    quality.py datasets README CSV...
    quality.py labels --frac F --seed N STREAM.tps CSV SEMI.csv SMALL.csv
    quality.py baselines --dataset D --setting S --split N --out RESULTS
        --train T.tps --valid V.tps --test X.tps [--blend VALID.csv TEST.csv]
    quality.py score --dataset D --setting S --split N --out RESULTS
        --method NAME --predictions P.csv --test X.tps --log LOG [--log LOG]
    quality.py table [--out FILE] [--note TEXT]... RESULTS

`datasets` prints "name<TAB>file<TAB>target<TAB>positive" for each CSV,
taken from the row of the README's table (the one whose header has "file",
"target" and "positive class") that names the file; a CSV that no row names
is an error.

`labels` keeps a stratified share F of a training stream's labels (of each
class round(F x rows), at least 1, drawn with numpy's default_rng(N)):
SEMI.csv is every row of `tabpipe-cat STREAM` (the CSV argument) with the
target of the rows not kept written NA, which tabpipe-ingest reads as a
missing label (-1); SMALL.csv the kept rows alone.

`baselines` and `score` append one tab-separated line per method to
RESULTS: data set, setting, method, split, test AUC, validation AUC,
epochs or trees, seconds, role (ours, baseline or reference) and the
choice made on the validation split. reference.py's `evaluate` writes the
first eight of these columns; its lines count as references.

With --blend, tabpipe's probabilities of the validation and test rows
(tabpipe-predict's CSV), each grid baseline also gets a blend,
BASELINE+tabpipe (role blend): the two log-odds mixed w x tabpipe +
(1 - w) x baseline, w in 0, 0.1, ..., 1 chosen by the validation AUC.
Its difference from the baseline alone is what tabpipe's scores add to
that baseline's, the question a validator asks of a challenger model:
when even the best mix is no better than the baseline, tabpipe finds no
signal the baseline lacks, and a better trained tabpipe may come level
with the baseline but is not expected to rise above it.

The baselines read the same streams as tabpipe (bench/tps.py): the rows
tabpipe-ingest --split dealt, the categories as the encoding's indices
(0 is missing, or a value the training part did not have) and the
numerics standardised by the training part's mean and deviation, NaN
where missing. Each baseline runs once with its library's defaults and
once with a small grid, the point of the grid chosen by the validation
AUC:

- logreg: scikit-learn's LogisticRegression (lbfgs, max_iter 1000 so that
  it converges) on one-hot categories (index 0 a category of its own) and
  numerics imputed by the training median, standardised, with a 0/1
  missing flag for each numeric column that has a missing value in the
  training part. Defaults: C 1. Grid: C in {0.01, 0.1, 1, 10}.
- hgb: HistGradientBoostingClassifier on the category indices as native
  categorical features (a column of more than 254 categories as ordinal
  codes) and the numerics with NaN (the library's own missing branch).
  Defaults: learning_rate 0.1, max_leaf_nodes 31, max_iter 100 (its
  early stopping is off below 10,000 rows). Grid: learning_rate in
  {0.03, 0.1} x max_leaf_nodes in {7, 15, 31}, up to 1000 iterations,
  the number of iterations chosen on the validation AUC (grown 50 at a
  time, stopped 200 iterations after the best).
- xgboost: XGBClassifier on the one-hot categories and the numerics with
  NaN (xgboost's missing branch), tree_method hist (xgboost's default
  from 2.0; 1.7's, exact on data this small, is 5 to 10 times slower).
  Defaults: n_estimators 100, max_depth 6, learning_rate 0.3. Grid: max_depth in {2, 4, 6} x learning_rate in
  {0.03, 0.1}, up to 2000 trees with early stopping on the validation AUC
  (50 rounds), the best round's trees kept.

The table gives, per data set and setting, each method's mean test AUC
over the splits and its standard deviation, and for tabpipe (and
tabpipe+pretrain) the paired difference against each other method, split
by split: its mean, standard error (sd / sqrt(splits)) and how many splits
it wins; then the goal of issue 24: tabpipe's mean above the best
baseline's (the baseline with the highest mean test AUC, a choice made on
the test set, which favours the baselines) by at least one standard error
of the paired difference; then each blend's paired difference from its
baseline.
"""

import argparse
import csv
import math
import os
import re
import statistics
import sys
import time
import warnings

# The baselines run on one thread: on two shared cores the OpenMP threads
# of scikit-learn's and xgboost's trees spin and took 50 times as long as
# one (HistGradientBoostingClassifier, 250 iterations: 17.9 s against 0.34 s
# with another job on the cores). Set before the libraries load.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tps  # noqa: E402


def auc(label, score):
    from sklearn.metrics import roc_auc_score
    keep = label >= 0
    return float(roc_auc_score(label[keep], score[keep]))


# ---------------------------------------------------------------- datasets

def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def first_code(cell):
    """The first `quoted` word of a cell, else the cell."""
    m = re.search(r"`([^`]*)`", cell)
    return m.group(1) if m else cell.strip()


def cmd_datasets(a):
    rows = {}
    with open(a.readme, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("|"):
            continue
        head = [c.lower() for c in cells(line)]
        if not {"file", "target", "positive class"} <= set(head):
            continue
        fi, ti, pi = head.index("file"), head.index("target"), head.index("positive class")
        for row in lines[i + 2:]:
            if not row.lstrip().startswith("|"):
                break
            c = cells(row)
            if len(c) > max(fi, ti, pi):
                rows[first_code(c[fi])] = (first_code(c[ti]), first_code(c[pi]))
    bad = 0
    for path in a.csv:
        name = os.path.basename(path)
        if name not in rows:
            print(f"quality.py: {path}: no row of {a.readme}'s table (file, target, "
                  f"positive class) names it: add one", file=sys.stderr)
            bad = 1
            continue
        target, positive = rows[name]
        print(f"{name[:-4] if name.endswith('.csv') else name}\t{path}\t{target}\t{positive}")
    sys.exit(65 if bad else 0)


# ---------------------------------------------------------------- labels

def cmd_labels(a):
    s = tps.load(a.stream)
    target = [c["name"] for c in s.enc["columns"] if c["kind"] == "target"]
    if not target:
        raise SystemExit(f"labels: {a.stream} has no target")
    rng = np.random.default_rng(a.seed)
    keep = []
    for c in (0, 1):
        rows = np.flatnonzero(s.label == c)
        k = max(1, int(round(a.frac * len(rows))))
        keep.append(rng.choice(rows, k, replace=False))
    keep = set(np.concatenate(keep).tolist())
    with open(a.csv, newline="", encoding="utf-8") as f:
        records = list(csv.reader(f))
    if len(records) != len(s) + 1:
        raise SystemExit(f"labels: {a.csv} has {len(records) - 1} rows, {a.stream} {len(s)}")
    col = records[0].index(target[0])
    with open(a.semi, "w", newline="", encoding="utf-8") as fs, \
            open(a.small, "w", newline="", encoding="utf-8") as fk:
        ws, wk = csv.writer(fs, lineterminator="\n"), csv.writer(fk, lineterminator="\n")
        ws.writerow(records[0])
        wk.writerow(records[0])
        for r, rec in enumerate(records[1:]):
            if r in keep:
                ws.writerow(rec)
                wk.writerow(rec)
            else:
                ws.writerow(rec[:col] + ["NA"] + rec[col + 1:])
    pos = int(sum(s.label[r] == 1 for r in keep))
    print(f"labels: {len(keep)} of {len(s)} rows keep their label ({pos} positive)",
          file=sys.stderr)


# ---------------------------------------------------------------- baselines

def onehot(train):
    """A one-hot encoder of the category indices 0..V of each column, dense
    (scikit-learn 1.2 names the option sparse_output, older ones sparse)."""
    from sklearn.preprocessing import OneHotEncoder
    dense = {"sparse_output": False} if "sparse_output" in OneHotEncoder().get_params() \
        else {"sparse": False}
    oh = OneHotEncoder(categories=[np.arange(v + 1) for v in train.vocab_sizes()],
                       handle_unknown="ignore", **dense)
    oh.fit(train.cat)
    return oh


class Clock:
    """Seconds since the last call of lap()."""

    def __init__(self):
        self.t = time.perf_counter()

    def lap(self):
        t, self.t = self.t, time.perf_counter()
        return self.t - t


def result(method, valid, test, pvalid, ptest, n, choice, clock):
    """A baseline's line, with the probabilities it gave the validation and
    test rows (for the blend)."""
    return {"method": method, "valid": auc(valid.label, pvalid),
            "test": auc(test.label, ptest), "n": n, "choice": choice,
            "secs": clock.lap(), "pvalid": pvalid, "ptest": ptest}


def grid_report(params):
    return ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items())


def standardised(train):
    """A function of a numeric array to (its values with a missing one at
    the training median, standardised by the training rows; the missing
    flags of the columns with a missing training value), for a linear
    model."""
    with warnings.catch_warnings():  # a column of NaN alone has median NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(train.num, axis=0)
    median = np.where(np.isnan(median), 0.0, median)
    flags = np.isnan(train.num).any(axis=0)
    filled = np.where(np.isnan(train.num), median, train.num)
    mu, sd = filled.mean(axis=0), filled.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)

    def f(num):
        miss = np.isnan(num)
        return (np.where(miss, median, num) - mu) / sd, miss[:, flags]
    return f


def logreg(train, valid, test, seed):
    from sklearn.linear_model import LogisticRegression
    oh = onehot(train)
    clock = Clock()
    numeric = standardised(train)

    def X(s):
        num, miss = numeric(s.num)
        return np.hstack([oh.transform(s.cat), num, miss])

    Xtr, Xva, Xte = X(train), X(valid), X(test)

    def fit(C):
        m = LogisticRegression(C=C, max_iter=1000, random_state=seed)
        m.fit(Xtr, train.label)
        return m

    out = []
    m = fit(1.0)
    out.append(result("logreg", valid, test, m.predict_proba(Xva)[:, 1],
                      m.predict_proba(Xte)[:, 1], 0, "C=1", clock))
    best = None
    for C in (0.01, 0.1, 1.0, 10.0):
        m = fit(C)
        v = auc(valid.label, m.predict_proba(Xva)[:, 1])
        if best is None or v > best[0]:
            best = (v, m, C)
    m = best[1]
    out.append(result("logreg-grid", valid, test, m.predict_proba(Xva)[:, 1],
                      m.predict_proba(Xte)[:, 1], 0, grid_report({"C": best[2]}), clock))
    return out


def hgb(train, valid, test, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier as HGB
    vocab = train.vocab_sizes()
    native = [v + 1 <= 254 for v in vocab]

    def X(s):
        return np.hstack([s.cat.astype(np.float64), s.num.astype(np.float64)])

    mask = np.array(native + [False] * train.num.shape[1], dtype=bool)
    cat = mask if mask.any() else None
    Xtr, Xva, Xte = X(train), X(valid), X(test)
    out = []
    clock = Clock()
    m = HGB(random_state=seed, categorical_features=cat)
    m.fit(Xtr, train.label)
    out.append(result("hgb", valid, test, m.predict_proba(Xva)[:, 1],
                      m.predict_proba(Xte)[:, 1], m.n_iter_,
                      "learning_rate=0.1,max_leaf_nodes=31,max_iter=100", clock))
    best = None
    for lr in (0.03, 0.1):
        for leaves in (7, 15, 31):
            m = HGB(learning_rate=lr, max_leaf_nodes=leaves, max_iter=50,
                    early_stopping=False, warm_start=True, random_state=seed,
                    categorical_features=cat)
            top, at, n = -1.0, 0, 0
            while n < 1000 and n - at < 200:
                n += 50
                m.set_params(max_iter=n)
                m.fit(Xtr, train.label)
                for i, p in enumerate(m.staged_predict_proba(Xva)):
                    if i >= n - 50:
                        v = auc(valid.label, p[:, 1])
                        if v > top:
                            top, at = v, i + 1
            if best is None or top > best[0]:
                best = (top, m, at, lr, leaves)
    top, m, at, lr, leaves = best

    def staged(X):
        for i, p in enumerate(m.staged_predict_proba(X)):
            if i + 1 == at:
                return p[:, 1]

    out.append(result("hgb-grid", valid, test, staged(Xva), staged(Xte), at, grid_report(
        {"learning_rate": lr, "max_leaf_nodes": leaves, "max_iter": at}), clock))
    return out


def xgb(train, valid, test, seed):
    import xgboost
    oh = onehot(train)

    def X(s):
        return np.hstack([oh.transform(s.cat), s.num.astype(np.float64)])

    Xtr, Xva, Xte = X(train), X(valid), X(test)
    out = []
    clock = Clock()
    m = xgboost.XGBClassifier(tree_method="hist", n_jobs=1, random_state=seed)
    m.fit(Xtr, train.label)
    out.append(result("xgboost", valid, test, m.predict_proba(Xva)[:, 1],
                      m.predict_proba(Xte)[:, 1], 100,
                      "n_estimators=100,max_depth=6,learning_rate=0.3", clock))
    best = None
    for depth in (2, 4, 6):
        for lr in (0.03, 0.1):
            m = xgboost.XGBClassifier(n_estimators=2000, max_depth=depth,
                                      learning_rate=lr, early_stopping_rounds=50,
                                      eval_metric="auc", tree_method="hist",
                                      n_jobs=1, random_state=seed)
            m.fit(Xtr, train.label, eval_set=[(Xva, valid.label)], verbose=False)
            trees = m.best_iteration + 1
            v = auc(valid.label, m.predict_proba(Xva, iteration_range=(0, trees))[:, 1])
            if best is None or v > best[0]:
                best = (v, m, trees, depth, lr)
    v, m, trees, depth, lr = best
    out.append(result("xgboost-grid", valid, test,
                      m.predict_proba(Xva, iteration_range=(0, trees))[:, 1],
                      m.predict_proba(Xte, iteration_range=(0, trees))[:, 1], trees,
                      grid_report({"max_depth": depth, "learning_rate": lr,
                                   "n_estimators": trees}), clock))
    return out


def append(a, lines):
    with open(a.out, "a") as f:
        for line in lines:
            f.write(line + "\n")
    for line in lines:
        print("quality: " + line.replace("\t", "  "), file=sys.stderr)


def log_odds(p):
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def blend(r, valid, test, ours_valid, ours_test):
    """The baseline line r's log-odds mixed with tabpipe's, w x tabpipe +
    (1 - w) x baseline, w in 0, 0.1, ..., 1 chosen by the validation AUC
    (the lowest w of the best): what tabpipe's scores add to the baseline's.
    w = 0 is the baseline alone, so a blend below it on the test part says
    that tabpipe adds nothing the validation part can find."""
    clock = Clock()
    bv, bt = log_odds(r["pvalid"]), log_odds(r["ptest"])
    ov, ot = log_odds(ours_valid), log_odds(ours_test)
    best = max((auc(valid.label, w * ov + (1 - w) * bv), -w) for w in np.linspace(0, 1, 11))
    w = -best[1]
    return {"method": r["method"] + "+tabpipe", "valid": best[0],
            "test": auc(test.label, w * ot + (1 - w) * bt), "n": 0,
            "choice": f"w={w:.1f}", "secs": clock.lap()}


def cmd_baselines(a):
    train, valid, test = tps.load(a.train), tps.load(a.valid), tps.load(a.test)
    ours = [predictions(p, s) for p, s in zip(a.blend, (valid, test))] if a.blend else None
    lines = []
    for res in (logreg(train, valid, test, a.split), hgb(train, valid, test, a.split),
                xgb(train, valid, test, a.split)):
        for r in res:
            rows = [(r, "baseline")]
            if ours and r["method"].endswith("-grid"):
                rows.append((blend(r, valid, test, *ours), "blend"))
            for r, role in rows:
                lines.append(f"{a.dataset}\t{a.setting}\t{r['method']}\t{a.split}\t"
                             f"{r['test']:.6f}\t{r['valid']:.6f}\t{r['n']}\t"
                             f"{r['secs']:.1f}\t{role}\t{r['choice']}")
    append(a, lines)


# ---------------------------------------------------------------- tabpipe

def tool_log(paths):
    """(best epoch's valid AUC, epochs run, seconds) from the per-epoch lines
    of tabpipe-train and tabpipe-pretrain ("epoch 3/30: ..., 5.6 s, ...",
    "member 2/5, epoch 3/30: ...") and tabpipe-train's last line ("best
    epoch 2 of 7: valid AUC 0.7470", or an ensemble's "the ensemble of 5:
    valid AUC 0.7470"); the epochs (of all members) and the valid AUC are
    the last log's, the seconds all logs'."""
    valid, epochs, secs = float("nan"), 0, 0.0
    for path in paths:
        epochs = 0
        with open(path) as f:
            for line in f:
                m = re.search(r"epoch \d+/\d+: .*, ([0-9.]+) s,", line)
                if m:
                    epochs += 1
                    secs += float(m.group(1))
                m = re.search(r"(?:^tabpipe-train: best epoch \d+ of \d+|"
                              r"the ensemble of \d+): valid AUC ([0-9.]+)", line)
                if m:
                    valid = float(m.group(1))
    return valid, epochs, secs


def predictions(path, stream):
    """tabpipe-predict's probabilities (a CSV of id, probability, ...) in
    the order of the stream's rows."""
    prob = {}
    with open(path, newline="") as f:
        for rec in csv.DictReader(f):
            prob[int(rec["id"])] = float(rec["probability"])
    if len(prob) != len(stream) or any(int(i) not in prob for i in stream.id):
        raise SystemExit(f"quality.py: {path} has {len(prob)} rows, not the "
                         f"{len(stream)} of its stream")
    return np.array([prob[int(i)] for i in stream.id])


def cmd_score(a):
    test = tps.load(a.test)
    score = predictions(a.predictions, test)
    valid, epochs, secs = tool_log(a.log)
    append(a, [f"{a.dataset}\t{a.setting}\t{a.method}\t{a.split}\t"
               f"{auc(test.label, score):.6f}\t{valid:.6f}\t{epochs}\t{secs:.1f}\tours\t-"])


# ---------------------------------------------------------------- table

def paired(ours, other):
    """(mean, standard error, sd, wins, n) of ours - other over the splits
    both have."""
    common = sorted(set(ours) & set(other))
    d = [ours[s] - other[s] for s in common]
    n = len(d)
    sd = statistics.stdev(d) if n > 1 else float("nan")
    return statistics.mean(d), sd / math.sqrt(n), sd, sum(x > 0 for x in d), n


def choices(rows):
    """The grid's choices over the splits, commonest first: "C=0.1 x3, C=1 x2"."""
    count = {}
    for r in rows:
        if r["choice"] != "-":
            c = re.sub(r",?(max_iter|n_estimators)=\d+", "", r["choice"])
            count[c] = count.get(c, 0) + 1
    return ", ".join(f"{c} x{n}" for c, n in sorted(count.items(), key=lambda x: -x[1]))


def cmd_table(a):
    groups = {}
    with open(a.results) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) == 8:  # reference.py's
                c += ["reference", "-"]
            d, s, m = c[0], c[1], c[2]
            r = {"split": int(c[3]), "test": float(c[4]), "valid": float(c[5]),
                 "n": int(c[6]), "secs": float(c[7]), "role": c[8], "choice": c[9]}
            groups.setdefault(d, {}).setdefault(s, {}).setdefault(m, []).append(r)
    out = []
    for d, settings in groups.items():
        for s, methods in settings.items():
            ours = [m for m in methods if methods[m][0]["role"] == "ours"]
            base = [m for m in methods if methods[m][0]["role"] == "baseline"]
            splits = sorted({r["split"] for rs in methods.values() for r in rs})
            out.append(f"{d}, {s}: test ROC AUC over {len(splits)} splits "
                       f"(seeds {' '.join(map(str, splits))})")
            w = max(len(m) for m in methods) + 2
            left = f"  {'method':<{w}}{'mean':>7}{'sd':>8}{'valid':>8}{'n':>6}{'s':>6}"
            out.append(" " * len(left) + "".join(f"   {o + ' - method':>24}" for o in ours))
            out.append(left + "   " + "   ".join(f"{'mean':>9}{'SE':>8}{'wins':>7}"
                                                 for o in ours))
            test = {m: {r["split"]: r["test"] for r in rs} for m, rs in methods.items()}
            for m in ours + base + [m for m in methods if m not in ours + base]:
                rs = methods[m]
                te = [r["test"] for r in rs]
                sd = statistics.stdev(te) if len(te) > 1 else float("nan")
                n = statistics.mean(r["n"] for r in rs)
                n = f"{n:6.0f}" if n else f"{'-':>6}"
                line = (f"  {m:<{w}}{statistics.mean(te):7.4f}{sd:8.4f}"
                        f"{statistics.mean(r['valid'] for r in rs):8.4f}{n}"
                        f"{statistics.mean(r['secs'] for r in rs):6.0f}")
                for o in ours:
                    if o == m:
                        line += " " * 27
                        continue
                    mean, se, _, wins, k = paired(test[o], test[m])
                    line += f"   {mean:+9.4f}{se:8.4f}{f'{wins}/{k}':>7}"
                out.append(line.rstrip())
            for m in methods:
                if (m in base and m.endswith("-grid")) or methods[m][0]["role"] == "blend":
                    out.append(f"  {m} chose: {choices(methods[m])}")
            if base:
                best = max(base, key=lambda m: statistics.mean(test[m].values()))
                for o in ours:
                    mean, se, _, wins, k = paired(test[o], test[best])
                    verdict = "met" if mean >= se else "NOT met"
                    out.append(f"  goal: {o} above the best baseline ({best}, "
                               f"{statistics.mean(test[best].values()):.4f}) by one SE: "
                               f"{mean:+.4f}, SE {se:.4f}: {verdict}")
            # A variant against the defaults, and a lever (METHOD+NAME)
            # against the method it changes, and against NAME where the
            # reference gives that as a model of its own (glm).
            pairs = [(o, ours[0]) for o in ours[1:]]
            pairs += [(m, m.rpartition("+")[0]) for m in methods
                      if m not in ours and m.rpartition("+")[0] in methods]
            pairs += [(m, m.rpartition("+")[2]) for m in methods
                      if "+" in m and methods[m][0]["role"] == "reference"
                      and m.rpartition("+")[2] in methods]
            for m, other in pairs:
                mean, se, sd, wins, k = paired(test[m], test[other])
                out.append(f"  {m} - {other}: {mean:+.4f}, SE {se:.4f}, "
                           f"sd {sd:.4f}, wins {wins}/{k}")
            out.append("")
    out.append("mean, sd: the test AUC's mean and standard deviation over the splits; "
               "valid: the validation AUC of the chosen model; n: epochs (tabpipe) or "
               "trees/iterations; s: seconds a split (tabpipe: training epochs, "
               "pretraining included); X - method: the paired difference of test AUC, "
               "split by split, its mean, standard error (sd / sqrt(splits)) and the "
               "splits X wins.")
    out.extend(a.note)
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("datasets")
    d.add_argument("readme")
    d.add_argument("csv", nargs="+")
    lab = sub.add_parser("labels")
    lab.add_argument("--frac", type=float, required=True)
    lab.add_argument("--seed", type=int, required=True)
    for x in ("stream", "csv", "semi", "small"):
        lab.add_argument(x)
    for name in ("baselines", "score"):
        e = sub.add_parser(name)
        e.add_argument("--dataset", required=True)
        e.add_argument("--setting", required=True)
        e.add_argument("--split", type=int, required=True)
        e.add_argument("--out", required=True)
        e.add_argument("--test", required=True)
        if name == "baselines":
            e.add_argument("--train", required=True)
            e.add_argument("--valid", required=True)
            e.add_argument("--blend", nargs=2, metavar=("VALID.csv", "TEST.csv"))
        else:
            e.add_argument("--method", required=True)
            e.add_argument("--predictions", required=True)
            e.add_argument("--log", action="append", required=True)
    t = sub.add_parser("table")
    t.add_argument("--out", dest="output")
    t.add_argument("--note", action="append", default=[])
    t.add_argument("results")
    a = p.parse_args()
    {"datasets": cmd_datasets, "labels": cmd_labels, "baselines": cmd_baselines,
     "score": cmd_score, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
