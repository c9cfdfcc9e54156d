// Transformer encoder blocks and stacks. Pre-LN (CLIP, SigLIP, ViT):
//   h = x + attn(ln1(x)); y = h + mlp(ln2(h)).
// Post-LN (BERT, RoBERTa, DistilBERT, MPNet): h = ln1(x + dropout(attn(x)));
// y = ln2(h + dropout(ffn(h))), optionally with a cross-attention sublayer between the two
// (BertLayer's add_cross_attention). In train mode attention probabilities are dropped in
// both; eval mode drops nothing.
// reference: transformers CLIPEncoderLayer, SiglipEncoderLayer, ViltLayer, BertLayer, DistilBERT's
// TransformerBlock, MPNetLayer, BlipTextLayer.
#pragma once

#include <tandem/autograd/ops/embedding.hpp>
#include <tandem/nn/attention.hpp>
#include <tandem/nn/layer_norm.hpp>
#include <tandem/nn/mlp.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tandem {

struct TransformerSizes {
    index_t hidden, heads, intermediate;
    Activation activation;
    double layer_norm_eps;
    // Train-mode dropout probabilities: of the attention weights (HF attention_dropout,
    // BERT's attention_probs_dropout_prob), and of the attention and feed-forward outputs
    // before their residual adds (BERT's hidden_dropout_prob; CLIP and SigLIP have none).
    double attention_dropout = 0;
    double hidden_dropout = 0;
    // Width of the tokens a post-LN block cross-attends to (BertLayer with
    // add_cross_attention; BLIP's text layers over the image tokens); 0: no cross-attention.
    index_t cross_attention_width = 0;
};

// Where a pre-LN block's parameters live under its scope. The defaults are CLIP's and
// SigLIP's: layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2; ViLT
// (a ViT with BERT's names) has its own.
struct PreLNLayout {
    std::string layer_norm1 = "layer_norm1";
    std::string attention = "self_attn";
    AttentionNames attention_names{};
    std::string layer_norm2 = "layer_norm2";
    MlpNames mlp_names{"mlp.fc1", "mlp.fc2"};
};

template <Backend B, Scalar T>
class PreLNBlock {
public:
    using backend_type = B;
    using value_type = T;

    PreLNBlock(ParameterStore<B, T>& store, const Scope& scope, const TransformerSizes& s,
               const PreLNLayout& layout = {})
        : layer_norm1_(store, scope / layout.layer_norm1, s.hidden, s.layer_norm_eps),
          self_attn_(store, scope / layout.attention, s.hidden, s.heads, layout.attention_names, 0,
                     s.attention_dropout),
          layer_norm2_(store, scope / layout.layer_norm2, s.hidden, s.layer_norm_eps),
          mlp_(store, scope, s.hidden, s.intermediate, s.activation, layout.mlp_names),
          hidden_dropout_(T(s.hidden_dropout)) {}

    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x, const AttentionOptions<B, T>& options = {}) const {
        auto attended = self_attn_.forward(g, layer_norm1_.forward(g, x), options);
        auto h = add(x, dropout(attended, hidden_dropout_));
        return add(h, dropout(mlp_.forward(g, layer_norm2_.forward(g, h)), hidden_dropout_));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        self_attn_.for_each_parameter(f);
        layer_norm1_.for_each_parameter(f);
        mlp_.for_each_parameter(f);
        layer_norm2_.for_each_parameter(f);
    }

private:
    LayerNorm<B, T> layer_norm1_;
    MultiHeadAttention<B, T> self_attn_;
    LayerNorm<B, T> layer_norm2_;
    Mlp<B, T> mlp_;
    // Of the attention and MLP outputs before their residual adds (ViLT's
    // hidden_dropout_prob; CLIP and SigLIP have none).
    T hidden_dropout_;
};

// Where a post-LN block's parameters live under its scope, and whether the attention
// output is dropped before its residual add. The defaults are BERT's (RoBERTa's and
// XLM-R's too): attention.self.{query,key,value}, attention.output.{dense,LayerNorm},
// intermediate.dense, output.{dense,LayerNorm}; DistilBERT and MPNet name the same
// pieces otherwise, and DistilBERT drops only the feed-forward output.
struct PostLNLayout {
    std::string attention = "attention";
    AttentionNames attention_names{"self.query", "self.key", "self.value", "output.dense"};
    std::string attention_norm = "attention.output.LayerNorm";
    // The cross-attention sublayer's, when TransformerSizes asks for one.
    std::string cross_attention = "crossattention";
    AttentionNames cross_attention_names{"self.query", "self.key", "self.value", "output.dense"};
    std::string cross_attention_norm = "crossattention.output.LayerNorm";
    std::string intermediate = "intermediate.dense";
    std::string output = "output.dense";
    std::string output_norm = "output.LayerNorm";
    bool drop_attention_output = true;
};

template <Backend B, Scalar T>
class PostLNBlock {
public:
    using backend_type = B;
    using value_type = T;

