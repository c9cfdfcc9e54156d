// Models against the fixtures that tests/reference/make_fixtures.py wrote from plain
// PyTorch: configurations the shared checkpoints do not cover.
#include <tandem/models/clip.hpp>

#include <tandem/models/bert.hpp>
#include <tandem/models/siglip.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/losses/clip.hpp>

#include "parity.hpp"
#include "support/sealed_backend.hpp"

using namespace tandem;
using tandem::testing::relative_error;

namespace {

std::filesystem::path fixture(const std::string& name) {
    return std::filesystem::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / name;
}

template <class B, class T>
void check_gradients(ParameterStore<B, T>& store, const std::filesystem::path& file, double tol) {
    const auto grads = tandem::testing::compare_gradients(store, file);
    INFO("worst gradient " << grads.worst_name << ": " << grads.worst_relative);
    CHECK(grads.compared > 0);
    CHECK(grads.worst_relative < tol);
    CHECK(grads.worst_absolute_zero < tol);
}

template <class B, class T>
void check_clip_first_eos(double output_tol, double grad_tol) {
    const auto dir = fixture("clip-first-eos");
    auto model = CLIPModel<B, T>::from_pretrained(dir);
    CHECK(model.config().text_config.eos_token_id == 96);
    Graph<B, T> g;
    const auto text = tandem::testing::text_batch_from<B>(dir / "inputs", true);
    auto pixels = g.input(tandem::testing::tensor_from_npy<B, T>(dir / "inputs" / "pixel_values.npy"));
    auto out = model.forward(g, text, pixels);
    auto loss = clip_loss(out.logits_per_text);
    const auto expected = dir / "expected";
    CHECK(relative_error(out.text.last_hidden_state.value(), expected / "text_last_hidden_state.npy") <
          output_tol);
    CHECK(relative_error(out.text.pooled.value(), expected / "text_pooled_output.npy") < output_tol);
    CHECK(relative_error(out.vision.last_hidden_state.value(), expected / "vision_last_hidden_state.npy") <
          output_tol);
    CHECK(relative_error(out.vision.embeds.value(), expected / "image_embeds_unnormalized.npy") < output_tol);
    CHECK(relative_error(out.logits_per_text.value(), expected / "logits_per_text.npy") < output_tol);
    CHECK(relative_error(loss.value(), expected / "loss.npy") < output_tol);
    g.backward(loss);
    check_gradients(model.parameters(), dir / "grads.safetensors", grad_tol);
}

template <class B, class T>
void check_siglip_small(double output_tol, double grad_tol) {
    const auto dir = fixture("siglip-small");
    auto model = SiglipModel<B, T>::from_pretrained(dir);
    Graph<B, T> g;
    const auto text = tandem::testing::text_batch_from<B>(dir / "inputs", false);
    auto pixels = g.input(tandem::testing::tensor_from_npy<B, T>(dir / "inputs" / "pixel_values.npy"));
    auto out = model.forward(g, text, pixels);
    auto loss = siglip_loss(g, out.logits_per_text);
    const auto expected = dir / "expected";
    CHECK(relative_error(out.text.last_hidden_state.value(), expected / "text_last_hidden_state.npy") <
          output_tol);
    CHECK(relative_error(out.text.pooled.value(), expected / "text_pooled_output.npy") < output_tol);
    CHECK(relative_error(out.vision.last_hidden_state.value(), expected / "vision_last_hidden_state.npy") <
          output_tol);
    CHECK(relative_error(out.vision.pooled.value(), expected / "vision_pooled_output.npy") < output_tol);
    CHECK(relative_error(out.logits_per_text.value(), expected / "logits_per_text.npy") < output_tol);
    CHECK(relative_error(loss.value(), expected / "loss.npy") < output_tol);
    g.backward(loss);
    check_gradients(model.parameters(), dir / "grads.safetensors", grad_tol);
}

template <class B, class T>
void check_bert_token_types(double output_tol, double grad_tol) {
    const auto dir = fixture("bert-token-types");
    auto model = BertModel<B, T>::from_pretrained(dir);
    Graph<B, T> g;
    const auto text = tandem::testing::text_batch_with_types<B>(dir / "inputs");
    auto out = model.forward(g, text);
    auto mean_pooled = pool_mean(g, out.last_hidden_state, text.attention_mask);
    auto probe_mean = g.input(tandem::testing::tensor_from_npy<B, T>(dir / "inputs" / "loss_probe_mean.npy"));
    auto probe_pooler =
        g.input(tandem::testing::tensor_from_npy<B, T>(dir / "inputs" / "loss_probe_pooler.npy"));
    auto loss = add(sum(mul(mean_pooled, probe_mean)), sum(mul(out.pooler_output, probe_pooler)));
    const auto expected = dir / "expected";
    CHECK(relative_error(out.last_hidden_state.value(), expected / "last_hidden_state.npy") < output_tol);
    CHECK(relative_error(out.pooler_output.value(), expected / "pooler_output.npy") < output_tol);
    CHECK(relative_error(mean_pooled.value(), expected / "mean_pooled.npy") < output_tol);
    CHECK(relative_error(loss.value(), expected / "loss.npy") < output_tol);
    g.backward(loss);
    check_gradients(model.parameters(), dir / "grads.safetensors", grad_tol);
}

}  // namespace

