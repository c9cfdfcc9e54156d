// Differentiable scaled dot-product attention with causal and key-padding masks, an
// additive bias on the scores (MPNet's relative position bias) and dropout on the
// attention probabilities.
// reference: torch.nn.functional.scaled_dot_product_attention; HF eager attention.
// Dropout is fused into the backend's kernel rather than composed from matmul, softmax,
// dropout and matmul ops: the kernel draws the mask from the Philox counters of the
// probability elements and draws it again in the backward, so train mode stores nothing
// beyond eval mode's state, keeps the one fused op (as flash attention does on GPUs), and
// with dropout 0 runs exactly the eval-mode path.
#pragma once

#include <tandem/autograd/ops/common.hpp>

#include <cmath>
#include <optional>
#include <vector>

namespace tandem {

template <Backend B, Scalar T>
struct AttentionOptions {
    bool causal = false;
    // [batch, k_len], 1 for tokens to attend to and 0 for padding (HF's attention_mask).
    Ids<B> key_mask{};
    // Defaults to 1 / sqrt(head_dim).
    std::optional<T> scale{};
    // Undefined, or [heads, q_len, k_len] added to the scaled scores of every row of the
    // batch before masking (HF's position_bias), with its gradient summed over the batch.
    Var<B, T> bias{};
    // Probability of zeroing each attention weight, in train mode only (the graph's mode),
    // as HF's attention_dropout / attention_probs_dropout_prob.
    T dropout = T(0);
};

// shapes: q [B, H, Tq, D]; k, v [B, H, Tk, D]; out [B, H, Tq, D]
template <Backend B, Scalar T>
Var<B, T> scaled_dot_product_attention(const Var<B, T>& q, const Var<B, T>& k, const Var<B, T>& v,
                                       const AttentionOptions<B, T>& options = {}) {
    auto& g = detail::graph_of("scaled_dot_product_attention", q);
    const Tensor<B, T> qv = q.value(), kv = k.value(), vv = v.value();
    const Shape &sq = qv.shape(), &sk = kv.shape();
    if (sq.rank() != 4 || !(sk == vv.shape()) || sk.rank() != 4 || sq[0] != sk[0] || sq[1] != sk[1] ||
        sq[3] != sk[3])
        detail::throw_error("scaled_dot_product_attention: shape mismatch, q ", sq.str(), ", k ", sk.str(),
                            ", v ", vv.shape().str(),
                            " (expected [batch, heads, tokens, head_dim] with matching batch, ",
                            "heads and head_dim)");
    const AttentionShape s{sq[0], sq[1], sq[2], sk[2], sq[3]};
    if (options.causal && s.q_len != s.k_len)
        detail::throw_error(
            "scaled_dot_product_attention: a causal mask needs as many queries as keys, found ", s.q_len,
            " and ", s.k_len);
    const Ids<B> mask = options.key_mask;
    if (mask.defined() && !(mask.shape() == Shape{s.batch, s.k_len}))
        detail::throw_error("scaled_dot_product_attention: shape mismatch, key_mask ", mask.shape().str(),
                            " for keys ", sk.str(), " (expected [", s.batch, ", ", s.k_len, "])");
    const Var<B, T>& bias = options.bias;
    const bool biased = bias.value().defined();
    if (biased && !(bias.shape() == Shape{s.heads, s.q_len, s.k_len}))
        detail::throw_error("scaled_dot_product_attention: shape mismatch, bias ", bias.shape().str(),
                            " for scores of q ", sq.str(), " and k ", sk.str(), " (expected [", s.heads, ", ",
                            s.q_len, ", ", s.k_len, "])");
    if (!(options.dropout >= T(0) && options.dropout < T(1)))
        detail::throw_error("scaled_dot_product_attention: dropout probability ", options.dropout,
                            " is outside [0, 1)");
    const T scale = options.scale.value_or(T(1) / std::sqrt(T(s.head_dim)));
    const bool causal = options.causal;
    // Like the dropout op, each dropping call takes the graph's next random stream.
    AttentionDropout dropout{};
    if (g.training() && options.dropout > T(0)) {
        const Philox rng = g.next_rng();
        dropout = {double(options.dropout), rng.seed(), rng.stream()};
    }
    auto out = Tensor<B, T>::empty(sq);
    // Whatever the backend's backward needs: probabilities on the CPU, row statistics in
    // a fused kernel.
    auto saved = Tensor<B, T>::empty({B::attention_saved_numel(s)});
    const Tensor<B, T> bv = bias.value();
    B::attention(out.data(), saved.data(), qv.data(), kv.data(), vv.data(), s, scale, causal, mask.data(),
                 bv.data(), dropout);
    const int iq = q.index, ik = k.index, iv = v.index, ib = biased ? bias.index : -1;
    std::vector<Var<B, T>> inputs{q, k, v};
    if (biased) inputs.push_back(bias);
    return g.record("scaled_dot_product_attention", out, inputs, [=](Graph<B, T>& g, int self) {
        T* dq = g.needs_grad(iq) ? g.grad_buffer(iq).data() : nullptr;
        T* dk = g.needs_grad(ik) ? g.grad_buffer(ik).data() : nullptr;
        T* dv = g.needs_grad(iv) ? g.grad_buffer(iv).data() : nullptr;
        T* db = g.needs_grad(ib) ? g.grad_buffer(ib).data() : nullptr;
        B::attention_bwd(dq, dk, dv, db, g.grad_buffer(self).data(), qv.data(), kv.data(), vv.data(),
                         out.data(), saved.data(), s, scale, causal, mask.data(), bv.data(), dropout);
    });
}

}  // namespace tandem
