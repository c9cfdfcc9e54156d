#!/usr/bin/env python3
"""The cross-encoder losses' fixtures (fixtures/losses_cross_encoder/), computed with the
real sentence-transformers v6 classes on given scores: a stand-in CrossEncoder scores
each (query, document) pair by looking it up in the case's input e0, laid out as tandem
lays out scores (include/tandem/losses/cross_encoder_scores.hpp):

  pointwise            e0 [batch] (CrossEntropyLoss: logits [batch, num_labels])
  query vs candidates  e0 [batch, 1 + negatives], column 0 the positive; for
                       MultipleNegativesRankingLoss every in-batch and hard negative
                       (num_negatives None), the others' candidates in their order
  listwise             e0 [batch, docs], labels [batch, docs] with -inf after a query's
                       last document (the reference gets the ragged lists)

The listwise losses cast their scores and labels to float32 (`.float()`); here `.float()`
keeps float64, so the references are the same formulas in double.

usage: python3 tests/reference/make_cross_encoder_loss_fixtures.py
"""
import numpy as np
import torch
from torch import nn
from sentence_transformers.cross_encoder import CrossEncoder
from sentence_transformers.cross_encoder import losses

from loss_fixture_cases import write_family


class ScoreModel(CrossEncoder):
    """A stand-in CrossEncoder: the score of a pair is scores.flat[index(query, document)]
    (a row of scores for num_labels > 1)."""

    def __init__(self, scores, index, num_labels=1):
        nn.Module.__init__(self)
        self.__dict__["scores"] = scores
        self.__dict__["index"] = index
        self.__dict__["labels"] = num_labels

    @property
    def num_labels(self):
        return self.labels

    @property
    def device(self):
        return torch.device("cpu")

    def preprocess(self, pairs, prompt=None, task=None, **kwargs):
        return {"index": torch.tensor([self.index(q, d) for q, d in pairs], dtype=torch.long)}

    def forward(self, features):
        rows = self.scores.reshape(-1, self.labels)
        return {"scores": rows[features["index"]]}


def keep_double(self, *args, **kwargs):
    return self.to(torch.float64)


ACTIVATIONS = {"Identity": nn.Identity(), "Sigmoid": nn.Sigmoid(), "Tanh": nn.Tanh(), None: None}
SCHEMES = {"NoWeightingScheme": losses.NoWeightingScheme, "NDCGLoss1Scheme": losses.NDCGLoss1Scheme,
           "NDCGLoss2Scheme": losses.NDCGLoss2Scheme, "LambdaRankScheme": losses.LambdaRankScheme,
           "NDCGLoss2PPScheme": losses.NDCGLoss2PPScheme}


def python_args(args):
    """The command line's JSON arguments as the Python constructor takes them."""
    out = dict(args)
    if "activation_fn" in out:
        out["activation_fn"] = ACTIVATIONS[out["activation_fn"]]
    if "pos_weight" in out:
        out["pos_weight"] = torch.tensor(out["pos_weight"], dtype=torch.float64)
    if "weighting_scheme" in out:
        scheme = out["weighting_scheme"]
        if isinstance(scheme, dict):
            out["weighting_scheme"] = SCHEMES[scheme["name"]](**{k: v for k, v in scheme.items() if k != "name"})
        else:
            out["weighting_scheme"] = SCHEMES[scheme]()
    if "lambda_weight" in out:
        out["lambda_weight"] = None if out["lambda_weight"] is None else losses.PListMLELambdaWeight()
    return out


def loss_class(name):
    return getattr(losses, name.removeprefix("cross_encoder."))


