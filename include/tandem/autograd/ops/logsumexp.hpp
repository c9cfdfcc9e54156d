// Differentiable log-sum-exp over the last axis: the log-partition of a softmax, as the
// InfoNCE losses write it. reference: torch.logsumexp(x, dim=-1).
#pragma once

#include <tandem/autograd/ops/common.hpp>
#include <tandem/autograd/ops/reduce.hpp>

namespace tandem {

// log sum exp over the last axis, which is removed; -inf entries weigh nothing (masks).
template <Backend B, Scalar T>
Var<B, T> logsumexp(const Var<B, T>& x) {
    auto& g = detail::graph_of("logsumexp", x);
    const Tensor<B, T> xv = x.value();
    const Shape& s = xv.shape();
    detail::check_rank_at_least("logsumexp", s, 1);
    if (s.back() == 0) detail::throw_error("logsumexp: the last axis of shape ", s.str(), " is empty");
    const index_t cols = s.back(), rows = xv.numel() / cols;
    auto y = Tensor<B, T>::empty(detail::shape_without_axis(s, s.rank() - 1));
    if (rows) B::logsumexp(y.data(), xv.data(), rows, cols);
    const int ix = x.index;
    return g.record("logsumexp", y, {x}, [=](Graph<B, T>& g, int self) {
        if (rows)
            B::logsumexp_bwd(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), xv.data(), y.data(), rows,
                             cols);
    });
}

}  // namespace tandem
