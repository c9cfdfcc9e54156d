// Hugging Face RoBERTa and XLM-RoBERTa: BERT's layers and names (embeddings, post-LN
// encoder, [CLS] pooler) with one difference, the positions, which count the tokens that
// are not padding from pad_token_id + 1 and leave padding at pad_token_id. XLM-R is the
// same model under its own config and class name.
// reference: transformers RobertaModel, RobertaEmbeddings.create_position_ids_from_input_ids,
// XLMRobertaModel.
#pragma once

#include <tandem/io/config/roberta.hpp>
#include <tandem/models/bert.hpp>

namespace tandem {

namespace detail {
template <class Config>
struct RobertaFamily;
template <>
struct RobertaFamily<io::RobertaConfig> {
    static constexpr const char* architecture = "RobertaModel";
};
template <>
struct RobertaFamily<io::XLMRobertaConfig> {
    static constexpr const char* architecture = "XLMRobertaModel";
};

inline BertEmbeddingOptions roberta_embedding_options(const io::BertConfig& c, const char* model) {
    auto o = bert_embedding_options(c);
    o.position_padding_idx = c.pad_token_id;
    o.model = model;
    return o;
}
}  // namespace detail

// The layers of RobertaModel (Config io::RobertaConfig) or XLMRobertaModel
// (io::XLMRobertaConfig) on a shared ParameterStore under `scope`, named as BertTower's.
template <Backend B, Scalar T, class Config>
class BasicRobertaTower {
public:
    using backend_type = B;
    using value_type = T;

    // The Hugging Face class a tower alone is saved as.
    static constexpr const char* architecture = detail::RobertaFamily<Config>::architecture;

    BasicRobertaTower(ParameterStore<B, T>& store, const Scope& scope, const Config& c)
        : config_(c), bert_(store, scope, c, detail::roberta_embedding_options(c, architecture)) {}

    // last_hidden_state (padded positions included), pooler_output and, when asked, the
    // hidden states after the embeddings and after every layer.
    BertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                             bool output_hidden_states = false) const {
        return bert_.forward(g, text, output_hidden_states);
    }

    // pooler_output, the model's own sentence vector (sentence-transformers pools
    // last_hidden_state instead).
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const { return bert_.encode(g, text); }

    template <class F>
    void for_each_parameter(F&& f) const {
        bert_.for_each_parameter(f);
    }

    const Config& config() const { return config_; }

private:
    Config config_;
    BertTower<B, T> bert_;
};

template <Backend B, Scalar T>
using RobertaTower = BasicRobertaTower<B, T, io::RobertaConfig>;
template <Backend B, Scalar T>
using XLMRobertaTower = BasicRobertaTower<B, T, io::XLMRobertaConfig>;

// transformers.RobertaModel / XLMRobertaModel (with the pooler): owns its parameters,
// named without prefix; from_pretrained also reads checkpoints whose names carry
// "roberta." (both families' base_model_prefix), reporting their heads as unexpected.
template <Backend B, Scalar T, class Config>
class BasicRobertaModel : public PretrainedModel<BasicRobertaModel<B, T, Config>, B, T, Config> {
    using Base = PretrainedModel<BasicRobertaModel<B, T, Config>, B, T, Config>;

public:
    static constexpr const char* architecture = detail::RobertaFamily<Config>::architecture;
    static constexpr const char* base_model_prefix = "roberta";

    explicit BasicRobertaModel(const Config& config)
        : Base(config), roberta_(*this->store_, Scope(), config) {}

    BertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                             bool output_hidden_states = false) const {
        return roberta_.forward(g, text, output_hidden_states);
    }
    // pooler_output [batch, hidden].
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const { return roberta_.encode(g, text); }

    template <class F>
    void for_each_parameter(F&& f) const {
        roberta_.for_each_parameter(f);
    }

private:
    BasicRobertaTower<B, T, Config> roberta_;
};

template <Backend B, Scalar T>
using RobertaModel = BasicRobertaModel<B, T, io::RobertaConfig>;
template <Backend B, Scalar T>
using XLMRobertaModel = BasicRobertaModel<B, T, io::XLMRobertaConfig>;

}  // namespace tandem
