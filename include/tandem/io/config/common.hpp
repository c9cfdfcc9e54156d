// What the model-family configs (io/config/clip.hpp, siglip.hpp, bert.hpp) share:
// reading and writing the fields a config visits, keeping the keys it does not model
// in `extra`, and the checks that validate a config in full on load, with the limits
// on every size a config.json can ask a model to allocate.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/json_file.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
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

// What a config.json may ask a model to allocate, checked on load, so that a file of a
// few bytes cannot ask for a 200 GB stack of layers or overflow a shape's element
// count; each bound is far above every published model.
struct ConfigLimit {
    std::int64_t max;
    const char* what;
};
inline constexpr ConfigLimit kWidthLimit{std::int64_t{1} << 16, "tandem's limit on widths"};
inline constexpr ConfigLimit kLayerLimit{1024, "tandem's limit on layers"};
inline constexpr ConfigLimit kVocabLimit{std::int64_t{1} << 22, "tandem's limit on vocabulary sizes"};
inline constexpr ConfigLimit kPositionLimit{std::int64_t{1} << 20, "tandem's limit on positions"};
inline constexpr ConfigLimit kImageLimit{8192, "tandem's limit on image sizes"};
inline constexpr ConfigLimit kChannelLimit{64, "tandem's limit on image channels"};
inline constexpr ConfigLimit kTypeLimit{1024, "tandem's limit on token types"};
inline constexpr ConfigLimit kLabelLimit{std::int64_t{1} << 16, "tandem's limit on labels"};

inline void check_count(const io::JsonObjectReader& r, std::string_view key, std::int64_t value,
                        ConfigLimit limit) {
    if (value < 1 || value > limit.max)
        throw_error(r.where(key), ": expected an integer from 1 to ", limit.max, " (", limit.what,
                    "), found ", value);
}

// layer_norm_eps: zero or less divides by zero or takes the root of a negative variance.
inline void check_positive(const io::JsonObjectReader& r, std::string_view key, double value) {
    if (!(value > 0)) throw_error(r.where(key), ": expected a positive number, found ", value);
}

inline void check_non_negative(const io::JsonObjectReader& r, std::string_view key, double value) {
    if (!(value >= 0)) throw_error(r.where(key), ": expected a number >= 0, found ", value);
}

// Dropout 1 would zero every activation and scale the rest by 1 / 0.
inline void check_dropout(const io::JsonObjectReader& r, std::string_view key, double value) {
    if (!(value >= 0 && value < 1))
        throw_error(r.where(key), ": expected a probability in [0, 1), found ", value);
}

// The ACT2FN names nn/activation.hpp implements, so that a config naming another fails
// on load, with the file and key, rather than when the model is built.
inline void check_activation(const io::JsonObjectReader& r, std::string_view key, const std::string& name) {
    for (const char* known :
         {"gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "quick_gelu", "relu", "tanh"})
        if (name == known) return;
    throw_error(r.where(key),
                ": expected one of gelu, gelu_new, gelu_fast, gelu_pytorch_tanh, quick_gelu, relu, ",
                "tanh; found \"", name, "\"");
}

// Attention splits hidden_size into num_attention_heads equal heads (HF raises the
// same ValueError later, when it builds the model).
inline void check_heads(const io::JsonObjectReader& r, std::int64_t hidden_size, std::int64_t num_heads) {
    check_count(r, "hidden_size", hidden_size, kWidthLimit);
    check_count(r, "num_attention_heads", num_heads, kWidthLimit);
    if (hidden_size % num_heads != 0) {
        throw_error(r.where("num_attention_heads"), ": hidden_size ", hidden_size, " is not a multiple of ",
                    num_heads, " heads");
    }
}

// The fields every transformer tower has.
template <class Config>
void check_tower(const io::JsonObjectReader& r, const Config& c) {
    check_heads(r, c.hidden_size, c.num_attention_heads);
    check_count(r, "intermediate_size", c.intermediate_size, kWidthLimit);
    check_count(r, "num_hidden_layers", c.num_hidden_layers, kLayerLimit);
    check_activation(r, "hidden_act", c.hidden_act);
    check_positive(r, "layer_norm_eps", c.layer_norm_eps);
}

// The fields of a ViT image tower.
template <class Config>
void check_patches(const io::JsonObjectReader& r, const Config& c) {
    check_count(r, "num_channels", c.num_channels, kChannelLimit);
    check_count(r, "image_size", c.image_size, kImageLimit);
    check_count(r, "patch_size", c.patch_size, kImageLimit);
    if (c.image_size < c.patch_size) {
        throw_error(r.where("image_size"), ": image_size ", c.image_size, " is smaller than patch_size ",
                    c.patch_size);
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
    for (const auto& item : value) out.push_back(json_as<std::string>(item, r.path("architectures")));
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
