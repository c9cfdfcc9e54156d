#!/usr/bin/env python3
"""Reference metrics for the evaluators in include/tandem/eval/, on small random embeddings.

Run with NumPy, SciPy and scikit-learn installed, and sentence-transformers' source
importable (pip install --no-deps sentence-transformers is enough: its evaluators need
torch to run, so the parts that compute metrics, which are NumPy code, are taken from
its source file by name and executed here unchanged):

    python3 tests/reference/make_eval_fixtures.py

Writes tests/reference/fixtures/eval/: <case>_<role>.npy embeddings (float64), <case>.json
with the evaluator's data, arguments and expected metrics under sentence-transformers v6
names, and <case>_results.csv as sentence-transformers writes it (epoch -1, steps -1).
"""

import __future__
import ast
import csv
import importlib.util
import io
import json
import math
from pathlib import Path

import numpy as np
import scipy.stats
import sklearn.metrics

OUT = Path(__file__).resolve().parent / "fixtures" / "eval"
# Found without importing it, which would need torch.
ST = Path(importlib.util.find_spec("sentence_transformers").submodule_search_locations[0])


def st_functions(relative_path, names, class_name=None):
    """The named functions (or methods of class_name) of a sentence-transformers source file."""
    tree = ast.parse((ST / relative_path).read_text())
    body = tree.body
    if class_name:
        body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name).body
    # torch's Tensor stands for a type no NumPy input is an instance of.
    namespace = {"np": np, "logger": __import__("logging").getLogger("st"), "math": math,
                 "Tensor": type("Tensor", (), {})}
    for node in body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            node.decorator_list = []
            # The file's own `from __future__ import annotations`: type hints stay unevaluated.
            code = compile(ast.Module([node], []), relative_path, "exec", flags=__future__.annotations.compiler_flag)
            exec(code, namespace)
    return namespace


quantization = st_functions(
    "util/quantization.py", {"quantize_embeddings", "_get_quantization_ranges"}
)
binary = st_functions(
    "sentence_transformer/evaluation/binary_classification.py",
    {"find_best_acc_and_threshold", "find_best_f1_and_threshold"},
    "BinaryClassificationEvaluator",
)
ir = st_functions(
    "sentence_transformer/evaluation/information_retrieval.py",
    {"compute_metrics", "compute_dcg_at_k"},
    "InformationRetrievalEvaluator",
)


def normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def pairwise(fn, a, b):
    if fn == "cosine":
        return np.sum(normalize(a) * normalize(b), axis=1)
    if fn == "dot":
        return np.sum(a * b, axis=1)
    if fn == "euclidean":
        return -np.sqrt(np.sum((a - b) ** 2, axis=1))
    return -np.sum(np.abs(a - b), axis=1)


def save(name, array):
    np.save(OUT / f"{name}.npy", np.ascontiguousarray(array, dtype=np.float64))


def csv_text(header, row):
    s = io.StringIO()
    w = csv.writer(s)
    w.writerow(header)
    w.writerow(row)
    return s.getvalue()


