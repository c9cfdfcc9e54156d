// Kernels that turn an attention mask into what sentence-transformers' Pooling needs: the
// mask with a prompt's tokens removed, and the weights [rows, cols] whose product with the
// token states is the pooled vector of cls, mean, mean_sqrt_len_tokens, weightedmean or
// lasttoken.
// reference: sentence_transformers.sentence_transformer.modules.Pooling._forward_padded (v6).
#pragma once

#include <tandem/backend/kernel_types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tandem::cpu {

struct PoolingMasks {
    // The first column of a row whose mask is set, 0 when none is (torch's argmax of the mask).
    static index_t first_set(const std::int64_t* row, index_t cols) {
        const std::int64_t* best = std::max_element(row, row + cols);
        return cols && *best != 0 ? best - row : 0;
    }

    // out[r, c] = 0 for c < first_set(r) + prompt_length, else mask[r, c]: the prompt starts
    // at the first real token, after any left padding (Pooling._exclude_prompt_from_mask).
    // shapes: mask, out [rows, cols]
    static void exclude_prompt(std::int64_t* out, const std::int64_t* mask, index_t rows, index_t cols,
                               std::int64_t prompt_length) {
        for (index_t r = 0; r < rows; ++r) {
            const std::int64_t* row = mask + r * cols;
            const index_t start = first_set(row, cols) + prompt_length;
            for (index_t c = 0; c < cols; ++c) out[r * cols + c] = c < start ? 0 : row[c];
        }
    }

    // out [rows, cols], from mask (prompt excluded) and original (before the exclusion), 0/1:
    //   FirstToken   1 at first_set(mask) (position 0 for a row without tokens)
    //   Mean         mask / max(count, 1e-9)
    //   MeanSqrtLen  mask / sqrt(max(count, 1e-9))
    //   WeightedMean w / max(sum w, 1e-9), w[c] = mask[c] (c + 1 - first_set(original))
    //   LastToken    1 at the last set position of mask, none for a row without tokens
    template <class T>
    static void pooling_weights(T* out, const std::int64_t* mask, const std::int64_t* original, index_t rows,
                                index_t cols, PoolingWeights kind) {
        for (index_t r = 0; r < rows; ++r) {
            const std::int64_t* m = mask + r * cols;
            T* w = out + r * cols;
            std::fill_n(w, cols, T(0));
            if (kind == PoolingWeights::FirstToken) {
                if (cols) w[first_set(m, cols)] = T(1);
            } else if (kind == PoolingWeights::LastToken) {
                for (index_t c = cols; c-- > 0;)
                    if (m[c] != 0) {
                        w[c] = T(1);
                        break;
                    }
            } else {
                const index_t shift =
                    kind == PoolingWeights::WeightedMean ? first_set(original + r * cols, cols) : 0;
                double total = 0;
                for (index_t c = 0; c < cols; ++c) {
                    const double weight =
                        double(m[c]) * (kind == PoolingWeights::WeightedMean ? double(c + 1 - shift) : 1.0);
                    w[c] = T(weight);
                    total += weight;
                }
                total = std::max(total, 1e-9);
                const double denominator = kind == PoolingWeights::MeanSqrtLen ? std::sqrt(total) : total;
                for (index_t c = 0; c < cols; ++c) w[c] = T(double(w[c]) / denominator);
            }
        }
    }
};

}  // namespace tandem::cpu
