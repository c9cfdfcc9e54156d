#!/usr/bin/env python3
"""Builds tiny random DistilBERT, RoBERTa, XLM-RoBERTa and MPNet checkpoints with
transformers 5.25 and writes each as a Hugging Face folder with a tiny tokenizer of its
family and the reference outputs and gradients of a fixed test loss:

  fixtures/<name>/config.json, model.safetensors   save_pretrained (float32)
  fixtures/<name>/config_defaults.json             the family's default config, every key
  fixtures/<name>/tokenizer.json, ...              the tokenizer's save_pretrained
  fixtures/<name>/legacy_tokenizer/                the same vocabulary in the files older
                                                   folders carry (vocab.txt, vocab.json +
                                                   merges.txt), where the family has them
  fixtures/<name>/tokenizer_cases.json             texts (and pairs) with the ids the Python
                                                   tokenizer gives them
  fixtures/<name>/inputs/                          input_ids, attention_mask (int64, made by
                                                   the tokenizer, padded right), loss probes
  fixtures/<name>/expected/f64, f32/               last_hidden_state, pooler_output (where
                                                   the model has a pooler), loss, mean_pooled
                                                   (sentence-transformers' mean Pooling of
                                                   last_hidden_state); f64 also hidden_states
                                                   [layers + 1, batch, tokens, dim]
  fixtures/<name>/grads_f64.safetensors, grads_f32.safetensors
                                                   d loss / d parameter, every parameter,
                                                   under its Hugging Face name
  fixtures/<name>/manifest.json                    sizes, seeds, and how far transformers'
                                                   own float32 run is from the float64 one
  fixtures/mpnet-tiny/expected/relative_position_buckets.npy
                                                   MPNetEncoder.relative_position_bucket of
                                                   the relative positions -600..600

The loss is sum(last_hidden_state * probe) (+ sum(pooler_output * pooler_probe)) over
every position, padding included, so the rows nn.Embedding(padding_idx=...) never
updates are exercised; the probes are fixed random tensors with the signs of the
float64 outputs (see make_probes). The f64 run is the float32 checkpoint upcast (exact)
and run in float64; both runs are eval mode with eager attention.

usage: python3 tests/reference/make_text_tower_fixtures.py   (transformers 5.25, tokenizers, torch)
"""
import json
import os
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (AutoTokenizer, DistilBertConfig, DistilBertModel, DistilBertTokenizer, MPNetConfig, MPNetModel,
                          MPNetTokenizer, RobertaConfig, RobertaModel, RobertaTokenizer, XLMRobertaConfig,
                          XLMRobertaModel, XLMRobertaTokenizer)
from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a small model reads short sentences",
    "towers encode text into vectors",
    "the dog sleeps while the fox runs",
    "vectors of similar sentences lie close",
    "short texts and long texts are padded",
    "caf\u00e9 cr\u00e8me and na\u00efve r\u00e9sum\u00e9 words",
    "models learn from many examples",
]

# The batch every model reads: four texts of different lengths, so three rows are padded.
TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "a small model",
    "towers encode text",
    "short texts are padded",
]

# What the tokenizer test encodes: unseen words, punctuation, case, accents, a pair.
CASES = [
    "the lazy fox",
    "Towers ENCODE texts, quickly!",
    "caf\u00e9 r\u00e9sum\u00e9 na\u00efve",
    "unseen words like zebra and quartz",
    "  spaces   between words  ",
    ("a small model", "reads short sentences"),
]

SIZES = dict(hidden=32, layers=2, heads=4, intermediate=37, positions=48)


