// Seeded permutations for shuffling and samplers: Fisher-Yates over Philox draws keyed
// by (seed, stream) and a counter, so an order depends on the seed and the stream (an
// epoch) and on nothing else, on any machine and thread count. Like a seeded
// `torch.Generator`, one Shuffler gives a fresh permutation on each call.
#pragma once

#include <tandem/core/rng.hpp>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace tandem::data {

class Shuffler {
public:
    Shuffler(std::uint64_t seed, std::uint64_t stream) : gen_(seed, stream) {}

    // A uniformly random order of 0..n-1.
    std::vector<std::size_t> permutation(std::size_t n) {
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[gen_.below(i, next_++)]);
        return order;
    }

private:
    Philox gen_;
    std::uint64_t next_ = 0;
};

inline std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed, std::uint64_t stream = 0) {
    return Shuffler(seed, stream).permutation(n);
}

}  // namespace tandem::data
