#!/usr/bin/env python3
"""Builds a tiny random transformers.SiglipModel with a SigLIP-like tokenizer and a
SiglipImageProcessor, saves it with sentence-transformers 6.3's SentenceTransformer.save
and records what encode() gives:

  fixtures/st-siglip-tiny/                     the folder SentenceTransformer.save writes
                                               (v6 layout: the SiglipModel in the root)
  fixtures/st-siglip-tiny/manifest.json        sizes, seed, texts, images (paths under the
                                               shared test data), versions
  fixtures/st-siglip-tiny/expected/text_embeddings.npy    encode(texts), float32
  fixtures/st-siglip-tiny/expected/image_embeddings.npy   encode(images), float32, with
                                               processor_kwargs={"backend": "pil"} (the PIL
                                               resize tandem matches; the torchvision
                                               default's difference is in the manifest)
  fixtures/st-siglip-tiny/expected/max_length/sentence_bert_config.json
                                               what save writes for a Transformer built with
                                               processing_kwargs={"text": {"padding": "max_length"}}
  fixtures/st-siglip-tiny/expected/max_length/text_embeddings.npy   encode(texts[:-1]) of that
                                               model (the last text fills the 12 positions, so
                                               with it the batch's longest is max_length)

sentence-transformers pads texts to the batch's longest (padding=True), not to
max_length as SigLIP was trained; SigLIP pools the last position, so a shorter text's
embedding reads a padding position and depends on the batch. The texts are encoded in
one batch (encode's default batch_size 32).

The tokenizer is a Unigram model in SigLIP's (SentencePiece) pipeline, built with the
tokenizers library (SiglipTokenizer itself needs sentencepiece): Metaspace, "$A </s>",
pad token </s> as SigLIP's. It is saved as the class that runs tokenizer.json as it is.

usage: python3 tests/reference/make_st_siglip_fixture.py [DATA_DIR]
       (torch, transformers 5.25, sentence-transformers 6.3; DATA_DIR default ../shared/data)
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import PIL
import sentence_transformers
import torch
import transformers
from PIL import Image
from sentence_transformers import SentenceTransformer, models
from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
from tokenizers import models as tokenizer_models
from transformers import PreTrainedTokenizerFast, SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "st-siglip-tiny")
SEED = 0

CORPUS = [
    "a photo of a cat",
    "two dogs running in the park",
    "the harbour bridge at night",
    "a zebra on the grass",
    "it's twelve o'clock",
]

# Lengths from the empty text (</s> alone) to one cut at the 12 positions, so the batch
# pads every other row; unknown words and capitals become <unk>.
TEXTS = [
    "a photo of a cat",
    "Two dogs, running!",
    "",
    "a zebra",
    "it's twelve o'clock",
    "the harbour bridge at night and a cat and two dogs on the grass",
]

# Under the shared test data: RGB PNGs of odd sizes, a grey one, one smaller than 16 px, a
# JPEG. Pillow 13 resizes some shapes vertical pass first where Pillow 9.4, which tandem's
# resize follows, always goes horizontal first (st-clip-tiny's 19x27 grey image to 16x16
# differs by up to 3 levels), so only shapes both versions resize alike are here.
IMAGES = [
    "models/st-clip-tiny/inputs/img0_rgb_30x30.png",
    "models/st-clip-tiny/inputs/img1_rgb_52x38.png",
    "images/camera_gray.png",
    "images/coffee_tiny_17x9.png",
    "images/rocket.jpg",
]


def tokenizer():
    """Every corpus word as a "▁word" piece, the corpus' characters as pieces, scores that
    favour whole words; ids 0-2 are SigLIP's <pad>, </s>, <unk>."""
    words = sorted({w for line in CORPUS for w in line.split()})
    chars = sorted({c for line in CORPUS for c in line if c != " "})
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [("\u2581" + w, -2.0 - 0.05 * i) for i, w in enumerate(words)]
    pieces += [("\u2581", -6.0)] + [(c, -9.0 - 0.01 * i) for i, c in enumerate(chars)]
    t = Tokenizer(tokenizer_models.Unigram(pieces, unk_id=2))
    t.pre_tokenizer = pre_tokenizers.Metaspace()
    t.decoder = decoders.Metaspace()
    t.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                     special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=t, eos_token="</s>", pad_token="</s>", unk_token="<unk>",
                                   model_max_length=12)


