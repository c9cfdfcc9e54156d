// transformers' DistilBertConfig (v5.25) as read from and written to config.json, with
// the defaults transformers fills in for absent keys and every field validated on load.
// reference: transformers DistilBertConfig.
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

// transformers.DistilBertConfig. The JSON keys are DistilBERT's own ("dim", "n_layers",
// "n_heads"); the members carrying them take the names PretrainedConfig's attribute_map
// gives them (hidden_size, num_hidden_layers, num_attention_heads), so code that reads
// any text tower's config reads one set of names.
struct DistilBertConfig {
    static constexpr const char* model_type = "distilbert";

    std::int64_t vocab_size = 30522;
    std::int64_t max_position_embeddings = 512;
    // Only how transformers initialises the position table; a checkpoint holds the table.
    bool sinusoidal_pos_embds = false;
    std::int64_t num_hidden_layers = 6;     // "n_layers"
    std::int64_t num_attention_heads = 12;  // "n_heads"
    std::int64_t hidden_size = 768;         // "dim"
    std::int64_t hidden_dim = 3072;         // the feed-forward width
    double dropout = 0.1;
    double attention_dropout = 0.1;
    std::string activation = "gelu";
    double initializer_range = 0.02;
    double qa_dropout = 0.1;
    double seq_classif_dropout = 0.2;
    std::optional<std::int64_t> pad_token_id = 0;
    std::optional<std::int64_t> eos_token_id;
    std::optional<std::int64_t> bos_token_id;
    std::vector<std::string> architectures{"DistilBertModel"};
    nlohmann::json extra = nlohmann::json::object();

    // DistilBERT's LayerNorms use this fixed epsilon; it is not a config key.
    static constexpr double layer_norm_eps = 1e-12;

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("vocab_size", c.vocab_size);
        f("max_position_embeddings", c.max_position_embeddings);
        f("sinusoidal_pos_embds", c.sinusoidal_pos_embds);
        f("n_layers", c.num_hidden_layers);
        f("n_heads", c.num_attention_heads);
        f("dim", c.hidden_size);
        f("hidden_dim", c.hidden_dim);
        f("dropout", c.dropout);
        f("attention_dropout", c.attention_dropout);
        f("activation", c.activation);
        f("initializer_range", c.initializer_range);
        f("qa_dropout", c.qa_dropout);
        f("seq_classif_dropout", c.seq_classif_dropout);
        f("pad_token_id", c.pad_token_id);
        f("eos_token_id", c.eos_token_id);
        f("bos_token_id", c.bos_token_id);
    }

    static DistilBertConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader r(json, source);
        detail::check_model_type(r, model_type, true);
        DistilBertConfig c;
        detail::read_config_fields(c, r, {"model_type", "architectures"});
        c.architectures = detail::read_architectures(r, c.architectures);
        detail::check_count(r, "dim", c.hidden_size, detail::kWidthLimit);
        detail::check_count(r, "n_heads", c.num_attention_heads, detail::kWidthLimit);
        if (c.hidden_size % c.num_attention_heads != 0)
            detail::throw_error(r.where("n_heads"), ": dim ", c.hidden_size, " is not a multiple of ",
                                c.num_attention_heads, " heads");
        detail::check_count(r, "n_layers", c.num_hidden_layers, detail::kLayerLimit);
        detail::check_count(r, "hidden_dim", c.hidden_dim, detail::kWidthLimit);
        detail::check_count(r, "vocab_size", c.vocab_size, detail::kVocabLimit);
        detail::check_count(r, "max_position_embeddings", c.max_position_embeddings, detail::kPositionLimit);
        detail::check_activation(r, "activation", c.activation);
        detail::check_dropout(r, "dropout", c.dropout);
        detail::check_dropout(r, "attention_dropout", c.attention_dropout);
        detail::check_dropout(r, "qa_dropout", c.qa_dropout);
        detail::check_dropout(r, "seq_classif_dropout", c.seq_classif_dropout);
        detail::check_non_negative(r, "initializer_range", c.initializer_range);
        if (c.pad_token_id && (*c.pad_token_id < 0 || *c.pad_token_id >= c.vocab_size))
            detail::throw_error(r.where("pad_token_id"), ": expected an id below vocab_size ", c.vocab_size,
                                ", found ", *c.pad_token_id);
        return c;
    }
    static DistilBertConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<DistilBertConfig>(path);
    }

    nlohmann::json to_json() const {
        auto out = detail::write_config_fields(*this);
        out["architectures"] = architectures;
        return out;
    }
    bool operator==(const DistilBertConfig&) const = default;
};

}  // namespace tandem::io
