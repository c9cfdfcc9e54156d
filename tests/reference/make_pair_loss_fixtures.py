#!/usr/bin/env python3
"""The pair losses' fixtures (fixtures/losses_pairs/), computed with the real
sentence-transformers v6 classes: CosineSimilarityLoss, CoSENTLoss, AnglELoss,
ContrastiveLoss, OnlineContrastiveLoss. The label column holds each pair's score
(float) or its 0/1 label (int64 or float).

usage: python3 tests/reference/make_pair_loss_fixtures.py
"""
import numpy as np
import torch
from sentence_transformers import util
from sentence_transformers.sentence_transformer.losses import (
    AnglELoss,
    CoSENTLoss,
    ContrastiveLoss,
    CosineSimilarityLoss,
    OnlineContrastiveLoss,
    SiameseDistanceMetric,
)

from loss_fixture_cases import write_family

PAIRWISE = {"pairwise_cos_sim": util.pairwise_cos_sim, "pairwise_dot_score": util.pairwise_dot_score,
            "pairwise_angle_sim": util.pairwise_angle_sim}
LOSSES = {"CosineSimilarityLoss": CosineSimilarityLoss, "CoSENTLoss": CoSENTLoss, "AnglELoss": AnglELoss,
          "ContrastiveLoss": ContrastiveLoss, "OnlineContrastiveLoss": OnlineContrastiveLoss}


def kwargs_of(args):
    kwargs = dict(args)
    if "similarity_fct" in kwargs:
        kwargs["similarity_fct"] = PAIRWISE[kwargs["similarity_fct"]]
    if "distance_metric" in kwargs:
        kwargs["distance_metric"] = getattr(SiameseDistanceMetric, kwargs["distance_metric"].split(".")[-1])
    if "loss_fct" in kwargs:
        kwargs["loss_fct"] = getattr(torch.nn, kwargs["loss_fct"].split(".")[-1])()
    return kwargs


def run_case(c, inputs, labels, guides):
    loss = LOSSES[c["loss"]](None, **kwargs_of(c["args"]))
    return loss.compute_loss_from_embeddings(inputs, labels)


# Scores in [0, 1) that float32 holds exactly: CosineSimilarityLoss takes labels.float().
def scores(draw):
    return np.abs(np.tanh(draw((B,)))).astype(np.float32)


def fixed(values):
    return lambda draw: np.array(values)


B, D = 6, 8
BINARY = [1, 0, 0, 1, 1, 0]
CASES = [
    dict(case="cosine_similarity", loss="CosineSimilarityLoss", args={}, inputs=[(B, D)] * 2, labels=scores,
         dtype="float64"),
    dict(case="cosine_similarity_float32", loss="CosineSimilarityLoss",
         args={"loss_fct": "torch.nn.modules.loss.MSELoss"}, inputs=[(B, D)] * 2, labels=scores,
         dtype="float32"),
    dict(case="cosent_tied_scores", loss="CoSENTLoss", args={}, inputs=[(B, D)] * 2,
         labels=fixed([0.2, 0.8, 0.2, 1.0, 0.5, 0.8]), dtype="float64"),
    dict(case="cosent_dot_score", loss="CoSENTLoss", args={"scale": 1.0, "similarity_fct": "pairwise_dot_score"},
         inputs=[(B, D)] * 2, labels=scores, dtype="float64"),
    dict(case="cosent_integer_labels", loss="CoSENTLoss", args={"scale": 5.0}, inputs=[(B, D)] * 2,
         labels=fixed(BINARY), label_dtype="int64", dtype="float64"),
    dict(case="cosent_float32", loss="CoSENTLoss", args={}, inputs=[(B, D)] * 2, labels=scores, dtype="float32"),
    dict(case="angle_pairs", loss="AnglELoss", args={}, inputs=[(B, D)] * 2, labels=scores, dtype="float64"),
    dict(case="angle_odd_width", loss="AnglELoss", args={"scale": 10.0}, inputs=[(B, 7)] * 2, labels=scores,
         dtype="float64"),
    dict(case="angle_triplets", loss="AnglELoss", args={}, inputs=[(B, D)] * 3, dtype="float64"),
    dict(case="angle_two_negatives_labels", loss="AnglELoss", args={}, inputs=[(B, D)] * 4, labels=scores,
         dtype="float64"),
    dict(case="angle_float32", loss="AnglELoss", args={}, inputs=[(B, D)] * 2, labels=scores, dtype="float32"),
    dict(case="contrastive", loss="ContrastiveLoss", args={}, inputs=[(B, D)] * 2, labels=fixed(BINARY),
         label_dtype="int64", dtype="float64"),
    dict(case="contrastive_euclidean", loss="ContrastiveLoss",
         args={"distance_metric": "EUCLIDEAN", "margin": 4.5}, inputs=[(B, D)] * 2, labels=fixed(BINARY),
         dtype="float64"),
    dict(case="contrastive_manhattan_sum", loss="ContrastiveLoss",
         args={"distance_metric": "SiameseDistanceMetric.MANHATTAN", "margin": 9.0, "size_average": False},
         inputs=[(B, D)] * 2, labels=fixed(BINARY), label_dtype="int64", dtype="float64"),
    dict(case="contrastive_float32", loss="ContrastiveLoss", args={"margin": 1.2}, inputs=[(B, D)] * 2,
         labels=fixed(BINARY), dtype="float32"),
    dict(case="online_contrastive", loss="OnlineContrastiveLoss", args={}, inputs=[(B, D)] * 2,
         labels=fixed(BINARY), label_dtype="int64", dtype="float64"),
    dict(case="online_contrastive_euclidean", loss="OnlineContrastiveLoss",
         args={"distance_metric": "EUCLIDEAN", "margin": 4.5}, inputs=[(8, D)] * 2,
         labels=fixed([1, 0, 0, 1, 1, 0, 0.5, 1]), dtype="float64"),
    dict(case="online_contrastive_only_positives", loss="OnlineContrastiveLoss",
         args={"distance_metric": "MANHATTAN"}, inputs=[(B, D)] * 2, labels=fixed([1] * B), label_dtype="int64",
         dtype="float64"),
    dict(case="online_contrastive_only_negatives", loss="OnlineContrastiveLoss", args={"margin": 1.5},
         inputs=[(B, D)] * 2, labels=fixed([0] * B), label_dtype="int64", dtype="float64"),
    dict(case="online_contrastive_float32", loss="OnlineContrastiveLoss", args={"margin": 1.0},
         inputs=[(B, D)] * 2, labels=fixed(BINARY), dtype="float32"),
]

if __name__ == "__main__":
    write_family("pairs", CASES, run_case)
