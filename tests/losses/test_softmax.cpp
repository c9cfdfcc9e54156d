// SoftmaxLoss in double: finite-difference gradient checks (the embeddings and the
// classifier), a zero classifier's log(num_labels), and the errors of a wrong batch.
#include <tandem/losses/softmax.hpp>

#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>

#include <cmath>

#include "error_message.hpp"
#include "random.hpp"

using namespace tandem;
using tandem::testing::error_message;
using G = Graph<Cpu, double>;
using VS = std::vector<Var<Cpu, double>>;
using TD = Tensor<Cpu, double>;
using Labels = LossLabels<Cpu, double>;

namespace {
TD rnd(const Shape& s, std::uint64_t seed) {
    return tandem::testing::random_tensor<Cpu, double>(s, seed, -1, 1);
}
Labels classes(const std::vector<std::int64_t>& v) {
    return {.labels = Ids<Cpu>::from_vector(v, {static_cast<index_t>(v.size())}), .scores = std::nullopt};
}
}  // namespace

TEST_CASE("gradcheck: SoftmaxLoss over the embeddings and its classifier, for each feature set") {
    static_assert(EmbeddingLoss<SoftmaxLoss<Cpu, double>, Cpu, double>);
    const std::vector<TD> inputs = {rnd({5, 4}, 51), rnd({5, 4}, 52)};
    const auto labels = classes({0, 2, 1, 2, 0});
    for (const bool rep : {true, false})
        for (const bool multiplication : {false, true}) {
            const SoftmaxLoss<Cpu, double> loss({.embedding_dimension = 4,
                                                 .num_labels = 3,
                                                 .concatenation_sent_rep = rep,
                                                 .concatenation_sent_multiplication = multiplication,
                                                 .seed = 3});
            auto r = tandem::testing::gradcheck<Cpu>([&](G& g, const VS& x) { return loss(g, x, labels); },
                                                     inputs);
            CHECK(r.max_relative_error < 1e-6);
            r = tandem::testing::gradcheck_parameters<Cpu>(loss.parameters(), [&](G& g) {
                return loss(g, {g.input(inputs[0]), g.input(inputs[1])}, labels);
            });
            CHECK(r.max_relative_error < 1e-6);
        }
}

TEST_CASE("hand-worked: a zero classifier gives every class the same logit, log(num_labels)") {
    const SoftmaxLoss<Cpu, double> loss({.embedding_dimension = 4, .num_labels = 5});
    auto& store = loss.parameters();
    CHECK(store.shape(store.find("classifier.weight")) == Shape{5, 12});
    for (const char* name : {"classifier.weight", "classifier.bias"})
        init_constant(store, store.find(name), 0.0);
    G g;
    CHECK(loss(g, {g.input(rnd({3, 4}, 60)), g.input(rnd({3, 4}, 61))}, classes({4, 0, 2})).value().item() ==
          doctest::Approx(std::log(5.0)).epsilon(1e-14));
}

TEST_CASE("SoftmaxLoss refuses a wrong batch or configuration, saying what it needs and what it got") {
    const SoftmaxLoss<Cpu, double> loss({.embedding_dimension = 4, .num_labels = 3});
    G g;
    const auto x = g.input(rnd({3, 4}, 70));
    CHECK(error_message([&] {
              loss(g, {x, x}, {});
          }) ==
          "SoftmaxLoss: needs 2 columns (input_A, input_B) and a label column; got 2 columns and no label "
          "column");
    CHECK(error_message([&] {
              loss(g, {x, x}, {.labels = std::nullopt, .scores = TD::from_vector({0.5, 1, 0}, {3})});
          }) == "SoftmaxLoss: needs integer class labels in [0, 3); got float scores");
    CHECK(error_message([&] {
              loss(g, {x, x}, classes({0, 3, 1}));
          }).find("outside the classes [0, 3)") != std::string::npos);
    CHECK(error_message([&] {
              loss(g, {x, x}, classes({0, 1}));
          }) == "SoftmaxLoss: needs one class label per pair (3); got [2]");
    const auto wide = g.input(rnd({3, 6}, 71));
    CHECK(error_message([&] {
              loss(g, {wide, wide}, classes({0, 1, 2}));
          }) ==
          "SoftmaxLoss: expected two columns of embeddings [batch, 4] (embedding_dimension); got [3, 6] and "
          "[3, 6]");
    CHECK(error_message([] {
              SoftmaxLoss<Cpu, double>({.embedding_dimension = 4,
                                        .num_labels = 3,
                                        .concatenation_sent_rep = false,
                                        .concatenation_sent_difference = false});
          }) ==
          "SoftmaxLoss: at least one of concatenation_sent_rep, concatenation_sent_difference or "
          "concatenation_sent_multiplication must be true");
    CHECK(error_message([] { SoftmaxLoss<Cpu, double>({.num_labels = 3}); }) ==
          "SoftmaxLoss: embedding_dimension and num_labels must be positive, found 0 and 3");
}