def information_retrieval(rng):
    n_queries, n_corpus, dim = 12, 40, 8
    corpus = rng.normal(size=(n_corpus, dim))
    # Two documents equal to a third: ties that the ranking breaks by corpus id.
    corpus[5] = corpus[17] = corpus[30]
    query_ids = [f"q{i}" for i in range(n_queries)]
    corpus_ids = [f"d{i:02d}" for i in rng.permutation(n_corpus)]
    relevant = {}
    queries = rng.normal(size=(n_queries, dim))
    for i, q in enumerate(query_ids[:-2]):  # the last two queries have no relevant document
        rows = rng.choice(n_corpus, size=1 + i % 3, replace=False)
        relevant[q] = sorted(corpus_ids[r] for r in rows)
        # Near its relevant documents, so the metrics are far from 0 and from 1.
        queries[i] = corpus[rows].mean(axis=0) + rng.normal(scale=0.9, size=dim)
    relevant[query_ids[-1]] = []
    cases = {}
    for label, truncate in (("full", None), ("truncated", 5)):
        q = queries[:, :truncate] if truncate else queries
        c = corpus[:, :truncate] if truncate else corpus
        kept = [i for i, qid in enumerate(query_ids) if relevant.get(qid)]
        evaluator = type("E", (), {})()
        evaluator.accuracy_at_k = [1, 3, 5, 10]
        evaluator.precision_recall_at_k = [1, 3, 5, 10]
        evaluator.mrr_at_k = [10]
        evaluator.ndcg_at_k = [10]
        evaluator.map_at_k = [100]
        evaluator.queries_ids = [query_ids[i] for i in kept]
        evaluator.queries = evaluator.queries_ids
        evaluator.relevant_docs = {k: set(v) for k, v in relevant.items()}
        evaluator.compute_dcg_at_k = ir["compute_dcg_at_k"]
        metrics, row = {}, []
        for fn in ("cosine", "dot"):
            a = normalize(q[kept]) if fn == "cosine" else q[kept]
            b = normalize(c) if fn == "cosine" else c
            scores = a @ b.T
            results = []
            for i in range(len(kept)):
                hits = sorted(zip(scores[i].tolist(), corpus_ids), key=lambda x: (-x[0], x[1]))[:100]
                results.append([{"corpus_id": cid, "score": s} for s, cid in hits])
            values = ir["compute_metrics"](evaluator, results)
            for name, by_k in values.items():
                for k, v in by_k.items():
                    metrics[f"{fn}_{name.replace('@k', '@' + str(k))}"] = float(v)
            for k in evaluator.accuracy_at_k:
                row.append(values["accuracy@k"][k])
            for k in evaluator.precision_recall_at_k:
                row += [values["precision@k"][k], values["recall@k"][k]]
            row += [values["mrr@k"][10], values["ndcg@k"][10], values["map@k"][100]]
        cases[label] = {"truncate_dim": truncate, "metrics": metrics, "row": row}
    header = ["epoch", "steps"]
    for fn in ("cosine", "dot"):
        header += [f"{fn}-Accuracy@{k}" for k in (1, 3, 5, 10)]
        for k in (1, 3, 5, 10):
            header += [f"{fn}-Precision@{k}", f"{fn}-Recall@{k}"]
        header += [f"{fn}-MRR@10", f"{fn}-NDCG@10", f"{fn}-MAP@100"]
    row = cases["full"]["row"]
    (OUT / "ir_results.csv").write_text(",".join(header) + "\n" + ",".join(map(str, [-1, -1] + row)) + "\n")
    save("ir_queries", queries)
    save("ir_corpus", corpus)
    return {
        "query_ids": query_ids,
        "corpus_ids": corpus_ids,
        "relevant_docs": relevant,
        "args": {"score_functions": ["cosine", "dot"], "corpus_chunk_size": 7},
        "expected": {k: v["metrics"] for k, v in cases.items()},
        "primary_metric": "cosine_ndcg@10"
        if cases["full"]["metrics"]["cosine_ndcg@10"] >= cases["full"]["metrics"]["dot_ndcg@10"]
        else "dot_ndcg@10",
    }


def embedding_similarity(rng):
    n, dim = 30, 16
    e1 = rng.normal(size=(n, dim))
    # Pairs further apart score lower; rounding to 0.1 leaves ties in the gold scores.
    spread = rng.uniform(0.2, 2.0, size=n)
    e2 = e1 + spread[:, None] * rng.normal(size=(n, dim))
    gold = np.clip(5 - 2 * spread + rng.normal(scale=0.5, size=n), 0, 5).round(1)
    fns = ["cosine", "euclidean", "manhattan", "dot"]
    expected = {}
    for precision in (None, "float32", "int8", "uint8", "binary", "ubinary"):
        a, b = e1, e2
        if precision:
            # encode(precision=...) normalises and returns float32 before quantising.
            a = normalize(a).astype(np.float32)
            b = normalize(b).astype(np.float32)
            if precision in ("int8", "uint8"):
                both = quantization["quantize_embeddings"](np.concatenate([a, b]), precision=precision)
                a, b = both[:n], both[n:]
            else:
                a = quantization["quantize_embeddings"](a, precision=precision)
                b = quantization["quantize_embeddings"](b, precision=precision)
            if precision == "binary":
                a, b = a.astype(np.int16) + 128, b.astype(np.int16) + 128
            if precision in ("binary", "ubinary"):
                a, b = np.unpackbits(a.astype(np.uint8), axis=1), np.unpackbits(b.astype(np.uint8), axis=1)
            a, b = a.astype(np.float64), b.astype(np.float64)
        metrics = {}
        for fn in fns:
            s = pairwise(fn, a, b)
            metrics[f"pearson_{fn}"] = float(scipy.stats.pearsonr(gold, s)[0])
            metrics[f"spearman_{fn}"] = float(scipy.stats.spearmanr(gold, s)[0])
        metrics["pearson_max"] = max(metrics[f"pearson_{fn}"] for fn in fns)
        metrics["spearman_max"] = max(metrics[f"spearman_{fn}"] for fn in fns)
        expected[precision or "none"] = metrics
    m = expected["none"]
    header = ["epoch", "steps"] + [f"{fn}_{x}" for fn in fns for x in ("pearson", "spearman")]
    row = [-1, -1] + [m[f"{x}_{fn}"] for fn in fns for x in ("pearson", "spearman")]
    (OUT / "similarity_results.csv").write_text(csv_text(header, row))
    save("similarity_embeddings1", e1)
    save("similarity_embeddings2", e2)
    return {"scores": gold.tolist(), "args": {"similarity_fn_names": fns}, "expected": expected}


