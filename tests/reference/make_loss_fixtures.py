#!/usr/bin/env python3
"""Computes the value and gradients of each training loss with PyTorch, through the
real sentence-transformers (v6) and open_clip classes, on small random embeddings, and
writes them as .npy fixtures that `tandem loss` is checked against:

  fixtures/losses/cases.json                  one entry per case: loss name, --args, inputs
  fixtures/losses/<case>/e<i>.npy             the embeddings of column i (float64 or float32)
  fixtures/losses/<case>/param_<name>.npy     a learned scalar (logit_scale, logit_bias)
  fixtures/losses/<case>/loss.npy             the loss (0-d, float64)
  fixtures/losses/<case>/grad_<i>.npy         d loss / d column i (float64)
  fixtures/losses/<case>/grad_<name>.npy      d loss / d parameter (float64)

Float32 cases store float32 inputs; the reference is still computed in float64 from them.
CLIPLoss and SigLIPLoss normalise the embeddings first, as transformers' CLIPModel does
before its logits, then apply open_clip's ClipLoss and SigLipLoss with exp(logit_scale).

usage: python3 tests/reference/make_loss_fixtures.py
       (pip install torch sentence-transformers open-clip-torch)
"""
import json
import os
import shutil

import numpy as np
import open_clip
import sentence_transformers
import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss, SigLipLoss
from sentence_transformers import util
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MultipleNegativesRankingLoss,
    MultipleNegativesSymmetricRankingLoss,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "losses")
SIMILARITY = {"cos_sim": util.cos_sim, "dot_score": util.dot_score}


class ColumnModel(torch.nn.Module):
    """A stand-in SentenceTransformer whose 'features' are the embeddings themselves, so
    the cached loss's mini-batch re-embedding is the identity on the given rows."""

    def __getitem__(self, index):
        return torch.nn.Identity()

    def forward(self, features):
        return {"sentence_embedding": features["embedding"] * 1.0}


def st_kwargs(args):
    kwargs = dict(args)
    if "similarity_fct" in kwargs:
        kwargs["similarity_fct"] = SIMILARITY[kwargs["similarity_fct"]]
    if "directions" in kwargs:
        kwargs["directions"] = tuple(kwargs["directions"])
    return kwargs


def run_case(name, args, embeddings, params):
    """Loss and gradients; `embeddings` and `params` are float64 leaf tensors."""
    if name == "MultipleNegativesRankingLoss":
        return MultipleNegativesRankingLoss(None, **st_kwargs(args)).compute_loss_from_embeddings(embeddings, None)
    if name == "MultipleNegativesSymmetricRankingLoss":
        loss = MultipleNegativesSymmetricRankingLoss(None, **st_kwargs(args))
        return loss.compute_loss_from_embeddings(embeddings, None)
    if name == "CachedMultipleNegativesRankingLoss":
        loss = CachedMultipleNegativesRankingLoss(ColumnModel(), **st_kwargs(args))
        return loss([{"embedding": e} for e in embeddings], None)
    text, image = (F.normalize(e, dim=-1) for e in embeddings)
    if name == "CLIPLoss":
        return ClipLoss()(image, text, params["logit_scale"].exp())
    if name == "SigLIPLoss":
        return SigLipLoss()(image, text, params["logit_scale"].exp(), params["logit_bias"])
    raise ValueError(name)


