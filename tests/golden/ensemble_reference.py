"""The golden test's reference of a model file's scores, an ensemble's or
an additive model's: the logits and probabilities that
tests/golden/tabtransformer.py's model of the file gives the first rows
of the golden inputs, for tests/unit/model/test_golden.c to compare with
tp_model_predict on the same file (made by tests/golden/gen.c).

    usage: /usr/bin/python3 ensemble_reference.py MODEL INPUTS OUT
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import safetensors_io  # noqa: E402
import tabtransformer  # noqa: E402


def main(argv):
    if len(argv) != 4:
        print("usage: ensemble_reference.py MODEL INPUTS OUT", file=sys.stderr)
        return 64
    weights, inputs, out = argv[1:]
    torch.set_num_threads(1)
    model, meta = tabtransformer.from_model_file(weights)
    model.float().eval()
    x, _ = safetensors_io.load(inputs)
    rows = x["label"].shape[0]
    cat = torch.from_numpy(x["cat"][:rows]).long()
    num = torch.from_numpy(x["num"][:rows])
    with torch.no_grad():
        logits = model.logits(cat, num)
    result = {
        "logits": logits.numpy().copy(),
        "prob": torch.softmax(logits, dim=1)[:, 1].numpy().copy(),
    }
    for name, arr in result.items():
        if not np.all(np.isfinite(arr)):
            raise SystemExit(f"{name}: not finite")
    safetensors_io.save(out, result, {
        "format": "tabpipe-golden-reference",
        "made_by": "tests/golden/ensemble_reference.py",
        "members": meta.get("members", "1"),
        "torch": torch.__version__,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
