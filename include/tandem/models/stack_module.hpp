// StackModule: one module after Pooling, Dense or Normalize, chosen at run time, so that
// a folder's modules.json decides the stack without one stack type per combination.
// Compiled stacks name their modules' types; a loaded one holds StackModules.
#pragma once

#include <tandem/nn/dense.hpp>
#include <tandem/nn/module.hpp>
#include <tandem/nn/normalize.hpp>

#include <string>
#include <utility>
#include <variant>

namespace tandem {

template <Backend B, Scalar T>
class StackModule {
public:
    using backend_type = B;
    using value_type = T;

    explicit StackModule(Dense<B, T> dense) : m_(std::move(dense)) {}
    explicit StackModule(Normalize<B, T> normalize) : m_(std::move(normalize)) {}

    // f(the held module), as its own type.
    template <class F>
    decltype(auto) visit(F&& f) const {
        return std::visit(std::forward<F>(f), m_);
    }

    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x) const {
        return std::visit([&](const auto& m) { return m.forward(g, x); }, m_);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        std::visit([&](const auto& m) { m.for_each_parameter(f); }, m_);
    }

private:
    std::variant<Dense<B, T>, Normalize<B, T>> m_;
};

}  // namespace tandem
