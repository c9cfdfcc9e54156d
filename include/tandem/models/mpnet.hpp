// Hugging Face MPNet: RoBERTa-style embeddings without token types (padding id 1,
// positions counted past it), a post-LN encoder whose attention adds a learned bias per
// head and relative-position bucket (encoder.relative_attention_bias, shared by every
// layer) to the scaled scores, and BERT's [CLS] pooler. Names: embeddings.*,
// encoder.layer.N.attention.{attn.{q,k,v,o},LayerNorm}, intermediate.dense,
// output.{dense,LayerNorm}, pooler.dense.
// reference: transformers MPNetModel, MPNetEncoder.compute_position_bias, MPNetEmbeddings.
#pragma once

#include <tandem/io/config/mpnet.hpp>
#include <tandem/models/bert.hpp>

namespace tandem {

namespace detail {
inline PostLNLayout mpnet_layout() {
    PostLNLayout layout;
    layout.attention_names = {"attn.q", "attn.k", "attn.v", "attn.o"};
    layout.attention_norm = "attention.LayerNorm";
    return layout;
}

inline TransformerSizes mpnet_sizes(const io::MPNetConfig& c) {
    return {c.hidden_size,        c.num_attention_heads,
            c.intermediate_size,  activation_from_name(c.hidden_act),
            c.layer_norm_eps,     c.attention_probs_dropout_prob,
            c.hidden_dropout_prob};
}

inline BertEmbeddingOptions mpnet_embedding_options(const io::MPNetConfig& c) {
    return {.vocab_size = c.vocab_size,
            .hidden_size = c.hidden_size,
            .max_position_embeddings = c.max_position_embeddings,
            .layer_norm_eps = c.layer_norm_eps,
            .dropout = c.hidden_dropout_prob,
            .pad_token_id = io::MPNetConfig::padding_idx,
            .position_padding_idx = io::MPNetConfig::padding_idx,
            .model = "MPNetModel"};
}

// The bucket of every (query, key) pair of an L-token sequence [L, L], made on the backend.
template <Backend B>
Ids<B> mpnet_relative_buckets(index_t length) {
    auto out = Ids<B>::empty({length, length});
    B::relative_position_buckets(out.data(), length, length, io::MPNetConfig::position_buckets,
                                 io::MPNetConfig::max_bucket_distance);
    return out;
}
}  // namespace detail

// MPNetModel's layers on a shared ParameterStore under `scope` ("" for MPNetModel itself,
// "mpnet" inside its task models).
template <Backend B, Scalar T>
class MPNetTower {
public:
    using backend_type = B;
    using value_type = T;

    // The Hugging Face class a tower alone is saved as.
    static constexpr const char* architecture = "MPNetModel";

    MPNetTower(ParameterStore<B, T>& store, const Scope& scope, const io::MPNetConfig& c)
        : config_(c),
          embeddings_(store, scope / "embeddings", detail::mpnet_embedding_options(c)),
          encoder_(store, scope / "encoder" / "layer", c.num_hidden_layers, detail::mpnet_sizes(c),
                   detail::mpnet_layout()),
          relative_attention_bias_(store, scope / "encoder" / "relative_attention_bias",
                                   c.relative_attention_num_buckets, c.num_attention_heads),
          pooler_(store, scope / "pooler" / "dense", c.hidden_size, c.hidden_size) {}

    // The attention mask is a key padding mask; padded queries are still computed. The
    // relative positions are the columns' (as compute_position_bias without
    // position_ids), the same for every row whatever its padding.
    BertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                             bool output_hidden_states = false) const {
        text.check(architecture);
        auto options = attention_options<B, T>(text, false);
        // [L, L, heads] -> [heads, L, L], the bias attention adds to every row's scores.
        options.bias = permute(
            relative_attention_bias_.forward(g, detail::mpnet_relative_buckets<B>(text.length())), {2, 0, 1});
        const auto x = embeddings_.forward(g, text);
        std::vector<Var<B, T>> states;
        if (output_hidden_states) states = encoder_.hidden_states(g, x, options);
        const auto last = output_hidden_states ? states.back() : encoder_.forward(g, x, options);
        return {last, tanh(pooler_.forward(g, pool_cls(last))), std::move(states)};
    }

    // pooler_output, the model's own sentence vector (sentence-transformers pools
    // last_hidden_state instead).
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const {
        return forward(g, text).pooler_output;
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        embeddings_.for_each_parameter(f);
        encoder_.for_each_parameter(f);
        relative_attention_bias_.for_each_parameter(f);
        pooler_.for_each_parameter(f);
    }

    const io::MPNetConfig& config() const { return config_; }

private:
    io::MPNetConfig config_;
    BertEmbeddings<B, T> embeddings_;
    TransformerStack<PostLNBlock<B, T>> encoder_;
    Embedding<B, T> relative_attention_bias_;
    Linear<B, T> pooler_;
};

// transformers.MPNetModel (with its pooler): owns its parameters, named without prefix;
// from_pretrained also reads checkpoints whose names carry "mpnet." (a task model's),
// reporting their heads as unexpected.
template <Backend B, Scalar T>
class MPNetModel : public PretrainedModel<MPNetModel<B, T>, B, T, io::MPNetConfig> {
    using Base = PretrainedModel<MPNetModel<B, T>, B, T, io::MPNetConfig>;

public:
    static constexpr const char* architecture = "MPNetModel";
    static constexpr const char* base_model_prefix = "mpnet";

    explicit MPNetModel(const io::MPNetConfig& config)
        : Base(config), mpnet_(*this->store_, Scope(), config) {}

    BertOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                             bool output_hidden_states = false) const {
        return mpnet_.forward(g, text, output_hidden_states);
    }
    // pooler_output [batch, hidden].
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const { return mpnet_.encode(g, text); }

    template <class F>
    void for_each_parameter(F&& f) const {
        mpnet_.for_each_parameter(f);
    }

private:
    MPNetTower<B, T> mpnet_;
};

}  // namespace tandem
