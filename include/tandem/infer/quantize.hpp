// quantize_embeddings under sentence-transformers' name and arguments: float32, int8, uint8,
// binary or ubinary embeddings of float32 ones, int8/uint8 bucketed by ranges that are given,
// taken from calibration embeddings, or taken from the embeddings themselves. The arithmetic
// is eval/quantize.hpp's (float32, as numpy computes it on float32 embeddings).
// reference: sentence_transformers.util.quantization.quantize_embeddings.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/eval/quantize.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

namespace tandem {

// The result in numpy's dtype: float32, int8 (int8 and binary) or uint8 (uint8 and ubinary).
using QuantizedEmbeddings =
    std::variant<xt::xtensor<float, 2>, xt::xtensor<std::int8_t, 2>, xt::xtensor<std::uint8_t, 2>>;

// The keyword arguments of quantize_embeddings after the precision; int8 and uint8 only.
struct QuantizeOptions {
    // [2, dim]: each dimension's minimum (row 0) and maximum (row 1); used before calibration_embeddings.
    std::optional<xt::xtensor<float, 2>> ranges{};
    // [rows, dim]: embeddings the ranges are taken from; neither given: the embeddings themselves.
    std::optional<xt::xtensor<float, 2>> calibration_embeddings{};
};

namespace detail {

inline eval::Matrix quantization_ranges_for(const eval::Matrix& embeddings, const QuantizeOptions& o) {
    if (o.ranges) return eval::to_matrix(*o.ranges);
    if (!o.calibration_embeddings) return eval::quantization_ranges(embeddings);
    const eval::Matrix c = eval::to_matrix(*o.calibration_embeddings);
    if (c.shape()[1] != embeddings.shape()[1])
        throw_error("quantize_embeddings: calibration_embeddings: expected ", embeddings.shape()[1],
                    " columns as the embeddings, found ", c.shape()[1]);
    if (c.shape()[0] == 0)
        throw_error("quantize_embeddings: calibration_embeddings: expected at least one row, found none");
    // Python takes a single calibration row as both minimum and maximum (every step is then 1),
    // where eval::quantization_ranges, written for the embeddings themselves, wants two rows.
    if (c.shape()[0] == 1) return xt::concatenate(xt::xtuple(c, c), 0);
    return eval::quantization_ranges(c);
}

}  // namespace detail

// precision: "float32", "int8", "uint8", "binary" or "ubinary". As in Python, an empty
// [0, dim] input gives an empty result of the precision's shape without computing ranges.
inline QuantizedEmbeddings quantize_embeddings(const xt::xtensor<float, 2>& embeddings,
                                               const std::string& precision,
                                               const QuantizeOptions& options = {}) {
    const eval::Precision p = eval::precision_from_name(precision, "quantize_embeddings");
    const eval::Matrix e = eval::to_matrix(embeddings);
    const std::size_t rows = e.shape()[0], dim = e.shape()[1];
    if (p == eval::Precision::Float32) return embeddings;
    if (p == eval::Precision::Binary) return eval::quantize_binary(e);
    if (p == eval::Precision::Ubinary) return eval::quantize_ubinary(e);
    if (rows == 0) {
        if (p == eval::Precision::Int8)
            return xt::xtensor<std::int8_t, 2>(xt::zeros<std::int8_t>({rows, dim}));
        return xt::xtensor<std::uint8_t, 2>(xt::zeros<std::uint8_t>({rows, dim}));
    }
    const eval::Matrix ranges = detail::quantization_ranges_for(e, options);
    if (p == eval::Precision::Int8) return eval::quantize_int8(e, ranges);
    return eval::quantize_uint8(e, ranges);
}

}  // namespace tandem
