// Differentiable clamping to [lo, hi]. reference: torch.clamp(x, min, max).
#pragma once

#include <tandem/autograd/ops/common.hpp>

namespace tandem {

// min(max(x, lo), hi); the gradient passes where lo <= x <= hi, as torch routes it.
template <Backend B, Scalar T>
Var<B, T> clamp(const Var<B, T>& x, T lo, T hi) {
    auto& g = detail::graph_of("clamp", x);
    if (!(lo <= hi)) detail::throw_error("clamp: the lower bound ", lo, " exceeds the upper bound ", hi);
    const Tensor<B, T> xv = x.value();
    auto y = Tensor<B, T>::empty(xv.shape());
    const index_t n = xv.numel();
    if (n) B::clamp(y.data(), xv.data(), lo, hi, n);
    const int ix = x.index;
    return g.record("clamp", y, {x}, [=](Graph<B, T>& g, int self) {
        if (n) B::clamp_bwd(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), xv.data(), lo, hi, n);
    });
}

}  // namespace tandem
