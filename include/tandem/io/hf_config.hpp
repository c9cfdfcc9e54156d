// Hugging Face model configurations (config.json) for the towers tandem builds:
// CLIPConfig / CLIPTextConfig / CLIPVisionConfig, SiglipConfig / SiglipTextConfig /
// SiglipVisionConfig and BertConfig, with the defaults transformers fills in for
// absent keys (CLIP and BERT as of v4.36, SigLIP as of v4.43). Keys tandem does not
// model are kept in `extra` and written back, so a config survives a round trip.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/json_file.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tandem::detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// Reads one field if present; absent keys keep the default already in `field`.
template <class T>
void read_config_field(const io::JsonObjectReader& r, std::string_view key, T& field) {
    if constexpr (is_optional<T>::value) {
        field = r.get_optional<typename T::value_type>(key, field);
    } else {
        field = r.get<T>(key, field);
    }
}

template <class T>
void write_config_field(nlohmann::json& out, std::string_view key, const T& field) {
    if constexpr (is_optional<T>::value) {
        out[std::string(key)] = field ? nlohmann::json(*field) : nlohmann::json(nullptr);
    } else {
        out[std::string(key)] = field;
    }
}

// The input object less the keys a config models: what `extra` keeps.
inline nlohmann::json unmodelled_keys(const nlohmann::json& object, const std::set<std::string>& modelled) {
    nlohmann::json extra = nlohmann::json::object();
    for (const auto& [key, value] : object.items())
        if (!modelled.count(key)) extra[key] = value;
    return extra;
}

// Reads every field a config visits and keeps the rest of the object in `extra`.
template <class Config>
void read_config_fields(Config& cfg, const io::JsonObjectReader& r, std::set<std::string> also_modelled) {
    Config::visit_fields(cfg, [&](std::string_view key, auto& field) {
        read_config_field(r, key, field);
        also_modelled.emplace(key);
    });
    cfg.extra = unmodelled_keys(r.json(), also_modelled);
}

template <class Config>
nlohmann::json write_config_fields(const Config& cfg) {
    nlohmann::json out = cfg.extra.is_object() ? cfg.extra : nlohmann::json::object();
    Config::visit_fields(
        cfg, [&](std::string_view key, const auto& field) { write_config_field(out, key, field); });
    out["model_type"] = Config::model_type;
    return out;
}

// A config that names another model type is the wrong file, not one to default.
inline void check_model_type(const io::JsonObjectReader& r, std::string_view expected, bool required) {
    if (!r.contains("model_type")) {
        if (required) {
            throw_error(r.where("model_type"), ": required key is missing (expected \"", expected,
                        "\"); is this a config.json of a Hugging Face model?");
        }
        return;
    }
    const auto found = r.get<std::string>("model_type", "");
    if (found != expected)
        throw_error(r.where("model_type"), ": expected \"", expected, "\", found \"", found, "\"");
}

inline void check_positive(const io::JsonObjectReader& r, std::string_view key, std::int64_t value) {
    if (value <= 0) throw_error(r.where(key), ": expected a positive integer, found ", value);
}

// Attention splits hidden_size into num_attention_heads equal heads (HF raises the
// same ValueError later, when it builds the model).
inline void check_heads(const io::JsonObjectReader& r, std::int64_t hidden_size, std::int64_t num_heads) {
    check_positive(r, "hidden_size", hidden_size);
    check_positive(r, "num_attention_heads", num_heads);
    if (hidden_size % num_heads != 0) {
        throw_error(r.where("num_attention_heads"), ": hidden_size ", hidden_size, " is not a multiple of ",
                    num_heads, " heads");
    }
}

inline std::vector<std::string> read_architectures(const io::JsonObjectReader& r,
                                                   std::vector<std::string> fallback) {
    if (!r.contains("architectures")) return fallback;
    const auto& value = r.json().at("architectures");
    if (value.is_null()) return {};
    if (!value.is_array())
        throw_error(r.where("architectures"), ": expected a list of class names, found ",
                    describe_json(value));
    std::vector<std::string> out;
    for (const auto& item : value) out.push_back(json_as<std::string>(item, r.where("architectures")));
    return out;
}

// The nested config under `key`, with the legacy `<key>_dict` values taking
// precedence as in CLIPConfig.__init__ / SiglipConfig.__init__.
inline nlohmann::json nested_config(const io::JsonObjectReader& r, const std::string& key) {
    nlohmann::json merged = r.object(key).json();
    const auto legacy = r.object(key + "_dict");
    for (const auto& [k, v] : legacy.json().items()) merged[k] = v;
    return merged;
}

template <class Tower>
Tower read_tower(const io::JsonObjectReader& parent, const std::string& key) {
    const nlohmann::json merged = nested_config(parent, key);
    return Tower::from_reader(io::JsonObjectReader(merged, parent.file(), key));
}

