#!/usr/bin/env python3
"""The guided losses' fixtures (fixtures/losses_guided/), computed with the real
sentence-transformers v6 classes GISTEmbedLoss and CachedGISTEmbedLoss. The student and
the guide are stand-ins returning the given embeddings (e<i>.npy, g<i>.npy); the losses'
constructors, which check for tokenizers, are bypassed and their attributes set as the
constructors set them (no re-tokenisation: the guide reads the same columns).

The guide's embeddings are independent of the student's (and narrower), so its masks
remove a good share of the candidates: those it scores above the anchor's positive.

usage: python3 tests/reference/make_guided_loss_fixtures.py
"""
import torch
from torch import nn
from sentence_transformers.base.losses.merged_forward import column_merging_disabled
from sentence_transformers.sentence_transformer.losses import CachedGISTEmbedLoss, GISTEmbedLoss

from loss_fixture_cases import ColumnModel, write_family

DEFAULTS = dict(temperature=0.01, margin_strategy="absolute", margin=0.0, contrast_anchors=True,
                contrast_positives=True, gather_across_devices=False)


def make(cls, args):
    loss = cls.__new__(cls)
    nn.Module.__init__(loss)
    loss.model = ColumnModel("embedding")
    loss.guide = ColumnModel("guide")
    loss.similarity_fct = nn.CosineSimilarity(dim=-1)
    loss.must_retokenize = False
    loss.cross_entropy_loss = nn.CrossEntropyLoss()
    settings = dict(DEFAULTS)
    if cls is CachedGISTEmbedLoss:
        settings.update(mini_batch_size=32, mini_batch_num_tokens=None, show_progress_bar=False)
    settings.update(args)
    for k, v in settings.items():
        setattr(loss, k, v)
    return loss


def run_case(c, inputs, labels, guides):
    cls = GISTEmbedLoss if c["loss"] == "GISTEmbedLoss" else CachedGISTEmbedLoss
    loss = make(cls, c["args"])
    features = [{"embedding": e, "guide": g} for e, g in zip(inputs, guides)]
    with column_merging_disabled():
        return loss(features, None)


B, D, G = 6, 8, 5
CASES = [
    dict(case="gist_pairs", loss="GISTEmbedLoss", args={}, inputs=[(B, D)] * 2, guides=[(B, G)] * 2,
         dtype="float64"),
    dict(case="gist_triplets_margin", loss="GISTEmbedLoss", args={"margin": 0.3, "temperature": 0.05},
         inputs=[(B, D)] * 3, guides=[(B, G)] * 3, dtype="float64"),
    dict(case="gist_relative", loss="GISTEmbedLoss",
         args={"margin_strategy": "relative", "margin": 0.5, "temperature": 0.1}, inputs=[(B, D)] * 3,
         guides=[(B, G)] * 3, dtype="float64"),
    dict(case="gist_no_contrast", loss="GISTEmbedLoss",
         args={"contrast_anchors": False, "contrast_positives": False, "temperature": 0.2}, inputs=[(B, D)] * 3,
         guides=[(B, G)] * 3, dtype="float64"),
    dict(case="gist_anchors_only_float32", loss="GISTEmbedLoss",
         args={"contrast_positives": False, "temperature": 0.5, "margin": 0.1}, inputs=[(B, D)] * 2,
         guides=[(B, G)] * 2, dtype="float32"),
    dict(case="cached_gist", loss="CachedGISTEmbedLoss", args={"mini_batch_size": 4, "temperature": 0.05},
         inputs=[(B, D)] * 4, guides=[(B, G)] * 4, dtype="float64"),
    dict(case="cached_gist_margin", loss="CachedGISTEmbedLoss",
         args={"mini_batch_size": 5, "margin": 0.2, "margin_strategy": "relative", "contrast_anchors": False,
               "temperature": 0.1}, inputs=[(B, D)] * 3, guides=[(B, G)] * 3, dtype="float64"),
    dict(case="cached_gist_float32", loss="CachedGISTEmbedLoss", args={"mini_batch_size": 2, "temperature": 0.5},
         inputs=[(B, D)] * 2, guides=[(B, G)] * 2, dtype="float32"),
]

if __name__ == "__main__":
    write_family("guided", CASES, run_case)
