// Differentiable embedding lookup and dropout.
// reference: torch.nn.functional.embedding, torch.nn.functional.dropout.
#pragma once

#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/autograd/ops/shape.hpp>
#include <tandem/core/rng.hpp>

namespace tandem {

// Rows of `table` [vocab, dim] at `ids`, shaped [ids_shape..., dim].
template <Backend B, Scalar T>
Var<B, T> embedding(const Var<B, T>& table, const std::vector<std::int64_t>& ids, const Shape& ids_shape) {
    if (ids_shape.numel() != static_cast<index_t>(ids.size()))
        detail::throw_error("embedding: ", ids.size(), " ids do not fill shape ", ids_shape.str());
    if (table.shape().rank() != 2)
        detail::throw_error("embedding: expected a table [vocab, dim], found shape ", table.shape().str());
    Shape out_shape = ids_shape;
    out_shape.push_back(table.shape()[1]);
    return reshape(gather_rows(table, ids), out_shape);
}

// Zeroes each element with probability p and scales the rest by 1 / (1 - p). The mask
// is a pure function of (rng seed and stream, element index).
template <Backend B, Scalar T>
Var<B, T> dropout(const Var<B, T>& x, T p, const Philox& rng, bool training = true) {
    if (p < T(0) || p >= T(1)) detail::throw_error("dropout: probability ", p, " is outside [0, 1)");
    if (!training || p == T(0)) return x;
    std::vector<T> keep(static_cast<std::size_t>(x.value().numel()));
    for (std::size_t i = 0; i < keep.size(); ++i)
        keep[i] = rng.uniform(i) >= double(p) ? T(1) / (T(1) - p) : T(0);
    auto& g = detail::graph_of("dropout", x);
    return mul(x, g.input(Tensor<B, T>::from_vector(keep, x.shape())));
}

}  // namespace tandem
