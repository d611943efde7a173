#!/usr/bin/python3
"""Expected values of tabpipe-drift's statistics, from SciPy.

Writes tests/data/drift/special.txt (the distributions: chi2.sf,
kstwo.sf, special.smirnov) and tests/data/drift/cases.txt (whole feature
comparisons: PSI and bins from numpy, the Jensen-Shannon distance,
ks_2samp and chi2_contingency from SciPy), which test_drift.c reads. The
results are committed, so `make check` needs no Python; run this again
(Debian's python3-scipy, SciPy 1.10) only to change the cases:

    /usr/bin/python3 tests/drift/reference.py tests/data/drift

Samples are written as float32 values ("%.9g" reads back exactly), or as a
generator line "gen N A B M S" for x_i = float32(((i A + B) mod M) S),
i = 0..N-1, which C computes to the same bits.
"""
import os
import sys

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance

EPS = 1e-4  # TP_DRIFT_EPS: the share of an empty bin


def gen(n, a, b, m, s):
    i = np.arange(n, dtype=np.int64)
    return (((i * a + b) % m).astype(np.float64) * s).astype(np.float32)


def psi(r, c):
    r = r / r.sum()
    c = c / c.sum()
    r = np.where(r == 0, EPS, r)
    c = np.where(c == 0, EPS, c)
    return float(np.sum((c - r) * np.log(c / r)))


def numeric(ref, cur, bins):
    ref = ref.astype(np.float64)
    cur = cur.astype(np.float64)
    rp, cp = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    edges = np.unique(np.quantile(rp, np.arange(1, bins) / bins))
    k = len(edges) + 1
    rc = np.bincount(np.searchsorted(edges, rp, side="right"), minlength=k)
    cc = np.bincount(np.searchsorted(edges, cp, side="right"), minlength=k)
    rc = np.append(rc, np.isnan(ref).sum()).astype(np.float64)
    cc = np.append(cc, np.isnan(cur).sum()).astype(np.float64)
    ks = stats.ks_2samp(rp, cp, method="auto")
    # The same choice as ks_2samp's 'auto'.
    method = "exact" if max(len(rp), len(cp)) <= 10000 else "asymp"
    return {"psi": psi(rc, cc), "js": distance.jensenshannon(rc, cc, base=2),
            "bins": len(rc), "ks": (ks.statistic, ks.pvalue, method)}


def categorical(ref, cur, ncats):
    rc = np.bincount(ref, minlength=ncats).astype(np.float64)
    cc = np.bincount(cur, minlength=ncats).astype(np.float64)
    keep = (rc + cc) > 0
    table = np.array([rc[keep], cc[keep]])
    if keep.sum() < 2:
        chi2, p, dof = 0.0, 1.0, 0
    else:
        chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    return {"psi": psi(rc, cc), "js": distance.jensenshannon(rc, cc, base=2),
            "bins": ncats, "chi2": (chi2, p, dof)}


def sample_line(tag, x, spec=None):
    if spec is not None:
        return "%s gen %d %d %d %d %.17g\n" % ((tag,) + spec)
    return "%s %d %s\n" % (tag, len(x), " ".join("%.9g" % v for v in x))


