// Saving a model as the modules of a sentence-transformers folder, v6 layout: module 0,
// the Hugging Face model, in the folder's root (config.json + model.safetensors), every
// later module in its own {idx}_{Class}/ folder (config.json, and model.safetensors when
// it has weights). The result says what modules.json and sentence_bert_config.json
// record; the tokenizer, the processor and the model-wide files are the caller's
// (SentenceTransformer::save).
// reference: sentence_transformers.base.model.BaseModel.save and
// base.modules.transformer.Transformer.save (v6).
#pragma once

#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/model_with_store.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/models/sentence_transformer_stack.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace tandem {

struct StModules {
    // modules.json: [{idx, name, path, type}].
    nlohmann::ordered_json modules;
    // sentence_bert_config.json of module 0: which method of the Hugging Face model each
    // modality calls, and what the module outputs.
    nlohmann::ordered_json transformer_config;
};

namespace detail {
inline nlohmann::ordered_json st_transformer_config(nlohmann::ordered_json modality_config,
                                                    const char* module_output_name) {
    return {{"transformer_task", "feature-extraction"},
            {"modality_config", std::move(modality_config)},
            {"module_output_name", module_output_name}};
}

// config.json naming `architecture` and model.safetensors of `weights`, as save_pretrained.
template <class Config, Module W, class Store>
void save_hf_folder(const std::filesystem::path& dir, Config config, const char* architecture,
                    const W& weights, Store& store) {
    config.architectures = {architecture};
    atomic_write(dir / "config.json", config.to_json().dump(2) + "\n");
    save_state_dict(weights, store, dir / "model.safetensors");
}
}  // namespace detail

// Represents: a whole dual model that is one Hugging Face class (CLIPModel, SiglipModel):
// sentence-transformers keeps it as module 0 alone and calls get_text_features /
// get_image_features.
template <class M>
concept HfDualModel = TextEncoderModel<M> && ImageEncoderModel<M> &&
    requires(const M& m, const std::filesystem::path& dir) {
    { M::architecture } -> std::convertible_to<const char*>;
    m.save_pretrained(dir);
};

template <HfDualModel M>
StModules save_st_modules(const M& model, const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    model.save_pretrained(dir);
    const nlohmann::ordered_json method{{"method", "get_text_features"},
                                        {"method_output_name", "pooler_output"}};
    nlohmann::ordered_json image = method;
    image["method"] = "get_image_features";
    return {nlohmann::ordered_json::array(
                {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", detail::kStTransformerType}}}),
            detail::st_transformer_config({{"text", method}, {"image", image}}, "sentence_embedding")};
}

// A text tower (its Hugging Face config and class) followed by Pooling and later modules.
template <class Tower, class... Modules>
requires SentenceTransformerStack<Tower, Modules...>::pools_tokens && TextStackTower<Tower> &&
    requires(const Tower& t) {
    { Tower::architecture } -> std::convertible_to<const char*>;
    t.config().to_json();
    t.config().hidden_size;
}
StModules save_st_modules(const ModelWithStore<SentenceTransformerStack<Tower, Modules...>>& model,
                          const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    const auto& stack = model.model();
    if (!stack.prefix().empty())
        detail::throw_error("save: a stack under route '", stack.prefix(),
                            "' is saved by its Router, not as a folder of its own");
    fs::create_directories(dir);
    detail::save_hf_folder(dir, stack.tower().config(), Tower::architecture, parameters_under(stack, "0."),
                           model.parameters());
    auto modules = stack.describe();
    // A Pooling built without its width (0: whatever the tower gives) is saved with it,
    // as sentence-transformers needs it to build the module.
    auto& pooling = modules[1]["config"];
    if (pooling["embedding_dimension"] == 0)
        pooling["embedding_dimension"] = stack.tower().config().hidden_size;
    for (std::size_t i = 1; i < modules.size(); ++i) {
        auto& entry = modules[i];
        const fs::path sub = dir / entry["path"].template get<std::string>();
        fs::create_directories(sub);
        if (entry.contains("config")) {
            detail::atomic_write(sub / "config.json", entry["config"].dump(4));
            entry.erase("config");
        }
        const auto weights = parameters_under(stack, std::to_string(i) + ".");
        if (!detail::parameter_names(weights).empty())
            save_state_dict(weights, model.parameters(), sub / "model.safetensors");
    }
    const nlohmann::ordered_json text{{"method", "forward"}, {"method_output_name", "last_hidden_state"}};
    return {std::move(modules), detail::st_transformer_config({{"text", text}}, "token_embeddings")};
}

}  // namespace tandem
