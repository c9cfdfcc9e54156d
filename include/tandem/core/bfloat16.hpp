// bfloat16: the 16-bit storage type of mixed-precision training (the top half of an
// IEEE float). Values are stored as bf16 and computed in float: conversion to float is
// exact, conversion from float rounds to nearest with ties to even, as torch's
// .bfloat16() does, and NaN stays NaN.
#pragma once

#include <bit>
#include <cstdint>

namespace tandem {

struct bfloat16 {
    std::uint16_t bits = 0;

    bfloat16() = default;
    explicit bfloat16(float x) : bits(round(x)) {}
    explicit operator float() const { return std::bit_cast<float>(std::uint32_t(bits) << 16); }

    static bfloat16 from_bits(std::uint16_t b) {
        bfloat16 v;
        v.bits = b;
        return v;
    }
    friend bool operator==(bfloat16 a, bfloat16 b) { return a.bits == b.bits; }

private:
    static std::uint16_t round(float x) {
        const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u) return std::uint16_t((u >> 16) | 0x0040u);  // quiet NaN
        // Adding 0x7FFF plus the lowest kept bit rounds half to even; a carry moves into
        // the exponent, and past the largest finite value gives inf, as it should.
        return std::uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
    }
};

}  // namespace tandem
