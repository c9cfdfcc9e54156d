// Pooling token states [B, T, D] into one vector per row: at given positions (CLS,
// EOS, last token), the masked mean or the masked max.
// reference: sentence_transformers.models.Pooling (cls, mean), HF CLIP/SigLIP pooling.
#pragma once

#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/autograd/ops/reduce.hpp>
#include <tandem/autograd/ops/shape.hpp>

#include <algorithm>

namespace tandem {

// Row b's state at positions[b].
template <Backend B, Scalar T>
Var<B, T> pool_at(const Var<B, T>& x, const std::vector<index_t>& positions) {
    const Shape& s = x.shape();
    if (s.rank() != 3 || static_cast<index_t>(positions.size()) != s[0])
        detail::throw_error("pool_at: expected states [batch, tokens, dim] and one position per row, found ",
                            s.str(), " and ", positions.size(), " positions");
    std::vector<std::int64_t> rows(positions.size());
    for (std::size_t b = 0; b < positions.size(); ++b) {
        if (positions[b] < 0 || positions[b] >= s[1])
            detail::throw_error("pool_at: position ", positions[b], " of row ", b, " is outside [0, ", s[1],
                                ")");
        rows[b] = static_cast<std::int64_t>(b) * s[1] + positions[b];
    }
    return gather_rows(reshape(x, {s[0] * s[1], s[2]}), rows);
}

// The first token of every row (BERT [CLS], the ViT class token).
template <Backend B, Scalar T>
Var<B, T> pool_cls(const Var<B, T>& x) {
    return pool_at(x, std::vector<index_t>(static_cast<std::size_t>(x.shape()[0]), 0));
}

// sum_t x[b, t] mask[b, t] / max(sum_t mask[b, t], 1e-9).   mask [B * T], 1 for real tokens
template <Backend B, Scalar T>
Var<B, T> pool_mean(Graph<B, T>& g, const Var<B, T>& x, const std::vector<std::int64_t>& mask) {
    const Shape& s = x.shape();
    if (s.rank() != 3 || static_cast<index_t>(mask.size()) != s[0] * s[1])
        detail::throw_error(
            "pool_mean: expected states [batch, tokens, dim] and a [batch, tokens] mask, found ", s.str(),
            " and ", mask.size(), " mask values");
    std::vector<T> weights(static_cast<std::size_t>(s.numel()));
    for (index_t b = 0; b < s[0]; ++b) {
        double count = 0;
        for (index_t t = 0; t < s[1]; ++t) count += double(mask[b * s[1] + t]);
        const double denominator = std::max(count, 1e-9);
        for (index_t t = 0; t < s[1]; ++t)
            std::fill_n(weights.begin() + (b * s[1] + t) * s[2], s[2],
                        T(double(mask[b * s[1] + t]) / denominator));
    }
    return sum(mul(x, g.input(Tensor<B, T>::from_vector(weights, s))), 1);
}

// max_t over unmasked tokens: padded positions are set to -1e9 first, as
// sentence-transformers does, so an all-padding row yields -1e9.
template <Backend B, Scalar T>
Var<B, T> pool_max(Graph<B, T>& g, const Var<B, T>& x, const std::vector<std::int64_t>& mask) {
    const Shape& s = x.shape();
    if (s.rank() != 3 || static_cast<index_t>(mask.size()) != s[0] * s[1])
        detail::throw_error(
            "pool_max: expected states [batch, tokens, dim] and a [batch, tokens] mask, found ", s.str(),
            " and ", mask.size(), " mask values");
    // A large negative offset rather than a replacement keeps the op differentiable in x.
    std::vector<T> offset(static_cast<std::size_t>(s.numel()), T(0));
    for (index_t bt = 0; bt < s[0] * s[1]; ++bt)
        if (mask[bt] == 0) std::fill_n(offset.begin() + bt * s[2], s[2], T(-1e9));
    return max(add(x, g.input(Tensor<B, T>::from_vector(offset, s))), 1);
}

}  // namespace tandem
