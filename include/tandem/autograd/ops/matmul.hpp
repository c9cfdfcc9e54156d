// Differentiable matrix products: matmul over batched [..., m, k] inputs and the
// fused linear layer y = x W^T + b with W stored [out, in] as torch.nn.Linear does.
// reference: torch.matmul, torch.nn.functional.linear.
#pragma once

#include <tandem/autograd/ops/common.hpp>

namespace tandem {

// op(a) @ op(b), where op transposes the last two axes when asked. a is [..., m, k]
// and b is either [k, n] (shared by every batch) or [..., k, n] with the same leading axes.
template <Backend B, Scalar T>
Var<B, T> matmul(const Var<B, T>& a, const Var<B, T>& b, bool trans_a = false, bool trans_b = false) {
    auto& g = detail::graph_of("matmul", a);
    const Tensor<B, T> av = a.value(), bv = b.value();
    const Shape &sa = av.shape(), &sb = bv.shape();
    detail::check_rank_at_least("matmul", sa, 2);
    detail::check_rank_at_least("matmul", sb, 2);
    const index_t m = trans_a ? sa[-1] : sa[-2], k = trans_a ? sa[-2] : sa[-1];
    const index_t kb = trans_b ? sb[-1] : sb[-2], n = trans_b ? sb[-2] : sb[-1];
    const bool shared_b = sb.rank() == 2;
    const index_t batch = sa.numel() / (sa[-1] * sa[-2] == 0 ? 1 : sa[-1] * sa[-2]);
    bool ok = k == kb;
    if (!shared_b) {
        ok = ok && sb.rank() == sa.rank();
        for (int d = 0; ok && d < sa.rank() - 2; ++d) ok = sa[d] == sb[d];
    }
    if (!ok)
        detail::throw_error("matmul: shape mismatch, ", sa.str(), (trans_a ? "^T" : ""), " and ", sb.str(),
                            (trans_b ? "^T" : ""));
    Shape out_shape = sa;
    out_shape[-2] = m;
    out_shape[-1] = n;
    auto y = Tensor<B, T>::empty(out_shape);
    const index_t lda = sa[-1], ldb = sb[-1];
    const index_t stride_a = sa[-1] * sa[-2], stride_b = shared_b ? 0 : sb[-1] * sb[-2];
    if (shared_b && !trans_a) {
        // All batches against one matrix: a single GEMM over the stacked rows.
        B::gemm(false, trans_b, batch * m, n, k, T(1), av.data(), lda, bv.data(), ldb, T(0), y.data(), n);
    } else {
        B::gemm_batched(trans_a, trans_b, m, n, k, T(1), av.data(), lda, stride_a, bv.data(), ldb, stride_b,
                        T(0), y.data(), n, m * n, batch);
    }
    // dA reads B and dB reads A: keep each only if the other side needs a gradient.
    const int slot_a = a.index, slot_b = b.index;
    const Tensor<B, T> as = g.needs_grad(slot_b) ? av : Tensor<B, T>{},
                       bs = g.needs_grad(slot_a) ? bv : Tensor<B, T>{};
    return g.record("matmul", y, {a, b}, [=](Graph<B, T>& g, int self) {
        const T* dy = g.grad_buffer(self).data();
        if (g.needs_grad(slot_a)) {
            // dA = dY op(B)^T, or its transpose when A was used transposed.
            T* da = g.grad_buffer(slot_a).data();
            if (!trans_a)
                B::gemm_batched(false, !trans_b, m, k, n, T(1), dy, n, m * n, bs.data(), ldb, stride_b, T(1),
                                da, lda, stride_a, batch);
            else
                B::gemm_batched(trans_b, true, k, m, n, T(1), bs.data(), ldb, stride_b, dy, n, m * n, T(1),
                                da, lda, stride_a, batch);
        }
        if (g.needs_grad(slot_b)) {
            T* db = g.grad_buffer(slot_b).data();
            if (shared_b && !trans_a) {
                if (!trans_b)
                    B::gemm(true, false, k, n, batch * m, T(1), as.data(), lda, dy, n, T(1), db, ldb);
                else
                    B::gemm(true, false, n, k, batch * m, T(1), dy, n, as.data(), lda, T(1), db, ldb);
            } else {
                // Per batch: dB = op(A)^T dY (or its transpose); a shared B sums over batches.
                for (index_t i = 0; i < (shared_b ? batch : 1); ++i) {
                    const index_t count = shared_b ? 1 : batch, ia = shared_b ? i : 0;
                    if (!trans_b)
                        B::gemm_batched(!trans_a, false, k, n, m, T(1), as.data() + ia * stride_a, lda,
                                        stride_a, dy + ia * m * n, n, m * n, T(1), db, ldb, stride_b, count);
                    else
                        B::gemm_batched(true, trans_a, n, k, m, T(1), dy + ia * m * n, n, m * n,
                                        as.data() + ia * stride_a, lda, stride_a, T(1), db, ldb, stride_b,
                                        count);
                }
            }
        }
    });
}

// y = x W^T + b.   shapes: x [..., in]; weight [out, in]; bias [out]; y [..., out]
template <Backend B, Scalar T>
Var<B, T> linear(const Var<B, T>& x, const Var<B, T>& weight, const Var<B, T>* bias = nullptr) {
    auto& g = detail::graph_of("linear", x);
    const Tensor<B, T> xv = x.value(), wv = weight.value();
    const Shape &sx = xv.shape(), &sw = wv.shape();
    detail::check_rank_at_least("linear", sx, 1);
    if (sw.rank() != 2 || sw[1] != sx[-1])
        detail::throw_error("linear: shape mismatch, input ", sx.str(), " and weight ", sw.str(),
                            " (expected weight [out, ", sx[-1], "])");
    if (bias && !(bias->shape() == Shape{sw[0]}))
        detail::throw_error("linear: shape mismatch, weight ", sw.str(), " and bias ", bias->shape().str());
    const index_t rows = sx.numel() / sx[-1], in = sw[1], out = sw[0];
    Shape out_shape = sx;
    out_shape[-1] = out;
    auto y = Tensor<B, T>::empty(out_shape);
    B::gemm(false, true, rows, out, in, T(1), xv.data(), in, wv.data(), in, T(0), y.data(), out);
    if (bias) B::binary(BinaryOp::Add, y.data(), y.data(), y.numel(), bias->value().data(), out);
    std::vector<Var<B, T>> inputs = {x, weight};
    if (bias) inputs.push_back(*bias);
    // dx reads W and dW reads x: keep each only if the other side needs a gradient.
    const int ix = x.index, iw = weight.index, ib = bias ? bias->index : -1;
    const Tensor<B, T> xs = g.needs_grad(iw) ? xv : Tensor<B, T>{},
                       ws = g.needs_grad(ix) ? wv : Tensor<B, T>{};
    return g.record("linear", y, inputs, [=](Graph<B, T>& g, int self) {
        const T* dy = g.grad_buffer(self).data();
        if (g.needs_grad(ix))
            B::gemm(false, false, rows, in, out, T(1), dy, out, ws.data(), in, T(1), g.grad_buffer(ix).data(),
                    in);
        if (g.needs_grad(iw))
            B::gemm(true, false, out, in, rows, T(1), dy, out, xs.data(), in, T(1), g.grad_buffer(iw).data(),
                    in);
        if (g.needs_grad(ib))
            // db += column sums of dy: the bias gradient of a broadcast add.
            B::binary_bwd(BinaryOp::Add, static_cast<T*>(nullptr), g.grad_buffer(ib).data(), dy, dy,
                          rows * out, dy, out);
    });
}

}  // namespace tandem
