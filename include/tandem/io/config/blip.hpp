// transformers' BlipConfig, BlipTextConfig and BlipVisionConfig (v4.36) as read from and
// written to config.json, with the defaults transformers fills in for absent keys and
// every field validated on load.
// reference: transformers models/blip/configuration_blip.py.
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

// transformers.BlipTextConfig (v4.36): the BERT-style text encoder, whose layers
// cross-attend to image tokens of width encoder_hidden_size.
struct BlipTextConfig {
    static constexpr const char* model_type = "blip_text_model";

    std::int64_t vocab_size = 30524;
    std::int64_t hidden_size = 768;
    // The vision width; BlipConfig overwrites it with vision_config.hidden_size.
    std::int64_t encoder_hidden_size = 768;
    std::int64_t intermediate_size = 3072;
    std::int64_t projection_dim = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 8;
    std::int64_t max_position_embeddings = 512;
    std::string hidden_act = "gelu";
    double layer_norm_eps = 1e-12;
    double hidden_dropout_prob = 0.0;
    double attention_probs_dropout_prob = 0.0;
    double initializer_range = 0.02;
    std::optional<std::int64_t> bos_token_id = 30522;
    std::optional<std::int64_t> eos_token_id = 2;
    std::optional<std::int64_t> pad_token_id = 0;
    std::optional<std::int64_t> sep_token_id = 102;
    // Builds the cross-attention sublayers (BlipTextLayer); forward calls still run the
    // encoder bidirectionally.
    bool is_decoder = true;
    bool use_cache = true;
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("vocab_size", c.vocab_size);
        f("hidden_size", c.hidden_size);
        f("encoder_hidden_size", c.encoder_hidden_size);
        f("intermediate_size", c.intermediate_size);
        f("projection_dim", c.projection_dim);
        f("num_hidden_layers", c.num_hidden_layers);
        f("num_attention_heads", c.num_attention_heads);
        f("max_position_embeddings", c.max_position_embeddings);
        f("hidden_act", c.hidden_act);
        f("layer_norm_eps", c.layer_norm_eps);
        f("hidden_dropout_prob", c.hidden_dropout_prob);
        f("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
        f("initializer_range", c.initializer_range);
        f("bos_token_id", c.bos_token_id);
        f("eos_token_id", c.eos_token_id);
        f("pad_token_id", c.pad_token_id);
        f("sep_token_id", c.sep_token_id);
        f("is_decoder", c.is_decoder);
        f("use_cache", c.use_cache);
    }

    static BlipTextConfig from_reader(const JsonObjectReader& r) {
        detail::check_model_type(r, model_type, false);
        BlipTextConfig c;
        detail::read_config_fields(c, r, {"model_type"});
        detail::check_tower(r, c);
        detail::check_count(r, "encoder_hidden_size", c.encoder_hidden_size, detail::kWidthLimit);
        detail::check_count(r, "projection_dim", c.projection_dim, detail::kWidthLimit);
        detail::check_count(r, "vocab_size", c.vocab_size, detail::kVocabLimit);
        detail::check_count(r, "max_position_embeddings", c.max_position_embeddings, detail::kPositionLimit);
        detail::check_dropout(r, "hidden_dropout_prob", c.hidden_dropout_prob);
        detail::check_dropout(r, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
        detail::check_non_negative(r, "initializer_range", c.initializer_range);
        // nn.Embedding(vocab_size, hidden_size, padding_idx=pad_token_id) refuses a row outside the table.
        if (c.pad_token_id && (*c.pad_token_id < 0 || *c.pad_token_id >= c.vocab_size))
            detail::throw_error(r.where("pad_token_id"), ": expected an id below vocab_size ", c.vocab_size,
                                ", found ", *c.pad_token_id);
        return c;
    }
    nlohmann::json to_json() const { return detail::write_config_fields(*this); }
    bool operator==(const BlipTextConfig&) const = default;
};

// transformers.BlipVisionConfig (v4.36): a ViT over 3-channel images (the patch
// convolution has no num_channels setting).
struct BlipVisionConfig {
    static constexpr const char* model_type = "blip_vision_model";

