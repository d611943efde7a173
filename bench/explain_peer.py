"""The PyTorch side of bench/explain.sh: the integrated gradients of
`tabpipe-predict --explain` (lib/model/explain.h), computed with PyTorch's
autograd on the same model file and the same rows, timed, and checked
against what tabpipe-predict printed. Run with /usr/bin/python3.

    explain_peer.py --model M --rows R.tps [--check OUT.jsonl]
        [--k 4] [--steps 32] [--threads 1] [--batch 32] [--score-passes 0]

The model file is loaded into tests/golden/tabtransformer.py (eval mode,
its parameters not requiring gradients, so that autograd computes the
tokens' gradient alone, as tabpipe's token gradient does). The reference
tokens come from the file's "reference" metadata, as lib/model/explain.c
builds them: each categorical feature's embedding rows weighted by the
shares of its values, and each numeric feature's (1 - m)(mu w + b) +
m missing. Rows are taken --batch at a time: their points at the --steps
Gauss-Legendre nodes of [0,1] (numpy's) go through one forward and one
backward pass, the gradients are summed with the nodes' weights, and a
feature's attribution is its token's (x - x') times that integral, summed
over the channels; the t = 1 pass, which gives the row's log-odds, is a
forward pass without autograd.

Prints "key value" lines:

    torch_rows_per_s     rows explained a second (the rows' tokens, the
                         path, the passes and the attributions; one
                         untimed batch first)
    torch_score_rows_per_s  with --score-passes P: rows scored a second
                         without explanations, P passes over the rows
                         in batches of 256 (torch_speed.py's inference:
                         eval mode, inference_mode), after one untimed
    check_reasons        contributions compared with --check's
    check_max_diff       the largest |tabpipe - PyTorch| of them
    check_prob_max_diff  the largest |probability - sigmoid(log-odds)|
    check_top_same       rows whose reasons are PyTorch's k largest
                         positive attributions, in the same order

and exits 1 when a contribution differs by more than 1e-3 (or a
probability by more than 1e-5), or the check file does not hold the rows.
"""

import argparse
import json
import sys
import time

# No __pycache__ left in bench/ or tests/golden/.
sys.dont_write_bytecode = True

# First: it sets OPENBLAS_NUM_THREADS=1 before numpy loads OpenBLAS, as
# torch_speed.py runs PyTorch, and puts tests/golden on the path.
import reference  # noqa: E402, F401, I100
import numpy as np  # noqa: E402
import tps  # noqa: E402
from ig_reference import logodds, reference_tokens  # noqa: E402

TOLERANCE = 1e-3
PROB_TOLERANCE = 1e-5


class Explainer:
    def __init__(self, model, base, steps):
        import torch
        self.model, self.base = model, base
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        self.nodes = torch.from_numpy((nodes + 1) / 2).float().view(-1, 1, 1, 1)
        self.weights = torch.from_numpy(weights / 2).view(-1, 1, 1, 1)
        with torch.no_grad():
            self.base_logodds = float(logodds(model, base.unsqueeze(0))[0])

    def explain(self, cat, num):
        """(attributions (B, T) float64, log-odds (B)) of B rows."""
        import torch
        S = self.nodes.shape[0]
        with torch.no_grad():
            x = self.model.tokens(cat, num)                     # (B,T,C)
            diff = x - self.base
            path = (self.base + self.nodes * diff).reshape(-1, *x.shape[1:])
            row_logodds = logodds(self.model, x)                # t = 1
        path.requires_grad_(True)
        grad, = torch.autograd.grad(logodds(self.model, path).sum(), path)
        integral = (self.weights * grad.view(S, *x.shape).double()).sum(dim=0)
        return (diff.double() * integral).sum(dim=2), row_logodds


