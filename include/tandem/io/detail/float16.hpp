// IEEE binary16 (F16) and bfloat16 (BF16) <-> float/double conversions, bit exact:
// decoding is exact (subnormals, signed zeros, inf and NaN included); encoding
// rounds once, to nearest with ties to even, as torch's .half() / .bfloat16() do.
#pragma once

#include <bit>
#include <cstdint>

namespace tandem::detail {

inline float f16_to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1Fu;
    const std::uint32_t man = h & 0x3FFu;
    if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (man << 13));  // inf, NaN payload kept
    if (exp == 0) {
        // Zero or subnormal: man * 2^-24, exact in float.
        const float magnitude = float(man) * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    return std::bit_cast<float>(sign | ((exp + 127 - 15) << 23) | (man << 13));
}

inline float bf16_to_float(std::uint16_t b) { return std::bit_cast<float>(std::uint32_t(b) << 16); }

// Rounds x to a binary format with `exp_bits` exponent and `man_bits` stored mantissa
// bits (ties to even) and returns its bit pattern. Working from the double avoids the
// double rounding of double -> float -> half; every float is a double, so float input
// rounds exactly as a direct float -> half conversion would.
inline std::uint16_t round_to_narrow_float(double x, int exp_bits, int man_bits, std::uint16_t quiet_nan) {
    const auto bits = std::bit_cast<std::uint64_t>(x);
    const auto sign = std::uint16_t((bits >> 63) << (exp_bits + man_bits));
    const int e = int((bits >> 52) & 0x7FF);
    const std::uint64_t m = bits & ((std::uint64_t(1) << 52) - 1);
    const std::uint32_t exp_all_ones = (1u << exp_bits) - 1;
    const std::uint32_t inf = exp_all_ones << man_bits;
    if (e == 0x7FF) return m == 0 ? std::uint16_t(sign | inf) : std::uint16_t(sign | quiet_nan);
    // Double subnormals lie far below half the smallest F16/BF16 subnormal.
    if (e == 0) return sign;

    const std::uint64_t sig = m | (std::uint64_t(1) << 52);  // x = sig * 2^(e - 1075)
    const int bias = (1 << (exp_bits - 1)) - 1;
    const int target_exp = e - 1023 + bias;  // biased exponent x would have in the target
    // Normal targets keep man_bits + 1 significant bits; subnormal ones fewer, on the
    // fixed grid of the smallest subnormal.
    const int shift = 52 - man_bits + (target_exp >= 1 ? 0 : 1 - target_exp);
    if (shift >= 64) return sign;
    std::uint64_t q = sig >> shift;
    const std::uint64_t rem = sig & ((std::uint64_t(1) << shift) - 1);
    const std::uint64_t half = std::uint64_t(1) << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    // For normals q carries the implicit bit, worth one exponent step; a carry out of
    // the mantissa moves into the exponent, and past the largest exponent gives inf.
    const std::uint64_t magnitude = target_exp >= 1 ? (std::uint64_t(target_exp - 1) << man_bits) + q : q;
    if (magnitude >= inf) return std::uint16_t(sign | inf);
    return std::uint16_t(sign | magnitude);
}

inline std::uint16_t double_to_f16(double x) { return round_to_narrow_float(x, 5, 10, 0x7E00); }
inline std::uint16_t double_to_bf16(double x) { return round_to_narrow_float(x, 8, 7, 0x7FC0); }

}  // namespace tandem::detail
