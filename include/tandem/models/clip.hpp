// Hugging Face CLIP: the text and vision transformers, their projections, and
// CLIPModel joining them with a learned temperature. Parameter names, pooling rules
// and masks follow transformers 4.36 (see shared/data/models/README.md).
// reference: transformers CLIPTextTransformer, CLIPVisionTransformer, CLIPModel.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/io/hf_config.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/nn.hpp>

namespace tandem {

template <Backend B, Scalar T>
struct EncoderOutput {
    Var<B, T> last_hidden_state;  // [batch, tokens, hidden]
    Var<B, T> pooled;             // [batch, hidden]
    Var<B, T> embeds;             // [batch, projection_dim], unnormalised
};

namespace detail {
// CLIP and SigLIP drop only attention probabilities (attention_dropout), in train mode.
inline TransformerSizes sizes_of(const auto& c) {
    return {c.hidden_size,
            c.num_attention_heads,
            c.intermediate_size,
            activation_from_name(c.hidden_act),
            c.layer_norm_eps,
            c.attention_dropout,
            0.0};
}

// HF CLIP text pooling: argmax(input_ids) when eos_token_id == 2 (old configs),
// otherwise the first position holding eos_token_id.
template <Backend B>
Ids<B> clip_eos_positions(const TextBatch<B>& text, std::int64_t eos_token_id) {
    auto positions = Ids<B>::empty({text.batch()});
    if (eos_token_id == 2) {
        B::argmax_rows(positions.data(), text.input_ids.data(), text.batch(), text.length());
    } else {
        B::find_in_rows(positions.data(), text.input_ids.data(), text.batch(), text.length(), eos_token_id);
        if (index_range<B>(positions).min < 0)
            throw_error("CLIP text pooling: a row of input_ids holds no eos_token_id ", eos_token_id);
    }
    return positions;
}
}  // namespace detail

// Token embedding plus learned absolute positions 0..length-1, as HF's
// CLIPTextEmbeddings (SigLIP's text embeddings are the same, with the same names).
template <Backend B, Scalar T>
class CLIPTextEmbeddings {
public:
    using backend_type = B;
    using value_type = T;

    CLIPTextEmbeddings(ParameterStore<B, T>& store, const Scope& scope, index_t vocab_size,
                       index_t max_positions, index_t hidden_size)
        : token_embedding_(store, scope / "token_embedding", vocab_size, hidden_size),
          position_embedding_(store, scope / "position_embedding", max_positions, hidden_size) {}

    Var<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text) const {
        const index_t max_positions = position_embedding_.num_embeddings();
        if (text.length() > max_positions)
            detail::throw_error("text embeddings: sequence length ", text.length(),
                                " exceeds max_position_embeddings ", max_positions);
        return add(token_embedding_.forward(g, text.input_ids),
                   position_embedding_.first_rows(g, text.length()));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        token_embedding_.for_each_parameter(f);
        position_embedding_.for_each_parameter(f);
    }

private:
    Embedding<B, T> token_embedding_, position_embedding_;
};

// "text_model.*" + "text_projection.weight": CLIPTextModelWithProjection, under `scope`
// (none by default; another model nests the tower under its own prefix).
template <Backend B, Scalar T>
class CLIPTextModelWithProjection {
public:
    using backend_type = B;
    using value_type = T;

    CLIPTextModelWithProjection(ParameterStore<B, T>& store, const io::CLIPTextConfig& c,
                                std::int64_t projection_dim, const Scope& scope = {})
        : config_(c),
          embeddings_(store, scope / "text_model" / "embeddings", c.vocab_size, c.max_position_embeddings,
                      c.hidden_size),
          encoder_(store, scope / "text_model" / "encoder" / "layers", c.num_hidden_layers,
                   detail::sizes_of(c)),
          final_layer_norm_(store, scope / "text_model" / "final_layer_norm", c.hidden_size,
                            c.layer_norm_eps),
          text_projection_(store, scope / "text_projection", c.hidden_size, projection_dim, false) {}

    EncoderOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text) const {
        text.check("CLIPTextModel");
        auto x = embeddings_.forward(g, text);
        const auto options = attention_options<B, T>(text, true);
        auto last = final_layer_norm_.forward(g, encoder_.forward(g, x, options));
        auto pooled = pool_at(last, detail::clip_eos_positions(text, config_.eos_token_id.value_or(2)));
        return {last, pooled, text_projection_.forward(g, pooled)};
    }

    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const { return forward(g, text).embeds; }

    template <class F>
    void for_each_parameter(F&& f) const {
        embeddings_.for_each_parameter(f);
        encoder_.for_each_parameter(f);
        final_layer_norm_.for_each_parameter(f);
        text_projection_.for_each_parameter(f);
    }

private:
    io::CLIPTextConfig config_;
    CLIPTextEmbeddings<B, T> embeddings_;
    TransformerStack<PreLNBlock<B, T>> encoder_;
    LayerNorm<B, T> final_layer_norm_;
    Linear<B, T> text_projection_;
};

// "vision_model.*" + "visual_projection.weight": CLIPVisionModelWithProjection, under
// `scope` (none by default).
template <Backend B, Scalar T>
class CLIPVisionModelWithProjection {
public:
    using backend_type = B;
    using value_type = T;

    CLIPVisionModelWithProjection(ParameterStore<B, T>& store, const io::CLIPVisionConfig& c,
                                  std::int64_t projection_dim, const Scope& scope = {})
        : store_(&store),
          class_embedding_(
              store.add((scope / "vision_model" / "embeddings" / "class_embedding").str(), {c.hidden_size})),
          patch_embedding_(store, scope / "vision_model" / "embeddings" / "patch_embedding", c.num_channels,
                           c.patch_size, c.hidden_size, false),
          position_embedding_(store, scope / "vision_model" / "embeddings" / "position_embedding",
                              c.num_patches() + 1, c.hidden_size),
          pre_layrnorm_(store, scope / "vision_model" / "pre_layrnorm", c.hidden_size, c.layer_norm_eps),
          encoder_(store, scope / "vision_model" / "encoder" / "layers", c.num_hidden_layers,
                   detail::sizes_of(c)),
          post_layernorm_(store, scope / "vision_model" / "post_layernorm", c.hidden_size, c.layer_norm_eps),
          visual_projection_(store, scope / "visual_projection", c.hidden_size, projection_dim, false) {}

    // pixel_values [batch, channels, image_size, image_size]. last_hidden_state is the
    // encoder output before post_layernorm; pooled = post_layernorm(class token).
    EncoderOutput<B, T> forward(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        auto patches = patch_embedding_.forward(g, pixel_values);
        const Shape& s = patches.shape();
        if (s[1] + 1 != position_embedding_.num_embeddings())
            detail::throw_error("CLIPVisionModel: ", s[1], " patches do not match ",
                                position_embedding_.num_embeddings() - 1,
                                " positions (is image_size right?)");
        auto cls = add(g.input(Tensor<B, T>::zeros({s[0], 1, s[2]})), g.parameter(*store_, class_embedding_));
        auto x = add(concat<B, T>({cls, patches}, 1), position_embedding_.weight(g));
        auto last = encoder_.forward(g, pre_layrnorm_.forward(g, x));
        auto pooled = post_layernorm_.forward(g, pool_cls(last));
        return {last, pooled, visual_projection_.forward(g, pooled)};
    }

