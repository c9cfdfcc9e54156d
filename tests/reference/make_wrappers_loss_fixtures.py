#!/usr/bin/env python3
"""The wrapper losses' fixtures (fixtures/losses_wrappers/), computed with the real
sentence-transformers v6 classes: MatryoshkaLoss, AdaptiveLayerLoss, Matryoshka2dLoss
(each around an inner loss of another family) and GlobalOrthogonalRegularizationLoss.

The layer-wise losses run on a stand-in SentenceTransformer whose Transformer module's
hidden states are given (already pooled), so the inputs are every hidden state's
embeddings of every column, layer-major (input l * columns + c), and `num_layers` in
--args says how many hidden states there are. Every case trains all of its dimensions and
layers (n_dims_per_step, n_layers_per_step -1): sentence-transformers draws the subsets
from Python's `random`, which tandem does not reproduce.

usage: python3 tests/reference/make_wrappers_loss_fixtures.py
"""
from sentence_transformers import util
from sentence_transformers.base.losses.merged_forward import column_merging_disabled
from sentence_transformers.sentence_transformer import losses

from loss_fixture_cases import LayerModel, write_family

SIMILARITY = {"cos_sim": util.cos_sim, "dot_score": util.dot_score,
              "pairwise_cos_sim": util.pairwise_cos_sim, "pairwise_dot_score": util.pairwise_dot_score}


def kwargs_of(args):
    kwargs = {k: v for k, v in args.items() if k not in ("loss", "num_layers")}
    if "similarity_fct" in kwargs:
        kwargs["similarity_fct"] = SIMILARITY[kwargs["similarity_fct"]]
    return kwargs


def build(model, spec):
    inner = getattr(losses, spec["name"])
    inner_kwargs = kwargs_of(spec.get("args", {}))
    if "loss" in spec.get("args", {}):
        return inner(model, build(model, spec["args"]["loss"]), **inner_kwargs)
    return inner(model, **inner_kwargs)


def run_case(c, inputs, labels, guides):
    name, args = c["loss"], c["args"]
    if name == "GlobalOrthogonalRegularizationLoss":
        terms = losses.GlobalOrthogonalRegularizationLoss(None, **kwargs_of(args)).compute_loss_from_embeddings(inputs)
        return sum(terms.values())
    layers = args.get("num_layers", 1)
    columns = len(inputs) // layers
    model = LayerModel(inputs[0].shape[1])
    loss = getattr(losses, name)(model, build(model, args["loss"]), **kwargs_of(args))
    features = [{"all_layer_embeddings": [inputs[l * columns + i] for l in range(layers)]} for i in range(columns)]
    with column_merging_disabled():
        return loss(features, labels)


B, D = 5, 8
MNRL = {"name": "MultipleNegativesRankingLoss"}
CASES = [
    dict(case="matryoshka_mnrl", loss="MatryoshkaLoss", args={"loss": MNRL, "matryoshka_dims": [8, 4, 2]},
         inputs=[(B, D)] * 3, dtype="float64"),
    dict(case="matryoshka_weights_unsorted", loss="MatryoshkaLoss",
         args={"loss": {"name": "MultipleNegativesRankingLoss", "args": {"scale": 10.0}},
               "matryoshka_dims": [2, 8, 4], "matryoshka_weights": [0.5, 2.0, 1.0], "n_dims_per_step": -1},
         inputs=[(B, D)] * 2, dtype="float64"),
    dict(case="matryoshka_mse_truncates_teacher", loss="MatryoshkaLoss",
         args={"loss": {"name": "MSELoss"}, "matryoshka_dims": [8, 3]}, inputs=[(B, D)] * 2, labels=(B, 2, D),
         dtype="float64"),
    dict(case="matryoshka_margin_mse", loss="MatryoshkaLoss",
         args={"loss": {"name": "MarginMSELoss"}, "matryoshka_dims": [6, 4]}, inputs=[(B, D)] * 3, labels=(B,),
         dtype="float64"),
    dict(case="matryoshka_float32", loss="MatryoshkaLoss", args={"loss": MNRL, "matryoshka_dims": [8, 4]},
         inputs=[(B, D)] * 2, dtype="float32"),
    dict(case="gor", loss="GlobalOrthogonalRegularizationLoss", args={}, inputs=[(B, D)] * 2, dtype="float64"),
    dict(case="gor_dot_sum", loss="GlobalOrthogonalRegularizationLoss",
         args={"similarity_fct": "dot_score", "aggregation": "sum", "mean_weight": 0.5,
               "second_moment_weight": 2.0}, inputs=[(B, D)] * 3, dtype="float64"),
    dict(case="gor_mean_only_float32", loss="GlobalOrthogonalRegularizationLoss",
         args={"second_moment_weight": None}, inputs=[(B, D)], dtype="float32"),
    dict(case="adaptive_layer_mnrl", loss="AdaptiveLayerLoss",
         args={"loss": MNRL, "num_layers": 4, "n_layers_per_step": -1}, inputs=[(B, D)] * 8, dtype="float64"),
    dict(case="adaptive_layer_weighted", loss="AdaptiveLayerLoss",
         args={"loss": {"name": "MultipleNegativesRankingLoss", "args": {"scale": 5.0}}, "num_layers": 3,
               "n_layers_per_step": 2, "last_layer_weight": 2.0, "prior_layers_weight": 0.5,
               "kl_div_weight": 3.0, "kl_temperature": 0.7, "layer_weighting": "log"},
         inputs=[(B, D)] * 9, dtype="float64"),
    dict(case="adaptive_layer_no_kl_linear", loss="AdaptiveLayerLoss",
         args={"loss": {"name": "MSELoss"}, "num_layers": 3, "n_layers_per_step": -1, "kl_temperature": 0.0,
               "layer_weighting": "linear"}, inputs=[(B, D)] * 3, labels=(B, D), dtype="float64"),
    dict(case="adaptive_layer_float32", loss="AdaptiveLayerLoss",
         args={"loss": MNRL, "num_layers": 3, "n_layers_per_step": -1}, inputs=[(B, D)] * 6, dtype="float32"),
    dict(case="matryoshka_2d", loss="Matryoshka2dLoss",
         args={"loss": MNRL, "matryoshka_dims": [8, 4, 2], "matryoshka_weights": [1.0, 0.5, 0.25], "num_layers": 3,
               "n_layers_per_step": -1, "n_dims_per_step": -1}, inputs=[(B, D)] * 6, dtype="float64"),
    dict(case="matryoshka_2d_margin_mse", loss="Matryoshka2dLoss",
         args={"loss": {"name": "MarginMSELoss"}, "matryoshka_dims": [8, 5], "num_layers": 2,
               "n_layers_per_step": -1, "n_dims_per_step": -1, "kl_temperature": 0.5, "kl_div_weight": 2.0},
         inputs=[(B, D)] * 6, labels=(B, 2), dtype="float64"),
]

if __name__ == "__main__":
    write_family("wrappers", CASES, run_case)
