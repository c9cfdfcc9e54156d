#!/usr/bin/python3
"""Builds tiny random CLIP, SigLIP and BERT models in plain PyTorch, with Hugging Face
parameter names and transformers' semantics (v4.36 CLIP and BERT, v4.43 SigLIP), and
writes each as a Hugging Face folder with inputs, outputs, loss and gradients:

  fixtures/<name>/config.json, model.safetensors      the model (float32)
  fixtures/<name>/inputs/*.npy                        what the forward pass reads
  fixtures/<name>/expected/*.npy                      outputs and loss, float64 run of the float32 weights
  fixtures/<name>/grads.safetensors                   d loss / d parameter (float64), every parameter

Written independently of transformers (which Debian does not package), these are a
second reference beside shared/data/models, with configurations that one does not
cover: CLIP pooling at the first eos_token_id (eos_token_id != 2) with gelu, SigLIP
with a text attention mask, BERT with token types and no pooler loss on padding.

usage: /usr/bin/python3 tests/reference/make_fixtures.py   (Debian's python3-torch, python3-numpy)
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


# ---- files -----------------------------------------------------------------------

def save_safetensors(path, tensors, dtype):
    """The safetensors layout: u64 header length, JSON header sorted by name, data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        array = tensors[name].detach().cpu().numpy().astype(dtype)
        data = array.tobytes()
        header[name] = {"dtype": {np.float32: "F32", np.float64: "F64"}[dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_folder(name, config, params, inputs, outputs, loss):
    folder = os.path.join(OUT, name)
    for sub in ("inputs", "expected"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    save_safetensors(os.path.join(folder, "model.safetensors"), params, np.float32)
    for key, value in inputs.items():
        np.save(os.path.join(folder, "inputs", key + ".npy"), value)
    # Outputs and gradients come from the float64 run of the same float32 weights.
    p64 = {k: v.detach().double().requires_grad_(True) for k, v in params.items()}
    outs = outputs(p64)
    total = loss(outs)
    total.backward()
    for key, value in outs.items():
        np.save(os.path.join(folder, "expected", key + ".npy"), value.detach().numpy())
    np.save(os.path.join(folder, "expected", "loss.npy"), total.detach().numpy())
    save_safetensors(os.path.join(folder, "grads.safetensors"),
                     {k: (v.grad if v.grad is not None else torch.zeros_like(v)) for k, v in p64.items()},
                     np.float64)


def randn(*shape, std=0.2):
    return torch.randn(*shape) * std


# ---- shared transformer pieces ---------------------------------------------------

ACT = {
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "gelu": lambda x: F.gelu(x),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


def linear_params(p, name, d_in, d_out, bias=True):
    p[name + ".weight"] = randn(d_out, d_in)
    if bias:
        p[name + ".bias"] = randn(d_out, std=0.05)


def ln_params(p, name, d):
    p[name + ".weight"] = 1 + randn(d, std=0.15)
    p[name + ".bias"] = randn(d, std=0.05)


def attention(p, prefix, names, x, heads, causal=False, key_mask=None, kv=None):
    """Multi-head attention; masked scores are set to the lowest finite value."""
    kv = x if kv is None else kv
    b, t, d = x.shape
    tk, dh = kv.shape[1], d // heads
    q = F.linear(x, p[f"{prefix}.{names[0]}.weight"], p[f"{prefix}.{names[0]}.bias"])
    k = F.linear(kv, p[f"{prefix}.{names[1]}.weight"], p[f"{prefix}.{names[1]}.bias"])
    v = F.linear(kv, p[f"{prefix}.{names[2]}.weight"], p[f"{prefix}.{names[2]}.bias"])
    split = lambda z, n: z.view(b, n, heads, dh).transpose(1, 2)
    scores = split(q, t) @ split(k, tk).transpose(-1, -2) / math.sqrt(dh)
    hidden = torch.zeros(b, 1, t, tk, dtype=torch.bool)
    if causal:
        hidden = hidden | torch.ones(t, tk, dtype=torch.bool).triu(1)
    if key_mask is not None:
        hidden = hidden | (key_mask[:, None, None, :] == 0)
    scores = scores.masked_fill(hidden, torch.finfo(scores.dtype).min)
    out = (scores.softmax(-1) @ split(v, tk)).transpose(1, 2).reshape(b, t, d)
    return F.linear(out, p[f"{prefix}.{names[3]}.weight"], p[f"{prefix}.{names[3]}.bias"])


def pre_ln_block(p, prefix, x, heads, act, eps, causal=False, key_mask=None):
    ln = lambda z, n: F.layer_norm(z, z.shape[-1:], p[f"{prefix}.{n}.weight"], p[f"{prefix}.{n}.bias"], eps)
    names = ("q_proj", "k_proj", "v_proj", "out_proj")
    x = x + attention(p, prefix + ".self_attn", names, ln(x, "layer_norm1"), heads, causal, key_mask)
    h = ln(x, "layer_norm2")
    h = F.linear(ACT[act](F.linear(h, p[prefix + ".mlp.fc1.weight"], p[prefix + ".mlp.fc1.bias"])),
                 p[prefix + ".mlp.fc2.weight"], p[prefix + ".mlp.fc2.bias"])
    return x + h


def pre_ln_params(p, prefix, d, mlp):
    for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
        linear_params(p, f"{prefix}.self_attn.{n}", d, d)
    ln_params(p, prefix + ".layer_norm1", d)
    ln_params(p, prefix + ".layer_norm2", d)
    linear_params(p, prefix + ".mlp.fc1", d, mlp)
    linear_params(p, prefix + ".mlp.fc2", mlp, d)


def ln(p, name, x, eps):
    return F.layer_norm(x, x.shape[-1:], p[name + ".weight"], p[name + ".bias"], eps)


# ---- CLIP --------------------------------------------------------------------------

def make_clip():
    torch.manual_seed(101)
    T = dict(vocab=97, d=24, heads=3, mlp=40, layers=2, ctx=9, eos=96, act="gelu")
    V = dict(d=20, heads=2, mlp=32, layers=2, image=16, patch=4, act="gelu")
    proj = 12
    p = {}
    p["text_model.embeddings.token_embedding.weight"] = randn(T["vocab"], T["d"], std=0.5)
    p["text_model.embeddings.position_embedding.weight"] = randn(T["ctx"], T["d"], std=0.5)
    for i in range(T["layers"]):
        pre_ln_params(p, f"text_model.encoder.layers.{i}", T["d"], T["mlp"])
    ln_params(p, "text_model.final_layer_norm", T["d"])
    grid = V["image"] // V["patch"]
    p["vision_model.embeddings.class_embedding"] = randn(V["d"], std=0.5)
    p["vision_model.embeddings.patch_embedding.weight"] = randn(V["d"], 3, V["patch"], V["patch"])
    p["vision_model.embeddings.position_embedding.weight"] = randn(grid * grid + 1, V["d"], std=0.5)
    ln_params(p, "vision_model.pre_layrnorm", V["d"])
    for i in range(V["layers"]):
        pre_ln_params(p, f"vision_model.encoder.layers.{i}", V["d"], V["mlp"])
    ln_params(p, "vision_model.post_layernorm", V["d"])
    p["text_projection.weight"] = randn(proj, T["d"])
    p["visual_projection.weight"] = randn(proj, V["d"])
    p["logit_scale"] = torch.tensor(2.3)

    # Ids 1..94 in the body, bos 95, eos 96 (= eos_token_id: pooling at the first eos),
    # padded with 0 so argmax would not find the eos.
    lengths = [9, 5, 3, 7]
    ids = torch.zeros(4, T["ctx"], dtype=torch.int64)
    mask = torch.zeros(4, T["ctx"], dtype=torch.int64)
    for r, n in enumerate(lengths):
        ids[r, 0], ids[r, n - 1] = 95, T["eos"]
        ids[r, 1:n - 1] = torch.randint(1, 95, (n - 2,))
        mask[r, :n] = 1
    pixels = torch.randn(4, 3, V["image"], V["image"])

    def outputs(q):
        x = q["text_model.embeddings.token_embedding.weight"][ids] + \
            q["text_model.embeddings.position_embedding.weight"][: T["ctx"]]
        for i in range(T["layers"]):
            x = pre_ln_block(q, f"text_model.encoder.layers.{i}", x, T["heads"], T["act"], 1e-5, True, mask)
        text_last = ln(q, "text_model.final_layer_norm", x, 1e-5)
        first_eos = (ids == T["eos"]).int().argmax(-1)
        text_pooled = text_last[torch.arange(4), first_eos]
        text_embeds = text_pooled @ q["text_projection.weight"].T

        w = q["vision_model.embeddings.patch_embedding.weight"]
        patches = F.conv2d(pixels.to(w.dtype), w, stride=V["patch"]).flatten(2).transpose(1, 2)
        cls = q["vision_model.embeddings.class_embedding"].expand(4, 1, -1)
        v = torch.cat([cls, patches], 1) + q["vision_model.embeddings.position_embedding.weight"]
        v = ln(q, "vision_model.pre_layrnorm", v, 1e-5)
        for i in range(V["layers"]):
            v = pre_ln_block(q, f"vision_model.encoder.layers.{i}", v, V["heads"], V["act"], 1e-5)
        vision_pooled = ln(q, "vision_model.post_layernorm", v[:, 0], 1e-5)
        image_embeds = vision_pooled @ q["visual_projection.weight"].T
        t_n, i_n = F.normalize(text_embeds, dim=-1), F.normalize(image_embeds, dim=-1)
        logits_per_text = q["logit_scale"].exp() * t_n @ i_n.T
        return dict(text_last_hidden_state=text_last, text_pooled_output=text_pooled,
                    text_embeds_unnormalized=text_embeds, vision_last_hidden_state=v,
                    vision_pooled_output=vision_pooled, image_embeds_unnormalized=image_embeds,
                    logits_per_text=logits_per_text)

    def loss(o):
        labels = torch.arange(4)
        return (F.cross_entropy(o["logits_per_text"], labels) + F.cross_entropy(o["logits_per_text"].T, labels)) / 2

    config = {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": proj,
        "logit_scale_init_value": 2.6592,
        "text_config": {"model_type": "clip_text_model", "vocab_size": T["vocab"], "hidden_size": T["d"],
                        "intermediate_size": T["mlp"], "num_hidden_layers": T["layers"],
                        "num_attention_heads": T["heads"], "max_position_embeddings": T["ctx"],
                        "hidden_act": T["act"], "bos_token_id": 95, "eos_token_id": T["eos"], "pad_token_id": 0,
                        "projection_dim": proj},
        "vision_config": {"model_type": "clip_vision_model", "hidden_size": V["d"], "intermediate_size": V["mlp"],
                          "num_hidden_layers": V["layers"], "num_attention_heads": V["heads"],
                          "image_size": V["image"], "patch_size": V["patch"], "hidden_act": V["act"],
                          "projection_dim": proj},
    }
    write_folder("clip-first-eos", config, p,
                 {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "pixel_values": pixels.numpy()},
                 outputs, loss)


# ---- SigLIP ------------------------------------------------------------------------

def make_siglip():
    torch.manual_seed(202)
    T = dict(vocab=83, d=16, heads=2, mlp=24, layers=2, ctx=7)
    V = dict(d=16, heads=2, mlp=24, layers=2, image=12, patch=4)
    act, eps = "gelu_pytorch_tanh", 1e-6
    p = {}
    p["text_model.embeddings.token_embedding.weight"] = randn(T["vocab"], T["d"], std=0.5)
    p["text_model.embeddings.position_embedding.weight"] = randn(T["ctx"], T["d"], std=0.5)
    for i in range(T["layers"]):
        pre_ln_params(p, f"text_model.encoder.layers.{i}", T["d"], T["mlp"])
    ln_params(p, "text_model.final_layer_norm", T["d"])
    linear_params(p, "text_model.head", T["d"], T["d"])
    grid = V["image"] // V["patch"]
    linear_params(p, "vision_model.embeddings.patch_embedding", 3 * V["patch"] ** 2, V["d"])
    p["vision_model.embeddings.patch_embedding.weight"] = p["vision_model.embeddings.patch_embedding.weight"].view(
        V["d"], 3, V["patch"], V["patch"])
    p["vision_model.embeddings.position_embedding.weight"] = randn(grid * grid, V["d"], std=0.5)
    for i in range(V["layers"]):
        pre_ln_params(p, f"vision_model.encoder.layers.{i}", V["d"], V["mlp"])
    ln_params(p, "vision_model.post_layernorm", V["d"])
    p["vision_model.head.probe"] = randn(1, 1, V["d"], std=0.5)
    p["vision_model.head.attention.in_proj_weight"] = randn(3 * V["d"], V["d"])
    p["vision_model.head.attention.in_proj_bias"] = randn(3 * V["d"], std=0.05)
    linear_params(p, "vision_model.head.attention.out_proj", V["d"], V["d"])
    ln_params(p, "vision_model.head.layernorm", V["d"])
    linear_params(p, "vision_model.head.mlp.fc1", V["d"], V["mlp"])
    linear_params(p, "vision_model.head.mlp.fc2", V["mlp"], V["d"])
    p["logit_scale"] = torch.tensor([1.4])
    p["logit_bias"] = torch.tensor([-0.7])

    ids = torch.randint(2, T["vocab"], (3, T["ctx"]))
    ids[:, -1] = 1  # </s> at the last position, where SigLIP pools
    pixels = torch.randn(3, 3, V["image"], V["image"])

    def outputs(q):
        x = q["text_model.embeddings.token_embedding.weight"][ids] + \
            q["text_model.embeddings.position_embedding.weight"]
        for i in range(T["layers"]):
            x = pre_ln_block(q, f"text_model.encoder.layers.{i}", x, T["heads"], act, eps)
        text_last = ln(q, "text_model.final_layer_norm", x, eps)
        text_pooled = F.linear(text_last[:, -1], q["text_model.head.weight"], q["text_model.head.bias"])

        patches = F.conv2d(pixels.to(text_last.dtype), q["vision_model.embeddings.patch_embedding.weight"],
                           q["vision_model.embeddings.patch_embedding.bias"], stride=V["patch"])
        v = patches.flatten(2).transpose(1, 2) + q["vision_model.embeddings.position_embedding.weight"]
        for i in range(V["layers"]):
            v = pre_ln_block(q, f"vision_model.encoder.layers.{i}", v, V["heads"], act, eps)
        v = ln(q, "vision_model.post_layernorm", v, eps)
        probe = q["vision_model.head.probe"].expand(3, 1, V["d"])
        h = _probe_attention(q, probe, v, V["heads"])
        h = h + F.linear(ACT[act](F.linear(ln(q, "vision_model.head.layernorm", h, eps),
                                           q["vision_model.head.mlp.fc1.weight"], q["vision_model.head.mlp.fc1.bias"])),
                         q["vision_model.head.mlp.fc2.weight"], q["vision_model.head.mlp.fc2.bias"])
        vision_pooled = h[:, 0]
        t_n, i_n = F.normalize(text_pooled, dim=-1), F.normalize(vision_pooled, dim=-1)
        logits_per_text = t_n @ i_n.T * q["logit_scale"].exp() + q["logit_bias"]
        return dict(text_last_hidden_state=text_last, text_pooled_output=text_pooled, vision_last_hidden_state=v,
                    vision_pooled_output=vision_pooled, logits_per_text=logits_per_text)

    def loss(o):
        z = 2 * torch.eye(3, dtype=o["logits_per_text"].dtype) - 1
        return -F.logsigmoid(z * o["logits_per_text"]).sum(-1).mean()

    config = {
        "architectures": ["SiglipModel"], "model_type": "siglip",
        "text_config": {"model_type": "siglip_text_model", "vocab_size": T["vocab"], "hidden_size": T["d"],
                        "intermediate_size": T["mlp"], "num_hidden_layers": T["layers"],
                        "num_attention_heads": T["heads"], "max_position_embeddings": T["ctx"]},
        "vision_config": {"model_type": "siglip_vision_model", "hidden_size": V["d"], "intermediate_size": V["mlp"],
                          "num_hidden_layers": V["layers"], "num_attention_heads": V["heads"],
                          "image_size": V["image"], "patch_size": V["patch"]},
    }
    write_folder("siglip-small", config, p, {"input_ids": ids.numpy(), "pixel_values": pixels.numpy()}, outputs,
                 loss)


def _probe_attention(q, probe, v, heads):
    """torch.nn.MultiheadAttention with a packed in_proj, as SiglipMultiheadAttentionPoolingHead."""
    d = probe.shape[-1]
    out, _ = F.multi_head_attention_forward(
        probe.transpose(0, 1), v.transpose(0, 1), v.transpose(0, 1), d, heads,
        q["vision_model.head.attention.in_proj_weight"], q["vision_model.head.attention.in_proj_bias"],
        None, None, False, 0.0, q["vision_model.head.attention.out_proj.weight"],
        q["vision_model.head.attention.out_proj.bias"], training=False, need_weights=False)
    return out.transpose(0, 1)


# ---- BERT --------------------------------------------------------------------------

def make_bert():
    torch.manual_seed(303)
    vocab, d, heads, mlp, layers, ctx, types, eps = 71, 16, 2, 32, 2, 10, 2, 1e-12
    p = {}
    p["embeddings.word_embeddings.weight"] = randn(vocab, d, std=0.5)
    p["embeddings.position_embeddings.weight"] = randn(ctx, d, std=0.5)
    p["embeddings.token_type_embeddings.weight"] = randn(types, d, std=0.5)
    ln_params(p, "embeddings.LayerNorm", d)
    for i in range(layers):
        pre = f"encoder.layer.{i}"
        for n in ("query", "key", "value"):
            linear_params(p, f"{pre}.attention.self.{n}", d, d)
        linear_params(p, f"{pre}.attention.output.dense", d, d)
        ln_params(p, f"{pre}.attention.output.LayerNorm", d)
        linear_params(p, f"{pre}.intermediate.dense", d, mlp)
        linear_params(p, f"{pre}.output.dense", mlp, d)
        ln_params(p, f"{pre}.output.LayerNorm", d)
    linear_params(p, "pooler.dense", d, d)

    lengths = [10, 6, 4]
    ids = torch.zeros(3, ctx, dtype=torch.int64)
    mask = torch.zeros(3, ctx, dtype=torch.int64)
    token_types = torch.zeros(3, ctx, dtype=torch.int64)
    for r, n in enumerate(lengths):
        ids[r, :n] = torch.randint(4, vocab, (n,))
        ids[r, 0] = 2
        mask[r, :n] = 1
        token_types[r, n // 2:n] = 1
    probe_mean, probe_pooler = torch.randn(3, d), torch.randn(3, d)

    def outputs(q):
        x = q["embeddings.word_embeddings.weight"][ids] + q["embeddings.position_embeddings.weight"][:ctx] + \
            q["embeddings.token_type_embeddings.weight"][token_types]
        x = ln(q, "embeddings.LayerNorm", x, eps)
        for i in range(layers):
            pre = f"encoder.layer.{i}"
            a = attention(q, pre + ".attention", ("self.query", "self.key", "self.value", "output.dense"), x, heads,
                          key_mask=mask)
            x = ln(q, pre + ".attention.output.LayerNorm", x + a, eps)
            h = F.linear(F.gelu(F.linear(x, q[pre + ".intermediate.dense.weight"], q[pre + ".intermediate.dense.bias"])),
                         q[pre + ".output.dense.weight"], q[pre + ".output.dense.bias"])
            x = ln(q, pre + ".output.LayerNorm", x + h, eps)
        pooler = torch.tanh(F.linear(x[:, 0], q["pooler.dense.weight"], q["pooler.dense.bias"]))
        m = mask.unsqueeze(-1).to(x.dtype)
        mean = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return dict(last_hidden_state=x, pooler_output=pooler, mean_pooled=mean)

    def loss(o):
        return (o["mean_pooled"] * probe_mean.to(o["mean_pooled"].dtype)).sum() + \
            (o["pooler_output"] * probe_pooler.to(o["pooler_output"].dtype)).sum()

    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab, "hidden_size": d,
              "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": mlp,
              "max_position_embeddings": ctx, "type_vocab_size": types, "hidden_act": "gelu", "pad_token_id": 0}
    write_folder("bert-token-types", config, p,
                 {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "token_type_ids": token_types.numpy(),
                  "loss_probe_mean": probe_mean.numpy(), "loss_probe_pooler": probe_pooler.numpy()},
                 outputs, loss)


if __name__ == "__main__":
    torch.set_num_threads(1)
    make_clip()
    make_siglip()
    make_bert()
