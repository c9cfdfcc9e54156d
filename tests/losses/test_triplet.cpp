// The triplet losses in double: finite-difference gradient checks, cases small enough to
// work on paper (margins exactly met, triplets of zero loss), their kernels, the errors
// of a wrong batch, and a run on the Sealed backend.
#include <tandem/losses.hpp>

#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "error_message.hpp"
#include "random.hpp"
#include "support/sealed_backend.hpp"

using namespace tandem;
using tandem::testing::error_message;
using tandem::testing::gradcheck;
using tandem::testing::random_tensor;
using G = Graph<Cpu, double>;
using V = Var<Cpu, double>;
using VS = std::vector<V>;
using TD = Tensor<Cpu, double>;
using Labels = LossLabels<Cpu, double>;
using Metric = BatchHardTripletLossDistanceFunction;

namespace {
constexpr double tolerance = 1e-6;

TD rnd(const Shape& s, std::uint64_t seed) { return random_tensor<Cpu, double>(s, seed, -1, 1); }

void check(const std::string& name, const std::function<V(G&, const VS&)>& f, const std::vector<TD>& inputs) {
    const auto r = gradcheck<Cpu>(f, inputs);
    INFO(name << ": worst input " << r.worst_input << ", relative error " << r.max_relative_error);
    CHECK(r.max_relative_error < tolerance);
}

Labels classes(const std::vector<std::int64_t>& v) {
    return {.labels = Ids<Cpu>::from_vector(v, {static_cast<index_t>(v.size())}), .scores = std::nullopt};
}

TD constant(const Shape& s, const std::vector<double>& v) { return TD::from_vector(v, s); }

double value(const V& v) { return v.value().item(); }

// Rows 0, 1 (class 0) and 3, 10 (class 1) on a line: distances 1, 3, 10, 2, 9, 7.
const TD line = constant({4, 1}, {0, 1, 3, 10});
const Labels line_classes = classes({0, 0, 1, 1});
}  // namespace

TEST_CASE("the triplet losses satisfy their concept") {
    static_assert(EmbeddingLoss<TripletLoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<BatchAllTripletLoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<BatchHardTripletLoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<BatchSemiHardTripletLoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<BatchHardSoftMarginTripletLoss<Cpu, double>, Cpu, double>);
}

TEST_CASE("gradcheck: the triplet losses") {
    const std::vector<TD> triplet = {rnd({5, 6}, 1), rnd({5, 6}, 2), rnd({5, 6}, 3)};
    for (auto metric : {TripletDistanceMetric::euclidean, TripletDistanceMetric::cosine,
                        TripletDistanceMetric::manhattan}) {
        const TripletLoss<Cpu, double> loss({.distance_metric = metric, .triplet_margin = 1.0});
        check(
            "TripletLoss", [&](G& g, const VS& v) { return loss(g, v, {}); }, triplet);
    }
    const std::vector<TD> x = {rnd({7, 6}, 4)};
    const auto labels = classes({0, 1, 0, 2, 1, 0, 2});
    for (auto metric : {Metric::euclidean_distance, Metric::cosine_distance}) {
        const double margin = metric == Metric::cosine_distance ? 0.3 : 1.0;
        const BatchAllTripletLoss<Cpu, double> all({.distance_metric = metric, .margin = margin});
        check(
            "BatchAllTripletLoss", [&](G& g, const VS& v) { return all(g, v, labels); }, x);
        const BatchHardTripletLoss<Cpu, double> hard({.distance_metric = metric, .margin = margin});
        check(
            "BatchHardTripletLoss", [&](G& g, const VS& v) { return hard(g, v, labels); }, x);
        const BatchSemiHardTripletLoss<Cpu, double> semi({.distance_metric = metric, .margin = margin});
        check(
            "BatchSemiHardTripletLoss", [&](G& g, const VS& v) { return semi(g, v, labels); }, x);
        const BatchHardSoftMarginTripletLoss<Cpu, double> soft({.distance_metric = metric});
        check(
            "BatchHardSoftMarginTripletLoss", [&](G& g, const VS& v) { return soft(g, v, labels); }, x);
    }
}

