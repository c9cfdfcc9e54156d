// Saving a model as the modules of a sentence-transformers folder, v6 layout: module 0,
// the Hugging Face model, in the folder's root (config.json + model.safetensors), every
// later module in its own {idx}_{Class}/ folder (config.json, and model.safetensors when
// it has weights); a Router in the root with router_config.json and each route's module i
// in {route}_{i}_{Class}/. The result says what modules.json and the sentence_bert_config.json
// files record; the tokenizer, the processor and the model-wide files are the caller's
// (SentenceTransformer::save).
// reference: sentence_transformers.base.model.BaseModel.save,
// base.modules.transformer.Transformer.save and base.modules.router.Router.save (v6).
#pragma once

#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/model_with_store.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/models/router.hpp>
#include <tandem/models/sentence_transformer_stack.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <type_traits>

namespace tandem {

struct StModules {
    // modules.json: [{idx, name, path, type}].
    nlohmann::ordered_json modules;
    // sentence_bert_config.json of every Transformer module by its folder ("" the root):
    // which method of the Hugging Face model each modality calls, and what the module
    // outputs. The folder whose modalities include "text" keeps the tokenizer, the one
    // with "image" the image processor.
    std::map<std::string, nlohmann::ordered_json> transformer_configs;
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
    std::filesystem::create_directories(dir);
    atomic_write(dir / "config.json", config.to_json().dump(2) + "\n");
    save_state_dict(weights, store, dir / "model.safetensors");
}

inline nlohmann::ordered_json st_text_transformer_config() {
    return st_transformer_config(
        {{"text", {{"method", "forward"}, {"method_output_name", "last_hidden_state"}}}}, "token_embeddings");
}

// The tower (module 0) and later modules of `stack`, whose parameter names start with
// `prefix` ("" or a route's "text."), each in the folder `folder(i, entry)` under `dir`
// names (config.json, and model.safetensors where it has weights). Returns describe()'s
// entries without their configs.
template <class Stack, class Store, class Folder>
nlohmann::ordered_json save_stack(const Stack& stack, Store& store, const std::filesystem::path& dir,
                                  const std::string& prefix, Folder&& folder) {
    namespace fs = std::filesystem;
    using Tower = std::remove_cvref_t<decltype(stack.tower())>;
    auto modules = stack.describe();
    // A Pooling built without its width (0: whatever the tower gives) is saved with it,
    // as sentence-transformers needs it to build the module.
    if constexpr (Stack::pools_tokens) {
        auto& pooling = modules[1]["config"];
        if (pooling["embedding_dimension"] == 0)
            pooling["embedding_dimension"] = stack.tower().config().hidden_size;
    }
    save_hf_folder(dir / folder(0, modules[0]), stack.tower().config(), Tower::architecture,
                   parameters_under(stack, prefix + "0."), store);
    for (std::size_t i = 1; i < modules.size(); ++i) {
        auto& entry = modules[i];
        const fs::path sub = dir / folder(i, entry);
        fs::create_directories(sub);
        if (entry.contains("config")) {
            atomic_write(sub / "config.json", entry["config"].dump(4));
            entry.erase("config");
        }
        const auto weights = parameters_under(stack, prefix + std::to_string(i) + ".");
        if (!parameter_names(weights).empty()) save_state_dict(weights, store, sub / "model.safetensors");
    }
    return modules;
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
    return {
        nlohmann::ordered_json::array(
            {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", detail::kStTransformerType}}}),
        {{"", detail::st_transformer_config({{"text", method}, {"image", image}}, "sentence_embedding")}}};
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
    const auto& stack = model.model();
    if (!stack.prefix().empty())
        detail::throw_error("save: a stack under route '", stack.prefix(),
                            "' is saved by its Router, not as a folder of its own");
    auto modules = detail::save_stack(stack, model.parameters(), dir, "", [](std::size_t, const auto& entry) {
        return entry["path"].template get<std::string>();
    });
    return {std::move(modules), {{"", detail::st_text_transformer_config()}}};
}

// Represents: a route's stack whose tower is a Hugging Face class with its config.
template <class Stack>
concept StSavableStack = requires(const Stack& s) {
    { std::remove_cvref_t<decltype(s.tower())>::architecture } -> std::convertible_to<const char*>;
    s.tower().config().to_json();
};

// A Router of a text stack (Transformer + Pooling + ...) and an image stack whose tower
// gives its own vector (CLIPImageTower: get_image_features): modules.json names the
// Router alone, in the root, with router_config.json beside it.
template <class TextStack, class ImageStack>
requires TextStack::pools_tokens &&(!ImageStack::pools_tokens) &&
    StSavableStack<TextStack>&& StSavableStack<ImageStack> StModules
    save_st_modules(const ModelWithStore<Router<TextStack, ImageStack>>& model,
                    const std::filesystem::path& dir) {
    const auto& router = model.model();
    std::filesystem::create_directories(dir);
    const auto in_route = [](const std::string& route) {
        return [route](std::size_t i, const auto& entry) {
            return route + "_" + std::to_string(i) + "_" +
                   detail::st_class_name(entry["type"].template get<std::string>());
        };
    };
    detail::save_stack(router.text_route(), model.parameters(), dir, "text.", in_route("text"));
    detail::save_stack(router.image_route(), model.parameters(), dir, "image.", in_route("image"));
    auto config = router.describe();
    config.erase("configs");
    detail::atomic_write(dir / "router_config.json", config.dump(4));
    const nlohmann::ordered_json image{{"method", "get_image_features"},
                                       {"method_output_name", "pooler_output"}};
    return {
        nlohmann::ordered_json::array(
            {{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", detail::kStRouterType}}}),
        {{"text_0_Transformer", detail::st_text_transformer_config()},
         {"image_0_Transformer", detail::st_transformer_config({{"image", image}}, "sentence_embedding")}}};
}

}  // namespace tandem
