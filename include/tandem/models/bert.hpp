// Hugging Face BERT: embeddings, post-LN encoder and [CLS] pooler (BertModel), and the
// one-Linear head on the pooler (BertForSequenceClassification, a cross-encoder's model).
// Names, masks and numerics follow transformers 4.36 (see shared/data/models/README.md);
// the embeddings also take the variations of RoBERTa, DistilBERT and MPNet.
// reference: transformers BertEmbeddings, BertModel, BertForSequenceClassification.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/io/hf_config.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/nn.hpp>

#include <cstdint>
#include <optional>
#include <utility>

namespace tandem {

// What a BERT-family embedding layer is made of, as BertEmbeddings reads it from a
// config: the tables' sizes, whether there are token types, and how positions are
// numbered.
struct BertEmbeddingOptions {
    index_t vocab_size = 0, hidden_size = 0, max_position_embeddings = 0;
    // 0: no token_type_embeddings (DistilBERT, MPNet).
    index_t type_vocab_size = 0;
    double layer_norm_eps = 1e-12, dropout = 0;
    // word_embeddings' padding_idx (nn.Embedding's: that row gets no gradient).
    std::optional<std::int64_t> pad_token_id{};
    // Unset: BERT's positions, the columns 0..L-1. Set: RoBERTa's, counted from
    // position_padding_idx + 1 over the tokens other than it, padding itself at
    // position_padding_idx (also the position table's padding_idx).
    std::optional<std::int64_t> position_padding_idx{};
    // The Hugging Face class errors name.
    const char* model = "BertModel";
};

namespace detail {
inline BertEmbeddingOptions bert_embedding_options(const io::BertConfig& c) {
    return {.vocab_size = c.vocab_size,
            .hidden_size = c.hidden_size,
            .max_position_embeddings = c.max_position_embeddings,
            .type_vocab_size = c.type_vocab_size,
            .layer_norm_eps = c.layer_norm_eps,
            .dropout = c.hidden_dropout_prob,
            .pad_token_id = c.pad_token_id,
            .model = "BertModel"};
}
}  // namespace detail

// dropout(LayerNorm(word + token_type + position)); absent token_type_ids mean segment 0;
// dropout in train mode only. One class for BERT and the families that keep its
// embeddings but drop the token types or number positions past the padding.
template <Backend B, Scalar T>
class BertEmbeddings {
public:
    using backend_type = B;
    using value_type = T;

    BertEmbeddings(ParameterStore<B, T>& store, const Scope& scope, const BertEmbeddingOptions& o)
        : word_embeddings_(store, scope / "word_embeddings", o.vocab_size, o.hidden_size, o.pad_token_id),
          position_embeddings_(store, scope / "position_embeddings", o.max_position_embeddings, o.hidden_size,
                               o.position_padding_idx),
          token_type_embeddings_(o.type_vocab_size > 0
                                     ? std::optional<Embedding<B, T>>(std::in_place, store,
                                                                      scope / "token_type_embeddings",
                                                                      o.type_vocab_size, o.hidden_size)
                                     : std::nullopt),
          layer_norm_(store, scope / "LayerNorm", o.hidden_size, o.layer_norm_eps),
          dropout_(T(o.dropout)),
          position_padding_idx_(o.position_padding_idx),
          model_(o.model) {}

    BertEmbeddings(ParameterStore<B, T>& store, const Scope& scope, const io::BertConfig& c)
        : BertEmbeddings(store, scope, detail::bert_embedding_options(c)) {}

