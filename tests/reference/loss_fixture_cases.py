"""Shared by the make_*_loss_fixtures.py generators: stand-in models that let the real
sentence-transformers (v6) loss classes run on given embeddings, and the writer of a
fixture family (fixtures/losses_<family>/cases.json and one folder per case):

  <case>/e<i>.npy       input i: the embeddings of a column (or, for the layer-wise
                        losses, of a column after a hidden state, layer-major)
  <case>/labels.npy     the label column (teacher embeddings or scores), when "labels";
                        in the case's dtype, or its "label_dtype" (int64 class labels)
  <case>/g<i>.npy       the guide model's embeddings of column i, when "guides"
  <case>/param_<n>.npy  the loss's own parameter n, when "params" (name -> shape)
  <case>/grad_<n>.npy   d loss / d parameter n (float64)
  <case>/loss.npy       the loss (0-d, float64)
  <case>/grad_<i>.npy   d loss / d input i (float64)

Float32 cases store float32 inputs; the reference is computed in float64 from them.
"""
import json
import os
import shutil
from types import SimpleNamespace

import numpy as np
import sentence_transformers
import torch
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer import SentenceTransformer


class ColumnModel(torch.nn.Module):
    """A stand-in model whose 'features' are the embeddings themselves."""

    def __init__(self, key="embedding"):
        super().__init__()
        self.key = key

    def __getitem__(self, index):
        return torch.nn.Identity()

    def forward(self, features):
        return {"sentence_embedding": features[self.key] * 1.0}


class LayerTransformer(Transformer):
    """A stand-in Transformer module whose hidden states are given in the features
    ('all_layer_embeddings', already pooled): the last one is its output."""

    def __init__(self):
        torch.nn.Module.__init__(self)
        self.__dict__["model"] = SimpleNamespace(config=SimpleNamespace(output_hidden_states=False))

    def forward(self, features):
        return {**features, "token_embeddings": features["all_layer_embeddings"][-1]}


class LayerModel(SentenceTransformer):
    """A stand-in SentenceTransformer: LayerTransformer, then identity pooling."""

    def __init__(self, dim):
        torch.nn.Module.__init__(self)
        self.add_module("0", LayerTransformer())
        self.dim = dim

    def forward(self, features):
        out = self[0](features)
        return {**out, "sentence_embedding": out["token_embeddings"] * 1.0}

    def get_embedding_dimension(self):
        return self.dim

    def _get_untruncated_embedding_dimension(self):
        return self.dim


def write_family(family, cases, run_case):
    """cases: dicts with case, loss, args, inputs (a list of shapes), dtype, and optionally
    labels (a shape or a function of the generator returning an array, integer for class
    labels), guides (shapes) and params (the loss's own parameters, name -> shape).
    run_case(case, inputs, labels, guides) returns the loss from float64 tensors; a case with
    params is run as run_case(case, inputs, labels, guides, params), params float64 leaves."""
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", f"losses_{family}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    manifest = []
    for seed, c in enumerate(cases):
        folder = os.path.join(out, c["case"])
        os.makedirs(folder)
        dtype = c["dtype"]
        generator = torch.Generator().manual_seed(5000 + seed)
        draw = lambda shape: torch.randn(*shape, generator=generator, dtype=torch.float64).numpy().astype(dtype)
        stored = [draw(s) for s in c["inputs"]]
        inputs = [torch.tensor(e.astype(np.float64), requires_grad=True) for e in stored]
        labels = None
        if "labels" in c:
            spec = c["labels"]
            stored_labels = np.asarray(spec(draw) if callable(spec) else draw(spec))
            # Integer arrays are class labels (int64) unless the case names a label_dtype;
            # anything else is scores in the case's dtype.
            integer = stored_labels.dtype.kind in "iu"
            stored_labels = stored_labels.astype(c.get("label_dtype", np.int64 if integer else dtype))
            np.save(os.path.join(folder, "labels.npy"), stored_labels)
            labels = torch.tensor(stored_labels if integer else stored_labels.astype(np.float64))
        guides = []
        for i, shape in enumerate(c.get("guides", [])):
            g = draw(shape)
            np.save(os.path.join(folder, f"g{i}.npy"), g)
            guides.append(torch.tensor(g.astype(np.float64)))
        params = {}
        for n, shape in c.get("params", {}).items():
            p = draw(shape)
            np.save(os.path.join(folder, f"param_{n}.npy"), p)
            params[n] = torch.tensor(p.astype(np.float64), requires_grad=True)
        loss = run_case(c, inputs, labels, guides, params) if params else run_case(c, inputs, labels, guides)
        loss.backward()
        for n, p in params.items():
            np.save(os.path.join(folder, f"grad_{n}.npy"), p.grad.numpy())
        for i, e in enumerate(stored):
            np.save(os.path.join(folder, f"e{i}.npy"), e)
            grad = inputs[i].grad
            np.save(os.path.join(folder, f"grad_{i}.npy"),
                    (grad if grad is not None else torch.zeros_like(inputs[i])).numpy())
        np.save(os.path.join(folder, "loss.npy"), loss.detach().numpy().astype(np.float64))
        entry = {"case": c["case"], "loss": c["loss"], "args": c["args"], "columns": len(stored), "params": list(params),
                 "dtype": dtype}
        if labels is not None:
            entry["labels"] = True
        if guides:
            entry["guides"] = len(guides)
        manifest.append(entry)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__,
                   "cases": manifest}, f, indent=1)
        f.write("\n")
