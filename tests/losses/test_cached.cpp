// CachedMultipleNegativesRankingLoss (GradCache) on a tiny CLIP: the value and every
// parameter gradient equal the uncached loss's, and a batch of 1024 trains in about the
// memory of an uncached batch of 64 (the allocator's peak counter). CLIPLoss over a
// CLIPModel's embeddings is the model's own loss.
#include <tandem/backend/cpu.hpp>
#include <tandem/losses/cached_multiple_negatives_ranking.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/models/clip.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "random.hpp"
#include "support/peak_memory.hpp"

using namespace tandem;
using tandem::testing::peak_growth_mib;

namespace {

io::CLIPConfig tiny_clip(index_t width, index_t image_size, index_t patch, index_t tokens) {
    io::CLIPConfig c;
    c.projection_dim = 16;
    c.text_config = {.vocab_size = 50,
                     .hidden_size = width,
                     .intermediate_size = 2 * width,
                     .projection_dim = 16,
                     .num_hidden_layers = 2,
                     .num_attention_heads = 2,
                     .max_position_embeddings = tokens};
    c.text_config.eos_token_id = 49;
    c.vision_config = {.hidden_size = width,
                       .intermediate_size = 2 * width,
                       .projection_dim = 16,
                       .num_hidden_layers = 2,
                       .num_attention_heads = 2,
                       .image_size = image_size,
                       .patch_size = patch};
    return c;
}

// Captions of `tokens` ids ending in the EOS token, of varying length, and random images.
template <class T>
struct Batch {
    TextBatch<Cpu> text;
    Tensor<Cpu, T> pixels;

    Batch(index_t rows, index_t tokens, index_t image_size) {
        std::vector<std::int64_t> ids, mask;
        for (index_t r = 0; r < rows; ++r) {
            const index_t length = 2 + r % (tokens - 1);
            for (index_t t = 0; t < tokens; ++t) {
                ids.push_back(t + 1 < length ? std::int64_t((r * 7 + t * 13) % 49) : 49);
                mask.push_back(t < length ? 1 : 0);
            }
        }
        text = TextBatch<Cpu>::from_host(ids, rows, tokens, mask);
        pixels = testing::random_tensor<Cpu, T>({rows, 3, image_size, image_size}, 5);
    }

    // Column 0 is the captions, column 1 the images, rows [begin, end) of each.
    template <class Model>
    Var<Cpu, T> encode(const Model& model, Graph<Cpu, T>& g, int column, index_t begin, index_t end) const {
        if (column == 0)
            return model.encode_text(
                g, {text.input_ids.rows(begin, end), text.attention_mask.rows(begin, end), {}});
        return model.encode_image(g, g.input(pixels.rows(begin, end)));
    }
};

template <class Model, class T>
ColumnEncoder<Cpu, T> encoder(const Model& model, const Batch<T>& batch) {
    return [&](Graph<Cpu, T>& g, int column, index_t begin, index_t end) {
        return batch.encode(model, g, column, begin, end);
    };
}

}  // namespace

TEST_CASE(
    "CachedMultipleNegativesRankingLoss equals the uncached loss on a tiny CLIP: value and every gradient") {
    const auto config = tiny_clip(8, 6, 3, 5);
    CLIPModel<Cpu, double> model(config);
    auto& store = model.parameters();
    model.for_each_parameter([&](const std::string&, Parameter p) { init_normal(store, p, 0.5, 11); });
    const Batch<double> batch(64, 5, 6);
    const MultipleNegativesRankingLossOptions options{
        .directions = {Direction::query_to_doc, Direction::doc_to_query},
        .partition_mode = PartitionMode::per_direction};

    store.zero_grad();
    double uncached = 0;
    {
        Graph<Cpu, double> g;
        const MultipleNegativesRankingLoss<Cpu, double> loss(options);
        auto l = loss(g, {batch.encode(model, g, 0, 0, 64), batch.encode(model, g, 1, 0, 64)});
        uncached = l.value().item();
        g.backward(l);
    }
    const auto expected = store.grads().to_vector();

    store.zero_grad();
    const CachedMultipleNegativesRankingLoss<Cpu, double> cached(options, 8);
    const double value = cached.forward_backward(encoder(model, batch), 2, 64).item();
    CHECK(value == doctest::Approx(uncached).epsilon(1e-12));
    {
        // Over embeddings (as for an eval_dataset): the uncached loss itself.
        NoGradGuard no_grad;
        Graph<Cpu, double> g;
        CHECK(
            cached(g, {batch.encode(model, g, 0, 0, 64), batch.encode(model, g, 1, 0, 64)}).value().item() ==
            uncached);
    }

    int compared = 0;
    store.for_each([&](const std::string& name, const Tensor<Cpu, double>&, const Tensor<Cpu, double>& grad) {
        const auto got = grad.to_vector();
        const auto offset = static_cast<std::size_t>(store.offset(store.find(name)));
        double diff = 0, norm = 0;
        for (std::size_t i = 0; i < got.size(); ++i) {
            diff = std::max(diff, std::abs(got[i] - expected[offset + i]));
            norm = std::max(norm, std::abs(expected[offset + i]));
        }
        // The floor is for gradients that vanish in exact arithmetic (the key biases).
        INFO(name << ": max |difference| " << diff << ", max |gradient| " << norm);
        CHECK(diff <= 1e-6 * norm + 1e-15);
        compared += norm > 1e-6;
    });
    // Everything but logit_scale (not read by this loss) and the key biases.
    CHECK(compared == static_cast<int>(store.size()) - 5);
}

