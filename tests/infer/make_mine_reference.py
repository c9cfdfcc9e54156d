#!/usr/bin/env python3
"""Writes the reference of tests/infer/test_mine.cpp into tests/infer/data/mine/: the rows
that the real sentence_transformers.util.mine_hard_negatives returns with the shared test
data's st-bert-tiny folder for a small dataset of (query, answer) pairs under several option
settings (mine_reference.json). Run it in a venv with sentence-transformers and datasets
installed; it finds the shared data as the tests do (TANDEM_TEST_DATA, else ../shared/data
beside the source root):
    python tests/infer/make_mine_reference.py

The pairs hold what Python treats specially: a query with several answers (and a repeated
row, which counts towards range_max but yields one output row), two queries sharing an
answer, a query that is another pair's answer (it is never its own negative), and a query
that is its own answer (its positive, which include_positives lets back in). tandem scores
in double and its embeddings match these to 1e-5 (its scores to about 4e-7), so every score
that decides a row must be further than 3e-5 from the next one and from every margin and
score threshold: the script recomputes the candidates in float64 and asserts it for each
case.
"""
import contextlib
import io
import json
import os
import pathlib

import datasets
import numpy as np
import sentence_transformers
import torch
from sentence_transformers.util import mine_hard_negatives

out_dir = pathlib.Path(__file__).resolve().parent / "data" / "mine"
out_dir.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)

source_root = pathlib.Path(__file__).resolve().parents[2]
data_root = pathlib.Path(os.environ.get("TANDEM_TEST_DATA") or source_root.parent / "shared" / "data")
model = sentence_transformers.SentenceTransformer(str(data_root / "models" / "st-bert-tiny"), device="cpu")

pairs = [
    ("what is the capital of france", "paris is the capital of france"),
    ("how tall is mount everest", "mount everest is 8849 metres high"),
    ("who wrote hamlet", "hamlet was written by william shakespeare"),
    ("who wrote hamlet", "shakespeare wrote hamlet around 1600"),
    ("what do cats eat", "cats eat meat and fish"),
    ("what do kittens eat", "cats eat meat and fish"),
    ("how do planes fly", "wings make lift as air flows over them"),
    ("paris is the capital of france", "the eiffel tower stands in paris"),
    ("the sun is a star", "the sun is a star"),
    ("why is the sky blue", "air scatters blue light more than red light"),
    ("how many legs does a spider have", "spiders have eight legs"),
    ("who wrote hamlet", "hamlet was written by william shakespeare"),
    ("what is the boiling point of water", "water boils at 100 degrees celsius at sea level"),
    ("how far away is the moon", "the moon is about 384000 kilometres from earth"),
    ("what language is spoken in brazil", "people in brazil speak portuguese"),
    ("how do bees make honey", "bees turn flower nectar into honey"),
    ("when did the titanic sink", "the titanic sank in april 1912"),
    ("which ocean is the largest", "the pacific is the largest ocean on earth"),
    ("how do vaccines work", "vaccines train the immune system to fight a disease"),
    ("what is photosynthesis", "plants turn light water and carbon dioxide into sugar"),
    ("what do dogs eat", "dogs eat meat and dry food"),
]
dataset = datasets.Dataset.from_dict({"query": [q for q, _ in pairs], "answer": [a for _, a in pairs]})
# Candidates besides the answers: one repeats an answer, one is a query (then never its own negative).
extra_corpus = [
    "bananas are long yellow fruit",
    "paris is the capital of france",
    "what do cats eat",
    "the great wall of china is very long",
    "penguins cannot fly but swim well",
    "the pacific is the largest ocean on earth",
]

cases = [
    {"name": "top_range", "options": {"range_min": 2, "range_max": 7, "num_negatives": 2,
                                      "output_scores": True}},
    {"name": "absolute_margin", "options": {"absolute_margin": 0.01, "num_negatives": 2,
                                            "output_scores": True}},
    {"name": "relative_margin_n_tuple", "options": {"relative_margin": 0.02, "num_negatives": 2,
                                                    "output_format": "n-tuple", "output_scores": True}},
    {"name": "max_min_score_labeled_pair", "options": {"max_score": 0.93, "min_score": 0.88,
                                                       "num_negatives": 3, "output_format": "labeled-pair"}},
    {"name": "labeled_pair_scores", "options": {"num_negatives": 2, "output_format": "labeled-pair",
                                                "output_scores": True}},
    {"name": "n_tuple_min_score", "options": {"num_negatives": 4, "min_score": 0.86, "output_format": "n-tuple"}},
    {"name": "labeled_list", "options": {"num_negatives": 3, "range_max": 4, "max_score": 0.9,
                                         "output_format": "labeled-list"}},
    {"name": "labeled_list_scores", "options": {"num_negatives": 3, "output_format": "labeled-list",
                                                "output_scores": True}},
    {"name": "include_positives", "options": {"num_negatives": 4, "include_positives": True,
                                              "output_scores": True}},
    {"name": "extra_corpus", "options": {"num_negatives": 2, "range_max": 6, "output_scores": True},
     "corpus": True},
    {"name": "by_name_swapped", "options": {"anchor_column_name": "answer", "positive_column_name": "query",
                                            "num_negatives": 1, "as_triplets": False,
                                            "output_scores": True}},
]

