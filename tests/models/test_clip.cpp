// CLIPModel against shared/data/models/clip-tiny: outputs, CLIP loss and the gradient
// of every parameter, computed by Hugging Face transformers.
#include <tandem/models/clip.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/testing/gradcheck.hpp>

#include "parity.hpp"
#include "random.hpp"
#include "test_data.hpp"

using namespace tandem;
using tandem::testing::relative_error;

namespace {

template <class T>
void check_clip_tiny(double output_tol, double grad_tol) {
    auto dir = tandem::testing::test_data("models/clip-tiny");
    if (!dir) return;
    auto model = CLIPModel<Cpu, T>::from_pretrained(*dir);
    CHECK(model.load_report().unexpected.empty());
    const auto inputs = *dir / "inputs";
    const auto expected = *dir / "expected" / "f64";
    Graph<Cpu, T> g;
    const auto text = tandem::testing::text_batch_from(inputs, true);
    auto pixels = g.input(tandem::testing::tensor_from_npy<Cpu, T>(inputs / "pixel_values.npy"));
    auto out = model.forward(g, text, pixels);
    auto loss = clip_loss(out.logits_per_text);

    CHECK(relative_error(out.text.last_hidden_state.value(), expected / "text_last_hidden_state.npy") <
          output_tol);
    CHECK(relative_error(out.text.pooled.value(), expected / "text_pooled_output.npy") < output_tol);
    CHECK(relative_error(out.text.embeds.value(), expected / "text_embeds_unnormalized.npy") < output_tol);
    CHECK(relative_error(out.vision.last_hidden_state.value(), expected / "vision_last_hidden_state.npy") <
          output_tol);
    CHECK(relative_error(out.vision.pooled.value(), expected / "vision_pooled_output.npy") < output_tol);
    CHECK(relative_error(out.vision.embeds.value(), expected / "image_embeds_unnormalized.npy") < output_tol);
    CHECK(relative_error(out.logits_per_text.value(), expected / "logits_per_text.npy") < output_tol);
    CHECK(relative_error(out.logits_per_image.value(), expected / "logits_per_image.npy") < output_tol);
    CHECK(relative_error(loss.value(), expected / "loss.npy") < output_tol);

    g.backward(loss);
    const auto grads = tandem::testing::compare_gradients(model.parameters(), *dir / "grads.safetensors");
    INFO("worst gradient " << grads.worst_name << ": " << grads.worst_relative);
    CHECK(grads.compared == 78);
    CHECK(grads.worst_relative < grad_tol);
    CHECK(grads.worst_absolute_zero < grad_tol);
}

}  // namespace

TEST_CASE("CLIPModel in double matches transformers' float64 run of clip-tiny") {
    check_clip_tiny<double>(1e-10, 1e-9);
}

TEST_CASE("CLIPModel in float matches transformers on clip-tiny to 1e-5 (outputs) and 1e-4 (gradients)") {
    check_clip_tiny<float>(1e-5, 1e-4);
}

TEST_CASE("CLIPModel save_pretrained then from_pretrained round-trips bit for bit") {
    tandem::testing::check_round_trip<CLIPModel<Cpu, float>>("clip-tiny");
}

TEST_CASE("gradient check in double through a whole 2-layer CLIP (every parameter tensor)") {
    io::CLIPConfig c;
    c.projection_dim = 6;
    c.text_config = {.vocab_size = 20,
                     .hidden_size = 8,
                     .intermediate_size = 12,
                     .projection_dim = 6,
                     .num_hidden_layers = 2,
                     .num_attention_heads = 2,
                     .max_position_embeddings = 5};
    c.text_config.eos_token_id = 19;
    c.vision_config = {.hidden_size = 8,
                       .intermediate_size = 12,
                       .projection_dim = 6,
                       .num_hidden_layers = 2,
                       .num_attention_heads = 2,
                       .image_size = 6,
                       .patch_size = 3};
    CLIPModel<Cpu, double> model(c);
    auto& store = model.parameters();
    model.for_each_parameter([&](const std::string&, Parameter p) { init_normal(store, p, 0.5, 11); });
    const auto text = TextBatch<Cpu>::from_host({3, 7, 19, 19, 19, 4, 19, 19, 19, 19, 5, 6, 8, 9, 19}, 3, 5,
                                                {1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1});
    const auto pixels = tandem::testing::random_tensor<Cpu, double>({3, 3, 6, 6}, 5);
    const auto result = tandem::testing::gradcheck_parameters<Cpu>(store, [&](Graph<Cpu, double>& g) {
        return clip_loss(model.forward(g, text, g.input(pixels)).logits_per_text);
    });
    CHECK(result.max_relative_error < 1e-6);
}
