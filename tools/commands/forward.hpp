// `tandem forward --model DIR ...`: runs a Hugging Face dual encoder or cross-encoder on
// .npy inputs and writes its embeddings or logits, loss and (with --grads) the gradient
// of the loss for every parameter, so a port can be checked number for number against
// PyTorch.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/backend/xtensor.hpp>
#include <tandem/io/detail/atomic_file.hpp>
#include <tandem/io/json_file.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/blip.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/siglip.hpp>
#include <tandem/models/vilt.hpp>

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
    std::optional<std::filesystem::path> input_ids, attention_mask, token_type_ids, pixel_values, pixel_mask,
        labels;
    std::string loss;
    bool grads = false, use_double = false;
};

namespace forward_cmd {

// Gradients are written in the type they were computed in.
template <class T>
io::SafetensorsDtype computing_dtype() {
    return sizeof(T) == 8 ? io::SafetensorsDtype::F64 : io::SafetensorsDtype::F32;
}

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
    if (o.token_type_ids)
        text.token_type_ids =
            from_xtensor<Cpu, std::int64_t>(xt::load_npy<std::int64_t>(o.token_type_ids->string()));
    return text;
}

template <class T>
Var<Cpu, T> load_pixels(Graph<Cpu, T>& g, const ForwardOptions& o) {
    const auto pixels = xt::load_npy<float>(o.pixel_values->string());
    if (pixels.dimension() != 4)
        detail::throw_error(o.pixel_values->string(),
                            ": expected float32 pixel_values [batch, 3, H, W], found ", pixels.dimension(),
                            " dimensions");
    return g.input(from_xtensor<Cpu, T>(xt::cast<T>(pixels)));
}

// The logits [batch, num_labels] of a cross-encoder: a text one reads token ids only, an
// image-text one also pixel_values, and ViLT pixel_mask (all pixels real without one, as
// transformers assumes); BLIP gives its 2-way ITM logits.
template <class Model, class T = typename Model::value_type>
Var<Cpu, T> cross_encoder_logits(Graph<Cpu, T>& g, const Model& model, const ForwardOptions& o) {
    const auto text = load_text(o);
    if constexpr (requires { model.forward(g, text).logits; }) {
        if (o.pixel_values || o.pixel_mask)
            detail::throw_error("--pixel-values, --pixel-mask: ", Model::architecture, " reads text only");
        return model.forward(g, text).logits;
    } else if constexpr (requires(const Var<Cpu, T>& pixels) { model.forward(g, text, pixels).itm_score; }) {
        if (!o.pixel_values) detail::throw_error(Model::architecture, " needs --pixel-values");
        if (o.pixel_mask) detail::throw_error("--pixel-mask: ", Model::architecture, " reads whole images");
        return model.forward(g, text, load_pixels(g, o)).itm_score;
    } else {
        if (!o.pixel_values) detail::throw_error(Model::architecture, " needs --pixel-values");
        const auto pixels = load_pixels(g, o);
        const Shape& s = pixels.shape();
        const auto mask =
            o.pixel_mask
                ? from_xtensor<Cpu, std::int64_t>(xt::load_npy<std::int64_t>(o.pixel_mask->string()))
                : Ids<Cpu>::from_vector(std::vector<std::int64_t>(s[0] * s[2] * s[3], 1), {s[0], s[2], s[3]});
        return model.forward(g, text, ViltImages<Cpu, T>{pixels, mask}).logits;
    }
}

// logits.npy, and with --labels the loss: bce (BCE-with-logits on one logit per pair, the
// labels float [batch]) or ce (cross-entropy over the logits, the labels int64 class ids).
template <class Model>
int run_cross_encoder(const ForwardOptions& o) {
    using T = typename Model::value_type;
    auto model = Model::from_pretrained(o.model);
    std::filesystem::create_directories(o.out);
    Graph<Cpu, T> g;
    const auto logits = cross_encoder_logits(g, model, o);
    save_npy(o.out / "logits.npy", logits.value());
    if (o.loss.empty()) return 0;
    const index_t batch = logits.shape()[0];
    Var<Cpu, T> loss;
    if (o.loss == "bce") {
        if (logits.shape()[1] != 1)
            detail::throw_error("--loss bce: needs one logit per pair, ", Model::architecture, " gives ",
                                logits.shape()[1], "; use --loss ce");
        const auto labels = xt::load_npy<float>(o.labels->string());
        if (labels.size() != static_cast<std::size_t>(batch))
            detail::throw_error(o.labels->string(), ": expected ", batch, " float labels, found ",
                                labels.size());
        loss = binary_cross_entropy_with_logits(
            reshape(logits, {batch}),
            g.input(Tensor<Cpu, T>::from_vector(std::vector<T>(labels.begin(), labels.end()), {batch})));
    } else {
        const auto labels = xt::load_npy<std::int64_t>(o.labels->string());
        if (labels.size() != static_cast<std::size_t>(batch))
            detail::throw_error(o.labels->string(), ": expected ", batch, " int64 class ids, found ",
                                labels.size());
        loss = cross_entropy(
            logits, Ids<Cpu>::from_vector(std::vector<std::int64_t>(labels.begin(), labels.end()), {batch}));
    }
    save_npy(o.out / "loss.npy", loss.value());
    if (!o.grads) return 0;
    g.backward(loss);
    save_gradients(model, model.parameters(), o.out / "grads.safetensors", computing_dtype<T>());
    return 0;
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
    save_gradients(model, model.parameters(), o.out / "grads.safetensors", computing_dtype<T>());
    return 0;
}

}  // namespace forward_cmd

