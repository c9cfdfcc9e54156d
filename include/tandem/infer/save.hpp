// Writing a model with its tokenizer, image processor and settings as a
// sentence-transformers folder in the v6 layout, which sentence-transformers and tandem
// both load: the modules (models/st_modules.hpp), tokenizer.json with the
// tokenizer_config.json that carries the model's maximum length and pad token,
// processor_config.json, sentence_bert_config.json (with processing_kwargs where texts are
// padded to the maximum length; under a Router, each in its route's Transformer folder),
// config_sentence_transformers.json,
// modules.json (written last: a folder without it is not yet a model) and a README.md
// model card. Every file is written to a temporary name and renamed.
// reference: sentence_transformers.base.model.BaseModel.save (v6);
// transformers.ProcessorMixin.save_pretrained (processor_config.json).
#pragma once

#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/core/error.hpp>
#include <tandem/core/version.hpp>
#include <tandem/data/collator.hpp>
#include <tandem/io/st_folder.hpp>
#include <tandem/models/st_modules.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace tandem {

// What the model card says beyond the model itself, as SentenceTransformerModelCardData.
struct ModelCardData {
    std::optional<std::string> model_name;
    std::vector<std::string> train_datasets;
    std::optional<std::size_t> train_samples;
    std::optional<std::string> loss;
    // Evaluation results by name ("cosine_accuracy").
    std::map<std::string, double> metrics;
};

namespace detail {

// `model_input_names`: what the tokenizer returns in Python when that is not
// PreTrainedTokenizerFast's input_ids and attention_mask (a cross-encoder's token types).
inline void save_tokenizer(const std::filesystem::path& dir, const data::Collator& collator,
                           const std::vector<std::string>& model_input_names = {}) {
    const Tokenizer* tokenizer = collator.tokenizer();
    if (!tokenizer) return;
    // Truncation is the model's setting, kept in tokenizer_config.json as transformers does.
    Tokenizer plain = *tokenizer;
    plain.no_truncation();
    plain.save(dir / "tokenizer.json");
    nlohmann::ordered_json config{{"backend", "tokenizers"}};
    if (const auto n = collator.max_length()) config["model_max_length"] = *n;
    if (const auto pad = tokenizer->id_to_token(*collator.pad_id())) config["pad_token"] = *pad;
    // The class that runs tokenizer.json as it is: a model's own class (CLIPTokenizer,
    // BertTokenizer) rebuilds its usual pipeline around the vocabulary, which is wrong for
    // a tokenizer of another kind (the Fashion-MNIST demo's word-level one).
    config["tokenizer_class"] = "PreTrainedTokenizerFast";
    if (!model_input_names.empty()) config["model_input_names"] = model_input_names;
    atomic_write(dir / "tokenizer_config.json", config.dump(2) + "\n");
}

inline void save_processor(const std::filesystem::path& dir, const data::Collator& collator) {
    const auto& processor = collator.processor();
    if (!processor) return;
    const bool siglip = processor->image_processor_type.starts_with("Siglip");
    const nlohmann::ordered_json config{{"image_processor", processor->to_json()},
                                        {"processor_class", siglip ? "SiglipProcessor" : "CLIPProcessor"}};
    atomic_write(dir / "processor_config.json", config.dump(2) + "\n");
}

inline nlohmann::ordered_json model_config_json(const io::StModelConfig& c) {
    nlohmann::ordered_json prompts = nlohmann::ordered_json::object();
    for (const auto& [name, prompt] : c.prompts) prompts[name] = prompt;
    nlohmann::ordered_json out{{"__version__", {{"tandem", kVersion}}},
                               {"model_type", "SentenceTransformer"},
                               {"prompts", std::move(prompts)},
                               {"default_prompt_name", nullptr},
                               {"similarity_fn_name", c.similarity_fn_name}};
    if (c.default_prompt_name) out["default_prompt_name"] = *c.default_prompt_name;
    if (c.truncate_dim) out["truncate_dim"] = *c.truncate_dim;
    return out;
}

inline std::string model_card(const StModules& modules, const io::StModelConfig& config,
                              const ModelCardData& card, std::optional<std::size_t> max_length, bool text,
                              bool image) {
    std::ostringstream out;
    out << "---\ntags:\n- sentence-transformers\n- sentence-similarity\n- feature-extraction\n"
        << "library_name: sentence-transformers\npipeline_tag: sentence-similarity\n---\n\n"
        << "# " << card.model_name.value_or("SentenceTransformer") << "\n\n"
        << "A sentence-transformers model trained with tandem. It maps "
        << (text && image ? "texts and images"
            : image       ? "images"
                          : "texts")
        << " to dense vectors in one space.\n\n## Model Details\n\n";
    out << "- **Model Type:** Sentence Transformer\n";
    if (max_length) out << "- **Maximum Sequence Length:** " << *max_length << " tokens\n";
    out << "- **Similarity Function:** " << config.similarity_fn_name << "\n"
        << "- **Supported Modality:** "
        << (text && image ? "Text, Image"
            : image       ? "Image"
                          : "Text")
        << "\n";
    out << "\n### Full Model Architecture\n\n```\nSentenceTransformer(\n";
    for (const auto& m : modules.modules)
        out << "  (" << m["idx"].get<std::size_t>() << "): " << st_class_name(m["type"].get<std::string>())
            << "\n";
    out << ")\n```\n\n## Training Details\n\n";
    if (!card.train_datasets.empty()) {
        out << "- **Training datasets:**";
        for (const auto& d : card.train_datasets) out << " " << d;
        out << "\n";
    }
    if (card.train_samples) out << "- **Training samples:** " << *card.train_samples << "\n";
    if (card.loss) out << "- **Loss:** " << *card.loss << "\n";
    if (!card.metrics.empty()) {
        out << "\n## Evaluation\n\n| Metric | Value |\n|:--|--:|\n";
        for (const auto& [name, value] : card.metrics) out << "| " << name << " | " << value << " |\n";
    }
    out << "\n### Framework Versions\n\n- tandem: " << kVersion << "\n";
    return out.str();
}

// Everything but the weights, around the modules `save_modules(dir)` writes.
template <class SaveModules>
void save_sentence_transformer(const std::filesystem::path& dir, SaveModules&& save_modules,
                               const data::Collator& collator, const io::StModelConfig& config,
                               const ModelCardData& card, bool text, bool image) {
    std::filesystem::create_directories(dir);
    const StModules modules = save_modules(dir);
    // The tokenizer and processor go with the Transformer that reads texts / images: the
    // root's, or a Router route's.
    std::string text_folder, image_folder;
    for (const auto& [folder, config] : modules.transformer_configs) {
        if (config["modality_config"].contains("text")) text_folder = folder;
        if (config["modality_config"].contains("image")) image_folder = folder;
    }
    save_tokenizer(dir / text_folder, collator);
    save_processor(dir / image_folder, collator);
    for (auto [folder, config] : modules.transformer_configs) {
        // v6 keeps how texts are padded in processing_kwargs; the length is tokenizer_config.json's.
        if (folder == text_folder && collator.options().pad_to_max_length)
            config["processing_kwargs"] = {{"text", {{"padding", "max_length"}}}};
        atomic_write(dir / folder / "sentence_bert_config.json", config.dump(4));
    }
    atomic_write(dir / "config_sentence_transformers.json", model_config_json(config).dump(2));
    atomic_write(dir / "README.md", model_card(modules, config, card, collator.max_length(), text, image));
    atomic_write(dir / "modules.json", modules.modules.dump(2));
}

}  // namespace detail
}  // namespace tandem
