// `tandem forward --model DIR ...`: runs a Hugging Face dual encoder on .npy inputs and
// writes its embeddings, logits, loss and (with --grads) the gradient of the loss for
// every parameter, so a port can be checked number for number against PyTorch.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/backend/xtensor.hpp>
#include <tandem/io/detail/atomic_file.hpp>
#include <tandem/io/json_file.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/siglip.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <xtensor/xnpy.hpp>

namespace tandem::cli {

struct ForwardOptions {
    std::filesystem::path model, out;
    std::optional<std::filesystem::path> input_ids, attention_mask, pixel_values;
    std::string loss;
    bool grads = false, use_double = false;
};

namespace forward_cmd {

template <class T>
void save_npy(const std::filesystem::path& path, const Tensor<Cpu, T>& t) {
    io::atomic_write(path, [&](std::ostream& s) { s << xt::dump_npy(to_xarray(t)); });
}

inline TextBatch<Cpu> load_text(const ForwardOptions& o) {
    const auto ids = xt::load_npy<std::int64_t>(o.input_ids->string());
    if (ids.dimension() != 2)
        detail::throw_error(o.input_ids->string(), ": expected int64 input_ids [batch, length], found ",
                            ids.dimension(), " dimensions");
    TextBatch<Cpu> text;
    text.input_ids = from_xtensor<Cpu, std::int64_t>(ids);
    if (o.attention_mask) {
        const auto mask = xt::load_npy<std::int64_t>(o.attention_mask->string());
        text.attention_mask = from_xtensor<Cpu, std::int64_t>(mask);
    }
    return text;
}

template <class Model>
int run_forward(const ForwardOptions& o) {
    using T = typename Model::value_type;
    auto model = Model::from_pretrained(o.model);
    std::filesystem::create_directories(o.out);
    Graph<Cpu, T> g;
    std::optional<Var<Cpu, T>> text_embeds, image_embeds, logits_per_text;
    if (o.input_ids && o.pixel_values) {
        const auto pixels = xt::load_npy<float>(o.pixel_values->string());
        auto px = g.input(from_xtensor<Cpu, T>(xt::cast<T>(pixels)));
        auto out = model.forward(g, load_text(o), px);
        text_embeds = out.text.embeds;
        image_embeds = out.vision.embeds;
        logits_per_text = out.logits_per_text;
        save_npy(o.out / "logits_per_image.npy", permute(out.logits_per_text, {1, 0}).value());
    } else if (o.input_ids) {
        text_embeds = model.encode_text(g, load_text(o));
    } else if (o.pixel_values) {
        const auto pixels = xt::load_npy<float>(o.pixel_values->string());
        image_embeds = model.encode_image(g, g.input(from_xtensor<Cpu, T>(xt::cast<T>(pixels))));
    }
    if (text_embeds) save_npy(o.out / "text_embeds.npy", text_embeds->value());
    if (image_embeds) save_npy(o.out / "image_embeds.npy", image_embeds->value());
    if (o.loss.empty()) return 0;
    if (!logits_per_text)
        detail::throw_error("option --loss needs both --input-ids and --pixel-values (a batch of pairs)");
    auto loss = o.loss == "clip" ? clip_loss(*logits_per_text) : siglip_loss(g, *logits_per_text);
    save_npy(o.out / "loss.npy", loss.value());
    if (!o.grads) return 0;
    g.backward(loss);
    save_gradients(model, model.parameters(), o.out / "grads.safetensors");
    return 0;
}

}  // namespace forward_cmd

inline int forward_run(const ForwardOptions& o) {
    if (!o.input_ids && !o.pixel_values) detail::throw_error("give --input-ids, --pixel-values or both");
    if (o.attention_mask && !o.input_ids) detail::throw_error("--attention-mask needs --input-ids");
    if (o.grads && o.loss.empty()) detail::throw_error("--grads needs --loss");

    const auto config = io::read_json_file(o.model / "config.json");
    const std::string type = config.value("model_type", "");
    if (type == "clip")
        return o.use_double ? forward_cmd::run_forward<CLIPModel<Cpu, double>>(o)
                            : forward_cmd::run_forward<CLIPModel<Cpu, float>>(o);
    if (type == "siglip")
        return o.use_double ? forward_cmd::run_forward<SiglipModel<Cpu, double>>(o)
                            : forward_cmd::run_forward<SiglipModel<Cpu, float>>(o);
    detail::throw_error((o.model / "config.json").string(),
                        ": key 'model_type': expected clip or siglip, found '", type, "'");
}

inline void add_forward(CLI::App& app, int& status) {
    auto o = std::make_shared<ForwardOptions>();
    CLI::App* sub = app.add_subcommand(
        "forward",
        "run a Hugging Face CLIP/SigLIP folder on .npy inputs: embeddings, logits, loss, gradients");
    sub->footer(
        "Writes text_embeds.npy, image_embeds.npy (unnormalised projections), logits_per_image.npy,\n"
        "loss.npy and, with --grads, grads.safetensors (d loss / d parameter, by Hugging Face name).\n");
    sub->add_option("--model", o->model, "a Hugging Face CLIP or SigLIP folder")->required();
    sub->add_option("--out", o->out, "the folder to write")->required();
    sub->add_option("--input-ids", o->input_ids, "int64 token ids [batch, length]");
    sub->add_option("--attention-mask", o->attention_mask, "int64 mask [batch, length]");
    sub->add_option("--pixel-values", o->pixel_values, "float32 [batch, 3, H, W]");
    sub->add_option("--loss", o->loss, "the model's contrastive loss")
        ->check(CLI::IsMember({"clip", "siglip"}));
    sub->add_flag("--grads", o->grads, "also write every parameter's gradient of the loss");
    sub->add_flag("--double", o->use_double, "compute in float64 (outputs in the computing type)");
    sub->callback([o, &status] { status = forward_run(*o); });
}

}  // namespace tandem::cli
