// Building the model a sentence-transformers or Hugging Face folder describes, with the
// tokenizer and image processor it holds: a text Transformer (BERT, DistilBERT, RoBERTa,
// XLM-RoBERTa or MPNet) followed by Pooling and any Dense / Normalize modules, or a whole CLIPModel (the
// legacy 0_CLIPModel/ layout, the v6 Transformer in the root, or a bare Hugging Face folder) or
// SiglipModel (the v6 Transformer in the root, or a bare folder), or a Router of such a text
// stack for texts and a CLIPModel for images (router_config.json). The folder's settings are applied:
// max_seq_length (else the tokenizer's model_max_length, capped by the model's positions), v6's
// processing_kwargs for texts (padding, max_length) and the tokenizer's real pad token.
// reference: sentence_transformers.SentenceTransformer.__init__ (modules.json, then
// _load_auto_model for a bare folder: Transformer + mean Pooling); base.modules.router.Router.load.
#pragma once

#include <tandem/data/collator.hpp>
#include <tandem/io/config/sentence_transformers.hpp>
#include <tandem/io/st_folder.hpp>
#include <tandem/models/any_model.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/distilbert.hpp>
#include <tandem/models/model_with_store.hpp>
#include <tandem/models/mpnet.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/models/roberta.hpp>
#include <tandem/models/router.hpp>
#include <tandem/models/sentence_transformer_stack.hpp>
#include <tandem/models/siglip.hpp>
#include <tandem/models/stack_module.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

// A folder's model and the collator that makes its inputs.
template <Backend B, Scalar T>
struct LoadedModel {
    AnyEmbeddingModel<B, T> model;
    data::Collator collator;
};

