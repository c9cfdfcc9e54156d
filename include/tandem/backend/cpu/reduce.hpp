// Reductions and layout kernels: sums over one axis or everything, axis permutation,
// and block copies along one axis (concat, slice and their gradients).
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>
#include <tandem/core/bfloat16.hpp>

#include <algorithm>
#include <array>
#include <cstdint>

namespace tandem::cpu {

struct Reduce {
    // out[o, i] = sum_k x[o, k, i].   shapes: x [outer, n, inner], out [outer, inner]
    template <class T>
    static void sum_axis(T* out, const T* x, index_t outer, index_t n, index_t inner) {
#pragma omp parallel for schedule(static) if (outer * n * inner > detail::parallel_threshold)
        for (index_t o = 0; o < outer; ++o) {
            T* dst = out + o * inner;
            for (index_t i = 0; i < inner; ++i) dst[i] = T(0);
            for (index_t k = 0; k < n; ++k) {
                const T* src = x + (o * n + k) * inner;
                for (index_t i = 0; i < inner; ++i) dst[i] += src[i];
            }
        }
    }

    // Gradient of sum_axis: dx[o, k, i] += alpha * dout[o, i].
    template <class T>
    static void sum_axis_bwd(T* dx, const T* dout, T alpha, index_t outer, index_t n, index_t inner) {
#pragma omp parallel for schedule(static) if (outer * n * inner > detail::parallel_threshold)
        for (index_t o = 0; o < outer; ++o)
            for (index_t k = 0; k < n; ++k)
                for (index_t i = 0; i < inner; ++i)
                    dx[(o * n + k) * inner + i] += alpha * dout[o * inner + i];
    }

    // out[o, i] = max_k x[o, k, i], with the first maximising k kept in argmax (torch.max(dim)).
    // shapes: x [outer, n, inner], out and argmax [outer, inner]
    template <class T>
    static void max_axis(T* out, std::int64_t* argmax, const T* x, index_t outer, index_t n, index_t inner) {
#pragma omp parallel for schedule(static) if (outer * n * inner > detail::parallel_threshold)
        for (index_t o = 0; o < outer; ++o)
            for (index_t i = 0; i < inner; ++i) {
                index_t best = 0;
                for (index_t k = 1; k < n; ++k)
                    if (x[(o * n + k) * inner + i] > x[(o * n + best) * inner + i]) best = k;
                out[o * inner + i] = x[(o * n + best) * inner + i];
                argmax[o * inner + i] = best;
            }
    }

    // Gradient of max_axis: dx[o, argmax[o, i], i] += dout[o, i].
    template <class T>
    static void max_axis_bwd(T* dx, const T* dout, const std::int64_t* argmax, index_t outer, index_t n,
                             index_t inner) {
#pragma omp parallel for schedule(static) if (outer * inner > detail::parallel_threshold)
        for (index_t o = 0; o < outer; ++o)
            for (index_t i = 0; i < inner; ++i)
                dx[(o * n + argmax[o * inner + i]) * inner + i] += dout[o * inner + i];
    }

    // out[0] = sum of x[0..n). Fixed 4096-element chunks added in order: the same bits at
    // any thread count.
    template <class T>
    static void sum_all(T* out, const T* x, index_t n) {
        T total = T(0);
        detail::accumulate_columns(&total, n, 1, [&](index_t r, index_t) { return x[r]; });
        out[0] = total;
    }

    // The sum of bf16 values, accumulated in T in the same fixed chunks.
    template <class T>
    static void sum_all(T* out, const bfloat16* x, index_t n) {
        T total = T(0);
        detail::accumulate_columns(&total, n, 1, [&](index_t r, index_t) { return T(float(x[r])); });
        out[0] = total;
    }

    // out = x with axes permuted: out.shape[d] = shape[perm[d]]; with accumulate, out +=.
    template <class T>
    static void permute(T* out, const T* x, const Shape& shape, const std::array<int, Shape::max_rank>& perm,
                        bool accumulate) {
        const int rank = shape.rank();
        std::array<index_t, Shape::max_rank> in_strides{}, out_dims{};
        index_t s = 1;
        for (int d = rank - 1; d >= 0; --d) {
            in_strides[d] = s;
            s *= shape[d];
        }
        for (int d = 0; d < rank; ++d) out_dims[d] = shape[perm[d]];
        // When the last axis stays last (head split and merge), whole rows move at once.
        const bool rows_move = rank > 0 && perm[rank - 1] == rank - 1;
        const index_t run = rows_move ? shape[rank - 1] : 1;
        const index_t runs = shape.numel() / std::max<index_t>(run, 1);
        const int outer_rank = rows_move ? rank - 1 : rank;
#pragma omp parallel for schedule(static) if (shape.numel() > detail::parallel_threshold)
        for (index_t i = 0; i < runs; ++i) {
            index_t rem = i, src = 0;
            for (int d = outer_rank - 1; d >= 0; --d) {
                src += (rem % out_dims[d]) * in_strides[perm[d]];
                rem /= out_dims[d];
            }
            const T* from = x + src;
            T* to = out + i * run;
            for (index_t j = 0; j < run; ++j) to[j] = from[j] + (accumulate ? to[j] : T(0));
        }
    }

    // Copies `count` slices along an axis: dst[o, dst_offset + k, i] (+)= src[o, src_offset + k, i]
    // for k < count.   shapes: dst [outer, dst_n, inner], src [outer, src_n, inner]
    template <class T>
    static void copy_along_axis(T* dst, index_t dst_n, index_t dst_offset, const T* src, index_t src_n,
                                index_t src_offset, index_t outer, index_t count, index_t inner,
                                bool accumulate) {
#pragma omp parallel for schedule(static) if (outer * count * inner > detail::parallel_threshold)
        for (index_t o = 0; o < outer; ++o) {
            T* d = dst + (o * dst_n + dst_offset) * inner;
            const T* s = src + (o * src_n + src_offset) * inner;
            for (index_t j = 0; j < count * inner; ++j) d[j] = s[j] + (accumulate ? d[j] : T(0));
        }
    }
};

}  // namespace tandem::cpu
