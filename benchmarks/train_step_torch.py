"""The training steps of benchmarks/train_step.cpp as a plain PyTorch loop.

transformers' CLIPModel built from the folder's config.json (random init), the folder's
tokenizer (AutoTokenizer over its tokenizer.json) and CLIPImageProcessor applied inside the
timed loop to the same captions and uint8 pixels as the C++ side, MultipleNegativesRankingLoss
as sentence-transformers computes it for (anchor = caption, positive = image): cross-entropy
over 20 * cos_sim(captions, images) with the diagonal as targets; then gradient clipping at
1.0, AdamW (lr 5e-5, no weight decay) and a linear decay, as the trainers do.
Prints "versions ..." and one line "torch MODEL BATCH STEPS_PER_S" per batch.
usage: train_step_torch.py FOLDER MODEL BATCHES WARMUP STEPS THREADS   (BATCHES: 32,128)
"""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]


def caption(row):
    """Template row % 5, class (row // 5) % 10: the captions of train_step.cpp."""
    c = CLASSES[row // 5 % 10]
    a = "an" if c == "ankle boot" else "a"
    return [f"a photo of {a} {c}", f"a picture of {a} {c}", f"an image of {a} {c}", f"a photo of the {c}",
            f"a drawing of {a} {c}"][row % 5]


def image(row, side, channels):
    """The 32-bit integer hash of train_step.cpp's pixel(), as a PIL image (L or RGB)."""
    n = side * side * channels
    with np.errstate(over="ignore"):
        x = np.arange(n, dtype=np.uint32) + np.uint32((row * n + 12345) % 2**32)
        for _ in range(2):
            x ^= x >> np.uint32(16)
            x *= np.uint32(0x45D9F3B)
        x ^= x >> np.uint32(16)
    pixels = (x & np.uint32(255)).astype(np.uint8).reshape(side, side, channels)
    return Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)


def rows(model, count):
    side, channels = (28, 1) if model == "tiny" else (256, 3)
    return [caption(r) for r in range(count)], [image(r, side, channels) for r in range(count)]


def parse_args():
    folder, model, batches, warmup, steps, threads = sys.argv[1:7]
    return folder, model, [int(b) for b in batches.split(",")], int(warmup), int(steps), int(threads)


def versions():
    import sentence_transformers
    import transformers

    return (f"versions torch {torch.__version__}, transformers {transformers.__version__}, "
            f"sentence-transformers {sentence_transformers.__version__}")


def features(output):
    """get_*_features give a tensor, or in newer transformers an output with pooler_output."""
    return output if torch.is_tensor(output) else output.pooler_output


def main():
    from transformers import AutoTokenizer, CLIPConfig, CLIPImageProcessor, CLIPModel

    folder, name, batches, warmup, steps, threads = parse_args()
    torch.set_num_threads(threads)
    print(versions(), flush=True)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    processor = CLIPImageProcessor.from_pretrained(folder)
    print(f"tokenizer {type(tokenizer).__name__}, image processor {type(processor).__name__}", file=sys.stderr)
    for batch in batches:
        torch.manual_seed(0)
        model = CLIPModel(CLIPConfig.from_pretrained(folder))
        model.train()
        total = warmup + steps
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.0)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (total - s) / total))
        captions, images = rows(name, batch * total)
        order = torch.randperm(batch * total, generator=torch.Generator().manual_seed(42)).tolist()
        labels = torch.arange(batch)
        ends = []
        for step in range(total):
            picked = order[step * batch:(step + 1) * batch]
            text = tokenizer([captions[i] for i in picked], padding=True, truncation=True, return_tensors="pt")
            pixels = processor(images=[images[i] for i in picked], return_tensors="pt").pixel_values
            anchors = F.normalize(features(model.get_text_features(**text)), dim=-1)
            positives = F.normalize(features(model.get_image_features(pixel_values=pixels)), dim=-1)
            loss = F.cross_entropy(20.0 * anchors @ positives.T, labels)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            ends.append(time.perf_counter())
        print(f"torch {name} {batch} {steps / (ends[-1] - ends[warmup - 1]):.6f}", flush=True)
        del model, optimizer


if __name__ == "__main__":
    main()
