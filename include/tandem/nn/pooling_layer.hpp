// Pooling as a module: token states [batch, tokens, dim] to one vector per row, by the
// modes a sentence-transformers folder names in 1_Pooling/config.json, several of them
// concatenated in the order given, with the prompt's tokens left out when include_prompt
// is false. A token-state tower followed by Pooling is an EncoderTower (models/pooled_tower.hpp).
// reference: sentence_transformers.sentence_transformer.modules.Pooling (v6).
#pragma once

#include <tandem/autograd/ops/reduce.hpp>
#include <tandem/autograd/ops/shape.hpp>
#include <tandem/nn/module.hpp>
#include <tandem/nn/pooling.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem {

// In the order of the legacy pooling_mode_*_tokens keys, which is also the order
// sentence-transformers concatenates them in when a config sets several of those flags.
enum class PoolingMode { Cls, Max, Mean, MeanSqrtLenTokens, WeightedMean, LastToken };

inline constexpr PoolingMode kPoolingModes[] = {PoolingMode::Cls,          PoolingMode::Max,
                                                PoolingMode::Mean,         PoolingMode::MeanSqrtLenTokens,
                                                PoolingMode::WeightedMean, PoolingMode::LastToken};

inline std::string_view pooling_mode_name(PoolingMode mode) {
    switch (mode) {
        case PoolingMode::Cls:
            return "cls";
        case PoolingMode::Max:
            return "max";
        case PoolingMode::Mean:
            return "mean";
        case PoolingMode::MeanSqrtLenTokens:
            return "mean_sqrt_len_tokens";
        case PoolingMode::WeightedMean:
            return "weightedmean";
        case PoolingMode::LastToken:
            return "lasttoken";
    }
    return "";
}

// sentence-transformers' pooling_mode strings.
inline PoolingMode pooling_mode_from_name(std::string_view name) {
    for (PoolingMode mode : kPoolingModes)
        if (pooling_mode_name(mode) == name) return mode;
    detail::throw_error(
        "pooling_mode: expected one of cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken; found "
        "'",
        name, "'");
}

// What 1_Pooling/config.json holds (io/config/sentence_transformers.hpp reads and writes it).
struct PoolingConfig {
    // The width of the token states; 0 accepts any width.
    index_t embedding_dimension = 0;
    // One vector per mode, concatenated in this order.
    std::vector<PoolingMode> pooling_mode{PoolingMode::Mean};
    bool include_prompt = true;

    // sentence-transformers' pooling_output_dimension.
    index_t output_dimension() const { return embedding_dimension * index_t(pooling_mode.size()); }
};

// No parameters, so it adds no names to a model; with the default (absent) mask every
// token counts, which also makes it a Layer.
template <Backend B, Scalar T>
class Pooling {
public:
    using backend_type = B;
    using value_type = T;

    explicit Pooling(PoolingMode mode = PoolingMode::Mean) : Pooling(PoolingConfig{0, {mode}, true}) {}
    explicit Pooling(PoolingConfig config) : config_(std::move(config)) {
        if (config_.pooling_mode.empty()) detail::throw_error("Pooling: pooling_mode names no mode");
        if (config_.embedding_dimension < 0)
            detail::throw_error("Pooling: embedding_dimension must be >= 0, found ",
                                config_.embedding_dimension);
    }

    const PoolingConfig& config() const { return config_; }
    // The first mode (the only one, unless several are concatenated).
    PoolingMode mode() const { return config_.pooling_mode.front(); }

    // states [batch, tokens, dim]; mask [batch, tokens], 1 for real tokens, or undefined
    // when every token is real; prompt_length: the prompt's tokens at the start of each
    // row, left out when include_prompt is false. out [batch, dim * modes]
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& states, const Ids<B>& mask = {},
                      index_t prompt_length = 0) const {
        detail::check_states("Pooling", states);
        const Shape& s = states.shape();
        if (config_.embedding_dimension && s[2] != config_.embedding_dimension)
            detail::throw_error("Pooling: expected token states of width embedding_dimension ",
                                config_.embedding_dimension, ", found ", s.str());
        if (prompt_length < 0)
            detail::throw_error("Pooling: prompt_length must be >= 0, found ", prompt_length);
        const bool drop_prompt = !config_.include_prompt && prompt_length > 0;
        std::vector<Var<B, T>> parts;
        if (!mask.defined() && !drop_prompt && every_mode_has_unmasked_form()) {
            for (PoolingMode mode : config_.pooling_mode) parts.push_back(pool_unmasked(mode, states));
        } else {
            const Ids<B> original = mask.defined() ? mask : Ids<B>::full({s[0], s[1]}, 1);
            detail::check_mask("Pooling", states, original);
            Ids<B> used = original;
            if (drop_prompt) {
                used = Ids<B>::empty({s[0], s[1]});
                if (used.numel()) B::exclude_prompt(used.data(), original.data(), s[0], s[1], prompt_length);
            }
            for (PoolingMode mode : config_.pooling_mode)
                parts.push_back(mode == PoolingMode::Max ? pool_max(g, states, used)
                                                         : pool_weighted(g, states, used, original, mode));
        }
        return parts.size() == 1 ? parts.front() : concat(parts, 1);
    }

    template <class F>
    void for_each_parameter(F&&) const {}

private:
    bool every_mode_has_unmasked_form() const {
        for (PoolingMode mode : config_.pooling_mode)
            if (mode == PoolingMode::MeanSqrtLenTokens || mode == PoolingMode::WeightedMean) return false;
        return true;
    }

    static Var<B, T> pool_unmasked(PoolingMode mode, const Var<B, T>& states) {
        switch (mode) {
            case PoolingMode::Cls:
                return pool_cls(states);
            case PoolingMode::Max:
                return max(states, 1);
            case PoolingMode::LastToken:
                return pool_last(states);
            default:
                return mean(states, 1);
        }
    }

    // Every mode but max is a weighted sum of the token states: [B, 1, T] @ [B, T, D].
    static Var<B, T> pool_weighted(Graph<B, T>& g, const Var<B, T>& states, const Ids<B>& used,
                                   const Ids<B>& original, PoolingMode mode) {
        const Shape& s = states.shape();
        auto weights = Tensor<B, T>::empty({s[0], 1, s[1]});
        if (weights.numel())
            B::pooling_weights(weights.data(), used.data(), original.data(), s[0], s[1], weighting(mode));
        return reshape(matmul(g.input(weights), states), {s[0], s[2]});
    }

    static PoolingWeights weighting(PoolingMode mode) {
        switch (mode) {
            case PoolingMode::Cls:
                return PoolingWeights::FirstToken;
            case PoolingMode::MeanSqrtLenTokens:
                return PoolingWeights::MeanSqrtLen;
            case PoolingMode::WeightedMean:
                return PoolingWeights::WeightedMean;
            case PoolingMode::LastToken:
                return PoolingWeights::LastToken;
            default:
                return PoolingWeights::Mean;
        }
    }

    PoolingConfig config_;
};

}  // namespace tandem
