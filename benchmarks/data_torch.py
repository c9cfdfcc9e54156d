"""Companion of benchmarks/data.cpp: the same loading work with PyTorch's DataLoader and
torchvision transforms, in the venv benchmarks/setup_venv.sh makes.

  data_torch.py PHOTO_DIR IDX_IMAGES THREADS [--repeat 3]

clip_jpeg: Image.open(p).convert("RGB"), Resize(224, BICUBIC), CenterCrop(224), ToTensor,
Normalize (CLIP's mean and std), batches of 32. tiny_idx: Fashion-MNIST images from the
IDX file as FashionMNIST does (Image.fromarray of the 28x28 array), convert("RGB"),
Resize(30, BICUBIC), CenterCrop(30), ToTensor, Normalize, batches of 256. Both shuffle
with a seeded generator and use THREADS worker processes (persistent, one torch thread
each); prints "NAME images_per_second X cpu_ms_per_image Y", the best of --repeat epochs
after a warm-up, where the CPU time adds the main process and every worker process
(from /proc), so that it shows the work apart from waiting on a shared machine.
"""
import argparse
import glob
import gzip
import os
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def clip_transform(size):
    return transforms.Compose([
        transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])


class Photos(Dataset):
    def __init__(self, directory):
        self.paths = sorted(glob.glob(os.path.join(directory, "*.jpg")))
        self.t = clip_transform(224)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            return self.t(im.convert("RGB")), 0


class Idx(Dataset):
    def __init__(self, path):
        raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
        n, h, w = (int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(3))
        self.images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w)
        self.t = clip_transform(30)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.t(Image.fromarray(self.images[i]).convert("RGB")), 0


def one_thread(_):
    torch.set_num_threads(1)


def cpu_seconds(pids):
    """CPU time of this process and of the processes `pids` (user + system)."""
    total = time.process_time()
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def best_rate(dataset, batch_size, threads, repeat):
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=threads,
                        persistent_workers=True, generator=torch.Generator().manual_seed(0),
                        worker_init_fn=one_thread)
    best, best_cpu, pids = float("inf"), float("inf"), []
    for epoch in range(repeat + 1):
        start, start_cpu, n = time.perf_counter(), cpu_seconds(pids), 0
        for x, _ in loader:
            n += x.shape[0]
        if epoch > 0:  # the first epoch starts the workers
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, cpu_seconds(pids) - start_cpu)
        pids = [w.pid for w in loader._iterator._workers]
    assert n == len(dataset)
    return "images_per_second %.1f cpu_ms_per_image %.4f" % (len(dataset) / best, 1000 * best_cpu / len(dataset))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("photos")
    ap.add_argument("idx_images")
    ap.add_argument("threads", type=int)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    import torchvision
    print("versions torch %s torchvision %s pillow %s" % (torch.__version__, torchvision.__version__,
                                                          Image.__version__), flush=True)
    print("clip_jpeg", best_rate(Photos(a.photos), 32, a.threads, a.repeat), flush=True)
    print("tiny_idx", best_rate(Idx(a.idx_images), 256, a.threads, a.repeat), flush=True)
