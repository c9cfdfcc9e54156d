// Elementwise kernels: binary ops with suffix broadcasting (b repeats over the leading
// axes of a, as a bias does), unary activations, and their backward passes.
// Backward kernels accumulate (+=) into their gradient outputs.
#pragma once

#include <tandem/backend/kernel_types.hpp>
#include <tandem/core/thread.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <numbers>
#include <vector>

namespace tandem {

namespace detail {

// exp in float without branches or calls, so loops over it vectorise (libm's expf is
// scalar). Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2, then a degree-7 Taylor
// polynomial: relative error about 2e-7 (two float ulps). Below -86.9 (where exp is
// below twice the smallest normal float) the result is 0, so masked attention scores
// still get exactly zero weight.
inline float exp_fast(float x) {
    const float clamped = std::min(std::max(x, -86.9f), 88.7f);
    const float n = std::floor(clamped * 1.44269504f + 0.5f);
    const float r = (clamped - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    // 2^(n-1) times 2: n reaches 128 near the top of the range, where 2^n is not a float.
    const float scale = std::bit_cast<float>((static_cast<std::int32_t>(n) + 126) << 23);
    return x < -86.9f ? 0.0f : p * scale * 2.0f;
}

// std::exp for double (gradient checks want libm's accuracy), exp_fast for float.
template <class T>
T exp_of(T x) {
    if constexpr (std::same_as<T, float>)
        return exp_fast(x);
    else
        return std::exp(x);
}

template <class T>
T sigmoid(T x) {
    // exp_of saturates instead of overflowing, so one branch-free form serves both signs.
    return T(1) / (T(1) + exp_of(-x));
}

template <class T>
struct GeluTanhParts {
    T t, inner_derivative;
};
template <class T>
GeluTanhParts<T> gelu_tanh_parts(T x) {
    const T c = T(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2/pi)
    const T u = c * (x + T(0.044715) * x * x * x);
    return {std::tanh(u), c * (T(1) + T(3 * 0.044715) * x * x)};
}

// y = f(x) for one unary op.
template <UnaryOp op, class T>
T unary_value(T x) {
    if constexpr (op == UnaryOp::Exp) return std::exp(x);
    if constexpr (op == UnaryOp::Log) return std::log(x);
    if constexpr (op == UnaryOp::Sigmoid) return sigmoid(x);
    if constexpr (op == UnaryOp::LogSigmoid) return std::min(x, T(0)) - std::log1p(std::exp(-std::abs(x)));
    if constexpr (op == UnaryOp::Relu) return x > 0 ? x : T(0);
    if constexpr (op == UnaryOp::Tanh) return std::tanh(x);
    if constexpr (op == UnaryOp::Gelu) return T(0.5) * x * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
    if constexpr (op == UnaryOp::GeluTanh) return T(0.5) * x * (T(1) + gelu_tanh_parts(x).t);
    if constexpr (op == UnaryOp::QuickGelu) return x * sigmoid(T(1.702) * x);
    if constexpr (op == UnaryOp::Abs) return std::abs(x);
    if constexpr (op == UnaryOp::Sqrt) return std::sqrt(x);
}

// dy/dx given x and y = f(x).
template <UnaryOp op, class T>
T unary_derivative(T x, T y) {
    if constexpr (op == UnaryOp::Exp) return y;
    if constexpr (op == UnaryOp::Log) return T(1) / x;
    if constexpr (op == UnaryOp::Sigmoid) return y * (T(1) - y);
    if constexpr (op == UnaryOp::LogSigmoid) return sigmoid(-x);
    if constexpr (op == UnaryOp::Relu) return x > 0 ? T(1) : T(0);
    if constexpr (op == UnaryOp::Tanh) return T(1) - y * y;
    if constexpr (op == UnaryOp::Gelu) {
        const T cdf = T(0.5) * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
        const T pdf = std::exp(T(-0.5) * x * x) * T(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
        return cdf + x * pdf;
    }
    if constexpr (op == UnaryOp::GeluTanh) {
        auto [t, du] = gelu_tanh_parts(x);
        return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
    }
    if constexpr (op == UnaryOp::QuickGelu) {
        const T s = sigmoid(T(1.702) * x);
        return s + T(1.702) * x * s * (T(1) - s);
    }
    if constexpr (op == UnaryOp::Abs) return x > 0 ? T(1) : x < 0 ? T(-1) : T(0);
    if constexpr (op == UnaryOp::Sqrt) return T(0.5) / y;
}

template <class F>
void dispatch_unary(UnaryOp op, F&& f) {
    switch (op) {
        case UnaryOp::Exp:
            return f.template operator()<UnaryOp::Exp>();
        case UnaryOp::Log:
            return f.template operator()<UnaryOp::Log>();
        case UnaryOp::Sigmoid:
            return f.template operator()<UnaryOp::Sigmoid>();
        case UnaryOp::LogSigmoid:
            return f.template operator()<UnaryOp::LogSigmoid>();
        case UnaryOp::Relu:
            return f.template operator()<UnaryOp::Relu>();
        case UnaryOp::Tanh:
            return f.template operator()<UnaryOp::Tanh>();
        case UnaryOp::Gelu:
            return f.template operator()<UnaryOp::Gelu>();
        case UnaryOp::GeluTanh:
            return f.template operator()<UnaryOp::GeluTanh>();
        case UnaryOp::QuickGelu:
            return f.template operator()<UnaryOp::QuickGelu>();
        case UnaryOp::Abs:
            return f.template operator()<UnaryOp::Abs>();
        case UnaryOp::Sqrt:
            return f.template operator()<UnaryOp::Sqrt>();
    }
}

// out[c] += sum over rows r of f(r, c), for a [rows, cols] layout. Rows are summed in
// fixed chunks whose partial sums are added in order, so the result does not depend on
// the number of threads.
template <class T, class F>
void accumulate_columns(T* out, index_t rows, index_t cols, F f) {
    constexpr index_t chunk = 64;
    const index_t chunks = (rows + chunk - 1) / chunk;
    if (chunks <= 1 || rows * cols < parallel_threshold) {
        for (index_t r = 0; r < rows; ++r)
            for (index_t c = 0; c < cols; ++c) out[c] += f(r, c);
        return;
    }
    std::vector<T> partial(static_cast<std::size_t>(chunks * cols), T(0));
#pragma omp parallel for schedule(static)
    for (index_t ch = 0; ch < chunks; ++ch) {
        T* p = partial.data() + ch * cols;
        for (index_t r = ch * chunk; r < std::min(rows, (ch + 1) * chunk); ++r)
            for (index_t c = 0; c < cols; ++c) p[c] += f(r, c);
    }
    for (index_t ch = 0; ch < chunks; ++ch)
        for (index_t c = 0; c < cols; ++c) out[c] += partial[ch * cols + c];
}
}  // namespace detail

namespace cpu {

struct Elementwise {
    // out[i] = a[i] op b[i % nb]; nb divides n (nb == n: same shape, nb == 1: a scalar).
    // shapes: out, a [n]; b [nb]
    template <class T>
    static void binary(BinaryOp op, T* out, const T* a, index_t n, const T* b, index_t nb) {
        // Rows of nb elements against b, so the inner loop is contiguous and vectorises.
        auto run = [&](auto f) {
            const index_t rows = nb ? n / nb : 0;
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
            for (index_t r = 0; r < rows; ++r) {
                const T* ar = a + r * nb;
                T* outr = out + r * nb;
                for (index_t c = 0; c < nb; ++c) outr[c] = f(ar[c], b[c]);
            }
        };
        switch (op) {
            case BinaryOp::Add:
                return run([](T x, T y) { return x + y; });
            case BinaryOp::Sub:
                return run([](T x, T y) { return x - y; });
            case BinaryOp::Mul:
                return run([](T x, T y) { return x * y; });
            case BinaryOp::Div:
                return run([](T x, T y) { return x / y; });
        }
    }

    // Gradients of binary(): da [n] += dout * d(a op b)/da; db [nb] += the same for b,
    // summed over the broadcast rows. Either of da, db may be null.
    template <class T>
    static void binary_bwd(BinaryOp op, T* da, T* db, const T* dout, const T* a, index_t n, const T* b,
                           index_t nb) {
        auto bi = [&](index_t i) { return b[nb == n ? i : i % nb]; };
        if (da) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
            for (index_t i = 0; i < n; ++i) {
                switch (op) {
                    case BinaryOp::Add:
                    case BinaryOp::Sub:
                        da[i] += dout[i];
                        break;
                    case BinaryOp::Mul:
                        da[i] += dout[i] * bi(i);
                        break;
                    case BinaryOp::Div:
                        da[i] += dout[i] / bi(i);
                        break;
                }
            }
        }
        if (db) {
            detail::accumulate_columns(db, n / nb, nb, [&](index_t r, index_t c) {
                const index_t i = r * nb + c;
                switch (op) {
                    case BinaryOp::Add:
                        return dout[i];
                    case BinaryOp::Sub:
                        return -dout[i];
                    case BinaryOp::Mul:
                        return dout[i] * a[i];
                    case BinaryOp::Div:
                        return -dout[i] * a[i] / (b[c] * b[c]);
                }
                return T(0);
            });
        }
    }

    // out[i] = alpha * x[i] (+ out[i] when accumulate).
    template <class T>
    static void scale(T* out, const T* x, T alpha, index_t n, bool accumulate = false) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i) out[i] = alpha * x[i] + (accumulate ? out[i] : T(0));
    }

    // out[i] = f(x[i]).
    template <class T>
    static void unary(UnaryOp op, T* out, const T* x, index_t n) {
        detail::dispatch_unary(op, [&]<UnaryOp o>() {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
            for (index_t i = 0; i < n; ++i) out[i] = detail::unary_value<o>(x[i]);
        });
    }

    // dx[i] += dout[i] * f'(x[i]), with y = f(x) as saved by the forward pass.
    template <class T>
    static void unary_bwd(UnaryOp op, T* dx, const T* dout, const T* x, const T* y, index_t n) {
        detail::dispatch_unary(op, [&]<UnaryOp o>() {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
            for (index_t i = 0; i < n; ++i) dx[i] += dout[i] * detail::unary_derivative<o>(x[i], y[i]);
        });
    }
};

}  // namespace cpu
}  // namespace tandem
