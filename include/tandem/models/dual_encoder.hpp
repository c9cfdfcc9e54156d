// DualEncoder: any text tower and any image tower, composed at compile time, scored
// by cosine similarity times a learned temperature (CLIP), plus a learned bias (SigLIP).
// reference: transformers CLIPModel / SiglipModel forward (logits part).
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/nn/init.hpp>
#include <tandem/nn/module.hpp>

#include <cmath>
#include <vector>

namespace tandem {

// Represents: a tower mapping a batch of one modality to embeddings [batch, dim].
template <class Tower, class Input>
concept EncoderTower = Module<Tower> &&
    requires(const Tower& t, Graph<typename Tower::backend_type, typename Tower::value_type>& g,
             const Input& in) {
    { t.encode(g, in) } -> std::same_as<Var<typename Tower::backend_type, typename Tower::value_type>>;
};

// Represents: a model with encode_text(graph, TextBatch) giving embeddings [batch, dim]
// (the text side of what the trainer trains, train/model_encoder.hpp).
template <class M>
concept TextEncoderModel = Module<M> &&
    requires(const M& m, Graph<typename M::backend_type, typename M::value_type>& g,
             const TextBatch<typename M::backend_type>& text) {
    { m.encode_text(g, text) } -> std::same_as<Var<typename M::backend_type, typename M::value_type>>;
};

// Represents: a model with encode_image(graph, pixel_values) giving embeddings [batch, dim].
template <class M>
concept ImageEncoderModel = Module<M> &&
    requires(const M& m, Graph<typename M::backend_type, typename M::value_type>& g,
             const Var<typename M::backend_type, typename M::value_type>& pixel_values) {
    {
        m.encode_image(g, pixel_values)
        } -> std::same_as<Var<typename M::backend_type, typename M::value_type>>;
};

// Represents: a model that also gives its text embeddings from every hidden state,
// encode_text_layers(graph, text) -> [layers] of [batch, dim], the last being encode_text's
// (a layerwise loss's input).
template <class M>
concept LayerwiseTextModel = TextEncoderModel<M> &&
    requires(const M& m, Graph<typename M::backend_type, typename M::value_type>& g,
             const TextBatch<typename M::backend_type>& text) {
    {
        m.encode_text_layers(g, text)
        } -> std::same_as<std::vector<Var<typename M::backend_type, typename M::value_type>>>;
};

// Represents: the same for images, encode_image_layers(graph, pixel_values).
template <class M>
concept LayerwiseImageModel = ImageEncoderModel<M> &&
    requires(const M& m, Graph<typename M::backend_type, typename M::value_type>& g,
             const Var<typename M::backend_type, typename M::value_type>& pixel_values) {
    {
        m.encode_image_layers(g, pixel_values)
        } -> std::same_as<std::vector<Var<typename M::backend_type, typename M::value_type>>>;
};

struct LogitHead {
    // CLIP stores logit_scale as a 0-d tensor, SigLIP as shape [1].
    bool scale_is_scalar = true;
    double scale_init = std::log(1 / 0.07);
    bool has_bias = false;
    double bias_init = 0;
};

namespace detail {
enum class DualEncoderFault { none, text_not_tower, image_not_tower, backends_differ, scalars_differ };

// The first rule a DualEncoder of these towers breaks, so that exactly one static_assert fires.
template <class TextTower, class ImageTower, class TextInput, class ImageInput>
consteval DualEncoderFault dual_encoder_fault() {
    if constexpr (!EncoderTower<TextTower, TextInput>)
        return DualEncoderFault::text_not_tower;
    else if constexpr (!EncoderTower<ImageTower, ImageInput>)
        return DualEncoderFault::image_not_tower;
    else if constexpr (!std::same_as<typename TextTower::backend_type, typename ImageTower::backend_type>)
        return DualEncoderFault::backends_differ;
    else if constexpr (!std::same_as<typename TextTower::value_type, typename ImageTower::value_type>)
        return DualEncoderFault::scalars_differ;
    else
        return DualEncoderFault::none;
}
}  // namespace detail

// Reached only when a rule is broken: it states the rule in one sentence.
template <class TextTower, class ImageTower, class TextInput, class ImageInput>
class DualEncoder {
    static constexpr auto fault = detail::dual_encoder_fault<TextTower, ImageTower, TextInput, ImageInput>();
    static_assert(
        fault != detail::DualEncoderFault::text_not_tower,
        "DualEncoder: the text tower must be an EncoderTower (encode(graph, TextInput) returning a Var)");
    static_assert(
        fault != detail::DualEncoderFault::image_not_tower,
        "DualEncoder: the image tower must be an EncoderTower (encode(graph, ImageInput) returning a "
        "Var)");
    static_assert(fault != detail::DualEncoderFault::backends_differ,
                  "DualEncoder: the text and image towers must use the same backend");
    static_assert(fault != detail::DualEncoderFault::scalars_differ,
                  "DualEncoder: the text and image towers must use the same scalar type");
};

template <class TextTower, class ImageTower, class TextInput, class ImageInput>
requires(detail::dual_encoder_fault<TextTower, ImageTower, TextInput, ImageInput>() ==
         detail::DualEncoderFault::none) class DualEncoder<TextTower, ImageTower, TextInput, ImageInput> {
public:
    using backend_type = typename TextTower::backend_type;
    using value_type = typename TextTower::value_type;
    using B = backend_type;
    using T = value_type;

    DualEncoder(ParameterStore<B, T>& store, TextTower text, ImageTower image, const LogitHead& head = {})
        : store_(&store),
          text_(std::move(text)),
          image_(std::move(image)),
          logit_scale_(store.add("logit_scale", head.scale_is_scalar ? Shape{} : Shape{1})),
          has_bias_(head.has_bias),
          head_(head) {
        if (has_bias_) logit_bias_ = store.add("logit_bias", {1});
    }

    const TextTower& text_tower() const { return text_; }
    const ImageTower& image_tower() const { return image_; }

    // Unnormalised embeddings [batch, dim].
    Var<B, T> encode_text(Graph<B, T>& g, const TextInput& text) const { return text_.encode(g, text); }
    Var<B, T> encode_image(Graph<B, T>& g, const ImageInput& image) const { return image_.encode(g, image); }

    // logits_per_text [texts, images] = exp(logit_scale) cos(text, image) (+ logit_bias).
    Var<B, T> logits_per_text(Graph<B, T>& g, const Var<B, T>& text_embeds,
                              const Var<B, T>& image_embeds) const {
        auto logits =
            mul(cosine_similarity(text_embeds, image_embeds), exp(g.parameter(*store_, logit_scale_)));
        return has_bias_ ? add(logits, g.parameter(*store_, logit_bias_)) : logits;
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        text_.for_each_parameter(f);
        image_.for_each_parameter(f);
        f(store_->name(logit_scale_), logit_scale_);
        if (has_bias_) f(store_->name(logit_bias_), logit_bias_);
    }

    void reset_logit_head() {
        init_constant(*store_, logit_scale_, head_.scale_init);
        if (has_bias_) init_constant(*store_, logit_bias_, head_.bias_init);
    }

private:
    ParameterStore<B, T>* store_;
    TextTower text_;
    ImageTower image_;
    Parameter logit_scale_, logit_bias_;
    bool has_bias_;
    LogitHead head_;
};

}  // namespace tandem
