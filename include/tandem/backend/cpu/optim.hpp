// Optimizer update kernels. reference: torch.optim.AdamW (decoupled weight decay,
// bias-corrected moments, eps added after the square root).
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
};

}  // namespace tandem::cpu
