// LayerNorm over the last axis with learned weight and bias.
// reference: torch.nn.LayerNorm (names "weight", "bias"; init 1 and 0).
#pragma once

#include <tandem/autograd/ops/norm.hpp>
#include <tandem/nn/init.hpp>
#include <tandem/nn/module.hpp>

namespace tandem {

template <Backend B, Scalar T>
class LayerNorm {
public:
    using backend_type = B;
    using value_type = T;

    LayerNorm(ParameterStore<B, T>& store, const Scope& scope, index_t dim, double eps)
        : store_(&store),
          weight_(store.add((scope / "weight").str(), {dim})),
          bias_(store.add((scope / "bias").str(), {dim})),
          eps_(eps) {}

    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x) const {
        return layer_norm(x, g.parameter(*store_, weight_), g.parameter(*store_, bias_), T(eps_));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        f(store_->name(weight_), weight_);
        f(store_->name(bias_), bias_);
    }

    void reset_parameters() {
        init_constant(*store_, weight_, 1.0);
        init_constant(*store_, bias_, 0.0);
    }

private:
    ParameterStore<B, T>* store_;
    Parameter weight_, bias_;
    double eps_;
};

}  // namespace tandem
