// Linear: y = x W^T + b with W stored [out_features, in_features].
// reference: torch.nn.Linear (names "weight", "bias"; uniform init in +-1/sqrt(in)).
#pragma once

#include <tandem/autograd/ops/matmul.hpp>
#include <tandem/core/rng.hpp>
#include <tandem/nn/module.hpp>

#include <cmath>

namespace tandem {

template <Backend B, Scalar T>
class Linear {
public:
    using backend_type = B;
    using value_type = T;

    Linear(ParameterStore<B, T>& store, const Scope& scope, index_t in_features, index_t out_features,
           bool bias = true)
        : store_(&store),
          weight_(store.add((scope / "weight").str(), {out_features, in_features})),
          has_bias_(bias) {
        if (bias) bias_ = store.add((scope / "bias").str(), {out_features});
    }

    index_t in_features() const { return store_->shape(weight_)[1]; }
    index_t out_features() const { return store_->shape(weight_)[0]; }

    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x) const {
        auto w = g.parameter(*store_, weight_);
        if (!has_bias_) return linear(x, w);
        auto b = g.parameter(*store_, bias_);
        return linear(x, w, &b);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        f(store_->name(weight_), weight_);
        if (has_bias_) f(store_->name(bias_), bias_);
    }

    // PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias, drawn from
    // (seed, a stream derived from the parameter name) so the order of layers does not matter.
    void reset_parameters(std::uint64_t seed) {
        const double bound = 1.0 / std::sqrt(double(in_features()));
        for_each_parameter([&](const std::string& name, Parameter p) {
            Philox rng(seed, stream_of(name));
            auto t = store_->value(p);
            std::vector<T> v(static_cast<std::size_t>(t.numel()));
            for (std::size_t i = 0; i < v.size(); ++i) v[i] = T((2 * rng.uniform(i) - 1) * bound);
            t.copy_from(Tensor<B, T>::from_vector(v, t.shape()));
        });
    }

private:
    ParameterStore<B, T>* store_;
    Parameter weight_, bias_;
    bool has_bias_;
};

}  // namespace tandem