def run_case(c, inputs, labels, guides):
    x = inputs[0]
    cls = loss_class(c["loss"])
    args = python_args(c["args"])
    kind = c["kind"]
    if kind == "pointwise":
        model = ScoreModel(x, lambda q, d: int(q), num_labels=x.shape[1] if x.dim() == 2 else 1)
        batch = x.shape[0]
        return cls(model, **args)([[str(b) for b in range(batch)], ["doc"] * batch], labels)
    if kind == "margin":
        batch, columns = x.shape
        model = ScoreModel(x, lambda q, d: int(q) * columns + int(d))
        inputs = [[str(b) for b in range(batch)]] + [[str(col)] * batch for col in range(columns)]
        return cls(model, **args)(inputs, labels)
    if kind == "in_batch":
        # x[i]: anchor i's positive, then every other candidate k of the flattened columns
        # (candidate k = column * batch + row) in increasing k.
        batch, columns = c["batch"], c["columns"]
        others = {i: [k for k in range(batch * columns) if k != i] for i in range(batch)}
        model = ScoreModel(x, lambda q, d: int(q) * batch * columns +
                           (0 if int(d) == int(q) else 1 + others[int(q)].index(int(d))))
        inputs = [[str(i) for i in range(batch)]] + [[str(col * batch + r) for r in range(batch)]
                                                     for col in range(columns)]
        return cls(model, **args)(inputs, None)
    # listwise: the ragged lists, each query's documents those with a finite label.
    batch, docs = x.shape
    valid = torch.isfinite(labels)
    docs_list = [[str(b * docs + i) for i in range(docs) if valid[b, i]] for b in range(batch)]
    model = ScoreModel(x, lambda q, d: int(d))
    lists = [labels[b][valid[b]] for b in range(batch)]
    return cls(model, **args)([[str(b) for b in range(batch)], docs_list], lists)


def binary(draw, n):
    return (draw((n,)) > 0).astype(np.float64)


def grades(lengths, docs, levels=4, seed=0):
    """Relevance grades 0..levels-1 (ties included), -inf after each query's documents."""
    rng = np.random.default_rng(seed)
    out = np.full((len(lengths), docs), -np.inf)
    for b, n in enumerate(lengths):
        out[b, :n] = rng.integers(0, levels, n)
    return lambda draw: out


