// Differentiable scaled dot-product attention with causal and key-padding masks.
// reference: torch.nn.functional.scaled_dot_product_attention; HF eager attention.
#pragma once

#include <tandem/autograd/ops/common.hpp>

#include <cmath>
#include <optional>

namespace tandem {

template <Backend B, Scalar T>
struct AttentionOptions {
    bool causal = false;
    // [batch, k_len], 1 for tokens to attend to and 0 for padding (HF's attention_mask).
    Tensor<B, T> key_mask{};
    // Defaults to 1 / sqrt(head_dim).
    std::optional<T> scale{};
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
    const Tensor<B, T> mask = options.key_mask;
    if (mask.defined() && !(mask.shape() == Shape{s.batch, s.k_len}))
        detail::throw_error("scaled_dot_product_attention: shape mismatch, key_mask ", mask.shape().str(),
                            " for keys ", sk.str(), " (expected [", s.batch, ", ", s.k_len, "])");
    const T scale = options.scale.value_or(T(1) / std::sqrt(T(s.head_dim)));
    const bool causal = options.causal;
    auto out = Tensor<B, T>::empty(sq);
    auto probs = Tensor<B, T>::empty({s.batch, s.heads, s.q_len, s.k_len});
    B::attention(out.data(), probs.data(), qv.data(), kv.data(), vv.data(), s, scale, causal,
                 mask.defined() ? mask.data() : nullptr);
    return g.record("scaled_dot_product_attention", out, {q, k, v}, [=](Graph<B, T>& g, int self) {
        auto workspace = Tensor<B, T>::empty(probs.shape());
        T* dq = g.needs_grad(q) ? g.grad_buffer(q.index).data() : nullptr;
        T* dk = g.needs_grad(k) ? g.grad_buffer(k.index).data() : nullptr;
        T* dv = g.needs_grad(v) ? g.grad_buffer(v.index).data() : nullptr;
        B::attention_bwd(dq, dk, dv, workspace.data(), g.grad_buffer(self).data(), qv.data(), kv.data(),
                         vv.data(), probs.data(), s, scale, causal, mask.defined() ? mask.data() : nullptr);
    });
}

}  // namespace tandem
