// Small types shared by every backend's kernel signatures.
#pragma once

#include <tandem/core/shape.hpp>

#include <cstdint>

namespace tandem {

enum class BinaryOp { Add, Sub, Mul, Div };

enum class UnaryOp {
    Exp,
    Log,
    Sigmoid,
    LogSigmoid,
    Relu,
    Tanh,
    Gelu,       // x * Phi(x), the erf form (torch.nn.functional.gelu)
    GeluTanh,   // tanh approximation (gelu(approximate="tanh"), HF "gelu_pytorch_tanh")
    QuickGelu,  // x * sigmoid(1.702 x) (HF "quick_gelu", OpenAI CLIP)
    Abs,        // its derivative sign(x), 0 at 0 as torch.abs
    Sqrt
};

// The per-token weights of sentence-transformers' Pooling modes that are a weighted sum
// of token states: one-hot at the first or the last real token, the masked mean, the
// mean scaled by sqrt(count) instead of count, and weights 1..n counted from the first
// real token.
enum class PoolingWeights { FirstToken, Mean, MeanSqrtLen, WeightedMean, LastToken };

// Sizes of one attention call: q [batch, heads, q_len, head_dim], k and v [batch, heads, k_len, head_dim].
struct AttentionShape {
    index_t batch, heads, q_len, k_len, head_dim;
    index_t bh() const { return batch * heads; }
};

// Dropout on attention probabilities: element e of [batch, heads, q_len, k_len] is kept
// and scaled by 1 / (1 - p) where Philox(seed, stream).uniform(e) >= p, the rule of
// dropout_mask, so the forward's mask is regenerated in the backward instead of stored.
// p = 0: no dropout.
struct AttentionDropout {
    double p = 0;
    std::uint64_t seed = 0, stream = 0;
};

}  // namespace tandem
