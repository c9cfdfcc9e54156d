// The pair losses in double: finite-difference gradient checks, cases small enough to
// work on paper, the hard-pair kernel, the errors of a wrong batch, and a run on the
// Sealed backend.
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

namespace {
constexpr double tolerance = 1e-6;

TD rnd(const Shape& s, std::uint64_t seed) { return random_tensor<Cpu, double>(s, seed, -1, 1); }

std::vector<TD> pair(index_t rows = 6, index_t dim = 6, std::uint64_t seed = 900) {
    return {rnd({rows, dim}, seed), rnd({rows, dim}, seed + 1)};
}

void check(const std::string& name, const std::function<V(G&, const VS&)>& f, const std::vector<TD>& inputs) {
    const auto r = gradcheck<Cpu>(f, inputs);
    INFO(name << ": worst input " << r.worst_input << ", relative error " << r.max_relative_error);
    CHECK(r.max_relative_error < tolerance);
}

TD constant(const Shape& s, const std::vector<double>& v) { return TD::from_vector(v, s); }
Labels scores(const std::vector<double>& v) {
    return {.labels = std::nullopt, .scores = constant({static_cast<index_t>(v.size())}, v)};
}
Labels classes(const std::vector<std::int64_t>& v) {
    return {.labels = Ids<Cpu>::from_vector(v, {static_cast<index_t>(v.size())}), .scores = std::nullopt};
}

const std::vector<double> graded = {0.1, 0.9, 0.4, 0.4, 0.7, 0.0};
const std::vector<std::int64_t> binary = {1, 0, 0, 1, 1, 0};
}  // namespace

TEST_CASE("the pair losses satisfy EmbeddingLoss") {
    static_assert(EmbeddingLoss<CosineSimilarityLoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<CoSENTLoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<AnglELoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<ContrastiveLoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<OnlineContrastiveLoss<Cpu, float>, Cpu, float>);
}

TEST_CASE("gradcheck: CosineSimilarityLoss, CoSENTLoss and AnglELoss") {
    const auto x = pair();
    check(
        "CosineSimilarityLoss",
        [&](G& g, const VS& v) { return CosineSimilarityLoss<Cpu, double>()(g, v, scores(graded)); }, x);
    for (auto f :
         {PairwiseSimilarity::cos_sim, PairwiseSimilarity::dot_score, PairwiseSimilarity::angle_sim}) {
        const CoSENTLoss<Cpu, double> loss({.scale = 5.0, .similarity_fct = f});
        check(
            "CoSENTLoss, tied scores", [&](G& g, const VS& v) { return loss(g, v, scores(graded)); }, x);
        check(
            "CoSENTLoss, integer labels", [&](G& g, const VS& v) { return loss(g, v, classes(binary)); }, x);
    }
    const AnglELoss<Cpu, double> angle({.scale = 4.0});
    check(
        "AnglELoss, odd width", [&](G& g, const VS& v) { return angle(g, v, scores(graded)); }, pair(6, 5));
    const std::vector<TD> four = {x[0], x[1], rnd({6, 6}, 40), rnd({6, 6}, 41)};
    check(
        "AnglELoss, two negatives", [&](G& g, const VS& v) { return angle(g, v, scores(graded)); }, four);
    check("AnglELoss, a triplet without labels", [&](G& g, const VS& v) { return angle(g, v, {}); },
          {x[0], x[1], four[2]});
}

TEST_CASE("gradcheck: ContrastiveLoss and OnlineContrastiveLoss with every distance") {
    const auto x = pair();
    for (auto metric : {SiameseDistanceMetric::cosine_distance, SiameseDistanceMetric::euclidean,
                        SiameseDistanceMetric::manhattan}) {
        const double margin = metric == SiameseDistanceMetric::cosine_distance ? 0.9 : 2.5;
        for (bool average : {true, false}) {
            const ContrastiveLoss<Cpu, double> loss(
                {.distance_metric = metric, .margin = margin, .size_average = average});
            check(
                "ContrastiveLoss", [&](G& g, const VS& v) { return loss(g, v, classes(binary)); }, x);
        }
        const OnlineContrastiveLoss<Cpu, double> online({.distance_metric = metric, .margin = margin});
        check(
            "OnlineContrastiveLoss", [&](G& g, const VS& v) { return online(g, v, classes(binary)); }, x);
        check(
            "OnlineContrastiveLoss, positives only",
            [&](G& g, const VS& v) {
                return online(g, v, scores({1, 1, 1, 1, 1, 1}));
            },
            x);
    }
}

