// Pooling as a module: token states [batch, tokens, dim] to one vector per row, by the
// mode a sentence-transformers folder names in 1_Pooling/config.json, so a token-state
// tower followed by Pooling is an EncoderTower (models/pooled_tower.hpp).
// reference: sentence_transformers.models.Pooling (pooling_mode cls, mean, max, lasttoken).
#pragma once

#include <tandem/autograd/ops/reduce.hpp>
#include <tandem/nn/module.hpp>
#include <tandem/nn/pooling.hpp>

#include <string>
#include <string_view>

namespace tandem {

enum class PoolingMode { Cls, Mean, Max, LastToken };

// sentence-transformers' pooling_mode strings: "cls", "mean", "max", "lasttoken".
inline PoolingMode pooling_mode_from_name(std::string_view name) {
    if (name == "cls") return PoolingMode::Cls;
    if (name == "mean") return PoolingMode::Mean;
    if (name == "max") return PoolingMode::Max;
    if (name == "lasttoken") return PoolingMode::LastToken;
    detail::throw_error("pooling_mode: expected one of cls, mean, max, lasttoken; found '", name, "'");
}

inline std::string_view pooling_mode_name(PoolingMode mode) {
    switch (mode) {
        case PoolingMode::Cls:
            return "cls";
        case PoolingMode::Mean:
            return "mean";
        case PoolingMode::Max:
            return "max";
        case PoolingMode::LastToken:
            return "lasttoken";
    }
    return "";
}

// No parameters, so it adds no names to a model; with the default (absent) mask every
// token counts, which also makes it a Layer.
template <Backend B, Scalar T>
class Pooling {
public:
    using backend_type = B;
    using value_type = T;

    explicit Pooling(PoolingMode mode = PoolingMode::Mean) : mode_(mode) {}

    PoolingMode mode() const { return mode_; }

    // states [batch, tokens, dim]; mask [batch, tokens], 1 for real tokens, or undefined
    // when every token is real. out [batch, dim]
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& states, const Ids<B>& mask = {}) const {
        detail::check_states("Pooling", states);
        switch (mode_) {
            case PoolingMode::Cls:
                return pool_cls(states);
            case PoolingMode::Mean:
                return mask.defined() ? pool_mean(g, states, mask) : mean(states, 1);
            case PoolingMode::Max:
                return mask.defined() ? pool_max(g, states, mask) : max(states, 1);
            case PoolingMode::LastToken:
                return mask.defined() ? pool_last_token(states, mask) : pool_last(states);
        }
        detail::throw_error("Pooling: unknown mode ", int(mode_));
    }

    template <class F>
    void for_each_parameter(F&&) const {}

private:
    PoolingMode mode_;
};

}  // namespace tandem
