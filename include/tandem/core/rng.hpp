// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011, as in cuRAND and
// PyTorch's CUDA generator): every draw is a pure function of (seed, stream, index),
// so initialisation, dropout and data order do not depend on thread scheduling.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string_view>

namespace tandem {

class Philox {
public:
    // `stream` separates independent uses of one seed (a parameter, a dropout site, an epoch).
    constexpr Philox(std::uint64_t seed, std::uint64_t stream = 0) : seed_(seed), stream_(stream) {}

    constexpr std::uint64_t seed() const { return seed_; }
    constexpr std::uint64_t stream() const { return stream_; }

    // Four independent 32-bit words for counter `index`.
    constexpr std::array<std::uint32_t, 4> block(std::uint64_t index) const {
        std::array<std::uint32_t, 4> c = {
            static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32),
            static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)};
        std::uint32_t k0 = static_cast<std::uint32_t>(seed_), k1 = static_cast<std::uint32_t>(seed_ >> 32);
        for (int round = 0; round < 10; ++round) {
            const std::uint64_t p0 = std::uint64_t{0xD2511F53} * c[0];
            const std::uint64_t p1 = std::uint64_t{0xCD9E8D57} * c[2];
            c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<std::uint32_t>(p1),
                 static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<std::uint32_t>(p0)};
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        return c;
    }

    // Uniform in [0, 1) with 53 random bits (exact in double, rounded down in float).
    double uniform(std::uint64_t index) const {
        auto b = block(index);
        std::uint64_t bits = (std::uint64_t{b[0]} << 21) ^ (std::uint64_t{b[1]} >> 11);
        return static_cast<double>(bits & ((std::uint64_t{1} << 53) - 1)) * 0x1.0p-53;
    }

    // Standard normal by Box-Muller over one block.
    double normal(std::uint64_t index) const {
        auto b = block(index);
        double u1 = (static_cast<double>(b[0]) + 1.0) * 0x1.0p-32;  // (0, 1]: log is finite
        double u2 = static_cast<double>(b[1]) * 0x1.0p-32;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }

    // Uniform integer in [0, n), unbiased by rejection over successive counters of a sub-stream.
    std::uint64_t below(std::uint64_t n, std::uint64_t index) const {
        const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        for (std::uint64_t attempt = 0;; ++attempt) {
            auto b = Philox(seed_ ^ (attempt * 0x9E3779B97F4A7C15ull), stream_).block(index);
            std::uint64_t r = (std::uint64_t{b[0]} << 32) | b[1];
            if (r < limit) return r % n;
        }
    }

private:
    std::uint64_t seed_, stream_;
};

// A stream number from a name (64-bit FNV-1a): parameters draw their initial values
// from (seed, stream_of(hf_name)), independent of the order layers are built in.
constexpr std::uint64_t stream_of(std::string_view name) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return h;
}

}  // namespace tandem
