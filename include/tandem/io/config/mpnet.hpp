// transformers' MPNetConfig (v5.25) as read from and written to config.json, with the
// defaults transformers fills in for absent keys and every field validated on load.
// reference: transformers MPNetConfig.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/config/common.hpp>
#include <tandem/io/json_file.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tandem::io {

// transformers.MPNetConfig: BERT's sizes without token types, plus the relative
// position buckets of MPNetEncoder.
struct MPNetConfig {
    static constexpr const char* model_type = "mpnet";
    // MPNetEncoder.compute_position_bias buckets relative positions into 32 (its default
    // argument, whatever the config says) up to a distance of 128.
    static constexpr std::int64_t position_buckets = 32;
    static constexpr std::int64_t max_bucket_distance = 128;
    // MPNetEmbeddings pads with id 1 (its padding_idx) whatever pad_token_id says.
    static constexpr std::int64_t padding_idx = 1;

    std::int64_t vocab_size = 30527;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double hidden_dropout_prob = 0.1;
    double attention_probs_dropout_prob = 0.1;
    std::int64_t max_position_embeddings = 512;
    double initializer_range = 0.02;
    double layer_norm_eps = 1e-12;
    std::int64_t relative_attention_num_buckets = 32;
    std::optional<std::int64_t> pad_token_id = 1;
    std::optional<std::int64_t> bos_token_id = 0;
    std::optional<std::int64_t> eos_token_id = 2;
    std::vector<std::string> architectures{"MPNetModel"};
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("vocab_size", c.vocab_size);
        f("hidden_size", c.hidden_size);
        f("num_hidden_layers", c.num_hidden_layers);
        f("num_attention_heads", c.num_attention_heads);
        f("intermediate_size", c.intermediate_size);
        f("hidden_act", c.hidden_act);
        f("hidden_dropout_prob", c.hidden_dropout_prob);
        f("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
        f("max_position_embeddings", c.max_position_embeddings);
        f("initializer_range", c.initializer_range);
        f("layer_norm_eps", c.layer_norm_eps);
        f("relative_attention_num_buckets", c.relative_attention_num_buckets);
        f("pad_token_id", c.pad_token_id);
        f("bos_token_id", c.bos_token_id);
        f("eos_token_id", c.eos_token_id);
    }

    static MPNetConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader r(json, source);
        detail::check_model_type(r, model_type, true);
        MPNetConfig c;
        detail::read_config_fields(c, r, {"model_type", "architectures"});
        c.architectures = detail::read_architectures(r, c.architectures);
        detail::check_tower(r, c);
        detail::check_count(r, "vocab_size", c.vocab_size, detail::kVocabLimit);
        detail::check_count(r, "max_position_embeddings", c.max_position_embeddings, detail::kPositionLimit);
        detail::check_dropout(r, "hidden_dropout_prob", c.hidden_dropout_prob);
        detail::check_dropout(r, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
        detail::check_non_negative(r, "initializer_range", c.initializer_range);
        // Smaller tables would be indexed past their end, as transformers' would.
        if (c.relative_attention_num_buckets < position_buckets ||
            c.relative_attention_num_buckets > detail::kPositionLimit.max)
            detail::throw_error(r.where("relative_attention_num_buckets"), ": expected ", position_buckets,
                                " to ", detail::kPositionLimit.max, " (MPNetEncoder uses ", position_buckets,
                                " buckets), found ", c.relative_attention_num_buckets);
        if (c.vocab_size <= padding_idx || c.max_position_embeddings <= padding_idx + 1)
            detail::throw_error(
                r.where(c.vocab_size <= padding_idx ? "vocab_size" : "max_position_embeddings"),
                ": MPNet pads with id ", padding_idx, " and numbers positions from ", padding_idx + 1,
                ", so vocab_size must exceed ", padding_idx, " and max_position_embeddings ",
                padding_idx + 1);
        return c;
    }
    static MPNetConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<MPNetConfig>(path);
    }

    nlohmann::json to_json() const {
        auto out = detail::write_config_fields(*this);
        out["architectures"] = architectures;
        return out;
    }
    bool operator==(const MPNetConfig&) const = default;
};

}  // namespace tandem::io
