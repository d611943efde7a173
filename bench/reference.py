"""The Python side of bench/quality.sh: the PyTorch reference, the
logistic-regression floor, test AUC of tabpipe models, labelled subsamples,
and the final table. Run with /usr/bin/python3 (PyTorch, scikit-learn).

    reference.py evaluate --dataset D --setting S --seed N --out RESULTS
        --train T.tps --valid V.tps --test X.tps [--tabpipe LABEL=MODEL]...
        [--torch LABEL [--torch-lever NAME]...]
        [--torch-pretrain LABEL=mask|resample]...
        [--tabpipe-log LABEL=LOG]... [--pretrain-data P.tps]
        [--logreg LABEL] [--check-valid-auc AUC]
        [training options of tabpipe-train and tabpipe-pretrain]
    reference.py subsample --frac F --seed N STREAM.tps CSV OUT.csv
    reference.py table [--out FILE] [--note TEXT]... RESULTS

`evaluate` appends one tab-separated line per method to RESULTS: data set,
setting, method, seed, test AUC, validation AUC, epochs run, seconds (of a
tabpipe model, from the stderr of the tabpipe-train run that made it, given
with --tabpipe-log, pretraining not included).

The PyTorch reference is tests/golden/tabtransformer.py (the same module as
the C model, state_dict names included) trained the way lib/train/train.c trains:
initialisation laws of init_like_tabpipe(seed), shuffled mini-batches with
the last partial one kept, AdamW (betas 0.9/0.999, eps 1e-8, weight decay on
the weights of linear layers only), linear warm-up over int(warmup x total
steps) then cosine decay to 0 over all epochs' steps, gradient-norm
clipping, the head's output biases set to the training prior, validation
AUC after each epoch, the best epoch's weights kept, stopping after
`patience` epochs without a better AUC. Its random streams
(initial values, order, dropout, views) are PyTorch's and numpy's, not the
C library's: the two implementations agree in law, not bit for bit.
--torch-lever NAME trains it again with a lever of bench/levers.py, as
method LABEL+NAME.

A tabpipe model given with --tabpipe is scored here, in PyTorch: the file
is loaded into the same module with from_model_file and run in eval mode,
so that --check-valid-auc checks the file against the training's own
figure.
"""

import argparse
import math
import os
import statistics
import sys
import time

# PyTorch is 2-2.7x faster on this model with OpenBLAS single-threaded
# (its own intra-op threads do the parallel work); set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.append(os.path.join(HERE, "..", "tests", "golden"))

import levers  # noqa: E402
import tps  # noqa: E402


def auc(label, score):
    from sklearn.metrics import roc_auc_score
    keep = label >= 0
    return float(roc_auc_score(label[keep], score[keep]))


# ---------------------------------------------------------------- options