TEST_CASE(
    "CachedMultipleNegativesRankingLoss trains a tiny CLIP at batch 1024 in about the memory of batch 64") {
    // Peak memory does not depend on the thread count; one thread keeps the 64 small
    // forward passes fast on a loaded machine.
    const int threads = get_num_threads();
    set_num_threads(1);
    const index_t tokens = 8, image_size = 16;
    const auto config = tiny_clip(32, image_size, 4, tokens);
    CLIPModel<Cpu, float> model(config);
    auto& store = model.parameters();
    model.for_each_parameter([&](const std::string&, Parameter p) { init_normal(store, p, 0.02, 3); });
    const Batch<float> small(64, tokens, image_size), large(1024, tokens, image_size);
    const MultipleNegativesRankingLoss<Cpu, float> loss;
    const CachedMultipleNegativesRankingLoss<Cpu, float> cached({}, 64);

    const double uncached_64 = peak_growth_mib([&] {
        Graph<Cpu, float> g;
        g.backward(loss(g, {small.encode(model, g, 0, 0, 64), small.encode(model, g, 1, 0, 64)}));
    });
    const double cached_1024 =
        peak_growth_mib([&] { cached.forward_backward(encoder(model, large), 2, 1024); });
    MESSAGE("peak above the weights: uncached batch 64 ", uncached_64,
            " MiB; cached batch 1024 (mini-batch 64) ", cached_1024, " MiB");
    // Uncached, batch 1024 peaks at about 16 times batch 64 (400 MiB when measured).
    set_num_threads(threads);
    CHECK(cached_1024 < 1.25 * uncached_64);
}

TEST_CASE("CachedMultipleNegativesRankingLoss replays each mini-batch's dropout masks in training mode") {
    // The encoder drops half of each embedding; with the masks a function of the seed, the
    // loss is a smooth function of the embeddings, and finite differences check that both
    // passes over a mini-batch drew the same masks.
    ParameterStore<Cpu, double> store;
    std::vector<Parameter> columns;
    for (int c = 0; c < 3; ++c) columns.push_back(store.add("column_" + std::to_string(c), {6, 5}));
    for (int c = 0; c < 3; ++c)
        store.value(columns[c]).copy_from(testing::random_tensor<Cpu, double>({6, 5}, 40 + c));
    const ColumnEncoder<Cpu, double> encode = [&](Graph<Cpu, double>& g, int c, index_t begin, index_t end) {
        return dropout(slice(g.parameter(store, columns[static_cast<std::size_t>(c)]), 0, begin, end), 0.5);
    };
    const CachedMultipleNegativesRankingLoss<Cpu, double> loss({}, 4);
    const GraphOptions training{.training = true, .seed = 17};
    auto value = [&] { return loss.forward_backward(encode, 3, 6, {}, training).item(); };
    store.zero_grad();
    const double base = value();
    const auto analytic = store.grads().to_vector();
    auto values = store.values();
    auto flat = values.to_vector();
    double worst = 0, largest = 0;
    for (std::size_t i = 0; i < flat.size(); ++i) {
        auto at = [&](double x) {
            auto shifted = flat;
            shifted[i] = x;
            values.copy_from(Tensor<Cpu, double>::from_vector(shifted, values.shape()));
            return value();
        };
        const double numeric = (at(flat[i] + 1e-6) - at(flat[i] - 1e-6)) / 2e-6;
        worst = std::max(worst, std::abs(numeric - analytic[i]));
        largest = std::max(largest, std::abs(numeric));
    }
    values.copy_from(Tensor<Cpu, double>::from_vector(flat, values.shape()));
    CHECK(value() == base);
    INFO("max |analytic - numeric| " << worst << " of " << largest);
    CHECK(worst < 1e-6 * largest);
}

TEST_CASE("CLIPLoss on a CLIPModel's embeddings and logit_scale is the model's own CLIP loss") {
    CLIPModel<Cpu, double> model(tiny_clip(8, 6, 3, 5));
    auto& store = model.parameters();
    model.for_each_parameter([&](const std::string&, Parameter p) { init_normal(store, p, 0.5, 7); });
    const Batch<double> batch(6, 5, 6);
    store.zero_grad();
    double expected = 0;
    {
        Graph<Cpu, double> g;
        auto loss = clip_loss(model.forward(g, batch.text, g.input(batch.pixels)).logits_per_text);
        expected = loss.value().item();
        g.backward(loss);
    }
    const auto expected_grads = store.grads().to_vector();
    store.zero_grad();
    const CLIPLoss<Cpu, double> loss(store);
    Graph<Cpu, double> g;
    auto value = loss(g, {batch.encode(model, g, 0, 0, 6), batch.encode(model, g, 1, 0, 6)});
    g.backward(value);
    CHECK(value.value().item() == doctest::Approx(expected).epsilon(1e-14));
    const auto grads = store.grads().to_vector();
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < grads.size(); ++i) {
        diff = std::max(diff, std::abs(grads[i] - expected_grads[i]));
        norm = std::max(norm, std::abs(expected_grads[i]));
    }
    CHECK(diff <= 1e-12 * norm);
    CHECK(store.grad(loss.logit_scale()).item() != 0.0);
}
