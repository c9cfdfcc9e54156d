// Hugging Face BERT: embeddings, post-LN encoder and [CLS] pooler (BertModel), and the
// one-Linear head on the pooler (BertForSequenceClassification, a cross-encoder's model).
// Names, masks and numerics follow transformers 4.36 (see shared/data/models/README.md).
// reference: transformers BertEmbeddings, BertModel, BertForSequenceClassification.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/io/hf_config.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/nn.hpp>

namespace tandem {

// dropout(LayerNorm(word + position(0..L-1) + token_type)); absent token_type_ids mean
// segment 0; dropout (hidden_dropout_prob) in train mode only.
template <Backend B, Scalar T>
class BertEmbeddings {
public:
    using backend_type = B;
    using value_type = T;

    BertEmbeddings(ParameterStore<B, T>& store, const Scope& scope, const io::BertConfig& c)
        : word_embeddings_(store, scope / "word_embeddings", c.vocab_size, c.hidden_size),
          position_embeddings_(store, scope / "position_embeddings", c.max_position_embeddings,
                               c.hidden_size),
          token_type_embeddings_(store, scope / "token_type_embeddings", c.type_vocab_size, c.hidden_size),
          layer_norm_(store, scope / "LayerNorm", c.hidden_size, c.layer_norm_eps),
          dropout_(T(c.hidden_dropout_prob)) {}

    Var<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text) const {
        if (text.length() > position_embeddings_.num_embeddings())
            detail::throw_error("BertModel: sequence length ", text.length(),
                                " exceeds max_position_embeddings ", position_embeddings_.num_embeddings());
        // Without token types every token is segment 0, as HF's default.
        const Ids<B> types =
            text.token_type_ids.defined() ? text.token_type_ids : Ids<B>::zeros(text.input_ids.shape());
        auto x =
            add(add(word_embeddings_.forward(g, text.input_ids), token_type_embeddings_.forward(g, types)),
                position_embeddings_.first_rows(g, text.length()));
        return dropout(layer_norm_.forward(g, x), dropout_);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        word_embeddings_.for_each_parameter(f);
        position_embeddings_.for_each_parameter(f);
        token_type_embeddings_.for_each_parameter(f);
        layer_norm_.for_each_parameter(f);
    }

private:
    Embedding<B, T> word_embeddings_, position_embeddings_, token_type_embeddings_;
    LayerNorm<B, T> layer_norm_;
    T dropout_;
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
        : config_(c),
          embeddings_(store, scope / "embeddings", c),
          encoder_(store, scope / "encoder" / "layer", c.num_hidden_layers, detail::bert_sizes(c)),
          pooler_(store, scope / "pooler" / "dense", c.hidden_size, c.hidden_size) {}

    // The attention mask is a key padding mask: padded keys get no weight, padded queries
    // are still computed (as in HF, whose last_hidden_state includes them).
    BertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                             bool output_hidden_states = false) const {
        text.check("BertModel");
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
