// Kernels of the triplet losses: masks from class labels and from distance values, the
// row indices that repeat each anchor's distances, and the choice of each anchor-positive
// pair's semi-hard negative.
// reference: sentence_transformers v6.3 losses/batch_hard_triplet.py (the label masks,
// the zero mask of euclidean_distance), batch_semi_hard_triplet.py.
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>

#include <cstdint>

namespace tandem::cpu {

struct Triplet {
    // out[i, j] = same where labels[i] == labels[j], else other.   shapes: labels [n]; out [n, n]
    template <class T>
    static void label_equal_mask(T* out, const std::int64_t* labels, index_t n, T same, T other) {
#pragma omp parallel for schedule(static) if (n * n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < n; ++j) out[i * n + j] = labels[i] == labels[j] ? same : other;
    }

    // out[i] = inside where lo <= x[i] <= hi, else outside.   shapes: x, out [n]
    template <class T>
    static void range_mask(T* out, const T* x, index_t n, T lo, T hi, T inside, T outside) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i) out[i] = x[i] >= lo && x[i] <= hi ? inside : outside;
    }

    // out[i] = i / times: the row of each of `times` copies of rows 0..n-1, in order.
    // shapes: out [n * times]
    static void repeat_each(std::int64_t* out, index_t n, index_t times) {
        for (index_t i = 0; i < n * times; ++i) out[i] = i / times;
    }

    // out[a, p] = a * n + k, the flat index of the negative k (labels[k] != labels[a]) that
    // BatchSemiHardTripletLoss pairs with anchor a and positive p: the closest negative
    // farther from a than p (the first of equals, as a stable sort orders them); without
    // one, the farthest negative (the first of equals); without any negative, the row's
    // first minimum (where its masked maximum sends the gradient).
    // shapes: distances [n, n]; labels [n]; out [n, n]
    template <class T>
    static void semi_hard_negatives(std::int64_t* out, const T* distances, const std::int64_t* labels,
                                    index_t n) {
#pragma omp parallel for schedule(static) if (n * n * n > detail::parallel_threshold)
        for (index_t a = 0; a < n; ++a) {
            const T* d = distances + a * n;
            index_t farthest = -1, nearest = 0;
            for (index_t k = 0; k < n; ++k) {
                if (d[k] < d[nearest]) nearest = k;
                if (labels[k] != labels[a] && (farthest < 0 || d[k] > d[farthest])) farthest = k;
            }
            for (index_t p = 0; p < n; ++p) {
                index_t chosen = -1;
                for (index_t k = 0; k < n; ++k)
                    if (labels[k] != labels[a] && d[k] > d[p] && (chosen < 0 || d[k] < d[chosen])) chosen = k;
                if (chosen < 0) chosen = farthest >= 0 ? farthest : nearest;
                out[a * n + p] = a * n + chosen;
            }
        }
    }
};

}  // namespace tandem::cpu
