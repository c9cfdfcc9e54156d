#!/usr/bin/env python3
"""Runs the real sentence-transformers (v6) Pooling, Dense and Normalize modules in
float64 on small random inputs and writes what tandem's modules are checked against:

  fixtures/st_modules/states.npy                 token states [4, 6, 3] (float64)
  fixtures/st_modules/mask_right.npy, mask_left.npy   attention masks [4, 6] (int64)
  fixtures/st_modules/pooling/cases.json         one entry per case: name, mask, prompt_length
  fixtures/st_modules/pooling/<case>/config.json what Pooling.save writes
  fixtures/st_modules/pooling/<case>/expected.npy   sentence_embedding (float64)
  fixtures/st_modules/dense/<case>/{config.json, model.safetensors}   what Dense.save writes
  fixtures/st_modules/dense/<case>/{input.npy, expected.npy}
  fixtures/st_modules/normalize/{config.json, input.npy, expected.npy}

usage: python3 tests/reference/make_st_module_fixtures.py
       (pip install torch sentence-transformers)
"""
import json
import os
import shutil

import numpy as np
import sentence_transformers
import torch
from sentence_transformers.base.modules import Dense, Normalize
from sentence_transformers.sentence_transformer.modules import Pooling

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "st_modules")
MODES = ["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]


def save_npy(path, array):
    np.save(path, np.ascontiguousarray(array))


def main():
    torch.manual_seed(0)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    states = torch.randn(4, 6, 3, dtype=torch.float64)
    # Every row keeps at least one token after a two-token prompt, so that max pooling
    # never meets a row without tokens (-inf in v6, -1e9 in tandem).
    masks = {
        "right": torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]]),
        "left": torch.tensor([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1], [0, 1, 1, 1, 1, 1]]),
    }
    save_npy(os.path.join(OUT, "states.npy"), states.numpy())
    for name, mask in masks.items():
        save_npy(os.path.join(OUT, f"mask_{name}.npy"), mask.numpy().astype(np.int64))

    pooling_cases = []
    configs = [(m, m, True) for m in MODES]
    configs += [(m + "_no_prompt", m, False) for m in MODES]
    configs += [("all_modes", tuple(MODES), True), ("all_modes_no_prompt", tuple(MODES), False),
                ("lasttoken_cls", ("lasttoken", "cls"), True)]
    for label, mode, include_prompt in configs:
        for mask_name, mask in masks.items():
            case = f"{label}_{mask_name}"
            pooling = Pooling(3, pooling_mode=mode, include_prompt=include_prompt)
            features = {"token_embeddings": states.clone(), "attention_mask": mask.clone()}
            prompt_length = 0 if include_prompt else 2
            if not include_prompt:
                features["prompt_length"] = prompt_length
            out = pooling(features)["sentence_embedding"]
            folder = os.path.join(OUT, "pooling", case)
            os.makedirs(folder)
            pooling.save(folder)
            save_npy(os.path.join(folder, "expected.npy"), out.detach().numpy())
            pooling_cases.append({"case": case, "mask": mask_name, "prompt_length": prompt_length})
    with open(os.path.join(OUT, "pooling", "cases.json"), "w") as f:
        json.dump({"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__,
                   "cases": pooling_cases}, f, indent=2)

    x = torch.randn(4, 3, dtype=torch.float64)
    dense_cases = {
        "tanh": Dense(3, 5),
        "identity_no_bias": Dense(3, 5, bias=False, activation_function=torch.nn.Identity()),
        "gelu": Dense(3, 5, activation_function=torch.nn.GELU()),
        "relu_residual": Dense(3, 3, activation_function=torch.nn.ReLU(), use_residual=True),
        "sigmoid_residual_projected": Dense(3, 2, activation_function=torch.nn.Sigmoid(), use_residual=True),
    }
    for case, dense in dense_cases.items():
        dense = dense.double()
        folder = os.path.join(OUT, "dense", case)
        os.makedirs(folder)
        dense.save(folder)
        save_npy(os.path.join(folder, "input.npy"), x.numpy())
        out = dense({"sentence_embedding": x.clone()})["sentence_embedding"]
        save_npy(os.path.join(folder, "expected.npy"), out.detach().numpy())

    folder = os.path.join(OUT, "normalize")
    os.makedirs(folder)
    normalize = Normalize()
    normalize.save(folder)
    y = torch.cat([torch.randn(3, 4, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64)])
    save_npy(os.path.join(folder, "input.npy"), y.numpy())
    save_npy(os.path.join(folder, "expected.npy"), normalize({"sentence_embedding": y})["sentence_embedding"].numpy())


if __name__ == "__main__":
    main()
