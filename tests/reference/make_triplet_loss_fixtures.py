"""The triplet losses' fixtures (fixtures/losses_triplet/), computed with the real
sentence-transformers v6 classes: TripletLoss over (anchor, positive, negative) columns,
and BatchAllTripletLoss, BatchHardTripletLoss, BatchSemiHardTripletLoss and
BatchHardSoftMarginTripletLoss over one column with integer class labels; and two of them
inside MatryoshkaLoss (every dimension trained: n_dims_per_step -1).

usage: python3 tests/reference/make_triplet_loss_fixtures.py
"""
import numpy as np
from sentence_transformers.base.losses.merged_forward import column_merging_disabled
from sentence_transformers.sentence_transformer.losses import (
    BatchAllTripletLoss,
    BatchHardSoftMarginTripletLoss,
    BatchHardTripletLoss,
    BatchHardTripletLossDistanceFunction,
    BatchSemiHardTripletLoss,
    MatryoshkaLoss,
    TripletDistanceMetric,
    TripletLoss,
)

from loss_fixture_cases import LayerModel, write_family

BATCH = {"BatchAllTripletLoss": BatchAllTripletLoss, "BatchHardTripletLoss": BatchHardTripletLoss,
         "BatchSemiHardTripletLoss": BatchSemiHardTripletLoss,
         "BatchHardSoftMarginTripletLoss": BatchHardSoftMarginTripletLoss}


def kwargs_of(args):
    kwargs = dict(args)
    if "distance_metric" in kwargs:
        metric = kwargs["distance_metric"]
        kwargs["distance_metric"] = (getattr(TripletDistanceMetric, metric) if metric.isupper()
                                     else getattr(BatchHardTripletLossDistanceFunction, metric))
    return kwargs


def run_case(c, inputs, labels, guides):
    name, kwargs = c["loss"], kwargs_of(c["args"])
    if name == "MatryoshkaLoss":
        model = LayerModel(inputs[0].shape[1])
        inner = c["args"]["loss"]
        inner_class = TripletLoss if inner["name"] == "TripletLoss" else BATCH[inner["name"]]
        loss = MatryoshkaLoss(model, inner_class(model, **kwargs_of(inner.get("args", {}))),
                              c["args"]["matryoshka_dims"], n_dims_per_step=-1)
        with column_merging_disabled():
            return loss([{"all_layer_embeddings": [e]} for e in inputs], labels)
    if name == "TripletLoss":
        return TripletLoss(None, **kwargs).compute_loss_from_embeddings(inputs, None)
    return BATCH[name](None, **kwargs).compute_loss_from_embeddings(inputs, labels)


def classes(*values):
    return lambda draw: np.array(values, dtype=np.int64)


B, D = 5, 8
# Three classes over 7 rows: every anchor has a positive and negatives.
LABELS = classes(0, 1, 0, 2, 1, 0, 2)
# A lone row (label 3) has no positive; the margin of 1 leaves some triplets at zero.
LONE = classes(0, 0, 1, 1, 3, 1)
CASES = [
    dict(case="triplet_euclidean", loss="TripletLoss", args={}, inputs=[(B, D)] * 3, dtype="float64"),
    dict(case="triplet_cosine", loss="TripletLoss", args={"distance_metric": "COSINE", "triplet_margin": 0.3},
         inputs=[(B, D)] * 3, dtype="float64"),
    dict(case="triplet_manhattan", loss="TripletLoss", args={"distance_metric": "MANHATTAN", "triplet_margin": 1.5},
         inputs=[(B, D)] * 3, dtype="float64"),
    dict(case="triplet_float32", loss="TripletLoss", args={"triplet_margin": 1.0}, inputs=[(B, D)] * 3,
         dtype="float32"),
    dict(case="batch_all", loss="BatchAllTripletLoss", args={}, inputs=[(7, D)], labels=LABELS, dtype="float64"),
    dict(case="batch_all_cosine_margin", loss="BatchAllTripletLoss",
         args={"distance_metric": "cosine_distance", "margin": 0.2}, inputs=[(6, D)], labels=LONE,
         dtype="float64"),
    dict(case="batch_hard", loss="BatchHardTripletLoss", args={}, inputs=[(7, D)], labels=LABELS,
         dtype="float64"),
    dict(case="batch_hard_cosine", loss="BatchHardTripletLoss",
         args={"distance_metric": "cosine_distance", "margin": 0.5}, inputs=[(6, D)], labels=LONE,
         dtype="float64"),
    dict(case="batch_hard_float32", loss="BatchHardTripletLoss", args={"margin": 1.0}, inputs=[(7, D)],
         labels=LABELS, dtype="float32"),
    dict(case="batch_semi_hard", loss="BatchSemiHardTripletLoss", args={}, inputs=[(7, D)], labels=LABELS,
         dtype="float64"),
    dict(case="batch_semi_hard_lone", loss="BatchSemiHardTripletLoss",
         args={"distance_metric": "eucledian_distance", "margin": 1.0}, inputs=[(6, D)], labels=LONE,
         dtype="float64"),
    dict(case="batch_semi_hard_cosine", loss="BatchSemiHardTripletLoss",
         args={"distance_metric": "cosine_distance", "margin": 0.1}, inputs=[(7, D)], labels=LABELS,
         dtype="float64"),
    dict(case="batch_hard_soft_margin", loss="BatchHardSoftMarginTripletLoss", args={}, inputs=[(7, D)],
         labels=LABELS, dtype="float64"),
    dict(case="batch_hard_soft_margin_cosine", loss="BatchHardSoftMarginTripletLoss",
         args={"distance_metric": "cosine_distance"}, inputs=[(6, D)], labels=LONE, dtype="float64"),
    dict(case="matryoshka_triplet", loss="MatryoshkaLoss",
         args={"loss": {"name": "TripletLoss", "args": {"triplet_margin": 2.0}}, "matryoshka_dims": [8, 4]},
         inputs=[(B, D)] * 3, dtype="float64"),
    dict(case="matryoshka_batch_hard", loss="MatryoshkaLoss",
         args={"loss": {"name": "BatchHardTripletLoss", "args": {"margin": 1.0}}, "matryoshka_dims": [8, 4, 2]},
         inputs=[(7, D)], labels=LABELS, dtype="float64"),
]

if __name__ == "__main__":
    write_family("triplet", CASES, run_case)