    Var<B, T> encode(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        return forward(g, pixel_values).embeds;
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        f(store_->name(class_embedding_), class_embedding_);
        patch_embedding_.for_each_parameter(f);
        position_embedding_.for_each_parameter(f);
        pre_layrnorm_.for_each_parameter(f);
        encoder_.for_each_parameter(f);
        post_layernorm_.for_each_parameter(f);
        visual_projection_.for_each_parameter(f);
    }

private:
    ParameterStore<B, T>* store_;
    Parameter class_embedding_;
    PatchEmbedding<B, T> patch_embedding_;
    Embedding<B, T> position_embedding_;
    LayerNorm<B, T> pre_layrnorm_;
    TransformerStack<PreLNBlock<B, T>> encoder_;
    LayerNorm<B, T> post_layernorm_;
    Linear<B, T> visual_projection_;
};

template <Backend B, Scalar T>
struct CLIPOutput {
    EncoderOutput<B, T> text, vision;
    Var<B, T> logits_per_text;   // [texts, images]
    Var<B, T> logits_per_image;  // [images, texts]
};

// transformers.CLIPModel: owns its parameters; from_pretrained / save_pretrained read
// and write a Hugging Face folder (config.json + model.safetensors).
template <Backend B, Scalar T>
class CLIPModel : public PretrainedModel<CLIPModel<B, T>, B, T, io::CLIPConfig> {
    using Base = PretrainedModel<CLIPModel<B, T>, B, T, io::CLIPConfig>;

public:
    using TextTower = CLIPTextModelWithProjection<B, T>;
    using VisionTower = CLIPVisionModelWithProjection<B, T>;
    using Encoder = DualEncoder<TextTower, VisionTower, TextBatch<B>, Var<B, T>>;
    static constexpr const char* architecture = "CLIPModel";

    explicit CLIPModel(const io::CLIPConfig& config)
        : Base(config),
          encoder_(*this->store_, TextTower(*this->store_, config.text_config, config.projection_dim),
                   VisionTower(*this->store_, config.vision_config, config.projection_dim),
                   LogitHead{.scale_is_scalar = true, .scale_init = config.logit_scale_init_value}) {}

    CLIPOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text, const Var<B, T>& pixel_values) const {
        auto t = encoder_.text_tower().forward(g, text);
        auto v = encoder_.image_tower().forward(g, pixel_values);
        auto logits = encoder_.logits_per_text(g, t.embeds, v.embeds);
        return {t, v, logits, permute(logits, {1, 0})};
    }

    // CLIPModel.get_text_features / get_image_features: unnormalised embeddings.
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
    Encoder encoder_;
};

// A whole transformers.CLIPModel under `scope`, read for its images only: what
// sentence-transformers builds for a CLIP image route, a Transformer module over a
// CLIPModel with modality_config {"image": get_image_features}, since a Transformer over a
// CLIPVisionModelWithProjection folder loads CLIPVisionModel and drops the projection. The
// text tower and logit_scale are kept so that the route's folder saves back whole. Nothing
// is initialised here: that would lay out the store, which the other route still adds to.
template <Backend B, Scalar T>
class CLIPImageTower {
public:
    using backend_type = B;
    using value_type = T;
    static constexpr const char* architecture = "CLIPModel";

    CLIPImageTower(ParameterStore<B, T>& store, const io::CLIPConfig& config, const Scope& scope)
        : store_(&store),
          config_(config),
          text_(store, config.text_config, config.projection_dim, scope),
          vision_(store, config.vision_config, config.projection_dim, scope),
          logit_scale_(store.add((scope / "logit_scale").str(), Shape{})) {}

    const io::CLIPConfig& config() const { return config_; }
    EncoderOutput<B, T> forward(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        return vision_.forward(g, pixel_values);
    }
    // CLIPModel.get_image_features.
    Var<B, T> encode(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        return vision_.encode(g, pixel_values);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        text_.for_each_parameter(f);
        vision_.for_each_parameter(f);
        f(store_->name(logit_scale_), logit_scale_);
    }

private:
    ParameterStore<B, T>* store_;
    io::CLIPConfig config_;
    CLIPTextModelWithProjection<B, T> text_;
    CLIPVisionModelWithProjection<B, T> vision_;
    Parameter logit_scale_;
};

}  // namespace tandem
