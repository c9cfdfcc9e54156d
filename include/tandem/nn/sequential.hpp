// Sequential: modules applied in order, composed at compile time (the types are the
// template arguments, so the chain inlines). Each module's forward(g, x) feeds the next.
// reference: torch.nn.Sequential.
#pragma once

#include <tandem/autograd/graph.hpp>
#include <tandem/nn/module.hpp>

#include <tuple>
#include <utility>

namespace tandem {

template <Module First, Module... Rest>
class Sequential {
public:
    using backend_type = typename First::backend_type;
    using value_type = typename First::value_type;
    static_assert((std::same_as<typename Rest::backend_type, backend_type> && ...),
                  "Sequential: every module must use the same backend");
    static_assert((std::same_as<typename Rest::value_type, value_type> && ...),
                  "Sequential: every module must use the same scalar type");

    explicit Sequential(First first, Rest... rest) : modules_(std::move(first), std::move(rest)...) {}

    Var<backend_type, value_type> forward(Graph<backend_type, value_type>& g,
                                          Var<backend_type, value_type> x) const {
        std::apply([&](const auto&... m) { ((x = m.forward(g, x)), ...); }, modules_);
        return x;
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        std::apply([&](const auto&... m) { (m.for_each_parameter(f), ...); }, modules_);
    }

    template <std::size_t I>
    const auto& get() const {
        return std::get<I>(modules_);
    }

private:
    std::tuple<First, Rest...> modules_;
};

}  // namespace tandem
