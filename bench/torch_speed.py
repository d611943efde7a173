"""The PyTorch side of bench/train.sh: the same model (tests/golden/
tabtransformer.py), the same data and sizes, timed the way tabpipe's tools
time themselves. Run with /usr/bin/python3.

    torch_speed.py --train T.tps [--device cpu|cuda] [--epochs E] [--runs R]
        [--batch 256] [--threads 2] [model size options of reference.py]

prints "key value" lines, as bench/speed.c does:

    train_rows_per_s     median over E epochs of training rows per second
                         (forward, backward, clipping, AdamW step; the
                         training loop of reference.py, no validation)
    pretrain_rows_per_s  median over E epochs of pretraining: two masked
                         views per row, NT-Xent, AdamW (rows of data, not
                         views, as tabpipe-pretrain counts them)
    infer_rows_per_s     median over R passes (after one untimed) of
                         scoring every row in batches, eval mode, no
                         autograd
    latency_us           median over R runs of the median of 1000 single-
                         row calls, one thread

On --device cuda (bench/gpu.sh) the model lives on the GPU, each batch is
sent from the host as tabpipe sends it, scores come back to the host, and
every timing waits for the GPU to finish first.

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


def now(a):
    """The time, once the device has finished what it was given."""
    import torch
    if a.device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def setup(s, a):
    """The model of reference.py on the device, its optimiser and its
    learning-rate schedule."""
    import torch
    torch.manual_seed(1)
    model = reference.build_model(s, a)
    model.init_like_tabpipe(1)
    model.to(a.device)
    opt = reference.optimiser(model, a)
    return model, opt, reference.Schedule(a.lr, a.warmup, len(s), a.batch, a.epochs)


def epoch_rate(s, a, one_epoch):
    """The median over the epochs of rows per second of one_epoch()."""
    rates = []
    for _ in range(a.epochs):
        t0 = now(a)
        one_epoch()
        rates.append(len(s) / (now(a) - t0))
    return statistics.median(rates)


def train_rates(s, a):
    import torch
    model, opt, sched = setup(s, a)
    data = reference.tensors(s)
    rng = np.random.default_rng(1)
    step = 0

    def one_epoch():
        nonlocal step
        order = torch.from_numpy(rng.permutation(len(s)))
        step = reference.train_epoch(model, opt, sched, step, data, order, a,
                                     a.device)
    return epoch_rate(s, a, one_epoch), model


def pretrain_rates(s, a):
    import torch
    model, opt, sched = setup(s, a)
    rng = np.random.default_rng(1)
    step = 0
    model.train()

    def one_epoch():
        nonlocal step
        order = rng.permutation(len(s))
        for r in range(0, len(s), a.batch):
            rows = order[r:r + a.batch]
            if len(rows) < 2:
                break
            cat, num = reference.views(s, rows, "mask", a.rate, rng)
            for g in opt.param_groups:
                g["lr"] = sched.at(step)
            opt.zero_grad(set_to_none=True)
            loss = model.ntxent_loss(torch.from_numpy(cat).to(a.device),
                                     torch.from_numpy(num).to(a.device),
                                     a.temperature)
            loss.backward()
            reference.clip(model, a.clip)
            opt.step()
            step += 1
    return epoch_rate(s, a, one_epoch)


def score(model, cat, num, a):
    """The positive class's probability of a batch, back on the host."""
    import torch
    return torch.softmax(model.logits(cat.to(a.device), num.to(a.device)),
                         dim=1)[:, 1].cpu()


def infer_rate(model, s, a):
    import torch
    model.eval()
    cat_all, num_all, _ = reference.tensors(s)
    rates = []
    with torch.inference_mode():
        # The first pass warms up (a GPU loads its kernels): not timed.
        for i in range(a.runs + 1):
            t0 = now(a)
            for r in range(0, len(s), a.batch):
                score(model, cat_all[r:r + a.batch], num_all[r:r + a.batch], a)
            if i > 0:
                rates.append(len(s) / (now(a) - t0))
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
                score(model, cat_all[r:r + 1], num_all[r:r + 1], a)
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
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
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
