// Hugging Face DistilBERT: BERT's embeddings without token types (LayerNorm eps 1e-12)
// and a post-LN encoder named transformer.layer.N.{attention.{q,k,v,out}_lin,
// sa_layer_norm, ffn.lin1, ffn.lin2, output_layer_norm}, without a pooler; the attention
// output is not dropped, the feed-forward output is.
// reference: transformers DistilBertModel (Embeddings, TransformerBlock, Transformer).
#pragma once

#include <tandem/io/config/distilbert.hpp>
#include <tandem/models/bert.hpp>

#include <vector>

namespace tandem {

template <Backend B, Scalar T>
struct DistilBertOutput {
    Var<B, T> last_hidden_state;  // [batch, tokens, dim], padded positions included
    // With output_hidden_states: the embedding layer's output, then every layer's; the last
    // is last_hidden_state.
    std::vector<Var<B, T>> hidden_states{};
};

namespace detail {
inline PostLNLayout distilbert_layout() {
    PostLNLayout layout;
    layout.attention_names = {"q_lin", "k_lin", "v_lin", "out_lin"};
    layout.attention_norm = "sa_layer_norm";
    layout.intermediate = "ffn.lin1";
    layout.output = "ffn.lin2";
    layout.output_norm = "output_layer_norm";
    layout.drop_attention_output = false;
    return layout;
}

inline TransformerSizes distilbert_sizes(const io::DistilBertConfig& c) {
    return {c.hidden_size,    c.num_attention_heads, c.hidden_dim, activation_from_name(c.activation),
            c.layer_norm_eps, c.attention_dropout,   c.dropout};
}

inline BertEmbeddingOptions distilbert_embedding_options(const io::DistilBertConfig& c) {
    return {.vocab_size = c.vocab_size,
            .hidden_size = c.hidden_size,
            .max_position_embeddings = c.max_position_embeddings,
            .layer_norm_eps = c.layer_norm_eps,
            .dropout = c.dropout,
            .pad_token_id = c.pad_token_id,
            .model = "DistilBertModel"};
}
}  // namespace detail

// DistilBertModel's layers on a shared ParameterStore under `scope` ("" for
// DistilBertModel itself, "distilbert" inside its task models).
template <Backend B, Scalar T>
class DistilBertTower {
public:
    using backend_type = B;
    using value_type = T;

    // The Hugging Face class a tower alone is saved as.
    static constexpr const char* architecture = "DistilBertModel";

    DistilBertTower(ParameterStore<B, T>& store, const Scope& scope, const io::DistilBertConfig& c)
        : config_(c),
          embeddings_(store, scope / "embeddings", detail::distilbert_embedding_options(c)),
          transformer_(store, scope / "transformer" / "layer", c.num_hidden_layers,
                       detail::distilbert_sizes(c), detail::distilbert_layout()) {}

    // The attention mask is a key padding mask; padded queries are still computed.
    DistilBertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                                   bool output_hidden_states = false) const {
        text.check(architecture);
        const auto options = attention_options<B, T>(text, false);
        const auto x = embeddings_.forward(g, text);
        if (!output_hidden_states) return {transformer_.forward(g, x, options)};
        auto states = transformer_.hidden_states(g, x, options);
        const auto last = states.back();
        return {last, std::move(states)};
    }

    // DistilBertModel has no pooler; its sequence-classification head reads the first
    // token's state, which is the tower's own sentence vector here.
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const {
        return pool_cls(forward(g, text).last_hidden_state);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        embeddings_.for_each_parameter(f);
        transformer_.for_each_parameter(f);
    }

    const io::DistilBertConfig& config() const { return config_; }

private:
    io::DistilBertConfig config_;
    BertEmbeddings<B, T> embeddings_;
    TransformerStack<PostLNBlock<B, T>> transformer_;
};

// transformers.DistilBertModel: owns its parameters, named without prefix; from_pretrained
// also reads checkpoints whose names carry "distilbert." (a task model's), reporting
// their heads as unexpected.
template <Backend B, Scalar T>
class DistilBertModel : public PretrainedModel<DistilBertModel<B, T>, B, T, io::DistilBertConfig> {
    using Base = PretrainedModel<DistilBertModel<B, T>, B, T, io::DistilBertConfig>;

public:
    static constexpr const char* architecture = "DistilBertModel";
    static constexpr const char* base_model_prefix = "distilbert";

    explicit DistilBertModel(const io::DistilBertConfig& config)
        : Base(config), distilbert_(*this->store_, Scope(), config) {}

    DistilBertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                                   bool output_hidden_states = false) const {
        return distilbert_.forward(g, text, output_hidden_states);
    }
    // The first token's state [batch, dim].
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const { return distilbert_.encode(g, text); }

    template <class F>
    void for_each_parameter(F&& f) const {
        distilbert_.for_each_parameter(f);
    }

private:
    DistilBertTower<B, T> distilbert_;
};

}  // namespace tandem