TEST_CASE("hand-worked: pair scores, tied CoSENT scores, AnglE's quarter turn") {
    G g;
    // Pair 0: cos 1; pair 1: orthogonal, cos 0.
    const VS x = {g.input(constant({2, 2}, {1, 0, 1, 0})), g.input(constant({2, 2}, {1, 0, 0, 1}))};
    CHECK(CosineSimilarityLoss<Cpu, double>()(g, x, scores({1, 0.5})).value().item() ==
          doctest::Approx(0.125));
    const CoSENTLoss<Cpu, double> cosent;
    // Tied scores rank no pair: log(1 + 0).
    CHECK(cosent(g, x, scores({0.3, 0.3})).value().item() == 0);
    CHECK(cosent(g, x, scores({0, 1})).value().item() == doctest::Approx(std::log1p(std::exp(20.0))));
    CHECK(cosent(g, x, classes({1, 0})).value().item() == doctest::Approx(std::log1p(std::exp(-20.0))));
    // AnglE: [1, 0] against [0, 1] is cos 0 and sin -1, angle similarity 1, as the
    // identical pair's: tied similarities, log(1 + e^0).
    CHECK(AnglELoss<Cpu, double>()(g, x, scores({0, 1})).value().item() == doctest::Approx(std::log(2.0)));
}

TEST_CASE("hand-worked: a contrastive margin exactly met, and OnlineContrastiveLoss's hard pairs") {
    G g;
    // Cosine distances 0 (identical) and 1 (orthogonal).
    const VS x = {g.input(constant({2, 2}, {1, 0, 1, 0})), g.input(constant({2, 2}, {1, 0, 0, 1}))};
    const ContrastiveLoss<Cpu, double> met({.margin = 1.0});
    // The dissimilar pair sits at the margin: nothing to push.
    CHECK(met(g, x, classes({1, 0})).value().item() == 0);
    // Similar pairs at distances 0 and 1: 0.5 (0 + 1) / 2.
    CHECK(met(g, x, scores({1, 1})).value().item() == doctest::Approx(0.25));
    // Euclidean: [0, 0] to [3, 4], 5 (the eps shifts the difference, not the distance).
    const VS far = {g.input(constant({1, 2}, {0, 0})), g.input(constant({1, 2}, {3, 4}))};
    const double d = std::hypot(3 - 1e-6, 4 - 1e-6);
    const ContrastiveLoss<Cpu, double> euclidean(
        {.distance_metric = SiameseDistanceMetric::euclidean, .margin = d});
    CHECK(euclidean(g, far, classes({0})).value().item() == doctest::Approx(0.0));
    CHECK(euclidean(g, far, classes({1})).value().item() == doctest::Approx(0.5 * d * d).epsilon(1e-12));
    const ContrastiveLoss<Cpu, double> manhattan(
        {.distance_metric = SiameseDistanceMetric::manhattan, .margin = 8, .size_average = false});
    CHECK(manhattan(g, far, classes({0})).value().item() == doctest::Approx(0.5 * (1 + 2e-6) * (1 + 2e-6)));

    const OnlineContrastiveLoss<Cpu, double> online;
    // The positive is nearer than the negative: no hard pair.
    CHECK(online(g, x, classes({1, 0})).value().item() == 0);
    // The positive (distance 1) is farther than the negative (0): both are hard, summed:
    // 1^2 + (0.5 - 0)^2.
    CHECK(online(g, x, classes({0, 1})).value().item() == doctest::Approx(1.25));
}

