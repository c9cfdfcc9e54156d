// Pooling token states [B, T, D] into one vector per row: at given positions (CLS,
// EOS, last position, last real token), the masked mean or the masked max. Positions and masks are integer
// tensors on the backend, as a tokenizer's batch provides them.
// reference: sentence_transformers.models.Pooling (cls, mean, max, lasttoken), HF CLIP/SigLIP pooling.
#pragma once

#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/autograd/ops/matmul.hpp>
#include <tandem/autograd/ops/reduce.hpp>
#include <tandem/autograd/ops/shape.hpp>

namespace tandem {

namespace detail {
template <Backend B, Scalar T>
void check_states(std::string_view op, const Var<B, T>& x) {
    if (x.shape().rank() != 3)
        throw_error(op, ": expected states [batch, tokens, dim], found ", x.shape().str());
}

template <Backend B, Scalar T>
void check_mask(std::string_view op, const Var<B, T>& x, const Ids<B>& mask) {
    check_states(op, x);
    const Shape& s = x.shape();
    if (!(mask.shape() == Shape{s[0], s[1]}))
        throw_error(op, ": expected a [", s[0], ", ", s[1], "] mask for states ", s.str(), ", found ",
                    mask.shape().str());
}

// x[r / T, r % T] for each flat token index r.
template <Backend B, Scalar T>
Var<B, T> gather_tokens(const Var<B, T>& x, const Ids<B>& flat) {
    const Shape& s = x.shape();
    return gather_rows(reshape(x, {s[0] * s[1], s[2]}), flat);
}
}  // namespace detail

// Row b's state at positions[b].   shapes: x [B, T, D]; positions [B]; out [B, D]
template <Backend B, Scalar T>
Var<B, T> pool_at(const Var<B, T>& x, const Ids<B>& positions) {
    detail::check_states("pool_at", x);
    const Shape& s = x.shape();
    if (!(positions.shape() == Shape{s[0]}))
        detail::throw_error("pool_at: expected one position per row ([", s[0], "]) for states ", s.str(),
                            ", found ", positions.shape().str());
    detail::check_ids<B>("pool_at", "positions", positions, s[1]);
    auto flat = Ids<B>::empty({s[0]});
    if (s[0]) B::flat_index(flat.data(), positions.data(), s[0], s[1]);
    return detail::gather_tokens(x, flat);
}

// The first token of every row (BERT [CLS], the ViT class token).
template <Backend B, Scalar T>
Var<B, T> pool_cls(const Var<B, T>& x) {
    detail::check_states("pool_cls", x);
    return detail::gather_tokens(x, arange<B>(x.shape()[0], 0, x.shape()[1]));
}

// The last token of every row (SigLIP's text pooling: padding to max_length puts it there).
template <Backend B, Scalar T>
Var<B, T> pool_last(const Var<B, T>& x) {
    detail::check_states("pool_last", x);
    const Shape& s = x.shape();
    return detail::gather_tokens(x, arange<B>(s[0], s[1] - 1, s[1]));
}

// Row b's state at the last position holding a real token, with right or left padding:
// argmax_t mask[b, t] (t + 1), so an all-padding row pools position 0, as
// sentence-transformers' "lasttoken" does.   mask [B, T], 1 for real tokens
template <Backend B, Scalar T>
Var<B, T> pool_last_token(const Var<B, T>& x, const Ids<B>& mask) {
    detail::check_mask("pool_last_token", x, mask);
    const Shape& s = x.shape();
    auto positions = Ids<B>::empty({s[0]});
    if (positions.numel() && s[1]) {
        auto steps = Tensor<B, T>::empty({s[1]});
        B::convert(steps.data(), arange<B>(s[1], 1).data(), s[1]);
        auto scores = Tensor<B, T>::empty({s[0], s[1]});
        B::mask_fill(scores.data(), mask.data(), s[0] * s[1], 1, T(1), T(0));
        B::binary(BinaryOp::Mul, scores.data(), scores.data(), s[0] * s[1], steps.data(), s[1]);
        auto best = Tensor<B, T>::empty({s[0]});
        B::max_axis(best.data(), positions.data(), scores.data(), s[0], s[1], 1);
    }
    return pool_at(x, positions);
}

// sum_t x[b, t] mask[b, t] / max(sum_t mask[b, t], 1e-9).   mask [B, T], 1 for real tokens
template <Backend B, Scalar T>
Var<B, T> pool_mean(Graph<B, T>& g, const Var<B, T>& x, const Ids<B>& mask) {
    detail::check_mask("pool_mean", x, mask);
    const Shape& s = x.shape();
    auto weights = Tensor<B, T>::empty({s[0], 1, s[1]});
    if (weights.numel()) B::mean_weights(weights.data(), mask.data(), s[0], s[1]);
    // [B, 1, T] @ [B, T, D]: one small GEMM per row instead of a [B, T, D] weight tensor.
    return reshape(matmul(g.input(weights), x), {s[0], s[2]});
}

// max_t over unmasked tokens: padded positions are set to -1e9 first, as
// sentence-transformers does, so an all-padding row yields -1e9.
template <Backend B, Scalar T>
Var<B, T> pool_max(Graph<B, T>& g, const Var<B, T>& x, const Ids<B>& mask) {
    detail::check_mask("pool_max", x, mask);
    const Shape& s = x.shape();
    // A large negative offset rather than a replacement keeps the op differentiable in x.
    auto offset = Tensor<B, T>::empty(s);
    if (offset.numel()) B::mask_fill(offset.data(), mask.data(), s[0] * s[1], s[2], T(0), T(-1e9));
    return max(add(x, g.input(offset)), 1);
}

}  // namespace tandem
