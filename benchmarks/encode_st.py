"""The encode calls of benchmarks/encode.cpp through Python's sentence-transformers.

SentenceTransformer(FOLDER) on the same random CLIP ViT-B/32 folder, encode(texts) and
encode(images) with batch_size 32, images opened with PIL inside the timed call (the C++
side decodes them inside its call too). transformers 5 builds the torchvision image
processor by default; the PIL one (backend="pil", what tandem reproduces) is timed too.
Times are the best of REPEATS calls after a warm-up. Prints "versions ..." and lines
"NAME SECONDS".
usage: encode_st.py FOLDER THREADS REPEATS TEXTS_FILE IMAGE...
"""
import sys
import time

import torch


def best(f, repeats):
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    import sentence_transformers
    import transformers
    from PIL import Image
    from sentence_transformers import SentenceTransformer

    folder, threads, repeats, texts_file, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
    torch.set_num_threads(threads)
    print(f"versions torch {torch.__version__}, transformers {transformers.__version__}, "
          f"sentence-transformers {sentence_transformers.__version__}", flush=True)
    texts = open(texts_file, encoding="utf8").read().splitlines()
    for name, kwargs in (("default", {}), ("pil", {"processor_kwargs": {"backend": "pil"}})):
        model = SentenceTransformer(folder, device="cpu", **kwargs)
        with torch.inference_mode():
            if name == "default":
                print(f"texts {best(lambda: model.encode(texts, batch_size=32), repeats)}", flush=True)
            seconds = best(lambda: model.encode([Image.open(p) for p in images], batch_size=32), repeats)
            print(f"images_{name} {seconds}", flush=True)


if __name__ == "__main__":
    main()