TEST_CASE("hard_pairs: against the farthest positive and nearest negative, or a side's own mean") {
    const std::vector<double> d = {0.2, 0.9, 0.5, 0.1, 0.7, 0.3};
    std::vector<double> positive(6), negative(6);
    // Positives 0.2, 0.5, 0.7 (max 0.7); negatives 0.9, 0.3 (min 0.3); label 0.5 in neither.
    Cpu::hard_pairs(positive.data(), negative.data(), d.data(),
                    std::vector<double>{1, 0, 1, 0.5, 1, 0}.data(), 6);
    CHECK(positive == std::vector<double>{0, 0, 1, 0, 1, 0});
    CHECK(negative == std::vector<double>{0, 0, 0, 0, 0, 1});
    // Positives only: those above their mean 0.45.
    Cpu::hard_pairs(positive.data(), negative.data(), d.data(), std::vector<double>(6, 1).data(), 6);
    CHECK(positive == std::vector<double>{0, 1, 1, 0, 1, 0});
    CHECK(negative == std::vector<double>(6, 0));
    // Negatives only: those below their mean 0.45.
    Cpu::hard_pairs(positive.data(), negative.data(), d.data(), std::vector<double>(6, 0).data(), 6);
    CHECK(positive == std::vector<double>(6, 0));
    CHECK(negative == std::vector<double>{1, 0, 0, 1, 0, 1});
}

TEST_CASE("the pair losses refuse a wrong batch, saying what they need and what they got") {
    G g;
    const auto x = pair();
    const VS two = {g.input(x[0]), g.input(x[1])}, three = {g.input(x[0]), g.input(x[1]), g.input(x[0])};
    CHECK(error_message([&] { CoSENTLoss<Cpu, double>()(g, three, scores(graded)); }) ==
          "CoSENTLoss: needs 2 columns (sentence1, sentence2) and a label column; got 3 columns and a label "
          "column");
    CHECK(error_message([&] { ContrastiveLoss<Cpu, double>()(g, two, {}); }) ==
          "ContrastiveLoss: needs 2 columns (anchor, other) and a label column; got 2 columns and no label "
          "column");
    CHECK(error_message([&] { CosineSimilarityLoss<Cpu, double>()(g, two, classes(binary)); }) ==
          "CosineSimilarityLoss: needs a float label column (one score per pair); got integer class labels");
    CHECK(error_message([&] {
              OnlineContrastiveLoss<Cpu, double>()(g, two, scores({1, 0}));
          }) == "OnlineContrastiveLoss: expects 6 labels (one per pair), but got 2 labels with shape [2]");
    CHECK(error_message([&] { AnglELoss<Cpu, double>()(g, two, {}); }) ==
          "AnglELoss: needs a label column for pairs; got none");
    CHECK(error_message([] { CoSENTLoss<Cpu, double>({.scale = std::nan("")}); }) ==
          "CoSENTLoss: scale must be a finite number, got nan");
    CHECK(error_message([] { ContrastiveLoss<Cpu, double>({.margin = INFINITY}); }) ==
          "ContrastiveLoss: margin must be a finite number, got inf");
}

TEST_CASE("the pair losses run on the Sealed backend with the CPU's results") {
    using S = testing::Sealed;
    const auto x = pair();
    auto run = [&]<class Bk>() {
        auto to = [](const TD& t) { return Tensor<Bk, double>::from_vector(t.to_vector(), t.shape()); };
        Graph<Bk, double> g;
        std::vector<Var<Bk, double>> v;
        for (const auto& t : x) v.push_back(g.input(to(t), true));
        const LossLabels<Bk, double> labels{.labels = Ids<Bk>::from_vector(binary, {6}),
                                            .scores = std::nullopt};
        auto loss = add(
            add(OnlineContrastiveLoss<Bk, double>()(g, v, labels), CoSENTLoss<Bk, double>()(g, v, labels)),
            AnglELoss<Bk, double>()(g, v, labels));
        g.backward(loss);
        std::vector<double> out = {loss.value().item()};
        for (const auto& c : v)
            for (double d : g.grad(c).to_vector()) out.push_back(d);
        return out;
    };
    CHECK(run.template operator()<Cpu>() == run.template operator()<S>());
}
