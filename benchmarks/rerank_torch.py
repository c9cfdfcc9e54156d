"""The cross-encoders of benchmarks/rerank.cpp in PyTorch, with the real transformers classes.

ViltForImageAndTextRetrieval(ViltConfig()) (dandelin/vilt-b32-finetuned-coco's sizes) and
BlipForImageTextRetrieval(BlipConfig()) through its ITM head (Salesforce/blip-itm-base-coco's
sizes), random weights, eval mode under inference_mode, on BATCH random token ids of length
TEXT_LENGTH and random 384x384 images (ViLT: with a full pixel_mask). Times are the best of REPEATS calls after a
warm-up. Prints "versions ..." and lines "NAME BATCH SECONDS".
usage: rerank_torch.py THREADS BATCH TEXT_LENGTH REPEATS
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
    import transformers
    from transformers import BlipConfig, BlipForImageTextRetrieval, ViltConfig, ViltForImageAndTextRetrieval

    threads, batch, length, repeats = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"versions torch {torch.__version__}, transformers {transformers.__version__}", flush=True)
    config = ViltConfig()
    model = ViltForImageAndTextRetrieval(config).eval()
    ids = torch.randint(5, config.vocab_size, (batch, length))
    pixels = torch.randn(batch, 3, 384, 384)
    inputs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids),
                  pixel_values=pixels, pixel_mask=torch.ones(batch, 384, 384, dtype=torch.long))
    with torch.inference_mode():
        print(f"vilt {batch} {best(lambda: model(**inputs), repeats)}", flush=True)
    blip = BlipForImageTextRetrieval(BlipConfig()).eval()
    ids = torch.randint(5, blip.config.text_config.vocab_size, (batch, length))
    with torch.inference_mode():
        seconds = best(lambda: blip(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pixels,
                                    use_itm_head=True), repeats)
        print(f"blip {batch} {seconds}", flush=True)


if __name__ == "__main__":
    main()
