// The activation named in a Hugging Face config (`hidden_act`), applied as one op.
// reference: transformers.activations.ACT2FN.
#pragma once

#include <tandem/autograd/ops/elementwise.hpp>

#include <string>

namespace tandem {

enum class Activation { Gelu, GeluTanh, QuickGelu, Relu, Tanh };

// Names as ACT2FN spells them; "gelu_new" and "gelu_pytorch_tanh" are the tanh form.
inline Activation activation_from_name(const std::string& name) {
    if (name == "gelu") return Activation::Gelu;
    if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_fast") return Activation::GeluTanh;
    if (name == "quick_gelu") return Activation::QuickGelu;
    if (name == "relu") return Activation::Relu;
    if (name == "tanh") return Activation::Tanh;
    detail::throw_error(
        "hidden_act: expected one of gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, tanh; ", "found '",
        name, "'");
}

template <Backend B, Scalar T>
Var<B, T> activate(Activation a, const Var<B, T>& x) {
    switch (a) {
        case Activation::Gelu:
            return gelu(x);
        case Activation::GeluTanh:
            return gelu_tanh(x);
        case Activation::QuickGelu:
            return quick_gelu(x);
        case Activation::Relu:
            return relu(x);
        case Activation::Tanh:
            return tanh(x);
    }
    return x;
}

}  // namespace tandem
