// Hugging Face SigLIP: the bidirectional text transformer pooled at its last position,
// the patch-only vision transformer pooled by attention probe (MAP), and SiglipModel
// joining them with a learned scale and bias for the sigmoid loss (transformers 4.43).
// reference: transformers SiglipTextTransformer, SiglipVisionTransformer, SiglipModel.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/io/hf_config.hpp>
#include <tandem/models/clip.hpp>  // EncoderOutput and detail::sizes_of, shared with CLIP
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/nn.hpp>

#include <optional>

namespace tandem {

// "text_model.*" under `scope` (none by default): SiglipTextModel. pooled = head(final_layer_norm(x)[:, -1]),
// which is get_text_features; SigLIP has no separate projection, so embeds is the same Var.
template <Backend B, Scalar T>
class SiglipTextModel {
public:
    using backend_type = B;
    using value_type = T;

    SiglipTextModel(ParameterStore<B, T>& store, const io::SiglipTextConfig& c, const Scope& scope = {})
        : embeddings_(store, scope / "text_model" / "embeddings", c.vocab_size, c.max_position_embeddings,
                      c.hidden_size),
          encoder_(store, scope / "text_model" / "encoder" / "layers", c.num_hidden_layers,
                   detail::sizes_of(c)),
          final_layer_norm_(store, scope / "text_model" / "final_layer_norm", c.hidden_size,
                            c.layer_norm_eps),
          head_(store, scope / "text_model" / "head", c.hidden_size, c.head_size()) {}

    // Attention is bidirectional. SigLIP checkpoints are trained on texts padded to the
    // full context without a mask; a mask, when given, hides padded keys but pooling
    // still reads the last position, as in HF.
    EncoderOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text) const {
        text.check("SiglipTextModel");
        auto x = embeddings_.forward(g, text);
        const auto options = attention_options<B, T>(text, false);
        auto last = final_layer_norm_.forward(g, encoder_.forward(g, x, options));
        auto pooled = head_.forward(g, pool_last(last));
        return {last, pooled, pooled};
    }

    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const { return forward(g, text).embeds; }

    template <class F>
    void for_each_parameter(F&& f) const {
        embeddings_.for_each_parameter(f);
        encoder_.for_each_parameter(f);
        final_layer_norm_.for_each_parameter(f);
        head_.for_each_parameter(f);
    }

private:
    CLIPTextEmbeddings<B, T> embeddings_;
    TransformerStack<PreLNBlock<B, T>> encoder_;
    LayerNorm<B, T> final_layer_norm_;
    Linear<B, T> head_;
};

// "vision_model.*" under `scope` (none by default): SiglipVisionModel. Patch tokens only (no class token, no
// pre-LayerNorm); last_hidden_state is after post_layernorm, unlike CLIP's, and pooled
// is the MAP head over it (get_image_features), again with no projection after it.
template <Backend B, Scalar T>
class SiglipVisionModel {
public:
    using backend_type = B;
    using value_type = T;

    SiglipVisionModel(ParameterStore<B, T>& store, const io::SiglipVisionConfig& c, const Scope& scope = {})
        : patch_embedding_(store, scope / "vision_model" / "embeddings" / "patch_embedding", c.num_channels,
                           c.patch_size, c.hidden_size, true),
          position_embedding_(store, scope / "vision_model" / "embeddings" / "position_embedding",
                              c.num_patches(), c.hidden_size),
          encoder_(store, scope / "vision_model" / "encoder" / "layers", c.num_hidden_layers,
                   detail::sizes_of(c)),
          post_layernorm_(store, scope / "vision_model" / "post_layernorm", c.hidden_size, c.layer_norm_eps) {
        // vision_use_head = false (towers reused without pooling, e.g. by PaliGemma) has no
        // head parameters in the checkpoint, so none are registered.
        if (c.vision_use_head) head_.emplace(store, scope / "vision_model" / "head", detail::sizes_of(c));
    }

    bool has_head() const { return head_.has_value(); }

