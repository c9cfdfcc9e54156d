// Hugging Face BLIP for image-text retrieval: a ViT image tower, a BERT-style text encoder
// whose layers cross-attend to the image tokens, and the two heads one checkpoint serves,
// ITM (a 2-way match classifier over the cross-attending text, a reranker) and ITC (cosine
// of projected class tokens, a bi-encoder). Names and numerics follow transformers 4.36
// (see shared/data/models/README.md).
// reference: transformers BlipVisionModel, BlipTextModel, BlipForImageTextRetrieval.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/io/hf_config.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/nn.hpp>

namespace tandem {

namespace detail {
inline TransformerSizes blip_vision_sizes(const io::BlipVisionConfig& c) {
    return {c.hidden_size,
            c.num_attention_heads,
            c.intermediate_size,
            activation_from_name(c.hidden_act),
            c.layer_norm_eps,
            c.attention_dropout,
            0.0};
}

// is_decoder (the config's, not the forward's) is what gives BlipTextLayer its
// cross-attention.
inline TransformerSizes blip_text_sizes(const io::BlipTextConfig& c) {
    return {c.hidden_size,         c.num_attention_heads,
            c.intermediate_size,   activation_from_name(c.hidden_act),
            c.layer_norm_eps,      c.attention_probs_dropout_prob,
            c.hidden_dropout_prob, c.is_decoder ? c.encoder_hidden_size : 0};
}
}  // namespace detail

// "vision_model.*": patch convolution with bias, class token first, learned positions, no
// pre-LayerNorm, pre-LN layers with a fused qkv, post_layernorm on every token.
template <Backend B, Scalar T>
class BlipVisionModel {
public:
    using backend_type = B;
    using value_type = T;

    BlipVisionModel(ParameterStore<B, T>& store, const io::BlipVisionConfig& c, const Scope& scope)
        : store_(&store),
          class_embedding_(
              store.add((scope / "embeddings" / "class_embedding").str(), {1, 1, c.hidden_size})),
          patch_embedding_(store, scope / "embeddings" / "patch_embedding", c.num_channels, c.patch_size,
                           c.hidden_size, true),
          position_embedding_(store.add((scope / "embeddings" / "position_embedding").str(),
                                        {1, c.num_patches() + 1, c.hidden_size})),
          encoder_(store, scope / "encoder" / "layers", c.num_hidden_layers, detail::blip_vision_sizes(c),
                   PreLNLayout{.attention_names = {.output = "projection", .fused_qkv = "qkv"}}),
          post_layernorm_(store, scope / "post_layernorm", c.hidden_size, c.layer_norm_eps) {}

    // pixel_values [batch, 3, image_size, image_size] -> [batch, 1 + patches, hidden] after
    // post_layernorm (HF's last_hidden_state; its pooler_output, post_layernorm applied
    // again to token 0, is not used for retrieval).
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        auto patches = patch_embedding_.forward(g, pixel_values);
        const Shape& s = patches.shape();
        const Shape& positions = store_->shape(position_embedding_);
        if (s[1] + 1 != positions[1])
            detail::throw_error("BlipVisionModel: ", s[1], " patches do not match ", positions[1] - 1,
                                " positions (is image_size right?)");
        auto cls = add(g.input(Tensor<B, T>::zeros({s[0], 1, s[2]})),
                       reshape(g.parameter(*store_, class_embedding_), {s[2]}));
        auto x = add(concat<B, T>({cls, patches}, 1),
                     reshape(g.parameter(*store_, position_embedding_), {positions[1], s[2]}));
        return post_layernorm_.forward(g, encoder_.forward(g, x));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        f(store_->name(class_embedding_), class_embedding_);
        patch_embedding_.for_each_parameter(f);
        f(store_->name(position_embedding_), position_embedding_);
        encoder_.for_each_parameter(f);
        post_layernorm_.for_each_parameter(f);
    }

private:
    ParameterStore<B, T>* store_;
    Parameter class_embedding_;
    PatchEmbedding<B, T> patch_embedding_;
    Parameter position_embedding_;
    TransformerStack<PreLNBlock<B, T>> encoder_;
    LayerNorm<B, T> post_layernorm_;
};

// "text_encoder.*" (BlipTextModel without its pooler): BERT embeddings without token types
// and post-LN layers, each with a cross-attention sublayer that runs only when image tokens
// are given. The self-attention mask is HF's (1 - mask) * -10000: padded keys get weight 0
// either way, as with finfo.min, for any row with a real token.
template <Backend B, Scalar T>
class BlipTextModel {
public:
    using backend_type = B;
    using value_type = T;

    BlipTextModel(ParameterStore<B, T>& store, const io::BlipTextConfig& c, const Scope& scope)
        : embeddings_(store, scope / "embeddings",
                      BertEmbeddingOptions{.vocab_size = c.vocab_size,
                                           .hidden_size = c.hidden_size,
                                           .max_position_embeddings = c.max_position_embeddings,
                                           .type_vocab_size = 0,
                                           .layer_norm_eps = c.layer_norm_eps,
                                           .dropout = c.hidden_dropout_prob,
                                           .pad_token_id = c.pad_token_id,
                                           .model = "BlipTextModel"}),
          encoder_(store, scope / "encoder" / "layer", c.num_hidden_layers, detail::blip_text_sizes(c)) {}

    // Text alone (the ITC path): [batch, tokens, hidden].
    Var<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text) const {
        text.check("BlipTextModel");
        return encoder_.forward(g, embeddings_.forward(g, text), attention_options<B, T>(text, false));
    }

    // Text cross-attending to image_embeds [batch, image tokens, encoder_hidden_size], every
    // image token valid (the ITM path).
    Var<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text, const Var<B, T>& image_embeds) const {
        text.check("BlipTextModel");
        return encoder_.forward(g, embeddings_.forward(g, text), attention_options<B, T>(text, false),
                                image_embeds, AttentionOptions<B, T>{});
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        embeddings_.for_each_parameter(f);
        encoder_.for_each_parameter(f);
    }

