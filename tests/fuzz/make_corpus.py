#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into OUT/<target>/.

Seeds come from the reference data (TANDEM_TEST_DATA, default ../shared/data beside
the source root), cut down to a few kilobytes so that each execution stays fast, from
the image fixtures of the unit tests, and from hand-made edge cases. Nothing here is
committed: the corpus is made at fuzz time.

Usage: make_corpus.py OUT
"""

import hashlib
import json
import os
import re
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("TANDEM_TEST_DATA", ROOT.parent / "shared" / "data"))


def put(out, target, data):
    if isinstance(data, str):
        data = data.encode()
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def texts():
    """A few reference strings of every category, plus edge cases."""
    out = ["", " ", "a photo of a cat", "Hello, WORLD!  don't", "naïve café", "日本語のテキスト",
           "🙂 emoji", "\u0301combining", "[CLS] [SEP] <|endoftext|>", "x" * 300]
    for name in ("clip-vit-base-patch32", "bert-base-uncased", "t5-small"):
        path = DATA / "tokenizers" / name / "reference_public.jsonl"
        if not path.exists():
            continue
        seen = set()
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line:
                continue
            row = json.loads(line)
            if row["category"] not in seen and len(row["text"]) < 200:
                seen.add(row["category"])
                out.append(row["text"])
    return out


def shrink_tokenizer(tok, keep):
    """The same pipeline over the first `keep` ids, so that a real file seeds in kilobytes."""
    model = tok["model"]
    kept_ids = set(range(keep))
    if isinstance(model.get("vocab"), dict):
        model["vocab"] = {t: i for t, i in model["vocab"].items() if i < keep}
        if "merges" in model:
            vocab = model["vocab"]
            merges = []
            for m in model["merges"]:
                a, b = m.split(" ", 1) if isinstance(m, str) else m
                if a in vocab and b in vocab and a + b in vocab:
                    merges.append(m)
            model["merges"] = merges[:200]
    elif isinstance(model.get("vocab"), list):
        model["vocab"] = model["vocab"][:keep]
        if model.get("unk_id") is not None and model["unk_id"] >= keep:
            model["unk_id"] = 0
    tok["added_tokens"] = [t for t in tok.get("added_tokens", []) if t["id"] in kept_ids][:8]
    return tok


def tokenizer_json(out):
    samples = texts()
    files = []
    for name, keep in (("clip-vit-base-patch32", 400), ("bert-base-uncased", 1200), ("t5-small", 300)):
        path = DATA / "tokenizers" / name / "tokenizer.json"
        if path.exists():
            files.append(json.dumps(shrink_tokenizer(json.loads(path.read_text(encoding="utf-8")), keep)))
    word_level = {"model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "a": 1, "b": 2}, "unk_token": "[UNK]"},
                  "pre_tokenizer": {"type": "Whitespace"},
                  "padding": {"strategy": {"Fixed": 8}, "direction": "Left", "pad_to_multiple_of": 4, "pad_id": 0,
                              "pad_type_id": 0, "pad_token": "[UNK]"},
                  "truncation": {"max_length": 6, "stride": 2, "strategy": "OnlyFirst", "direction": "Right"}}
    word_piece = {"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "un": 3, "##aff": 4,
                                                             "##able": 5}, "max_input_chars_per_word": 100},
                  "normalizer": {"type": "BertNormalizer", "lowercase": True, "strip_accents": None},
                  "pre_tokenizer": {"type": "BertPreTokenizer"},
                  "post_processor": {"type": "TemplateProcessing",
                                     "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                                {"Sequence": {"id": "A", "type_id": 0}},
                                                {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                                     "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                              {"Sequence": {"id": "B", "type_id": 1}}],
                                     "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]},
                                                        "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}}},
                  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
                  "added_tokens": [{"id": 1, "content": "[CLS]", "special": True, "single_word": False,
                                    "lstrip": False, "rstrip": False, "normalized": False}]}
    bpe = {"model": {"type": "BPE", "dropout": None, "vocab": {"a": 0, "b": 1, "ab": 2, "<unk>": 3},
                     "merges": ["a b"], "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": False},
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "use_regex": True},
           "post_processor": {"type": "RobertaProcessing", "cls": ["a", 0], "sep": ["b", 1]},
           "decoder": {"type": "ByteLevel"}}
    unigram = {"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["\u2581a", -1.0], ["b", -2.5]],
                         "byte_fallback": True},
               "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
               "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first"},
               "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"}}
    files += [json.dumps(x) for x in (word_level, word_piece, bpe, unigram)]
    for i, f in enumerate(files):
        for t in samples[i % 5::5][: 2 if len(f) > 100000 else 6]:
            put(out, "tokenizer_json", f.encode() + b"\0" + t.encode("utf-8", "surrogatepass"))
        put(out, "tokenizer_json", f.encode() + b"\0not UTF-8: \xff\xfe\xc3")
    put(out, "tokenizer_json", b'{"model": {"type": "WordLevel", "vocab": {"a": 4294967295}}}\0a')
    put(out, "tokenizer_json", b"\0")


def tokenizer_files(out):
    clip = DATA / "tokenizers" / "clip-vit-base-patch32"
    bert = DATA / "tokenizers" / "bert-base-uncased"
    if (clip / "vocab.json").exists():
        vocab = {t: i for t, i in json.loads((clip / "vocab.json").read_text(encoding="utf-8")).items() if i < 400}
        vocab.update({"<|startoftext|>": 400, "<|endoftext|>": 401})
        merges = (clip / "merges.txt").read_text(encoding="utf-8").splitlines()[:120]
        config = (clip / "tokenizer_config.json").read_bytes()
        put(out, "tokenizer_files", b"\x01" + json.dumps(vocab).encode() + b"\0" + "\n".join(merges).encode() +
            b"\0" + config + b"\0a photo of a cat")
    if (bert / "vocab.txt").exists():
        lines = (bert / "vocab.txt").read_text(encoding="utf-8").splitlines()[:1200]
        config = (bert / "tokenizer_config.json").read_bytes()
        put(out, "tokenizer_files", b"\x00" + "\n".join(lines).encode() + b"\0\0" + config + b"\0Hello there!")
    put(out, "tokenizer_files", b'\x01{"a": 0, "b": 1, "ab": 2}\0#version: 0.2\na b\0{"tokenizer_class": "GPT2"}\0ab')
    put(out, "tokenizer_files", b"\x00[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##s\0\0"
                                b'{"do_lower_case": false, "strip_accents": true}\0Hellos')


def safetensors_bytes(entries, metadata=None):
    """entries: (name, dtype, shape, raw bytes)."""
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(e[3] for e in entries)


def safetensors(out):
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    for path in sorted(DATA.glob("models/*/model.safetensors")):
        raw = path.read_bytes()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        data = raw[8 + n:]
        entries = []
        for name, info in sorted(header.items(), key=lambda kv: kv[0] != "__metadata__" and
                                 (kv[1]["data_offsets"][1] - kv[1]["data_offsets"][0])):
            if name == "__metadata__":
                continue
            b, e = info["data_offsets"]
            if e - b <= 512 and len(entries) < 4:
                entries.append((name, info["dtype"], info["shape"], data[b:e]))
        put(out, "safetensors", safetensors_bytes(entries, header.get("__metadata__")))
    put(out, "safetensors", safetensors_bytes([(f"t_{d}", d, [2, 1], bytes(2 * s)) for d, s in sizes.items()],
                                              {"format": "pt"}))
    put(out, "safetensors", safetensors_bytes([("scalar", "F32", [], struct.pack("<f", 1.5)),
                                               ("empty", "F32", [0, 3], b"")]))
    put(out, "safetensors", struct.pack("<Q", 2) + b"{}")
    put(out, "safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")


def configs(out):
    families = {"clip": 0, "clip_text_model": 1, "clip_vision_model": 2, "siglip": 3, "siglip_text_model": 4,
                "siglip_vision_model": 5, "bert": 6}
    paths = list(DATA.glob("models/*/config.json")) + list(DATA.glob("models/*/*/config.json"))
    paths += list((ROOT / "tests" / "reference" / "fixtures").glob("*/config.json"))
    for path in sorted(paths):
        text = path.read_bytes()
        kind = families.get(json.loads(text).get("model_type"))
        if kind is None:
            continue
        put(out, "config", bytes([kind]) + text)
        if kind in (0, 3):  # the towers of a dual encoder, read from the whole file
            put(out, "config", bytes([kind + 1]) + text)
            put(out, "config", bytes([kind + 2]) + text)
    for kind, model_type in enumerate(families):
        put(out, "config", bytes([kind]) + json.dumps({"model_type": model_type}).encode())
    put(out, "config", b"\x06" + json.dumps({"model_type": "bert", "id2label": {"0": "neg", "1": "pos"},
                                             "classifier_dropout": 0.2, "num_hidden_layers": 2}).encode())


def preprocessor(out):
    for path in sorted(DATA.glob("images/configs/*.json")):
        put(out, "preprocessor_config", path.read_bytes())
    put(out, "preprocessor_config", json.dumps({"image_processor_type": "CLIPImageProcessor", "size": 3,
                                                "crop_size": {"height": 4, "width": 2}, "resample": 1}))
    put(out, "preprocessor_config", json.dumps({"feature_extractor_type": "SiglipImageProcessor",
                                                "size": {"height": 9, "width": 3}, "image_mean": 0.5,
                                                "image_std": [0.2, 0.3, 0.4], "do_rescale": False}))


def png(width, height, color_type, depth, rows, extra=b""):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def images(out):
    fixtures = (ROOT / "tests" / "image" / "decode_fixtures.hpp").read_text()
    for m in re.finditer(r'\{"(\w+)",\s*"[^"]*",\s*\d+,\s*\d+,\s*\{([0-9,\s]+)\}', fixtures):
        put(out, "image", bytes(int(x) for x in m.group(2).replace("\n", " ").split(",") if x.strip()))
    for name in ("coffee_tiny_17x9.png", "rocket_wide_640x40.png"):
        if (DATA / "images" / name).exists():
            put(out, "image", (DATA / "images" / name).read_bytes())
    put(out, "image", png(2, 2, 2, 8, [bytes(6), bytes(range(6))]))
    put(out, "image", png(2, 1, 0, 16, [b"\xff\xff\x01\x00"]))
    put(out, "image", png(3, 1, 3, 8, [b"\x00\x01\x02"], extra=b"\x00\x00\x00\x09PLTE" + bytes(range(9)) + b"\0\0\0\0"))
    put(out, "image", b"P6\n2 1\n255\n" + bytes(range(6)))
    put(out, "image", b"P5\n# comment\n2 2\n65535\n" + bytes(8))
    bmp = bytearray(58)
    bmp[0:2] = b"BM"
    struct.pack_into("<IIIIiiHH", bmp, 2, 58, 0, 54, 40, 1, -1, 1, 24)
    put(out, "image", bytes(bmp))
    put(out, "image", bytes([0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 24, 0, 9, 8, 7]))  # TGA
    for path in sorted((DATA / "images").glob("*.webp")):
        put(out, "image", path.read_bytes())


def main():
    out = Path(sys.argv[1])
    tokenizer_json(out)
    tokenizer_files(out)
    safetensors(out)
    configs(out)
    preprocessor(out)
    images(out)
    for d in sorted(out.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
