// Train and eval mode, and freezing, on small random models: dropout where transformers
// applies it (BERT's embedding, attention-probability, attention-output, FFN-output and
// classifier dropout; CLIP's and SigLIP's attention dropout), eval mode equal bit for bit
// to a model without dropout, train masks repeating per seed at any thread count; a
// frozen (LiT) image tower recording no backward while the text tower's gradients equal
// an unfrozen run's.
#include <tandem/models/bert.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/siglip.hpp>
#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>

#include <map>

#include "random.hpp"

using namespace tandem;

namespace {

// Large enough that dropout masks and attention probabilities pass the parallel threshold.
io::BertConfig bert_config(double hidden_dropout, double attention_dropout) {
    io::BertConfig c;
    c.vocab_size = 30;
    c.hidden_size = 192;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 4;
    c.intermediate_size = 256;
    c.max_position_embeddings = 48;
    c.hidden_dropout_prob = hidden_dropout;
    c.attention_probs_dropout_prob = attention_dropout;
    return c;
}

// 4 rows of 48 tokens, the last two rows padded after 40 and 20 tokens.
TextBatch<Cpu> text_batch(index_t batch = 4, index_t length = 48, std::int64_t vocab = 30) {
    std::vector<std::int64_t> ids, mask;
    for (index_t b = 0; b < batch; ++b)
        for (index_t t = 0; t < length; ++t) {
            ids.push_back((b * 7 + t * 3) % (vocab - 1) + 1);
            mask.push_back(b < 2 || t < (b == 2 ? 40 : 20) ? 1 : 0);
        }
    return TextBatch<Cpu>::from_host(ids, batch, length, mask);
}

template <class Model>
void init_random(Model& model, std::uint64_t seed) {
    auto& store = model.parameters();
    model.for_each_parameter([&](const std::string&, Parameter p) { init_normal(store, p, 0.2, seed); });
}

// Both models share one set of weights: same names and shapes, so the same arena.
template <class Model>
void copy_weights(Model& to, Model& from) {
    to.parameters().values().copy_from(from.parameters().values());
}

struct Run {
    std::vector<float> values;
    std::size_t tape = 0;
    bool operator==(const Run&) const = default;
};

template <class Model, class F>
Run run(const Model& model, const GraphOptions& options, F&& outputs) {
    Graph<Cpu, float> g(options);
    Run r;
    for (const auto& v : outputs(model, g)) {
        const auto part = v.value().to_vector();
        r.values.insert(r.values.end(), part.begin(), part.end());
    }
    r.tape = g.tape_size();
    return r;
}

const GraphOptions eval_mode{};
GraphOptions train_mode(std::uint64_t seed) { return {.training = true, .seed = seed}; }

template <class Model, class F>
void check_modes(Model& dropping, Model& plain, F&& outputs) {
    // Eval mode is the forward of a model without dropout, bit for bit, ops counted.
    const Run eval = run(dropping, eval_mode, outputs);
    CHECK(eval == run(plain, eval_mode, outputs));
    // Train mode without dropout probabilities draws nothing and adds no op.
    CHECK(run(plain, train_mode(3), outputs) == eval);
    // Train mode drops: different from eval, the same for the same seed, new for another.
    const Run train = run(dropping, train_mode(3), outputs);
    CHECK(train.values != eval.values);
    CHECK(train == run(dropping, train_mode(3), outputs));
    CHECK(run(dropping, train_mode(4), outputs).values != train.values);
    const int threads = get_num_threads();
    set_num_threads(1);
    const Run one = run(dropping, train_mode(3), outputs);
    set_num_threads(2);
    const Run two = run(dropping, train_mode(3), outputs);
    set_num_threads(threads);
    CHECK(one == train);
    CHECK(two == train);
}

io::CLIPConfig clip_config(double attention_dropout) {
    io::CLIPConfig c;
    c.projection_dim = 6;
    c.text_config = {.vocab_size = 30,
                     .hidden_size = 16,
                     .intermediate_size = 24,
                     .projection_dim = 6,
                     .num_hidden_layers = 2,
                     .num_attention_heads = 2,
                     .max_position_embeddings = 48,
                     .attention_dropout = attention_dropout};
    c.text_config.eos_token_id = 29;
    c.vision_config = {.hidden_size = 16,
                       .intermediate_size = 24,
                       .projection_dim = 6,
                       .num_hidden_layers = 2,
                       .num_attention_heads = 2,
                       .image_size = 12,
                       .patch_size = 3,
                       .attention_dropout = attention_dropout};
    return c;
}

// The CLIP text batch: each row ends in eos (29) before its padding.
TextBatch<Cpu> clip_text() {
    return TextBatch<Cpu>::from_host({3, 7, 29, 29, 29, 4, 29, 29, 29, 29, 5, 6, 8, 9, 29}, 3, 5,
                                     {1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1});
}

}  // namespace

