#!/usr/bin/env python3
"""SoftmaxLoss's fixtures (fixtures/losses_softmax/), computed with the real
sentence-transformers v6 class: its classifier's weight and bias are given (drawn), the
pairs' embeddings come from a stand-in model, the labels are classes.

usage: python3 tests/reference/make_softmax_loss_fixtures.py
"""
import numpy as np
import torch
from sentence_transformers.sentence_transformer.losses import SoftmaxLoss

from loss_fixture_cases import ColumnModel, write_family


class PairModel(ColumnModel):
    """Column i's features are {"embedding": e_i}; embed_columns runs the model on each."""

    device = torch.device("cpu")


def run_case(c, inputs, labels, guides, params):
    loss = SoftmaxLoss(PairModel(), **c["args"])
    # The given weight and bias stand in for the classifier's own, gradients reaching them.
    return torch.func.functional_call(loss, params, ([{"embedding": e} for e in inputs], labels))


def classes(values):
    return lambda draw: np.array(values, dtype=np.int64)


B, D = 6, 8
CASES = [
    dict(case="softmax_default", loss="SoftmaxLoss", args={"embedding_dimension": D, "num_labels": 3},
         inputs=[(B, D)] * 2, labels=classes([0, 2, 1, 1, 0, 2]), params={"classifier.weight": (3, 3 * D),
                                                                           "classifier.bias": (3,)},
         dtype="float64"),
    dict(case="softmax_all_features", loss="SoftmaxLoss",
         args={"embedding_dimension": D, "num_labels": 4, "concatenation_sent_multiplication": True},
         inputs=[(B, D)] * 2, labels=classes([3, 0, 1, 2, 3, 1]),
         params={"classifier.weight": (4, 4 * D), "classifier.bias": (4,)}, dtype="float64"),
    dict(case="softmax_difference_only", loss="SoftmaxLoss",
         args={"embedding_dimension": D, "num_labels": 2, "concatenation_sent_rep": False},
         inputs=[(B, D)] * 2, labels=classes([1, 0, 0, 1, 1, 0]),
         params={"classifier.weight": (2, D), "classifier.bias": (2,)}, dtype="float64"),
    dict(case="softmax_float32", loss="SoftmaxLoss", args={"embedding_dimension": D, "num_labels": 3},
         inputs=[(B, D)] * 2, labels=classes([2, 2, 0, 1, 0, 1]),
         params={"classifier.weight": (3, 3 * D), "classifier.bias": (3,)}, dtype="float32"),
]

if __name__ == "__main__":
    write_family("softmax", CASES, run_case)
