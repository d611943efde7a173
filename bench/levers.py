"""Levers that the literature says lift deep tabular models on small data,
on the PyTorch reference of tabpipe's model, for bench/quality.sh --lever.

A lever is tried here before it costs the C library a layer with its
backward, gradient check, golden test and CUDA kernel: `reference.py
evaluate --torch LABEL --torch-lever NAME` trains the reference without and
with the lever on the same split, and the table gives the paired difference
LABEL+NAME - LABEL. Only a lever the yardstick keeps moves into lib/.

    ple       numeric tokens from piecewise-linear encodings over quantile
              bins (Gorishniy, Rubachev, Babenko 2022, "On Embeddings for
              Numerical Features in Tabular Deep Learning", PLE-Q followed
              by a linear layer): feature j's value x becomes the vector e
              of its PLE_BINS bins fitted on the training rows, e_t = 0
              below bin t, 1 above it, the fraction of it inside it (the
              first bin open below, the last open above), and its token is
              e W_j + b_j instead of x w_j + b_j.
    periodic  numeric tokens from periodic embeddings (same paper, PLR):
              ReLU(W_j [sin(2 pi c_j x), cos(2 pi c_j x)] + b_j) with
              PERIODIC_FREQUENCIES trainable frequencies c_j drawn from
              N(0, PERIODIC_SCALE).
    quantile  each numeric feature mapped through its empirical quantiles on
              the training rows to a standard normal (scikit-learn's
              QuantileTransformer), missing values kept missing.
    wide      a linear term of the inputs added to the classifier's log-odds
              (Cheng et al. 2016, "Wide & Deep Learning"): a weight per
              category of each categorical feature, per numeric feature and
              per numeric feature's missing flag, starting at zero.
    average   the weights averaged while they train, an exponential moving
              average with decay AVERAGE_DECAY per step (Polyak averaging,
              as SWA and EMA do): validation, early stopping and the model
              kept all use the averaged weights.
    loss      the epoch kept, and early stopping, by the validation log-loss
              (lower is better) instead of the validation AUC: a smoother
              measure of few positive rows than a ranking.
    distil    an ensemble distilled into one model (Bucila, Caruana and
              Niculescu-Mizil 2006, "Model Compression"; Hinton, Vinyals
              and Dean 2015, "Distilling the Knowledge in a Neural
              Network"): DISTIL_MEMBERS models trained as the reference is,
              member j from seed DISTIL_SEED x seed + j (as tabpipe-train
              --members trains them), the sigmoid of their mean log-odds of
              each training row its soft target, and one more model, from
              the reference's own seed, trained on the cross-entropy
              against the targets instead of the labels. Only that model
              is kept: an ensemble's quality, if it carries over, at one
              model's cost of scoring.
    tabm      an ensemble that shares its weights, TabM-mini (Gorishniy,
              Kotelnikov, Babenko 2024, "TabM: Advancing Tabular Deep
              Learning with Parameter-Efficient Ensembling"): TABM_MEMBERS
              members share every weight but two of their own, a scale of
              each input token (its d_model values, started at random
              signs) and the classifier's output layer. Each row goes
              through the encoder once a member, scaled by that member;
              the loss is the mean of the members' losses, and the
              model's log-odds the mean of theirs, as --members averages.
              Its scoring costs TABM_MEMBERS times the encoder's, as many
              members from seeds do, with one model's weights.
    shrink    each categorical level's token shrunk toward its column's
              mean token as a random effect's estimate is (empirical Bayes,
              the one-way random-effects model of the level's default
              rate; Efron and Morris 1975, and Micci-Barreca 2001 for
              categories): the token of level v of column c is
              mean_c + B_v (E_v - mean_c), mean_c the training rows'
              mean of the column's tokens, B_v = n_v / (n_v + m_c), n_v
              the labelled training rows of level v, m_c = s2 / tau2_c
              with s2 = p (1 - p) the rate's binomial variance and tau2_c
              the method-of-moments variance of the levels' true rates
              (0, so B_v = 0, when the levels' rates vary no more than
              noise; 1, nothing shrunk, without labelled rows of both
              classes). A column whose levels carry no default rate of
              their own becomes a constant token; one whose levels differ
              keeps them, its rare levels drawn to the mean.
    glm       the transformer as the residual of a generalised additive
              model, a Combined Actuarial Neural Network (Wuthrich and Merz
              2019, "Editorial: Yes, we CANN!"; Schelldorfer and Wuthrich
              2019): a logistic regression on the one-hot categories, the
              standardised numerics, their missing flags and a cubic
              spline of each numeric over GLM_KNOTS quantile knots, its
              L2 penalty chosen among GLM_PENALTIES by GLM_FOLDS-fold
              cross-validated log-loss on the training rows (so the
              validation part stays the transformer's), is frozen and its
              log-odds added to the transformer's; the classifier's output
              layer starts at zero, so training starts from the regression,
              and the weights before the first epoch are a candidate of
              early stopping, so the model kept is never the regression
              made worse on the validation part.

No setting of a lever is tuned to a data set: each has the one value below,
taken from the papers' defaults for small data.
"""

