// A CLIPModel initialised from scratch the way transformers initialises one
// (CLIPPreTrainedModel._init_weights with initializer_factor 1): the same distribution
// for each parameter, drawn from tandem's seeded generator.
// reference: transformers models/clip/modeling_clip.py, CLIPPreTrainedModel._init_weights.
#pragma once

#include <tandem/models/clip.hpp>
#include <tandem/nn/init.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace tandem {

template <Backend B, Scalar T>
void init_clip_weights(CLIPModel<B, T>& model, std::uint64_t seed) {
    const auto& c = model.config();
    auto& store = model.parameters();
    model.for_each_parameter([&](const std::string& name, Parameter p) {
        const bool vision = name.starts_with("vision_model.");
        const double width = vision ? double(c.vision_config.hidden_size) : double(c.text_config.hidden_size);
        const double layers =
            vision ? double(c.vision_config.num_hidden_layers) : double(c.text_config.num_hidden_layers);
        const double factor = c.initializer_factor;
        // Attention and MLP projections scale with the width and the depth of their tower.
        const double in_proj = std::pow(width, -0.5) * std::pow(2 * layers, -0.5) * factor;
        auto normal = [&](double std) { init_normal(store, p, std, seed); };
        if (name == "logit_scale")
            init_constant(store, p, c.logit_scale_init_value);
        else if (name.ends_with(".bias") || name.ends_with("_bias"))
            init_constant(store, p, 0);
        // layer_norm1/2, final_layer_norm, post_layernorm and transformers' "pre_layrnorm".
        else if (name.find("layer_norm") != std::string::npos ||
                 name.find("layernorm") != std::string::npos || name.find("layrnorm") != std::string::npos)
            init_constant(store, p, 1);
        else if (name.ends_with("token_embedding.weight") ||
                 name == "text_model.embeddings.position_embedding.weight")
            normal(factor * 0.02);
        else if (name == "vision_model.embeddings.class_embedding")
            normal(std::pow(width, -0.5) * factor);
        else if (name.ends_with("patch_embedding.weight") ||
                 name == "vision_model.embeddings.position_embedding.weight")
            normal(c.vision_config.initializer_range * factor);
        else if (name.ends_with("out_proj.weight"))
            normal(std::pow(width, -0.5) * factor);
        else if (name.ends_with("q_proj.weight") || name.ends_with("k_proj.weight") ||
                 name.ends_with("v_proj.weight") || name.ends_with("fc2.weight"))
            normal(in_proj);
        else if (name.ends_with("fc1.weight"))
            normal(std::pow(2 * width, -0.5) * factor);
        else if (name == "text_projection.weight")
            normal(std::pow(double(c.text_config.hidden_size), -0.5) * factor);
        else if (name == "visual_projection.weight")
            normal(std::pow(double(c.vision_config.hidden_size), -0.5) * factor);
        else
            detail::throw_error("init_clip_weights: no rule for parameter '", name, "'");
    });
}

}  // namespace tandem