def wordpiece_vocab(specials):
    """100 WordPiece tokens: the specials, the letters as words and as ##pieces, and words."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = list(specials) + letters + ["##" + c for c in letters] + [".", ",", "!", "?", "'"]
    words = sorted({w for line in CORPUS for w in line.split() if w.isascii()})
    for w in words:
        if len(vocab) == 100:
            break
        if w not in vocab:
            vocab.append(w)
    return {t: i for i, t in enumerate(vocab)}


def distilbert_tokenizer():
    return DistilBertTokenizer(vocab=wordpiece_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))


def mpnet_tokenizer():
    return MPNetTokenizer(vocab=wordpiece_vocab(["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]))


def roberta_tokenizer():
    """Byte-level BPE trained on CORPUS: its alphabet is the corpus' bytes, not all 256."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                                  show_progress=False)
    bpe.train_from_iterator(CORPUS, trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return RobertaTokenizer(vocab=model["vocab"], merges=merges)


def xlm_roberta_tokenizer():
    """A SentencePiece Unigram vocabulary in XLM-R's pipeline: every corpus word as a
    "▁word" piece, a few suffixes and every corpus character, with log-probabilities
    that favour whole words, so Viterbi has real choices (no precompiled charsmap:
    sentencepiece itself is not used). Characters outside the corpus are <unk>."""
    words = sorted({w for line in CORPUS for w in line.split()})
    chars = sorted({c for line in CORPUS for c in line if c != " "})
    pieces = [("\u2581" + w, -2.0 - 0.05 * i) for i, w in enumerate(words)]
    pieces += [(p, -6.0 - 0.1 * i) for i, p in enumerate(["\u2581", "s", "ed", "er", "ly", "ing", "en"])]
    known = {piece for piece, _ in pieces}
    pieces += [(c, -9.0 - 0.01 * i) for i, c in enumerate(chars) if c not in known]
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    return XLMRobertaTokenizer(vocab=specials + pieces + [("<mask>", 0.0)])


def perturb(model, seed):
    """Weights N(0, 0.2^2), biases N(0, 0.1^2), LayerNorm weights 1 + N(0, 0.1^2): far
    from HF's init (small weights, zero biases, unit norms, zeroed padding rows), so a
    parameter read or applied wrongly changes the result."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_(1 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            elif name.endswith("bias") and p.dim() == 1:
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def save_grads(path, model):
    save_file({n: (p.grad if p.grad is not None else torch.zeros_like(p)).contiguous()
               for n, p in model.named_parameters()}, path, metadata={"format": "pt"})


def run(model_class, folder, dtype, inputs, probes):
    model = model_class.from_pretrained(folder, dtype=dtype, attn_implementation="eager")
    model.eval()
    out = model(input_ids=torch.from_numpy(inputs["input_ids"]),
                attention_mask=torch.from_numpy(inputs["attention_mask"]), output_hidden_states=True)
    loss = (out.last_hidden_state * torch.from_numpy(probes["loss_probe"]).to(dtype)).sum()
    pooler = getattr(out, "pooler_output", None)
    if pooler is not None:
        loss = loss + (pooler * torch.from_numpy(probes["loss_probe_pooler"]).to(dtype)).sum()
    loss.backward()
    # sentence-transformers' mean Pooling of the same states.
    mask = torch.from_numpy(inputs["attention_mask"]).unsqueeze(-1).to(dtype)
    mean_pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    results = {"last_hidden_state": out.last_hidden_state, "loss": loss, "mean_pooled": mean_pooled,
               "hidden_states": torch.stack(out.hidden_states)}
    if pooler is not None:
        results["pooler_output"] = pooler
    return model, {k: v.detach().numpy() for k, v in results.items()}


def make_probes(model_class, folder, inputs, seed):
    """Random magnitudes in [0.5, 1.5) with the signs of the float64 outputs, so every
    term of the loss is positive: its float32 error is that of the outputs, not one
    amplified by cancellation in the sum."""
    model = model_class.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(inputs["input_ids"]),
                    attention_mask=torch.from_numpy(inputs["attention_mask"]))
    g = torch.Generator().manual_seed(seed)
    signed = lambda x: (torch.sign(x) * (0.5 + torch.rand(x.shape, generator=g, dtype=torch.float64)))
    probes = {"loss_probe": signed(out.last_hidden_state)}
    if getattr(out, "pooler_output", None) is not None:
        probes["loss_probe_pooler"] = signed(out.pooler_output)
    return {k: v.numpy().astype(np.float32) for k, v in probes.items()}


def relative(a, b):
    return float(np.linalg.norm(a.astype(np.float64) - b) / max(np.linalg.norm(b), 1e-300))


def make(name, model_class, config, tokenizer, seed, legacy_files):
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    for sub in ("inputs", "expected/f64", "expected/f32"):
        os.makedirs(os.path.join(folder, sub))
    torch.manual_seed(seed)
    model = model_class(config)
    perturb(model, seed)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # Every key of a default-constructed config: what an absent key means.
    with open(os.path.join(folder, "config_defaults.json"), "w") as f:
        json.dump(type(config)().to_dict(), f, indent=2, sort_keys=True)
        f.write("\n")

    # The same vocabulary in the older per-family files, without tokenizer.json.
    if legacy_files:
        legacy = os.path.join(folder, "legacy_tokenizer")
        os.makedirs(legacy)
        write_legacy(tokenizer, legacy, legacy_files)

    cases = []
    for case in CASES:
        ids = tokenizer(*case)["input_ids"] if isinstance(case, tuple) else tokenizer(case)["input_ids"]
        cases.append({"text": case[0], "pair": case[1], "ids": ids} if isinstance(case, tuple)
                     else {"text": case, "ids": ids})
    # transformers reads the older files into a tokenizer that agrees on every case.
    if legacy_files:
        again = AutoTokenizer.from_pretrained(legacy)
        for c in cases:
            ids = again(c["text"], c["pair"]) if "pair" in c else again(c["text"])
            assert ids["input_ids"] == c["ids"], (name, c)
    with open(os.path.join(folder, "tokenizer_cases.json"), "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")

    batch = tokenizer(TEXTS, padding=True, return_tensors="np")
    inputs = {"input_ids": batch["input_ids"].astype(np.int64),
              "attention_mask": batch["attention_mask"].astype(np.int64)}
    b, t = inputs["input_ids"].shape
    probes = make_probes(model_class, folder, inputs, seed + 1)
    for key, value in {**inputs, **probes}.items():
        np.save(os.path.join(folder, "inputs", key + ".npy"), value)

    m64, e64 = run(model_class, folder, torch.float64, inputs, probes)
    m32, e32 = run(model_class, folder, torch.float32, inputs, probes)
    for key, value in e64.items():
        np.save(os.path.join(folder, "expected", "f64", key + ".npy"), value)
    for key, value in e32.items():
        if key != "hidden_states":
            np.save(os.path.join(folder, "expected", "f32", key + ".npy"), value)
    save_grads(os.path.join(folder, "grads_f64.safetensors"), m64)
    save_grads(os.path.join(folder, "grads_f32.safetensors"), m32)

    # Per tensor: ||f32 - f64|| / ||f64||, or max |f32| where the f64 gradient is zero up to
    # rounding (the key biases, which softmax cancels).
    grads32 = dict(m32.named_parameters())
    grad_errors, zero_errors = {}, {}
    for n, p in m64.named_parameters():
        ours = grads32[n].grad.numpy()
        if p.grad.abs().max() < 1e-12:
            zero_errors[n] = float(np.abs(ours).max())
        else:
            grad_errors[n] = relative(ours, p.grad.numpy())
    manifest = {
        "model": model_class.__name__,
        "seed": seed,
        "parameters": sum(p.numel() for p in m64.parameters()),
        "texts": TEXTS,
        "input_shape": [b, t],
        "loss": "sum(last_hidden_state * loss_probe)" +
                (" + sum(pooler_output * loss_probe_pooler)" if "pooler_output" in e64 else ""),
        "float32_vs_float64": {
            "outputs": {k: relative(e32[k], v) for k, v in e64.items() if k != "hidden_states"},
            "worst_gradient": max(grad_errors.values()),
            "largest_zero_reference_gradient": max(zero_errors.values(), default=0.0),
        },
    }
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return folder


def write_legacy(tokenizer, legacy, files):
    """vocab.txt (WordPiece) or vocab.json + merges.txt (byte-level BPE), and the
    tokenizer_config.json naming the special tokens, as the slow tokenizers saved them."""
    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    if "vocab.txt" in files:
        vocab = sorted(model["vocab"].items(), key=lambda kv: kv[1])
        with open(os.path.join(legacy, "vocab.txt"), "w") as f:
            f.write("".join(token + "\n" for token, _ in vocab))
    if "merges.txt" in files:
        with open(os.path.join(legacy, "vocab.json"), "w") as f:
            json.dump(model["vocab"], f, ensure_ascii=False)
        with open(os.path.join(legacy, "merges.txt"), "w") as f:
            f.write("#version: 0.2\n")
            f.write("".join((" ".join(m) if isinstance(m, list) else m) + "\n" for m in model["merges"]))
    shutil.copy(os.path.join(os.path.dirname(legacy), "tokenizer_config.json"), legacy)


def make_relative_buckets(folder):
    relative_position = torch.arange(-600, 601)
    buckets = MPNetEncoder.relative_position_bucket(relative_position)
    np.save(os.path.join(folder, "expected", "relative_position_buckets.npy"), buckets.numpy().astype(np.int64))


def main():
    s = SIZES
    tok = distilbert_tokenizer()
    make("distilbert-tiny", DistilBertModel,
         DistilBertConfig(vocab_size=len(tok), dim=s["hidden"], n_layers=s["layers"], n_heads=s["heads"],
                          hidden_dim=s["intermediate"], max_position_embeddings=s["positions"],
                          pad_token_id=tok.pad_token_id),
         tok, 31, ["vocab.txt"])

    tok = roberta_tokenizer()
    make("roberta-tiny", RobertaModel,
         RobertaConfig(vocab_size=len(tok), hidden_size=s["hidden"], num_hidden_layers=s["layers"],
                       num_attention_heads=s["heads"], intermediate_size=s["intermediate"],
                       max_position_embeddings=s["positions"], type_vocab_size=1, layer_norm_eps=1e-5,
                       pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                       eos_token_id=tok.eos_token_id),
         tok, 32, ["vocab.json", "merges.txt"])

    tok = xlm_roberta_tokenizer()
    make("xlm-roberta-tiny", XLMRobertaModel,
         XLMRobertaConfig(vocab_size=len(tok), hidden_size=s["hidden"], num_hidden_layers=s["layers"],
                          num_attention_heads=s["heads"], intermediate_size=s["intermediate"],
                          max_position_embeddings=s["positions"], type_vocab_size=1, layer_norm_eps=1e-5,
                          hidden_act="gelu_new", pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                          eos_token_id=tok.eos_token_id),
         tok, 33, [])

    tok = mpnet_tokenizer()
    folder = make("mpnet-tiny", MPNetModel,
                  MPNetConfig(vocab_size=len(tok), hidden_size=s["hidden"], num_hidden_layers=s["layers"],
                              num_attention_heads=s["heads"], intermediate_size=s["intermediate"],
                              max_position_embeddings=s["positions"], layer_norm_eps=1e-5,
                              pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                              eos_token_id=tok.eos_token_id),
                  tok, 34, ["vocab.txt"])
    make_relative_buckets(folder)


if __name__ == "__main__":
    main()
