// Differentiable embedding lookup and dropout.
// reference: torch.nn.functional.embedding (padding_idx), torch.nn.functional.dropout.
#pragma once

#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/autograd/ops/shape.hpp>
#include <tandem/core/rng.hpp>

#include <cstdint>
#include <optional>

namespace tandem {

// Rows of `table` [vocab, dim] at `ids` (any shape), shaped [ids.shape..., dim]. With
// `padding_idx`, that row is read like any other but never gets a gradient, as
// nn.Embedding(padding_idx=...) keeps it fixed in training.
template <Backend B, Scalar T>
Var<B, T> embedding(const Var<B, T>& table, const Ids<B>& ids, std::optional<std::int64_t> padding_idx = {}) {
    if (table.shape().rank() != 2)
        detail::throw_error("embedding: expected a table [vocab, dim], found shape ", table.shape().str());
    if (padding_idx && (*padding_idx < 0 || *padding_idx >= table.shape()[0]))
        detail::throw_error("embedding: padding_idx ", *padding_idx, " is outside the table's ",
                            table.shape()[0], " rows");
    Shape out_shape = ids.shape();
    out_shape.push_back(table.shape()[1]);
    return reshape(gather_rows(table, ids.reshape({ids.numel()}), padding_idx.value_or(-1)), out_shape);
}

// Zeroes each element with probability p and scales the rest by 1 / (1 - p), in train
// mode only (the graph's mode). Each call draws the graph's next random stream, so the
// mask is a pure function of (seed, call order, element index).
template <Backend B, Scalar T>
Var<B, T> dropout(const Var<B, T>& x, T p) {
    if (p < T(0) || p >= T(1)) detail::throw_error("dropout: probability ", p, " is outside [0, 1)");
    auto& g = detail::graph_of("dropout", x);
    if (!g.training() || p == T(0)) return x;
    const Philox rng = g.next_rng();
    auto keep = Tensor<B, T>::empty(x.shape());
    if (keep.numel()) B::dropout_mask(keep.data(), keep.numel(), p, rng.seed(), rng.stream());
    return mul(x, g.input(keep));
}

}  // namespace tandem
