// Conversions between backend tensors and xtensor arrays, the arrays of tandem's public
// API (embeddings, images, batches). Both go through host memory, so they work for every
// backend; core/tensor.hpp stays free of xtensor.
#pragma once

#include <tandem/core/tensor.hpp>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

namespace tandem {

// From any xtensor expression of element type T (row-major).
template <BackendMemory B, Element T, class E>
Tensor<B, T> from_xtensor(const xt::xexpression<E>& e) {
    xt::xarray<T> a = e.derived_cast();
    return Tensor<B, T>::from_host(a.data(), Shape(a.shape().begin(), a.shape().end()));
}

template <BackendMemory B, Element T>
xt::xarray<T> to_xarray(const Tensor<B, T>& t) {
    std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
    xt::xarray<T> out = xt::zeros<T>(shape);
    t.to_host(out.data());
    return out;
}

}  // namespace tandem