CASES = [
    # case, loss, --args, columns, rows, dim, params, dtype
    ("mnrl_pairs", "MultipleNegativesRankingLoss", {}, 2, 6, 8, {}, "float64"),
    ("mnrl_triplets_float32", "MultipleNegativesRankingLoss", {}, 3, 6, 8, {}, "float32"),
    ("mnrl_two_negatives", "MultipleNegativesRankingLoss", {"scale": 10.0}, 4, 5, 8, {}, "float64"),
    ("mnrl_dot_score", "MultipleNegativesRankingLoss", {"scale": 1.0, "similarity_fct": "dot_score"}, 3, 6, 8,
     {}, "float64"),
    ("mnrl_symmetric_per_direction", "MultipleNegativesRankingLoss",
     {"directions": ["query_to_doc", "doc_to_query"], "partition_mode": "per_direction"}, 3, 6, 8, {},
     "float64"),
    ("mnrl_gte_joint", "MultipleNegativesRankingLoss",
     {"directions": ["query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc"], "partition_mode": "joint"},
     3, 6, 8, {}, "float64"),
    ("mnrl_hardness_in_batch", "MultipleNegativesRankingLoss",
     {"hardness_mode": "in_batch_negatives", "hardness_strength": 9.0}, 3, 6, 8, {}, "float64"),
    ("mnrl_hardness_hard_negatives", "MultipleNegativesRankingLoss",
     {"hardness_mode": "hard_negatives", "hardness_strength": 5.0}, 4, 6, 8, {}, "float64"),
    ("mnrl_hardness_all_negatives", "MultipleNegativesRankingLoss",
     {"hardness_mode": "all_negatives", "hardness_strength": 3.0, "directions": ["query_to_doc", "doc_to_doc"]},
     3, 6, 8, {}, "float64"),
    ("mnsrl", "MultipleNegativesSymmetricRankingLoss", {"scale": 15.0}, 2, 6, 8, {}, "float64"),
    ("cached_mnrl", "CachedMultipleNegativesRankingLoss",
     {"mini_batch_size": 4, "directions": ["query_to_doc", "doc_to_query"], "partition_mode": "per_direction"},
     3, 10, 8, {}, "float64"),
    ("clip", "CLIPLoss", {}, 2, 6, 8, {"logit_scale": 2.6592}, "float64"),
    ("clip_float32", "CLIPLoss", {}, 2, 6, 8, {"logit_scale": 3.1}, "float32"),
    ("siglip", "SigLIPLoss", {}, 2, 6, 8, {"logit_scale": 2.302585, "logit_bias": -10.0}, "float64"),
    ("siglip_trained", "SigLIPLoss", {}, 2, 6, 8, {"logit_scale": 3.5, "logit_bias": -2.5}, "float64"),
    ("siglip_float32", "SigLIPLoss", {}, 2, 6, 8, {"logit_scale": 2.0, "logit_bias": -1.0}, "float32"),
]


def main():
    torch.manual_seed(0)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    manifest = []
    for seed, (case, name, args, columns, rows, dim, params, dtype) in enumerate(CASES):
        folder = os.path.join(OUT, case)
        os.makedirs(folder)
        generator = torch.Generator().manual_seed(1000 + seed)
        stored = [torch.randn(rows, dim, generator=generator, dtype=torch.float64).numpy().astype(dtype)
                  for _ in range(columns)]
        embeddings = [torch.tensor(e.astype(np.float64), requires_grad=True) for e in stored]
        leaves = {k: torch.tensor(np.array(v, dtype=dtype).astype(np.float64), requires_grad=True)
                  for k, v in params.items()}
        loss = run_case(name, args, embeddings, leaves)
        loss.backward()
        for i, e in enumerate(stored):
            np.save(os.path.join(folder, f"e{i}.npy"), e)
            np.save(os.path.join(folder, f"grad_{i}.npy"), embeddings[i].grad.numpy())
        for k, v in params.items():
            np.save(os.path.join(folder, f"param_{k}.npy"), np.array(v, dtype=dtype))
            np.save(os.path.join(folder, f"grad_{k}.npy"), leaves[k].grad.numpy())
        np.save(os.path.join(folder, "loss.npy"), loss.detach().numpy().astype(np.float64))
        manifest.append({"case": case, "loss": name, "args": args, "columns": columns, "params": list(params),
                         "dtype": dtype})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"sentence_transformers": sentence_transformers.__version__,
                   "open_clip": open_clip.__version__, "torch": torch.__version__, "cases": manifest}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
