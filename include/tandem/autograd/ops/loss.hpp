// Differentiable loss primitives with mean reduction: softmax cross-entropy with
// integer targets and label smoothing, and binary cross-entropy with logits.
// reference: torch.nn.functional.cross_entropy, binary_cross_entropy_with_logits.
#pragma once

#include <tandem/autograd/ops/common.hpp>

#include <cstdint>

namespace tandem {

// Mean over rows whose target is not ignore_index.   shapes: logits [rows, classes]; targets [rows]
template <Backend B, Scalar T>
Var<B, T> cross_entropy(const Var<B, T>& logits, const Ids<B>& targets, T label_smoothing = T(0),
                        std::int64_t ignore_index = -100) {
    auto& g = detail::graph_of("cross_entropy", logits);
    const Tensor<B, T> xv = logits.value();
    if (xv.rank() != 2 || !(targets.shape() == Shape{xv.size(0)}))
        detail::throw_error("cross_entropy: shape mismatch, logits ", xv.shape().str(), " and targets ",
                            targets.shape().str(), " (expected logits [rows, classes] and targets [rows])");
    const index_t rows = xv.size(0), cols = xv.size(1);
    const detail::IndexRange range = detail::index_range<B>(targets, ignore_index);
    if (range.count == 0)
        detail::throw_error("cross_entropy: every target is ignore_index; the mean is undefined");
    if (range.min < 0 || range.max >= cols)
        detail::throw_error("cross_entropy: targets range over [", range.min, ", ", range.max,
                            "], outside the classes [0, ", cols, ")");
    const index_t valid = range.count;
    auto probs = Tensor<B, T>::empty(xv.shape());
    auto per_row = Tensor<B, T>::empty({rows});
    B::cross_entropy(per_row.data(), probs.data(), xv.data(), targets.data(), rows, cols, label_smoothing,
                     ignore_index);
    auto loss = Tensor<B, T>::empty(Shape{});
    B::sum_all(loss.data(), per_row.data(), rows);
    B::scale(loss.data(), loss.data(), T(1) / T(valid), 1);
    const int ix = logits.index;
    return g.record("cross_entropy", loss, {logits}, [=](Graph<B, T>& g, int self) {
        auto dloss = Tensor<B, T>::zeros({rows});
        B::sum_axis_bwd(dloss.data(), g.grad_buffer(self).data(), T(1) / T(valid), index_t{1}, rows,
                        index_t{1});
        B::cross_entropy_bwd(g.grad_buffer(ix).data(), dloss.data(), probs.data(), targets.data(), rows, cols,
                             label_smoothing, ignore_index);
    });
}

// Mean of max(x, 0) - x y + log(1 + exp(-|x|)) over all elements.   shapes: logits, targets the same
template <Backend B, Scalar T>
Var<B, T> binary_cross_entropy_with_logits(const Var<B, T>& logits, const Var<B, T>& targets) {
    auto& g = detail::graph_of("binary_cross_entropy_with_logits", logits);
    const Tensor<B, T> xv = logits.value(), yv = targets.value();
    detail::check_same_shape("binary_cross_entropy_with_logits", xv.shape(), yv.shape());
    const index_t n = xv.numel();
    if (n == 0) detail::throw_error("binary_cross_entropy_with_logits: the input is empty");
    auto per_elem = Tensor<B, T>::empty(xv.shape());
    B::bce_with_logits(per_elem.data(), xv.data(), yv.data(), n);
    auto loss = Tensor<B, T>::empty(Shape{});
    B::sum_all(loss.data(), per_elem.data(), n);
    B::scale(loss.data(), loss.data(), T(1) / T(n), 1);
    const int ix = logits.index, iy = targets.index;
    return g.record(
        "binary_cross_entropy_with_logits", loss, {logits, targets}, [=](Graph<B, T>& g, int self) {
            auto dloss = Tensor<B, T>::zeros(xv.shape());
            B::sum_axis_bwd(dloss.data(), g.grad_buffer(self).data(), T(1) / T(n), index_t{1}, n, index_t{1});
            T* dx = g.needs_grad(ix) ? g.grad_buffer(ix).data() : nullptr;
            T* dy = g.needs_grad(iy) ? g.grad_buffer(iy).data() : nullptr;
            B::bce_with_logits_bwd(dx, dy, dloss.data(), xv.data(), yv.data(), n);
        });
}

}  // namespace tandem
