// transformers' RobertaConfig and XLMRobertaConfig (v5.25) as read from and written to
// config.json: BertConfig's keys, with RoBERTa's defaults (pad 1, bos 0, eos 2) and the
// checks RoBERTa's position numbering needs on load.
// reference: transformers RobertaConfig, XLMRobertaConfig.
#pragma once

#include <tandem/io/config/bert.hpp>

#include <filesystem>
#include <string>

namespace tandem::detail {

// RobertaEmbeddings numbers positions from pad_token_id + 1, so it needs a pad token and
// a table of more than pad_token_id + 1 rows.
template <class Config>
Config roberta_config_from_json(const nlohmann::json& json, const std::string& source) {
    Config c = bert_config_from_json<Config>(json, source);
    const io::JsonObjectReader r(json, source);
    if (!c.pad_token_id)
        throw_error(r.where("pad_token_id"), ": expected the padding id RoBERTa's positions count from, ",
                    "found null");
    if (*c.pad_token_id + 1 >= c.max_position_embeddings)
        throw_error(r.where("max_position_embeddings"),
                    ": positions start at pad_token_id + 1 = ", *c.pad_token_id + 1,
                    ", so the table needs more rows, found ", c.max_position_embeddings);
    return c;
}

}  // namespace tandem::detail

namespace tandem::io {

// transformers.RobertaConfig: BertConfig's fields and checks under model_type "roberta".
struct RobertaConfig : BertConfig {
    static constexpr const char* model_type = "roberta";

    RobertaConfig() {
        vocab_size = 50265;
        pad_token_id = 1;
        bos_token_id = 0;
        eos_token_id = 2;
        architectures = {"RobertaModel"};
    }

    static RobertaConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        return detail::roberta_config_from_json<RobertaConfig>(json, source);
    }
    static RobertaConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<RobertaConfig>(path);
    }
    nlohmann::json to_json() const { return detail::bert_config_to_json(*this); }
    bool operator==(const RobertaConfig&) const = default;
};

// transformers.XLMRobertaConfig: RobertaConfig's fields under model_type "xlm-roberta",
// with BERT's default vocabulary size.
struct XLMRobertaConfig : BertConfig {
    static constexpr const char* model_type = "xlm-roberta";

    XLMRobertaConfig() {
        pad_token_id = 1;
        bos_token_id = 0;
        eos_token_id = 2;
        architectures = {"XLMRobertaModel"};
    }

    static XLMRobertaConfig from_json(const nlohmann::json& json, const std::string& source = "<json>") {
        return detail::roberta_config_from_json<XLMRobertaConfig>(json, source);
    }
    static XLMRobertaConfig from_file(const std::filesystem::path& path) {
        return detail::config_from_file<XLMRobertaConfig>(path);
    }
    nlohmann::json to_json() const { return detail::bert_config_to_json(*this); }
    bool operator==(const XLMRobertaConfig&) const = default;
};

}  // namespace tandem::io
