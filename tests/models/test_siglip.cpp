// SiglipModel against shared/data/models/siglip-tiny: outputs, sigmoid loss and the
// gradient of every parameter, computed by Hugging Face transformers 4.43.
#include <tandem/models/siglip.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/losses/clip.hpp>

#include "parity.hpp"
#include "test_data.hpp"

#include <algorithm>

using namespace tandem;
using tandem::testing::relative_error;

namespace {

// Largest |g| over rows [begin, end) of a parameter's gradient.
template <class T>
double max_abs_grad(ParameterStore<Cpu, T>& store, const std::string& name, index_t begin, index_t end) {
    const auto g = store.grad(store.find(name)).to_vector();
    double m = 0;
    for (index_t i = begin; i < end; ++i) m = std::max(m, std::abs(double(g[i])));
    return m;
}

template <class T>
void check_siglip_tiny(double output_tol, double grad_tol) {
    auto dir = tandem::testing::test_data("models/siglip-tiny");
    if (!dir) return;
    auto model = SiglipModel<Cpu, T>::from_pretrained(*dir);
    CHECK(model.load_report().unexpected.empty());
    const auto inputs = *dir / "inputs";
    const auto expected = *dir / "expected" / "f64";
    Graph<Cpu, T> g;
    // The reference forward passes no attention mask, as SigLIP checkpoints are used.
    const auto text = tandem::testing::text_batch_from(inputs, false);
    auto pixels = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "pixel_values.npy"));
    auto out = model.forward(g, text, pixels);
    auto loss = siglip_loss(g, out.logits_per_text);

    CHECK(relative_error(out.text.last_hidden_state.value(), expected / "text_last_hidden_state.npy") <
          output_tol);
    CHECK(relative_error(out.text.pooled.value(), expected / "text_pooled_output.npy") < output_tol);
    CHECK(relative_error(out.vision.last_hidden_state.value(), expected / "vision_last_hidden_state.npy") <
          output_tol);
    CHECK(relative_error(out.vision.pooled.value(), expected / "vision_pooled_output.npy") < output_tol);
    CHECK(relative_error(out.text_embeds.value(), expected / "text_embeds.npy") < output_tol);
    CHECK(relative_error(out.image_embeds.value(), expected / "image_embeds.npy") < output_tol);
    CHECK(relative_error(out.logits_per_text.value(), expected / "logits_per_text.npy") < output_tol);
    CHECK(relative_error(out.logits_per_image.value(), expected / "logits_per_image.npy") < output_tol);
    CHECK(relative_error(loss.value(), expected / "loss.npy") < output_tol);

    g.backward(loss);
    auto& store = model.parameters();
    const auto grads = tandem::testing::compare_gradients(store, *dir / "grads.safetensors");
    INFO("worst gradient " << grads.worst_name << ": " << grads.worst_relative);
    CHECK(grads.compared == 88);
    CHECK(grads.worst_relative < grad_tol);
    CHECK(grads.worst_absolute_zero < grad_tol);
    // The key rows of the MAP head's packed bias are analytically zero inside a tensor
    // that is not, so the per-tensor comparison above cannot see them.
    const index_t d = model.config().vision_config.hidden_size;
    CHECK(max_abs_grad(store, "vision_model.head.attention.in_proj_bias", d, 2 * d) < grad_tol);
}

}  // namespace

TEST_CASE("SiglipModel in double matches transformers' float64 run of siglip-tiny") {
    check_siglip_tiny<double>(1e-10, 1e-9);
}

TEST_CASE("SiglipModel in float matches transformers on siglip-tiny to 1e-5 (outputs) and 1e-4 (gradients)") {
    check_siglip_tiny<float>(1e-5, 1e-4);
}

TEST_CASE_TEMPLATE("SiglipTextModel and SiglipVisionModel work alone, the text tower with a mask", T, float,
                   double) {
    auto dir = tandem::testing::test_data("models/siglip-tiny");
    if (!dir) return;
    const double tol = std::is_same_v<T, double> ? 1e-10 : 1e-5;
    const auto config = io::SiglipConfig::from_file(*dir / "config.json");
    const auto checkpoint = io::SafetensorsCheckpoint::open(*dir);
    const auto inputs = *dir / "inputs";
    const auto expected = *dir / "expected" / "f64";

    ParameterStore<Cpu, T> text_store;
    SiglipTextModel<Cpu, T> text(text_store, config.text_config);
    const auto text_report = load_state_dict(text, text_store, checkpoint);
    CHECK(std::all_of(text_report.unexpected.begin(), text_report.unexpected.end(),
                      [](const std::string& n) { return !n.starts_with("text_model."); }));
    ParameterStore<Cpu, T> vision_store;
    SiglipVisionModel<Cpu, T> vision(vision_store, config.vision_config);
    load_state_dict(vision, vision_store, checkpoint);

    NoGradGuard no_grad;
    Graph<Cpu, T> g;
    CHECK(relative_error(text.encode(g, tandem::testing::text_batch_from(inputs, false)).value(),
                         expected / "text_pooled_output.npy") < tol);
    auto pixels = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "pixel_values.npy"));
    CHECK(relative_error(vision.encode(g, pixels).value(), expected / "vision_pooled_output.npy") < tol);
    // With the mask, padded keys are hidden but pooling still reads position -1.
    const auto masked = text.forward(g, tandem::testing::text_batch_from(inputs, true));
    CHECK(relative_error(masked.last_hidden_state.value(),
                         expected / "text_last_hidden_state_with_mask.npy") < tol);
    CHECK(relative_error(masked.pooled.value(), expected / "text_pooled_output_with_mask.npy") < tol);
}

TEST_CASE("SiglipVisionModel without the pooling head (vision_use_head = false)") {
    auto dir = tandem::testing::test_data("models/siglip-tiny");
    if (!dir) return;
    auto config = io::SiglipConfig::from_file(*dir / "config.json");
    config.vision_config.vision_use_head = false;
    CHECK_THROWS_AS((SiglipModel<Cpu, double>(config)), Error);

    ParameterStore<Cpu, double> store;
    SiglipVisionModel<Cpu, double> vision(store, config.vision_config);
    CHECK_FALSE(vision.has_head());
    const auto report = load_state_dict(vision, store, io::SafetensorsCheckpoint::open(*dir));
    // The head's 11 tensors are left in the checkpoint, along with the text tower and logit head.
    CHECK(std::count_if(report.unexpected.begin(), report.unexpected.end(),
                        [](const std::string& n) { return n.starts_with("vision_model.head."); }) == 11);
    NoGradGuard no_grad;
    Graph<Cpu, double> g;
    auto pixels =
        g.input(tandem::testing::tensor_from_npy<Cpu, double>(*dir / "inputs" / "pixel_values.npy"));
    CHECK(relative_error(vision.forward(g, pixels).last_hidden_state.value(),
                         *dir / "expected" / "f64" / "vision_last_hidden_state.npy") < 1e-10);
    CHECK_THROWS_AS(vision.encode(g, pixels), Error);
}

TEST_CASE("SiglipModel save_pretrained then from_pretrained round-trips bit for bit") {
    tandem::testing::check_round_trip<SiglipModel<Cpu, float>>("siglip-tiny");
}
