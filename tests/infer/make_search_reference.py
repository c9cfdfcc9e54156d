#!/usr/bin/env python3
"""Writes the references of tests/infer/test_search.cpp into tests/infer/data/search/:
small seeded embeddings (saved with np.save); what the real sentence_transformers.util
semantic_search, paraphrase_mining_embeddings and quantize_embeddings return for them, and
what paraphrase_mining returns with the shared test data's st-bert-tiny folder
(search_reference.json); and a few .npy files in layouts numpy writes (float16, big-endian,
Fortran order, format 2.0, bool, 0-d) for the reader. Run it in a venv with
sentence-transformers installed; it finds the shared data as the tests do (TANDEM_TEST_DATA,
else ../shared/data beside the source root):
    python tests/infer/make_search_reference.py

Ties: the embeddings hold exact duplicates (and a row scaled by 2, which ties under cosine).
Python lists tied hits in heap order, and where top_k cuts a tie group torch.topk picks which
tied rows reach the heap, unless no corpus chunk exceeds top_k: then the heap of (score,
corpus_id) keeps the larger ids (checked here). Each case records the queries whose cut
ties torch chose ("torch_chosen_ties", with the whole tie group), so that the test compares
ids exactly everywhere else. Python's scores tie exactly where the scored rows are equal, and
scores of different rows differ by far more than float32 rounding (both checked), so float32
and double rank them alike; the capped paraphrase cases use embeddings without ties, since a
cap over ties would depend on torch's order too.
"""
import json
import math
import os
import pathlib

import numpy as np
import sentence_transformers
import torch
from sentence_transformers.util import (
    cos_sim,
    dot_score,
    paraphrase_mining,
    paraphrase_mining_embeddings,
    quantize_embeddings,
    semantic_search,
)

out_dir = pathlib.Path(__file__).resolve().parent / "data" / "search"
out_dir.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)
rng = np.random.default_rng(20261205)
dim = 16

corpus = rng.standard_normal((40, dim)).astype(np.float32)
for row in (17, 29, 33):
    corpus[row] = corpus[5]
corpus[38] = 2 * corpus[5]
corpus[21] = corpus[8]
queries = rng.standard_normal((7, dim)).astype(np.float32)
queries[2] = corpus[5]
queries[4] = corpus[8]

tied = rng.standard_normal((24, dim)).astype(np.float32)
tied[11] = tied[3]
tied[20] = tied[3]
tied[19] = 2 * tied[3]
distinct = rng.standard_normal((24, dim)).astype(np.float32)

quantize_input = rng.standard_normal((10, 13)).astype(np.float32)
calibration = rng.standard_normal((50, 13)).astype(np.float32)
ranges = np.vstack((calibration.min(axis=0) - 0.25, calibration.max(axis=0) + 0.25)).astype(np.float32)

arrays = {
    "queries": queries,
    "corpus": corpus,
    "mining_tied": tied,
    "mining_distinct": distinct,
    "quantize_input": quantize_input,
    "quantize_calibration": calibration,
    "quantize_ranges": ranges,
}
for name, array in arrays.items():
    np.save(out_dir / f"{name}.npy", array)

functions = {"cosine": cos_sim, "dot": dot_score}


def prepared(x, fn):
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True) if fn == "cosine" else x


def scores64(a, b, fn):
    """Scores in float64, each a correctly rounded sum."""
    a, b = prepared(a, fn), prepared(b, fn)
    return np.array([[math.fsum(x * y) for y in b] for x in a])


def row_keys(x, fn):
    """Rows that score alike under fn (equal rows; under cosine also a row and its double) share a key."""
    keys = {}
    return [keys.setdefault(row.tobytes(), len(keys)) for row in prepared(x, fn)]


