// The cross-encoder losses in double: finite-difference gradient checks on every loss and
// scheme (padding included), cases small enough to work on paper, GradCache against the
// uncached loss, the errors of bad input, and a run on the Sealed backend.
#include <tandem/losses/cross_encoder.hpp>

#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "error_message.hpp"
#include "random.hpp"
#include "support/sealed_backend.hpp"

using namespace tandem;
namespace ce = tandem::cross_encoder;
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
constexpr double inf = INFINITY;

TD rnd(const Shape& s, std::uint64_t seed) { return random_tensor<Cpu, double>(s, seed, -2, 2); }

Labels floats(const Shape& s, const std::vector<double>& v) {
    return {.labels = std::nullopt, .scores = TD::from_vector(v, s)};
}
Labels classes(const std::vector<std::int64_t>& v) {
    return {.labels = Ids<Cpu>::from_vector(v, {static_cast<index_t>(v.size())}), .scores = std::nullopt};
}

template <class L>
void check(const std::string& name, const L& loss, const TD& scores, const Labels& labels) {
    const auto r = gradcheck<Cpu>([&](G& g, const VS& v) { return loss(g, v[0], labels); }, {scores});
    INFO(name << ": relative error " << r.max_relative_error);
    CHECK(r.max_relative_error < tolerance);
}

template <class L>
std::pair<double, std::vector<double>> run(const L& loss, const TD& scores, const Labels& labels = {}) {
    G g;
    const auto x = g.input(scores, true);
    const auto value = loss(g, x, labels);
    g.backward(value);
    return {value.value().item(), g.grad(x).to_vector()};
}

// Graded relevance with ties; the second and fourth queries padded.
const std::vector<double> graded = {1, 2, 3, 3, 0, 0,    3, 3,    0,    1,    -inf, -inf,
                                    3, 1, 1, 3, 1, -inf, 1, -inf, -inf, -inf, -inf, -inf};
const Shape lists{4, 6};
const double ln2 = std::log(2.0);
}  // namespace

TEST_CASE("the cross-encoder losses satisfy ScoreLoss") {
    static_assert(ce::ScoreLoss<ce::BinaryCrossEntropyLoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::CrossEntropyLoss<Cpu, float>, Cpu, float>);
    static_assert(ce::ScoreLoss<ce::MSELoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::MarginMSELoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::MultipleNegativesRankingLoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::CachedMultipleNegativesRankingLoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::LambdaLoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::RankNetLoss<Cpu, float>, Cpu, float>);
    static_assert(ce::ScoreLoss<ce::ListNetLoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::ListMLELoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::PListMLELoss<Cpu, double>, Cpu, double>);
    static_assert(ce::ScoreLoss<ce::ADRMSELoss<Cpu, double>, Cpu, double>);
}