template <class Config>
Config config_from_file(const std::filesystem::path& path) {
    return Config::from_json(io::read_json_file(path), path.string());
}

}  // namespace tandem::detail

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
        detail::check_heads(r, c.hidden_size, c.num_attention_heads);
        detail::check_positive(r, "vocab_size", c.vocab_size);
        detail::check_positive(r, "intermediate_size", c.intermediate_size);
        detail::check_positive(r, "max_position_embeddings", c.max_position_embeddings);
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
        detail::check_heads(r, c.hidden_size, c.num_attention_heads);
        detail::check_positive(r, "intermediate_size", c.intermediate_size);
        detail::check_positive(r, "num_channels", c.num_channels);
        detail::check_positive(r, "patch_size", c.patch_size);
        if (c.image_size < c.patch_size) {
            detail::throw_error(r.where("image_size"), ": image_size ", c.image_size,
                                " is smaller than patch_size ", c.patch_size);
        }
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
        detail::check_positive(r, "projection_dim", c.projection_dim);
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
        detail::check_heads(r, c.hidden_size, c.num_attention_heads);
        detail::check_positive(r, "vocab_size", c.vocab_size);
        detail::check_positive(r, "intermediate_size", c.intermediate_size);
        detail::check_positive(r, "max_position_embeddings", c.max_position_embeddings);
        if (c.projection_size) detail::check_positive(r, "projection_size", *c.projection_size);
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
        detail::check_heads(r, c.hidden_size, c.num_attention_heads);
        detail::check_positive(r, "intermediate_size", c.intermediate_size);
        detail::check_positive(r, "num_channels", c.num_channels);
        detail::check_positive(r, "patch_size", c.patch_size);
        if (c.image_size < c.patch_size) {
            detail::throw_error(r.where("image_size"), ": image_size ", c.image_size,
                                " is smaller than patch_size ", c.patch_size);
        }
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

// transformers.BertConfig (v4.36), for BertModel, BertForSequenceClassification and
// BERT-style text towers (MiniLM). num_labels() sizes a classification head.
struct BertConfig {
    static constexpr const char* model_type = "bert";

    std::int64_t vocab_size = 30522;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double hidden_dropout_prob = 0.1;
    double attention_probs_dropout_prob = 0.1;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double initializer_range = 0.02;
    double layer_norm_eps = 1e-12;
    std::optional<std::int64_t> pad_token_id = 0;
    std::optional<std::int64_t> bos_token_id;
    std::optional<std::int64_t> eos_token_id;
    std::string position_embedding_type = "absolute";
    bool use_cache = true;
    std::optional<double> classifier_dropout;
    std::optional<std::string> problem_type;
    // PretrainedConfig's labels: two ("LABEL_0", "LABEL_1") unless the config says otherwise.
    std::map<std::int64_t, std::string> id2label{{0, "LABEL_0"}, {1, "LABEL_1"}};
    std::vector<std::string> architectures{"BertModel"};
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
        f("type_vocab_size", c.type_vocab_size);
        f("initializer_range", c.initializer_range);
        f("layer_norm_eps", c.layer_norm_eps);
        f("pad_token_id", c.pad_token_id);
        f("bos_token_id", c.bos_token_id);
        f("eos_token_id", c.eos_token_id);
        f("position_embedding_type", c.position_embedding_type);
        f("use_cache", c.use_cache);
        f("classifier_dropout", c.classifier_dropout);
        f("problem_type", c.problem_type);
    }

    std::int64_t num_labels() const { return static_cast<std::int64_t>(id2label.size()); }

    static BertConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        const JsonObjectReader r(json, source);
        detail::check_model_type(r, model_type, true);
        BertConfig c;
        detail::read_config_fields(c, r,
                                   {"model_type", "architectures", "id2label", "label2id", "num_labels"});
        c.architectures = detail::read_architectures(r, c.architectures);
        c.id2label = read_labels(r);
        detail::check_heads(r, c.hidden_size, c.num_attention_heads);
        detail::check_positive(r, "vocab_size", c.vocab_size);
        detail::check_positive(r, "intermediate_size", c.intermediate_size);
        detail::check_positive(r, "max_position_embeddings", c.max_position_embeddings);
        detail::check_positive(r, "type_vocab_size", c.type_vocab_size);
        if (c.position_embedding_type != "absolute") {
            detail::throw_error(r.where("position_embedding_type"),
                                ": tandem implements \"absolute\", found \"", c.position_embedding_type,
                                "\"");
        }
        return c;
    }
    static BertConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<BertConfig>(path);
    }

    nlohmann::json to_json() const {
        auto out = detail::write_config_fields(*this);
        out["architectures"] = architectures;
        nlohmann::json id2 = nlohmann::json::object(), label2 = nlohmann::json::object();
        for (const auto& [id, label] : id2label) {
            id2[std::to_string(id)] = label;
            label2[label] = id;
        }
        out["id2label"] = id2;
        out["label2id"] = label2;
        return out;
    }
    bool operator==(const BertConfig&) const = default;

private:
    // id2label keys are strings in JSON ("0"); PretrainedConfig turns them into ints.
    // Without id2label, num_labels (default 2) makes LABEL_0 ... LABEL_{n-1}.
    static std::map<std::int64_t, std::string> read_labels(const JsonObjectReader& r) {
        std::map<std::int64_t, std::string> labels;
        if (r.contains("id2label") && !r.json().at("id2label").is_null()) {
            const auto id2label = r.object("id2label");
            for (const auto& [key, value] : id2label.json().items()) {
                std::int64_t id = 0;
                try {
                    std::size_t used = 0;
                    id = std::stoll(key, &used);
                    if (used != key.size()) throw std::invalid_argument(key);
                } catch (const std::logic_error&) {
                    detail::throw_error(id2label.where(key), ": expected an integer label id");
                }
                labels[id] = detail::json_as<std::string>(value, id2label.where(key));
            }
            return labels;
        }
        const auto n = r.get<std::int64_t>("num_labels", 2);
        for (std::int64_t i = 0; i < n; ++i) labels[i] = "LABEL_" + std::to_string(i);
        return labels;
    }
};

}  // namespace tandem::io