TEST_CASE(
    "BertModel: eval mode is the no-dropout forward bit for bit; train mode drops, per seed, at 1 or 2 "
    "threads") {
    BertModel<Cpu, float> dropping(bert_config(0.1, 0.1)), plain(bert_config(0, 0));
    init_random(plain, 5);
    copy_weights(dropping, plain);
    const auto text = text_batch();
    check_modes(dropping, plain, [&](const BertModel<Cpu, float>& m, Graph<Cpu, float>& g) {
        const auto out = m.forward(g, text);
        return std::vector{out.last_hidden_state, out.pooler_output};
    });
    // Attention-probability dropout alone changes the output too: it reaches the fused kernel.
    BertModel<Cpu, float> attention_only(bert_config(0, 0.1));
    copy_weights(attention_only, plain);
    const auto last = [&](const BertModel<Cpu, float>& m, const GraphOptions& o) {
        Graph<Cpu, float> g(o);
        return m.forward(g, text).last_hidden_state.value().to_vector();
    };
    CHECK(last(attention_only, train_mode(3)) != last(attention_only, eval_mode));
}

TEST_CASE("BertEmbeddings: train mode zeroes hidden_dropout_prob of LayerNorm's output and scales the rest") {
    ParameterStore<Cpu, float> store;
    const BertEmbeddings<Cpu, float> embeddings(store, Scope("embeddings"), bert_config(0.3, 0));
    for (int i = 0; i < static_cast<int>(store.size()); ++i) init_normal(store, Parameter{i}, 0.5, 9);
    const auto text = text_batch();
    Graph<Cpu, float> eval, train(train_mode(11));
    const auto x = embeddings.forward(eval, text).value().to_vector();
    const auto y = embeddings.forward(train, text).value().to_vector();
    const float kept = 1.0f / (1.0f - 0.3f);
    std::size_t zeros = 0;
    bool scaled = true;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (y[i] == 0.0f)
            ++zeros;
        else
            scaled = scaled && y[i] == x[i] * kept;
    }
    CHECK(scaled);
    // 36864 Bernoulli(0.3) draws: within 5 standard deviations (88) of 11059.
    const double n = double(x.size());
    MESSAGE("dropped " << zeros << " of " << x.size() << " embedding outputs at p = 0.3");
    CHECK(std::abs(double(zeros) - 0.3 * n) < 5 * std::sqrt(n * 0.3 * 0.7));
}

TEST_CASE(
    "BertForSequenceClassification drops the pooled output with classifier_dropout, else "
    "hidden_dropout_prob") {
    auto config = bert_config(0, 0);
    config.classifier_dropout = 0.5;
    BertForSequenceClassification<Cpu, float> model(config), plain(bert_config(0, 0));
    init_random(plain, 6);
    copy_weights(model, plain);
    const auto text = text_batch();
    const auto outputs = [&](const BertForSequenceClassification<Cpu, float>& m, const GraphOptions& o) {
        Graph<Cpu, float> g(o);
        const auto out = m.forward(g, text);
        return std::pair{out.bert.pooler_output.value().to_vector(), out.logits.value().to_vector()};
    };
    const auto eval = outputs(model, eval_mode);
    CHECK(eval == outputs(plain, eval_mode));
    const auto train = outputs(model, train_mode(2));
    // The encoder has no dropout here: only the head's input is dropped.
    CHECK(train.first == eval.first);
    CHECK(train.second != eval.second);
    // Unset, classifier_dropout falls back to hidden_dropout_prob, which drops the encoder too.
    BertForSequenceClassification<Cpu, float> fallback(bert_config(0.5, 0));
    copy_weights(fallback, plain);
    CHECK(outputs(fallback, train_mode(2)).first != eval.first);
}

TEST_CASE("gradient check in double through BERT in train mode with every dropout on (fixed seed)") {
    io::BertConfig c;
    c.vocab_size = 20;
    c.hidden_size = 8;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 2;
    c.intermediate_size = 12;
    c.max_position_embeddings = 6;
    c.hidden_dropout_prob = 0.2;
    c.attention_probs_dropout_prob = 0.3;
    c.classifier_dropout = 0.25;
    BertForSequenceClassification<Cpu, double> model(c);
    init_random(model, 7);
    const auto text = TextBatch<Cpu>::from_host({3, 7, 9, 2, 0, 0, 4, 5, 6, 8, 1, 2}, 2, 6,
                                                {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1});
    const auto probe = testing::random_tensor<Cpu, double>({2, 2}, 3);
    const auto result = testing::gradcheck_parameters<Cpu>(
        model.parameters(),
        [&](Graph<Cpu, double>& g) { return sum(mul(model.forward(g, text).logits, g.input(probe))); }, 3,
        1e-6, train_mode(21));
    CHECK(result.max_relative_error < 1e-6);
}

