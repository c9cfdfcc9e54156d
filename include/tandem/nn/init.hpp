// Parameter initialisers. Each draws from (seed, stream_of(parameter name)), so a
// value depends only on the seed and the parameter's name.
// reference: torch.nn.init.normal_, uniform_, constant_.
#pragma once

#include <tandem/autograd/parameter_store.hpp>
#include <tandem/core/rng.hpp>

#include <vector>

namespace tandem {

template <Backend B, Scalar T, class Draw>
void init_with(ParameterStore<B, T>& store, Parameter p, Draw draw) {
    auto t = store.value(p);
    std::vector<T> v(static_cast<std::size_t>(t.numel()));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = T(draw(i));
    t.copy_from(Tensor<B, T>::from_vector(v, t.shape()));
}

template <Backend B, Scalar T>
void init_normal(ParameterStore<B, T>& store, Parameter p, double std, std::uint64_t seed, double mean = 0) {
    const Philox rng(seed, stream_of(store.name(p)));
    init_with(store, p, [&](std::size_t i) { return mean + std * rng.normal(i); });
}

template <Backend B, Scalar T>
void init_uniform(ParameterStore<B, T>& store, Parameter p, double lo, double hi, std::uint64_t seed) {
    const Philox rng(seed, stream_of(store.name(p)));
    init_with(store, p, [&](std::size_t i) { return lo + (hi - lo) * rng.uniform(i); });
}

template <Backend B, Scalar T>
void init_constant(ParameterStore<B, T>& store, Parameter p, double value) {
    init_with(store, p, [&](std::size_t) { return value; });
}

}  // namespace tandem
