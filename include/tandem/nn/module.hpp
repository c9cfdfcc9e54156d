// The Module and Layer concepts: what every layer and model provides so that saving,
// loading, optimizers and gradient clipping can walk its parameters by Hugging Face
// name, and what a layer that maps states to states provides so Sequential can chain it.
// reference: torch.nn.Module.named_parameters(), torch.nn.Module.forward.
#pragma once

#include <tandem/autograd/graph.hpp>
#include <tandem/autograd/parameter_store.hpp>

#include <concepts>
#include <string>

namespace tandem {

namespace detail {
// A visitor that accepts any (name, parameter) pair; used only to state the concept.
struct ParameterVisitorArchetype {
    void operator()(const std::string&, Parameter) const {}
};
}  // namespace detail

// Represents: a layer or model whose parameters live in a ParameterStore.
// Requires: backend_type and value_type, and for_each_parameter(f) calling
// f(hf_name, Parameter) for every parameter it owns, children included.
// Ensures: names are unique and equal the keys of the model's model.safetensors.
template <class M>
concept Module = requires(const M& m, detail::ParameterVisitorArchetype f) {
    typename M::backend_type;
    typename M::value_type;
    m.for_each_parameter(f);
};

// Represents: a module that maps one Var to another, as a Linear, a LayerNorm or a
// transformer block does.
// Requires: Module, and forward(graph, x) taking and returning Var<backend_type, value_type>.
// Ensures: it can stand anywhere in a Sequential. Models whose forward takes token ids or
// returns several outputs are Modules but not Layers; the towers among them are
// EncoderTowers (models/dual_encoder.hpp).
template <class M>
concept Layer = Module<M> && requires(const M& m, Graph<typename M::backend_type, typename M::value_type>& g,
                                      const Var<typename M::backend_type, typename M::value_type>& x) {
    { m.forward(g, x) } -> std::same_as<Var<typename M::backend_type, typename M::value_type>>;
};

// Joins name scopes the way Hugging Face names parameters: "encoder" / "layers" / 0.
class Scope {
public:
    Scope() = default;
    Scope(std::string prefix) : prefix_(std::move(prefix)) {}
    Scope(const char* prefix) : prefix_(prefix) {}
    Scope operator/(const std::string& part) const {
        return Scope(prefix_.empty() ? part : prefix_ + "." + part);
    }
    Scope operator/(int index) const { return *this / std::to_string(index); }
    const std::string& str() const { return prefix_; }

private:
    std::string prefix_;
};

}  // namespace tandem