def check_ties(keys, python_scores, scores):
    """Python's scores tie exactly where the scored rows are the same (the ties tandem has too), and
    scores of different rows differ by far more than float32 rounding, so both rank them alike."""
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            if keys[a] == keys[b]:
                assert python_scores[a] == python_scores[b], "Python breaks a tie of equal rows"
            else:
                gap = abs(scores[a] - scores[b])
                assert gap > 2e-6 * max(1, abs(scores[a])), f"near-tie in the reference data: {scores[a]}"


search_cases = [
    {"name": "cosine_top5", "top_k": 5},
    {"name": "dot_top5", "top_k": 5, "score_function": "dot"},
    {"name": "top_k_larger_than_corpus", "top_k": 100},
    {"name": "chunked_tie_cut", "top_k": 4, "corpus_chunk_size": 3, "query_chunk_size": 2},
    {"name": "dot_chunked", "top_k": 7, "corpus_chunk_size": 9, "query_chunk_size": 3,
     "score_function": "dot"},
]
for case in search_cases:
    fn = case.get("score_function", "cosine")
    kwargs = {k: case[k] for k in ("top_k", "corpus_chunk_size", "query_chunk_size") if k in case}
    hits = semantic_search(torch.from_numpy(queries), torch.from_numpy(corpus),
                           score_function=functions[fn], **kwargs)
    case["results"] = [[[h["corpus_id"], h["score"]] for h in q] for q in hits]
    s = scores64(queries, corpus, fn)
    keys = row_keys(corpus, fn)
    k = case["top_k"]
    for qi in range(len(queries)):
        ids = [h["corpus_id"] for h in hits[qi]]
        check_ties([keys[j] for j in ids], [h["score"] for h in hits[qi]], [s[qi][j] for j in ids])
        ranked = sorted(range(len(corpus)), key=lambda j: -s[qi][j])
        if k >= len(corpus) or keys[ranked[k]] != keys[ranked[k - 1]]:
            continue
        # top_k cuts a tie group. Python's heap of (score, corpus_id) keeps the larger ids of the
        # candidates it is given, which are all of them when no chunk exceeds top_k; otherwise
        # torch.topk chooses which tied rows it passes on.
        group = [j for j in range(len(corpus)) if keys[j] == keys[ranked[k - 1]]]
        kept = sorted(j for j in ids if keys[j] == keys[ranked[k - 1]])
        if case.get("corpus_chunk_size", 500000) <= k:
            assert kept == group[len(group) - len(kept):], case["name"]
            case.setdefault("defined_cut_ties", []).append(qi)
        else:
            case.setdefault("torch_chosen_ties", []).append({"query": qi, "tie_group": group})
assert any("defined_cut_ties" in c for c in search_cases), "no case tests a tie cut by top_k"

mining_cases = [
    {"name": "tied_all_pairs", "embeddings": "mining_tied"},
    {"name": "capped", "embeddings": "mining_distinct", "top_k": 3, "max_pairs": 20, "query_chunk_size": 4,
     "corpus_chunk_size": 5},
    {"name": "dot_capped", "embeddings": "mining_distinct", "top_k": 5, "max_pairs": 30,
     "query_chunk_size": 7, "corpus_chunk_size": 11, "score_function": "dot"},
]
inputs = {"mining_tied": tied, "mining_distinct": distinct}
for case in mining_cases:
    fn = case.get("score_function", "cosine")
    e = inputs[case["embeddings"]]
    names = ("top_k", "max_pairs", "query_chunk_size", "corpus_chunk_size")
    kwargs = {k: case[k] for k in names if k in case}
    pairs = paraphrase_mining_embeddings(torch.from_numpy(e), score_function=functions[fn], **kwargs)
    case["results"] = [[float(score), int(i), int(j)] for score, i, j in pairs]
    s = scores64(e, e, fn)
    keys = row_keys(e, fn)
    pair_keys = [tuple(sorted((keys[i], keys[j]))) for _, i, j in pairs]
    check_ties(pair_keys, [p[0] for p in pairs], [s[i][j] for _, i, j in pairs])
    if "max_pairs" in case:
        # A cap over ties would depend on the order torch.topk lists them in.
        assert len(set(keys)) == len(keys), case["name"]
    else:
        assert len(pairs) == len(e) * (len(e) - 1) // 2, case["name"]

