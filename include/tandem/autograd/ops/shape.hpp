// Differentiable changes of shape and layout: reshape, permute (head split and merge),
// concat, slice and split along an axis, and row gather (pooling at given tokens).
// reference: torch.reshape, torch.permute, torch.cat, torch.narrow, torch.split, torch.index_select.
#pragma once

#include <tandem/autograd/ops/common.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace tandem {

// A view: shares x's storage and its gradient buffer.
template <Backend B, Scalar T>
Var<B, T> reshape(const Var<B, T>& x, const Shape& shape) {
    // Tensor::reshape rejects a shape with another element count, naming both.
    return detail::graph_of("reshape", x).view("reshape", x.value().reshape(shape), x);
}

// out.shape[d] = x.shape[perm[d]], as torch.permute.
template <Backend B, Scalar T>
Var<B, T> permute(const Var<B, T>& x, std::initializer_list<int> perm) {
    auto& g = detail::graph_of("permute", x);
    const auto& xv = x.value();
    const Shape& s = xv.shape();
    std::array<int, Shape::max_rank> p{}, inverse{};
    std::vector<int> order(perm);
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int d = 0; d < static_cast<int>(sorted.size()); ++d)
        if (sorted[d] != d || static_cast<int>(sorted.size()) != s.rank())
            detail::throw_error("permute: the order is not a permutation of the ", s.rank(),
                                " axes of shape ", s.str());
    Shape out_shape;
    for (int d = 0; d < s.rank(); ++d) {
        p[d] = order[d];
        inverse[order[d]] = d;
        out_shape.push_back(s[order[d]]);
    }
    auto y = Tensor<B, T>::empty(out_shape);
    B::permute(y.data(), xv.data(), s, p, false);
    const int ix = x.index;
    return g.record("permute", y, {x}, [=](Graph<B, T>& g, int self) {
        B::permute(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), out_shape, inverse, true);
    });
}

// Elements [begin, end) along `axis`.
template <Backend B, Scalar T>
Var<B, T> slice(const Var<B, T>& x, int axis, index_t begin, index_t end) {
    auto& g = detail::graph_of("slice", x);
    const auto& xv = x.value();
    const Shape& s = xv.shape();
    const int a = s.normalize(axis);
    if (begin < 0 || end < begin || end > s[a])
        detail::throw_error("slice: range [", begin, ", ", end, ") is outside axis ", axis, " of shape ",
                            s.str());
    Shape out_shape = s;
    out_shape[a] = end - begin;
    const index_t outer = s.outer(a), n = s[a], inner = s.inner(a), count = end - begin;
    auto y = Tensor<B, T>::empty(out_shape);
    B::copy_along_axis(y.data(), count, index_t{0}, xv.data(), n, begin, outer, count, inner, false);
    const int ix = x.index;
    return g.record("slice", y, {x}, [=](Graph<B, T>& g, int self) {
        B::copy_along_axis(g.grad_buffer(ix).data(), n, begin, g.grad_buffer(self).data(), count, index_t{0},
                           outer, count, inner, true);
    });
}

// Pieces of the given sizes along `axis`, which must add up to its length.
template <Backend B, Scalar T>
std::vector<Var<B, T>> split(const Var<B, T>& x, int axis, const std::vector<index_t>& sizes) {
    index_t total = 0;
    for (index_t n : sizes) total += n;
    if (total != x.shape()[axis])
        detail::throw_error("split: sizes add up to ", total, " but axis ", axis, " of shape ",
                            x.shape().str(), " has ", x.shape()[axis]);
    std::vector<Var<B, T>> parts;
    index_t begin = 0;
    for (index_t n : sizes) {
        parts.push_back(slice(x, axis, begin, begin + n));
        begin += n;
    }
    return parts;
}

// Joins inputs along `axis`; every other dimension must agree.
template <Backend B, Scalar T>
Var<B, T> concat(const std::vector<Var<B, T>>& xs, int axis) {
    if (xs.empty()) detail::throw_error("concat: no inputs");
    auto& g = detail::graph_of("concat", xs[0]);
    const Shape& s0 = xs[0].shape();
    const int a = s0.normalize(axis);
    Shape out_shape = s0;
    out_shape[a] = 0;
    for (const auto& x : xs) {
        const Shape& s = x.shape();
        bool same = s.rank() == s0.rank();
        for (int d = 0; same && d < s.rank(); ++d) same = d == a || s[d] == s0[d];
        if (!same)
            detail::throw_error("concat: shape mismatch along axis ", axis, ", ", s0.str(), " and ", s.str());
        out_shape[a] += s[a];
    }
    const index_t outer = s0.outer(a), inner = s0.inner(a), total = out_shape[a];
    auto y = Tensor<B, T>::empty(out_shape);
    index_t offset = 0;
    for (const auto& x : xs) {
        const index_t n = x.shape()[a];
        B::copy_along_axis(y.data(), total, offset, x.value().data(), n, index_t{0}, outer, n, inner, false);
        offset += n;
    }
    // The backward needs each input's slot and length along the axis, not its value.
    std::vector<std::pair<int, index_t>> parts;
    for (const auto& x : xs) parts.emplace_back(x.index, x.shape()[a]);
    return g.record("concat", y, xs, [=](Graph<B, T>& g, int self) {
        index_t offset = 0;
        for (const auto& [index, n] : parts) {
            if (g.needs_grad(index))
                B::copy_along_axis(g.grad_buffer(index).data(), n, index_t{0}, g.grad_buffer(self).data(),
                                   total, offset, outer, n, inner, true);
            offset += n;
        }
    });
}

// out[i] = x[ids[i]] along the first axis; rows gathered for ids equal to `no_grad_id`
// pass no gradient back (nn.Embedding's padding_idx; -1, the default, is no id).
// shapes: x [rows, ...]; ids [n]; out [n, ...]
template <Backend B, Scalar T>
Var<B, T> gather_rows(const Var<B, T>& x, const Ids<B>& ids, std::int64_t no_grad_id = -1) {
    auto& g = detail::graph_of("gather_rows", x);
    const auto& xv = x.value();
    detail::check_rank_at_least("gather_rows", xv.shape(), 1);
    if (ids.rank() != 1)
        detail::throw_error("gather_rows: expected ids [n], found shape ", ids.shape().str());
    const index_t rows = xv.size(0), dim = xv.shape().inner(0), n = ids.numel();
    detail::check_ids<B>("gather_rows", "ids", ids, rows);
    Shape out_shape = xv.shape();
    out_shape[0] = n;
    auto y = Tensor<B, T>::empty(out_shape);
    if (n) B::gather_rows(y.data(), xv.data(), ids.data(), n, dim);
    const int ix = x.index;
    return g.record("gather_rows", y, {x}, [=](Graph<B, T>& g, int self) {
        B::scatter_add_rows(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), ids.data(), n, dim,
                            no_grad_id);
    });
}

}  // namespace tandem
