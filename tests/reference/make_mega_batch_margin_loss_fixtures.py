#!/usr/bin/env python3
"""MegaBatchMarginLoss's fixtures (fixtures/losses_mega_batch_margin/), computed with the
real sentence-transformers v6 class on a stand-in model whose features are the
embeddings, in both versions: the mini-batched one (GradCache, here with mini-batches
smaller than the batch) and the plain one.

usage: python3 tests/reference/make_mega_batch_margin_loss_fixtures.py
"""
from sentence_transformers.sentence_transformer.losses import MegaBatchMarginLoss

from loss_fixture_cases import ColumnModel, write_family


def run_case(c, inputs, labels, guides):
    loss = MegaBatchMarginLoss(ColumnModel(), **c["args"])
    return loss([{"embedding": e} for e in inputs], labels)


B, D = 7, 8
CASES = [
    dict(case="mini_batched", loss="MegaBatchMarginLoss", args={"mini_batch_size": 3}, inputs=[(B, D)] * 2,
         dtype="float64"),
    dict(case="whole_batch", loss="MegaBatchMarginLoss", args={"use_mini_batched_version": False},
         inputs=[(B, D)] * 2, dtype="float64"),
    dict(case="margins", loss="MegaBatchMarginLoss",
         args={"positive_margin": 0.2, "negative_margin": -0.1, "mini_batch_size": 2}, inputs=[(B, D)] * 2,
         dtype="float64"),
    dict(case="mini_batched_float32", loss="MegaBatchMarginLoss", args={"mini_batch_size": 4},
         inputs=[(B, D)] * 2, dtype="float32"),
]

if __name__ == "__main__":
    write_family("mega_batch_margin", CASES, run_case)