namespace detail {

inline std::string model_type_of(const std::filesystem::path& hf_dir) {
    const auto path = hf_dir / "config.json";
    const auto config = io::read_json_file(path);
    const io::JsonObjectReader r(config, path.string());
    return r.require<std::string>("model_type");
}

// Tokens per text: processing_kwargs' max_length or max_seq_length when the folder sets
// one, else the tokenizer's model_max_length, never more than the model has positions for;
// texts padded to that length where processing_kwargs asks for it.
inline data::CollatorOptions collator_options(const io::StFolder& f, std::size_t positions) {
    const auto t = f.transformer_config();
    if (t.do_lower_case)
        throw_error((f.transformer_dir() / "sentence_bert_config.json").string(),
                    ": do_lower_case true is not supported; lower-case the texts before encoding");
    std::size_t n = positions;
    if (t.text_max_length) {
        n = std::min(n, *t.text_max_length);
    } else if (t.max_seq_length) {
        n = std::min(n, *t.max_seq_length);
    } else {
        const auto config = read_tokenizer_config(f.transformer_dir());
        if (const auto it = config.find("model_max_length"); it != config.end() && it->is_number_unsigned())
            n = std::min<std::uint64_t>(n, it->get<std::uint64_t>());
    }
    data::CollatorOptions o;
    o.max_length = n;
    o.pad_to_max_length = t.pad_to_max_length;
    return o;
}

// A dual model that is one Hugging Face class (CLIPModel, SiglipModel), alone as module 0:
// sentence-transformers calls its get_text_features / get_image_features.
template <class M>
LoadedModel<typename M::backend_type, typename M::value_type> load_dual(const io::StFolder& f) {
    const auto dir = f.transformer_dir();
    if (f.modules.size() > 1)
        throw_error(f.modules_file.string(), ": a ", M::architecture, " followed by a ",
                    f.modules[1].class_name(), " is not supported; expected the ", M::architecture, " alone");
    auto model = M::from_pretrained(dir);
    auto collator = data::Collator::from_folder(
        dir,
        collator_options(f, static_cast<std::size_t>(model.config().text_config.max_position_embeddings)));
    return {AnyEmbeddingModel<typename M::backend_type, typename M::value_type>(
                std::move(model), std::string(M::architecture) + " (" + dir.string() + ")"),
            std::move(collator)};
}

// The modules after Pooling, built on `store` under `route` ("" or a Router's "text") and their index.
template <Backend B, Scalar T>
std::vector<StackModule<B, T>> stack_modules(const io::StFolder& f, ParameterStore<B, T>& store,
                                             const Scope& route, index_t width) {
    std::vector<StackModule<B, T>> out;
    for (std::size_t i = 2; i < f.modules.size(); ++i) {
        const auto& m = f.modules[i];
        const auto cls = m.class_name();
        if (cls == "Dense") {
            const auto config = io::read_dense_config(m.dir);
            if (config.in_features != width)
                throw_error((m.dir / "config.json").string(), ": in_features ", config.in_features,
                            " does not fit the ", width, "-wide embeddings module ", i - 1, " gives");
            out.emplace_back(Dense<B, T>(store, route / static_cast<int>(i), config));
            width = config.out_features;
        } else if (cls == "Normalize") {
            if (std::filesystem::exists(m.dir / "config.json")) io::read_normalize_config(m.dir);
            out.emplace_back(Normalize<B, T>());
        } else {
            throw_error(f.modules_file.string(), ": module ", i, " is a ", cls,
                        ", expected Dense or Normalize after Pooling");
        }
    }
    return out;
}

template <class Tower, class Modules, std::size_t... I>
auto text_stack(Tower tower, Pooling<typename Tower::backend_type, typename Tower::value_type> pooling,
                Modules& modules, std::index_sequence<I...>) {
    return SentenceTransformerStack(std::move(tower), std::move(pooling), std::move(modules[I])...);
}

// Tokens a tower has positions for: RoBERTa's family and MPNet number positions from
// padding_idx + 1 (MPNet's padding_idx is always 1), so the first rows of their
// max_position_embeddings (514 for 512 tokens) are never a token's.
template <class Config>
std::size_t token_positions(const Config& c) {
    if constexpr (std::same_as<Config, io::MPNetConfig>)
        return static_cast<std::size_t>(c.max_position_embeddings - 2);
    else if constexpr (std::same_as<Config, io::RobertaConfig> || std::same_as<Config, io::XLMRobertaConfig>)
        return static_cast<std::size_t>(c.max_position_embeddings - *c.pad_token_id - 1);
    else
        return static_cast<std::size_t>(c.max_position_embeddings);
}

// The longest stack a folder may describe: Transformer, Pooling and three more modules.
inline constexpr std::size_t kMaxModulesAfterPooling = 3;

// What a folder (or a Router's text route) says of its text stack, read and checked
// before the stack's type, which depends on `after`, is chosen.
template <class Config>
struct TextStackPlan {
    Config config;
    PoolingConfig pooling;
    data::Collator collator;
    std::size_t after = 0;  // modules after Pooling
};

// A text Transformer (BERT or a tower built like it) followed by Pooling and up to three
// Dense / Normalize modules; a bare folder gets mean Pooling.
template <class Tower, class Config>
TextStackPlan<Config> plan_text_stack(const io::StFolder& f) {
    const auto dir = f.transformer_dir();
    const auto config = Config::from_file(dir / "config.json");
    PoolingConfig pooling{config.hidden_size, {PoolingMode::Mean}, true};
    if (!f.is_bare()) {
        if (f.modules.size() < 2 || f.modules[1].class_name() != "Pooling")
            throw_error(f.modules_file.string(), ": module 1 must be a Pooling after a ", Tower::architecture,
                        " Transformer, which gives token embeddings");
        pooling = io::read_pooling_config(f.modules[1].dir);
        if (pooling.embedding_dimension != config.hidden_size)
            throw_error((f.modules[1].dir / "config.json").string(), ": embedding_dimension ",
                        pooling.embedding_dimension, " does not fit the model's hidden_size ",
                        config.hidden_size);
    }
    auto collator = data::Collator::from_folder(dir, collator_options(f, token_positions(config)));
    const std::size_t after = f.is_bare() ? 0 : f.modules.size() - 2;
    if (after > kMaxModulesAfterPooling)
        throw_error(f.modules_file.string(), ": ", after, " modules after Pooling, at most ",
                    kMaxModulesAfterPooling, " are supported");
    return {config, pooling, std::move(collator), after};
}

// k(std::integral_constant<std::size_t, N>{}) for a plan's N modules after Pooling: the
// stack's type is chosen here, once, for every count a folder may have.
template <class Config, class K>
decltype(auto) with_modules_after_pooling(const TextStackPlan<Config>& plan, K&& k) {
    switch (plan.after) {
        case 0:
            return k(std::integral_constant<std::size_t, 0>{});
        case 1:
            return k(std::integral_constant<std::size_t, 1>{});
        case 2:
            return k(std::integral_constant<std::size_t, 2>{});
        default:
            return k(std::integral_constant<std::size_t, 3>{});
    }
}

// The planned stack with N modules after Pooling, built on `store` under `route`.
template <class Tower, std::size_t N, class Config>
auto build_text_stack(const io::StFolder& f, const TextStackPlan<Config>& plan,
                      ParameterStore<typename Tower::backend_type, typename Tower::value_type>& store,
                      const Scope& route) {
    using B = typename Tower::backend_type;
    using T = typename Tower::value_type;
    auto modules = stack_modules<B, T>(f, store, route, plan.pooling.output_dimension());
    return text_stack(Tower(store, route / 0, plan.config), Pooling<B, T>(plan.pooling), modules,
                      std::make_index_sequence<N>{});
}

// The stack's weights, its parameters named under `prefix` ("" or "text."): the tower's
// from the Transformer's folder, each Dense's from its own.
template <class Model>
void load_text_weights(const Model& model, const io::StFolder& f, const std::string& prefix) {
    load_state_dict(parameters_under(model, prefix + "0."), model.parameters(),
                    io::SafetensorsCheckpoint::open(f.transformer_dir()));
    for (std::size_t i = 2; i < f.modules.size(); ++i)
        if (f.modules[i].class_name() == "Dense")
            load_state_dict(parameters_under(model, prefix + std::to_string(i) + "."), model.parameters(),
                            io::SafetensorsCheckpoint::open(f.modules[i].dir));
}

template <class Tower>
std::string text_stack_name(const io::StFolder& f) {
    std::string name = std::string(Tower::architecture) + " + Pooling";
    for (std::size_t i = 2; i < f.modules.size(); ++i) name += " + " + f.modules[i].class_name();
    return name;
}

template <class Tower, class Config>
LoadedModel<typename Tower::backend_type, typename Tower::value_type> load_text(const io::StFolder& f) {
    using B = typename Tower::backend_type;
    using T = typename Tower::value_type;
    auto plan = plan_text_stack<Tower, Config>(f);
    return with_modules_after_pooling(plan, [&](auto n) {
        auto model = make_model<B, T>([&](ParameterStore<B, T>& store) {
            return build_text_stack<Tower, decltype(n)::value>(f, plan, store, Scope());
        });
        load_text_weights(model, f, "");
        return LoadedModel<B, T>{AnyEmbeddingModel<B, T>(std::move(model), text_stack_name<Tower>(f)),
                                 std::move(plan.collator)};
    });
}

template <class Tower, class Config>
struct TextTowerKind {
    using tower = Tower;
    using config = Config;
};

// k(TextTowerKind<Tower, Config>{}) for the text tower `type` (config.json's model_type)
// names, or nullptr when tandem builds no text tower of that type.
template <Backend B, Scalar T, class K>
decltype(auto) with_text_tower(const std::string& type, K&& k) {
    if (type == "bert") return k(TextTowerKind<BertTower<B, T>, io::BertConfig>{});
    if (type == "distilbert") return k(TextTowerKind<DistilBertTower<B, T>, io::DistilBertConfig>{});
    if (type == "roberta") return k(TextTowerKind<RobertaTower<B, T>, io::RobertaConfig>{});
    if (type == "xlm-roberta") return k(TextTowerKind<XLMRobertaTower<B, T>, io::XLMRobertaConfig>{});
    if (type == "mpnet") return k(TextTowerKind<MPNetTower<B, T>, io::MPNetConfig>{});
    return k(nullptr);
}

inline constexpr const char* kTextModelTypes = "bert, distilbert, roberta, xlm-roberta, mpnet";

// A Router sending texts to its "text" route (a text stack as load_text builds) and images
// to its "image" route (a Transformer over a CLIPModel, which gives get_image_features),
// sentence-transformers' choice by modality. The two routes may give different widths, as
// sentence-transformers allows; comparing them then fails where they meet.
template <Backend B, Scalar T>
LoadedModel<B, T> load_router(const io::StFolder& f) {
    const auto config_path = (f.transformer_dir() / "router_config.json").string();
    if (f.modules.size() > 1)
        throw_error(f.modules_file.string(), ": a Router followed by a ", f.modules[1].class_name(),
                    " is not supported; expected the Router alone");
    const auto routes = f.routes();
    const io::StFolder *text = nullptr, *image = nullptr;
    std::string names;
    for (const auto& [name, route] : routes) {
        names += (names.empty() ? "'" : ", '") + name + "'";
        if (name == "text") text = &route;
        if (name == "image") image = &route;
    }
    if (!text || !image || routes.size() != 2)
        throw_error(config_path,
                    ": key 'structure': expected the routes 'text' and 'image' (texts and images ",
                    "routed by modality), found ", names);
    if (text->modules[0].class_name() != "Transformer")
        throw_error(config_path, ": key 'structure.text': expected a Transformer first, found a ",
                    text->modules[0].class_name());
    if (image->modules.size() != 1 || image->modules[0].class_name() != "Transformer")
        throw_error(config_path,
                    ": key 'structure.image': expected a Transformer over a CLIPModel alone, found ",
                    image->modules.size(), " modules starting with a ", image->modules[0].class_name());
    const auto image_dir = image->transformer_dir();
    if (const auto type = model_type_of(image_dir); type != "clip")
        throw_error((image_dir / "config.json").string(),
                    ": key 'model_type': the image route needs clip, found '", type, "'");
    image->transformer_config();  // refuses processing_kwargs tandem does not apply
    const auto clip = io::CLIPConfig::from_file(image_dir / "config.json");
    auto processor = data::Collator::processor_in(image_dir);
    if (!processor)
        throw_error(image_dir.string(),
                    ": no preprocessor_config.json or processor_config.json for the image route");
    const auto text_dir = text->transformer_dir();
    const auto text_type = model_type_of(text_dir);
    return with_text_tower<B, T>(text_type, [&](auto kind) -> LoadedModel<B, T> {
        if constexpr (std::same_as<decltype(kind), std::nullptr_t>) {
            throw_error((text_dir / "config.json").string(),
                        ": key 'model_type': the text route needs one of ", kTextModelTypes, ", found '",
                        text_type, "'");
        } else {
            using Tower = typename decltype(kind)::tower;
            auto plan = plan_text_stack<Tower, typename decltype(kind)::config>(*text);
            plan.collator.set_processor(*processor);
            return with_modules_after_pooling(plan, [&](auto n) {
                auto model = make_model<B, T>([&](ParameterStore<B, T>& store) {
                    return Router(
                        build_text_stack<Tower, decltype(n)::value>(*text, plan, store, Scope("text")),
                        SentenceTransformerStack(CLIPImageTower<B, T>(store, clip, Scope("image") / 0)));
                });
                load_text_weights(model, *text, "text.");
                load_state_dict(parameters_under(model, "image.0."), model.parameters(),
                                io::SafetensorsCheckpoint::open(image_dir));
                return LoadedModel<B, T>{
                    AnyEmbeddingModel<B, T>(
                        std::move(model),
                        "Router (text: " + text_stack_name<Tower>(*text) + "; image: CLIPModel)"),
                    std::move(plan.collator)};
            });
        }
    });
}

}  // namespace detail

