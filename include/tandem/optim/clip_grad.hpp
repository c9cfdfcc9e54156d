// Global-norm gradient clipping over the gradient arena: one kernel pass for the squared
// norm of each run, one to scale, as the Trainer's max_grad_norm does before each step.
// reference: torch.nn.utils.clip_grad_norm_ (norm_type 2: the 2-norm of all gradients
// together; each is multiplied by max_norm / (norm + 1e-6) when that is below 1).
#pragma once

#include <tandem/autograd/parameter_store.hpp>
#include <tandem/optim/param_groups.hpp>

#include <cmath>
#include <vector>

namespace tandem {

// Clips the gradients of the runs of `layout` that are not frozen (torch clips only the
// parameters given, and a frozen one has no gradient); returns the norm before clipping.
template <Backend B, Scalar T>
T clip_grad_norm(ParameterStore<B, T>& store, T max_norm, const ParamLayout<T>& layout) {
    if (!(max_norm > T(0)))
        detail::throw_error("clip_grad_norm: max_norm: expected a value > 0, found ", max_norm);
    std::vector<const typename ParamLayout<T>::Run*> active;
    for (const auto& r : layout.runs())
        if (!r.frozen && r.end > r.begin) active.push_back(&r);
    auto grads = store.grads();
    if (active.empty()) return T(0);
    // One squared norm per run, added on the host in order: deterministic at any thread count.
    auto partial = Tensor<B, T>::empty({static_cast<index_t>(active.size())});
    for (std::size_t i = 0; i < active.size(); ++i)
        B::sum_squares(partial.data() + i, grads.data() + active[i]->begin,
                       active[i]->end - active[i]->begin);
    T sum = T(0);
    for (const T v : partial.to_vector()) sum += v;
    const T norm = std::sqrt(sum);
    const T coef = max_norm / (norm + T(1e-6));
    if (coef < T(1))
        for (const auto* r : active) {
            T* g = grads.data() + r->begin;
            B::scale(g, g, coef, r->end - r->begin, false);
        }
    return norm;
}

// The whole arena, for a store without frozen parameters.
template <Backend B, Scalar T>
T clip_grad_norm(ParameterStore<B, T>& store, T max_norm) {
    return clip_grad_norm(store, max_norm, ParamLayout<T>(store, {}, "clip_grad_norm"));
}

}  // namespace tandem
