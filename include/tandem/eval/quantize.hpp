// Embedding quantisation as sentence-transformers' quantize_embeddings: float32, int8 and
// uint8 by 256 buckets per dimension between calibrated minimum and maximum, binary and
// ubinary by the sign bits packed eight to a byte (numpy.packbits, big-endian bit order).
// reference: sentence_transformers.util.quantization.quantize_embeddings.
#pragma once

#include <tandem/eval/metrics.hpp>

#include <cstdint>
#include <string>

namespace tandem::eval {

enum class Precision { Float32, Int8, Uint8, Binary, Ubinary };

inline Precision precision_from_name(const std::string& name, const std::string& owner) {
    if (name == "float32") return Precision::Float32;
    if (name == "int8") return Precision::Int8;
    if (name == "uint8") return Precision::Uint8;
    if (name == "binary") return Precision::Binary;
    if (name == "ubinary") return Precision::Ubinary;
    tandem::detail::throw_error(
        owner, ": precision: expected one of float32, int8, uint8, binary, ubinary, found '", name, "'");
}

// The per-dimension minimum (row 0) and maximum (row 1) of the calibration embeddings.
// [2, dim]
inline Matrix quantization_ranges(const Matrix& calibration) {
    if (calibration.shape()[0] < 2)
        tandem::detail::throw_error(
            "quantize_embeddings: expected at least 2 calibration embeddings to compute ",
            "int8 ranges from, found ", calibration.shape()[0]);
    Matrix ranges = xt::zeros<double>({std::size_t{2}, calibration.shape()[1]});
    for (std::size_t j = 0; j < calibration.shape()[1]; ++j) {
        ranges(0, j) = ranges(1, j) = calibration(0, j);
        for (std::size_t i = 1; i < calibration.shape()[0]; ++i) {
            ranges(0, j) = std::min(ranges(0, j), calibration(i, j));
            ranges(1, j) = std::max(ranges(1, j), calibration(i, j));
        }
    }
    return ranges;
}

// uint8 buckets floor((x - min) / step), step = (max - min) / 255 (1 where max == min),
// clipped to [0, 255]. As sentence-transformers, the ranges and the arithmetic are float32
// (its embeddings are float32 arrays).
inline xt::xtensor<std::uint8_t, 2> quantize_uint8(const Matrix& e, const Matrix& ranges) {
    if (ranges.shape()[0] != 2 || ranges.shape()[1] != e.shape()[1])
        tandem::detail::throw_error("quantize_embeddings: ranges: expected shape [2, ", e.shape()[1],
                                    "], found [", ranges.shape()[0], ", ", ranges.shape()[1], "]");
    xt::xtensor<std::uint8_t, 2> out = xt::zeros<std::uint8_t>(e.shape());
    for (std::size_t j = 0; j < e.shape()[1]; ++j) {
        const float start = static_cast<float>(ranges(0, j));
        float step = (static_cast<float>(ranges(1, j)) - start) / 255.0f;
        if (step == 0.0f) step = 1.0f;
        for (std::size_t i = 0; i < e.shape()[0]; ++i) {
            const float q = std::floor((static_cast<float>(e(i, j)) - start) / step);
            out(i, j) = static_cast<std::uint8_t>(std::clamp(q, 0.0f, 255.0f));
        }
    }
    return out;
}

// int8: the uint8 bucket minus 128.
inline xt::xtensor<std::int8_t, 2> quantize_int8(const Matrix& e, const Matrix& ranges) {
    const auto u = quantize_uint8(e, ranges);
    xt::xtensor<std::int8_t, 2> out = xt::zeros<std::int8_t>(e.shape());
    for (std::size_t i = 0; i < u.size(); ++i)
        out.data()[i] = static_cast<std::int8_t>(int(u.data()[i]) - 128);
    return out;
}

// ubinary: bit 7 - (j % 8) of byte j / 8 is set when x[j] > 0 (numpy.packbits). [n, ceil(dim / 8)]
inline xt::xtensor<std::uint8_t, 2> quantize_ubinary(const Matrix& e) {
    const std::size_t bytes = (e.shape()[1] + 7) / 8;
    xt::xtensor<std::uint8_t, 2> out = xt::zeros<std::uint8_t>({e.shape()[0], bytes});
    for (std::size_t i = 0; i < e.shape()[0]; ++i)
        for (std::size_t j = 0; j < e.shape()[1]; ++j)
            if (e(i, j) > 0) out(i, j / 8) = static_cast<std::uint8_t>(out(i, j / 8) | (0x80u >> (j % 8)));
    return out;
}

// binary: the packed byte minus 128, as int8.
inline xt::xtensor<std::int8_t, 2> quantize_binary(const Matrix& e) {
    const auto u = quantize_ubinary(e);
    xt::xtensor<std::int8_t, 2> out = xt::zeros<std::int8_t>(u.shape());
    for (std::size_t i = 0; i < u.size(); ++i)
        out.data()[i] = static_cast<std::int8_t>(int(u.data()[i]) - 128);
    return out;
}

namespace detail {

// The quantised embeddings as EmbeddingSimilarityEvaluator scores them: integer buckets
// as numbers, binary ones unpacked back to one 0/1 column per bit, float32 rounded.
inline Matrix quantized_values(const Matrix& e, Precision p, const Matrix& ranges) {
    switch (p) {
        case Precision::Float32:
            return xt::cast<double>(xt::cast<float>(e));
        case Precision::Int8:
            return xt::cast<double>(quantize_int8(e, ranges));
        case Precision::Uint8:
            return xt::cast<double>(quantize_uint8(e, ranges));
        case Precision::Binary:
        case Precision::Ubinary: {
            // binary + 128 is ubinary: both unpack to the same bits.
            const auto packed = quantize_ubinary(e);
            Matrix out = xt::zeros<double>({e.shape()[0], packed.shape()[1] * 8});
            for (std::size_t i = 0; i < packed.shape()[0]; ++i)
                for (std::size_t j = 0; j < out.shape()[1]; ++j)
                    out(i, j) = (packed(i, j / 8) >> (7 - j % 8)) & 1;
            return out;
        }
    }
    return e;
}

}  // namespace detail
}  // namespace tandem::eval