TEST_CASE("hand-worked: TripletLoss with a margin exactly met, and a zero distance") {
    G g;
    // d(a, p) = 1 and d(a, n) = 6 with margin 5: exactly met, loss 0; d(a, n) = 2: loss 4.
    const VS v = {g.input(constant({2, 2}, {0, 0, 0, 0}), true), g.input(constant({2, 2}, {1, 0, 0, 1})),
                  g.input(constant({2, 2}, {6, 0, 0, 2}))};
    CHECK(value(TripletLoss<Cpu, double>()(g, v)) == doctest::Approx(2.0));
    // Manhattan: d(a, p) = 1, d(a, n) = 6 and 2, margin 1: 0 and 0.
    const TripletLoss<Cpu, double> manhattan(
        {.distance_metric = TripletDistanceMetric::manhattan, .triplet_margin = 1.0});
    CHECK(value(manhattan(g, v)) == 0);
    // The anchor is its positive: a zero distance, whose gradient is 0, not NaN.
    G h;
    const TD a = constant({1, 2}, {1, 2});
    const VS same = {h.input(a, true), h.input(a, true), h.input(constant({1, 2}, {1, 3}), true)};
    const auto loss = TripletLoss<Cpu, double>()(h, same);
    CHECK(value(loss) == doctest::Approx(4.0));
    h.backward(loss);
    for (double d : h.grad(same[1]).to_vector()) CHECK(std::isfinite(d));
    CHECK(h.grad(same[2]).to_vector() == std::vector<double>{0, -1});
}

TEST_CASE("hand-worked: the batch losses on four rows of a line") {
    G g;
    const VS v = {g.input(line, true)};
    // Hardest positive minus hardest negative: 1 - 3, 1 - 2, 7 - 2, 7 - 9.
    // Margin 2: anchors 0 and 3 exactly meet it; 0, 1, 7, 0.
    CHECK(value(BatchHardTripletLoss<Cpu, double>({.margin = 2})(g, v, line_classes)) ==
          doctest::Approx(2.0));
    // Every triplet: (0,1,2) 0, (1,0,2) 1, (2,3,0) 6, (2,3,1) 7, (3,2,1) 0, others below 0:
    // 14 over the 3 positive ones.
    CHECK(value(BatchAllTripletLoss<Cpu, double>({.margin = 2})(g, v, line_classes)) ==
          doctest::Approx(14.0 / 3));
    // Semi-hard: (0,1) takes 3: 0; (1,0) takes 2: 1; (2,3) has none farther than 7 and takes
    // the farthest, 3: 6; (3,2) takes 9: 0. 7 over 4 pairs.
    CHECK(value(BatchSemiHardTripletLoss<Cpu, double>({.margin = 2})(g, v, line_classes)) ==
          doctest::Approx(1.75));
    auto softplus = [](double x) { return std::log1p(std::exp(x)); };
    CHECK(value(BatchHardSoftMarginTripletLoss<Cpu, double>()(g, v, line_classes)) ==
          doctest::Approx((2 * softplus(-2) + softplus(-1) + softplus(5)) / 4));
    // Margin 0.5 leaves anchors 0, 1 and 3 at zero loss: only anchor 2 remains.
    const auto loss = BatchHardTripletLoss<Cpu, double>({.margin = 0.5})(g, v, line_classes);
    CHECK(value(loss) == doctest::Approx(5.5 / 4));
    g.backward(loss);
    // (d(2, 3) - d(2, 1)) / 4 = ((x3 - x2) - (x2 - x1)) / 4.
    const std::vector<double> expected = {0, 0.25, -0.5, 0.25}, grad = g.grad(v[0]).to_vector();
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(grad[i] == doctest::Approx(expected[i]));
}

