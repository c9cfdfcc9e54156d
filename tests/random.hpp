// Seeded random tensors and vectors for tests.
#pragma once

#include <tandem/core/rng.hpp>
#include <tandem/core/tensor.hpp>

#include <vector>

namespace tandem::testing {

inline std::vector<double> random_values(index_t n, std::uint64_t seed, double lo = -1, double hi = 1) {
    Philox rng(seed, 7);
    std::vector<double> v(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * rng.uniform(i);
    return v;
}

template <class B, class T>
Tensor<B, T> random_tensor(const Shape& shape, std::uint64_t seed, double lo = -1, double hi = 1) {
    auto v = random_values(shape.numel(), seed, lo, hi);
    return Tensor<B, T>::from_vector(std::vector<T>(v.begin(), v.end()), shape);
}

}  // namespace tandem::testing