tolerance = 3e-5


def unique(xs):
    return list(dict.fromkeys(xs))


def ambiguities(case):
    """Recomputes the candidates in float64 as mine_hard_negatives finds them and lists where a
    difference of `tolerance` could change which ones it keeps or their order."""
    found = []
    o = case["options"]
    anchor = o.get("anchor_column_name", "query")
    positive = o.get("positive_column_name", "answer")
    queries, positives = list(dataset[anchor]), list(dataset[positive])
    corpus = unique((extra_corpus if case.get("corpus") else positives) + positives)
    uq = unique(queries)
    q_emb = model.encode(uq, normalize_embeddings=True).astype(np.float64)
    c_emb = model.encode(corpus, normalize_embeddings=True).astype(np.float64)
    scores = q_emb @ c_emb.T
    rows_per_query = {q: queries.count(q) for q in uq}
    max_positives = max(rows_per_query.values())
    num_negatives = o.get("num_negatives", 3)
    range_min = o.get("range_min", 0)
    filtered = any(k in o for k in ("absolute_margin", "relative_margin", "max_score"))
    range_max = o.get("range_max", range_min + num_negatives * (10 if filtered else 1) + max_positives)
    window = range_max + max_positives + 1
    for qi, q in enumerate(uq):
        ranked = np.sort(scores[qi])[::-1][: window + 1]
        gaps = -np.diff(ranked)
        if np.any(gaps <= tolerance):
            found.append(f"{case['name']}: near-tie for {q!r}: {ranked[np.argmin(gaps)]}")
        min_positive = min(scores[qi][corpus.index(p)] for a, p in zip(queries, positives) if a == q)
        thresholds = [o[k] for k in ("max_score", "min_score") if k in o]
        if "absolute_margin" in o:
            thresholds.append(min_positive - o["absolute_margin"])
        if "relative_margin" in o:
            thresholds.append(min_positive - abs(min_positive) * o["relative_margin"])
        for t in thresholds:
            gaps = np.abs(ranked[:window] - t)
            if np.any(gaps <= tolerance):
                found.append(f"{case['name']}: a score of {q!r} is {gaps.min()} from {t}")
    return found


problems = [p for case in cases for p in ambiguities(case)]
assert not problems, "\n".join(problems)
for case in cases:
    kwargs = dict(case["options"])
    if case.get("corpus"):
        kwargs["corpus"] = extra_corpus
    # Its progress bars and deprecation warnings go to stderr, whatever verbose says.
    with contextlib.redirect_stderr(io.StringIO()):
        mined = mine_hard_negatives(dataset, model, verbose=False, **kwargs)
    case["columns"] = mined.column_names
    case["rows"] = mined.to_list()
    assert case["rows"], case["name"]

by_name = {c["name"]: c for c in cases}
# The special cases are exercised: a query that is an answer never gets itself as a negative,
# nor does a query its own answers, unless include_positives lets the self-answering one back in.
for case in cases:
    for row in case["rows"]:
        negatives = [v for k, v in row.items() if k.startswith("negative")]
        if case["name"] != "include_positives":
            assert row[case["columns"][0]] not in negatives, case["name"]
sun = [r for r in by_name["include_positives"]["rows"] if r["query"] == "the sun is a star"]
assert sun and "the sun is a star" in [v for k, v in sun[0].items() if k.startswith("negative")]
assert by_name["include_positives"]["columns"][2] == "negative_1"
# The extra corpus puts the query "what do cats eat" among the candidates of others.
assert any(r["negative"] == "what do cats eat" for r in by_name["extra_corpus"]["rows"])
# Filters leave some queries fewer than num_negatives candidates: n-tuple drops their rows,
# labeled-list keeps what there is, triplet writes one row per negative found.
query_answer_pairs = len(set(pairs))
assert len(by_name["n_tuple_min_score"]["rows"]) < query_answer_pairs
list_lengths = {len(r["answer"]) for r in by_name["labeled_list"]["rows"]}
assert 4 in list_lengths and min(list_lengths) < 4
assert len(by_name["absolute_margin"]["rows"]) < 2 * query_answer_pairs

reference = {
    "produced_with": {
        "sentence_transformers": sentence_transformers.__version__,
        "datasets": datasets.__version__,
        "torch": torch.__version__,
    },
    "folder": "models/st-bert-tiny",
    "columns": dataset.column_names,
    "pairs": [list(p) for p in pairs],
    "extra_corpus": extra_corpus,
    "cases": cases,
}
(out_dir / "mine_reference.json").write_text(json.dumps(reference, indent=1) + "\n")
print("written to", out_dir)
