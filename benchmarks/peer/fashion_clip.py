"""`tandem demo fashion-mnist` as a plain PyTorch program, for the demo's speed comparison.

The same work as the demo run it is given (its output folder DEMO_DIR): the demo's training
subset and captions (DEMO_DIR/training/train_subset.json), its word-level tokenizer and its
model configuration (DEMO_DIR/model), trained from transformers' own random initialisation
with the same hyperparameters: CLIPLoss (transformers' CLIPModel loss: symmetric
cross-entropy over logit_scale.exp() * cosine similarities), batch 128 of a fresh random
permutation each epoch (the last, short batch kept), AdamW (lr 5e-4, weight decay 0.01 on
all but biases, norms and logit_scale), linear warm-up then linear decay, gradient clipping
at 1.0, logit_scale clamped to [0, log 100] after each step as the demo does. Images are
decoded, scaled and normalised once before the clock starts (the demo's loader does that
work inside its timed loop); tokenisation is done once too.

Evaluation is the demo's: zero-shot accuracy over the ten "a photo of {a} {class}"
prompts, image->text recall@1 over the 50 prompts, text->image recall@1/5/10.
Prints one JSON object: the metrics and train_seconds, step_ms_median and versions.

usage: fashion_clip.py DEMO_DIR [--data DIR] [--threads T] [--seed S] [--steps N] [--batch-size N]
"""
import argparse
import gzip
import json
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
TEMPLATES = ["a photo of {a} {c}", "a picture of {a} {c}", "an image of {a} {c}", "a photo of the {c}",
             "a drawing of {a} {c}"]
MEAN, STD = 0.2860, 0.3530


def caption(t, c):
    name = CLASSES[c]
    return TEMPLATES[t].format(a="an" if name[0] in "aeiou" else "a", c=name)


def prompts():
    """Template-major, as the demo: prompt t * 10 + c is template t of class c."""
    return [caption(t, c) for t in range(len(TEMPLATES)) for c in range(len(CLASSES))]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def split(data, name):
    def find(stem):
        for p in (os.path.join(data, stem), os.path.join(data, stem + ".gz")):
            if os.path.exists(p):
                return p
        raise SystemExit(f"{os.path.join(data, stem)}[.gz]: not found")

    return read_idx(find(f"{name}-images-idx3-ubyte")), read_idx(find(f"{name}-labels-idx1-ubyte"))


def pixels(images):
    """uint8 [n, 28, 28] -> normalised float [n, 3, 28, 28], grey replicated to RGB."""
    x = (torch.from_numpy(images.copy()).float() / 255.0 - MEAN) / STD
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def tokenize(tokenizer, texts, context):
    out = tokenizer(texts, padding="longest", truncation=True, max_length=context, return_tensors="pt")
    return out["input_ids"], out["attention_mask"]


def features(output):
    """get_*_features give a tensor, or in newer transformers an output with pooler_output."""
    return output if torch.is_tensor(output) else output.pooler_output


@torch.no_grad()
def embed_images(model, x, chunk=500):
    parts = [features(model.get_image_features(pixel_values=x[i:i + chunk])) for i in range(0, len(x), chunk)]
    return F.normalize(torch.cat(parts), dim=-1)


@torch.no_grad()
def embed_texts(model, tokenizer, texts, context):
    ids, mask = tokenize(tokenizer, texts, context)
    return F.normalize(features(model.get_text_features(input_ids=ids, attention_mask=mask)), dim=-1)


def evaluate(images, texts, labels):
    sims = images @ texts.T
    n_classes = len(CLASSES)
    zero_shot = (sims[:, :n_classes].argmax(1) == labels).double().mean().item()
    i2t = ((sims.argmax(1) % n_classes) == labels).double().mean().item()
    prompt_class = torch.arange(texts.shape[0]) % n_classes
    ranked = sims.T.argsort(dim=1, descending=True)
    t2i = {}
    for k in (1, 5, 10):
        hit = (labels[ranked[:, :k]] == prompt_class[:, None]).any(1)
        t2i[k] = hit.double().mean().item()
    return {"zero_shot_accuracy": zero_shot, "i2t_recall@1": i2t, "t2i_recall@1": t2i[1],
            "t2i_recall@5": t2i[5], "t2i_recall@10": t2i[10]}


def main():
    import transformers
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

    p = argparse.ArgumentParser()
    p.add_argument("demo_dir")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-size", type=int, help="checked against the demo's subset, which decides it")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    with open(os.path.join(a.demo_dir, "training", "train_subset.json")) as f:
        subset = json.load(f)
    train_x, train_y = split(a.data, "train")
    test_x, test_y = split(a.data, "t10k")
    rows = np.asarray(subset["rows"])
    if a.train_size is not None and a.train_size != len(rows):
        raise SystemExit(f"--train-size {a.train_size}, but the demo trained on {len(rows)} rows")
    captions = [caption(t, int(train_y[r])) for r, t in zip(rows, subset["templates"])]
    model_dir = os.path.join(a.demo_dir, "model")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"),
                                        pad_token="<|endoftext|>")
    config = CLIPConfig.from_pretrained(model_dir)
    context = config.text_config.max_position_embeddings
    model = CLIPModel(config)
    model.train()

    x = pixels(train_x[rows])
    ids, mask = tokenize(tokenizer, captions, context)
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n.lower()
                or n == "logit_scale"]
    decay = [p for n, p in model.named_parameters() if not any(p is q for q in no_decay)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=5e-4)
    warmup = min(100, a.steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (a.steps - s) / max(1, a.steps - warmup)))

    step_ms, losses = [], []
    step, n = 0, len(rows)
    start = time.perf_counter()
    while step < a.steps:
        order = torch.randperm(n)
        for begin in range(0, n, a.batch_size):
            if step == a.steps:
                break
            t0 = time.perf_counter()
            b = order[begin:begin + a.batch_size]
            width = int(mask[b].sum(1).max())
            out = model(input_ids=ids[b, :width], attention_mask=mask[b, :width], pixel_values=x[b],
                        return_loss=True)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            losses.append(out.loss.item())
            step += 1
            step_ms.append((time.perf_counter() - t0) * 1e3)
    train_seconds = time.perf_counter() - start

    model.eval()
    metrics = evaluate(embed_images(model, pixels(test_x)), embed_texts(model, tokenizer, prompts(), context),
                       torch.from_numpy(test_y.astype(np.int64)))
    metrics.update({"train_seconds": train_seconds, "steps": step, "step_ms_median": statistics.median(step_ms),
                    "images_per_second": step * a.batch_size / train_seconds, "threads": a.threads,
                    "seed": a.seed, "final_loss": losses[-1],
                    "versions": f"torch {torch.__version__}, transformers {transformers.__version__}"})
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