import copy
import math

import numpy as np

PLE_BINS = 16
PERIODIC_FREQUENCIES = 16
PERIODIC_SCALE = 0.1
AVERAGE_DECAY = 0.99
DISTIL_MEMBERS = 5
DISTIL_SEED = 1000
TABM_MEMBERS = 8  # the paper's default is 32; 8 keeps a run to the hour
GLM_KNOTS = 5
GLM_FOLDS = 5
GLM_PENALTIES = tuple(10 ** (e / 4) for e in range(-14, 5))  # C, 3e-4 to 10

NAMES = ("ple", "periodic", "quantile", "wide", "average", "loss", "distil",
         "tabm", "shrink", "glm")


def log_loss(label, p):
    """The mean negative log-likelihood of the labels under p."""
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(np.where(label == 1, np.log(p), np.log1p(-p))))


def quantile_streams(train, *others):
    """Copies of the streams whose numerics are mapped to a standard normal
    through the training rows' quantiles; NaN stays NaN."""
    from sklearn.preprocessing import QuantileTransformer
    qt = QuantileTransformer(n_quantiles=min(1000, len(train)),
                             output_distribution="normal", subsample=10**9,
                             random_state=0)
    qt.fit(train.num)  # scikit-learn ignores NaN when it fits
    out = []
    for s in (train,) + others:
        c = copy.copy(s)
        c.num = qt.transform(s.num).astype(np.float32)
        out.append(c)
    return out


def shrink_factors(train, vocab_sizes):
    """For each categorical column, B_v of each index v (0, missing or
    unseen, a level too) and the weight of v in the column's mean token,
    from the labelled training rows (the shrink lever)."""
    keep = train.label >= 0
    y = train.label[keep].astype(np.float64)
    out = []
    for j, k in enumerate(vocab_sizes):
        x = train.cat[keep, j].astype(np.int64)
        n = np.bincount(x, minlength=k + 1).astype(np.float64)
        pos = np.bincount(x, weights=y, minlength=k + 1)
        total = n.sum()
        p = pos.sum() / total if total > 0 else 0.0
        s2 = p * (1 - p)
        if s2 == 0:
            out.append((np.ones(k + 1, np.float32),
                        np.full(k + 1, 1 / (k + 1), np.float32)))
            continue
        seen = n > 0
        rate = np.where(seen, pos / np.maximum(n, 1), p)
        between = (n * (rate - p) ** 2).sum()
        tau2 = max(0.0, (between - (seen.sum() - 1) * s2) /
                   (total - (n ** 2).sum() / total))
        b = n * tau2 / (n * tau2 + s2)
        out.append((b.astype(np.float32), (n / total).astype(np.float32)))
    return out