TEST_CASE("gradcheck: the pointwise and candidate losses") {
    const auto binary = floats({6}, {1, 0, 0, 1, 1, 0});
    check("BinaryCrossEntropyLoss", ce::BinaryCrossEntropyLoss<Cpu, double>(), rnd({6}, 1), binary);
    check("BinaryCrossEntropyLoss, pos_weight", ce::BinaryCrossEntropyLoss<Cpu, double>({.pos_weight = 3.0}),
          rnd({6, 1}, 2), floats({6}, {0.2, 0.9, 0, 1, 0.5, 0.1}));
    check("BinaryCrossEntropyLoss, sigmoid",
          ce::BinaryCrossEntropyLoss<Cpu, double>({.activation_fn = ce::Activation::sigmoid}), rnd({6}, 3),
          binary);
    check("CrossEntropyLoss", ce::CrossEntropyLoss<Cpu, double>(), rnd({6, 3}, 4),
          classes({0, 2, 1, 1, 0, 2}));
    check("CrossEntropyLoss, probabilities", ce::CrossEntropyLoss<Cpu, double>({ce::Activation::tanh}),
          rnd({2, 3}, 5), floats({2, 3}, {0.2, 0.3, 0.5, 1, 0, 0}));
    check("MSELoss", ce::MSELoss<Cpu, double>({ce::Activation::sigmoid}), rnd({6}, 6), binary);
    check("MarginMSELoss, margins", ce::MarginMSELoss<Cpu, double>(), rnd({3, 4}, 7),
          floats({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
    check("MarginMSELoss, scores", ce::MarginMSELoss<Cpu, double>(), rnd({2, 3}, 8),
          floats({2, 3}, {1, 2, 3, 4, 5, 6}));
    check("MultipleNegativesRankingLoss", ce::MultipleNegativesRankingLoss<Cpu, double>(), rnd({4, 5}, 9),
          {});
    check("MultipleNegativesRankingLoss, no activation",
          ce::MultipleNegativesRankingLoss<Cpu, double>(
              {.scale = 3.0, .activation_fn = ce::Activation::identity}),
          rnd({4, 5}, 10), {});
}

TEST_CASE("gradcheck: the listwise losses and every LambdaLoss scheme, padding included") {
    const auto labels = floats(lists, graded);
    const auto x = rnd(lists, 20);
    using S = ce::WeightingScheme;
    for (auto scheme : {S::NoWeightingScheme, S::NDCGLoss1Scheme, S::NDCGLoss2Scheme, S::LambdaRankScheme,
                        S::NDCGLoss2PPScheme})
        for (std::optional<index_t> k : {std::optional<index_t>{}, std::optional<index_t>{2}})
            check("LambdaLoss scheme " + std::to_string(int(scheme)),
                  ce::LambdaLoss<Cpu, double>({.weighting_scheme = scheme, .k = k, .sigma = 1.5}), x, labels);
    check("RankNetLoss", ce::RankNetLoss<Cpu, double>({.reduction_log = ce::ReductionLog::natural}), x,
          labels);
    check("ListNetLoss", ce::ListNetLoss<Cpu, double>(), x, labels);
    check("ListNetLoss, sigmoid", ce::ListNetLoss<Cpu, double>({ce::Activation::sigmoid}), x, labels);
    check("ListMLELoss", ce::ListMLELoss<Cpu, double>(), x, labels);
    check("ListMLELoss, label order", ce::ListMLELoss<Cpu, double>({.respect_input_order = false}), x,
          labels);
    check("PListMLELoss", ce::PListMLELoss<Cpu, double>(), x, labels);
    check("PListMLELoss, label order", ce::PListMLELoss<Cpu, double>({.respect_input_order = false}), x,
          labels);
    check("ADRMSELoss", ce::ADRMSELoss<Cpu, double>({.alpha = 2.0}), x, labels);
    // No gradient reaches a padded document.
    for (const auto& [value, grad] :
         {run(ce::LambdaLoss<Cpu, double>(), x, labels), run(ce::ListNetLoss<Cpu, double>(), x, labels),
          run(ce::PListMLELoss<Cpu, double>(), x, labels), run(ce::ADRMSELoss<Cpu, double>(), x, labels)})
        for (std::size_t k = 0; k < graded.size(); ++k)
            if (graded[k] == -inf) CHECK(grad[k] == 0.0);
}

TEST_CASE("the cross-encoder losses on cases worked on paper") {
    SUBCASE(
        "BinaryCrossEntropyLoss at logit 0: ln 2 (pos_weight ln 2 for a positive), gradient (1/2 - y) / n") {
        const auto [value, grad] =
            run(ce::BinaryCrossEntropyLoss<Cpu, double>(), TD::zeros({2}), floats({2}, {1, 0}));
        CHECK(value == doctest::Approx(ln2).epsilon(1e-14));
        CHECK(grad[0] == doctest::Approx(-0.25).epsilon(1e-14));
        CHECK(grad[1] == doctest::Approx(0.25).epsilon(1e-14));
        const auto weighted = run(ce::BinaryCrossEntropyLoss<Cpu, double>({.pos_weight = 3.0}),
                                  TD::zeros({2}), floats({2}, {1, 0}));
        CHECK(weighted.first == doctest::Approx((3 * ln2 + ln2) / 2).epsilon(1e-14));
    }
    SUBCASE("RankNetLoss on two documents: log2(1 + exp(s_worse - s_better)), either order") {
        for (const auto& s : {std::vector<double>{1.0, 0.0}, std::vector<double>{0.0, 1.0}}) {
            const auto [value, grad] =
                run(ce::RankNetLoss<Cpu, double>(), TD::from_vector(s, {1, 2}), floats({1, 2}, {1, 0}));
            const double d = s[1] - s[0], p = 1 / (1 + std::exp(-d));
            CHECK(value == doctest::Approx(std::log2(1 + std::exp(d))).epsilon(1e-14));
            CHECK(grad[0] == doctest::Approx(-p / ln2).epsilon(1e-14));
            CHECK(grad[1] == doctest::Approx(p / ln2).epsilon(1e-14));
        }
    }
    SUBCASE("LambdaLoss with LambdaRankScheme on two documents: (1 - 1/log2 3) log2(1 + e^-1)") {
        const auto [value, grad] =
            run(ce::LambdaLoss<Cpu, double>({.weighting_scheme = ce::WeightingScheme::LambdaRankScheme}),
                TD::from_vector({1, 0}, {1, 2}), floats({1, 2}, {1, 0}));
        CHECK(value ==
              doctest::Approx((1 - 1 / std::log2(3.0)) * std::log2(1 + std::exp(-1.0))).epsilon(1e-14));
    }
    SUBCASE("ListNetLoss on a tie: ln 2 at equal scores, gradient softmax(s) - 1/2") {
        const auto tie = floats({1, 2}, {1, 1});
        const auto even = run(ce::ListNetLoss<Cpu, double>(), TD::zeros({1, 2}), tie);
        CHECK(even.first == doctest::Approx(ln2).epsilon(1e-14));
        CHECK(even.second == std::vector<double>{0.0, 0.0});
        const auto [value, grad] = run(ce::ListNetLoss<Cpu, double>(), TD::from_vector({1, 0}, {1, 2}), tie);
        const double p = 1 / (1 + std::exp(-1.0));
        CHECK(value == doctest::Approx(-0.5 * (std::log(p) + std::log(1 - p))).epsilon(1e-14));
        CHECK(grad[0] == doctest::Approx(p - 0.5).epsilon(1e-14));
    }
    SUBCASE("ListMLELoss on two documents in order: log(1 + exp(s_2 - s_1))") {
        const auto [value, grad] =
            run(ce::ListMLELoss<Cpu, double>(), TD::from_vector({0.5, 1.5}, {1, 2}), floats({1, 2}, {1, 0}));
        CHECK(value == doctest::Approx(std::log(1 + std::exp(1.0))).epsilon(1e-14));
    }
    SUBCASE("ADRMSELoss at equal scores: ranks 1.5 against 1 and 2") {
        const auto [value, grad] =
            run(ce::ADRMSELoss<Cpu, double>(), TD::zeros({1, 2}), floats({1, 2}, {1, 0}));
        CHECK(value == doctest::Approx((0.25 + 0.25 / std::log2(3.0)) / 2).epsilon(1e-14));
    }
    SUBCASE("MultipleNegativesRankingLoss: scale 10 sigmoid(0) = 5 everywhere, ln(candidates)") {
        const auto [value, grad] = run(ce::MultipleNegativesRankingLoss<Cpu, double>(), TD::zeros({2, 4}));
        CHECK(value == doctest::Approx(std::log(4.0)).epsilon(1e-14));
    }
}

TEST_CASE(
    "CachedMultipleNegativesRankingLoss equals the uncached loss, value and gradient, at any mini-batch "
    "size") {
    const index_t rows = 5, candidates = 3;
    const auto scores = rnd({rows, candidates}, 30);
    const auto expected = run(ce::MultipleNegativesRankingLoss<Cpu, double>(), scores);
    for (index_t mini_batch : {1, 4, 7, 32}) {
        ParameterStore<Cpu, double> store;
        const auto p = store.add("scores", {rows * candidates});
        {
            G g;
            store.value(p).copy_from(permute(g.input(scores), {1, 0}).value().reshape({rows * candidates}));
        }
        store.zero_grad();
        const ce::CachedMultipleNegativesRankingLoss<Cpu, double> loss({}, mini_batch);
        const auto value = loss.forward_backward(
            [&](G& g, index_t begin, index_t end) { return slice(g.parameter(store, p), 0, begin, end); },
            rows, candidates);
        CHECK(value.item() == doctest::Approx(expected.first).epsilon(1e-14));
        const auto grad = store.grad(p).to_vector();
        for (index_t r = 0; r < rows; ++r)
            for (index_t c = 0; c < candidates; ++c)
                CHECK(grad[static_cast<std::size_t>(c * rows + r)] ==
                      doctest::Approx(expected.second[static_cast<std::size_t>(r * candidates + c)])
                          .epsilon(1e-12));
    }
}

TEST_CASE("the cross-encoder losses refuse bad input with a message naming the loss") {
    G g;
    const auto three = g.input(TD::zeros({3}));
    const auto grid = g.input(TD::zeros({2, 3}));
    CHECK(error_message([&] { ce::BinaryCrossEntropyLoss<Cpu, double>()(g, three, {}); }) ==
          "BinaryCrossEntropyLoss: needs a label column (one label per pair); got no label column");
    CHECK(error_message([&] {
              ce::MSELoss<Cpu, double>()(g, three, floats({2}, {1, 0}));
          }) == "MSELoss: expects 3 labels (one per pair), but got 2 labels with shape [2]");
    CHECK(error_message([&] {
              ce::BinaryCrossEntropyLoss<Cpu, double>()(g, grid, floats({6}, {1, 0, 1, 0, 1, 0}));
          }) ==
          "BinaryCrossEntropyLoss: needs one score per pair, [batch] or [batch, 1] with batch > 0; got "
          "scores of shape [2, 3]");
    CHECK(error_message([&] {
              ce::CrossEntropyLoss<Cpu, double>()(g, grid, classes({0, 1, 2}));
          }) == "CrossEntropyLoss: expects 2 class labels (one per pair), but got labels of shape [3]");
    CHECK(error_message([&] { ce::MultipleNegativesRankingLoss<Cpu, double>()(g, three, {}); }) ==
          "MultipleNegativesRankingLoss: needs scores [batch, 1 + negatives] (column 0 the positive) with "
          "batch > 0; got "
          "scores of shape [3]");
    CHECK(error_message([&] {
              ce::MarginMSELoss<Cpu, double>()(g, grid, floats({3}, {1, 2, 3}));
          }) ==
          "MarginMSELoss: needs labels of shape [2, 2] (margins) or [2, 3] (scores) for scores of shape [2, "
          "3]; got "
          "labels of shape [3]");
    CHECK(error_message([&] {
              ce::LambdaLoss<Cpu, double>()(g, grid, floats({3}, {1, 2, 3}));
          }) ==
          "LambdaLoss: needs labels of the scores' shape [2, 3] (one per document, -inf for padding); got "
          "labels of "
          "shape [3]");
    CHECK(
        error_message([&] {
            ce::ListNetLoss<Cpu, double>()(g, three, floats({3}, {1, 2, 3}));
        }) ==
        "ListNetLoss: needs scores [batch, docs] (one row of documents per query); got scores of shape [3]");
    CHECK(error_message([&] { ce::ListMLELoss<Cpu, double>()(g, grid, {}); }) ==
          "ListMLELoss: needs a label column (labels [batch, docs], -inf for padding); got no label column");
    CHECK(error_message([&] {
              ce::ADRMSELoss<Cpu, double>()(g, grid, floats({2, 3}, std::vector<double>(6, -inf)));
          }) == "ADRMSELoss: every document is padding (label -inf)");
    CHECK(error_message([] { ce::CachedMultipleNegativesRankingLoss<Cpu, double>({}, 0); }) ==
          "CachedMultipleNegativesRankingLoss: mini_batch_size must be positive, found 0");
    CHECK(error_message([] { ce::LambdaLoss<Cpu, double>({.sigma = NAN}); }) ==
          "LambdaLoss: sigma must be a finite number, got nan");
}

TEST_CASE("the listwise losses run on the Sealed backend with the CPU's results") {
    const auto x = rnd(lists, 40);
    auto go = [&]<class Bk>() {
        Graph<Bk, double> g;
        const auto v = g.input(Tensor<Bk, double>::from_vector(x.to_vector(), lists), true);
        const LossLabels<Bk, double> labels{.labels = std::nullopt,
                                            .scores = Tensor<Bk, double>::from_vector(graded, lists)};
        auto loss =
            add(add(ce::LambdaLoss<Bk, double>()(g, v, labels), ce::PListMLELoss<Bk, double>()(g, v, labels)),
                add(ce::ListNetLoss<Bk, double>()(g, v, labels), ce::ADRMSELoss<Bk, double>()(g, v, labels)));
        g.backward(loss);
        std::vector<double> out = {loss.value().item()};
        for (double d : g.grad(v).to_vector()) out.push_back(d);
        return out;
    };
    CHECK(go.template operator()<Cpu>() == go.template operator()<testing::Sealed>());
}
