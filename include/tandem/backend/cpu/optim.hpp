// Optimizer update kernels. reference: torch.optim.AdamW (decoupled weight decay,
// bias-corrected moments, eps added after the square root), torch.optim.SGD (momentum,
// dampening, nesterov, L2 weight decay) and torch.nn.utils.clip_grad_norm_.
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>

namespace tandem::cpu {

struct Optim {
    // One AdamW step for n parameters at 1-based step `step`.   shapes: param, grad, m, v [n]
    template <class T>
    static void adamw_step(T* param, const T* grad, T* m, T* v, index_t n, T lr, T beta1, T beta2, T eps,
                           T weight_decay, long step) {
        const T bias1 = T(1) - std::pow(beta1, T(step));
        const T bias2_sqrt = std::sqrt(T(1) - std::pow(beta2, T(step)));
        const T step_size = lr / bias1;
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i) {
            param[i] *= T(1) - lr * weight_decay;
            m[i] = beta1 * m[i] + (T(1) - beta1) * grad[i];
            v[i] = beta2 * v[i] + (T(1) - beta2) * grad[i] * grad[i];
            param[i] -= step_size * m[i] / (std::sqrt(v[i]) / bias2_sqrt + eps);
        }
    }

    // One SGD step for n parameters. `first` starts the momentum buffer from the gradient
    // (torch's buffer is None before the first step); with momentum 0 the buffer is unused
    // and may be null.   shapes: param, grad, momentum_buffer [n]
    template <class T>
    static void sgd_step(T* param, const T* grad, T* momentum_buffer, index_t n, T lr, T momentum,
                         T dampening, T weight_decay, bool nesterov, bool first) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i) {
            T g = grad[i] + weight_decay * param[i];
            if (momentum != T(0)) {
                const T b = first ? g : momentum * momentum_buffer[i] + (T(1) - dampening) * g;
                momentum_buffer[i] = b;
                g = nesterov ? g + momentum * b : b;
            }
            param[i] -= lr * g;
        }
    }

    // out[0] = sum of x[i]^2, in the fixed chunks of sum_all (the same bits at any thread
    // count): the squared 2-norm that gradient clipping takes over the gradient arena.
    // shapes: x [n], out [1]
    template <class T>
    static void sum_squares(T* out, const T* x, index_t n) {
        T total = T(0);
        detail::accumulate_columns(&total, n, 1, [&](index_t r, index_t) { return x[r] * x[r]; });
        out[0] = total;
    }
};

}  // namespace tandem::cpu