def add_train_options(p):
    """tabpipe-train's and tabpipe-pretrain's options and defaults
    (tp_train_defaults, tp_default_config), so that quality.sh passes one
    string to both implementations."""
    p.add_argument("--activation", default="gelu", choices=("gelu", "relu"))
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--d-ff", type=int, default=64)
    p.add_argument("--d-model", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--head-hidden", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    # Pretraining (tabpipe-pretrain's names; its epochs as --pretrain-epochs).
    p.add_argument("--pretrain-epochs", type=int, default=10)
    p.add_argument("--rate", type=float, default=0.3)
    p.add_argument("--temperature", type=float, default=0.5)


def build_model(stream, a, lever=None):
    """The reference model for the stream, or the subclass of the lever
    (bench/levers.py) that changes it."""
    from tabtransformer import TabTransformer
    cls = levers.model_class(lever) if lever else None
    args = ((stream,) if cls else ()) + (stream.vocab_sizes(), stream.num.shape[1])
    return (cls or TabTransformer)(
        *args, layers=a.layers, d_model=a.d_model, heads=a.heads, d_ff=a.d_ff,
        head_hidden=a.head_hidden, dropout=a.dropout, activation=a.activation)


# ---------------------------------------------------------------- training

class Schedule:
    """lib/model/optim.c: tp_lr_at and the warm-up step count."""

    def __init__(self, lr, warmup, rows, batch, epochs):
        per_epoch = (rows + batch - 1) // batch
        self.lr = lr
        self.total = per_epoch * epochs
        # (long)(o->warmup * (float)c->total), in float32 as C does.
        self.warmup = int(np.float32(warmup) * np.float32(self.total))

    def at(self, t):
        if t < self.warmup:
            return self.lr * (t + 1) / self.warmup
        if self.total <= self.warmup:
            return self.lr
        progress = min(1.0, (t - self.warmup) / (self.total - self.warmup))
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def optimiser(model, a):
    """AdamW with decay on the tensors that the C table marks `decay`: the
    weights of linear layers (in_proj, out_proj, linear1/2, head, projector),
    not biases, norms or tokens."""
    import torch
    decay, rest = [], []
    for name, p in model.named_parameters():
        linear = name.endswith(("in_proj_weight", "out_proj.weight",
                                "linear1.weight", "linear2.weight")) or \
            (name.startswith(("head.", "projector.")) and name.endswith(".weight"))
        (decay if linear else rest).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": a.weight_decay},
         {"params": rest, "weight_decay": 0.0}],
        lr=a.lr, betas=(0.9, 0.999), eps=1e-8)


def clip(model, max_norm):
    """tp_clip_grad: scale all gradients by max_norm / norm when the norm
    is above max_norm (no epsilon, as the C library). The squares are
    summed in double as tensors, in parameter order, and read once: on a
    GPU one wait per step, not one per parameter."""
    import torch
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norm = math.sqrt(float(sum(torch.sum(g.double() * g.double()) for g in grads)))
    if max_norm > 0 and norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)
    return norm


