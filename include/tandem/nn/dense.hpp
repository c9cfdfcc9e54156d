// Dense: sentence-transformers' projection of a sentence embedding, activation(x W^T + b)
// (plus x, or a bias-free projection of x, with use_residual), its weights named
// "linear.weight" / "linear.bias" under the module's scope as its model.safetensors holds them.
// reference: sentence_transformers.base.modules.Dense (v6).
#pragma once

#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/nn/linear.hpp>
#include <tandem/nn/module.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace tandem {

// The torch.nn modules sentence-transformers users put in a Dense, by the class path its
// config.json records (Identity for activation_function=None).
enum class DenseActivation { Identity, Tanh, ReLU, GELU, Sigmoid };

inline constexpr DenseActivation kDenseActivations[] = {DenseActivation::Identity, DenseActivation::Tanh,
                                                        DenseActivation::ReLU, DenseActivation::GELU,
                                                        DenseActivation::Sigmoid};

inline std::string_view dense_activation_name(DenseActivation a) {
    switch (a) {
        case DenseActivation::Identity:
            return "torch.nn.modules.linear.Identity";
        case DenseActivation::Tanh:
            return "torch.nn.modules.activation.Tanh";
        case DenseActivation::ReLU:
            return "torch.nn.modules.activation.ReLU";
        case DenseActivation::GELU:
            return "torch.nn.modules.activation.GELU";
        case DenseActivation::Sigmoid:
            return "torch.nn.modules.activation.Sigmoid";
    }
    return "";
}

inline std::optional<DenseActivation> dense_activation_from_name(std::string_view name) {
    for (DenseActivation a : kDenseActivations)
        if (dense_activation_name(a) == name) return a;
    return std::nullopt;
}

// What {i}_Dense/config.json holds (io/config/sentence_transformers.hpp reads and writes it).
struct DenseConfig {
    index_t in_features = 0;
    index_t out_features = 0;
    bool bias = true;
    DenseActivation activation_function = DenseActivation::Tanh;
    bool use_residual = false;
};

template <Backend B, Scalar T>
class Dense {
public:
    using backend_type = B;
    using value_type = T;

    // Parameters "<scope>.linear.weight" [out, in], "<scope>.linear.bias" [out], and with
    // use_residual between different widths "<scope>.residual.weight" [out, in].
    Dense(ParameterStore<B, T>& store, const Scope& scope, const DenseConfig& config)
        : config_(checked(config)),
          linear_(store, scope / "linear", config.in_features, config.out_features, config.bias) {
        if (config.use_residual && config.in_features != config.out_features)
            residual_.emplace(store, scope / "residual", config.in_features, config.out_features, false);
    }

    const DenseConfig& config() const { return config_; }

    // x [batch, in_features]; out [batch, out_features]
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x) const {
        if (x.shape().rank() != 2 || x.shape()[1] != config_.in_features)
            detail::throw_error("Dense: expected embeddings [batch, ", config_.in_features, "], found ",
                                x.shape().str());
        auto out = activate(linear_.forward(g, x));
        if (!config_.use_residual) return out;
        return add(out, residual_ ? residual_->forward(g, x) : x);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        linear_.for_each_parameter(f);
        if (residual_) residual_->for_each_parameter(f);
    }

    // torch.nn.Linear's default, as a new Dense starts.
    void reset_parameters(std::uint64_t seed) {
        linear_.reset_parameters(seed);
        if (residual_) residual_->reset_parameters(seed + 1);
    }

private:
    static const DenseConfig& checked(const DenseConfig& c) {
        if (c.in_features < 1 || c.out_features < 1)
            detail::throw_error("Dense: in_features and out_features must be positive, found ", c.in_features,
                                " and ", c.out_features);
        return c;
    }

    Var<B, T> activate(const Var<B, T>& x) const {
        switch (config_.activation_function) {
            case DenseActivation::Identity:
                return x;
            case DenseActivation::Tanh:
                return tanh(x);
            case DenseActivation::ReLU:
                return relu(x);
            case DenseActivation::GELU:
                return gelu(x);
            case DenseActivation::Sigmoid:
                return sigmoid(x);
        }
        return x;
    }

    DenseConfig config_;
    Linear<B, T> linear_;
    std::optional<Linear<B, T>> residual_;
};

}  // namespace tandem
