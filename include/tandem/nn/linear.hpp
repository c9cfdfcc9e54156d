// Linear: y = x W^T + b with W stored [out_features, in_features].
// reference: torch.nn.Linear (names "weight", "bias"; uniform init in +-1/sqrt(in)).
#pragma once

#include <tandem/autograd/ops/matmul.hpp>
#include <tandem/nn/init.hpp>
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

    // PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    void reset_parameters(std::uint64_t seed) {
        const double bound = 1.0 / std::sqrt(double(in_features()));
        for_each_parameter(
            [&](const std::string&, Parameter p) { init_uniform(*store_, p, -bound, bound, seed); });
    }

    // HF transformers' init for most Linear layers: N(0, std^2) weights, zero bias.
    void reset_parameters_normal(double std, std::uint64_t seed) {
        init_normal(*store_, weight_, std, seed);
        if (has_bias_) init_constant(*store_, bias_, 0.0);
    }

    Parameter weight() const { return weight_; }

private:
    ParameterStore<B, T>* store_;
    Parameter weight_, bias_;
    bool has_bias_;
};

}  // namespace tandem