TEST_CASE("CLIPModel and SiglipModel drop attention probabilities (attention_dropout) in train mode only") {
    const auto text = clip_text();
    const auto pixels = testing::random_tensor<Cpu, float>({3, 3, 12, 12}, 5);
    {
        CLIPModel<Cpu, float> dropping(clip_config(0.2)), plain(clip_config(0));
        init_random(plain, 8);
        copy_weights(dropping, plain);
        check_modes(dropping, plain, [&](const CLIPModel<Cpu, float>& m, Graph<Cpu, float>& g) {
            const auto out = m.forward(g, text, g.input(pixels));
            return std::vector{out.text.embeds, out.vision.embeds, out.logits_per_text};
        });
    }
    {
        const auto siglip = [](double p) {
            io::SiglipConfig c;
            for (auto* t : {&c.text_config.hidden_size, &c.vision_config.hidden_size}) *t = 16;
            for (auto* t : {&c.text_config.intermediate_size, &c.vision_config.intermediate_size}) *t = 24;
            for (auto* t : {&c.text_config.num_hidden_layers, &c.vision_config.num_hidden_layers}) *t = 2;
            for (auto* t : {&c.text_config.num_attention_heads, &c.vision_config.num_attention_heads}) *t = 2;
            c.text_config.vocab_size = 30;
            c.text_config.max_position_embeddings = 5;
            c.vision_config.image_size = 12;
            c.vision_config.patch_size = 3;
            c.text_config.attention_dropout = c.vision_config.attention_dropout = p;
            return c;
        };
        SiglipModel<Cpu, float> dropping(siglip(0.2)), plain(siglip(0));
        init_random(plain, 9);
        copy_weights(dropping, plain);
        check_modes(dropping, plain, [&](const SiglipModel<Cpu, float>& m, Graph<Cpu, float>& g) {
            const auto out = m.forward(g, text, g.input(pixels));
            return std::vector{out.text_embeds, out.image_embeds, out.logits_per_text};
        });
    }
}

TEST_CASE("LiT: a frozen image tower records no backward; the text gradients equal an unfrozen run's") {
    CLIPModel<Cpu, float> model(clip_config(0));
    init_random(model, 10);
    auto& store = model.parameters();
    const auto text = clip_text();
    const auto pixels = testing::random_tensor<Cpu, float>({3, 3, 12, 12}, 6);
    // Slots the image tower adds to the tape, and every gradient after a CLIP loss.
    const auto step = [&] {
        store.zero_grad();
        Graph<Cpu, float> g(train_mode(1));
        const auto before = g.tape_size();
        const auto image = model.encode_image(g, g.input(pixels));
        const auto image_slots = g.tape_size() - before;
        const auto logits = model.forward(g, text, g.input(pixels)).logits_per_text;
        g.backward(clip_loss(logits));
        return std::pair{image_slots, image.requires_grad()};
    };
    const auto [unfrozen_slots, unfrozen_needs] = step();
    CHECK(unfrozen_slots > 50);
    CHECK(unfrozen_needs);
    std::map<std::string, std::vector<float>> unfrozen;
    store.for_each(
        [&](const std::string& name, const auto&, const auto& grad) { unfrozen[name] = grad.to_vector(); });

    CHECK(store.freeze("vision_model.*") + store.freeze("visual_projection.*") > 0);
    const auto [frozen_slots, frozen_needs] = step();
    MESSAGE("image tower: " << unfrozen_slots << " tape slots trained, " << frozen_slots << " frozen");
    CHECK(frozen_slots == 0);
    CHECK(!frozen_needs);
    std::size_t frozen = 0, trained = 0;
    store.for_each([&](const std::string& name, const auto&, const auto& grad) {
        const auto g = grad.to_vector();
        if (name.starts_with("vision_model.") || name.starts_with("visual_projection.")) {
            ++frozen;
            CHECK(g == std::vector<float>(g.size(), 0.0f));
        } else {
            ++trained;
            INFO(name);
            CHECK(g == unfrozen[name]);
        }
    });
    CHECK(frozen > 0);
    CHECK(trained > 0);
}
