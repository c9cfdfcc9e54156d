// Kernels of the contrastive losses: row log-sum-exp (the softmax denominator of
// InfoNCE), the block-repeated identity that masks a query's own documents, clamping
// (open_clip bounds logit_scale after each optimizer step), and the hard pairs of
// OnlineContrastiveLoss.
// reference: torch.logsumexp(dim=1), torch.eye(n)[rows].repeat(1, k), torch.clamp,
// sentence_transformers losses/online_contrastive.py.
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace tandem::cpu {

struct Contrastive {
    // y[r] = log sum_c exp(x[r, c]); entries of -inf count as zero weight.
    // shapes: x [rows, cols]; y [rows]
    template <class T>
    static void logsumexp(T* y, const T* x, index_t rows, index_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            const T* xr = x + r * cols;
            T m = -std::numeric_limits<T>::infinity();
            for (index_t c = 0; c < cols; ++c) m = std::max(m, xr[c]);
            if (m == -std::numeric_limits<T>::infinity()) {
                y[r] = m;
                continue;
            }
            T sum = T(0);
            for (index_t c = 0; c < cols; ++c) sum += std::exp(xr[c] - m);
            y[r] = m + std::log(sum);
        }
    }

    // dx[r, c] += dy[r] * exp(x[r, c] - y[r]) (the row's softmax).
    template <class T>
    static void logsumexp_bwd(T* dx, const T* dy, const T* x, const T* y, index_t rows, index_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            if (y[r] == -std::numeric_limits<T>::infinity()) continue;
            for (index_t c = 0; c < cols; ++c) dx[r * cols + c] += dy[r] * std::exp(x[r * cols + c] - y[r]);
        }
    }

    // out[r, c] = diagonal where c mod period == r + first_row, else off: rows
    // [first_row, first_row + rows) of the period x period identity, repeated across the
    // column blocks.   shapes: out [rows, cols]
    template <class T>
    static void fill_diagonal_blocks(T* out, index_t rows, index_t cols, index_t first_row, index_t period,
                                     T diagonal, T off) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r)
            for (index_t c = 0; c < cols; ++c)
                out[r * cols + c] = c % period == r + first_row ? diagonal : off;
    }

    // The hard pairs among n labelled distances, as 1 (kept) or 0: positive[i] where
    // labels[i] == 1 and distances[i] exceeds the least negative distance; negative[i]
    // where labels[i] == 0 and distances[i] is below the greatest positive distance. With
    // no pair of the other label, a side is held against its own mean. Pairs labelled
    // neither 0 nor 1 are in neither.
    template <class T>
    static void hard_pairs(T* positive, T* negative, const T* distances, const T* labels, index_t n) {
        T max_positive = -std::numeric_limits<T>::infinity(),
          min_negative = std::numeric_limits<T>::infinity();
        T sum_positive = T(0), sum_negative = T(0);
        index_t positives = 0, negatives = 0;
        for (index_t i = 0; i < n; ++i) {
            if (labels[i] == T(1)) {
                max_positive = std::max(max_positive, distances[i]);
                sum_positive += distances[i];
                ++positives;
            } else if (labels[i] == T(0)) {
                min_negative = std::min(min_negative, distances[i]);
                sum_negative += distances[i];
                ++negatives;
            }
        }
        const T negative_below = positives ? max_positive : sum_negative / T(std::max<index_t>(negatives, 1));
        const T positive_above = negatives ? min_negative : sum_positive / T(std::max<index_t>(positives, 1));
        for (index_t i = 0; i < n; ++i) {
            positive[i] = labels[i] == T(1) && distances[i] > positive_above ? T(1) : T(0);
            negative[i] = labels[i] == T(0) && distances[i] < negative_below ? T(1) : T(0);
        }
    }

    // y[i] = min(max(x[i], lo), hi); x may be y (in place).
    template <class T>
    static void clamp(T* y, const T* x, T lo, T hi, index_t n) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], lo), hi);
    }

    // dx[i] += dy[i] where lo <= x[i] <= hi, as torch.clamp's backward (the bounds pass it).
    template <class T>
    static void clamp_bwd(T* dx, const T* dy, const T* x, T lo, T hi, index_t n) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i)
            if (x[i] >= lo && x[i] <= hi) dx[i] += dy[i];
    }
};

}  // namespace tandem::cpu
