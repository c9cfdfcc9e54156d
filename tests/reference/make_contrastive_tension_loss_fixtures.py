#!/usr/bin/env python3
"""The Contrastive Tension losses' fixtures (fixtures/losses_contrastive_tension/),
computed with the real sentence-transformers v6 classes: ContrastiveTensionLoss and
ContrastiveTensionLossInBatchNegatives. The reference encodes its first column with a copy
of the model (model1) and its second with the model (model2); here model1 reads e0 and
model2 reads e1. logit_scale is held in float64 (the reference makes it float32) so that
float64 cases compare to 1e-10.

usage: python3 tests/reference/make_contrastive_tension_loss_fixtures.py
"""
import numpy as np
import torch
from sentence_transformers import util
from sentence_transformers.sentence_transformer.losses import (
    ContrastiveTensionLoss,
    ContrastiveTensionLossInBatchNegatives,
)

from loss_fixture_cases import ColumnModel, write_family

SIMILARITY = {"cos_sim": util.cos_sim, "dot_score": util.dot_score}


def run_case(c, inputs, labels, guides):
    if c["loss"] == "ContrastiveTensionLoss":
        loss = ContrastiveTensionLoss(ColumnModel("e0"))
        loss.model1, loss.model2 = ColumnModel("e0"), ColumnModel("e1")
        return loss([{"e0": inputs[0]}, {"e1": inputs[1]}], labels)
    kwargs = dict(c["args"])
    if "similarity_fct" in kwargs:
        kwargs["similarity_fct"] = SIMILARITY[kwargs["similarity_fct"]]
    loss = ContrastiveTensionLossInBatchNegatives(ColumnModel("e0"), **kwargs)
    loss.model1, loss.model2 = ColumnModel("e0"), ColumnModel("e1")
    scale = kwargs.get("scale", 20.0)
    loss.logit_scale = torch.nn.Parameter(torch.tensor(np.log(scale), dtype=torch.float64))
    return loss([{"e0": inputs[0], "e1": inputs[1]}], None)


def fixed(values):
    return lambda draw: np.array(values)


B, D = 6, 8
BINARY = [1, 0, 0, 1, 1, 0]
CASES = [
    dict(case="tension_int_labels", loss="ContrastiveTensionLoss", args={}, inputs=[(B, D)] * 2,
         labels=fixed(BINARY), dtype="float64"),
    dict(case="tension_float_labels", loss="ContrastiveTensionLoss", args={}, inputs=[(B, D)] * 2,
         labels=fixed(BINARY), label_dtype="float64", dtype="float64"),
    dict(case="tension_float32", loss="ContrastiveTensionLoss", args={}, inputs=[(B, D)] * 2,
         labels=fixed(BINARY), dtype="float32"),
    dict(case="in_batch_cos_sim", loss="ContrastiveTensionLossInBatchNegatives", args={}, inputs=[(B, D)] * 2,
         dtype="float64"),
    dict(case="in_batch_dot_score", loss="ContrastiveTensionLossInBatchNegatives",
         args={"scale": 0.5, "similarity_fct": "dot_score"}, inputs=[(B, D)] * 2, dtype="float64"),
    dict(case="in_batch_float32", loss="ContrastiveTensionLossInBatchNegatives", args={"scale": 10.0},
         inputs=[(B, D)] * 2, dtype="float32"),
]

if __name__ == "__main__":
    write_family("contrastive_tension", CASES, run_case)