// The model a config.json names: a dual encoder by model_type, a cross-encoder by its
// architecture.
inline int forward_run(const ForwardOptions& o) {
    if (!o.input_ids && !o.pixel_values) detail::throw_error("give --input-ids, --pixel-values or both");
    if (o.attention_mask && !o.input_ids) detail::throw_error("--attention-mask needs --input-ids");
    if (o.grads && o.loss.empty()) detail::throw_error("--grads needs --loss");
    const bool cross_encoder_loss = o.loss == "bce" || o.loss == "ce";
    if (cross_encoder_loss != bool(o.labels)) detail::throw_error("--labels goes with --loss bce or ce");

    const auto file = o.model / "config.json";
    const auto config = io::read_json_file(file);
    const std::string type = config.value("model_type", "");
    const bool dual = type == "clip" || type == "siglip";
    if (dual && (o.labels || o.token_type_ids || o.pixel_mask))
        detail::throw_error(file.string(), ": a ", type,
                            " dual encoder takes no --labels, --token-type-ids or --pixel-mask");
    if (!dual && !o.loss.empty() && !cross_encoder_loss)
        detail::throw_error("--loss ", o.loss, ": a cross-encoder's loss is bce or ce");
    if (type == "clip")
        return o.use_double ? forward_cmd::run_forward<CLIPModel<Cpu, double>>(o)
                            : forward_cmd::run_forward<CLIPModel<Cpu, float>>(o);
    if (type == "siglip")
        return o.use_double ? forward_cmd::run_forward<SiglipModel<Cpu, double>>(o)
                            : forward_cmd::run_forward<SiglipModel<Cpu, float>>(o);
    if (!o.input_ids) detail::throw_error("a cross-encoder needs --input-ids");
    if (type == "blip")
        return o.use_double ? forward_cmd::run_cross_encoder<BlipForImageTextRetrieval<Cpu, double>>(o)
                            : forward_cmd::run_cross_encoder<BlipForImageTextRetrieval<Cpu, float>>(o);
    if (type == "vilt")
        return o.use_double ? forward_cmd::run_cross_encoder<ViltForImageAndTextRetrieval<Cpu, double>>(o)
                            : forward_cmd::run_cross_encoder<ViltForImageAndTextRetrieval<Cpu, float>>(o);
    if (type == "bert") {
        const auto architectures = config.value("architectures", std::vector<std::string>{});
        if (architectures.empty() || architectures[0] != "BertForSequenceClassification")
            detail::throw_error(
                file.string(), ": key 'architectures': expected BertForSequenceClassification ",
                "(a BERT cross-encoder), found ", config.value("architectures", nlohmann::json()).dump());
        return o.use_double ? forward_cmd::run_cross_encoder<BertForSequenceClassification<Cpu, double>>(o)
                            : forward_cmd::run_cross_encoder<BertForSequenceClassification<Cpu, float>>(o);
    }
    detail::throw_error(file.string(),
                        ": key 'model_type': expected clip, siglip, bert, vilt or blip, found '", type, "'");
}

inline void add_forward(CLI::App& app, int& status) {
    auto o = std::make_shared<ForwardOptions>();
    CLI::App* sub = app.add_subcommand("forward",
                                       "run a Hugging Face CLIP/SigLIP dual encoder or a BERT/ViLT/BLIP "
                                       "cross-encoder folder on .npy inputs: "
                                       "embeddings or logits, loss, gradients");
    sub->footer(
        "A dual encoder writes text_embeds.npy, image_embeds.npy (unnormalised projections),\n"
        "logits_per_image.npy; a cross-encoder (BertForSequenceClassification,\n"
        "ViltForImageAndTextRetrieval, BlipForImageTextRetrieval's 2-way ITM head) writes\n"
        "logits.npy. Then loss.npy and, with --grads,\n"
        "grads.safetensors (d loss / d parameter, by Hugging Face name, F64 with --double).\n");
    sub->add_option("--model", o->model,
                    "a Hugging Face CLIP, SigLIP, BERT cross-encoder, ViLT or BLIP folder")
        ->required();
    sub->add_option("--out", o->out, "the folder to write")->required();
    sub->add_option("--input-ids", o->input_ids, "int64 token ids [batch, length]");
    sub->add_option("--attention-mask", o->attention_mask, "int64 mask [batch, length]");
    sub->add_option("--token-type-ids", o->token_type_ids,
                    "int64 segment ids [batch, length] (cross-encoders)");
    sub->add_option("--pixel-values", o->pixel_values, "float32 [batch, 3, H, W]");
    sub->add_option("--pixel-mask", o->pixel_mask, "int64 [batch, H, W], 1 on real pixels (ViLT)");
    sub->add_option("--labels", o->labels,
                    "a cross-encoder loss's targets: float32 [batch] (bce), int64 (ce)");
    sub->add_option("--loss", o->loss,
                    "clip or siglip for a dual encoder; bce or ce (with --labels) for a cross-encoder")
        ->check(CLI::IsMember({"clip", "siglip", "bce", "ce"}));
    sub->add_flag("--grads", o->grads, "also write every parameter's gradient of the loss");
    sub->add_flag("--double", o->use_double, "compute in float64 (outputs in the computing type)");
    sub->callback([o, &status] { status = forward_run(*o); });
}

}  // namespace tandem::cli
