// transformers' SiglipConfig, SiglipTextConfig and SiglipVisionConfig (v4.43) as read
// from and written to config.json, with the defaults transformers fills in for absent
// keys and every field validated on load.
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

// transformers.SiglipTextConfig (v4.43). The text head is Linear(hidden_size,
// projection_size); configs before projection_size existed use hidden_size.
struct SiglipTextConfig {
    static constexpr const char* model_type = "siglip_text_model";

    std::int64_t vocab_size = 32000;
    std::int64_t hidden_size = 768;
    std::int64_t intermediate_size = 3072;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t max_position_embeddings = 64;
    std::string hidden_act = "gelu_pytorch_tanh";
    double layer_norm_eps = 1e-6;
    double attention_dropout = 0.0;
    std::optional<std::int64_t> projection_size;
    std::optional<std::int64_t> pad_token_id = 1;
    std::optional<std::int64_t> bos_token_id = 49406;
    std::optional<std::int64_t> eos_token_id = 49407;
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("vocab_size", c.vocab_size);
        f("hidden_size", c.hidden_size);
        f("intermediate_size", c.intermediate_size);
        f("num_hidden_layers", c.num_hidden_layers);
        f("num_attention_heads", c.num_attention_heads);
        f("max_position_embeddings", c.max_position_embeddings);
        f("hidden_act", c.hidden_act);
        f("layer_norm_eps", c.layer_norm_eps);
        f("attention_dropout", c.attention_dropout);
        f("pad_token_id", c.pad_token_id);
        f("bos_token_id", c.bos_token_id);
        f("eos_token_id", c.eos_token_id);
    }

    std::int64_t head_size() const { return projection_size.value_or(hidden_size); }

    static SiglipTextConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader root(json, source);
        if (root.contains("model_type") && root.get<std::string>("model_type", "") == "siglip") {
            return detail::read_tower<SiglipTextConfig>(root, "text_config");
        }
        return from_reader(root);
    }
    static SiglipTextConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<SiglipTextConfig>(path);
    }
    static SiglipTextConfig from_reader(const JsonObjectReader& r) {
        detail::check_model_type(r, model_type, false);
        SiglipTextConfig c;
        detail::read_config_fields(c, r, {"model_type", "projection_size"});
        // Written only when set, so that a config from before the key existed round-trips unchanged.
        c.projection_size = r.get_optional<std::int64_t>("projection_size");
        detail::check_tower(r, c);
        detail::check_dropout(r, "attention_dropout", c.attention_dropout);
        detail::check_count(r, "vocab_size", c.vocab_size, detail::kVocabLimit);
        detail::check_count(r, "max_position_embeddings", c.max_position_embeddings, detail::kPositionLimit);
        if (c.projection_size)
            detail::check_count(r, "projection_size", *c.projection_size, detail::kWidthLimit);
        return c;
    }
    nlohmann::json to_json() const {
        auto out = detail::write_config_fields(*this);
        if (projection_size) out["projection_size"] = *projection_size;
        return out;
    }
    bool operator==(const SiglipTextConfig&) const = default;
};

// transformers.SiglipVisionConfig (v4.43; vision_use_head from v4.45, default true:
// the attention-pooling (MAP) head).
struct SiglipVisionConfig {
    static constexpr const char* model_type = "siglip_vision_model";

    std::int64_t hidden_size = 768;
    std::int64_t intermediate_size = 3072;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t num_channels = 3;
    std::int64_t image_size = 224;
    std::int64_t patch_size = 16;
    std::string hidden_act = "gelu_pytorch_tanh";
    double layer_norm_eps = 1e-6;
    double attention_dropout = 0.0;
    bool vision_use_head = true;
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("hidden_size", c.hidden_size);
        f("intermediate_size", c.intermediate_size);
        f("num_hidden_layers", c.num_hidden_layers);
        f("num_attention_heads", c.num_attention_heads);
        f("num_channels", c.num_channels);
        f("image_size", c.image_size);
        f("patch_size", c.patch_size);
        f("hidden_act", c.hidden_act);
        f("layer_norm_eps", c.layer_norm_eps);
        f("attention_dropout", c.attention_dropout);
    }

    static SiglipVisionConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader root(json, source);
        if (root.contains("model_type") && root.get<std::string>("model_type", "") == "siglip") {
            return detail::read_tower<SiglipVisionConfig>(root, "vision_config");
        }
        return from_reader(root);
    }
    static SiglipVisionConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<SiglipVisionConfig>(path);
    }
    static SiglipVisionConfig from_reader(const JsonObjectReader& r) {
        detail::check_model_type(r, model_type, false);
        SiglipVisionConfig c;
        detail::read_config_fields(c, r, {"model_type", "vision_use_head"});
        c.vision_use_head = r.get<bool>("vision_use_head", true);
        detail::check_tower(r, c);
        detail::check_patches(r, c);
        detail::check_dropout(r, "attention_dropout", c.attention_dropout);
        return c;
    }
    std::int64_t grid_size() const { return image_size / patch_size; }
    std::int64_t num_patches() const { return grid_size() * grid_size(); }
    // Written only when it departs from the default, which every version reads the same way.
    nlohmann::json to_json() const {
        auto out = detail::write_config_fields(*this);
        if (!vision_use_head) out["vision_use_head"] = false;
        return out;
    }
    bool operator==(const SiglipVisionConfig&) const = default;
};

// transformers.SiglipConfig (v4.43): model_type "siglip", architectures ["SiglipModel"].
// No projection: the towers' pooled outputs are the embeddings.
struct SiglipConfig {
    static constexpr const char* model_type = "siglip";

    SiglipTextConfig text_config;
    SiglipVisionConfig vision_config;
    double initializer_factor = 1.0;
    std::vector<std::string> architectures{"SiglipModel"};
    nlohmann::json extra = nlohmann::json::object();

    template <class Self, class F>
    static void visit_fields(Self& c, F&& f) {
        f("initializer_factor", c.initializer_factor);
    }

    static SiglipConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader r(json, source);
        detail::check_model_type(r, model_type, true);
        SiglipConfig c;
        detail::read_config_fields(c, r,
                                   {"model_type", "architectures", "text_config", "vision_config",
                                    "text_config_dict", "vision_config_dict"});
        detail::check_non_negative(r, "initializer_factor", c.initializer_factor);
        c.architectures = detail::read_architectures(r, c.architectures);
        c.text_config = detail::read_tower<SiglipTextConfig>(r, "text_config");
        c.vision_config = detail::read_tower<SiglipVisionConfig>(r, "vision_config");
        return c;
    }
    static SiglipConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<SiglipConfig>(path);
    }

    nlohmann::json to_json() const {
        auto out = detail::write_config_fields(*this);
        out["architectures"] = architectures;
        out["text_config"] = text_config.to_json();
        out["vision_config"] = vision_config.to_json();
        return out;
    }
    bool operator==(const SiglipConfig&) const = default;
};

}  // namespace tandem::io
