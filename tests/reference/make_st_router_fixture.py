#!/usr/bin/env python3
"""Builds a sentence-transformers 6.3 Router of a tiny random BERT text route and a tiny
random CLIP image route, saves it with SentenceTransformer.save and records what encode()
gives:

  fixtures/st-router-tiny/                  the folder SentenceTransformer.save writes:
                                            modules.json (the Router alone), router_config.json,
                                            text_0_Transformer/ (BertModel, DistilBERT-tiny's
                                            tokenizer), text_1_Pooling/ (mean), text_2_Dense/
                                            (16 -> 12, tanh), image_0_Transformer/ (a CLIPModel with
                                            modality_config {"image": get_image_features})
  fixtures/st-router-tiny/manifest.json     sizes, seed, texts, images (paths under the shared
                                            test data), versions
  fixtures/st-router-tiny/expected/text_embeddings.npy    encode(texts), float32
  fixtures/st-router-tiny/expected/image_embeddings.npy   encode(images), float32, with
                                            processor_kwargs={"backend": "pil"} (the PIL resize
                                            tandem matches)

A Transformer over a CLIPVisionModelWithProjection folder is not a CLIP vision route:
AutoModel builds CLIPVisionModel for its config and drops visual_projection. The image route
is therefore a whole CLIPModel whose Transformer module reads images only; its text tower is
saved with it. The Dense brings the text route to the CLIP projection's 12 dimensions, as
the Router's routes must give one width to be compared.

usage: python3 tests/reference/make_st_router_fixture.py [DATA_DIR]
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
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Router, Transformer
from transformers import AutoTokenizer, BertConfig, BertModel, CLIPConfig, CLIPImageProcessor, CLIPModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "st-router-tiny")
TOKENIZER = os.path.join(HERE, "fixtures", "distilbert-tiny")
SEED = 0

TEXTS = [
    "a photo of a cat",
    "Two dogs, running!",
    "",
    "the quick brown fox jumps over the lazy dog",
    "it's twelve o'clock",
]

# As make_st_siglip_fixture.py: shapes Pillow 13 and 9.4 (which tandem follows) resize alike.
IMAGES = [
    "models/st-clip-tiny/inputs/img0_rgb_30x30.png",
    "models/st-clip-tiny/inputs/img1_rgb_52x38.png",
    "images/camera_gray.png",
    "images/coffee_tiny_17x9.png",
    "images/rocket.jpg",
]

IMAGE_ONLY = {"image": {"method": "get_image_features", "method_output_name": "pooler_output"}}


def perturb(model, seed):
    """Weights N(0, 0.2^2), biases N(0, 0.1^2), norm weights 1 + N(0, 0.1^2): far from HF's
    init, so a parameter read or applied wrongly shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "norm" in name:
                p.copy_(1 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "data")
    images = [Image.open(os.path.join(data, p)).convert("RGB") for p in IMAGES]
    shutil.rmtree(OUT, ignore_errors=True)
    with tempfile.TemporaryDirectory() as work:
        torch.manual_seed(SEED)
        tok = AutoTokenizer.from_pretrained(TOKENIZER, model_max_length=32)
        bert = BertModel(BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                    intermediate_size=32, max_position_embeddings=32))
        perturb(bert, SEED)
        bert.save_pretrained(os.path.join(work, "bert"))
        tok.save_pretrained(os.path.join(work, "bert"))
        clip = CLIPModel(CLIPConfig(
            text_config=dict(vocab_size=16, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                             num_attention_heads=2, max_position_embeddings=8, bos_token_id=0, eos_token_id=2),
            vision_config=dict(hidden_size=8, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
                               image_size=16, patch_size=4),
            projection_dim=12))
        perturb(clip, SEED + 1)
        clip.save_pretrained(os.path.join(work, "clip"))
        CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}).save_pretrained(
            os.path.join(work, "clip"))

        text = Transformer(os.path.join(work, "bert"))
        dense = Dense(16, 12)
        perturb(dense, SEED + 2)
        image = Transformer(os.path.join(work, "clip"), modality_config=IMAGE_ONLY,
                            module_output_name="sentence_embedding")
        router = Router(sub_modules={"text": [text, Pooling(16, "mean"), dense], "image": [image]})
        SentenceTransformer(modules=[router], device="cpu").save(OUT)

        st = SentenceTransformer(OUT, device="cpu", processor_kwargs={"backend": "pil"})
        texts = st.encode(TEXTS, convert_to_numpy=True)
        pil = st.encode(images, convert_to_numpy=True)
        default = SentenceTransformer(OUT, device="cpu").encode(images, convert_to_numpy=True)

    expected = os.path.join(OUT, "expected")
    os.makedirs(expected)
    np.save(os.path.join(expected, "text_embeddings.npy"), texts)
    np.save(os.path.join(expected, "image_embeddings.npy"), pil)
    manifest = {
        "what": "sentence-transformers SentenceTransformer.save of a Router: a tiny random BERT + mean Pooling "
                "+ Dense text route, a tiny random CLIPModel image route",
        "parameters": sum(p.numel() for p in st.parameters()),
        "seed": SEED,
        "texts": TEXTS,
        "images": IMAGES,
        "images_relative_to": "the shared test data ($TANDEM_TEST_DATA)",
        "torchvision_image_processor_differs_by": float(np.abs(default - pil).max() / np.abs(pil).max()),
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