    // pixel_values [batch, channels, image_size, image_size]. Without a head, pooled and
    // embeds are left empty (HF returns pooler_output None).
    EncoderOutput<B, T> forward(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        auto patches = patch_embedding_.forward(g, pixel_values);
        if (patches.shape()[1] != position_embedding_.num_embeddings())
            detail::throw_error("SiglipVisionModel: ", patches.shape()[1], " patches do not match ",
                                position_embedding_.num_embeddings(), " positions (is image_size right?)");
        auto last =
            post_layernorm_.forward(g, encoder_.forward(g, add(patches, position_embedding_.weight(g))));
        if (!head_) return {last, {}, {}};
        auto pooled = head_->forward(g, last);
        return {last, pooled, pooled};
    }

    Var<B, T> encode(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        if (!head_)
            detail::throw_error("SiglipVisionModel::encode: the config sets vision_use_head = false, so ",
                                "there is no pooled embedding; use forward(...).last_hidden_state");
        return forward(g, pixel_values).embeds;
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        patch_embedding_.for_each_parameter(f);
        position_embedding_.for_each_parameter(f);
        encoder_.for_each_parameter(f);
        post_layernorm_.for_each_parameter(f);
        if (head_) head_->for_each_parameter(f);
    }

private:
    PatchEmbedding<B, T> patch_embedding_;
    Embedding<B, T> position_embedding_;
    TransformerStack<PreLNBlock<B, T>> encoder_;
    LayerNorm<B, T> post_layernorm_;
    std::optional<MultiheadAttentionPoolingHead<B, T>> head_;
};

template <Backend B, Scalar T>
struct SiglipOutput {
    EncoderOutput<B, T> text, vision;
    // L2-normalised pooled outputs, as HF's SiglipOutput text_embeds / image_embeds.
    Var<B, T> text_embeds, image_embeds;
    Var<B, T> logits_per_text;   // [texts, images]
    Var<B, T> logits_per_image;  // [images, texts]
};

// transformers.SiglipModel: owns its parameters; from_pretrained / save_pretrained read
// and write a Hugging Face folder (config.json + model.safetensors). Train it with
// siglip_loss(g, output.logits_per_text).
template <Backend B, Scalar T>
class SiglipModel : public PretrainedModel<SiglipModel<B, T>, B, T, io::SiglipConfig> {
    using Base = PretrainedModel<SiglipModel<B, T>, B, T, io::SiglipConfig>;

public:
    using TextTower = SiglipTextModel<B, T>;
    using VisionTower = SiglipVisionModel<B, T>;
    using Encoder = DualEncoder<TextTower, VisionTower, TextBatch<B>, Var<B, T>>;
    static constexpr const char* architecture = "SiglipModel";

    // logit_scale and logit_bias have shape [1]; HF initialises both to 0.
    explicit SiglipModel(const io::SiglipConfig& config)
        : Base(checked(config)),
          encoder_(*this->store_, TextTower(*this->store_, config.text_config),
                   VisionTower(*this->store_, config.vision_config),
                   LogitHead{.scale_is_scalar = false, .scale_init = 0, .has_bias = true, .bias_init = 0}) {}

    SiglipOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                               const Var<B, T>& pixel_values) const {
        auto t = encoder_.text_tower().forward(g, text);
        auto v = encoder_.image_tower().forward(g, pixel_values);
        // logits_per_text normalises the pooled outputs itself; the normalised copies are
        // returned for callers (HF's outputs) and stay off the loss's gradient path.
        auto logits = encoder_.logits_per_text(g, t.embeds, v.embeds);
        return {t, v, l2_normalize(t.embeds), l2_normalize(v.embeds), logits, permute(logits, {1, 0})};
    }

    // SiglipModel.get_text_features / get_image_features: unnormalised pooled outputs.
    Var<B, T> encode_text(Graph<B, T>& g, const TextBatch<B>& text) const {
        return encoder_.encode_text(g, text);
    }
    Var<B, T> encode_image(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        return encoder_.encode_image(g, pixel_values);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        encoder_.for_each_parameter(f);
    }

private:
    // SiglipModel scores the MAP head's output; HF fails in forward without it, tandem at construction.
    static const io::SiglipConfig& checked(const io::SiglipConfig& config) {
        if (!config.vision_config.vision_use_head)
            detail::throw_error("SiglipModel: vision_config.vision_use_head is false, but the model ",
                                "needs the attention-pooling head for its image embeddings");
        return config;
    }

    Encoder encoder_;
};

}  // namespace tandem
