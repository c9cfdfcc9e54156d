// Differentiable normalisations: layer norm over the last axis, L2 normalisation of
// rows, and the cosine-similarity matrix built from them.
// reference: torch.nn.functional.layer_norm, F.normalize(p=2, eps=1e-12),
// sentence_transformers.util.cos_sim.
#pragma once

#include <tandem/autograd/ops/matmul.hpp>

namespace tandem {

// shapes: x [..., d]; weight, bias [d]
template <Backend B, Scalar T>
Var<B, T> layer_norm(const Var<B, T>& x, const Var<B, T>& weight, const Var<B, T>& bias, T eps = T(1e-5)) {
    auto& g = detail::graph_of("layer_norm", x);
    const Tensor<B, T> xv = x.value(), wv = weight.value();
    const index_t cols = xv.shape().back(), rows = xv.numel() / std::max<index_t>(cols, 1);
    if (!(wv.shape() == Shape{cols}) || !(bias.shape() == Shape{cols}))
        detail::throw_error("layer_norm: shape mismatch, input ", xv.shape().str(), " with weight ",
                            wv.shape().str(), " and bias ", bias.shape().str());
    auto y = Tensor<B, T>::empty(xv.shape());
    auto mean = Tensor<B, T>::empty({rows}), rstd = Tensor<B, T>::empty({rows});
    B::layer_norm(y.data(), mean.data(), rstd.data(), xv.data(), wv.data(), bias.value().data(), rows, cols,
                  eps);
    const int ix = x.index, iw = weight.index, ib = bias.index;
    return g.record("layer_norm", y, {x, weight, bias}, [=](Graph<B, T>& g, int self) {
        // The kernel always writes dx; a scratch buffer takes it when x needs no gradient.
        Tensor<B, T> scratch;
        T* dx =
            g.needs_grad(ix) ? g.grad_buffer(ix).data() : (scratch = Tensor<B, T>::zeros(xv.shape())).data();
        T* dw = g.needs_grad(iw) ? g.grad_buffer(iw).data() : nullptr;
        T* db = g.needs_grad(ib) ? g.grad_buffer(ib).data() : nullptr;
        B::layer_norm_bwd(dx, dw, db, g.grad_buffer(self).data(), xv.data(), mean.data(), rstd.data(),
                          wv.data(), rows, cols);
    });
}

// x / max(||x||, eps) over the last axis.
template <Backend B, Scalar T>
Var<B, T> l2_normalize(const Var<B, T>& x, T eps = T(1e-12)) {
    auto& g = detail::graph_of("l2_normalize", x);
    const Tensor<B, T> xv = x.value();
    const index_t cols = xv.shape().back(), rows = xv.numel() / std::max<index_t>(cols, 1);
    auto y = Tensor<B, T>::empty(xv.shape());
    auto norm = Tensor<B, T>::empty({rows});
    B::l2_normalize(y.data(), norm.data(), xv.data(), rows, cols, eps);
    const int ix = x.index;
    return g.record("l2_normalize", y, {x}, [=](Graph<B, T>& g, int self) {
        B::l2_normalize_bwd(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), y.data(), norm.data(), rows,
                            cols, eps);
    });
}

// Cosine similarity of every row of a with every row of b.   shapes: a [n, d]; b [m, d]; out [n, m]
template <Backend B, Scalar T>
Var<B, T> cosine_similarity(const Var<B, T>& a, const Var<B, T>& b) {
    if (a.shape().rank() != 2 || b.shape().rank() != 2 || a.shape()[1] != b.shape()[1])
        detail::throw_error("cosine_similarity: shape mismatch, ", a.shape().str(), " and ", b.shape().str(),
                            " (expected [n, d] and [m, d])");
    return matmul(l2_normalize(a), l2_normalize(b), false, true);
}

}  // namespace tandem
