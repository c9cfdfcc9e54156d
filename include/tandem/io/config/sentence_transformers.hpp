// The config.json of sentence-transformers' Pooling, Dense and Normalize module folders,
// read as v6 reads them (Pooling's legacy word_embedding_dimension and
// pooling_mode_*_tokens flags included) and written as v6 writes them: the same keys in
// the same order, indent 4. Every bad value is an error naming the file and the key.
// reference: sentence_transformers Pooling / Dense / Normalize get_config_dict, load_config (v6).
#pragma once

#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/io/config/common.hpp>
#include <tandem/io/json_file.hpp>
#include <tandem/nn/dense.hpp>
#include <tandem/nn/normalize.hpp>
#include <tandem/nn/pooling_layer.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <utility>

namespace tandem::detail {

// The pooling_mode_* flags of configs written before v6, in their concatenation order.
inline constexpr std::pair<const char*, PoolingMode> kLegacyPoolingFlags[] = {
    {"pooling_mode_cls_token", PoolingMode::Cls},
    {"pooling_mode_max_tokens", PoolingMode::Max},
    {"pooling_mode_mean_tokens", PoolingMode::Mean},
    {"pooling_mode_mean_sqrt_len_tokens", PoolingMode::MeanSqrtLenTokens},
    {"pooling_mode_weightedmean_tokens", PoolingMode::WeightedMean},
    {"pooling_mode_lasttoken", PoolingMode::LastToken}};

inline PoolingMode read_pooling_mode(const nlohmann::json& value, const JsonPath& at) {
    const auto name = json_as<std::string>(value, at);
    for (PoolingMode mode : kPoolingModes)
        if (pooling_mode_name(mode) == name) return mode;
    at.fail("expected one of cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken; found \"", name,
            "\"");
}

// module_input_name / module_output_name: tandem's stacks pass the sentence embedding only.
inline void check_feature_name(const io::JsonObjectReader& r, const char* key) {
    const auto name = r.get<std::string>(key, "sentence_embedding");
    if (name != "sentence_embedding")
        throw_error(r.where(key), ": expected \"sentence_embedding\" (the only feature tandem's ",
                    "module stacks pass on), found \"", name, "\"");
}

inline nlohmann::ordered_json feature_names() {
    return {{"module_input_name", "sentence_embedding"}, {"module_output_name", "sentence_embedding"}};
}
}  // namespace tandem::detail