TEST_CASE("the triplet kernels: label masks, range masks, semi-hard negatives") {
    const auto labels = Ids<Cpu>::from_vector({4, 7, 4}, {3});
    TD same = TD::empty({3, 3});
    Cpu::label_equal_mask(same.data(), labels.data(), 3, 1.0, 0.0);
    CHECK(same.to_vector() == std::vector<double>{1, 0, 1, 0, 1, 0, 1, 0, 1});
    const TD x = constant({4}, {-1, 0, 1e-17, 2});
    TD mask = TD::empty({4});
    Cpu::range_mask(mask.data(), x.data(), 4, 0.0, 0.0, 1.0, 0.0);
    CHECK(mask.to_vector() == std::vector<double>{0, 1, 0, 0});
    auto rows = Ids<Cpu>::empty({6});
    Cpu::repeat_each(rows.data(), 2, 3);
    CHECK(rows.to_vector() == std::vector<std::int64_t>{0, 0, 0, 1, 1, 1});
    // The line's distances: for (2, 3) no negative is farther than 7, so the farthest (0).
    TD d = constant({4, 4}, {0, 1, 3, 10, 1, 0, 2, 9, 3, 2, 0, 7, 10, 9, 7, 0});
    auto chosen = Ids<Cpu>::empty({16});
    Cpu::semi_hard_negatives(chosen.data(), d.data(), line_classes.labels->data(), 4);
    const auto c = chosen.to_vector();
    CHECK(c[0 * 4 + 1] == 0 * 4 + 2);
    CHECK(c[1 * 4 + 0] == 1 * 4 + 2);
    CHECK(c[2 * 4 + 3] == 2 * 4 + 0);
    CHECK(c[3 * 4 + 2] == 3 * 4 + 1);
    // Without any negative: the row's first minimum.
    const auto one_class = Ids<Cpu>::from_vector({0, 0, 0, 0}, {4});
    Cpu::semi_hard_negatives(chosen.data(), d.data(), one_class.data(), 4);
    CHECK(chosen.to_vector()[1 * 4 + 0] == 1 * 4 + 1);
}

TEST_CASE("the triplet losses refuse a wrong batch, saying what they need and what they got") {
    G g;
    const VS two = {g.input(rnd({4, 3}, 1)), g.input(rnd({4, 3}, 2))};
    CHECK(error_message([&] { TripletLoss<Cpu, double>()(g, two); }) ==
          "TripletLoss: needs 3 columns (anchor, positive, negative); got 2 columns and no label column");
    const VS one = {g.input(rnd({4, 3}, 3))};
    CHECK(error_message([&] { BatchHardTripletLoss<Cpu, double>()(g, one, {}); }) ==
          "BatchHardTripletLoss: needs 1 column (the embeddings to mine triplets from) and a label column; "
          "got 1 column and no label column");
    CHECK(error_message([&] { BatchAllTripletLoss<Cpu, double>()(g, two, line_classes); }) ==
          "BatchAllTripletLoss: needs 1 column (the embeddings to mine triplets from) and a label column; "
          "got 2 columns and a label column");
    CHECK(error_message([&] {
              BatchSemiHardTripletLoss<Cpu, double>()(g, one, classes({0, 1, 0}));
          }) ==
          "BatchSemiHardTripletLoss: expects 4 labels (one per example), but got 3 labels with shape [3]");
    const Labels scores{.labels = std::nullopt, .scores = rnd({4}, 4)};
    CHECK(error_message([&] { BatchHardSoftMarginTripletLoss<Cpu, double>()(g, one, scores); }) ==
          "BatchHardSoftMarginTripletLoss: needs integer class labels (one per row); got float labels");
}

TEST_CASE("the triplet losses run on the Sealed backend with the CPU's results") {
    using S = testing::Sealed;
    const TD x = rnd({6, 5}, 9);
    const std::vector<std::int64_t> labels = {0, 1, 0, 1, 2, 2};
    auto run = [&]<class Bk>() {
        auto to = [](const TD& t) { return Tensor<Bk, double>::from_vector(t.to_vector(), t.shape()); };
        Graph<Bk, double> g;
        const std::vector<Var<Bk, double>> v = {g.input(to(x), true)};
        const LossLabels<Bk, double> l{.labels = Ids<Bk>::from_vector(labels, {6}), .scores = std::nullopt};
        const std::vector<Var<Bk, double>> t = {v[0], add(v[0], g.input(to(rnd({6, 5}, 10)))),
                                                add(v[0], g.input(to(rnd({6, 5}, 11))))};
        auto loss = add(add(BatchAllTripletLoss<Bk, double>({.margin = 1})(g, v, l),
                            BatchHardTripletLoss<Bk, double>({.margin = 1})(g, v, l)),
                        add(add(BatchSemiHardTripletLoss<Bk, double>({.margin = 1})(g, v, l),
                                BatchHardSoftMarginTripletLoss<Bk, double>(
                                    {.distance_metric = Metric::cosine_distance})(g, v, l)),
                            TripletLoss<Bk, double>({.triplet_margin = 1})(g, t, {})));
        g.backward(loss);
        std::vector<double> out = {loss.value().item()};
        for (double d : g.grad(v[0]).to_vector()) out.push_back(d);
        return out;
    };
    CHECK(run.template operator()<Cpu>() == run.template operator()<S>());
}
