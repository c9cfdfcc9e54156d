// The catalogue's losses drive real training: the tiny CLIP, from scratch on drawn
// shapes, learns image-to-image retrieval from TripletLoss on image triplets and
// caption-to-image retrieval from CoSENTLoss on scored pairs, and AdaptiveLayerLoss trains each layer of a
// BERT stack on the shapes' captions.
#include <tandem/losses/triplet.hpp>

#include <tandem/eval/metrics.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>
#include <tandem/losses/pairs.hpp>
#include <tandem/losses/wrappers.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/model_with_store.hpp>
#include <tandem/models/sentence_transformer_stack.hpp>

#include <doctest/doctest.h>

#include "shapes.hpp"
#include "temp_dir.hpp"

using namespace tandem;
using namespace tandem::testing::drawn;

namespace {

// Image-to-image recall@1 on 64 images not trained on (4 per class): the nearest other
// image of each must be of its class.
double image_recall_at_1(const Model& model) {
    const auto batch = held_out_batch({"image"});
    NoGradGuard no_grad;
    Graph<Cpu, float> g;
    const auto e = encode_column(model, g, batch.inputs[0]);
    const auto sims = cosine_similarity(e, e).value().to_vector();
    int hits = 0;
    for (std::size_t q = 0; q < 64; ++q) {
        std::size_t best = q == 0 ? 1 : 0;
        for (std::size_t d = 0; d < 64; ++d)
            if (d != q && sims[q * 64 + d] > sims[q * 64 + best]) best = d;
        hits += best % 16 == q % 16;
    }
    return hits / 64.0;
}

// (anchor, positive, negative) images: two drawings of one class in other places and
// sizes, and one of another class.
data::Dataset image_triplets(std::size_t n) {
    std::vector<data::ImageRef> anchors, positives, negatives;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t cls = i % 16, round = i / 16;
        const std::size_t other = (cls + 1 + (i * 7 + round) % 15) % 16;
        anchors.push_back(data::decoded_image(draw(cls / 4, cls % 4, 2 * round)));
        positives.push_back(data::decoded_image(draw(cls / 4, cls % 4, 2 * round + 1)));
        negatives.push_back(data::decoded_image(draw(other / 4, other % 4, round)));
    }
    return data::Dataset({data::Column("anchor", anchors), data::Column("positive", positives),
                          data::Column("negative", negatives)});
}

}  // namespace

TEST_CASE("TripletLoss on image triplets teaches the tiny CLIP's image tower its classes") {
    set_num_threads(2);
    testing::TempDir dir("triplet_training");
    auto model = tiny_clip();
    const double before = image_recall_at_1(model);
    auto args = quiet_args(dir.path(), 150);
    args.per_device_train_batch_size = 16;
    args.learning_rate = 5e-3;
    const TripletLoss<Cpu, float> loss(
        {.distance_metric = TripletDistanceMetric::cosine, .triplet_margin = 0.5});
    SentenceTransformerTrainer trainer(model, args, image_triplets(320), loss, tiny_collator(), silent());
    trainer.train();
    const double after = image_recall_at_1(model);
    MESSAGE("image-to-image recall@1: ", before, " before, ", after, " after 150 steps");
    // Seed 7: 0.58 before, 0.80 after.
    CHECK(after >= before + 0.15);
}

namespace {

// (caption, image, score): a caption with a drawing of its own class (score 1), of a class
// sharing its colour or its shape (0.5), or of neither (0).
data::Dataset scored_pairs(std::size_t n, std::size_t first_round = 0) {
    std::vector<std::string> captions;
    std::vector<data::ImageRef> images;
    std::vector<float> scores;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t cls = i % 16, round = first_round + i / 16;
        const std::size_t shown = i % 3 == 0 ? cls : (cls + 1 + (i * 5 + round) % 15) % 16;
        captions.push_back(caption(cls));
        images.push_back(data::decoded_image(draw(shown / 4, shown % 4, round)));
        scores.push_back(shown == cls ? 1.0f : (shown / 4 == cls / 4 || shown % 4 == cls % 4) ? 0.5f : 0.0f);
    }
    return data::Dataset(
        {data::Column("caption", captions), data::Column("image", images), data::Column("score", scores)});
}

