// transformers' CLIPConfig, CLIPTextConfig and CLIPVisionConfig (v4.36) as read from
// and written to config.json, with the defaults transformers fills in for absent keys
// and every field validated on load.
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

// transformers.CLIPTextConfig (v4.36).
struct CLIPTextConfig {
    static constexpr const char* model_type = "clip_text_model";

    std::int64_t vocab_size = 49408;
    std::int64_t hidden_size = 512;
    std::int64_t intermediate_size = 2048;
    std::int64_t projection_dim = 512;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 8;
    std::int64_t max_position_embeddings = 77;
    std::string hidden_act = "quick_gelu";
    double layer_norm_eps = 1e-5;
    double attention_dropout = 0.0;
    double initializer_range = 0.02;
    double initializer_factor = 1.0;
    // Old OpenAI configs carry eos_token_id 2, which switches HF's text pooling to
    // argmax(input_ids); the model layer needs the value as read.
    std::optional<std::int64_t> pad_token_id = 1;
    std::optional<std::int64_t> bos_token_id = 49406;
    std::optional<std::int64_t> eos_token_id = 49407;
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("vocab_size", c.vocab_size);
        f("hidden_size", c.hidden_size);
        f("intermediate_size", c.intermediate_size);
        f("projection_dim", c.projection_dim);
        f("num_hidden_layers", c.num_hidden_layers);
        f("num_attention_heads", c.num_attention_heads);
        f("max_position_embeddings", c.max_position_embeddings);
        f("hidden_act", c.hidden_act);
        f("layer_norm_eps", c.layer_norm_eps);
        f("attention_dropout", c.attention_dropout);
        f("initializer_range", c.initializer_range);
        f("initializer_factor", c.initializer_factor);
        f("pad_token_id", c.pad_token_id);
        f("bos_token_id", c.bos_token_id);
        f("eos_token_id", c.eos_token_id);
    }

    // Accepts the text config itself or a whole CLIP config (uses its text_config),
    // as CLIPTextConfig.from_pretrained does.
    static CLIPTextConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader root(json, source);
        if (root.contains("model_type") && root.get<std::string>("model_type", "") == "clip") {
            return detail::read_tower<CLIPTextConfig>(root, "text_config");
        }
        return from_reader(root);
    }
    static CLIPTextConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<CLIPTextConfig>(path);
    }
    static CLIPTextConfig from_reader(const JsonObjectReader& r) {
        detail::check_model_type(r, model_type, false);
        CLIPTextConfig c;
        detail::read_config_fields(c, r, {"model_type"});
        detail::check_tower(r, c);
        detail::check_dropout(r, "attention_dropout", c.attention_dropout);
        detail::check_count(r, "vocab_size", c.vocab_size, detail::kVocabLimit);
        detail::check_count(r, "projection_dim", c.projection_dim, detail::kWidthLimit);
        detail::check_count(r, "max_position_embeddings", c.max_position_embeddings, detail::kPositionLimit);
        detail::check_non_negative(r, "initializer_range", c.initializer_range);
        detail::check_non_negative(r, "initializer_factor", c.initializer_factor);
        return c;
    }
    nlohmann::json to_json() const { return detail::write_config_fields(*this); }
    bool operator==(const CLIPTextConfig&) const = default;
};

// transformers.CLIPVisionConfig (v4.36).
struct CLIPVisionConfig {
    static constexpr const char* model_type = "clip_vision_model";

    std::int64_t hidden_size = 768;
    std::int64_t intermediate_size = 3072;
    std::int64_t projection_dim = 512;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t num_channels = 3;
    std::int64_t image_size = 224;
    std::int64_t patch_size = 32;
    std::string hidden_act = "quick_gelu";
    double layer_norm_eps = 1e-5;
    double attention_dropout = 0.0;
    double initializer_range = 0.02;
    double initializer_factor = 1.0;
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("hidden_size", c.hidden_size);
        f("intermediate_size", c.intermediate_size);
        f("projection_dim", c.projection_dim);
        f("num_hidden_layers", c.num_hidden_layers);
        f("num_attention_heads", c.num_attention_heads);
        f("num_channels", c.num_channels);
        f("image_size", c.image_size);
        f("patch_size", c.patch_size);
        f("hidden_act", c.hidden_act);
        f("layer_norm_eps", c.layer_norm_eps);
        f("attention_dropout", c.attention_dropout);
        f("initializer_range", c.initializer_range);
        f("initializer_factor", c.initializer_factor);
    }

    static CLIPVisionConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader root(json, source);
        if (root.contains("model_type") && root.get<std::string>("model_type", "") == "clip") {
            return detail::read_tower<CLIPVisionConfig>(root, "vision_config");
        }
        return from_reader(root);
    }
    static CLIPVisionConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<CLIPVisionConfig>(path);
    }
    static CLIPVisionConfig from_reader(const JsonObjectReader& r) {
        detail::check_model_type(r, model_type, false);
        CLIPVisionConfig c;
        detail::read_config_fields(c, r, {"model_type"});
        detail::check_tower(r, c);
        detail::check_patches(r, c);
        detail::check_dropout(r, "attention_dropout", c.attention_dropout);
        detail::check_count(r, "projection_dim", c.projection_dim, detail::kWidthLimit);
        detail::check_non_negative(r, "initializer_range", c.initializer_range);
        detail::check_non_negative(r, "initializer_factor", c.initializer_factor);
        return c;
    }
    // Patches per side; the class token makes num_patches() + 1 positions.
    std::int64_t grid_size() const { return image_size / patch_size; }
    std::int64_t num_patches() const { return grid_size() * grid_size(); }
    nlohmann::json to_json() const { return detail::write_config_fields(*this); }
    bool operator==(const CLIPVisionConfig&) const = default;
};

// transformers.CLIPConfig (v4.36): model_type "clip", architectures ["CLIPModel"].
struct CLIPConfig {
    static constexpr const char* model_type = "clip";

    CLIPTextConfig text_config;
    CLIPVisionConfig vision_config;
    std::int64_t projection_dim = 512;
    double logit_scale_init_value = 2.6592;
    double initializer_factor = 1.0;
    std::vector<std::string> architectures{"CLIPModel"};
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("projection_dim", c.projection_dim);
        f("logit_scale_init_value", c.logit_scale_init_value);
        f("initializer_factor", c.initializer_factor);
    }

    static CLIPConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader r(json, source);
        detail::check_model_type(r, model_type, true);
        CLIPConfig c;
        detail::read_config_fields(c, r,
                                   {"model_type", "architectures", "text_config", "vision_config",
                                    "text_config_dict", "vision_config_dict"});
        detail::check_count(r, "projection_dim", c.projection_dim, detail::kWidthLimit);
        detail::check_non_negative(r, "initializer_factor", c.initializer_factor);
        c.architectures = detail::read_architectures(r, c.architectures);
        c.text_config = detail::read_tower<CLIPTextConfig>(r, "text_config");
        c.vision_config = detail::read_tower<CLIPVisionConfig>(r, "vision_config");
        return c;
    }
    static CLIPConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<CLIPConfig>(path);
    }

    nlohmann::json to_json() const {
        auto out = detail::write_config_fields(*this);
        out["architectures"] = architectures;
        out["text_config"] = text_config.to_json();
        out["vision_config"] = vision_config.to_json();
        return out;
    }
    bool operator==(const CLIPConfig&) const = default;
};

}  // namespace tandem::io