B, D = 5, 6
RAGGED = grades([6, 4, 5, 1, 3], D, seed=1)
FULL = grades([6] * 4, D, seed=2)
F = "float64"
CASES = [
    # pointwise
    dict(case="bce_default", loss="BinaryCrossEntropyLoss", args={}, kind="pointwise", inputs=[(B,)],
         labels=lambda draw: binary(draw, B), dtype=F),
    dict(case="bce_pos_weight", loss="BinaryCrossEntropyLoss", args={"pos_weight": 2.5}, kind="pointwise",
         inputs=[(B,)], labels=lambda draw: np.abs(draw((B,))) / 3, dtype=F),
    dict(case="bce_sigmoid", loss="BinaryCrossEntropyLoss", args={"activation_fn": "Sigmoid"}, kind="pointwise",
         inputs=[(B,)], labels=lambda draw: binary(draw, B), dtype=F),
    dict(case="bce_float32", loss="BinaryCrossEntropyLoss", args={"pos_weight": 0.5}, kind="pointwise",
         inputs=[(B,)], labels=lambda draw: binary(draw, B), dtype="float32"),
    dict(case="ce_default", loss="CrossEntropyLoss", args={}, kind="pointwise", inputs=[(B, 3)],
         labels=lambda draw: np.array([0, 2, 1, 1, 2]), dtype=F),
    dict(case="ce_float32", loss="CrossEntropyLoss", args={"activation_fn": "Tanh"}, kind="pointwise",
         inputs=[(B, 4)], labels=lambda draw: np.array([3, 0, 1, 3, 2]), dtype="float32"),
    dict(case="mse_default", loss="cross_encoder.MSELoss", args={}, kind="pointwise", inputs=[(B,)],
         labels=(B,), dtype=F),
    dict(case="mse_sigmoid_float32", loss="cross_encoder.MSELoss", args={"activation_fn": "Sigmoid"},
         kind="pointwise", inputs=[(B,)], labels=lambda draw: np.abs(draw((B,))) / 3, dtype="float32"),
    # a query against its candidates
    dict(case="margin_mse_margins", loss="cross_encoder.MarginMSELoss", args={}, kind="margin",
         inputs=[(B, 4)], labels=(B, 3), dtype=F),
    dict(case="margin_mse_scores", loss="cross_encoder.MarginMSELoss", args={"activation_fn": "Sigmoid"},
         kind="margin", inputs=[(B, 3)], labels=(B, 3), dtype=F),
    dict(case="margin_mse_one_negative", loss="cross_encoder.MarginMSELoss", args={}, kind="margin",
         inputs=[(B, 2)], labels=(B,), dtype="float32"),
    dict(case="ce_mnrl_default", loss="cross_encoder.MultipleNegativesRankingLoss",
         args={"num_negatives": None}, kind="in_batch", batch=B, columns=1, inputs=[(B, B)], dtype=F),
    dict(case="ce_mnrl_hard_negatives", loss="cross_encoder.MultipleNegativesRankingLoss",
         args={"num_negatives": None, "scale": 5.0, "activation_fn": None}, kind="in_batch", batch=4, columns=3,
         inputs=[(4, 12)], dtype=F),
    dict(case="ce_mnrl_float32", loss="cross_encoder.MultipleNegativesRankingLoss",
         args={"num_negatives": None}, kind="in_batch", batch=4, columns=2, inputs=[(4, 8)], dtype="float32"),
    dict(case="ce_cached_mnrl", loss="cross_encoder.CachedMultipleNegativesRankingLoss",
         args={"num_negatives": None, "mini_batch_size": 3}, kind="in_batch", batch=4, columns=2,
         inputs=[(4, 8)], dtype=F),
    # listwise
    dict(case="lambda_default", loss="LambdaLoss", args={}, kind="list", inputs=[(B, D)], labels=RAGGED, dtype=F),
    dict(case="lambda_float32", loss="LambdaLoss", args={}, kind="list", inputs=[(B, D)], labels=RAGGED,
         dtype="float32"),
    dict(case="lambda_ndcg1", loss="LambdaLoss", args={"weighting_scheme": "NDCGLoss1Scheme"}, kind="list",
         inputs=[(B, D)], labels=RAGGED, dtype=F),
    dict(case="lambda_ndcg2_k3", loss="LambdaLoss", args={"weighting_scheme": "NDCGLoss2Scheme", "k": 3},
         kind="list", inputs=[(B, D)], labels=RAGGED, dtype=F),
    dict(case="lambda_lambdarank_natural", loss="LambdaLoss",
         args={"weighting_scheme": "LambdaRankScheme", "reduction_log": "natural", "sigma": 2.0}, kind="list",
         inputs=[(4, D)], labels=FULL, dtype=F),
    dict(case="lambda_ndcg2pp_mu", loss="LambdaLoss",
         args={"weighting_scheme": {"name": "NDCGLoss2PPScheme", "mu": 3.0}, "activation_fn": "Sigmoid"},
         kind="list", inputs=[(B, D)], labels=RAGGED, dtype=F),
    dict(case="lambda_none", loss="LambdaLoss", args={"weighting_scheme": "NoWeightingScheme"}, kind="list",
         inputs=[(4, D)], labels=FULL, dtype=F),
    dict(case="rank_net_default", loss="RankNetLoss", args={}, kind="list", inputs=[(B, D)], labels=RAGGED,
         dtype=F),
    dict(case="rank_net_k2", loss="RankNetLoss", args={"k": 2, "sigma": 0.5}, kind="list", inputs=[(B, D)],
         labels=RAGGED, dtype="float32"),
    dict(case="list_net_default", loss="ListNetLoss", args={}, kind="list", inputs=[(B, D)], labels=RAGGED,
         dtype=F),
    dict(case="list_net_sigmoid_float32", loss="ListNetLoss", args={"activation_fn": "Sigmoid"}, kind="list",
         inputs=[(B, D)], labels=RAGGED, dtype="float32"),
    dict(case="list_mle_default", loss="ListMLELoss", args={}, kind="list", inputs=[(B, D)], labels=RAGGED,
         dtype=F),
    dict(case="list_mle_label_order", loss="ListMLELoss", args={"respect_input_order": False}, kind="list",
         inputs=[(B, D)], labels=RAGGED, dtype=F),
    dict(case="plist_mle_default", loss="PListMLELoss", args={}, kind="list", inputs=[(B, D)], labels=RAGGED,
         dtype=F),
    dict(case="plist_mle_label_order_float32", loss="PListMLELoss", args={"respect_input_order": False},
         kind="list", inputs=[(B, D)], labels=RAGGED, dtype="float32"),
    dict(case="adr_mse_default", loss="ADRMSELoss", args={}, kind="list", inputs=[(B, D)], labels=RAGGED, dtype=F),
    dict(case="adr_mse_alpha", loss="ADRMSELoss", args={"alpha": 2.5, "activation_fn": "Tanh"}, kind="list",
         inputs=[(4, D)], labels=FULL, dtype="float32"),
]

if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    torch.Tensor.float = keep_double
    write_family("cross_encoder", CASES, run_case)
