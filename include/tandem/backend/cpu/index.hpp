// Kernels over integer tensors (ids, targets, masks) and the small tensors that used to
// be built on the host each step: positions (RoBERTa's, counted past the padding, and
// MPNet's relative position buckets), label ranges, masks turned into weights or
// offsets, the sign matrix of SigLIP, dropout masks and storage-type conversions.
// reference: torch.arange, torch.argmax, torch.eye, torch.nn.functional.dropout, Tensor.to(dtype).
#pragma once

#include <tandem/backend/cpu/elementwise.hpp>
#include <tandem/core/bfloat16.hpp>
#include <tandem/core/rng.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace tandem::cpu {

struct Index {
    // out = {count, min, max} over the ids that differ from `skip` (min > max when none do).
    static void index_range(std::int64_t* out, const std::int64_t* ids, index_t n, std::int64_t skip) {
        std::int64_t count = 0, lo = std::numeric_limits<std::int64_t>::max(),
                     hi = std::numeric_limits<std::int64_t>::min();
        for (index_t i = 0; i < n; ++i) {
            if (ids[i] == skip) continue;
            ++count;
            lo = std::min(lo, ids[i]);
            hi = std::max(hi, ids[i]);
        }
        out[0] = count;
        out[1] = lo;
        out[2] = hi;
    }

    // out[r, c] = padding_idx + (how many of ids[r, 0..c] differ from padding_idx) where
    // ids[r, c] differs from it, else padding_idx: positions counted from padding_idx + 1
    // over the tokens that are not padding, wherever the padding lies.
    // shapes: ids, out [rows, cols]   reference: RobertaEmbeddings.create_position_ids_from_input_ids
    static void position_ids_from_input_ids(std::int64_t* out, const std::int64_t* ids, index_t rows,
                                            index_t cols, std::int64_t padding_idx) {
        for (index_t r = 0; r < rows; ++r) {
            std::int64_t count = 0;
            for (index_t c = 0; c < cols; ++c) {
                const bool real = ids[r * cols + c] != padding_idx;
                count += real;
                out[r * cols + c] = real ? padding_idx + count : padding_idx;
            }
        }
    }

    // out[i, j] = the bucket of the relative position j - i: the first half of the buckets
    // for keys at or before the query, the second for keys after it; exact distances below
    // num_buckets / 4, then logarithmic up to max_distance, the last bucket beyond. The
    // logarithm is taken in float, as transformers computes it for any model dtype.
    // shapes: out [q_len, k_len]   reference: MPNetEncoder.relative_position_bucket (T5's, bidirectional)
    static void relative_position_buckets(std::int64_t* out, index_t q_len, index_t k_len,
                                          std::int64_t num_buckets, std::int64_t max_distance) {
        const std::int64_t half = num_buckets / 2, max_exact = half / 2;
        const float log_range = float(std::log(double(max_distance) / double(max_exact)));
        for (index_t i = 0; i < q_len; ++i)
            for (index_t j = 0; j < k_len; ++j) {
                const std::int64_t n = i - j, distance = n < 0 ? -n : n;
                std::int64_t bucket = n < 0 ? half : 0;
                if (distance < max_exact) {
                    bucket += distance;
                } else {
                    const float scaled =
                        std::log(float(distance) / float(max_exact)) / log_range * float(half - max_exact);
                    bucket += std::min(max_exact + static_cast<std::int64_t>(scaled), half - 1);
                }
                out[i * k_len + j] = bucket;
            }
    }

    // out[i] = start + i * step.
    static void iota(std::int64_t* out, index_t n, std::int64_t start, std::int64_t step) {
        for (index_t i = 0; i < n; ++i) out[i] = start + i * step;
    }

    // out[r] = the first column of row r holding `value`, or -1 when none does.
    // shapes: ids [rows, cols]; out [rows]
    static void find_in_rows(std::int64_t* out, const std::int64_t* ids, index_t rows, index_t cols,
                             std::int64_t value) {
        for (index_t r = 0; r < rows; ++r) {
            const std::int64_t* row = ids + r * cols;
            const index_t c = std::find(row, row + cols, value) - row;
            out[r] = c < cols ? c : -1;
        }
    }

    // out[r] = the first column of row r holding the row's largest value.
    static void argmax_rows(std::int64_t* out, const std::int64_t* ids, index_t rows, index_t cols) {
        for (index_t r = 0; r < rows; ++r) {
            const std::int64_t* row = ids + r * cols;
            out[r] = std::max_element(row, row + cols) - row;
        }
    }

    // out[r] = r * stride + column[r]: the flat row of a per-row position.
    static void flat_index(std::int64_t* out, const std::int64_t* column, index_t rows, index_t stride) {
        for (index_t r = 0; r < rows; ++r) out[r] = r * stride + column[r];
    }

    // out[i * repeat + j] = mask[i] != 0 ? keep : drop, for j < repeat.   shapes: mask [n]; out [n, repeat]
    template <class T>
    static void mask_fill(T* out, const std::int64_t* mask, index_t n, index_t repeat, T keep, T drop) {
#pragma omp parallel for schedule(static) if (n * repeat > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i) std::fill_n(out + i * repeat, repeat, mask[i] != 0 ? keep : drop);
    }

    // out[r, c] = mask[r, c] / max(sum_c mask[r, c], 1e-9): the weights of a masked mean.
    template <class T>
    static void mean_weights(T* out, const std::int64_t* mask, index_t rows, index_t cols) {
        for (index_t r = 0; r < rows; ++r) {
            double count = 0;
            for (index_t c = 0; c < cols; ++c) count += double(mask[r * cols + c]);
            const double denominator = std::max(count, 1e-9);
            for (index_t c = 0; c < cols; ++c)
                out[r * cols + c] = T(double(mask[r * cols + c]) / denominator);
        }
    }

    // An n x n matrix holding `diagonal` on its diagonal and `off` elsewhere.
    template <class T>
    static void fill_diagonal(T* out, index_t n, T diagonal, T off) {
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < n; ++j) out[i * n + j] = i == j ? diagonal : off;
    }

    // out[i] = 1 / (1 - p) where Philox(seed, stream).uniform(i) >= p, else 0: the scaled
    // keep-mask of inverted dropout, the same bits at any thread count.
    template <class T>
    static void dropout_mask(T* out, index_t n, T p, std::uint64_t seed, std::uint64_t stream) {
        const Philox rng(seed, stream);
        const T kept = T(1) / (T(1) - p);
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i)
            out[i] = rng.uniform(static_cast<std::uint64_t>(i)) >= double(p) ? kept : T(0);
    }

    // Elementwise conversion between storage and compute types (bf16 rounds to nearest even).
    template <class To, class From>
    static void convert(To* out, const From* in, index_t n) {
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t i = 0; i < n; ++i) {
            if constexpr (std::is_same_v<From, bfloat16>)
                out[i] = To(float(in[i]));
            else if constexpr (std::is_same_v<To, bfloat16>)
                out[i] = bfloat16(float(in[i]));
            else
                out[i] = static_cast<To>(in[i]);
        }
    }
};

}  // namespace tandem::cpu
