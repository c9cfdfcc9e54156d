// Building the model a sentence-transformers or Hugging Face folder describes, with the
// tokenizer and image processor it holds: a text Transformer (BERT, DistilBERT, RoBERTa,
// XLM-RoBERTa or MPNet) followed by Pooling and any Dense / Normalize modules, or a whole CLIPModel (the
// legacy 0_CLIPModel/ layout, the v6 Transformer in the root, or a bare Hugging Face folder) or
// SiglipModel (the v6 Transformer in the root, or a bare folder). The folder's settings are applied:
// max_seq_length (else the tokenizer's model_max_length, capped by the model's positions), v6's
// processing_kwargs for texts (padding, max_length) and the tokenizer's real pad token.
// reference: sentence_transformers.SentenceTransformer.__init__ (modules.json, then
// _load_auto_model for a bare folder: Transformer + mean Pooling).
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
        throw_error((f.root / "modules.json").string(), ": a ", M::architecture, " followed by a ",
                    f.modules[1].class_name(), " is not supported; expected the ", M::architecture, " alone");
    auto model = M::from_pretrained(dir);
    auto collator = data::Collator::from_folder(
        dir,
        collator_options(f, static_cast<std::size_t>(model.config().text_config.max_position_embeddings)));
    return {AnyEmbeddingModel<typename M::backend_type, typename M::value_type>(
                std::move(model), std::string(M::architecture) + " (" + dir.string() + ")"),
            std::move(collator)};
}

// The modules after Pooling, built on `store` under their index.
template <Backend B, Scalar T>
std::vector<StackModule<B, T>> stack_modules(const io::StFolder& f, ParameterStore<B, T>& store,
                                             index_t width) {
    std::vector<StackModule<B, T>> out;
    for (std::size_t i = 2; i < f.modules.size(); ++i) {
        const auto& m = f.modules[i];
        const auto cls = m.class_name();
        if (cls == "Dense") {
            const auto config = io::read_dense_config(m.dir);
            if (config.in_features != width)
                throw_error((m.dir / "config.json").string(), ": in_features ", config.in_features,
                            " does not fit the ", width, "-wide embeddings module ", i - 1, " gives");
            out.emplace_back(Dense<B, T>(store, Scope(std::to_string(i)), config));
            width = config.out_features;
        } else if (cls == "Normalize") {
            if (std::filesystem::exists(m.dir / "config.json")) io::read_normalize_config(m.dir);
            out.emplace_back(Normalize<B, T>());
        } else {
            throw_error((f.root / "modules.json").string(), ": module ", i, " is a ", cls,
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

template <class Tower, std::size_t N, class Config>
LoadedModel<typename Tower::backend_type, typename Tower::value_type> load_text_with(
    const io::StFolder& f, const Config& config, const PoolingConfig& pooling, data::Collator collator) {
    using B = typename Tower::backend_type;
    using T = typename Tower::value_type;
    auto model = make_model<B, T>([&](ParameterStore<B, T>& store) {
        auto modules = stack_modules<B, T>(f, store, pooling.output_dimension());
        return text_stack(Tower(store, Scope("0"), config), Pooling<B, T>(pooling), modules,
                          std::make_index_sequence<N>{});
    });
    load_state_dict(parameters_under(model, "0."), model.parameters(),
                    io::SafetensorsCheckpoint::open(f.transformer_dir()));
    for (std::size_t i = 2; i < f.modules.size(); ++i)
        if (f.modules[i].class_name() == "Dense")
            load_state_dict(parameters_under(model, std::to_string(i) + "."), model.parameters(),
                            io::SafetensorsCheckpoint::open(f.modules[i].dir));
    std::string name = std::string(Tower::architecture) + " + Pooling";
    for (std::size_t i = 2; i < f.modules.size(); ++i) name += " + " + f.modules[i].class_name();
    return {AnyEmbeddingModel<B, T>(std::move(model), name), std::move(collator)};
}

// The longest stack a folder may describe: Transformer, Pooling and three more modules.
inline constexpr std::size_t kMaxModulesAfterPooling = 3;

// A text Transformer (BERT or a tower built like it) followed by Pooling and up to three
// Dense / Normalize modules; a bare folder gets mean Pooling.
template <class Tower, class Config>
LoadedModel<typename Tower::backend_type, typename Tower::value_type> load_text(const io::StFolder& f) {
    const auto dir = f.transformer_dir();
    const auto config = Config::from_file(dir / "config.json");
    PoolingConfig pooling{config.hidden_size, {PoolingMode::Mean}, true};
    if (!f.is_bare()) {
        if (f.modules.size() < 2 || f.modules[1].class_name() != "Pooling")
            throw_error((f.root / "modules.json").string(), ": module 1 must be a Pooling after a ",
                        Tower::architecture, " Transformer, which gives token embeddings");
        pooling = io::read_pooling_config(f.modules[1].dir);
        if (pooling.embedding_dimension != config.hidden_size)
            throw_error((f.modules[1].dir / "config.json").string(), ": embedding_dimension ",
                        pooling.embedding_dimension, " does not fit the model's hidden_size ",
                        config.hidden_size);
    }
    auto collator = data::Collator::from_folder(dir, collator_options(f, token_positions(config)));
    const std::size_t after = f.is_bare() ? 0 : f.modules.size() - 2;
    if (after > kMaxModulesAfterPooling)
        throw_error((f.root / "modules.json").string(), ": ", after, " modules after Pooling, at most ",
                    kMaxModulesAfterPooling, " are supported");
    switch (after) {
        case 0:
            return load_text_with<Tower, 0>(f, config, pooling, std::move(collator));
        case 1:
            return load_text_with<Tower, 1>(f, config, pooling, std::move(collator));
        case 2:
            return load_text_with<Tower, 2>(f, config, pooling, std::move(collator));
        default:
            return load_text_with<Tower, 3>(f, config, pooling, std::move(collator));
    }
}

}  // namespace detail

// The model in `dir` (a sentence-transformers folder of any layout, or a bare Hugging
// Face folder) with its collator.
template <Backend B, Scalar T = float>
LoadedModel<B, T> load_model(const io::StFolder& f) {
    const auto dir = f.transformer_dir();
    const auto first = f.is_bare() ? std::string("Transformer") : f.modules.front().class_name();
    const auto type = detail::model_type_of(dir);
    if (type == "clip") return detail::load_dual<CLIPModel<B, T>>(f);
    // sentence-transformers' legacy CLIPModel module builds transformers' CLIPModel, whatever the config.
    if (first == "CLIPModel")
        detail::throw_error((dir / "config.json").string(),
                            ": key 'model_type': a CLIPModel module needs clip, found '", type, "'");
    if (type == "siglip") return detail::load_dual<SiglipModel<B, T>>(f);
    if (type == "bert") return detail::load_text<BertTower<B, T>, io::BertConfig>(f);
    if (type == "distilbert") return detail::load_text<DistilBertTower<B, T>, io::DistilBertConfig>(f);
    if (type == "roberta") return detail::load_text<RobertaTower<B, T>, io::RobertaConfig>(f);
    if (type == "xlm-roberta") return detail::load_text<XLMRobertaTower<B, T>, io::XLMRobertaConfig>(f);
    if (type == "mpnet") return detail::load_text<MPNetTower<B, T>, io::MPNetConfig>(f);
    detail::throw_error((dir / "config.json").string(),
                        ": key 'model_type': expected bert, distilbert, roberta, xlm-roberta, mpnet, clip or "
                        "siglip, found '",
                        type, "'");
}

}  // namespace tandem
