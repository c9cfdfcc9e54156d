// The transformer feed-forward block: fc2(act(fc1(x))).
// reference: transformers CLIPMLP / SiglipMLP (names "fc1", "fc2"), ViltIntermediate + ViltOutput.
#pragma once

#include <tandem/nn/activation.hpp>
#include <tandem/nn/linear.hpp>

#include <string>

namespace tandem {

// Where the two layers live under the Mlp's scope: CLIP's and SigLIP's names by default;
// BERT-style layers (ViLT) call them intermediate.dense and output.dense.
struct MlpNames {
    std::string fc1 = "fc1", fc2 = "fc2";
};

template <Backend B, Scalar T>
class Mlp {
public:
    using backend_type = B;
    using value_type = T;

    Mlp(ParameterStore<B, T>& store, const Scope& scope, index_t dim, index_t hidden, Activation act,
        const MlpNames& names = {})
        : fc1_(store, scope / names.fc1, dim, hidden),
          fc2_(store, scope / names.fc2, hidden, dim),
          act_(act) {}

    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x) const {
        return fc2_.forward(g, activate(act_, fc1_.forward(g, x)));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        fc1_.for_each_parameter(f);
        fc2_.for_each_parameter(f);
    }

    void reset_parameters_normal(double std, std::uint64_t seed) {
        fc1_.reset_parameters_normal(std, seed);
        fc2_.reset_parameters_normal(std, seed);
    }

private:
    Linear<B, T> fc1_, fc2_;
    Activation act_;
};

}  // namespace tandem
