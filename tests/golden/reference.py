"""Compute the golden test's reference outputs and gradients in PyTorch.

usage: /usr/bin/python3 tests/golden/reference.py WEIGHTS INPUTS OUT

`make golden` runs it after tests/golden/gen.c has written WEIGHTS (a
tabpipe model file with head and projector, dropout 0) and INPUTS (tensors
cat (2R, NC) I32, num (2R, NN) F32 with NaN for missing, label (R) I8,
target (R) F32, class_weight (2) F32 and tau (1) F32). It loads the model into the PyTorch
TabTransformer of tabtransformer.py, computes in float32 and in train mode
(as tp_model_classify_step with training=1 and tp_model_contrast_step do):

  logits                  (R, 2)  the classifier's logits of the first R rows
  prob                    (R)     softmax(logits)[:, 1]
  loss                    (1)     class-weighted cross-entropy of those rows
  grad.NAME                       its gradient for each parameter of the
                                  encoder and the head
  soft_loss               (1)     the same with the soft targets in place
                                  of the labels (a student's, distilled)
  soft_grad.NAME                  its gradient, as grad.NAME
  shrink_loss             (1)     the classifier's loss with each categorical
                                  table shrunk toward its mean by the
                                  inputs' shrink_b and shrink_w (as
                                  tp_model_shrink makes the C model read it)
  shrink_grad.NAME                its gradient, as grad.NAME
  ntxent_loss             (1)     NT-Xent on all 2R rows with temperature tau
  ntxent_grad.NAME                its gradient for each parameter of the
                                  encoder and the projector

and writes them to OUT, a safetensors file that tests/unit/test_golden.c
compares with the C model. The output is deterministic: one thread,
deterministic algorithms, tensors in the order of the C parameter table.
"""

import os
import sys

import numpy as np
import torch

# The modules beside this script, imported without leaving __pycache__ in
# the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import tabtransformer  # noqa: E402


def gradients(model, prefix, skip):
    """The gradients of the parameters not under `skip`, as numpy arrays
    named prefix + name, in the C table's order; every one must exist."""
    params = dict(model.named_parameters())
    out = {}
    for name in model.tabpipe_names():
        if name.startswith(skip):
            continue
        grad = params[name].grad
        if grad is None:
            raise RuntimeError(f"{name}: no gradient reached it")
        out[prefix + name] = grad.detach().numpy().copy()
    return out


def shrink_tables(model, b, w):
    """Makes model read each categorical table as mean + b (E - mean),
    mean the table's rows weighed by w (b and w laid over the tables one
    after the other, as the C model's table rows are), until `del
    model.tokens`."""
    plain = model.tokens

    def tokens(cat, num):
        parts, first = [], 0
        for j, emb in enumerate(model.cat_embeddings):
            k = emb.weight.shape[0]
            bj, wj = b[first:first + k], w[first:first + k]
            first += k
            mean = wj @ emb.weight
            table = mean + bj[:, None] * (emb.weight - mean)
            parts.append(table[cat[:, j]].unsqueeze(1))
        return torch.cat(parts + [plain(cat, num)[:, model.ncat:]], dim=1)

    model.tokens = tokens


def main(argv):
    if len(argv) != 4:
        print("usage: reference.py WEIGHTS INPUTS OUT", file=sys.stderr)
        return 64
    weights, inputs, out = argv[1:]
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)

    model, _ = tabtransformer.from_model_file(weights)
    model.float().train()
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout) and m.p != 0:
            raise SystemExit(f"{weights}: dropout {m.p}: the golden test needs 0")
    x, _ = safetensors_io.load(inputs)
    cat = torch.from_numpy(x["cat"]).long()
    num = torch.from_numpy(x["num"])
    label = torch.from_numpy(x["label"]).long()
    target = torch.from_numpy(x["target"])
    class_weight = torch.from_numpy(x["class_weight"])
    tau = float(x["tau"][0])
    rows = label.shape[0]
    if cat.shape[0] != 2 * rows or num.shape[0] != 2 * rows:
        raise SystemExit(f"{inputs}: cat and num must hold 2 x {rows} rows")

    result = {}
    # The classifier: logits, loss and gradients of the first R rows.
    with torch.no_grad():
        logits = model.logits(cat[:rows], num[:rows])
    result["logits"] = logits.numpy().copy()
    result["prob"] = torch.softmax(logits, dim=1)[:, 1].numpy().copy()
    model.zero_grad(set_to_none=True)
    loss = model.classify_loss(cat[:rows], num[:rows], label, class_weight)
    loss.backward()
    result["loss"] = np.array([loss.item()], dtype=np.float32)
    result.update(gradients(model, "grad.", "projector."))
    model.zero_grad(set_to_none=True)
    soft = model.classify_loss(cat[:rows], num[:rows], label, class_weight,
                               target)
    soft.backward()
    result["soft_loss"] = np.array([soft.item()], dtype=np.float32)
    result.update(gradients(model, "soft_grad.", "projector."))

    # The classifier on the labels, its tables shrunk.
    model.zero_grad(set_to_none=True)
    shrink_tables(model, torch.from_numpy(x["shrink_b"]),
                  torch.from_numpy(x["shrink_w"]))
    shrunk = model.classify_loss(cat[:rows], num[:rows], label, class_weight)
    shrunk.backward()
    del model.tokens
    result["shrink_loss"] = np.array([shrunk.item()], dtype=np.float32)
    result.update(gradients(model, "shrink_grad.", "projector."))

    # Pretraining: NT-Xent over both views, the 2R rows.
    model.zero_grad(set_to_none=True)
    ntxent = model.ntxent_loss(cat, num, tau)
    ntxent.backward()
    result["ntxent_loss"] = np.array([ntxent.item()], dtype=np.float32)
    result.update(gradients(model, "ntxent_grad.", "head."))

    for name, arr in result.items():
        if not np.all(np.isfinite(arr)):
            raise SystemExit(f"{name}: not finite")
    safetensors_io.save(out, result, {
        "format": "tabpipe-golden-reference",
        "made_by": "tests/golden/reference.py",
        "torch": torch.__version__,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