def triplet(rng):
    n, dim = 25, 8
    anchors = rng.normal(size=(n, dim))
    positives = anchors + rng.normal(scale=1.0, size=(n, dim))
    negatives = rng.normal(size=(n, dim))
    fns = ["cosine", "dot", "euclidean", "manhattan"]
    expected = {}
    for label, margin in (("no_margin", {}), ("margin", {"cosine": 0.1, "euclidean": 0.5})):
        metrics = {}
        for fn in fns:
            pos, neg = pairwise(fn, anchors, positives), pairwise(fn, anchors, negatives)
            # torch's .float().mean().item()
            metrics[f"{fn}_accuracy"] = float(np.float32(np.mean(pos > neg + margin.get(fn, 0))))
        metrics["max_accuracy"] = max(metrics.values())
        expected[label] = {"margin": margin, "metrics": metrics}
    save("triplet_anchors", anchors)
    save("triplet_positives", positives)
    save("triplet_negatives", negatives)
    return {"args": {"similarity_fn_names": fns}, "expected": expected}


def binary_classification(rng):
    n, dim = 40, 8
    e1 = rng.normal(size=(n, dim))
    labels = rng.integers(0, 2, size=n)
    e2 = np.where(labels[:, None] == 1, e1 + rng.normal(scale=1.2, size=(n, dim)), rng.normal(size=(n, dim)))
    fns = ["cosine", "dot", "euclidean", "manhattan"]
    metrics = {}
    for fn in fns:
        greater = fn in ("cosine", "dot")
        scores = pairwise(fn, e1, e2) * (1 if greater else -1)
        acc, acc_t = binary["find_best_acc_and_threshold"](scores, labels, greater)
        f1, precision, recall, f1_t = binary["find_best_f1_and_threshold"](scores, labels, greater)
        ap = sklearn.metrics.average_precision_score(labels, scores * (1 if greater else -1))
        predicted = (scores >= f1_t) if greater else (scores <= f1_t)
        mcc = sklearn.metrics.matthews_corrcoef(labels, predicted)
        values = {"accuracy": acc, "accuracy_threshold": acc_t, "f1": f1, "f1_threshold": f1_t,
                  "precision": precision, "recall": recall, "ap": ap, "mcc": mcc}
        for k, v in values.items():
            metrics[f"{fn}_{k}"] = float(v)
    for k in ("accuracy", "accuracy_threshold", "f1", "f1_threshold", "precision", "recall", "ap", "mcc"):
        metrics[f"max_{k}"] = max(metrics[f"{fn}_{k}"] for fn in fns)
    save("binary_embeddings1", e1)
    save("binary_embeddings2", e2)
    return {"labels": labels.tolist(), "args": {"similarity_fn_names": fns}, "expected": metrics}


def zero_shot(rng):
    n_images, classes, prompts, dim = 24, 8, 3, 8
    centres = rng.normal(size=(classes, dim))
    labels = rng.integers(0, classes, size=n_images)
    images = centres[labels] + rng.normal(scale=1.5, size=(n_images, dim))
    text = np.repeat(centres, prompts, axis=0) + rng.normal(scale=0.5, size=(classes * prompts, dim))
    # open_clip's build_zero_shot_classifier: normalise, mean over templates, normalise.
    classifier = normalize(normalize(text).reshape(classes, prompts, dim).mean(axis=1))
    logits = normalize(images) @ classifier.T
    order = np.argsort(-logits, axis=1)
    expected = {}
    for k in (1, 5):
        expected[f"top{k}_accuracy"] = float(np.mean([labels[i] in order[i, :k] for i in range(n_images)]))
    save("zero_shot_images", images)
    save("zero_shot_prompts", text)
    return {"labels": labels.tolist(), "args": {"prompts_per_class": prompts}, "expected": expected}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261203)
    for name, make in (("ir", information_retrieval), ("similarity", embedding_similarity),
                       ("triplet", triplet), ("binary", binary_classification), ("zero_shot", zero_shot)):
        (OUT / f"{name}.json").write_text(json.dumps(make(rng), indent=1) + "\n")


if __name__ == "__main__":
    main()
