// Peak memory of inference and training, read from the CPU allocator's counters: under
// NoGradGuard a forward pass holds about one layer's activations at a time, whatever the
// depth; with gradients the tape holds what the backward closures need.
#include <tandem/models/bert.hpp>
#include <tandem/models/clip.hpp>

#include <tandem/backend/cpu.hpp>

#include <doctest/doctest.h>

#include "support/peak_memory.hpp"

using namespace tandem;
using tandem::testing::peak_growth_mib;

namespace {

// Bytes a 4-byte element tensor of n elements takes.
constexpr double mib(double elements) { return elements * 4 / (1 << 20); }

// The activations one transformer layer makes over [batch, tokens, width]: attention
// probabilities, the MLP's intermediate (before and after the activation) and about
// eight [batch, tokens, width] tensors (q, k, v, heads merged, projections, residuals).
double one_layer_mib(double batch, double tokens, double width, double heads, double intermediate) {
    return mib(batch * heads * tokens * tokens) + mib(2 * batch * tokens * intermediate) +
           mib(8 * batch * tokens * width);
}

}  // namespace

TEST_CASE("a 6-layer, 384-wide BERT encodes 32 x 256 tokens under no-grad in about one layer's activations") {
    io::BertConfig c;
    c.hidden_size = 384;
    c.num_hidden_layers = 6;
    c.intermediate_size = 1536;
    BertModel<Cpu, float> model(c);
    model.parameters().values();
    const index_t batch = 32, tokens = 256;
    std::vector<std::int64_t> ids(static_cast<std::size_t>(batch * tokens));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t(i * 7919 % 30522);
    const auto text = TextBatch<Cpu>::from_host(ids, batch, tokens);
    double result_mib = 0;
    const double peak = peak_growth_mib([&] {
        NoGradGuard no_grad;
        Graph<Cpu, float> g;
        auto out = model.forward(g, text);
        result_mib = double(out.last_hidden_state.value().bytes()) / (1 << 20);
    });
    const double layer = one_layer_mib(batch, tokens, 384, 12, 1536);
    MESSAGE("BERT no-grad peak ", peak, " MiB; one layer's activations ", layer, " MiB; result ", result_mib,
            " MiB");
    CHECK(result_mib == doctest::Approx(12.0));
    CHECK(peak < 1.5 * layer);
}

TEST_CASE("a 6-layer CLIP image tower encodes 32 images under no-grad in about one layer's activations") {
    io::CLIPVisionConfig c;
    c.hidden_size = 384;
    c.intermediate_size = 1536;
    c.num_hidden_layers = 6;
    c.num_attention_heads = 6;
    c.image_size = 224;
    c.patch_size = 16;
    ParameterStore<Cpu, float> store;
    CLIPVisionModelWithProjection<Cpu, float> tower(store, c, 256);
    store.values();
    const index_t batch = 32, tokens = 197;
    const auto pixels = Tensor<Cpu, float>::zeros({batch, 3, 224, 224});
    const double peak = peak_growth_mib([&] {
        NoGradGuard no_grad;
        Graph<Cpu, float> g;
        auto embeds = tower.encode(g, g.input(pixels));
        CHECK(embeds.shape() == Shape{batch, 256});
    });
    const double layer = one_layer_mib(batch, tokens, 384, 6, 1536);
    MESSAGE("CLIP vision no-grad peak ", peak, " MiB; one layer's activations ", layer, " MiB");
    CHECK(peak < 1.5 * layer);
}

TEST_CASE(
    "with gradients, the tape holds only what backward reads: the same tower's step in bounded memory") {
    io::CLIPVisionConfig c;
    c.hidden_size = 64;
    c.intermediate_size = 256;
    c.num_hidden_layers = 4;
    c.num_attention_heads = 4;
    c.image_size = 64;
    c.patch_size = 8;
    ParameterStore<Cpu, float> store;
    CLIPVisionModelWithProjection<Cpu, float> tower(store, c, 32);
    store.values();
    const index_t batch = 16, tokens = 65;
    const auto pixels = Tensor<Cpu, float>::zeros({batch, 3, 64, 64});
    const double layer = one_layer_mib(batch, tokens, 64, 4, 256);
    double after_forward = 0;
    const double peak = peak_growth_mib([&] {
        Graph<Cpu, float> g;
        auto loss = sum(tower.encode(g, g.input(pixels)));
        after_forward = double(Cpu::allocated_bytes());
        g.backward(loss);
    });
    MESSAGE("CLIP vision training peak ", peak, " MiB for 4 layers of ", layer, " MiB");
    // Each of the 4 layers' saved tensors, plus the gradients of one layer in flight, with
    // room for the embeddings and the per-layer tensors the estimate leaves out.
    CHECK(peak < 1.5 * (4 + 1) * layer);
    CHECK(after_forward > 0);
}
