// Differentiable elementwise ops: add, sub, mul, div with trailing broadcast (a bias,
// a per-feature scale, a scalar), scaling, and the unary activations.
// reference: torch.add / sub / mul / div, torch.exp, torch.nn.functional.gelu, ...
#pragma once

#include <tandem/autograd/ops/common.hpp>

namespace tandem {

namespace detail {
template <Backend B, Scalar T>
Var<B, T> binary_op(std::string_view name, BinaryOp op, Var<B, T> a, Var<B, T> b) {
    auto& g = graph_of(name, a);
    if (!broadcasts_over(a.shape(), b.shape())) {
        const bool commutes = op == BinaryOp::Add || op == BinaryOp::Mul;
        if (!commutes || !broadcasts_over(b.shape(), a.shape()))
            throw_error(name, ": shape mismatch, ", a.shape().str(), " and ", b.shape().str(),
                        " (the second must equal the first, its trailing dimensions, or have one element)");
        std::swap(a, b);
    }
    const Tensor<B, T> av = a.value(), bv = b.value();
    auto out = Tensor<B, T>::empty(av.shape());
    B::binary(op, out.data(), av.data(), av.numel(), bv.data(), bv.numel());
    // Sums and differences need no values in their backward; products and quotients do.
    const bool keep = op == BinaryOp::Mul || op == BinaryOp::Div;
    const Tensor<B, T> as = keep ? av : Tensor<B, T>{}, bs = keep ? bv : Tensor<B, T>{};
    const index_t n = av.numel(), nb = bv.numel();
    const int ia = a.index, ib = b.index;
    return g.record(name, out, {a, b}, [=](Graph<B, T>& g, int self) {
        T* da = g.needs_grad(ia) ? g.grad_buffer(ia).data() : nullptr;
        T* db = g.needs_grad(ib) ? g.grad_buffer(ib).data() : nullptr;
        B::binary_bwd(op, da, db, g.grad_buffer(self).data(), as.data(), n, bs.data(), nb);
    });
}

template <Backend B, Scalar T>
Var<B, T> unary_op(std::string_view name, UnaryOp op, const Var<B, T>& x) {
    auto& g = graph_of(name, x);
    const Tensor<B, T> xv = x.value();
    auto y = Tensor<B, T>::empty(xv.shape());
    B::unary(op, y.data(), xv.data(), xv.numel());
    const int ix = x.index;
    return g.record(name, y, {x}, [=](Graph<B, T>& g, int self) {
        B::unary_bwd(op, g.grad_buffer(ix).data(), g.grad_buffer(self).data(), xv.data(), y.data(),
                     xv.numel());
    });
}
}  // namespace detail

template <Backend B, Scalar T>
Var<B, T> add(const Var<B, T>& a, const Var<B, T>& b) {
    return detail::binary_op("add", BinaryOp::Add, a, b);
}
template <Backend B, Scalar T>
Var<B, T> sub(const Var<B, T>& a, const Var<B, T>& b) {
    return detail::binary_op("sub", BinaryOp::Sub, a, b);
}
template <Backend B, Scalar T>
Var<B, T> mul(const Var<B, T>& a, const Var<B, T>& b) {
    return detail::binary_op("mul", BinaryOp::Mul, a, b);
}
template <Backend B, Scalar T>
Var<B, T> div(const Var<B, T>& a, const Var<B, T>& b) {
    return detail::binary_op("div", BinaryOp::Div, a, b);
}

// alpha * x for a constant alpha.
template <Backend B, Scalar T>
Var<B, T> scale(const Var<B, T>& x, T alpha) {
    auto& g = detail::graph_of("scale", x);
    const auto& xv = x.value();
    auto y = Tensor<B, T>::empty(xv.shape());
    B::scale(y.data(), xv.data(), alpha, xv.numel());
    const index_t n = y.numel();
    const int ix = x.index;
    return g.record("scale", y, {x}, [=](Graph<B, T>& g, int self) {
        B::scale(g.grad_buffer(ix).data(), g.grad_buffer(self).data(), alpha, n, true);
    });
}

template <Backend B, Scalar T>
Var<B, T> exp(const Var<B, T>& x) {
    return detail::unary_op("exp", UnaryOp::Exp, x);
}
template <Backend B, Scalar T>
Var<B, T> log(const Var<B, T>& x) {
    return detail::unary_op("log", UnaryOp::Log, x);
}
template <Backend B, Scalar T>
Var<B, T> sigmoid(const Var<B, T>& x) {
    return detail::unary_op("sigmoid", UnaryOp::Sigmoid, x);
}
template <Backend B, Scalar T>
Var<B, T> log_sigmoid(const Var<B, T>& x) {
    return detail::unary_op("log_sigmoid", UnaryOp::LogSigmoid, x);
}
template <Backend B, Scalar T>
Var<B, T> relu(const Var<B, T>& x) {
    return detail::unary_op("relu", UnaryOp::Relu, x);
}
template <Backend B, Scalar T>
Var<B, T> tanh(const Var<B, T>& x) {
    return detail::unary_op("tanh", UnaryOp::Tanh, x);
}
template <Backend B, Scalar T>
Var<B, T> gelu(const Var<B, T>& x) {
    return detail::unary_op("gelu", UnaryOp::Gelu, x);
}
template <Backend B, Scalar T>
Var<B, T> gelu_tanh(const Var<B, T>& x) {
    return detail::unary_op("gelu_tanh", UnaryOp::GeluTanh, x);
}
template <Backend B, Scalar T>
Var<B, T> quick_gelu(const Var<B, T>& x) {
    return detail::unary_op("quick_gelu", UnaryOp::QuickGelu, x);
}
template <Backend B, Scalar T>
Var<B, T> abs(const Var<B, T>& x) {
    return detail::unary_op("abs", UnaryOp::Abs, x);
}
template <Backend B, Scalar T>
Var<B, T> sqrt(const Var<B, T>& x) {
    return detail::unary_op("sqrt", UnaryOp::Sqrt, x);
}

}  // namespace tandem
