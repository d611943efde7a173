"""tabpipe's TabTransformer in PyTorch, identical to the C model of lib/model/model.c.

A library module, not run by itself: the golden test (reference.py) loads a
tabpipe model file into it with `from_model_file` and computes the outputs
and gradients that tests/unit/test_golden.c compares with the C model; a
quality script may train it from `init_like_tabpipe` as a reference. It needs
PyTorch (Debian's python3-torch, run with /usr/bin/python3).

The model, as the comment at the top of lib/model/model.h describes it:

    tokens     categorical feature j: row cat[:, j] of its own table
               (row 0 is the unseen category, so vocabulary + 1 rows);
               numeric feature j: x * num_weight[j] + num_bias[j], or
               num_missing[j] where x is NaN. All categorical tokens come
               first, then the numeric ones.
    encoder    nn.TransformerEncoder of pre-norm layers (norm_first=True,
               batch_first=True) and a final LayerNorm.
    pooling    the mean of the tokens.
    head       Linear(C,H) ReLU Dropout Linear(H,2): the classifier.
    projector  Linear(C,H) ReLU Linear(H,P): pretraining only (NT-Xent).

Its state_dict names and shapes are those of the C parameter table
(build_table in lib/model/model.c), so a model file loads with load_state_dict.

An ensemble file (tabpipe-train --members k) holds k such models, the first
under these names and member j > 0 under "members.j."; `Ensemble` is the
same in PyTorch: its logits are the mean of its members' logits, so its
log-odds are the mean of theirs, as tp_model_predict averages them.
"""

import json
import math

import torch
import torch.nn.functional as F
from torch import nn

import safetensors_io


KNOTS = 5  # model/additive.h's TP_ADDITIVE_KNOTS


class Additive(nn.Module):
    """lib/model/additive.h: a logistic regression's log-odds, a weight per
    table row of each categorical feature and, per numeric feature, a
    weight of its value, one of its being missing and one of each hinge
    max(0, z - knot). Its numbers are buffers: no step trains them."""

    def __init__(self, vocab_sizes, nnum):
        super().__init__()
        self.offsets = [0]
        for v in vocab_sizes:
            self.offsets.append(self.offsets[-1] + v + 1)
        self.nnum = nnum
        self.register_buffer("weight", torch.zeros(1 + self.offsets[-1] +
                                                   nnum * (2 + KNOTS)))
        if nnum > 0:
            self.register_buffer("knot", torch.zeros(nnum, KNOTS))

    def forward(self, cat, num):
        w = self.weight
        s = w[0].expand(cat.shape[0])
        for j in range(len(self.offsets) - 1):
            s = s + w[1 + self.offsets[j] + cat[:, j].long()]
        base = 1 + self.offsets[-1]
        for k in range(self.nnum):
            col = w[base + k * (2 + KNOTS):base + (k + 1) * (2 + KNOTS)]
            z = num[:, k]
            missing = torch.isnan(z)
            z = torch.where(missing, torch.zeros_like(z), z)
            term = col[0] * z + (col[2:] * torch.relu(
                z.unsqueeze(1) - self.knot[k])).sum(dim=1)
            s = s + torch.where(missing, col[1].expand_as(z), term)
        return s