// CoSENT's own measure: the Spearman correlation of the pairs' cosine similarities with
// their scores, on 96 pairs not trained on.
double held_out_spearman(const Model& model) {
    const auto data = scored_pairs(96, 40);
    std::vector<std::size_t> rows(96);
    for (std::size_t i = 0; i < 96; ++i) rows[i] = i;
    const auto batch = data::Batch<Cpu>::from_host(tiny_collator().collate(data, rows, 0));
    NoGradGuard no_grad;
    Graph<Cpu, float> g;
    const auto sims =
        cosine_similarity(encode_column(model, g, batch.inputs[0]), encode_column(model, g, batch.inputs[1]))
            .value()
            .to_vector();
    std::vector<double> paired, scores;
    for (std::size_t i = 0; i < 96; ++i) {
        paired.push_back(sims[i * 96 + i]);
        scores.push_back(data.column(2).score(i));
    }
    return eval::spearman(paired, scores);
}

}  // namespace

TEST_CASE("CoSENTLoss on scored caption-image pairs teaches the text tower to find the images") {
    set_num_threads(2);
    testing::TempDir dir("cosent_training");
    auto model = tiny_clip();
    // The image tower first learns its classes from image triplets, then is frozen (LiT):
    // with one patch per image its drawings start almost equal, and CoSENT, which only
    // ranks the pairs of a batch against each other, does not pull them apart.
    auto args = quiet_args(dir.path(), 150);
    args.per_device_train_batch_size = 16;
    args.learning_rate = 5e-3;
    SentenceTransformerTrainer(
        model, args, image_triplets(320),
        TripletLoss<Cpu, float>({.distance_metric = TripletDistanceMetric::cosine, .triplet_margin = 0.5}),
        tiny_collator(), silent())
        .train();
    const double before = recall_at_1(model), spearman_before = held_out_spearman(model);
    args.learning_rate = 2e-3;
    args.per_device_train_batch_size = 32;
    auto locked = silent();
    locked.frozen = {"vision_model.*", "visual_projection.*"};
    SentenceTransformerTrainer(model, args, scored_pairs(480), CoSENTLoss<Cpu, float>(), tiny_collator(),
                               locked)
        .train();
    const double after = recall_at_1(model), spearman_after = held_out_spearman(model);
    MESSAGE("caption-to-image recall@1: ", before, " before, ", after,
            " after 150 steps of CoSENT; Spearman ", spearman_before, " -> ", spearman_after);
    // Seed 7: recall@1 0.125 -> 0.25, Spearman -0.05 -> 0.63.
    CHECK(after >= before + 0.1);
    CHECK(spearman_after >= spearman_before + 0.4);
}

