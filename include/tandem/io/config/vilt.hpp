// transformers' ViltConfig (v4.36) as read from and written to config.json: one
// transformer over BERT text embeddings and ViT patch embeddings, with the defaults
// transformers fills in for absent keys and every field validated on load.
// reference: transformers models/vilt/configuration_vilt.py.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/config/bert.hpp>
#include <tandem/io/config/common.hpp>
#include <tandem/io/json_file.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tandem::io {

struct ViltConfig {
    static constexpr const char* model_type = "vilt";

    std::int64_t vocab_size = 30522;
    std::int64_t type_vocab_size = 2;
    // Rows of the embeddings that mark a token as text (0) or image (1).
    std::int64_t modality_type_vocab_size = 2;
    std::int64_t max_position_embeddings = 40;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double hidden_dropout_prob = 0.0;
    double attention_probs_dropout_prob = 0.0;
    double initializer_range = 0.02;
    double layer_norm_eps = 1e-12;
    std::int64_t image_size = 384;
    std::int64_t patch_size = 32;
    std::int64_t num_channels = 3;
    bool qkv_bias = true;
    // -1: every valid patch of an image becomes a token. A positive value makes Hugging
    // Face sample that many patches at random, in eval mode too; tandem refuses it.
    std::int64_t max_image_length = -1;
    bool tie_word_embeddings = false;
    std::int64_t num_images = -1;
    std::optional<std::int64_t> pad_token_id;
    std::map<std::int64_t, std::string> id2label{{0, "LABEL_0"}, {1, "LABEL_1"}};
    std::vector<std::string> architectures{"ViltModel"};
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("vocab_size", c.vocab_size);
        f("type_vocab_size", c.type_vocab_size);
        f("modality_type_vocab_size", c.modality_type_vocab_size);
        f("max_position_embeddings", c.max_position_embeddings);
        f("hidden_size", c.hidden_size);
        f("num_hidden_layers", c.num_hidden_layers);
        f("num_attention_heads", c.num_attention_heads);
        f("intermediate_size", c.intermediate_size);
        f("hidden_act", c.hidden_act);
        f("hidden_dropout_prob", c.hidden_dropout_prob);
        f("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
        f("initializer_range", c.initializer_range);
        f("layer_norm_eps", c.layer_norm_eps);
        f("image_size", c.image_size);
        f("patch_size", c.patch_size);
        f("num_channels", c.num_channels);
        f("qkv_bias", c.qkv_bias);
        f("max_image_length", c.max_image_length);
        f("tie_word_embeddings", c.tie_word_embeddings);
        f("num_images", c.num_images);
        f("pad_token_id", c.pad_token_id);
    }

    std::int64_t num_labels() const { return static_cast<std::int64_t>(id2label.size()); }
    // The side of the square grid of learned patch positions.
    std::int64_t position_grid() const { return image_size / patch_size; }

    static ViltConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader r(json, source);
        detail::check_model_type(r, model_type, true);
        ViltConfig c;
        detail::read_config_fields(c, r,
                                   {"model_type", "architectures", "id2label", "label2id", "num_labels"});
        c.architectures = detail::read_architectures(r, c.architectures);
        c.id2label = detail::read_labels(r);
        detail::check_tower(r, c);
        detail::check_patches(r, c);
        detail::check_count(r, "vocab_size", c.vocab_size, detail::kVocabLimit);
        detail::check_count(r, "max_position_embeddings", c.max_position_embeddings, detail::kPositionLimit);
        detail::check_count(r, "type_vocab_size", c.type_vocab_size, detail::kTypeLimit);
        // Text is modality 0 and images modality 1.
        if (c.modality_type_vocab_size < 2 || c.modality_type_vocab_size > detail::kTypeLimit.max)
            detail::throw_error(r.where("modality_type_vocab_size"), ": expected an integer from 2 to ",
                                detail::kTypeLimit.max, " (text and image), found ",
                                c.modality_type_vocab_size);
        detail::check_dropout(r, "hidden_dropout_prob", c.hidden_dropout_prob);
        detail::check_dropout(r, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
        detail::check_non_negative(r, "initializer_range", c.initializer_range);
        if (c.pad_token_id && (*c.pad_token_id < 0 || *c.pad_token_id >= c.vocab_size))
            detail::throw_error(r.where("pad_token_id"), ": expected an id below vocab_size ", c.vocab_size,
                                ", found ", *c.pad_token_id);
        if (c.max_image_length != -1)
            detail::throw_error(r.where("max_image_length"),
                                ": tandem implements -1 (every valid patch; a positive value samples "
                                "patches at random), found ",
                                c.max_image_length);
        if (!c.qkv_bias) detail::throw_error(r.where("qkv_bias"), ": tandem implements true, found false");
        return c;
    }
    static ViltConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<ViltConfig>(path);
    }

    nlohmann::json to_json() const { return detail::bert_config_to_json(*this); }
    bool operator==(const ViltConfig&) const = default;
};

}  // namespace tandem::io