def main(out):
    rng = np.random.default_rng(20261123)
    f32 = np.float32
    cases = []  # (name, kind, bins or ncats, ref, cur, ref_spec, cur_spec)

    def num(name, ref, cur, bins=10, rs=None, cs=None):
        cases.append((name, "numeric", bins, ref, cur, rs, cs))

    def cat(name, ncats, ref, cur):
        cases.append((name, "categorical", ncats, np.asarray(ref),
                      np.asarray(cur), None, None))

    num("shifted", rng.normal(0, 1, 200).astype(f32),
        rng.normal(0.4, 1.2, 150).astype(f32))
    num("same", rng.normal(0, 1, 300).astype(f32),
        rng.normal(0, 1, 240).astype(f32))
    # Heavy ties: equal quantiles merge, values on cut points go up.
    num("ties", rng.integers(0, 5, 400).astype(f32),
        rng.integers(0, 6, 333).astype(f32))
    num("mostly_zero", np.where(rng.random(500) < 0.7, 0,
                                rng.exponential(3, 500)).astype(f32),
        np.where(rng.random(450) < 0.4, 0, rng.exponential(3, 450)).astype(f32))
    ref = rng.normal(0, 1, 250).astype(f32)
    ref[rng.random(250) < 0.1] = np.nan
    cur = rng.normal(0, 1, 260).astype(f32)
    cur[rng.random(260) < 0.3] = np.nan
    num("missing", ref, cur)
    # Every current value above the reference: empty bins on both sides.
    num("empty_bins", rng.uniform(0, 1, 100).astype(f32),
        rng.uniform(5, 6, 80).astype(f32))
    num("equal_sizes", rng.normal(0, 1, 120).astype(f32),
        rng.normal(0.3, 1, 120).astype(f32))
    num("small", np.array([0.5, 1.5, 2.5, 2.5, 9], dtype=f32),
        np.array([1, 2, 3, 4, 5, 6, 7], dtype=f32), bins=4)
    num("tiny", np.array([1], dtype=f32), np.array([2, 3], dtype=f32), bins=3)
    num("five_bins", rng.gamma(2, 2, 333).astype(f32),
        rng.gamma(2.3, 2, 222).astype(f32), bins=5)
    # More than 10000 values: the asymptotic p-value, for each method of
    # the Kolmogorov distribution.
    for name, rs, cs in [
            ("large_far", (12000, 7919, 3, 10007, 0.001),
             (11000, 104729, 11, 9973, 0.00105)),
            ("large_near", (12000, 7919, 3, 10007, 0.001),
             (11000, 104729, 11, 10007, 0.00102)),
            ("large_close", (30001, 7919, 5, 30011, 0.001),
             (25000, 15485863, 7, 30011, 0.001005)),
            ("large_vs_small", (20000, 7919, 3, 10007, 0.001),
             (100, 37, 1, 101, 0.115))]:
        num(name, gen(*rs), gen(*cs), rs=rs, cs=cs)
    cat("categories", 5, rng.choice(5, 300, p=[0.05, 0.4, 0.3, 0.2, 0.05]),
        rng.choice(5, 280, p=[0.05, 0.3, 0.3, 0.3, 0.05]))
    # A category only the current data has is unseen: index 0.
    cat("new_category", 4, rng.choice([1, 2, 3], 200),
        rng.choice([0, 1, 2, 3], 150, p=[0.3, 0.3, 0.2, 0.2]))
    # Index 2 is empty in both: left out of the chi-square table.
    cat("empty_both", 5, rng.choice([0, 1, 3, 4], 210),
        rng.choice([1, 3, 4], 190))
    cat("one_category", 3, np.full(50, 2), np.full(40, 2))
    cat("small_counts", 4, [1, 1, 2, 3], [1, 2, 2, 2, 3, 3])

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("# made by tests/drift/reference.py with SciPy %s, numpy %s\n"
                % (scipy.__version__, np.__version__))
        for name, kind, k, ref, cur, rs, cs in cases:
            f.write("case %s %s %d\n" % (name, kind, k))
            if kind == "numeric":
                f.write(sample_line("ref", ref, rs))
                f.write(sample_line("cur", cur, cs))
                r = numeric(ref, cur, k)
                f.write("ks %.17g %.17g %s\n" % r["ks"])
            else:
                f.write("ref %d %s\n" % (len(ref), " ".join(map(str, ref))))
                f.write("cur %d %s\n" % (len(cur), " ".join(map(str, cur))))
                r = categorical(ref, cur, k)
                f.write("chi2 %.17g %.17g %d\n" % r["chi2"])
            f.write("psi %.17g\njs %.17g\nbins %d\nend\n"
                    % (r["psi"], r["js"], r["bins"]))

    with open(os.path.join(out, "special.txt"), "w") as f:
        f.write("# made by tests/drift/reference.py with SciPy %s\n"
                % scipy.__version__)
        for df in [1, 2, 3, 7, 30, 250]:
            for x in [0.001, 0.5, 1, 3.84, 10, 50, 300, 1500]:
                f.write("chi2_sf %.17g %d %.17g\n" % (x, df, stats.chi2.sf(x, df)))
        # n and x chosen to reach every branch of the Kolmogorov
        # distribution: Ruben-Gambino at both ends, Durbin's matrix,
        # Pomeranz, the Smirnov sum, Pelz-Good.
        for n, x in [(5, 0.15), (5, 0.3), (10, 0.2), (10, 0.35), (10, 0.6),
                     (50, 0.05), (50, 0.1), (50, 0.2), (50, 0.3),
                     (140, 0.07), (140, 0.15), (141, 0.05), (141, 0.2),
                     (500, 0.01), (500, 0.05), (500, 0.1), (1000, 0.0009),
                     (5000, 0.004), (5000, 0.02), (20000, 0.002),
                     (20000, 0.006), (200000, 0.002), (200000, 0.0035),
                     (7, 0.9), (300, 0.002)]:
            f.write("kstwo %d %.17g %.17g\n" % (n, x, stats.kstwo.sf(x, n)))
        for n, x in [(1, 0.3), (10, 0.1), (10, 0.5), (1000, 0.03),
                     (1013, 0.03), (5000, 0.01)]:
            f.write("smirnov %d %.17g %.17g\n" % (n, x, special.smirnov(n, x)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/drift")
