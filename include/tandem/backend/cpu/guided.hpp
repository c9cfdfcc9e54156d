// Kernels of the guided losses: the additive mask that removes the in-batch candidates a
// guide model scores above (or within a margin of) the positive.
// reference: sentence_transformers losses/gist_embed.py mask_false_negatives.
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>

#include <cmath>

namespace tandem::cpu {

struct Guided {
    // out[r, c] = on_diagonal where c == r + diagonal (diagonal >= 0), else fill where
    // scores[r, c] > reference[r] - margin * (relative ? |reference[r]| : 1), else 0.
    // shapes: scores, out [rows, cols]; reference [rows]
    template <class T>
    static void mask_above_margin(T* out, const T* scores, const T* reference, index_t rows, index_t cols,
                                  T margin, bool relative, T fill, index_t diagonal, T on_diagonal) {
#pragma omp parallel for schedule(static) if (rows * cols > detail::parallel_threshold)
        for (index_t r = 0; r < rows; ++r) {
            const T threshold = reference[r] - (relative ? std::abs(reference[r]) * margin : margin);
            for (index_t c = 0; c < cols; ++c)
                out[r * cols + c] = diagonal >= 0 && c == r + diagonal ? on_diagonal
                                    : scores[r * cols + c] > threshold ? fill
                                                                       : T(0);
        }
    }
};

}  // namespace tandem::cpu
