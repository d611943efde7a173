"""Compute the golden integrated gradients in PyTorch.

usage: /usr/bin/python3 tests/golden/ig_reference.py WEIGHTS INPUTS OUT

`make golden` runs it on the golden model and inputs (see reference.py).
For the first R rows of INPUTS (R = the length of its label tensor) it
computes what lib/model/explain.h defines, with PyTorch's autograd and
numpy's Gauss-Legendre nodes, none of them the C code's:

  the reference profile   of those R rows: each categorical index's share,
                          each numeric feature's missing share and mean
  ig.base_tokens (T, C)   the reference tokens built from it
  ig.base_logodds (1)     the reference's log-odds (logit 1 - logit 0)
  ig.logodds (R)          each row's log-odds
  ig.attr (R, T)          integrated gradients of the log-odds along the
                          straight path from the reference tokens to the
                          row's, by Gauss-Legendre quadrature on STEPS nodes,
                          summed over each token's channels
  ig.steps (1)            STEPS (32)

and writes them to OUT, which tests/unit/model/test_explain.c compares with
the C explainer.
"""

import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import tabtransformer  # noqa: E402

STEPS = 32


def profile_of(model, cat, num):
    """The reference profile of rows, as a model file keeps it: each
    categorical index's share, each numeric feature's missing share and
    the mean of its present values."""
    profile = {"categorical": [], "numeric": []}
    for j, emb in enumerate(model.cat_embeddings):
        rows = emb.weight.shape[0]
        profile["categorical"].append(
            np.bincount(cat[:, j], minlength=rows) / len(cat))
    for j in range(model.nnum):
        col = num[:, j]
        missing = np.isnan(col)
        profile["numeric"].append({
            "missing": missing.mean(),
            "mean": col[~missing].mean() if (~missing).any() else 0.0})
    return profile


def reference_tokens(model, profile):
    """The (T, C) reference tokens of a reference profile, in float64:
    categorical features, then numeric ones, in slot order."""
    tokens = []
    for j, emb in enumerate(model.cat_embeddings):
        table = emb.weight.detach().double().numpy()
        share = np.asarray(profile["categorical"][j], dtype=np.float64)
        if share.shape != (table.shape[0],):
            raise ValueError(f"categorical feature {j + 1}: {share.shape[0]} "
                             f"shares for {table.shape[0]} embedding rows")
        tokens.append(share @ table)
    for j, f in enumerate(profile["numeric"]):
        m, mu = f["missing"], f["mean"]
        w = model.num_weight.detach().double().numpy()[j]
        b = model.num_bias.detach().double().numpy()[j]
        miss = model.num_missing.detach().double().numpy()[j]
        tokens.append((1 - m) * (mu * w + b) + m * miss)
    return np.stack(tokens)


def logodds(model, tokens):
    logits = model.head(model.encoder(tokens).mean(dim=1))
    return logits[:, 1] - logits[:, 0]


def main(argv):
    if len(argv) != 4:
        print("usage: ig_reference.py WEIGHTS INPUTS OUT", file=sys.stderr)
        return 64
    weights, inputs, out = argv[1:]
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    model, _ = tabtransformer.from_model_file(weights)
    # Dropout is 0 in the golden model: train mode is eval mode here, and
    # keeps PyTorch off its inference-only fast path.
    model.float().train()
    x, _ = safetensors_io.load(inputs)
    rows = x["label"].shape[0]
    cat, num = x["cat"][:rows], x["num"][:rows]

    base64 = reference_tokens(model, profile_of(model, cat, num))
    base = torch.from_numpy(base64.astype(np.float32))
    with torch.no_grad():
        inp = model.tokens(torch.from_numpy(cat).long(), torch.from_numpy(num))
        base_logodds = logodds(model, base.unsqueeze(0))[0]
        row_logodds = logodds(model, inp)
    nodes, weights_ = np.polynomial.legendre.leggauss(STEPS)
    nodes, weights_ = (nodes + 1) / 2, weights_ / 2
    integral = torch.zeros(inp.shape, dtype=torch.float64)
    for t, w in zip(nodes, weights_):
        point = (base + float(t) * (inp - base)).detach().requires_grad_(True)
        grad, = torch.autograd.grad(logodds(model, point).sum(), point)
        integral += w * grad.double()
    attr = ((inp - base).double() * integral).sum(dim=2)

    result = {
        "ig.base_tokens": base.numpy().copy(),
        "ig.base_logodds": np.array([base_logodds.item()], dtype=np.float32),
        "ig.logodds": row_logodds.numpy().astype(np.float32),
        "ig.attr": attr.numpy().astype(np.float32),
        "ig.steps": np.array([STEPS], dtype=np.float32),
    }
    gap = row_logodds.double() - base_logodds.double() - attr.sum(dim=1)
    print(f"ig_reference.py: {rows} rows, {STEPS} steps, largest gap "
          f"{gap.abs().max().item():.3g}", file=sys.stderr)
    safetensors_io.save(out, result, {
        "format": "tabpipe-golden-reference",
        "made_by": "tests/golden/ig_reference.py",
        "torch": torch.__version__,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