    PostLNBlock(ParameterStore<B, T>& store, const Scope& scope, const TransformerSizes& s,
                const PostLNLayout& layout = {})
        : attention_(store, scope / layout.attention, s.hidden, s.heads, layout.attention_names, 0,
                     s.attention_dropout),
          attention_norm_(store, scope / layout.attention_norm, s.hidden, s.layer_norm_eps),
          cross_attention_(s.cross_attention_width > 0
                               ? std::optional<MultiHeadAttention<B, T>>(
                                     std::in_place, store, scope / layout.cross_attention, s.hidden, s.heads,
                                     layout.cross_attention_names, s.cross_attention_width,
                                     s.attention_dropout)
                               : std::nullopt),
          cross_attention_norm_(s.cross_attention_width > 0
                                    ? std::optional<LayerNorm<B, T>>(std::in_place, store,
                                                                     scope / layout.cross_attention_norm,
                                                                     s.hidden, s.layer_norm_eps)
                                    : std::nullopt),
          intermediate_(store, scope / layout.intermediate, s.hidden, s.intermediate),
          output_(store, scope / layout.output, s.intermediate, s.hidden),
          output_norm_(store, scope / layout.output_norm, s.hidden, s.layer_norm_eps),
          activation_(s.activation),
          attention_output_dropout_(T(layout.drop_attention_output ? s.hidden_dropout : 0)),
          hidden_dropout_(T(s.hidden_dropout)) {}

    // Without memory the cross-attention sublayer, if any, is skipped (as BertLayer without
    // encoder_hidden_states).
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x, const AttentionOptions<B, T>& options = {}) const {
        return feed_forward(g, self_attend(g, x, options));
    }

    // With cross-attention between self-attention and the feed-forward:
    // h = ln(h + dropout(attn(h, memory))); memory [B, Tm, cross_attention_width].
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x, const AttentionOptions<B, T>& options,
                      const Var<B, T>& memory, const AttentionOptions<B, T>& memory_options) const {
        if (!cross_attention_)
            detail::throw_error("PostLNBlock: given tokens to cross-attend to, but built without ",
                                "cross-attention (cross_attention_width 0)");
        const auto h = self_attend(g, x, options);
        auto crossed =
            dropout(cross_attention_->forward(g, h, memory, memory_options), attention_output_dropout_);
        return feed_forward(g, cross_attention_norm_->forward(g, add(h, crossed)));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        attention_.for_each_parameter(f);
        attention_norm_.for_each_parameter(f);
        if (cross_attention_) {
            cross_attention_->for_each_parameter(f);
            cross_attention_norm_->for_each_parameter(f);
        }
        intermediate_.for_each_parameter(f);
        output_.for_each_parameter(f);
        output_norm_.for_each_parameter(f);
    }

private:
    Var<B, T> self_attend(Graph<B, T>& g, const Var<B, T>& x, const AttentionOptions<B, T>& options) const {
        auto attended = dropout(attention_.forward(g, x, options), attention_output_dropout_);
        return attention_norm_.forward(g, add(x, attended));
    }

    Var<B, T> feed_forward(Graph<B, T>& g, const Var<B, T>& h) const {
        auto ffn = output_.forward(g, activate(activation_, intermediate_.forward(g, h)));
        return output_norm_.forward(g, add(h, dropout(ffn, hidden_dropout_)));
    }

    MultiHeadAttention<B, T> attention_;
    LayerNorm<B, T> attention_norm_;
    std::optional<MultiHeadAttention<B, T>> cross_attention_;
    std::optional<LayerNorm<B, T>> cross_attention_norm_;
    Linear<B, T> intermediate_, output_;
    LayerNorm<B, T> output_norm_;
    Activation activation_;
    // Of the attention output (0 where the layout keeps it) and of the feed-forward output.
    T attention_output_dropout_, hidden_dropout_;
};

// `layers` blocks named scope.0, scope.1, ... applied in order; `args` (a block's
// layout) go to every block.
template <class Block>
class TransformerStack {
public:
    using backend_type = typename Block::backend_type;
    using value_type = typename Block::value_type;
    using B = backend_type;
    using T = value_type;

    template <class... Args>
    TransformerStack(ParameterStore<B, T>& store, const Scope& scope, index_t layers,
                     const TransformerSizes& s, const Args&... args) {
        blocks_.reserve(static_cast<std::size_t>(layers));
        for (index_t i = 0; i < layers; ++i) blocks_.emplace_back(store, scope / int(i), s, args...);
    }

    Var<B, T> forward(Graph<B, T>& g, Var<B, T> x, const AttentionOptions<B, T>& options = {}) const {
        for (const auto& block : blocks_) x = block.forward(g, x, options);
        return x;
    }

    // Every block also cross-attends to the same `memory` (BLIP's text encoder over the
    // image tokens).
    Var<B, T> forward(Graph<B, T>& g, Var<B, T> x, const AttentionOptions<B, T>& options,
                      const Var<B, T>& memory, const AttentionOptions<B, T>& memory_options) const {
        for (const auto& block : blocks_) x = block.forward(g, x, options, memory, memory_options);
        return x;
    }

    // Hugging Face's output_hidden_states: the input, then every block's output; the last
    // is forward's result. Keeping them all holds every block's activations, so only a
    // caller that reads them (a layerwise loss) asks.
    std::vector<Var<B, T>> hidden_states(Graph<B, T>& g, Var<B, T> x,
                                         const AttentionOptions<B, T>& options = {}) const {
        std::vector<Var<B, T>> states{x};
        states.reserve(blocks_.size() + 1);
        for (const auto& block : blocks_) states.push_back(block.forward(g, states.back(), options));
        return states;
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        for (const auto& block : blocks_) block.for_each_parameter(f);
    }

private:
    std::vector<Block> blocks_;
};

}  // namespace tandem
