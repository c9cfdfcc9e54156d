// Row softmax, log-softmax and the fused softmax cross-entropy with integer targets
// and label smoothing. reference: torch.softmax, torch.log_softmax,
// torch.nn.functional.cross_entropy(label_smoothing=..., ignore_index=-100).
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>

#include <cstdint>
#include <limits>

namespace tandem::cpu {

struct Softmax {
    // y = softmax(x) per row, or log_softmax with `log`.   shapes: x, y [rows, cols]
    template <class T>
    static void softmax(T* y, const T* x, index_t rows, index_t cols, bool log = false) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            const T* xr = x + r * cols;
            T* yr = y + r * cols;
            T m = -std::numeric_limits<T>::infinity();
            for (index_t c = 0; c < cols; ++c) m = std::max(m, xr[c]);
            if (log) {
                T sum = T(0);
                for (index_t c = 0; c < cols; ++c) sum += std::exp(xr[c] - m);
                const T lse = m + std::log(sum);
                for (index_t c = 0; c < cols; ++c) yr[c] = xr[c] - lse;
            } else {
                // One exp per element: y holds exp(x - m) until the row is scaled (x may be y).
                T sum = T(0);
                for (index_t c = 0; c < cols; ++c) sum += (yr[c] = detail::exp_of(xr[c] - m));
                const T inverse = T(1) / sum;
                for (index_t c = 0; c < cols; ++c) yr[c] *= inverse;
            }
        }
    }

    // softmax: dx += y * (dy - sum(dy * y)); log_softmax: dx += dy - exp(y) * sum(dy).
    template <class T>
    static void softmax_bwd(T* dx, const T* dy, const T* y, index_t rows, index_t cols, bool log = false) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            const T* dyr = dy + r * cols;
            const T* yr = y + r * cols;
            T* dxr = dx + r * cols;
            T dot = T(0);
            for (index_t c = 0; c < cols; ++c) dot += log ? dyr[c] : dyr[c] * yr[c];
            for (index_t c = 0; c < cols; ++c)
                dxr[c] += log ? dyr[c] - std::exp(yr[c]) * dot : yr[c] * (dyr[c] - dot);
        }
    }

    // loss[r] = (1 - eps) * -log p[r, t_r] + eps * mean_c(-log p[r, c]); 0 where t_r == ignore_index.
    // probs keeps softmax(logits) for the backward pass.
    // shapes: logits, probs [rows, cols]; targets, loss [rows]
    template <class T>
    static void cross_entropy(T* loss, T* probs, const T* logits, const std::int64_t* targets, index_t rows,
                              index_t cols, T label_smoothing, std::int64_t ignore_index) {
        softmax(probs, logits, rows, cols);
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            if (targets[r] == ignore_index) {
                loss[r] = T(0);
                continue;
            }
            const T* xr = logits + r * cols;
            T m = -std::numeric_limits<T>::infinity();
            for (index_t c = 0; c < cols; ++c) m = std::max(m, xr[c]);
            T sum = T(0), mean_logit = T(0);
            for (index_t c = 0; c < cols; ++c) {
                sum += std::exp(xr[c] - m);
                mean_logit += xr[c];
            }
            const T lse = m + std::log(sum);
            mean_logit /= T(cols);
            loss[r] =
                (T(1) - label_smoothing) * (lse - xr[targets[r]]) + label_smoothing * (lse - mean_logit);
        }
    }

    // dlogits[r] += dloss[r] * (probs[r] - q[r]), q = (1 - eps) onehot(t_r) + eps / cols.
    template <class T>
    static void cross_entropy_bwd(T* dlogits, const T* dloss, const T* probs, const std::int64_t* targets,
                                  index_t rows, index_t cols, T label_smoothing, std::int64_t ignore_index) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            if (targets[r] == ignore_index) continue;
            const T g = dloss[r];
            for (index_t c = 0; c < cols; ++c) {
                const T q = label_smoothing / T(cols) + (c == targets[r] ? T(1) - label_smoothing : T(0));
                dlogits[r * cols + c] += g * (probs[r * cols + c] - q);
            }
        }
    }

    // loss[i] = max(x, 0) - x * y + log(1 + exp(-|x|)).   reference: binary_cross_entropy_with_logits
    template <class T>
    static void bce_with_logits(T* loss, const T* x, const T* y, index_t n) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i)
            loss[i] = std::max(x[i], T(0)) - x[i] * y[i] + std::log1p(std::exp(-std::abs(x[i])));
    }

    // dx[i] += dloss[i] * (sigmoid(x) - y); dy[i] += dloss[i] * -x (either may be null).
    template <class T>
    static void bce_with_logits_bwd(T* dx, T* dy, const T* dloss, const T* x, const T* y, index_t n) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i) {
            if (dx) dx[i] += dloss[i] * (detail::sigmoid(x[i]) - y[i]);
            if (dy) dy[i] -= dloss[i] * x[i];
        }
    }
};

}  // namespace tandem::cpu
