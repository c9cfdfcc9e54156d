// Finite-difference gradient check for ops and modules built on the autograd, in
// double precision. Public so users can check their own ops the way tandem's tests do.
// reference: torch.autograd.gradcheck (central differences), scored per input tensor.
#pragma once

#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/autograd/ops/reduce.hpp>
#include <tandem/backend/cpu.hpp>
#include <tandem/core/rng.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace tandem::testing {

struct GradcheckResult {
    // max |analytic - numeric| / max |numeric| over the elements of the worst input.
    double max_relative_error = 0;
    int worst_input = -1;
};

// f maps input Vars to an output Var of any shape. The check differentiates
// sum(f(inputs) * R) for a fixed random R, so every output element contributes.
// Every graph is built with `options`: in train mode each evaluation draws the same
// dropout masks, so f is a fixed function of its inputs.
template <Backend B = Cpu>
GradcheckResult gradcheck(
    const std::function<Var<B, double>(Graph<B, double>&, const std::vector<Var<B, double>>&)>& f,
    const std::vector<Tensor<B, double>>& inputs, double step = 1e-6, std::uint64_t seed = 1234,
    const GraphOptions& options = {}) {
    using TensorD = Tensor<B, double>;
    std::vector<TensorD> projection;
    auto loss_of = [&](Graph<B, double>& g, const std::vector<Var<B, double>>& vars) {
        auto out = f(g, vars);
        if (projection.empty()) {
            std::vector<double> r(static_cast<std::size_t>(out.value().numel()));
            Philox rng(seed, 99);
            for (std::size_t i = 0; i < r.size(); ++i) r[i] = rng.uniform(i) * 2 - 1;
            projection.push_back(TensorD::from_vector(r, out.shape()));
        }
        return sum(mul(out, g.input(projection[0])));
    };

    Graph<B, double> g(options);
    std::vector<Var<B, double>> vars;
    for (const auto& t : inputs) vars.push_back(g.input(t.clone(), true));
    g.backward(loss_of(g, vars));

    GradcheckResult result;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        // Zeros when no gradient reached this input.
        const std::vector<double> analytic = g.grad_buffer(vars[i].index).to_vector();
        std::vector<double> x = inputs[i].to_vector();
        double max_diff = 0, max_numeric = 0;
        for (std::size_t j = 0; j < x.size(); ++j) {
            auto eval = [&](double value) {
                std::vector<double> shifted = x;
                shifted[j] = value;
                NoGradGuard no_grad;
                Graph<B, double> h(options);
                std::vector<Var<B, double>> vs;
                for (std::size_t k = 0; k < inputs.size(); ++k)
                    vs.push_back(
                        h.input(k == i ? TensorD::from_vector(shifted, inputs[i].shape()) : inputs[k]));
                return loss_of(h, vs).value().item();
            };
            const double numeric = (eval(x[j] + step) - eval(x[j] - step)) / (2 * step);
            max_diff = std::max(max_diff, std::abs(numeric - analytic[j]));
            max_numeric = std::max(max_numeric, std::abs(numeric));
        }
        const double rel = max_diff / std::max(max_numeric, 1e-12);
        if (rel >= result.max_relative_error) {
            result.max_relative_error = rel;
            result.worst_input = static_cast<int>(i);
        }
    }
    return result;
}

// The same check for a module's parameters: loss(g) builds a one-element loss from
// the parameters in `store`. `samples` entries of every parameter (spread over the
// tensor) are perturbed; the score is max |analytic - numeric| / max |numeric| over them.
// Frozen parameters get no gradient and are skipped. Graphs are built with `options`,
// as in gradcheck.
template <Backend B = Cpu>
GradcheckResult gradcheck_parameters(ParameterStore<B, double>& store,
                                     const std::function<Var<B, double>(Graph<B, double>&)>& loss,
                                     int samples = 3, double step = 1e-6, const GraphOptions& options = {}) {
    store.zero_grad();
    {
        Graph<B, double> g(options);
        g.backward(loss(g));
    }
    double max_diff = 0, max_numeric = 0;
    for (int i = 0; i < static_cast<int>(store.size()); ++i) {
        const Parameter p{i};
        if (!store.requires_grad(p)) continue;
        auto value = store.value(p);
        const auto analytic = store.grad(p).to_vector();
        const index_t n = value.numel();
        for (int s = 0; s < samples && s < n; ++s) {
            const index_t j = (n - 1) * s / std::max(samples - 1, 1);
            std::vector<double> v = value.to_vector();
            const double original = v[j];
            auto eval = [&](double x) {
                v[j] = x;
                value.copy_from(Tensor<B, double>::from_vector(v, value.shape()));
                NoGradGuard no_grad;
                Graph<B, double> g(options);
                return loss(g).value().item();
            };
            const double numeric = (eval(original + step) - eval(original - step)) / (2 * step);
            eval(original);
            max_diff = std::max(max_diff, std::abs(numeric - analytic[j]));
            max_numeric = std::max(max_numeric, std::abs(numeric));
        }
    }
    return {max_diff / std::max(max_numeric, 1e-12), -1};
}

}  // namespace tandem::testing
