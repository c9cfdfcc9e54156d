// The catalogue's losses drive real training: the tiny CLIP, from scratch on drawn
// shapes, learns image-to-image retrieval from TripletLoss on image triplets.
#include <tandem/losses/triplet.hpp>

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
