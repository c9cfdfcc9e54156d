#!/usr/bin/env python3
"""A tiny cross-encoder saved by the real sentence-transformers v6 CrossEncoder
(fixtures/ce-bert-tiny/): a random BertForSequenceClassification (one label, weights
drawn wider than BERT's 0.02 so the scores spread) with a small WordPiece tokenizer, and
expected.json: its predict() scores (one pair truncated) of text pairs (default Sigmoid, batch_size 3, so
batches pad differently) and rank() of documents for a query.

usage: python3 tests/reference/make_cross_encoder_fixture.py
"""
import json
import os
import shutil

import sentence_transformers
import torch
import transformers
from sentence_transformers.cross_encoder import CrossEncoder
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

WORDS = ("[PAD] [UNK] [CLS] [SEP] [MASK] a the cat dog sat on mat is what where who ##s ##ing run park red blue "
         "sun sky play ball grass green under").split()
PAIRS = [
    ["what is the cat on", "the cat sat on the mat"],
    ["where is the dog", "a red dog runs in the park"],
    ["who plays ball", "dogs playing with a blue ball on green grass"],
    ["what is blue", "the sky"],
    ["the sun", "a cat under the sun on the grass sat on a mat"],
    ["red", "Zebra!"],
    ["where do cats run", "cats running"],
    # Longer than model_max_length (24 tokens): truncated, the longer text first.
    ["the red dog and the blue cat play ball on the green grass",
     "a dog runs in the park under the blue sky and the sun is red"],
]
QUERY = "where is the cat"
DOCUMENTS = ["the cat sat on the mat", "a dog in the park", "blue sky", "the cat is under the sun",
             "grass is green", "where"]


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "ce-bert-tiny")
    shutil.rmtree(out, ignore_errors=True)
    work = out + ".hf"
    vocab = {w: i for i, w in enumerate(WORDS)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                  sep_token="[SEP]", mask_token="[MASK]", model_max_length=24)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=1, initializer_range=0.4)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(work)
    tokenizer.save_pretrained(work)
    cross_encoder = CrossEncoder(work, device="cpu")
    cross_encoder.save(out)
    shutil.rmtree(work)
    # Reloaded, as a user would.
    cross_encoder = CrossEncoder(out, device="cpu")
    scores = cross_encoder.predict(PAIRS, batch_size=3, convert_to_numpy=True)
    ranked = cross_encoder.rank(QUERY, DOCUMENTS, top_k=4, batch_size=4)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
                   "pairs": PAIRS, "predict_batch_size": 3, "scores": [float(s) for s in scores],
                   "query": QUERY, "documents": DOCUMENTS, "top_k": 4,
                   "rank": [{"corpus_id": int(r["corpus_id"]), "score": float(r["score"])} for r in ranked]},
                  f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
