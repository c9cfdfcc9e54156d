#!/usr/bin/python3
"""The CLIP ViT-B/32 training step and inference of benchmarks/clip_step.cpp, in PyTorch.

A plain-PyTorch CLIP with transformers' structure (pre-LN blocks, quick_gelu, causal
text mask, EOS pooling, projections, exp(logit_scale) cosine logits, symmetric
cross-entropy) and torch.optim.AdamW. Prints lines "name batch seconds".
usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 clip_step_torch.py THREADS
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.heads = heads
        self.layer_norm1, self.layer_norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, mlp), nn.Linear(mlp, d)

    def forward(self, x, mask):
        b, t, d = x.shape
        h = self.layer_norm1(x)
        split = lambda z: z.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q_proj(h)), split(self.k_proj(h)), split(self.v_proj(h))
        scores = q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5
        if mask is not None:
            scores = scores + mask
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.out_proj(a)
        h = self.fc1(self.layer_norm2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))


class Clip(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding, self.text_pos = nn.Embedding(49408, 512), nn.Parameter(torch.randn(77, 512) * 0.01)
        self.text_layers = nn.ModuleList(Block(512, 8, 2048) for _ in range(12))
        self.final_layer_norm = nn.LayerNorm(512)
        self.patch = nn.Conv2d(3, 768, 32, 32, bias=False)
        self.cls, self.vision_pos = nn.Parameter(torch.randn(768) * 0.02), nn.Parameter(torch.randn(50, 768) * 0.01)
        self.pre_layrnorm, self.post_layernorm = nn.LayerNorm(768), nn.LayerNorm(768)
        self.vision_layers = nn.ModuleList(Block(768, 12, 3072) for _ in range(12))
        self.text_projection, self.visual_projection = nn.Linear(512, 512, False), nn.Linear(768, 512, False)
        self.logit_scale = nn.Parameter(torch.tensor(2.6592))
        self.register_buffer("causal", torch.full((77, 77), torch.finfo(torch.float32).min).triu(1))

    def encode_text(self, ids):
        x = self.token_embedding(ids) + self.text_pos
        for layer in self.text_layers:
            x = layer(x, self.causal)
        x = self.final_layer_norm(x)
        return self.text_projection(x[torch.arange(ids.shape[0]), ids.argmax(-1)])

    def encode_image(self, pixels):
        x = self.patch(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], 1) + self.vision_pos
        x = self.pre_layrnorm(x)
        for layer in self.vision_layers:
            x = layer(x, None)
        return self.visual_projection(self.post_layernorm(x[:, 0]))

    def loss(self, ids, pixels):
        t, i = F.normalize(self.encode_text(ids), dim=-1), F.normalize(self.encode_image(pixels), dim=-1)
        logits = self.logit_scale.exp() * t @ i.T
        labels = torch.arange(ids.shape[0])
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def timed(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    torch.set_num_threads(int(sys.argv[1]))
    torch.manual_seed(0)
    model = Clip()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    for batch in (8, 32):
        ids = torch.randint(0, 49407, (batch, 77))
        ids[:, -1] = 49407
        pixels = torch.randn(batch, 3, 224, 224)

        def step():
            optimizer.zero_grad()
            model.loss(ids, pixels).backward()
            optimizer.step()

        print(f"train_step {batch} {timed(step, 2):.4f}", flush=True)
    ids = torch.randint(0, 49407, (32, 77))
    ids[:, -1] = 49407
    pixels = torch.randn(32, 3, 224, 224)
    with torch.no_grad():
        print(f"encode_image 32 {timed(lambda: model.encode_image(pixels), 3):.4f}", flush=True)
        print(f"encode_text 32 {timed(lambda: model.encode_text(ids), 3):.4f}", flush=True)


if __name__ == "__main__":
    main()
