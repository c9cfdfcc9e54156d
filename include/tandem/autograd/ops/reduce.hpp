// Differentiable sums and means, over everything or over one axis.
// reference: torch.sum, torch.mean (dim=None or one dim, keepdim=False).
#pragma once

#include <tandem/autograd/ops/common.hpp>

#include <cstdint>

namespace tandem {

namespace detail {
inline Shape shape_without_axis(const Shape& s, int axis) {
    Shape out;
    for (int d = 0; d < s.rank(); ++d)
        if (d != axis) out.push_back(s[d]);
    return out;
}

template <Backend B, Scalar T>
Var<B, T> sum_all_scaled(std::string_view name, const Var<B, T>& x, T alpha) {
    auto& g = graph_of(name, x);
    const auto& xv = x.value();
    auto y = Tensor<B, T>::empty(Shape{});
    B::sum_all(y.data(), xv.data(), xv.numel());
    if (alpha != T(1)) B::scale(y.data(), y.data(), alpha, 1);
    const index_t n = xv.numel();
    const int ix = x.index;
    return g.record(name, y, {x}, [=](Graph<B, T>& g, int self) {
        B::sum_axis_bwd(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), alpha, index_t{1}, n,
                        index_t{1});
    });
}

template <Backend B, Scalar T>
Var<B, T> sum_axis_scaled(std::string_view name, const Var<B, T>& x, int axis, T alpha) {
    auto& g = graph_of(name, x);
    const auto& xv = x.value();
    const Shape& s = xv.shape();
    const int a = s.normalize(axis);
    const Shape out_shape = shape_without_axis(s, a);
    const index_t outer = s.outer(a), n = s[a], inner = s.inner(a);
    auto y = Tensor<B, T>::empty(out_shape);
    B::sum_axis(y.data(), xv.data(), outer, n, inner);
    if (alpha != T(1)) B::scale(y.data(), y.data(), alpha, y.numel());
    const int ix = x.index;
    return g.record(name, y, {x}, [=](Graph<B, T>& g, int self) {
        B::sum_axis_bwd(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), alpha, outer, n, inner);
    });
}
}  // namespace detail

// The sum of every element, as a 0-dimensional tensor.
template <Backend B, Scalar T>
Var<B, T> sum(const Var<B, T>& x) {
    return detail::sum_all_scaled("sum", x, T(1));
}
template <Backend B, Scalar T>
Var<B, T> mean(const Var<B, T>& x) {
    const index_t n = x.value().numel();
    if (n == 0) detail::throw_error("mean: the input is empty (shape ", x.shape().str(), ")");
    return detail::sum_all_scaled("mean", x, T(1) / T(n));
}
// The sum over one axis, which is removed from the shape.
template <Backend B, Scalar T>
Var<B, T> sum(const Var<B, T>& x, int axis) {
    return detail::sum_axis_scaled("sum", x, axis, T(1));
}
template <Backend B, Scalar T>
Var<B, T> mean(const Var<B, T>& x, int axis) {
    const index_t n = x.shape()[axis];
    if (n == 0) detail::throw_error("mean: axis ", axis, " of shape ", x.shape().str(), " is empty");
    return detail::sum_axis_scaled("mean", x, axis, T(1) / T(n));
}

// The maximum over one axis, which is removed from the shape; the gradient goes to the
// first maximising element, as torch.max(x, dim) routes it.
template <Backend B, Scalar T>
Var<B, T> max(const Var<B, T>& x, int axis) {
    auto& g = detail::graph_of("max", x);
    const auto& xv = x.value();
    const Shape& s = xv.shape();
    const int a = s.normalize(axis);
    if (s[a] == 0) detail::throw_error("max: axis ", axis, " of shape ", s.str(), " is empty");
    const Shape out_shape = detail::shape_without_axis(s, a);
    const index_t outer = s.outer(a), n = s[a], inner = s.inner(a);
    auto y = Tensor<B, T>::empty(out_shape);
    auto argmax = Ids<B>::empty(out_shape);
    B::max_axis(y.data(), argmax.data(), xv.data(), outer, n, inner);
    const int ix = x.index;
    return g.record("max", y, {x}, [=](Graph<B, T>& g, int self) {
        B::max_axis_bwd(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), argmax.data(), outer, n, inner);
    });
}

}  // namespace tandem