def glm_offset(train):
    """The glm lever's frozen regression of the training rows: a function
    of (cat, num) arrays to its log-odds."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import SplineTransformer
    from quality import onehot, standardised
    oh = onehot(train)
    numeric = standardised(train)
    spline = SplineTransformer(n_knots=GLM_KNOTS, degree=3, knots="quantile",
                               extrapolation="linear").fit(numeric(train.num)[0])

    def design(cat, num):
        z, miss = numeric(num)
        return np.hstack([oh.transform(cat), z, miss, spline.transform(z)])

    folds = StratifiedKFold(GLM_FOLDS, shuffle=True, random_state=0)
    m = LogisticRegressionCV(Cs=list(GLM_PENALTIES), cv=folds, scoring="neg_log_loss",
                             max_iter=2000).fit(design(train.cat, train.num), train.label)
    return lambda cat, num: m.decision_function(design(cat, num))


def ple_edges(column, bins):
    """The edges of up to `bins` quantile bins of one training column
    (repeated quantiles merge, so a feature of few values has fewer)."""
    x = column[~np.isnan(column)]
    if len(x) == 0:
        return np.array([0.0, 1.0])
    e = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    return e if len(e) > 1 else np.array([e[0], e[0] + 1.0])


def model_class(name):
    """The TabTransformer subclass of a model-changing lever (None for the
    others)."""
    import torch
    from torch import nn
    from tabtransformer import TabTransformer

    class Numeric(TabTransformer):
        """A TabTransformer whose numeric tokens come from `value`; missing
        values keep their learnt token."""

        def tokens(self, cat, num):
            parts = [emb(cat[:, j].long()).unsqueeze(1)
                     for j, emb in enumerate(self.cat_embeddings)]
            if self.nnum > 0:
                missing = torch.isnan(num).unsqueeze(-1)
                x = torch.where(missing, torch.zeros_like(num.unsqueeze(-1)),
                                num.unsqueeze(-1))
                parts.append(torch.where(missing, self.num_missing, self.value(x)))
            return torch.cat(parts, dim=1)

    class PiecewiseLinear(Numeric):
        def __init__(self, train, *args, **kw):
            edges = [ple_edges(train.num[:, j], PLE_BINS)
                     for j in range(train.num.shape[1])]
            T = max(len(e) - 1 for e in edges)
            lo = np.zeros((len(edges), T), np.float32)
            width = np.ones((len(edges), T), np.float32)
            used = np.zeros((len(edges), T), np.float32)
            last = np.zeros((len(edges), T), bool)
            for j, e in enumerate(edges):
                n = len(e) - 1
                lo[j, :n], width[j, :n], used[j, :n] = e[:-1], np.diff(e), 1
                last[j, n - 1] = True
            self.bins = T
            super().__init__(*args, **kw)
            self.register_buffer("lo", torch.from_numpy(lo))
            self.register_buffer("width", torch.from_numpy(width))
            self.register_buffer("used", torch.from_numpy(used))
            self.register_buffer("first", torch.arange(T) == 0)
            self.register_buffer("last", torch.from_numpy(last))
            self.ple_weight = nn.Parameter(torch.empty(self.nnum, T, self.d_model))
            self.init_like_tabpipe(0)

        def value(self, x):
            e = (x - self.lo) / self.width                      # (B,NN,T)
            e = torch.where(self.first, e, e.clamp(min=0))
            e = torch.where(self.last, e, e.clamp(max=1))
            e = e * self.used
            return torch.einsum("bnt,ntc->bnc", e, self.ple_weight) + self.num_bias

    class Periodic(Numeric):
        def __init__(self, train, *args, **kw):
            super().__init__(*args, **kw)
            K, C = PERIODIC_FREQUENCIES, self.d_model
            self.frequency = nn.Parameter(torch.empty(self.nnum, K))
            self.periodic_weight = nn.Parameter(torch.empty(self.nnum, 2 * K, C))
            self.init_like_tabpipe(0)

        def value(self, x):
            v = 2 * math.pi * self.frequency * x                # (B,NN,K)
            v = torch.cat([torch.sin(v), torch.cos(v)], dim=-1)
            return torch.relu(torch.einsum("bnk,nkc->bnc", v, self.periodic_weight)
                              + self.num_bias)

    class Wide(TabTransformer):
        def __init__(self, train, *args, **kw):
            super().__init__(*args, **kw)
            sizes = [e.num_embeddings for e in self.cat_embeddings]
            self.register_buffer("offset", torch.tensor(
                [0] + list(np.cumsum(sizes)[:-1]), dtype=torch.long))
            self.wide_cat = nn.Parameter(torch.zeros(sum(sizes)))
            self.wide_num = nn.Parameter(torch.zeros(self.nnum))
            self.wide_missing = nn.Parameter(torch.zeros(self.nnum))
            self.init_like_tabpipe(0)

        def logits(self, cat, num):
            missing = torch.isnan(num)
            x = torch.where(missing, torch.zeros_like(num), num)
            linear = (x * self.wide_num + missing * self.wide_missing).sum(1)
            if self.ncat > 0:
                linear = linear + self.wide_cat[cat.long() + self.offset].sum(1)
            deep = super().logits(cat, num)
            return deep + torch.stack([torch.zeros_like(linear), linear], dim=1)

    class MemberLinear(nn.Module):
        """TABM_MEMBERS linear layers side by side, over rows laid out as
        (rows, member, features) and flattened to (rows x member, ...)."""

        def __init__(self, fan_in, out):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(TABM_MEMBERS, fan_in, out))
            self.bias = nn.Parameter(torch.empty(TABM_MEMBERS, out))

        def forward(self, x):
            x = x.view(-1, TABM_MEMBERS, x.shape[-1])
            y = torch.einsum("bkh,kho->bko", x, self.weight) + self.bias
            return y.flatten(0, 1)

    class TabMMini(TabTransformer):
        def __init__(self, train, *args, **kw):
            super().__init__(*args, **kw)
            # The output biases stay head[3]'s, so that the prior is set on
            # every member's (set_prior's copy broadcasts).
            self.head[3] = MemberLinear(self.head[0].out_features, 2)
            self.tabm_scale = nn.Parameter(
                torch.empty(TABM_MEMBERS, self.ncat + self.nnum, self.d_model))
            self.init_like_tabpipe(0)

        def member_logits(self, cat, num):
            """The (B, TABM_MEMBERS, 2) logits of each member."""
            t = self.tokens(cat, num).unsqueeze(1) * self.tabm_scale
            pooled = self.encoder(t.flatten(0, 1)).mean(dim=1)
            return self.head(pooled).view(-1, TABM_MEMBERS, 2)

        def logits(self, cat, num):
            return self.member_logits(cat, num).mean(dim=1)

        def classify_loss(self, cat, num, label, class_weight=None, target=None):
            # Every member sees every row, so the mean over the repeated
            # rows is the mean of the members' own losses.
            def each(v):
                return None if v is None else v.repeat_interleave(TABM_MEMBERS)
            return self.loss_of_logits(self.member_logits(cat, num).flatten(0, 1),
                                       each(label), class_weight, each(target))

    class Shrunk(TabTransformer):
        def __init__(self, train, *args, **kw):
            super().__init__(*args, **kw)
            for j, (b, w) in enumerate(shrink_factors(train, args[0])):
                self.register_buffer(f"shrink_b{j}", torch.from_numpy(b))
                self.register_buffer(f"shrink_w{j}", torch.from_numpy(w))

        def tokens(self, cat, num):
            t = super().tokens(cat, num)
            parts = []
            for j, emb in enumerate(self.cat_embeddings):
                b = getattr(self, f"shrink_b{j}")
                mean = getattr(self, f"shrink_w{j}") @ emb.weight    # (C,)
                idx = cat[:, j].long()
                parts.append((mean + b[idx, None] * (emb(idx) - mean)).unsqueeze(1))
            return torch.cat(parts + [t[:, self.ncat:]], dim=1)

    class Residual(TabTransformer):
        def __init__(self, train, *args, **kw):
            super().__init__(*args, **kw)
            self.glm = glm_offset(train)

        def logits(self, cat, num):
            deep = super().logits(cat, num)
            off = torch.from_numpy(self.glm(cat.cpu().numpy(), num.cpu().numpy())
                                   .astype(np.float32)).to(deep.device)
            return deep + torch.stack([torch.zeros_like(off), off], dim=1)

    def init(cls):
        """init_like_tabpipe, then the lever's own parameters, once they
        exist (TabTransformer.__init__ calls it before they do)."""
        base = cls.init_like_tabpipe

        @torch.no_grad()
        def init_like_tabpipe(self, seed):
            base(self, seed)
            g = torch.Generator().manual_seed(seed + 1)
            if hasattr(self, "ple_weight"):
                b = 1 / math.sqrt(self.bins)
                self.ple_weight.copy_((torch.rand(self.ple_weight.shape, generator=g) * 2 - 1) * b)
            if hasattr(self, "frequency"):
                self.frequency.copy_(torch.randn(self.frequency.shape, generator=g)
                                     * PERIODIC_SCALE)
                b = 1 / math.sqrt(2 * PERIODIC_FREQUENCIES)
                self.periodic_weight.copy_(
                    (torch.rand(self.periodic_weight.shape, generator=g) * 2 - 1) * b)
            if hasattr(self, "tabm_scale"):
                self.tabm_scale.copy_(
                    torch.randint(0, 2, self.tabm_scale.shape, generator=g) * 2.0 - 1)
            for name in ("wide_cat", "wide_num", "wide_missing"):
                if hasattr(self, name):
                    getattr(self, name).zero_()
            if hasattr(self, "glm"):
                self.head[3].weight.zero_()
                self.head[3].bias.zero_()
        cls.init_like_tabpipe = init_like_tabpipe
        return cls

    return {"ple": init(PiecewiseLinear), "periodic": init(Periodic),
            "wide": init(Wide), "tabm": init(TabMMini),
            "shrink": init(Shrunk), "glm": init(Residual)}.get(name)