def predict(model, s, batch=1024):
    import torch
    model.eval()
    out = []
    with torch.no_grad():
        for r in range(0, len(s), batch):
            cat = torch.from_numpy(s.cat[r:r + batch])
            num = torch.from_numpy(s.num[r:r + batch])
            out.append(torch.softmax(model.logits(cat, num), dim=1)[:, 1].numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def tensors(s):
    """A stream's categories, numerics and labels as torch tensors."""
    import torch
    return (torch.from_numpy(s.cat), torch.from_numpy(s.num),
            torch.from_numpy(s.label.astype(np.int64)))


def train_epoch(model, opt, sched, t, data, order, a, device="cpu", average=None,
                target=None):
    """One epoch of mini-batches of the rows in order, the last one
    partial, as lib/train/train.c runs them, from step t; returns the step after
    it. Each batch goes to device (the model's) as it is used. average, a
    list of tensors like the parameters, moves toward them after each step
    (levers.AVERAGE_DECAY). target, a probability of the positive class for
    each row, replaces the labels in the cross-entropy (the distil lever)."""
    import torch
    cat_all, num_all, lab_all = data
    model.train()
    for r in range(0, len(order), a.batch):
        idx = order[r:r + a.batch]
        for g in opt.param_groups:
            g["lr"] = sched.at(t)
        opt.zero_grad(set_to_none=True)
        if target is None:
            loss = model.classify_loss(cat_all[idx].to(device), num_all[idx].to(device),
                                       lab_all[idx].to(device))
        else:
            q = target[idx].to(device)
            logp = torch.log_softmax(model.logits(cat_all[idx].to(device),
                                                  num_all[idx].to(device)), dim=1)
            loss = -(q * logp[:, 1] + (1 - q) * logp[:, 0]).mean()
        loss.backward()
        clip(model, a.clip)
        opt.step()
        t += 1
        if average is not None:
            with torch.no_grad():
                for m, p in zip(average, model.parameters()):
                    m.lerp_(p, 1 - levers.AVERAGE_DECAY)
        if not math.isfinite(float(loss)):
            raise RuntimeError(f"reference diverged at step {t}")
    return t


def set_prior(model, label):
    """tp_model_set_prior with the training rows' prior, as lib/train/train.c
    sets it (class weights 1): output biases (0, log(p / (1 - p)))."""
    import torch
    pos, neg = int((label == 1).sum()), int((label == 0).sum())
    if pos > 0 and neg > 0:
        with torch.no_grad():
            model.head[3].bias.copy_(torch.tensor([0.0, math.log(pos / neg)]))


def swap(model, tensors):
    """Exchanges the model's parameters with the tensors (the averaged
    weights and the live ones trade places)."""
    import torch
    with torch.no_grad():
        for p, m in zip(model.parameters(), tensors):
            live = p.detach().clone()
            p.copy_(m)
            m.copy_(live)


def distil_targets(train, valid, a, seed):
    """The distil lever's soft targets: the sigmoid of the mean log-odds of
    levers.DISTIL_MEMBERS reference models on each training row."""
    odds = []
    for j in range(levers.DISTIL_MEMBERS):
        member, _, _ = train_reference(train, valid, a, levers.DISTIL_SEED * seed + j)
        p = np.clip(predict(member, train).astype(np.float64), 1e-7, 1 - 1e-7)
        odds.append(np.log(p) - np.log1p(-p))
    return 1 / (1 + np.exp(-np.mean(odds, axis=0)))


def train_reference(train, valid, a, seed, encoder_state=None, lever=None):
    """Returns (model with the best weights, its validation AUC, epochs).
    lever: one of levers.NAMES but quantile (which changes the streams,
    not the training), or None for the model as it is."""
    import torch
    target = None
    if lever == "distil":
        target = torch.from_numpy(distil_targets(train, valid, a, seed).astype(np.float32))
    torch.manual_seed(seed)
    model = build_model(train, a, lever)
    model.init_like_tabpipe(seed)
    if encoder_state is not None:
        own = model.state_dict()
        own.update({k: v for k, v in encoder_state.items()
                    if not k.startswith(("head.", "projector."))})
        model.load_state_dict(own)
    if lever != "glm":  # the regression carries the prior
        set_prior(model, train.label)
    opt = optimiser(model, a)
    sched = Schedule(a.lr, a.warmup, len(train), a.batch, a.epochs)
    rng = np.random.default_rng(seed)
    data = tensors(train)
    average = [p.detach().clone() for p in model.parameters()] \
        if lever == "average" else None
    best, best_auc, best_state, bad, epoch, t = 0.0, -1.0, None, 0, 0, 0
    if lever == "glm":  # the regression alone is a candidate
        best = best_auc = auc(valid.label, predict(model, valid))
        best_state = {k: x.detach().clone() for k, x in model.state_dict().items()}
    while epoch < a.epochs and bad < a.patience:
        epoch += 1
        order = torch.from_numpy(rng.permutation(len(train)))
        t = train_epoch(model, opt, sched, t, data, order, a, average=average,
                        target=target)
        if average is not None:
            swap(model, average)  # validate, and keep, the averaged weights
        score = predict(model, valid)
        v = auc(valid.label, score)
        merit = -levers.log_loss(valid.label, score) if lever == "loss" else v
        if best_state is None or merit > best:
            best, best_auc, bad = merit, v, 0
            best_state = {k: x.detach().clone() for k, x in model.state_dict().items()}
        else:
            bad += 1
        if average is not None:
            swap(model, average)
    model.load_state_dict(best_state)
    return model, best_auc, epoch


def views(s, rows, corruption, rate, rng):
    """make_views of lib/train/train.c: two copies of each row, each feature
    corrupted with probability rate, masked (category 0, numeric NaN) or
    replaced by the same feature of a row drawn from all of s."""
    B, NC = len(rows), s.cat.shape[1]
    cat = np.concatenate([s.cat[rows], s.cat[rows]])
    num = np.concatenate([s.num[rows], s.num[rows]])
    F = NC + s.num.shape[1]
    hit = rng.random((2 * B, F)) < rate
    if corruption == "mask":
        cat[hit[:, :NC]] = 0
        num[hit[:, NC:]] = np.nan
    else:
        src = rng.integers(0, len(s), (2 * B, F))
        cat = np.where(hit[:, :NC], s.cat[src[:, :NC], np.arange(NC)], cat)
        num = np.where(hit[:, NC:], s.num[src[:, NC:], np.arange(F - NC)], num)
    return cat.astype(np.int32), num.astype(np.float32)


def pretrain_reference(data, a, seed, corruption):
    """tp_pretrain: NT-Xent on two corrupted views, AdamW and the same
    schedule over pretrain-epochs. Returns the state_dict."""
    import torch
    torch.manual_seed(seed)
    model = build_model(data, a)
    model.init_like_tabpipe(seed)
    opt = optimiser(model, a)
    sched = Schedule(a.lr, a.warmup, len(data), a.batch, a.pretrain_epochs)
    rng = np.random.default_rng(seed + 7919)
    t = 0
    model.train()
    for _ in range(a.pretrain_epochs):
        order = rng.permutation(len(data))
        for r in range(0, len(data), a.batch):
            rows = order[r:r + a.batch]
            if len(rows) < 2:
                break
            cat, num = views(data, rows, corruption, a.rate, rng)
            for g in opt.param_groups:
                g["lr"] = sched.at(t)
            opt.zero_grad(set_to_none=True)
            loss = model.ntxent_loss(torch.from_numpy(cat), torch.from_numpy(num),
                                     a.temperature)
            loss.backward()
            clip(model, a.clip)
            opt.step()
            t += 1
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- the floor

def logreg(train, valid, test, seed):
    """Logistic regression on one-hot categories (index 0, missing or
    unseen, is a category of its own) and the standardised numerics with
    missing values imputed by the training mean plus a missing flag per
    numeric column that has any; C chosen on the validation AUC."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    oh = OneHotEncoder(categories=[np.arange(v + 1) for v in train.vocab_sizes()],
                       handle_unknown="ignore")
    oh.fit(train.cat)
    mean = np.nanmean(train.num, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)
    flags = np.isnan(train.num).any(axis=0) | np.isnan(valid.num).any(axis=0) | \
        np.isnan(test.num).any(axis=0)
    sc = StandardScaler()

    def X(s, fit=False):
        miss = np.isnan(s.num)
        num = np.where(miss, mean, s.num)
        num = sc.fit_transform(num) if fit else sc.transform(num)
        return np.hstack([oh.transform(s.cat).toarray(), num, miss[:, flags]])

    Xtr, Xva, Xte = X(train, True), X(valid), X(test)
    best = None
    for C in (0.01, 0.1, 1.0, 10.0):
        m = LogisticRegression(C=C, max_iter=2000, random_state=seed)
        m.fit(Xtr, train.label)
        v = auc(valid.label, m.predict_proba(Xva)[:, 1])
        if best is None or v > best[0]:
            best = (v, m)
    return best[0], auc(test.label, best[1].predict_proba(Xte)[:, 1])


# ---------------------------------------------------------------- commands

def tool_log(path):
    """(epochs run, seconds of training) from the per-epoch lines that
    tabpipe-train and tabpipe-pretrain print without -q ("epoch 3/30: ...,
    1234 rows/s, 5.6 s, ...")."""
    import re
    epochs, secs = 0, 0.0
    with open(path) as f:
        for line in f:
            m = re.search(r"epoch \d+/\d+: .*, ([0-9.]+) s,", line)
            if m:
                epochs += 1
                secs += float(m.group(1))
    return epochs, secs


def cmd_evaluate(a):
    import torch
    from tabtransformer import from_model_file
    torch.set_num_threads(a.threads)
    train, valid, test = tps.load(a.train), tps.load(a.valid), tps.load(a.test)
    lines = []

    def emit(method, test_auc, valid_auc, epochs, secs):
        lines.append(f"{a.dataset}\t{a.setting}\t{method}\t{a.seed}\t"
                     f"{test_auc:.6f}\t{valid_auc:.6f}\t{epochs}\t{secs:.1f}")

    logs = dict(spec.partition("=")[::2] for spec in a.tabpipe_log)
    for spec in a.tabpipe:
        label, _, path = spec.partition("=")
        model, meta = from_model_file(path)
        v = auc(valid.label, predict(model, valid))
        epochs, secs = tool_log(logs[label]) if label in logs else (0, 0)
        emit(label, auc(test.label, predict(model, test)), v, epochs, secs)
        if a.check_valid_auc is not None and label == a.check_label:
            diff = abs(v - a.check_valid_auc)
            verdict = "ok" if diff <= 1e-4 else "MISMATCH"
            print(f"cross-check {a.dataset} seed {a.seed}: tabpipe-train printed valid AUC "
                  f"{a.check_valid_auc:.4f}, the model file loaded into PyTorch gives "
                  f"{v:.6f}: |diff| {diff:.2e} (limit 1e-4, the print has 4 decimals): "
                  f"{verdict}", file=sys.stderr)
            with open(a.out + ".check", "a") as f:
                f.write(f"{a.dataset}\t{a.seed}\t{a.check_valid_auc:.4f}\t{v:.6f}\t{diff:.2e}\t{verdict}\n")
    for lever in ([None] + a.torch_lever) if a.torch else []:
        t0 = time.perf_counter()
        # The quantile lever changes the data, the others the model.
        tr, va, te = levers.quantile_streams(train, valid, test) \
            if lever == "quantile" else (train, valid, test)
        model, v, ep = train_reference(tr, va, a, a.seed, lever=lever)
        emit(a.torch + (f"+{lever}" if lever else ""),
             auc(test.label, predict(model, te)), v, ep, time.perf_counter() - t0)
        if lever == "glm":  # its regression alone, what the transformer adds to
            emit("glm", auc(te.label, model.glm(te.cat, te.num)),
                 auc(va.label, model.glm(va.cat, va.num)), 0, 0)
    for spec in a.torch_pretrain:
        label, _, corruption = spec.partition("=")
        t0 = time.perf_counter()
        data = tps.load(a.pretrain_data)
        state = pretrain_reference(data, a, a.seed, corruption)
        model, v, ep = train_reference(train, valid, a, a.seed, state)
        emit(label, auc(test.label, predict(model, test)), v, ep,
             time.perf_counter() - t0)
    if a.logreg:
        t0 = time.perf_counter()
        v, te = logreg(train, valid, test, a.seed)
        emit(a.logreg, te, v, 0, time.perf_counter() - t0)
    with open(a.out, "a") as f:
        for line in lines:
            f.write(line + "\n")
    for line in lines:
        print(line, file=sys.stderr)


def cmd_subsample(a):
    """A stratified share of a stream's rows, as CSV: the lines of
    `tabpipe-cat STREAM` (CSV, same row order) whose rows were drawn, so
    that tabpipe-ingest --encoding makes the subsample's stream."""
    s = tps.load(a.stream)
    rng = np.random.default_rng(a.seed)
    keep = []
    for c in np.unique(s.label):
        rows = np.flatnonzero(s.label == c)
        k = max(1, int(round(a.frac * len(rows))))
        keep.append(rng.choice(rows, k, replace=False))
    keep = np.sort(np.concatenate(keep))
    with open(a.csv, newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != len(s) + 1:
        raise SystemExit(f"subsample: {a.csv} has {len(lines) - 1} rows, {a.stream} {len(s)}")
    with open(a.output, "w", newline="") as f:
        f.write(lines[0] + "\n")
        for r in keep:
            f.write(lines[r + 1] + "\n")
    print(f"subsample: {len(keep)} of {len(s)} rows "
          f"({int(s.label[keep].sum())} positive)", file=sys.stderr)


def cmd_table(a):
    rows = []
    with open(a.results) as f:
        for line in f:
            d, s, m, seed, te, va, ep, secs = line.rstrip("\n").split("\t")
            rows.append((d, s, m, int(seed), float(te), float(va), int(ep), float(secs)))
    out = []
    groups = {}
    for d, s, m, seed, te, va, ep, secs in rows:
        groups.setdefault((d, s), {}).setdefault(m, []).append((seed, te, va, ep, secs))
    width = max([len(m) for g in groups.values() for m in g] + [6])
    seeds = sorted({r[3] for r in rows})
    for (d, s), methods in groups.items():
        out.append(f"{d}, {s}")
        head = f"  {'method':<{width}}  " + "  ".join(f"seed {x:<3}" for x in seeds)
        out.append(head + "    mean     sd   valid AUC mean  epochs  seconds")
        for m, rs in methods.items():
            by = {r[0]: r for r in rs}
            cells = "  ".join(f"{by[x][1]:.4f}  " if x in by else "   -    " for x in seeds)
            te = [r[1] for r in rs]
            sd = statistics.stdev(te) if len(te) > 1 else float("nan")
            va = statistics.mean(r[2] for r in rs)
            ep = "/".join(str(r[3]) for r in rs) if any(r[3] for r in rs) else "-"
            secs = statistics.mean(r[4] for r in rs)
            out.append(f"  {m:<{width}}  {cells}  {statistics.mean(te):.4f} "
                       f"{sd:.4f}   {va:.4f}          {ep:<7} {secs:.0f}")
        out.append("")
    # The project's goal: tabpipe's mean within 0.01 of the reference's.
    for (d, s), methods in groups.items():
        for ours, ref in a.compare:
            if ours in methods and ref in methods:
                mo = statistics.mean(r[1] for r in methods[ours])
                mr = statistics.mean(r[1] for r in methods[ref])
                diff = mo - mr
                verdict = "met" if abs(diff) <= 0.01 else "NOT met"
                out.append(f"goal |mean {ours} - mean {ref}| <= 0.01 on {d}, {s}: "
                           f"{mo:.4f} - {mr:.4f} = {diff:+.4f}: {verdict}")
    checks = a.results + ".check"
    if os.path.exists(checks):
        with open(checks) as f:
            for line in f:
                d, seed, printed, loaded, diff, verdict = line.rstrip("\n").split("\t")
                out.append(f"cross-check {d}, seed {seed}: valid AUC printed by "
                           f"tabpipe-train {printed}, C model file run in PyTorch "
                           f"{loaded}, |diff| {diff} (limit 1e-4): {verdict}")
    for n in a.note:
        out.append(n)
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("evaluate")
    add_train_options(e)
    e.add_argument("--dataset", required=True)
    e.add_argument("--setting", required=True)
    e.add_argument("--seed", type=int, required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--train", required=True)
    e.add_argument("--valid", required=True)
    e.add_argument("--test", required=True)
    e.add_argument("--tabpipe", action="append", default=[], metavar="LABEL=MODEL")
    e.add_argument("--tabpipe-log", action="append", default=[], metavar="LABEL=LOG")
    e.add_argument("--torch", metavar="LABEL")
    e.add_argument("--torch-lever", action="append", default=[], choices=levers.NAMES,
                   help="also the reference with this lever of bench/levers.py, "
                   "as method LABEL+LEVER")
    e.add_argument("--torch-pretrain", action="append", default=[],
                   metavar="LABEL=mask|resample")
    e.add_argument("--pretrain-data")
    e.add_argument("--logreg", metavar="LABEL")
    e.add_argument("--check-valid-auc", type=float)
    e.add_argument("--check-label", default="tabpipe")
    s = sub.add_parser("subsample")
    s.add_argument("--frac", type=float, required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("stream")
    s.add_argument("csv")
    s.add_argument("output")
    t = sub.add_parser("table")
    t.add_argument("--out", dest="output")
    t.add_argument("--note", action="append", default=[])
    t.add_argument("--compare", nargs=2, action="append", default=[],
                   metavar=("OURS", "REFERENCE"))
    t.add_argument("results")
    a = p.parse_args()
    if a.cmd == "evaluate" and a.torch_lever and not a.torch:
        p.error("--torch-lever needs --torch")
    if a.cmd == "evaluate" and a.torch_pretrain and not a.pretrain_data:
        p.error("--torch-pretrain needs --pretrain-data")
    {"evaluate": cmd_evaluate, "subsample": cmd_subsample, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