// The model in `dir` (a sentence-transformers folder of any layout, or a bare Hugging
// Face folder) with its collator.
template <Backend B, Scalar T = float>
LoadedModel<B, T> load_model(const io::StFolder& f) {
    const auto dir = f.transformer_dir();
    const auto first = f.is_bare() ? std::string("Transformer") : f.modules.front().class_name();
    if (first == "Router") return detail::load_router<B, T>(f);
    const auto type = detail::model_type_of(dir);
    if (type == "clip") return detail::load_dual<CLIPModel<B, T>>(f);
    // sentence-transformers' legacy CLIPModel module builds transformers' CLIPModel, whatever the config.
    if (first == "CLIPModel")
        detail::throw_error((dir / "config.json").string(),
                            ": key 'model_type': a CLIPModel module needs clip, found '", type, "'");
    if (type == "siglip") return detail::load_dual<SiglipModel<B, T>>(f);
    return detail::with_text_tower<B, T>(type, [&](auto kind) -> LoadedModel<B, T> {
        if constexpr (std::same_as<decltype(kind), std::nullptr_t>)
            detail::throw_error((dir / "config.json").string(), ": key 'model_type': expected ",
                                detail::kTextModelTypes, ", clip or siglip, found '", type, "'");
        else
            return detail::load_text<typename decltype(kind)::tower, typename decltype(kind)::config>(f);
    });
}

}  // namespace tandem