    Var<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text) const {
        auto x = word_embeddings_.forward(g, text.input_ids);
        if (token_type_embeddings_) {
            // Without token types every token is segment 0, as HF's default.
            const Ids<B> types =
                text.token_type_ids.defined() ? text.token_type_ids : Ids<B>::zeros(text.input_ids.shape());
            x = add(x, token_type_embeddings_->forward(g, types));
        }
        return dropout(layer_norm_.forward(g, add(x, positions(g, text))), dropout_);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        word_embeddings_.for_each_parameter(f);
        position_embeddings_.for_each_parameter(f);
        if (token_type_embeddings_) token_type_embeddings_->for_each_parameter(f);
        layer_norm_.for_each_parameter(f);
    }

private:
    Var<B, T> positions(Graph<B, T>& g, const TextBatch<B>& text) const {
        const index_t rows = position_embeddings_.num_embeddings();
        if (!position_padding_idx_) {
            if (text.length() > rows)
                detail::throw_error(model_, ": sequence length ", text.length(),
                                    " exceeds max_position_embeddings ", rows);
            return position_embeddings_.first_rows(g, text.length());
        }
        // The last real token of a full row sits at padding_idx + length.
        const std::int64_t padding_idx = *position_padding_idx_;
        if (padding_idx + text.length() >= rows)
            detail::throw_error(model_, ": sequence length ", text.length(), " exceeds the ",
                                rows - padding_idx - 1, " positions max_position_embeddings ", rows,
                                " leaves after padding_idx ", padding_idx);
        return position_embeddings_.forward(g, position_ids_from_input_ids(text.input_ids, padding_idx));
    }

    Embedding<B, T> word_embeddings_, position_embeddings_;
    std::optional<Embedding<B, T>> token_type_embeddings_;
    LayerNorm<B, T> layer_norm_;
    T dropout_;
    std::optional<std::int64_t> position_padding_idx_;
    const char* model_;
};

template <Backend B, Scalar T>
struct BertOutput {
    Var<B, T> last_hidden_state;  // [batch, tokens, hidden], padded positions included
    Var<B, T> pooler_output;      // [batch, hidden], tanh(dense(last_hidden_state[:, 0]))
    // With output_hidden_states: the embedding layer's output, then every layer's; the last
    // is last_hidden_state.
    std::vector<Var<B, T>> hidden_states{};
};

namespace detail {
inline TransformerSizes bert_sizes(const io::BertConfig& c) {
    return {c.hidden_size,        c.num_attention_heads,
            c.intermediate_size,  activation_from_name(c.hidden_act),
            c.layer_norm_eps,     c.attention_probs_dropout_prob,
            c.hidden_dropout_prob};
}
}  // namespace detail

// BertModel's layers on a shared ParameterStore under `scope` ("" for BertModel itself,
// "bert" inside BertForSequenceClassification, any prefix inside another model).
template <Backend B, Scalar T>
class BertTower {
public:
    using backend_type = B;
    using value_type = T;

    // The Hugging Face class a tower alone is saved as.
    static constexpr const char* architecture = "BertModel";

    BertTower(ParameterStore<B, T>& store, const Scope& scope, const io::BertConfig& c)
        : BertTower(store, scope, c, detail::bert_embedding_options(c)) {}

    // BERT's layers with other embeddings: RoBERTa's positions (models/roberta.hpp).
    BertTower(ParameterStore<B, T>& store, const Scope& scope, const io::BertConfig& c,
              const BertEmbeddingOptions& embeddings)
        : config_(c),
          model_(embeddings.model),
          embeddings_(store, scope / "embeddings", embeddings),
          encoder_(store, scope / "encoder" / "layer", c.num_hidden_layers, detail::bert_sizes(c)),
          pooler_(store, scope / "pooler" / "dense", c.hidden_size, c.hidden_size) {}

