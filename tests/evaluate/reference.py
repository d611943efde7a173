#!/usr/bin/python3
"""Expected values of tabpipe-evaluate's measures, from scikit-learn.

Writes tests/data/evaluate/cases.json: fixed inputs (probabilities as
float32, labels 0, 1 or -1 for missing, a decision threshold and a number
of calibration bins) and what scikit-learn says of them. The unit suite
test_evaluate.c reads that file, so `make check` needs no Python. Run it
again with Debian's python3-sklearn (1.2) after changing the cases:

    /usr/bin/python3 tests/evaluate/reference.py tests/data/evaluate/cases.json

A measure that scikit-learn cannot take (ROC AUC with one class, anything
of no rows) is null, as tabpipe writes it; so are the curves' points that
have no threshold. Every other value is scikit-learn's.
"""
import json
import sys
import warnings

import numpy as np
from scipy.stats import ks_2samp
from sklearn.calibration import calibration_curve
from sklearn.metrics import (accuracy_score, average_precision_score,
                             brier_score_loss, confusion_matrix, f1_score,
                             log_loss, precision_recall_curve, precision_score,
                             recall_score, roc_auc_score, roc_curve)


def cases():
    rng = np.random.default_rng(20261123)
    out = []
    # scikit-learn's own example of precision_recall_curve.
    out.append(("hand", [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.5, 4))
    # Few distinct scores, so that most are tied across both classes; scores
    # on the bin edges and on the threshold, and exactly 0 and 1 (clipped in
    # the log loss).
    levels = np.array([0.0, 0.05, 0.1, 0.25, 0.3, 0.5, 0.6, 0.75, 0.9, 1.0])
    s = levels[rng.integers(0, len(levels), 60)]
    y = (rng.random(60) < 0.2 + 0.6 * s).astype(int)
    out.append(("ties", s, y, 0.5, 10))
    # Many rows, scores rounded to two decimals (ties again), some labels
    # missing, an odd number of bins whose edges are not round.
    s = np.round(rng.beta(2, 5, 500), 2)
    y = (rng.random(500) < s).astype(int)
    y[rng.random(500) < 0.1] = -1
    out.append(("random", s, y, 0.37, 7))
    # Fully separated classes: AUC and KS 1.
    out.append(("separated", [0.9, 0.8, 0.7, 0.2, 0.1], [1, 1, 1, 0, 0], 0.5, 5))
    # Rows without a label, which no measure counts.
    out.append(("unlabelled", [0.3, 0.6, 0.2, 0.9, 0.4],
                [-1, 1, -1, 0, -1], 0.5, 2))
    # One class only: no ranking measure.
    out.append(("only_positive", [0.2, 0.7, 0.7, 0.9], [1, 1, 1, 1], 0.5, 10))
    out.append(("only_negative", [0.2, 0.7, 0.7, 0.95], [0, 0, 0, -1], 0.8, 3))
    out.append(("empty", [], [], 0.5, 10))
    return out


def none_if_nan(x):
    return None if x is None or np.isnan(x) else float(x)


def expected(p, y, threshold, bins):
    n = len(y)
    pos, neg = int((y == 1).sum()), int((y == 0).sum())
    ex = {"rows": n, "labelled": pos + neg, "positives": pos}
    keep = y >= 0
    p, y = p[keep], y[keep]
    both = pos > 0 and neg > 0
    if both:
        auc = roc_auc_score(y, p)
        fpr, tpr, thr = roc_curve(y, p, drop_intermediate=False)
        ks = float(np.max(np.abs(tpr - fpr)))
        assert abs(ks - ks_2samp(p[y == 1], p[y == 0]).statistic) < 1e-12
        ex.update(auc=auc, gini=2 * auc - 1, ks=ks)
        ex["roc"] = [[float(a), float(b), float(c)]
                     for a, b, c in zip(fpr, tpr, thr)]
    else:
        ex.update(auc=None, gini=None, ks=None, roc=[])
    if pos > 0:
        ex["pr_auc"] = average_precision_score(y, p)
        prec, rec, thr = precision_recall_curve(y, p)
        thr = list(thr) + [None]
        ex["pr"] = [[float(a), float(b), none_if_nan(c)]
                    for a, b, c in zip(rec, prec, thr)]
    else:
        ex.update(pr_auc=None, pr=[])
    pred = (p >= threshold).astype(int)
    ex["threshold"] = threshold
    if len(y) > 0:
        ex["log_loss"] = log_loss(y, p, eps=1e-15, labels=[0, 1])
        ex["brier"] = brier_score_loss(y, p, pos_label=1)
        ex["f1"] = f1_score(y, pred, zero_division=0)
        ex["precision"] = precision_score(y, pred, zero_division=0)
        ex["recall"] = recall_score(y, pred, zero_division=0)
        ex["accuracy"] = accuracy_score(y, pred)
    else:
        for k in ("log_loss", "brier", "f1", "precision", "recall", "accuracy"):
            ex[k] = None
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    ex["confusion"] = {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)}
    # Every bin, as calibration_curve(strategy="uniform") makes them; it
    # leaves the empty ones out, and tabpipe keeps them with no means.
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    cal = []
    for b in range(bins):
        inb = ids == b
        m = int(inb.sum())
        cal.append([b, float(edges[b]), float(edges[b + 1]), m,
                    float(p[inb].mean()) if m else None,
                    float(y[inb].mean()) if m else None])
    if len(y) > 0:
        true, predicted = calibration_curve(y, p, n_bins=bins)
        got = [c for c in cal if c[3] > 0]
        assert len(got) == len(true)
        for c, t, q in zip(got, true, predicted):
            assert abs(c[4] - q) < 1e-12 and abs(c[5] - t) < 1e-12
    ex["calibration"] = cal
    return ex


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: reference.py cases.json")
    warnings.simplefilter("ignore")
    out = []
    for name, s, y, threshold, bins in cases():
        # The probabilities as tabpipe holds them: float32.
        p = np.asarray(s, dtype=np.float32).astype(np.float64)
        y = np.asarray(y, dtype=int)
        out.append({
            "name": name, "threshold": threshold, "bins": bins,
            "scores": [float(v) for v in p], "labels": [int(v) for v in y],
            "expected": expected(p, y, threshold, bins),
        })
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
