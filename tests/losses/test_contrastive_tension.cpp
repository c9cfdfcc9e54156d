// The Contrastive Tension losses in double: finite-difference gradient checks (the
// embeddings, and the in-batch loss's logit_scale), cases small enough to work on paper,
// and the errors of a wrong batch.
#include <tandem/losses/contrastive_tension.hpp>

#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>

#include <cmath>

#include "error_message.hpp"
#include "random.hpp"

using namespace tandem;
using tandem::testing::error_message;
using G = Graph<Cpu, double>;
using V = Var<Cpu, double>;
using VS = std::vector<V>;
using TD = Tensor<Cpu, double>;
using Labels = LossLabels<Cpu, double>;

namespace {
TD rnd(const Shape& s, std::uint64_t seed) {
    return tandem::testing::random_tensor<Cpu, double>(s, seed, -1, 1);
}
Labels binary() { return {.labels = Ids<Cpu>::from_vector({1, 0, 0, 1, 1}, {5}), .scores = std::nullopt}; }
}  // namespace

TEST_CASE("gradcheck: ContrastiveTensionLoss and ContrastiveTensionLossInBatchNegatives") {
    static_assert(EmbeddingLoss<ContrastiveTensionLoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<ContrastiveTensionLossInBatchNegatives<Cpu, double>, Cpu, double>);
    const std::vector<TD> inputs = {rnd({5, 6}, 31), rnd({5, 6}, 32)};
    const ContrastiveTensionLoss<Cpu, double> tension;
    auto r =
        tandem::testing::gradcheck<Cpu>([&](G& g, const VS& x) { return tension(g, x, binary()); }, inputs);
    CHECK(r.max_relative_error < 1e-6);
    for (auto similarity : {SimilarityFunction::cos_sim, SimilarityFunction::dot_score}) {
        const ContrastiveTensionLossInBatchNegatives<Cpu, double> in_batch(
            {.scale = 3.0, .similarity_fct = similarity});
        r = tandem::testing::gradcheck<Cpu>([&](G& g, const VS& x) { return in_batch(g, x, {}); }, inputs);
        CHECK(r.max_relative_error < 1e-6);
        r = tandem::testing::gradcheck_parameters<Cpu>(in_batch.parameters(), [&](G& g) {
            return in_batch(g, {g.input(inputs[0]), g.input(inputs[1])}, {});
        });
        CHECK(r.max_relative_error < 1e-6);
    }
}

TEST_CASE("hand-worked: orthogonal pairs cost log 2 each; equal embeddings leave log n in-batch") {
    // Rows e_i and e_{i+3} of the identity: every dot product is 0, so each pair's
    // binary cross-entropy is log 2 whatever its label, summed over the 3 pairs.
    G g;
    const auto eye = TD::from_vector({1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, {3, 6});
    const auto other = TD::from_vector({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1}, {3, 6});
    const Labels labels{.labels = Ids<Cpu>::from_vector({1, 0, 1}, {3}), .scores = std::nullopt};
    CHECK(ContrastiveTensionLoss<Cpu, double>()(g, {g.input(eye), g.input(other)}, labels).value().item() ==
          doctest::Approx(3 * std::log(2.0)).epsilon(1e-14));
    // Every row the same: all similarities tie, each softmax is uniform over the 4 rows.
    const auto same = TD::from_vector({0.5, -1, 2, 0.5, -1, 2, 0.5, -1, 2, 0.5, -1, 2}, {4, 3});
    CHECK(ContrastiveTensionLossInBatchNegatives<Cpu, double>()(g, {g.input(same), g.input(same)}, {})
              .value()
              .item() == doctest::Approx(std::log(4.0)).epsilon(1e-14));
}

TEST_CASE("the Contrastive Tension losses refuse a wrong batch, saying what they need and what they got") {
    G g;
    const auto x = g.input(rnd({5, 6}, 40));
    CHECK(error_message([&] {
              ContrastiveTensionLoss<Cpu, double>()(g, {x, x}, {});
          }) ==
          "ContrastiveTensionLoss: needs a label column (1 where both columns hold the same input, 0 "
          "otherwise); got 2 columns and no label column");
    CHECK(
        error_message([&] {
            ContrastiveTensionLoss<Cpu, double>()(g, {x, x, x}, binary());
        }) ==
        "ContrastiveTensionLoss: needs 2 columns (sentence_A, sentence_B) and a label column; got 3 columns "
        "and a label column");
    CHECK(error_message([&] {
              ContrastiveTensionLossInBatchNegatives<Cpu, double>()(g, {x}, {});
          }).find("ContrastiveTensionLossInBatchNegatives: needs 2 columns") == 0);
    CHECK(
        error_message([] { ContrastiveTensionLossInBatchNegatives<Cpu, double>({.scale = 0}); }) ==
        "ContrastiveTensionLossInBatchNegatives: scale must be positive (logit_scale = log(scale)), found 0");
}
