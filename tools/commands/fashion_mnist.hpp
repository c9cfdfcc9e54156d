// The Fashion-MNIST demo's data and model, in one place for the demo and the benchmark
// that times its training: the ten classes, the five caption templates, a word-level
// tokenizer of the captions, the image processor and the small CLIP's configuration.
#pragma once

#include <tandem/image/processor.hpp>
#include <tandem/io/config/clip.hpp>
#include <tandem/text/tokenizer.hpp>
#include <tandem/text/trainer.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::cli::fashion_mnist {

inline const std::vector<std::string> classes = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                                 "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
// {a} is the article of the class name.
inline const std::vector<std::string> templates = {"a photo of {a} {class}", "a picture of {a} {class}",
                                                   "an image of {a} {class}", "a photo of the {class}",
                                                   "a drawing of {a} {class}"};

inline std::string caption(std::size_t t, std::size_t cls) {
    const std::string& name = classes[cls];
    std::string s = templates[t];
    const auto a = s.find("{a}");
    if (a != std::string::npos)
        s.replace(a, 3, std::string("aeiou").find(name[0]) != std::string::npos ? "an" : "a");
    s.replace(s.find("{class}"), 7, name);
    return s;
}

// Every caption, template-major: prompt t * 10 + c is template t of class c.
inline std::vector<std::string> prompts() {
    std::vector<std::string> out;
    for (std::size_t t = 0; t < templates.size(); ++t)
        for (std::size_t c = 0; c < classes.size(); ++c) out.push_back(caption(t, c));
    return out;
}

inline Tokenizer caption_tokenizer() {
    auto t = Tokenizer::from_json(nlohmann::json::parse(R"({
        "version": "1.0", "added_tokens": [], "normalizer": {"type": "Lowercase"}, "decoder": null,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|startoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}],
            "special_tokens": {
                "<|startoftext|>": {"id": "<|startoftext|>", "ids": [0], "tokens": ["<|startoftext|>"]},
                "<|endoftext|>": {"id": "<|endoftext|>", "ids": [1], "tokens": ["<|endoftext|>"]}}},
        "model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}})"));
    text::train(t, text::WordLevelTrainer{.special_tokens = {"<|startoftext|>", "<|endoftext|>", "[UNK]"}},
                prompts());
    return t;
}

inline image::ImageProcessor processor() {
    image::ImageProcessor p;
    p.do_resize = false;
    p.do_center_crop = false;
    p.crop_height = p.crop_width = 28;
    p.normalization.image_mean = {0.2860f, 0.2860f, 0.2860f};
    p.normalization.image_std = {0.3530f, 0.3530f, 0.3530f};
    return p;
}

inline io::CLIPConfig model_config(std::size_t vocab_size) {
    io::CLIPConfig c;
    c.projection_dim = 64;
    c.logit_scale_init_value = 2.6592;
    c.text_config.vocab_size = static_cast<std::int64_t>(vocab_size);
    c.text_config.hidden_size = 128;
    c.text_config.intermediate_size = 512;
    c.text_config.num_hidden_layers = 2;
    c.text_config.num_attention_heads = 4;
    c.text_config.max_position_embeddings = 16;
    c.text_config.projection_dim = 64;
    c.text_config.bos_token_id = 0;
    c.text_config.eos_token_id = 1;
    c.text_config.pad_token_id = 1;
    c.vision_config.image_size = 28;
    c.vision_config.patch_size = 7;
    c.vision_config.hidden_size = 128;
    c.vision_config.intermediate_size = 512;
    c.vision_config.num_hidden_layers = 4;
    c.vision_config.num_attention_heads = 4;
    c.vision_config.projection_dim = 64;
    return c;
}

}  // namespace tandem::cli::fashion_mnist
