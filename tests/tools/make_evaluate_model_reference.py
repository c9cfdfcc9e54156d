"""The reference of `tandem evaluate --model`: sentence-transformers' own
EmbeddingSimilarityEvaluator and TripletEvaluator run on the model in
shared/data/models/st-bert-tiny over its manifest's texts, written to
tests/tools/data/evaluate_model_reference.json.
usage: make_evaluate_model_reference.py DATA_DIR   (a Python with sentence-transformers)
"""
import json
import pathlib
import sys

import sentence_transformers
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator, TripletEvaluator


def main():
    folder = pathlib.Path(sys.argv[1]) / "models/st-bert-tiny"
    texts = json.loads((folder / "manifest.json").read_text())["texts"]
    model = SentenceTransformer(str(folder), device="cpu")
    first, second = texts, texts[1:] + texts[:1]
    scores = [0.9, 0.1, 0.4, 0.7, 0.2, 0.6]
    similarity = EmbeddingSimilarityEvaluator(first, second, scores, write_csv=False)(model)
    triplet = TripletEvaluator(texts, texts[2:] + texts[:2], texts[3:] + texts[:3], write_csv=False)(model)
    out = {
        "produced_with": f"sentence-transformers {sentence_transformers.__version__}",
        "sentences1": first, "sentences2": second, "scores": scores,
        "anchors": texts, "positives": texts[2:] + texts[:2], "negatives": texts[3:] + texts[:3],
        "EmbeddingSimilarityEvaluator": {k: float(v) for k, v in similarity.items()},
        "TripletEvaluator": {k: float(v) for k, v in triplet.items()},
    }
    path = pathlib.Path(__file__).parent / "data/evaluate_model_reference.json"
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