    std::int64_t hidden_size = 768;
    std::int64_t intermediate_size = 3072;
    std::int64_t projection_dim = 512;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t image_size = 384;
    std::int64_t patch_size = 16;
    std::string hidden_act = "gelu";
    double layer_norm_eps = 1e-5;
    double attention_dropout = 0.0;
    double initializer_range = 1e-10;
    nlohmann::json extra = nlohmann::json::object();

    static constexpr std::int64_t num_channels = 3;

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("hidden_size", c.hidden_size);
        f("intermediate_size", c.intermediate_size);
        f("projection_dim", c.projection_dim);
        f("num_hidden_layers", c.num_hidden_layers);
        f("num_attention_heads", c.num_attention_heads);
        f("image_size", c.image_size);
        f("patch_size", c.patch_size);
        f("hidden_act", c.hidden_act);
        f("layer_norm_eps", c.layer_norm_eps);
        f("attention_dropout", c.attention_dropout);
        f("initializer_range", c.initializer_range);
    }

    static BlipVisionConfig from_reader(const JsonObjectReader& r) {
        detail::check_model_type(r, model_type, false);
        BlipVisionConfig c;
        detail::read_config_fields(c, r, {"model_type"});
        detail::check_tower(r, c);
        detail::check_patches(r, c);
        detail::check_count(r, "projection_dim", c.projection_dim, detail::kWidthLimit);
        detail::check_dropout(r, "attention_dropout", c.attention_dropout);
        detail::check_non_negative(r, "initializer_range", c.initializer_range);
        return c;
    }
    // Patches per side; the class token makes num_patches() + 1 positions.
    std::int64_t grid_size() const { return image_size / patch_size; }
    std::int64_t num_patches() const { return grid_size() * grid_size(); }
    nlohmann::json to_json() const { return detail::write_config_fields(*this); }
    bool operator==(const BlipVisionConfig&) const = default;
};

// transformers.BlipConfig (v4.36): model_type "blip". image_text_hidden_size is the width
// of the ITC projections (vision_proj, text_proj).
struct BlipConfig {
    static constexpr const char* model_type = "blip";

    BlipTextConfig text_config;
    BlipVisionConfig vision_config;
    std::int64_t projection_dim = 512;
    double logit_scale_init_value = 2.6592;
    std::int64_t image_text_hidden_size = 256;
    // BlipConfig.__init__ sets these whatever config.json says; they are written, not read.
    double initializer_factor = 1.0;
    double initializer_range = 0.02;
    std::vector<std::string> architectures{};
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("projection_dim", c.projection_dim);
        f("logit_scale_init_value", c.logit_scale_init_value);
        f("image_text_hidden_size", c.image_text_hidden_size);
    }

    static BlipConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader r(json, source);
        detail::check_model_type(r, model_type, true);
        BlipConfig c;
        detail::read_config_fields(c, r,
                                   {"model_type", "architectures", "text_config", "vision_config",
                                    "initializer_factor", "initializer_range"});
        detail::check_count(r, "projection_dim", c.projection_dim, detail::kWidthLimit);
        detail::check_count(r, "image_text_hidden_size", c.image_text_hidden_size, detail::kWidthLimit);
        c.architectures = detail::read_architectures(r, c.architectures);
        c.text_config = BlipTextConfig::from_reader(r.object("text_config"));
        c.vision_config = BlipVisionConfig::from_reader(r.object("vision_config"));
        // As BlipConfig.__init__: the text encoder cross-attends to the vision tower's width.
        c.text_config.encoder_hidden_size = c.vision_config.hidden_size;
        return c;
    }
    static BlipConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<BlipConfig>(path);
    }

    nlohmann::json to_json() const {
        auto out = detail::write_config_fields(*this);
        out["initializer_factor"] = initializer_factor;
        out["initializer_range"] = initializer_range;
        out["architectures"] = architectures;
        out["text_config"] = text_config.to_json();
        out["vision_config"] = vision_config.to_json();
        return out;
    }
    bool operator==(const BlipConfig&) const = default;
};

}  // namespace tandem::io
