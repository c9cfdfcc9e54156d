"""Companion of benchmarks/image.cpp: makes the benchmark photos and times the same
work with PIL + torchvision (what OpenAI / open_clip `preprocess` runs).

  image_pil.py make DIR [--count 256]      write DIR/photo_XXX.jpg, about 640x480, from the shared photos
  image_pil.py run DIR --threads N         decode + Resize(224, BICUBIC) + CenterCrop + ToTensor + Normalize,
                                           prints "images_per_second X" and "cpu_ms_per_image Y"
                                           (best of --repeat runs)
"""
import argparse
import glob
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def make(directory, count, source):
    from PIL import Image

    os.makedirs(directory, exist_ok=True)
    photos = [Image.open(p).convert("RGB") for p in sorted(glob.glob(os.path.join(source, "*.jpg")))
              + sorted(glob.glob(os.path.join(source, "*.png"))) if "tiny" not in p and "wide" not in p]
    rng = random.Random(0)
    for i in range(count):
        im = photos[i % len(photos)]
        # A random 3:4-ish crop of the source, resized to about 640x480 and re-encoded.
        w, h = im.size
        cw, ch = rng.randint(w * 2 // 3, w), rng.randint(h * 2 // 3, h)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        size = (640, 480) if rng.random() < 0.7 else (480, 640)
        im.crop((x, y, x + cw, y + ch)).resize(size, Image.BICUBIC).save(
            os.path.join(directory, "photo_%03d.jpg" % i), quality=90)


def run(directory, threads, repeat):
    import torch
    from PIL import Image
    from torchvision import transforms

    torch.set_num_threads(1)  # parallelism comes from the worker threads, one image each
    t = transforms.Compose([
        transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])
    paths = sorted(glob.glob(os.path.join(directory, "*.jpg")))

    def one(p):
        with Image.open(p) as im:
            return t(im.convert("RGB"))

    best, best_cpu = float("inf"), float("inf")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, paths[:16]))  # warm-up
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            batch = torch.stack(list(pool.map(one, paths)))
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
    assert batch.shape == (len(paths), 3, 224, 224)
    print("images_per_second %.1f" % (len(paths) / best))
    print("cpu_ms_per_image %.3f" % (1000 * best_cpu / len(paths)))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["make", "run"])
    ap.add_argument("directory")
    ap.add_argument("--count", type=int, default=256)
    ap.add_argument("--source", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    if a.command == "make":
        make(a.directory, a.count, a.source)
    else:
        run(a.directory, a.threads, a.repeat)