class TabTransformer(nn.Module):
    """The TabTransformer over `vocab_sizes` categorical features (each with
    that many known categories) and `nnum` numeric features; with
    additive, its log-odds added to an Additive's."""

    def __init__(self, vocab_sizes, nnum, layers=6, d_model=32, heads=4,
                 d_ff=64, head_hidden=64, proj_dim=32, dropout=0.1,
                 activation="gelu", additive=False):
        super().__init__()
        if activation not in ("gelu", "relu"):
            raise ValueError(f"activation {activation!r}: gelu or relu")
        C, H = d_model, head_hidden
        self.ncat = len(vocab_sizes)
        self.nnum = nnum
        self.d_model = d_model
        self.cat_embeddings = nn.ModuleList(
            nn.Embedding(v + 1, C) for v in vocab_sizes)
        if nnum > 0:
            # The C table holds these only when there are numeric features.
            self.num_weight = nn.Parameter(torch.empty(nnum, C))
            self.num_bias = nn.Parameter(torch.empty(nnum, C))
            self.num_missing = nn.Parameter(torch.empty(nnum, C))
        layer = nn.TransformerEncoderLayer(
            C, heads, d_ff, dropout, activation=activation,
            batch_first=True, norm_first=True)
        # enable_nested_tensor only matters with padding masks; off, it
        # keeps PyTorch from considering its fast path at all.
        self.encoder = nn.TransformerEncoder(
            layer, layers, norm=nn.LayerNorm(C), enable_nested_tensor=False)
        self.head = nn.Sequential(
            nn.Linear(C, H), nn.ReLU(), nn.Dropout(dropout), nn.Linear(H, 2))
        self.projector = nn.Sequential(
            nn.Linear(C, H), nn.ReLU(), nn.Linear(H, proj_dim))
        self.additive = Additive(vocab_sizes, nnum) if additive else None
        self.init_like_tabpipe(0)

    def tokens(self, cat, num):
        """The (B, T, C) tokens of B rows: cat (B, NC) integer indices,
        num (B, NN) floats with NaN for missing."""
        parts = [emb(cat[:, j].long()).unsqueeze(1)
                 for j, emb in enumerate(self.cat_embeddings)]
        if self.nnum > 0:
            missing = torch.isnan(num).unsqueeze(-1)            # (B,NN,1)
            # NaN is replaced before the product: torch.where passes a zero
            # gradient to the branch it does not take, but NaN * 0 would
            # still make the weight's gradient NaN.
            x = torch.where(missing, torch.zeros_like(missing, dtype=num.dtype),
                            num.unsqueeze(-1))
            value = x * self.num_weight + self.num_bias         # (B,NN,C)
            parts.append(torch.where(missing, self.num_missing, value))
        return torch.cat(parts, dim=1)

    def pool(self, cat, num):
        """The (B, C) mean of the encoded tokens (final norm included)."""
        return self.encoder(self.tokens(cat, num)).mean(dim=1)

    def logits(self, cat, num):
        """The classifier's (B, 2) logits."""
        logits = self.head(self.pool(cat, num))
        if self.additive is None:
            return logits
        a = self.additive(cat, num)
        return logits + torch.stack([torch.zeros_like(a), a], dim=1)

    def classify_loss(self, cat, num, label, class_weight=None, target=None):
        """nn.CrossEntropyLoss(weight=class_weight) over the rows whose
        label is 0 or 1 (label -1 leaves a row out): the weighted mean
        sum w[y] * -log p[y] / sum w[y]. With target, each row's soft
        probability q of class 1, the row's term is
        -(q log p[1] + (1 - q) log p[0]), still weighted by w[y], and a row
        without a label counts too, weighted q w[1] + (1 - q) w[0]."""
        return self.loss_of_logits(self.logits(cat, num), label, class_weight, target)

    @staticmethod
    def loss_of_logits(logits, label, class_weight=None, target=None):
        """classify_loss of the (B, 2) logits of B rows."""
        if target is None:
            keep = label >= 0
            return F.cross_entropy(logits[keep], label[keep].long(),
                                   weight=class_weight)
        logp = F.log_softmax(logits, dim=1)
        q = target
        if class_weight is None:
            w = torch.ones_like(q)
        else:
            expected = q * class_weight[1] + (1 - q) * class_weight[0]
            w = torch.where(label >= 0, class_weight[label.clamp(min=0).long()],
                            expected)
        return (w * -(q * logp[:, 1] + (1 - q) * logp[:, 0])).sum() / w.sum()

    def ntxent_loss(self, cat, num, tau):
        """NT-Xent (Chen et al. 2020, SimCLR) over 2B rows, rows i and i + B
        two views of one row: with u = z / |z| and s = u u^T / tau, the mean
        over i of the cross-entropy of row i of s, its diagonal left out,
        with target pair(i)."""
        M = cat.shape[0] if self.ncat > 0 else num.shape[0]
        B = M // 2
        z = self.projector(self.pool(cat, num))
        u = F.normalize(z, dim=1)
        s = u @ u.T / tau
        eye = torch.eye(M, dtype=torch.bool, device=s.device)
        s = s.masked_fill(eye, float("-inf"))
        target = (torch.arange(M, device=s.device) + B) % M
        return F.cross_entropy(s, target)

    @torch.no_grad()
    def init_like_tabpipe(self, seed):
        """Initialises every parameter with the distributions of
        init_params in lib/model/model.c (not its random stream: the values
        differ, their laws do not), from a torch.Generator seeded with seed:

          tokens (cat_embeddings, num_*)   U(-1/sqrt(C), 1/sqrt(C))
          self_attn.in_proj_weight         U(+-sqrt(6/(C + C))), the Xavier
                                           bound of each of Q, K and V as a
                                           (C, C) matrix (PyTorch's own
                                           init takes the (3C, C) whole)
          in_proj_bias, out_proj.bias      0
          other Linear weights and biases  U(-1/sqrt(fan_in), 1/sqrt(fan_in))
          LayerNorm weight / bias          1 / 0
        """
        g = torch.Generator().manual_seed(seed)
        # A (k, in, out) weight is k linear layers side by side, and its
        # (k, out) bias theirs (a lever's).
        fan_in = {name.rpartition(".")[0]: p.shape[1]
                  for name, p in self.named_parameters()
                  if p.dim() >= 2 and name.endswith("weight")}
        for name, p in self.named_parameters():
            module, _, leaf = name.rpartition(".")
            if module == "" or name.startswith("cat_embeddings."):
                bound = 1 / math.sqrt(self.d_model)
            elif leaf == "in_proj_weight":
                bound = math.sqrt(6 / (p.shape[0] // 3 + p.shape[1]))
            elif leaf == "in_proj_bias" or name.endswith("out_proj.bias"):
                p.zero_()
                continue
            elif module.rpartition(".")[2].startswith("norm"):
                p.fill_(1.0 if leaf == "weight" else 0.0)
                continue
            else:
                bound = 1 / math.sqrt(fan_in[module])
            p.uniform_(-bound, bound, generator=g)

    def tabpipe_names(self):
        """The parameter names in the order of the C table: embeddings,
        numeric tokens, encoder, head, projector."""
        names = [n for n, _ in self.named_parameters()]
        return ([n for n in names if n.startswith("cat_embeddings.")] +
                [n for n in names if not n.startswith("cat_embeddings.")])


class Ensemble(nn.Module):
    """Members of one config whose logits are averaged."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def logits(self, cat, num):
        return torch.stack([m.logits(cat, num) for m in self.members]).mean(dim=0)


def from_model_file(path):
    """Builds the TabTransformer of a tabpipe model file and loads its
    tensors. The config and the features come from its __metadata__
    ("config" and "encoding", JSON strings); its tensors_sha256 must be
    there, and safetensors_io.load checks it. Every encoder tensor must be
    there with its shape; the head and the projector are loaded when the
    file has them (a pretrained encoder has no head) and keep the
    tabpipe-like initialisation otherwise. Returns (model, metadata); the
    model of a file of an ensemble ("members" in the metadata) is an
    Ensemble."""
    tensors, meta = safetensors_io.load(path)
    k = int(meta.get("members", "1"))
    if k == 1:
        return member_from_tensors(path, tensors, meta), meta
    prefix = [""] + [f"members.{j}." for j in range(1, k)]
    known = set()
    members = []
    for p in prefix:
        own = {n[len(p):]: a for n, a in tensors.items()
               if n.startswith(p) and (p or not n.startswith("members."))}
        known.update(p + n for n in own)
        members.append(member_from_tensors(path, own, meta))
    unexpected = sorted(set(tensors) - known)
    if unexpected:
        raise ValueError(f"{path}: tensors of no member {unexpected}")
    return Ensemble(members), meta


def member_from_tensors(path, tensors, meta):
    """The TabTransformer of one model of a file, from its tensors."""
    if meta.get("format") != "tabpipe-model":
        raise ValueError(f"{path}: not a tabpipe model file")
    if safetensors_io.DIGEST not in meta:
        raise ValueError(f"{path}: no {safetensors_io.DIGEST} in its __metadata__, "
                         "so its tensors cannot be checked")
    cfg = json.loads(meta["config"])
    enc = json.loads(meta["encoding"])
    vocab = [len(c["vocabulary"]) for c in enc["columns"]
             if c["kind"] == "categorical"]
    nnum = sum(1 for c in enc["columns"] if c["kind"] == "numeric")
    model = TabTransformer(
        vocab, nnum, layers=cfg["layers"], d_model=cfg["d_model"],
        heads=cfg["heads"], d_ff=cfg["d_ff"], head_hidden=cfg["head_hidden"],
        proj_dim=cfg["proj_dim"], dropout=cfg["dropout"],
        activation=cfg["activation"], additive=cfg.get("additive", False))
    state = model.state_dict()
    optional = ("head.", "projector.", "additive.")
    missing = [n for n in state if n not in tensors and not n.startswith(optional)]
    unexpected = [n for n in tensors if n not in state]
    if missing or unexpected:
        raise ValueError(f"{path}: tensors missing {missing}, unexpected {unexpected}")
    for name, arr in tensors.items():
        if tuple(arr.shape) != tuple(state[name].shape):
            raise ValueError(f"{path}: tensor {name!r} has shape {list(arr.shape)}, "
                             f"the model expects {list(state[name].shape)}")
        state[name] = torch.from_numpy(arr)
    model.load_state_dict(state, strict=True)
    return model