def config(vocab_size):
    return SiglipConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=8, intermediate_size=16, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=12, pad_token_id=1, bos_token_id=None,
                         eos_token_id=1),
        vision_config=dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                           image_size=16, patch_size=4))


def perturb(model):
    """Weights N(0, 0.2^2), biases N(0, 0.1^2), norm weights 1 + N(0, 0.1^2): far from HF's
    init (zero biases, unit norms), so a parameter read or applied wrongly shows."""
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "norm" in name:
                p.copy_(1 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def relative(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "data")
    images = [Image.open(os.path.join(data, p)).convert("RGB") for p in IMAGES]
    shutil.rmtree(OUT, ignore_errors=True)
    with tempfile.TemporaryDirectory() as work:
        hf = os.path.join(work, "hf")
        tok = tokenizer()
        torch.manual_seed(SEED)
        model = SiglipModel(config(len(tok)))
        perturb(model)
        model.save_pretrained(hf)
        SiglipProcessor(image_processor=SiglipImageProcessor(size={"height": 16, "width": 16}),
                        tokenizer=tok).save_pretrained(hf)
        # The bare folder, as a user hands it to SentenceTransformer(path).
        SentenceTransformer(hf, device="cpu").save(OUT)

        st = SentenceTransformer(OUT, device="cpu", processor_kwargs={"backend": "pil"})
        texts = st.encode(TEXTS, convert_to_numpy=True)
        pil = st.encode(images, convert_to_numpy=True)
        default = SentenceTransformer(OUT, device="cpu").encode(images, convert_to_numpy=True)
        bare = SentenceTransformer(hf, device="cpu").encode(TEXTS, convert_to_numpy=True)
        assert np.array_equal(bare, texts), "the bare folder should encode as the saved one"

        t = models.Transformer(OUT, processing_kwargs={"text": {"padding": "max_length"}})
        max_length = SentenceTransformer(modules=[t], device="cpu")
        max_length.save(os.path.join(work, "max_length"))
        max_length_texts = max_length.encode(TEXTS[:-1], convert_to_numpy=True)
        longest_texts = st.encode(TEXTS[:-1], convert_to_numpy=True)

        expected = os.path.join(OUT, "expected")
        os.makedirs(os.path.join(expected, "max_length"))
        np.save(os.path.join(expected, "text_embeddings.npy"), texts)
        np.save(os.path.join(expected, "image_embeddings.npy"), pil)
        np.save(os.path.join(expected, "max_length", "text_embeddings.npy"), max_length_texts)
        shutil.copy(os.path.join(work, "max_length", "sentence_bert_config.json"),
                    os.path.join(expected, "max_length", "sentence_bert_config.json"))

    manifest = {
        "what": "sentence-transformers SentenceTransformer.save of a tiny random SiglipModel",
        "parameters": sum(p.numel() for p in model.parameters()),
        "seed": SEED,
        "texts": TEXTS,
        "images": IMAGES,
        "images_relative_to": "the shared test data ($TANDEM_TEST_DATA)",
        "max_length_padding_changes_texts_by": relative(max_length_texts, longest_texts),
        "torchvision_image_processor_differs_by": relative(default, pil),
        "versions": {"sentence_transformers": sentence_transformers.__version__,
                     "transformers": transformers.__version__, "torch": torch.__version__,
                     "numpy": np.__version__, "pillow": PIL.__version__},
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