# paraphrase_mining(model, sentences) with a real folder from the shared test data.
source_root = pathlib.Path(__file__).resolve().parents[2]
data_root = pathlib.Path(os.environ.get("TANDEM_TEST_DATA") or source_root.parent / "shared" / "data")
model_dir = data_root / "models" / "st-bert-tiny"
texts = json.loads((model_dir / "manifest.json").read_text())["texts"]
model = sentence_transformers.SentenceTransformer(str(model_dir), device="cpu")
text_embeddings = model.encode(texts)
text_scores = scores64(text_embeddings, text_embeddings, "cosine")
# The C++ model reproduces these embeddings to 1e-5, so scores must be further apart than that.
gaps = np.diff(np.sort(text_scores[np.triu_indices(len(texts), 1)]))
assert np.all(gaps > 1e-4), "near-tie among the model's pair scores"
model_cases = [{"name": "all_pairs"}, {"name": "capped", "top_k": 1, "max_pairs": 3}]
for case in model_cases:
    kwargs = {k: case[k] for k in ("top_k", "max_pairs") if k in case}
    pairs = paraphrase_mining(model, texts, **kwargs)
    case["results"] = [[float(score), int(i), int(j)] for score, i, j in pairs]

quantize_cases = [
    {"name": "float32", "precision": "float32"},
    {"name": "int8_self", "precision": "int8"},
    {"name": "uint8_self", "precision": "uint8"},
    {"name": "int8_calibration", "precision": "int8", "calibration": True},
    {"name": "uint8_calibration_one_row", "precision": "uint8", "calibration_rows": 1},
    {"name": "int8_ranges", "precision": "int8", "ranges": True},
    {"name": "uint8_ranges", "precision": "uint8", "ranges": True},
    {"name": "binary", "precision": "binary"},
    {"name": "ubinary", "precision": "ubinary"},
]
for case in quantize_cases:
    kwargs = {}
    if case.get("calibration"):
        kwargs["calibration_embeddings"] = calibration
    if "calibration_rows" in case:
        kwargs["calibration_embeddings"] = calibration[: case["calibration_rows"]]
    if case.get("ranges"):
        kwargs["ranges"] = ranges
    q = quantize_embeddings(quantize_input, precision=case["precision"], **kwargs)
    case["dtype"] = str(q.dtype)
    case["shape"] = list(q.shape)
    case["values"] = q.tolist()

reference = {
    "produced_with": {
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "seed": 20261205,
    },
    "semantic_search": search_cases,
    "paraphrase_mining": mining_cases,
    "paraphrase_mining_model": {"folder": "models/st-bert-tiny", "cases": model_cases},
    "quantize_embeddings": quantize_cases,
}
(out_dir / "search_reference.json").write_text(json.dumps(reference, indent=1) + "\n")

# Layouts numpy writes that the reader must take as numpy does.
small = np.arange(6, dtype=np.float64).reshape(2, 3) / 4 - 0.5
npy = out_dir / "npy"
npy.mkdir(exist_ok=True)
np.save(npy / "float16.npy", small.astype(np.float16))
np.save(npy / "big_endian_float64.npy", small.astype(">f8"))
np.save(npy / "fortran_float32.npy", np.asfortranarray(small.astype(np.float32)))
np.save(npy / "bool_1d.npy", np.array([True, False, True]))
np.save(npy / "scalar_int64.npy", np.array(-7, dtype=np.int64))
with open(npy / "version2_float32.npy", "wb") as f:
    np.lib.format.write_array(f, small.astype(np.float32), version=(2, 0))
print("written to", out_dir)