    // The attention mask is a key padding mask: padded keys get no weight, padded queries
    // are still computed (as in HF, whose last_hidden_state includes them).
    BertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                             bool output_hidden_states = false) const {
        text.check(model_);
        const auto options = attention_options<B, T>(text, false);
        const auto x = embeddings_.forward(g, text);
        std::vector<Var<B, T>> states;
        if (output_hidden_states) states = encoder_.hidden_states(g, x, options);
        const auto last = output_hidden_states ? states.back() : encoder_.forward(g, x, options);
        return {last, tanh(pooler_.forward(g, pool_cls(last))), std::move(states)};
    }

    // BertModel's own sentence vector, pooler_output, so the tower alone is an
    // EncoderTower; PooledTower(tower, Pooling(...)) pools last_hidden_state instead, as
    // sentence-transformers does.
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const {
        return forward(g, text).pooler_output;
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        embeddings_.for_each_parameter(f);
        encoder_.for_each_parameter(f);
        pooler_.for_each_parameter(f);
    }

    const io::BertConfig& config() const { return config_; }

private:
    io::BertConfig config_;
    const char* model_;
    BertEmbeddings<B, T> embeddings_;
    TransformerStack<PostLNBlock<B, T>> encoder_;
    Linear<B, T> pooler_;
};

// transformers.BertModel (with its pooler): owns its parameters, named without prefix.
// from_pretrained also reads checkpoints whose names carry "bert." (a classification or
// pre-training checkpoint); their heads are reported as unexpected.
template <Backend B, Scalar T>
class BertModel : public PretrainedModel<BertModel<B, T>, B, T, io::BertConfig> {
    using Base = PretrainedModel<BertModel<B, T>, B, T, io::BertConfig>;

public:
    static constexpr const char* architecture = "BertModel";
    static constexpr const char* base_model_prefix = "bert";

    explicit BertModel(const io::BertConfig& config) : Base(config), bert_(*this->store_, Scope(), config) {}

    BertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text) const {
        return bert_.forward(g, text);
    }
    // pooler_output [batch, hidden].
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const { return bert_.encode(g, text); }

    template <class F>
    void for_each_parameter(F&& f) const {
        bert_.for_each_parameter(f);
    }

private:
    BertTower<B, T> bert_;
};

template <Backend B, Scalar T>
struct SequenceClassifierOutput {
    BertOutput<B, T> bert;
    Var<B, T> logits;  // [batch, num_labels]
};

// transformers.BertForSequenceClassification: "bert." + BertModel, then
// classifier(dropout(pooler_output)), dropping with classifier_dropout (or, unset,
// hidden_dropout_prob) in train mode only. The loss is the
// caller's: a CrossEncoder with one label uses BCE-with-logits on logits.view(-1).
// A checkpoint without "classifier.*" (a bare BertModel or a pre-training checkpoint)
// starts a new head as transformers does: weight N(0, initializer_range^2) drawn from
// from_pretrained's seed, bias 0; the head's names are then listed in
// load_report().newly_initialized.
template <Backend B, Scalar T>
class BertForSequenceClassification
    : public PretrainedModel<BertForSequenceClassification<B, T>, B, T, io::BertConfig> {
    using Base = PretrainedModel<BertForSequenceClassification<B, T>, B, T, io::BertConfig>;

public:
    static constexpr const char* architecture = "BertForSequenceClassification";
    static constexpr const char* base_model_prefix = "bert";
    static constexpr const char* head_prefix = "classifier.";

    explicit BertForSequenceClassification(const io::BertConfig& config)
        : Base(config),
          bert_(*this->store_, Scope(base_model_prefix), config),
          classifier_(*this->store_, Scope("classifier"), config.hidden_size, config.num_labels()),
          dropout_(T(config.classifier_dropout.value_or(config.hidden_dropout_prob))) {}

    index_t num_labels() const { return this->config_.num_labels(); }

    void reset_head(std::uint64_t seed) {
        classifier_.reset_parameters_normal(this->config_.initializer_range, seed);
    }

    SequenceClassifierOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text) const {
        auto out = bert_.forward(g, text);
        return {out, classifier_.forward(g, dropout(out.pooler_output, dropout_))};
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        bert_.for_each_parameter(f);
        classifier_.for_each_parameter(f);
    }

private:
    BertTower<B, T> bert_;
    Linear<B, T> classifier_;
    T dropout_;
};

}  // namespace tandem