namespace {

// BERT (2 layers, no dropout) + mean Pooling over the drawn shapes' vocabulary.
auto tiny_bert_stack() {
    io::BertConfig c;
    c.vocab_size = 11;
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 8;
    c.hidden_dropout_prob = 0;
    c.attention_probs_dropout_prob = 0;
    auto model = make_model<Cpu, float>([&](auto& store) {
        return SentenceTransformerStack(BertTower<Cpu, float>(store, Scope("0"), c), Pooling<Cpu, float>());
    });
    // BERT's initialisation: normal(0.02) weights, zero biases, unit LayerNorm scales.
    std::uint64_t seed = 11;
    model.for_each_parameter([&](const std::string& name, Parameter p) {
        if (name.ends_with("LayerNorm.weight"))
            init_constant(model.parameters(), p, 1.0);
        else if (name.ends_with("weight"))
            init_normal(model.parameters(), p, 0.02, seed++);
    });
    return model;
}

// ("a red disc", "disc red"): each caption and its words in another order.
data::Dataset caption_pairs() {
    std::vector<std::string> anchors, positives;
    for (std::size_t cls = 0; cls < 16; ++cls) {
        anchors.push_back(caption(cls));
        positives.push_back(std::string(shapes[cls % 4]) + " " + colours[cls / 4]);
    }
    return data::Dataset({data::Column("anchor", anchors), data::Column("positive", positives)});
}

data::Batch<Cpu> all_pairs() {
    std::vector<std::size_t> rows(16);
    for (std::size_t r = 0; r < 16; ++r) rows[r] = r;
    return data::Batch<Cpu>::from_host(
        data::Collator(tiny_tokenizer(), std::nullopt).collate(caption_pairs(), rows, 0, false, ""));
}

// MultipleNegativesRankingLoss over the pairs, each side mean-pooled from hidden state
// `layer` of the tower, computed from the pieces rather than through encode_layers.
template <class M>
double mnrl_at_layer(const M& model, std::size_t layer) {
    const auto batch = all_pairs();
    NoGradGuard no_grad;
    Graph<Cpu, float> g;
    std::vector<Var<Cpu, float>> columns;
    for (const auto& in : batch.inputs) {
        const auto states = model.model().tower().forward(g, *in.text, true).hidden_states;
        columns.push_back(model.model().template get<1>().forward(
            g, states.at(layer), in.text->attention_mask, in.text->prompt_length));
    }
    return double(MultipleNegativesRankingLoss<Cpu, float>()(g, columns, {}).value().item());
}

}  // namespace

TEST_CASE("AdaptiveLayerLoss trains every layer of a BERT stack through the trainer") {
    set_num_threads(2);
    using Model = decltype(tiny_bert_stack());
    static_assert(LayerwiseEncoderModel<Model>);
    const AdaptiveLayerLoss<Cpu, float> loss(
        AnyEmbeddingLoss<Cpu, float>(MultipleNegativesRankingLoss<Cpu, float>()),
        {.n_layers_per_step = -1, .kl_temperature = 0});
    testing::TempDir dir("adaptive_layer_training");
    auto args = quiet_args(dir.path(), 1);
    args.per_device_train_batch_size = 16;

    // One step over the whole set: the loss the trainer reports is the last layer's MNRL
    // plus the mean of the two prior layers' (the embedding layer's and the first block's).
    {
        auto model = tiny_bert_stack();
        const double expected =
            mnrl_at_layer(model, 2) + (mnrl_at_layer(model, 0) + mnrl_at_layer(model, 1)) / 2;
        SentenceTransformerTrainer trainer(model, args, caption_pairs(), loss,
                                           data::Collator(tiny_tokenizer(), std::nullopt),
                                           TrainerOptions<Model>{.log_stream = nullptr});
        CHECK(trainer.train().training_loss == doctest::Approx(expected).epsilon(1e-5));
    }

    // Trained, the embedding layer alone matches a caption to its reordered words, better
    // than after the same steps of MNRL on the last layer only.
    args.max_steps = 60;
    args.learning_rate = 5e-3;
    const auto layer0_after = [&](const auto& training_loss) {
        auto model = tiny_bert_stack();
        SentenceTransformerTrainer trainer(model, args, caption_pairs(), training_loss,
                                           data::Collator(tiny_tokenizer(), std::nullopt),
                                           TrainerOptions<Model>{.log_stream = nullptr});
        trainer.train();
        return std::pair(mnrl_at_layer(model, 0), mnrl_at_layer(model, 2));
    };
    const double before = mnrl_at_layer(tiny_bert_stack(), 0);
    const auto [adaptive0, adaptive2] = layer0_after(loss);
    const auto [plain0, plain2] = layer0_after(MultipleNegativesRankingLoss<Cpu, float>());
    MESSAGE("MNRL at the embedding layer: ", before, " before; after 60 steps ", adaptive0,
            " with AdaptiveLayerLoss, ", plain0, " with MNRL alone (last layer: ", adaptive2, ", ", plain2,
            ")");
    // Seed 11: 1.02 before; 5.3e-5 with AdaptiveLayerLoss against 1.8e-4 with MNRL alone.
    CHECK(adaptive0 < before / 100);
    CHECK(adaptive0 < plain0 / 2);
}
