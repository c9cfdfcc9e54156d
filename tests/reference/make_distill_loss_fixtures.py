#!/usr/bin/env python3
"""The distillation losses' fixtures (fixtures/losses_distill/), computed with the real
sentence-transformers v6 classes: EmbedDistillLoss, MSELoss, MarginMSELoss,
DistillKLDivLoss. The teacher's embeddings or scores are the label column.

usage: python3 tests/reference/make_distill_loss_fixtures.py
"""
from sentence_transformers import util
from sentence_transformers.base.losses.merged_forward import column_merging_disabled
from sentence_transformers.sentence_transformer.losses import (
    DistillKLDivLoss,
    EmbedDistillLoss,
    MarginMSELoss,
    MSELoss,
)

from loss_fixture_cases import ColumnModel, write_family

PAIRWISE = {"pairwise_cos_sim": util.pairwise_cos_sim, "pairwise_dot_score": util.pairwise_dot_score}


def kwargs_of(args):
    kwargs = dict(args)
    if "similarity_fct" in kwargs:
        kwargs["similarity_fct"] = PAIRWISE[kwargs["similarity_fct"]]
    return kwargs


def run_case(c, inputs, labels, guides):
    name, kwargs = c["loss"], kwargs_of(c["args"])
    if name in ("EmbedDistillLoss", "MSELoss"):
        loss = (EmbedDistillLoss if name == "EmbedDistillLoss" else MSELoss)(ColumnModel(), **kwargs)
        with column_merging_disabled():
            return loss([{"embedding": e} for e in inputs], labels)
    if name == "MarginMSELoss":
        return MarginMSELoss(None, **kwargs).compute_loss_from_embeddings(inputs, labels)
    if name == "DistillKLDivLoss":
        return DistillKLDivLoss(None, **kwargs).compute_loss_from_embeddings(inputs, labels)
    raise ValueError(name)


B, D = 5, 8
CASES = [
    dict(case="mse_one_column", loss="MSELoss", args={}, inputs=[(B, D)], labels=(B, D), dtype="float64"),
    dict(case="mse_broadcast_teacher", loss="MSELoss", args={}, inputs=[(B, D)] * 2, labels=(B, D),
         dtype="float64"),
    dict(case="mse_per_column_float32", loss="MSELoss", args={"projection_dim": None}, inputs=[(B, D)] * 3,
         labels=(B, 3, D), dtype="float32"),
    dict(case="embed_distill_cosine", loss="EmbedDistillLoss", args={}, inputs=[(B, D)] * 2, labels=(B, 2, D),
         dtype="float64"),
    dict(case="embed_distill_l2", loss="EmbedDistillLoss", args={"distance_metric": "l2"}, inputs=[(B, D)] * 2,
         labels=(B, D), dtype="float64"),
    dict(case="embed_distill_mse", loss="EmbedDistillLoss", args={"distance_metric": "mse"}, inputs=[(B, D)],
         labels=(B, D), dtype="float64"),
    dict(case="margin_mse_margins", loss="MarginMSELoss", args={}, inputs=[(B, D)] * 3, labels=(B,),
         dtype="float64"),
    dict(case="margin_mse_scores", loss="MarginMSELoss", args={}, inputs=[(B, D)] * 4, labels=(B, 3),
         dtype="float64"),
    dict(case="margin_mse_many_margins_cos", loss="MarginMSELoss", args={"similarity_fct": "pairwise_cos_sim"},
         inputs=[(B, D)] * 4, labels=(B, 2), dtype="float64"),
    dict(case="margin_mse_float32", loss="MarginMSELoss", args={}, inputs=[(B, D)] * 3, labels=(B, 2),
         dtype="float32"),
    dict(case="distill_kl", loss="DistillKLDivLoss", args={}, inputs=[(B, D)] * 3, labels=(B, 2), dtype="float64"),
    dict(case="distill_kl_temperatures", loss="DistillKLDivLoss",
         args={"temperature": 2.0, "teacher_temperature": 0.5, "similarity_fct": "pairwise_cos_sim"},
         inputs=[(B, D)] * 4, labels=(B, 3), dtype="float64"),
    dict(case="distill_kl_float32", loss="DistillKLDivLoss", args={"student_temperature": 3.0},
         inputs=[(B, D)] * 4, labels=(B, 3), dtype="float32"),
]

if __name__ == "__main__":
    write_family("distill", CASES, run_case)
