"""The training steps of benchmarks/train_step.cpp through sentence-transformers' own trainer.

A random transformers CLIPModel from the folder's config.json, saved with a CLIPProcessor
(the folder's tokenizer and image processor) and opened as SentenceTransformer(folder),
which routes texts to get_text_features and images to get_image_features; a
datasets.Dataset with "caption" and "image" (PIL) columns of the same captions and pixels
as the C++ side; MultipleNegativesRankingLoss (scale 20, cos_sim); SentenceTransformerTrainer
with max_steps = warm-up + timed steps, lr 5e-5, no warm-up, evaluation, saving or logging.
Steps/s come from a callback timing the end of each optimizer step.
Prints "versions ..." and one line "st MODEL BATCH STEPS_PER_S" per batch.
usage: train_step_st.py FOLDER MODEL BATCHES WARMUP STEPS THREADS   (BATCHES: 32,128)
"""
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step_torch import parse_args, rows, versions  # noqa: E402


def main():
    import datasets
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.util import cos_sim
    from transformers import AutoTokenizer, CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self):
            self.ends = []

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

    folder, name, batches, warmup, steps, threads = parse_args()
    torch.set_num_threads(threads)
    print(versions() + f", datasets {datasets.__version__}", flush=True)
    for batch in batches:
        total = warmup + steps
        with tempfile.TemporaryDirectory(prefix="train_step_st_") as work:
            torch.manual_seed(0)
            model_dir = os.path.join(work, "model")
            CLIPModel(CLIPConfig.from_pretrained(folder)).save_pretrained(model_dir)
            CLIPProcessor(image_processor=CLIPImageProcessor.from_pretrained(folder),
                          tokenizer=AutoTokenizer.from_pretrained(folder)).save_pretrained(model_dir)
            model = SentenceTransformer(model_dir, device="cpu")
            print(model, file=sys.stderr)
            captions, images = rows(name, batch * total)
            dataset = datasets.Dataset.from_dict({"caption": captions, "image": images})
            args = SentenceTransformerTrainingArguments(
                output_dir=os.path.join(work, "output"), max_steps=total, per_device_train_batch_size=batch,
                learning_rate=5e-5, warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
                eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none",
                disable_tqdm=True, use_cpu=True, dataloader_num_workers=0, seed=42)
            clock = StepClock()
            trainer = SentenceTransformerTrainer(
                model=model, args=args, train_dataset=dataset,
                loss=MultipleNegativesRankingLoss(model, scale=20.0, similarity_fct=cos_sim), callbacks=[clock])
            output = trainer.train()
            print(output, file=sys.stderr)
            print(f"st {name} {batch} {steps / (clock.ends[total - 1] - clock.ends[warmup - 1]):.6f}", flush=True)


if __name__ == "__main__":
    main()
