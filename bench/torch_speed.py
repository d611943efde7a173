"""The PyTorch side of bench/train.sh: the same model (tests/golden/
tabtransformer.py), the same data and sizes, timed the way tabpipe's tools
time themselves. Run with /usr/bin/python3.

    torch_speed.py --train T.tps [--epochs E] [--runs R] [--batch 256]
        [--threads 2] [model size options of reference.py]

prints "key value" lines, as bench/speed.c does:

    train_rows_per_s     median over E epochs of training rows per second
                         (forward, backward, clipping, AdamW step; the
                         training loop of reference.py, no validation)
    pretrain_rows_per_s  median over E epochs of pretraining: two masked
                         views per row, NT-Xent, AdamW (rows of data, not
                         views, as tabpipe-pretrain counts them)
    infer_rows_per_s     median over R passes of scoring every row in
                         batches of 256, eval mode, no autograd
    latency_us           median over R runs of the median of 1000 single-
                         row calls, one thread

PyTorch is given its best setting: torch.set_num_threads(threads) with
OpenBLAS single-threaded (reference.py sets OPENBLAS_NUM_THREADS=1 before
numpy loads), as the model issue measured: 2-2.7x faster than leaving
OpenBLAS its own threads.
"""

import argparse
import statistics
import time

# First: it sets OPENBLAS_NUM_THREADS, read once when OpenBLAS loads with
# numpy or torch.
import reference  # noqa: I100
import numpy as np  # noqa: E402
import tps  # noqa: E402


def train_rates(s, a):
    import torch
    torch.manual_seed(1)
    model = reference.build_model(s, a)
    model.init_like_tabpipe(1)
    opt = reference.optimiser(model, a)
    sched = reference.Schedule(a.lr, a.warmup, len(s), a.batch, a.epochs)
    data = reference.tensors(s)
    rng = np.random.default_rng(1)
    rates, t = [], 0
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(s)))
        t = reference.train_epoch(model, opt, sched, t, data, order, a)
        rates.append(len(s) / (time.perf_counter() - t0))
    return statistics.median(rates), model


def pretrain_rates(s, a):
    import torch
    torch.manual_seed(1)
    model = reference.build_model(s, a)
    model.init_like_tabpipe(1)
    opt = reference.optimiser(model, a)
    sched = reference.Schedule(a.lr, a.warmup, len(s), a.batch, a.epochs)
    rng = np.random.default_rng(1)
    rates, t = [], 0
    model.train()
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(s))
        for r in range(0, len(s), a.batch):
            rows = order[r:r + a.batch]
            if len(rows) < 2:
                break
            cat, num = reference.views(s, rows, "mask", a.rate, rng)
            for g in opt.param_groups:
                g["lr"] = sched.at(t)
            opt.zero_grad(set_to_none=True)
            loss = model.ntxent_loss(torch.from_numpy(cat),
                                     torch.from_numpy(num), a.temperature)
            loss.backward()
            reference.clip(model, a.clip)
            opt.step()
            t += 1
        rates.append(len(s) / (time.perf_counter() - t0))
    return statistics.median(rates)


def infer_rate(model, s, a):
    import torch
    model.eval()
    cat_all, num_all, _ = reference.tensors(s)
    rates = []
    with torch.inference_mode():
        for _ in range(a.runs):
            t0 = time.perf_counter()
            for r in range(0, len(s), a.batch):
                torch.softmax(model.logits(cat_all[r:r + a.batch],
                                           num_all[r:r + a.batch]), dim=1)
            rates.append(len(s) / (time.perf_counter() - t0))
    return statistics.median(rates)


def latency(model, s, a):
    import torch
    torch.set_num_threads(1)
    model.eval()
    cat_all, num_all, _ = reference.tensors(s)
    runs = []
    with torch.inference_mode():
        for i in range(a.runs):
            calls = []
            for k in range(1000):
                r = (i * 1000 + k) % len(s)
                t0 = time.perf_counter()
                torch.softmax(model.logits(cat_all[r:r + 1], num_all[r:r + 1]), dim=1)
                calls.append(time.perf_counter() - t0)
            runs.append(statistics.median(calls) * 1e6)
    torch.set_num_threads(a.threads)
    return statistics.median(runs)


def main():
    import torch
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    reference.add_train_options(p)
    p.add_argument("--train", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.set_defaults(epochs=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    s = tps.load(a.train)
    rate, model = train_rates(s, a)
    print(f"train_rows_per_s {rate:.0f}", flush=True)
    print(f"pretrain_rows_per_s {pretrain_rates(s, a):.0f}", flush=True)
    print(f"infer_rows_per_s {infer_rate(model, s, a):.0f}", flush=True)
    print(f"latency_us {latency(model, s, a):.1f}", flush=True)


if __name__ == "__main__":
    main()
