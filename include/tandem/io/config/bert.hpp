// transformers' BertConfig (v4.36) as read from and written to config.json, with the
// defaults transformers fills in for absent keys and every field validated on load; its
// reader and writer also serve the configs that keep BERT's keys (io/config/roberta.hpp).
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/config/common.hpp>
#include <tandem/io/json_file.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tandem::detail {

// id2label keys are strings in JSON ("0"); PretrainedConfig turns them into ints.
// Without id2label, num_labels (default 2) makes LABEL_0 ... LABEL_{n-1}.
inline std::map<std::int64_t, std::string> read_labels(const io::JsonObjectReader& r) {
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
                throw_error(id2label.where(key), ": expected an integer label id");
            }
            labels[id] = json_as<std::string>(value, id2label.path(key));
        }
        if (labels.empty()) throw_error(r.where("id2label"), ": expected at least one label, found none");
        return labels;
    }
    const auto n = r.get<std::int64_t>("num_labels", 2);
    check_count(r, "num_labels", n, kLabelLimit);
    for (std::int64_t i = 0; i < n; ++i) labels[i] = "LABEL_" + std::to_string(i);
    return labels;
}

// BertConfig's reading and writing, for it and for the configs that keep its keys with
// their own model_type and defaults (RobertaConfig, XLMRobertaConfig): `Config` is
// default-constructed with its family's defaults, then read and validated in full.
template <class Config>
Config bert_config_from_json(const nlohmann::json& json, const std::string& source) {
    const io::JsonObjectReader r(json, source);
    check_model_type(r, Config::model_type, true);
    Config c;
    read_config_fields(c, r, {"model_type", "architectures", "id2label", "label2id", "num_labels"});
    c.architectures = read_architectures(r, c.architectures);
    c.id2label = read_labels(r);
    check_tower(r, c);
    check_count(r, "vocab_size", c.vocab_size, kVocabLimit);
    check_count(r, "max_position_embeddings", c.max_position_embeddings, kPositionLimit);
    check_count(r, "type_vocab_size", c.type_vocab_size, kTypeLimit);
    check_dropout(r, "hidden_dropout_prob", c.hidden_dropout_prob);
    check_dropout(r, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
    if (c.classifier_dropout) check_dropout(r, "classifier_dropout", *c.classifier_dropout);
    check_non_negative(r, "initializer_range", c.initializer_range);
    // nn.Embedding(vocab_size, hidden_size, padding_idx=pad_token_id) refuses a row outside the table.
    if (c.pad_token_id && (*c.pad_token_id < 0 || *c.pad_token_id >= c.vocab_size))
        throw_error(r.where("pad_token_id"), ": expected an id below vocab_size ", c.vocab_size, ", found ",
                    *c.pad_token_id);
    if (c.position_embedding_type != "absolute") {
        throw_error(r.where("position_embedding_type"), ": tandem implements \"absolute\", found \"",
                    c.position_embedding_type, "\"");
    }
    return c;
}

template <class Config>
nlohmann::json bert_config_to_json(const Config& c) {
    auto out = write_config_fields(c);
    out["architectures"] = c.architectures;
    nlohmann::json id2 = nlohmann::json::object(), label2 = nlohmann::json::object();
    for (const auto& [id, label] : c.id2label) {
        id2[std::to_string(id)] = label;
        label2[label] = id;
    }
    out["id2label"] = id2;
    out["label2id"] = label2;
    return out;
}

}  // namespace tandem::detail

namespace tandem::io {

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
        return detail::bert_config_from_json<BertConfig>(json, source);
    }
    static BertConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<BertConfig>(path);
    }

    nlohmann::json to_json() const { return detail::bert_config_to_json(*this); }
    bool operator==(const BertConfig&) const = default;
};

}  // namespace tandem::io