TEST_CASE("CLIP fixture (first-eos pooling, gelu): double to 1e-10, float to 1e-5 / 1e-4") {
    check_clip_first_eos<Cpu, double>(1e-10, 1e-9);
    check_clip_first_eos<Cpu, float>(1e-5, 1e-4);
}

TEST_CASE("SigLIP fixture (packed attention-pooling head through torch's MultiheadAttention)") {
    check_siglip_small<Cpu, double>(1e-10, 1e-9);
    check_siglip_small<Cpu, float>(1e-5, 1e-4);
}

TEST_CASE("BERT fixture (token types, padding): double to 1e-10, float to 1e-5 / 1e-4") {
    check_bert_token_types<Cpu, double>(1e-10, 1e-9);
    check_bert_token_types<Cpu, float>(1e-5, 1e-4);
}

TEST_CASE("the fixtures on a backend whose memory host code cannot touch, as on the CPU") {
    using tandem::testing::Sealed;
    check_clip_first_eos<Sealed, double>(1e-10, 1e-9);
    check_siglip_small<Sealed, float>(1e-5, 1e-4);
    check_bert_token_types<Sealed, float>(1e-5, 1e-4);
}

TEST_CASE("CLIP through bf16 storage: within bf16's precision of float, and the same bits as a BF16 file") {
    const auto dir = fixture("clip-first-eos");
    const auto text = tandem::testing::text_batch_from(dir / "inputs", true);
    const auto pixels = tandem::testing::tensor_from_npy<Cpu, float>(dir / "inputs" / "pixel_values.npy");
    auto logits = [&](CLIPModel<Cpu, float>& model) {
        NoGradGuard no_grad;
        Graph<Cpu, float> g;
        return model.forward(g, text, g.input(pixels)).logits_per_text.value().to_vector();
    };
    auto model = CLIPModel<Cpu, float>::from_pretrained(dir);
    const auto in_float = logits(model);
    model.parameters().set_storage_type(DType::BF16);
    const auto in_bf16 = logits(model);
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < in_float.size(); ++i) {
        diff += double(in_bf16[i] - in_float[i]) * (in_bf16[i] - in_float[i]);
        norm += double(in_float[i]) * in_float[i];
    }
    const double relative = std::sqrt(diff / norm);
    MESSAGE("bf16 storage against float: relative error ", relative);
    CHECK(relative > 0);
    CHECK(relative < 0x1p-6);  // a few units of bf16's 2^-8 rounding, not more
    // Weights saved as BF16 and read back into float storage are the same rounded values.
    const auto out = std::filesystem::temp_directory_path() / "tandem_clip_bf16";
    std::filesystem::remove_all(out);
    model.save_pretrained(out);
    save_state_dict(model, model.parameters(), out / "model.safetensors", io::SafetensorsDtype::BF16);
    auto reloaded = CLIPModel<Cpu, float>::from_pretrained(out);
    CHECK(logits(reloaded) == in_bf16);
    std::filesystem::remove_all(out);
}