def run(ex, s, batch):
    """Every row's attributions and log-odds, and the seconds they took."""
    import torch
    cat, num = torch.from_numpy(s.cat).long(), torch.from_numpy(s.num)
    ex.explain(cat[:batch], num[:batch])   # warm-up, not timed
    attr, lo = [], []
    t0 = time.perf_counter()
    for r in range(0, len(s), batch):
        a, f = ex.explain(cat[r:r + batch], num[r:r + batch])
        attr.append(a)
        lo.append(f)
    secs = time.perf_counter() - t0
    return torch.cat(attr).numpy(), torch.cat(lo).double().numpy(), secs


def score_rate(model, s, passes, batch=256):
    """Rows a second of scoring the rows, passes times over, after one
    untimed pass."""
    import torch
    cat, num = torch.from_numpy(s.cat).long(), torch.from_numpy(s.num)
    with torch.inference_mode():
        for i in range(passes + 1):
            if i == 1:
                t0 = time.perf_counter()
            for r in range(0, len(s), batch):
                torch.softmax(model.logits(cat[r:r + batch], num[r:r + batch]),
                              dim=1)[:, 1]
    return passes * len(s) / (time.perf_counter() - t0)


def token_of(enc):
    """Feature name -> token index: the categorical columns, then the
    numeric ones, each kind in the encoding's column order (its slots)."""
    cols = enc["columns"]
    cat = [c["name"] for c in cols if c["kind"] == "categorical"]
    num = [c["name"] for c in cols if c["kind"] == "numeric"]
    return {name: t for t, name in enumerate(cat + num)}


def check(path, s, attr, row_logodds, enc, k):
    """Compares tabpipe-predict's JSON lines with the attributions; prints
    the check's lines and returns whether it passed."""
    tok = token_of(enc)
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    if len(lines) != len(s):
        print(f"explain_peer.py: {path}: {len(lines)} rows, {len(s)} explained",
              file=sys.stderr)
        return False
    n, worst, worst_at, prob_worst, same = 0, 0.0, None, 0.0, 0
    for i, o in enumerate(lines):
        if o["id"] != int(s.id[i]):
            print(f"explain_peer.py: {path}: line {i + 1} has id {o['id']}, "
                  f"the stream {int(s.id[i])}", file=sys.stderr)
            return False
        reasons = o["reasons"]
        for r in reasons:
            d = abs(r["contribution"] - attr[i, tok[r["feature"]]])
            n += 1
            if d > worst:
                worst, worst_at = d, (o["id"], r["feature"])
        p = 1 / (1 + np.exp(-row_logodds[i]))
        prob_worst = max(prob_worst, abs(o["probability"] - p))
        order = np.argsort(-attr[i], kind="stable")[:k]
        top = [t for t in order if attr[i, t] > 0]
        same += top == [tok[r["feature"]] for r in reasons]
    print(f"check_reasons {n}")
    print(f"check_max_diff {worst:.3g}")
    print(f"check_prob_max_diff {prob_worst:.3g}")
    print(f"check_top_same {same}")
    ok = worst <= TOLERANCE and prob_worst <= PROB_TOLERANCE and n > 0
    if not ok:
        print(f"explain_peer.py: tabpipe and PyTorch disagree: largest "
              f"contribution difference {worst:.3g} (row {worst_at}, limit "
              f"{TOLERANCE}), probability {prob_worst:.3g} (limit "
              f"{PROB_TOLERANCE}), {n} contributions", file=sys.stderr)
    return ok


def main():
    import torch
    from tabtransformer import from_model_file
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--rows", required=True)
    p.add_argument("--check")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--score-passes", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model, meta = from_model_file(a.model)
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    enc = json.loads(meta["encoding"])
    base = torch.from_numpy(
        reference_tokens(model, json.loads(meta["reference"])).astype(np.float32))
    s = tps.load(a.rows)
    ex = Explainer(model, base, a.steps)
    attr, row_logodds, secs = run(ex, s, a.batch)
    print(f"torch_rows_per_s {len(s) / secs:.1f}", flush=True)
    if a.score_passes > 0:
        print(f"torch_score_rows_per_s {score_rate(model, s, a.score_passes):.0f}",
              flush=True)
    if a.check is not None and not check(a.check, s, attr, row_logodds, enc, a.k):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
