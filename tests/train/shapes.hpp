// Drawn shapes ("a red disc") and a tiny CLIP trained from scratch on them: the data and
// model the trainer tests share.
#pragma once

#include <tandem/train/trainer.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/nn/init.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace tandem::testing::drawn {

using Model = CLIPModel<Cpu, float>;

inline constexpr const char* colours[] = {"red", "green", "blue", "yellow"};
inline constexpr const char* shapes[] = {"disc", "square", "cross", "bar"};
inline constexpr std::uint8_t rgb[4][3] = {{220, 30, 30}, {30, 200, 40}, {40, 60, 230}, {230, 220, 30}};
inline constexpr std::size_t side = 16;

inline Tokenizer tiny_tokenizer() {
    return Tokenizer::from_json(nlohmann::json::parse(R"({
        "version": "1.0", "added_tokens": [], "normalizer": null, "decoder": null,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}],
            "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [1], "tokens": ["<|endoftext|>"]}}},
        "model": {"type": "WordLevel", "unk_token": "[UNK]",
                  "vocab": {"[UNK]": 0, "<|endoftext|>": 1, "a": 2, "red": 3, "green": 4, "blue": 5, "yellow": 6,
                            "disc": 7, "square": 8, "cross": 9, "bar": 10}}})"));
}

inline image::ImageProcessor tiny_processor() {
    auto p = image::ImageProcessor::siglip();  // mean = std = 0.5
    p.do_resize = false;
    return p;
}

// A shape of one colour on a grey background (a filled disc, a square outline, a cross,
// a bar), placed and sized by `variant`.
inline image::ImageU8 draw(std::size_t colour, std::size_t shape, std::size_t variant) {
    image::ImageU8 img = xt::zeros<std::uint8_t>({side, side, std::size_t(3)});
    for (auto& v : img) v = 110;
    const int cx = 7 + int(variant % 2), cy = 7 + int(variant / 2 % 2), r = 4 + int(variant / 4 % 2);
    for (int y = 0; y < int(side); ++y)
        for (int x = 0; x < int(side); ++x) {
            const int dx = x - cx, dy = y - cy;
            bool in = false;
            if (shape == 0) in = dx * dx + dy * dy <= r * r;
            if (shape == 1)
                in = std::max(std::abs(dx), std::abs(dy)) >= r - 1 &&
                     std::max(std::abs(dx), std::abs(dy)) <= r;
            if (shape == 2)
                in = (std::abs(dx) <= 1 && std::abs(dy) <= r + 1) ||
                     (std::abs(dy) <= 1 && std::abs(dx) <= r + 1);
            if (shape == 3) in = std::abs(dx) <= r + 2 && std::abs(dy) <= 1;
            if (in)
                for (std::size_t c = 0; c < 3; ++c) img(std::size_t(y), std::size_t(x), c) = rgb[colour][c];
        }
    return img;
}

inline std::string caption(std::size_t cls) {
    return std::string("a ") + colours[cls / 4] + " " + shapes[cls % 4];
}

// `n` caption-image pairs cycling through the 16 classes; variants differ per pair.
inline data::Dataset shapes_dataset(std::size_t n, std::size_t first_variant = 0) {
    std::vector<std::string> texts;
    std::vector<data::ImageRef> images;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t cls = i % 16, variant = first_variant + i / 16;
        texts.push_back(caption(cls));
        images.push_back(data::decoded_image(draw(cls / 4, cls % 4, variant * 7 + cls)));
    }
    return data::Dataset({data::Column("caption", texts), data::Column("image", images)});
}

inline data::Collator tiny_collator() { return data::Collator(tiny_tokenizer(), tiny_processor()); }

inline Model tiny_clip(std::uint64_t seed = 7) {
    io::CLIPConfig c;
    c.projection_dim = 32;
    c.text_config = {.vocab_size = 11,
                     .hidden_size = 32,
                     .intermediate_size = 64,
                     .projection_dim = 32,
                     .num_hidden_layers = 1,
                     .num_attention_heads = 2,
                     .max_position_embeddings = 8};
    c.text_config.eos_token_id = 1;
    c.vision_config = {.hidden_size = 32,
                       .intermediate_size = 64,
                       .projection_dim = 32,
                       .num_hidden_layers = 1,
                       .num_attention_heads = 2,
                       .image_size = int(side),
                       .patch_size = int(side)};
    // One patch per image keeps a step to about a millisecond; the towers are still CLIP's.
    Model model(c);
    auto& store = model.parameters();
    // From scratch as transformers' _init_weights: normal(0.02) weights, unit norms, zero biases.
    model.for_each_parameter([&](const std::string& name, Parameter p) {
        if (name == "logit_scale")
            init_constant(store, p, std::log(1 / 0.07));
        else if (name.ends_with("bias"))
            init_constant(store, p, 0);
        else if (name.find("norm") != std::string::npos)
            init_constant(store, p, 1);
        else
            init_normal(store, p, 0.02, seed);
    });
    return model;
}

inline SentenceTransformerTrainingArguments quiet_args(const std::filesystem::path& out, std::int64_t steps) {
    SentenceTransformerTrainingArguments a;
    a.output_dir = out.string();
    a.max_steps = steps;
    a.per_device_train_batch_size = 32;
    a.learning_rate = 2e-3;
    a.lr_scheduler_type = "linear";
    a.warmup_ratio = 0.1;
    a.weight_decay = 0.01;
    a.logging_steps = 10;
    a.save_steps = 1000;
    return a;
}

inline TrainerOptions<Model> silent() { return {.log_stream = nullptr}; }

// The 64 pairs not trained on (4 per class, row i of class i % 16) that the retrieval
// checks encode, collated with the columns named.
inline data::Batch<Cpu> held_out_batch(const std::vector<std::string>& columns) {
    const auto data = shapes_dataset(64, 40).select_columns(columns);
    std::vector<std::size_t> rows(64);
    for (std::size_t i = 0; i < 64; ++i) rows[i] = i;
    return data::Batch<Cpu>::from_host(tiny_collator().collate(data, rows, 0));
}

// Text-to-image recall@1 on 64 images not trained on (4 per class): the caption of each
// class must score an image of its own class above every other image.
inline double recall_at_1(const Model& model) {
    const auto batch = held_out_batch({"caption", "image"});
    NoGradGuard no_grad;
    Graph<Cpu, float> g;
    // Rows 0-15 hold one caption per class; image i is of class i % 16.
    const auto sims =
        cosine_similarity(encode_column(model, g, batch.inputs[0]), encode_column(model, g, batch.inputs[1]))
            .value()
            .to_vector();
    int hits = 0;
    for (std::size_t q = 0; q < 16; ++q) {
        std::size_t best = 0;
        for (std::size_t d = 1; d < 64; ++d)
            if (sims[q * 64 + d] > sims[q * 64 + best]) best = d;
        hits += best % 16 == q;
    }
    return hits / 16.0;
}

}  // namespace tandem::testing::drawn
