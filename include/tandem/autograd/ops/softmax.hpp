// Differentiable softmax and log-softmax over the last axis.
// reference: torch.softmax(dim=-1), torch.log_softmax(dim=-1).
#pragma once

#include <tandem/autograd/ops/common.hpp>

namespace tandem {

namespace detail {
template <Backend B, Scalar T>
Var<B, T> softmax_op(std::string_view name, const Var<B, T>& x, bool log) {
    auto& g = graph_of(name, x);
    const Tensor<B, T> xv = x.value();
    const index_t cols = xv.shape().back(), rows = xv.numel() / std::max<index_t>(cols, 1);
    auto y = Tensor<B, T>::empty(xv.shape());
    B::softmax(y.data(), xv.data(), rows, cols, log);
    const int ix = x.index;
    return g.record(name, y, {x}, [=](Graph<B, T>& g, int self) {
        B::softmax_bwd(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), y.data(), rows, cols, log);
    });
}
}  // namespace detail

template <Backend B, Scalar T>
Var<B, T> softmax(const Var<B, T>& x) {
    return detail::softmax_op("softmax", x, false);
}
template <Backend B, Scalar T>
Var<B, T> log_softmax(const Var<B, T>& x) {
    return detail::softmax_op("log_softmax", x, true);
}

}  // namespace tandem
