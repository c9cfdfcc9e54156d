// Normalize: sentence-transformers' L2 normalisation of each embedding,
// x / max(||x||, 1e-12), as torch.nn.functional.normalize(x, p=2, dim=-1). No parameters.
// reference: sentence_transformers.base.modules.Normalize (v6).
#pragma once

#include <tandem/autograd/ops/norm.hpp>
#include <tandem/nn/module.hpp>

namespace tandem {

// {i}_Normalize/config.json holds only the feature names, which tandem's stacks fix to
// sentence_embedding (io/config/sentence_transformers.hpp reads and writes it).
struct NormalizeConfig {};

template <Backend B, Scalar T>
class Normalize {
public:
    using backend_type = B;
    using value_type = T;

    explicit Normalize(NormalizeConfig = {}) {}

    NormalizeConfig config() const { return {}; }

    // x [batch, dim]; out [batch, dim], unit rows (a zero row stays zero).
    Var<B, T> forward(Graph<B, T>&, const Var<B, T>& x) const { return l2_normalize(x); }

    template <class F>
    void for_each_parameter(F&&) const {}
};

}  // namespace tandem
