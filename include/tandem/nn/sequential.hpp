// Sequential: layers applied in order, composed at compile time (the types are the
// template arguments, so the chain inlines). Each layer's forward(g, x) feeds the next.
// reference: torch.nn.Sequential.
#pragma once

#include <tandem/autograd/graph.hpp>
#include <tandem/nn/module.hpp>

#include <tuple>
#include <utility>

namespace tandem {

namespace detail {
enum class SequentialFault { none, not_module, backends_differ, scalars_differ, not_layer };

// The first rule a Sequential of these types breaks, so that exactly one static_assert fires.
template <class First, class... Rest>
consteval SequentialFault sequential_fault() {
    if constexpr (!(Module<First> && (Module<Rest> && ...)))
        return SequentialFault::not_module;
    else if constexpr (!(std::same_as<typename Rest::backend_type, typename First::backend_type> && ...))
        return SequentialFault::backends_differ;
    else if constexpr (!(std::same_as<typename Rest::value_type, typename First::value_type> && ...))
        return SequentialFault::scalars_differ;
    else if constexpr (!(Layer<First> && (Layer<Rest> && ...)))
        return SequentialFault::not_layer;
    else
        return SequentialFault::none;
}
}  // namespace detail

// Reached only when a rule is broken: it states the rule in one sentence instead of the
// error a fold over std::apply would print deep inside forward. Its constructor lets
// class template argument deduction reach the assertions.
template <class First, class... Rest>
class Sequential {
    static constexpr auto fault = detail::sequential_fault<First, Rest...>();
    static_assert(
        fault != detail::SequentialFault::not_module,
        "Sequential: every element must be a Module (backend_type, value_type, for_each_parameter)");
    static_assert(fault != detail::SequentialFault::backends_differ,
                  "Sequential: every module must use the same backend");
    static_assert(fault != detail::SequentialFault::scalars_differ,
                  "Sequential: every module must use the same scalar type");
    static_assert(fault != detail::SequentialFault::not_layer,
                  "Sequential: every module must be a Layer, with forward(graph, Var) returning a Var");

public:
    explicit Sequential(First, Rest...) {}
};

template <class First, class... Rest>
requires(detail::sequential_fault<First, Rest...>() ==
         detail::SequentialFault::none) class Sequential<First, Rest...> {
public:
    using backend_type = typename First::backend_type;
    using value_type = typename First::value_type;

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