namespace tandem::io {

inline PoolingConfig pooling_config_from_json(const nlohmann::json& json,
                                              const std::string& source = "<json>") {
    const JsonObjectReader r(json, source);
    PoolingConfig c;
    const char* dim_key =
        r.contains("embedding_dimension") ? "embedding_dimension" : "word_embedding_dimension";
    if (!r.contains(dim_key))
        tandem::detail::throw_error(r.where("embedding_dimension"), ": required key is missing");
    c.embedding_dimension = tandem::detail::json_integer<index_t>(json.at(dim_key), r.path(dim_key), 1,
                                                                  tandem::detail::kWidthLimit.max,
                                                                  tandem::detail::kWidthLimit.what);
    if (r.contains("pooling_mode")) {
        const auto& value = json.at("pooling_mode");
        const auto at = r.path("pooling_mode");
        c.pooling_mode.clear();
        if (value.is_array()) {
            if (value.empty()) at.fail("expected at least one pooling mode, found an empty list");
            for (std::size_t i = 0; i < value.size(); ++i)
                c.pooling_mode.push_back(tandem::detail::read_pooling_mode(value[i], at[i]));
        } else {
            c.pooling_mode.push_back(tandem::detail::read_pooling_mode(value, at));
        }
    } else {
        // The legacy flags: every one set, in their order; none set means mean.
        std::vector<PoolingMode> modes;
        for (const auto& [key, mode] : tandem::detail::kLegacyPoolingFlags)
            if (r.get<bool>(key, false)) modes.push_back(mode);
        if (!modes.empty()) c.pooling_mode = modes;
    }
    c.include_prompt = r.get<bool>("include_prompt", true);
    return c;
}

// As v6 writes it: pooling_mode a string for one mode, a list for several.
inline nlohmann::ordered_json to_json(const PoolingConfig& c) {
    nlohmann::ordered_json out;
    out["embedding_dimension"] = c.embedding_dimension;
    if (c.pooling_mode.size() == 1) {
        out["pooling_mode"] = pooling_mode_name(c.pooling_mode.front());
    } else {
        out["pooling_mode"] = nlohmann::ordered_json::array();
        for (PoolingMode mode : c.pooling_mode) out["pooling_mode"].push_back(pooling_mode_name(mode));
    }
    out["include_prompt"] = c.include_prompt;
    return out;
}

inline DenseConfig dense_config_from_json(const nlohmann::json& json, const std::string& source = "<json>") {
    const JsonObjectReader r(json, source);
    DenseConfig c;
    const auto width = [&](const char* key) {
        if (!r.contains(key)) tandem::detail::throw_error(r.where(key), ": required key is missing");
        return tandem::detail::json_integer<index_t>(
            json.at(key), r.path(key), 1, tandem::detail::kWidthLimit.max, tandem::detail::kWidthLimit.what);
    };
    c.in_features = width("in_features");
    c.out_features = width("out_features");
    c.bias = r.get<bool>("bias", true);
    if (r.contains("activation_function")) {
        const auto name = r.get<std::string>("activation_function", "");
        const auto activation = dense_activation_from_name(name);
        if (!activation) {
            std::string known;
            for (DenseActivation a : kDenseActivations)
                known += (known.empty() ? "" : ", ") + std::string(dense_activation_name(a));
            tandem::detail::throw_error(r.where("activation_function"), ": expected one of ", known,
                                        "; found \"", name, "\"");
        }
        c.activation_function = *activation;
    }
    c.use_residual = r.get<bool>("use_residual", false);
    tandem::detail::check_feature_name(r, "module_input_name");
    tandem::detail::check_feature_name(r, "module_output_name");
    return c;
}

// As v6 writes it: use_residual only when set.
inline nlohmann::ordered_json to_json(const DenseConfig& c) {
    nlohmann::ordered_json out;
    out["in_features"] = c.in_features;
    out["out_features"] = c.out_features;
    out["bias"] = c.bias;
    out["activation_function"] = dense_activation_name(c.activation_function);
    const auto names = tandem::detail::feature_names();
    for (const auto& [key, value] : names.items()) out[key] = value;
    if (c.use_residual) out["use_residual"] = true;
    return out;
}

inline NormalizeConfig normalize_config_from_json(const nlohmann::json& json,
                                                  const std::string& source = "<json>") {
    const JsonObjectReader r(json, source);
    tandem::detail::check_feature_name(r, "module_input_name");
    tandem::detail::check_feature_name(r, "module_output_name");
    return {};
}

inline nlohmann::ordered_json to_json(const NormalizeConfig&) { return tandem::detail::feature_names(); }

// dir/config.json of a module folder, read with errors naming the file.
inline PoolingConfig read_pooling_config(const std::filesystem::path& dir) {
    const auto path = dir / "config.json";
    return pooling_config_from_json(read_json_file(path), path.string());
}
inline DenseConfig read_dense_config(const std::filesystem::path& dir) {
    const auto path = dir / "config.json";
    return dense_config_from_json(read_json_file(path), path.string());
}
inline NormalizeConfig read_normalize_config(const std::filesystem::path& dir) {
    const auto path = dir / "config.json";
    return normalize_config_from_json(read_json_file(path), path.string());
}

// dir/config.json as sentence-transformers writes it (json.dump, indent 4), atomically.
template <class Config>
void write_module_config(const std::filesystem::path& dir, const Config& config) {
    std::filesystem::create_directories(dir);
    tandem::detail::atomic_write(dir / "config.json", to_json(config).dump(4));
}

}  // namespace tandem::io