private:
    BertEmbeddings<B, T> embeddings_;
    TransformerStack<PostLNBlock<B, T>> encoder_;
};

// ITM's 2-way logits [batch, 2] as one reranker logit per pair, itm[:, 1] - itm[:, 0]
// [batch]: its sigmoid is the match probability softmax(itm)[:, 1], and BCE-with-logits on
// it equals the ITM cross-entropy.
template <Backend B, Scalar T>
Var<B, T> itm_match_logit(const Var<B, T>& itm_logits) {
    if (itm_logits.shape().rank() != 2 || itm_logits.shape()[1] != 2)
        detail::throw_error("itm_match_logit: expected ITM logits [batch, 2], found ",
                            itm_logits.shape().str());
    return reshape(sub(slice(itm_logits, 1, 1, 2), slice(itm_logits, 1, 0, 1)), {itm_logits.shape()[0]});
}

template <Backend B, Scalar T>
struct BlipRetrievalOutput {
    // ITM: [batch, 2] match logits (column 0 no match, column 1 match) of pair (image i,
    // text i). ITC: [images, texts] cosine similarities, no temperature.
    Var<B, T> itm_score;
    Var<B, T> vision_last_hidden_state;  // [batch, 1 + patches, vision hidden], after post_layernorm
    // The text encoder's output, [batch, tokens, text hidden]: cross-attending to the image
    // (ITM) or alone (ITC).
    Var<B, T> question_embeds;
    // ITC only: the normalised projections of the image class token and the text [CLS],
    // [batch, image_text_hidden_size].
    Var<B, T> image_feat{}, text_feat{};
};

// transformers.BlipForImageTextRetrieval: owns its parameters; from_pretrained /
// save_pretrained read and write a Hugging Face folder. As HF, input_ids go to the text
// encoder unchanged on both paths (the original BLIP code puts an [ENC] token at position
// 0 for ITM; HF keeps [CLS]), and both heads read position 0.
template <Backend B, Scalar T>
class BlipForImageTextRetrieval
    : public PretrainedModel<BlipForImageTextRetrieval<B, T>, B, T, io::BlipConfig> {
    using Base = PretrainedModel<BlipForImageTextRetrieval<B, T>, B, T, io::BlipConfig>;

public:
    static constexpr const char* architecture = "BlipForImageTextRetrieval";

    explicit BlipForImageTextRetrieval(const io::BlipConfig& config)
        : Base(config),
          vision_model_(*this->store_, config.vision_config, Scope("vision_model")),
          text_encoder_(*this->store_, config.text_config, Scope("text_encoder")),
          vision_proj_(*this->store_, Scope("vision_proj"), config.vision_config.hidden_size,
                       config.image_text_hidden_size),
          text_proj_(*this->store_, Scope("text_proj"), config.text_config.hidden_size,
                     config.image_text_hidden_size),
          itm_head_(*this->store_, Scope("itm_head"), config.text_config.hidden_size, 2) {}

    // HF's forward(input_ids, pixel_values, use_itm_head, attention_mask). ITM scores pair
    // (image i, text i); ITC scores every image against every text.
    BlipRetrievalOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text, const Var<B, T>& pixel_values,
                                      bool use_itm_head = true) const {
        auto image_embeds = vision_model_.forward(g, pixel_values);
        if (use_itm_head) {
            if (text.batch() != pixel_values.shape()[0])
                detail::throw_error("BlipForImageTextRetrieval: ITM scores text i against image i; found ",
                                    text.batch(), " texts and ", pixel_values.shape()[0], " images");
            auto question = text_encoder_.forward(g, text, image_embeds);
            return {itm_head_.forward(g, pool_cls(question)), image_embeds, question};
        }
        auto question = text_encoder_.forward(g, text);
        auto image_feat = image_features(g, image_embeds);
        auto text_feat = text_features(g, question);
        return {matmul(image_feat, text_feat, false, true), image_embeds, question, image_feat, text_feat};
    }

    // itm_match_logit of the ITM forward: one reranker logit per pair [batch].
    Var<B, T> match_logits(Graph<B, T>& g, const TextBatch<B>& text, const Var<B, T>& pixel_values) const {
        return itm_match_logit(forward(g, text, pixel_values, true).itm_score);
    }

    // The ITC embeddings, normalised [batch, image_text_hidden_size].
    Var<B, T> encode_image(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        return image_features(g, vision_model_.forward(g, pixel_values));
    }
    Var<B, T> encode_text(Graph<B, T>& g, const TextBatch<B>& text) const {
        return text_features(g, text_encoder_.forward(g, text));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        vision_model_.for_each_parameter(f);
        text_encoder_.for_each_parameter(f);
        vision_proj_.for_each_parameter(f);
        text_proj_.for_each_parameter(f);
        itm_head_.for_each_parameter(f);
    }

private:
    // F.normalize(proj(states[:, 0])), x / max(||x||, 1e-12).
    Var<B, T> image_features(Graph<B, T>& g, const Var<B, T>& image_embeds) const {
        return l2_normalize(vision_proj_.forward(g, pool_cls(image_embeds)));
    }
    Var<B, T> text_features(Graph<B, T>& g, const Var<B, T>& question_embeds) const {
        return l2_normalize(text_proj_.forward(g, pool_cls(question_embeds)));
    }

    BlipVisionModel<B, T> vision_model_;
    BlipTextModel<B, T> text_encoder_;
    Linear<B, T> vision_proj_, text_proj_, itm_head_;
};

}  // namespace tandem
