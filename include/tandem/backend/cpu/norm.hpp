// Layer normalisation and row-wise L2 normalisation, forward and backward.
// reference: torch.nn.functional.layer_norm, torch.nn.functional.normalize(p=2).
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>

namespace tandem::cpu {

struct Norm {
    // y = (x - mean) * rstd * w + b per row; mean and rstd are kept for the backward pass.
    // shapes: x, y [rows, cols]; w, b [cols]; mean, rstd [rows]
    template <class T>
    static void layer_norm(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, index_t rows,
                           index_t cols, T eps) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            const T* xr = x + r * cols;
            T m = T(0);
            for (index_t c = 0; c < cols; ++c) m += xr[c];
            m /= T(cols);
            T var = T(0);
            for (index_t c = 0; c < cols; ++c) var += (xr[c] - m) * (xr[c] - m);
            var /= T(cols);
            const T s = T(1) / std::sqrt(var + eps);
            T* yr = y + r * cols;
            for (index_t c = 0; c < cols; ++c) yr[c] = (xr[c] - m) * s * w[c] + b[c];
            mean[r] = m;
            rstd[r] = s;
        }
    }

    // dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w; dw += sum dy * xhat; db += sum dy.
    template <class T>
    static void layer_norm_bwd(T* dx, T* dw, T* db, const T* dy, const T* x, const T* mean, const T* rstd,
                               const T* w, index_t rows, index_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            const T* xr = x + r * cols;
            const T* dyr = dy + r * cols;
            T mean_g = T(0), mean_gx = T(0);
            for (index_t c = 0; c < cols; ++c) {
                const T g = dyr[c] * w[c];
                mean_g += g;
                mean_gx += g * (xr[c] - mean[r]) * rstd[r];
            }
            mean_g /= T(cols);
            mean_gx /= T(cols);
            T* dxr = dx + r * cols;
            for (index_t c = 0; c < cols; ++c) {
                const T xhat = (xr[c] - mean[r]) * rstd[r];
                dxr[c] += rstd[r] * (dyr[c] * w[c] - mean_g - xhat * mean_gx);
            }
        }
        if (dw)
            detail::accumulate_columns(dw, rows, cols, [&](index_t r, index_t c) {
                return dy[r * cols + c] * (x[r * cols + c] - mean[r]) * rstd[r];
            });
        if (db)
            detail::accumulate_columns(db, rows, cols,
                                       [&](index_t r, index_t c) { return dy[r * cols + c]; });
    }

    // y = x / max(||x||, eps) per row.   shapes: x, y [rows, cols]; norm [rows]
    template <class T>
    static void l2_normalize(T* y, T* norm, const T* x, index_t rows, index_t cols, T eps) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            T ss = T(0);
            for (index_t c = 0; c < cols; ++c) ss += x[r * cols + c] * x[r * cols + c];
            norm[r] = std::sqrt(ss);
            const T d = std::max(norm[r], eps);
            for (index_t c = 0; c < cols; ++c) y[r * cols + c] = x[r * cols + c] / d;
        }
    }

    // Where ||x|| > eps: dx += (dy - y (y . dy)) / ||x||; elsewhere dx += dy / eps.
    template <class T>
    static void l2_normalize_bwd(T* dx, const T* dy, const T* y, const T* norm, index_t rows, index_t cols,
                                 T eps) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            const T* yr = y + r * cols;
            const T* dyr = dy + r * cols;
            T* dxr = dx + r * cols;
            if (norm[r] > eps) {
                T dot = T(0);
                for (index_t c = 0; c < cols; ++c) dot += yr[c] * dyr[c];
                for (index_t c = 0; c < cols; ++c) dxr[c] += (dyr[c] - yr[c] * dot) / norm[r];
            } else {
                for (index_t c = 0; c < cols; ++c) dxr[c] += dyr[c] / eps;
            }
        }
    }
};

}  // namespace tandem::cpu
