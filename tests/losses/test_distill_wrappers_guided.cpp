// The distillation, wrapper and guided losses in double: finite-difference gradient
// checks, cases small enough to work on paper, the errors of a wrong batch, the guide's
// mask kernel, and a run on the Sealed backend.
#include <tandem/losses.hpp>

#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <set>
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
using Any = AnyEmbeddingLoss<Cpu, double>;

namespace {
constexpr double tolerance = 1e-6;

TD rnd(const Shape& s, std::uint64_t seed) { return random_tensor<Cpu, double>(s, seed, -1, 1); }

std::vector<TD> columns(int count, index_t rows = 5, index_t dim = 6, std::uint64_t seed = 300) {
    std::vector<TD> out;
    for (int c = 0; c < count; ++c) out.push_back(rnd({rows, dim}, seed + static_cast<std::uint64_t>(c)));
    return out;
}

void check(const std::string& name, const std::function<V(G&, const VS&)>& f, const std::vector<TD>& inputs) {
    const auto r = gradcheck<Cpu>(f, inputs);
    INFO(name << ": worst input " << r.worst_input << ", relative error " << r.max_relative_error);
    CHECK(r.max_relative_error < tolerance);
}

Labels scores(const TD& t) { return {.labels = std::nullopt, .scores = t}; }

TD constant(const Shape& s, const std::vector<double>& v) { return TD::from_vector(v, s); }

// The layers of `count` hidden states of `columns` columns, [layer][column].
std::vector<VS> by_layer(const VS& v, std::size_t count) {
    std::vector<VS> out(count);
    const std::size_t per = v.size() / count;
    for (std::size_t l = 0; l < count; ++l) out[l].assign(v.begin() + l * per, v.begin() + (l + 1) * per);
    return out;
}
}  // namespace

TEST_CASE("the new losses satisfy their concepts") {
    static_assert(EmbeddingLoss<EmbedDistillLoss<Cpu, double>, Cpu, double>);
    static_assert(EmbeddingLoss<MSELoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<MarginMSELoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<DistillKLDivLoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<GlobalOrthogonalRegularizationLoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<MatryoshkaLoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<Any, Cpu, double>);
    static_assert(LayerwiseLoss<AdaptiveLayerLoss<Cpu, float>, Cpu, float>);
    static_assert(LayerwiseLoss<Matryoshka2dLoss<Cpu, float>, Cpu, float>);
    static_assert(!EmbeddingLoss<AdaptiveLayerLoss<Cpu, float>, Cpu, float>);
    static_assert(GuidedLoss<GISTEmbedLoss<Cpu, float>, Cpu, float>);
    static_assert(!EmbeddingLoss<GISTEmbedLoss<Cpu, float>, Cpu, float>);
    static_assert(CachedGuidedLoss<CachedGISTEmbedLoss<Cpu, float>, Cpu, float>);
    CHECK(Any(MarginMSELoss<Cpu, double>()).name() == "MarginMSELoss");
    CHECK(Any(MSELoss<Cpu, double>()).name() == "MSELoss");
}

TEST_CASE("gradcheck: the distillation losses") {
    const auto x = columns(4);
    const TD teacher = rnd({5, 6}, 10), per_column = rnd({5, 2, 6}, 11);
    for (auto metric : {DistanceMetric::mse, DistanceMetric::l2, DistanceMetric::cosine}) {
        const EmbedDistillLoss<Cpu, double> loss({.distance_metric = metric});
        check("EmbedDistillLoss, shared teacher",
              [&](G& g, const VS& v) { return loss(g, v, scores(teacher)); }, {x[0], x[1], x[2]});
        check("EmbedDistillLoss, a teacher per column",
              [&](G& g, const VS& v) { return loss(g, v, scores(per_column)); }, {x[0], x[1]});
    }
    for (auto f : {SimilarityFunction::dot_score, SimilarityFunction::cos_sim}) {
        const MarginMSELoss<Cpu, double> margin({.similarity_fct = f});
        check(
            "MarginMSELoss, margins",
            [&](G& g, const VS& v) {
                return margin(g, v, scores(rnd({5, 2}, 12)));
            },
            x);
        check(
            "MarginMSELoss, scores",
            [&](G& g, const VS& v) {
                return margin(g, v, scores(rnd({5, 3}, 13)));
            },
            x);
        const DistillKLDivLoss<Cpu, double> kl(
            {.similarity_fct = f, .temperature = 0.7, .teacher_temperature = 2});
        check(
            "DistillKLDivLoss",
            [&](G& g, const VS& v) {
                return kl(g, v, scores(rnd({5, 3}, 14)));
            },
            x);
    }
}

TEST_CASE("gradcheck: the wrappers and the regulariser") {
    const auto x = columns(6);
    for (auto f : {SimilarityFunction::cos_sim, SimilarityFunction::dot_score}) {
        const GlobalOrthogonalRegularizationLoss<Cpu, double> gor({.similarity_fct = f});
        check("GlobalOrthogonalRegularizationLoss", [&](G& g, const VS& v) { return gor(g, v); },
              {x[0], x[1]});
    }
    const MatryoshkaLoss<Cpu, double> matryoshka(
        Any(MultipleNegativesRankingLoss<Cpu, double>()),
        {.matryoshka_dims = {6, 3, 2}, .matryoshka_weights = {1, 2, 3}});
    check("MatryoshkaLoss", [&](G& g, const VS& v) { return matryoshka(g, v, {}); }, {x[0], x[1], x[2]});
    // The last layer's side of the KL term is constant (detached, as in sentence-transformers),
    // so the finite differences move the earlier layers only, or run without the KL term.
    const AdaptiveLayerLoss<Cpu, double> adaptive(
        Any(MultipleNegativesRankingLoss<Cpu, double>({.scale = 5})),
        {.n_layers_per_step = -1, .layer_weighting = LayerWeighting::log});
    check("AdaptiveLayerLoss, earlier layers",
          [&](G& g, const VS& v) {
              VS all = v;
              all.push_back(g.input(x[4]));
              all.push_back(g.input(x[5]));
              return adaptive(g, by_layer(all, 3), {});
          },
          {x[0], x[1], x[2], x[3]});
    const AdaptiveLayerLoss<Cpu, double> no_kl(Any(MultipleNegativesRankingLoss<Cpu, double>({.scale = 5})),
                                               {.n_layers_per_step = -1, .kl_temperature = 0});
    check(
        "AdaptiveLayerLoss without KL", [&](G& g, const VS& v) { return no_kl(g, by_layer(v, 3), {}); }, x);
    const Matryoshka2dLoss<Cpu, double> two_d(
        Any(MultipleNegativesRankingLoss<Cpu, double>({.scale = 5})),
        {.matryoshka_dims = {6, 4}, .n_layers_per_step = -1, .n_dims_per_step = -1, .kl_temperature = 0.5});
    check("Matryoshka2dLoss, earlier layer",
          [&](G& g, const VS& v) {
              return two_d(g, by_layer({v[0], v[1], g.input(x[2]), g.input(x[3])}, 2), {});
          },
          {x[0], x[1]});
}

TEST_CASE("gradcheck: GISTEmbedLoss, and CachedGISTEmbedLoss equals it at every mini-batch size") {
    const auto x = columns(3, 6, 5);
    const auto guides = columns(3, 6, 4, 900);
    for (auto strategy : {MarginStrategy::absolute, MarginStrategy::relative}) {
        const GISTEmbedLoss<Cpu, double> gist(
            {.temperature = 0.2, .margin_strategy = strategy, .margin = 0.2});
        check(
            "GISTEmbedLoss", [&](G& g, const VS& v) { return gist(g, v, guides); }, x);
    }
    const GISTEmbedLoss<Cpu, double> gist({.temperature = 0.1, .margin = 0.1});
    G g;
    VS v;
    for (const auto& t : x) v.push_back(g.input(t, true));
    const auto expected = gist(g, v, guides);
    g.backward(expected);
    for (index_t mini_batch : {1, 4, 6, 32}) {
        ParameterStore<Cpu, double> store;
        std::vector<Parameter> params;
        for (std::size_t i = 0; i < x.size(); ++i)
            params.push_back(store.add("c" + std::to_string(i), x[i].shape()));
        for (std::size_t i = 0; i < x.size(); ++i) store.value(params[i]).copy_from(x[i]);
        store.zero_grad();
        const CachedGISTEmbedLoss<Cpu, double> cached(gist.options(), mini_batch);
        const auto value = cached.forward_backward(
            [&](G& h, int c, index_t begin, index_t end) {
                return slice(h.parameter(store, params[static_cast<std::size_t>(c)]), 0, begin, end);
            },
            3, 6, guides);
        CHECK(value.item() == doctest::Approx(expected.value().item()).epsilon(1e-12));
        for (std::size_t i = 0; i < x.size(); ++i) {
            const auto a = store.grad(params[i]).to_vector(), b = g.grad(v[i]).to_vector();
            for (std::size_t j = 0; j < a.size(); ++j) CHECK(a[j] == doctest::Approx(b[j]).epsilon(1e-10));
        }
    }
}

TEST_CASE("hand-worked: distillation at and off its target") {
    G g;
    const TD t = constant({2, 2}, {1, 2, 3, 4});
    const VS exact = {g.input(t)};
    CHECK(MSELoss<Cpu, double>()(g, exact, scores(t)).value().item() == 0);
    // Off by one everywhere: a mean squared error of 1; l2 distance sqrt(2) per row.
    const VS shifted = {g.input(constant({2, 2}, {2, 3, 4, 5}))};
    CHECK(MSELoss<Cpu, double>()(g, shifted, scores(t)).value().item() == doctest::Approx(1.0));
    const EmbedDistillLoss<Cpu, double> l2({.distance_metric = DistanceMetric::l2});
    CHECK(l2(g, shifted, scores(t)).value().item() == doctest::Approx(std::sqrt(2.0)));
    // Parallel rows: cosine distance 0.
    const VS doubled = {g.input(constant({2, 2}, {2, 4, 6, 8}))};
    CHECK(EmbedDistillLoss<Cpu, double>()(g, doubled, scores(t)).value().item() == doctest::Approx(0.0));

    // query [1, 0]; positive [2, 0] scores 2, negative [1, 0] scores 1: a margin of 1.
    const VS triplet = {g.input(constant({1, 2}, {1, 0})), g.input(constant({1, 2}, {2, 0})),
                        g.input(constant({1, 2}, {1, 0}))};
    const MarginMSELoss<Cpu, double> margin;
    CHECK(margin(g, triplet, scores(constant({1}, {1}))).value().item() == 0);
    CHECK(margin(g, triplet, scores(constant({1}, {3}))).value().item() == doctest::Approx(4.0));
    // Teacher scores 5 and 4: the same margin of 1, met.
    CHECK(margin(g, triplet, scores(constant({1, 2}, {5, 4}))).value().item() == 0);
    // The teacher's scores equal the student's: KL 0; uniform teacher against scores 2 and 1:
    // KL(u || softmax(2, 1)) = ln(e^2 + e) - 1.5 - ln 2.
    const DistillKLDivLoss<Cpu, double> kl;
    CHECK(kl(g, triplet, scores(constant({1, 2}, {2, 1}))).value().item() == doctest::Approx(0.0));
    CHECK(kl(g, triplet, scores(constant({1, 2}, {0, 0}))).value().item() ==
          doctest::Approx(std::log(std::exp(2.0) + std::exp(1.0)) - 1.5 - std::log(2.0)));
}

TEST_CASE("hand-worked: GlobalOrthogonalRegularizationLoss on orthogonal and on equal rows") {
    G g;
    const GlobalOrthogonalRegularizationLoss<Cpu, double> gor;
    // Orthogonal rows: no mean, second moment 0 below 1/dim.
    CHECK(gor(g, {g.input(constant({2, 2}, {1, 0, 0, 1}))}).value().item() == 0);
    // Equal rows: every off-diagonal similarity 1: (1)^2 + relu(1 - 1/2).
    CHECK(gor(g, {g.input(constant({2, 2}, {3, 4, 3, 4}))}).value().item() == doctest::Approx(1.5));
    const GlobalOrthogonalRegularizationLoss<Cpu, double> mean_only({.second_moment_weight = 0});
    CHECK(mean_only(g, {g.input(constant({2, 2}, {3, 4, 3, 4}))}).value().item() == doctest::Approx(1.0));
    // A batch of one has no pairs: 0.
    CHECK(gor(g, {g.input(constant({1, 2}, {3, 4}))}).value().item() == 0);
}

TEST_CASE("hand-worked: MatryoshkaLoss truncates, normalises and weights; subsets are seeded") {
    std::vector<index_t> seen;
    const Any probe("probe", [&](G& g, const VS& v, const Labels& labels) {
        seen.push_back(v[0].shape()[1]);
        // Unit rows after truncation.
        for (double norm : sum(mul(v[0], v[0]), 1).value().to_vector()) CHECK(norm == doctest::Approx(1.0));
        if (labels.scores) CHECK(labels.scores->shape().back() == v[0].shape()[1]);
        return sum(g.input(TD::full({1}, 1.0)));
    });
    const MatryoshkaLoss<Cpu, double> loss(
        probe, {.matryoshka_dims = {2, 6, 4}, .matryoshka_weights = {0.25, 1, 0.5}});
    CHECK(loss.options().matryoshka_dims == std::vector<index_t>{6, 4, 2});
    CHECK(loss.options().matryoshka_weights == std::vector<double>{1, 0.5, 0.25});
    G g;
    const auto x = columns(2);
    const VS v = {g.input(x[0]), g.input(x[1])};
    CHECK(loss(g, v, scores(rnd({5, 6}, 1))).value().item() == doctest::Approx(1.75));
    CHECK(seen == std::vector<index_t>{6, 4, 2});

    const MatryoshkaLoss<Cpu, double> one(probe, {.matryoshka_dims = {6, 4, 2}, .n_dims_per_step = 1});
    std::set<std::size_t> drawn;
    for (std::uint64_t seed = 0; seed < 16; ++seed) {
        const auto chosen = one.chosen_dims(Philox(seed, 0));
        REQUIRE(chosen.size() == 1);
        CHECK(chosen == one.chosen_dims(Philox(seed, 0)));
        drawn.insert(chosen[0]);
    }
    CHECK(drawn.size() == 3);
    // A call draws from its graph's streams: the same seed, the same dimension.
    auto dim_of_call = [&](std::uint64_t seed) {
        seen.clear();
        G h({.seed = seed});
        one(h, {h.input(x[0]), h.input(x[1])}, {});
        return seen;
    };
    CHECK(dim_of_call(7) == dim_of_call(7));
}

TEST_CASE("hand-worked: AdaptiveLayerLoss weights the layers; equal layers have no KL") {
    const Any one("one", [](G& g, const VS&, const Labels&) { return sum(g.input(TD::full({1}, 1.0))); });
    const auto x = columns(2);
    G g;
    const VS same = {g.input(x[0]), g.input(x[1]), g.input(x[0]),
                     g.input(x[1]), g.input(x[0]), g.input(x[1])};
    // 2 * 1 + 0.5 * (1/(1+0) + 1/(1+1)) / 2 and no KL: the layers equal the last.
    const AdaptiveLayerLoss<Cpu, double> loss(one, {.n_layers_per_step = -1,
                                                    .last_layer_weight = 2,
                                                    .prior_layers_weight = 0.5,
                                                    .layer_weighting = LayerWeighting::linear});
    CHECK(loss(g, by_layer(same, 3), {}).value().item() == doctest::Approx(2 + 0.5 * 1.5 / 2));
    // One layer per step, drawn per call from the graph's seed.
    const AdaptiveLayerLoss<Cpu, double> sampled(one, {});
    std::set<std::size_t> drawn;
    for (std::uint64_t seed = 0; seed < 16; ++seed)
        drawn.insert(sampled.chosen_layers(Philox(seed, 0), 4).at(0));
    CHECK(drawn == std::set<std::size_t>{0, 1, 2});
    // A single hidden state: the last layer alone.
    CHECK(sampled(g, by_layer({same[0], same[1]}, 1), {}).value().item() == doctest::Approx(1.0));
}

TEST_CASE("hand-worked: GISTEmbedLoss without and with the guide's masks") {
    G g;
    // Anchors and positives equal and orthogonal: with temperature 1 each row's softmax is
    // over {1, 0} (other positive) and {0} (other anchor, other positive again).
    const TD eye = constant({2, 2}, {1, 0, 0, 1});
    const VS pairs = {g.input(eye), g.input(eye)};
    const GISTEmbedLoss<Cpu, double> plain(
        {.temperature = 1, .contrast_anchors = false, .contrast_positives = false});
    CHECK(plain(g, pairs, {eye, eye}).value().item() == doctest::Approx(std::log(1 + std::exp(-1.0))));
    const GISTEmbedLoss<Cpu, double> all({.temperature = 1});
    CHECK(all(g, pairs, {eye, eye}).value().item() == doctest::Approx(std::log(1 + 3 * std::exp(-1.0))));
    // A guide that scores each anchor's other positive above its own: every negative is a
    // false negative, so only the positive is left and the loss is 0.
    const double r = std::sqrt(0.5);
    const TD guide_positives = constant({2, 2}, {r, r, 1, 0});
    CHECK(plain(g, pairs, {eye, guide_positives}).value().item() == 0);
    // The margin: guide similarity 0.9 against a positive 1 is masked with margin 0.2, not 0.
    const TD guide_anchors = constant({2, 2}, {1, 0, 0.9, std::sqrt(1 - 0.81)});
    const TD guide_docs = constant({2, 2}, {1, 0, 0.9, std::sqrt(1 - 0.81)});
    const GISTEmbedLoss<Cpu, double> margin(
        {.temperature = 1, .margin = 0.2, .contrast_anchors = false, .contrast_positives = false});
    // In both rows the other document scores 0.9 > 1 - 0.2 (masked); without a margin it stays.
    CHECK(margin(g, pairs, {guide_anchors, guide_docs}).value().item() == 0);
    CHECK(plain(g, pairs, {guide_anchors, guide_docs}).value().item() ==
          doctest::Approx(std::log(1 + std::exp(-1.0))));
}

TEST_CASE("mask_above_margin: absolute and relative thresholds, and the kept diagonal") {
    const std::vector<double> scores = {0.5, 0.9, 0.2, -0.4, -0.1, -0.3};
    const std::vector<double> reference = {0.5, -0.4};
    std::vector<double> out(6);
    const double inf = std::numeric_limits<double>::infinity();
    Cpu::mask_above_margin(out.data(), scores.data(), reference.data(), 2, 3, 0.0, false, -inf, 0, 0.0);
    CHECK(out == std::vector<double>{0, -inf, 0, 0, 0, -inf});
    // Relative: thresholds 0.5 - 0.25 and -0.4 - 0.2.
    Cpu::mask_above_margin(out.data(), scores.data(), reference.data(), 2, 3, 0.5, true, -inf, -1, 0.0);
    CHECK(out == std::vector<double>{-inf, -inf, 0, -inf, -inf, -inf});
}

TEST_CASE("the new losses refuse a wrong batch, saying what they need and what they got") {
    G g;
    const auto x = columns(3);
    const VS two = {g.input(x[0]), g.input(x[1])}, three = {g.input(x[0]), g.input(x[1]), g.input(x[2])};
    CHECK(error_message([&] { MarginMSELoss<Cpu, double>()(g, two, scores(rnd({5}, 1))); }) ==
          "MarginMSELoss: needs 3 or more columns (query, positive, negative_1, ..., negative_n) and a label "
          "column; got 2 columns and a label column");
    CHECK(error_message([&] { MSELoss<Cpu, double>()(g, two, {}); }) ==
          "MSELoss: needs 1 or more columns (input_1, ...) and a label column; got 2 columns and no label "
          "column");
    CHECK(
        error_message([&] {
            MSELoss<Cpu, double>()(g, two, {.labels = Ids<Cpu>::empty({5}), .scores = std::nullopt});
        }) ==
        "MSELoss: needs a float label column (teacher embeddings [batch, dim] or [batch, columns, dim]); got "
        "integer class labels");
    CHECK(error_message([&] {
              MSELoss<Cpu, double>()(g, two, scores(rnd({5, 3, 6}, 1)));
          }) ==
          "MSELoss: needs teacher embeddings of shape [5, 6] or [5, 2, 6] for 2 columns of embeddings [5, "
          "6]; got "
          "labels of shape [5, 3, 6]");
    CHECK(
        error_message([&] {
            MarginMSELoss<Cpu, double>()(g, three, scores(rnd({5, 3}, 1)));
        }) ==
        "MarginMSELoss: needs labels of shape [5, 1] (margins) or [5, 2] (scores) or [5] for 1 negative; got "
        "labels of shape [5, 3]");
    CHECK(
        error_message([&] {
            DistillKLDivLoss<Cpu, double>()(g, three, scores(rnd({5, 3}, 1)));
        }) ==
        "DistillKLDivLoss: needs teacher scores of shape [5, 2] for 2 candidate columns; got labels of shape "
        "[5, 3]");
    CHECK(error_message([&] { DistillKLDivLoss<Cpu, double>({.temperature = 0}); }) ==
          "DistillKLDivLoss: temperature must be a positive finite number, got 0");
    CHECK(error_message([&] {
              GlobalOrthogonalRegularizationLoss<Cpu, double>({.mean_weight = 0, .second_moment_weight = 0});
          }) ==
          "GlobalOrthogonalRegularizationLoss: at least one of mean_weight or second_moment_weight must be "
          "non-zero");

    const Any mnrl(MultipleNegativesRankingLoss<Cpu, double>{});
    const MatryoshkaLoss<Cpu, double> wide(mnrl, {.matryoshka_dims = {16, 4}});
    CHECK(error_message([&] { wide(g, two, {}); }) ==
          "MatryoshkaLoss: dimension 16 in matryoshka_dims cannot be greater than the embedding dimension 6 "
          "(embeddings [5, 6])");
    CHECK(
        error_message([&] {
            MatryoshkaLoss<Cpu, double>(mnrl, {.matryoshka_dims = {4, 2}, .matryoshka_weights = {1}});
        }) ==
        "MatryoshkaLoss: matryoshka_weights must be the same length as matryoshka_dims; got 1 weights for 2 "
        "dimensions");
    CHECK(error_message([&] { MatryoshkaLoss<Cpu, double>(mnrl, {.matryoshka_dims = {}}); }) ==
          "MatryoshkaLoss: you must provide at least one dimension in matryoshka_dims");
    CHECK(error_message([&] {
              MatryoshkaLoss<Cpu, double>(mnrl, {.matryoshka_dims = {4, 0}});
          }) == "MatryoshkaLoss: every dimension in matryoshka_dims must be > 0, found 0");
    // The inner loss's own check still speaks.
    const MatryoshkaLoss<Cpu, double> narrow(mnrl, {.matryoshka_dims = {4}});
    CHECK(error_message([&] {
              narrow(g, {two[0]}, {});
          }).find("MultipleNegativesRankingLoss: needs 2 or more") == 0);

    const AdaptiveLayerLoss<Cpu, double> adaptive(mnrl, {});
    CHECK(error_message([&] {
              adaptive(g, {two, {two[0]}}, {});
          }) ==
          "AdaptiveLayerLoss: every layer needs the same number of columns as the last (1); layer 0 has 2");
    CHECK(error_message([&] { adaptive(g, {}, {}); }) ==
          "AdaptiveLayerLoss: needs the embeddings after each layer; got no layers");

    const GISTEmbedLoss<Cpu, double> gist;
    CHECK(error_message([&] { gist(g, two, {x[0]}); }) ==
          "GISTEmbedLoss: needs the guide's embeddings of each of the 2 columns; got 1 guide column");
    const VS four = {two[0], two[1], three[2], three[2]};
    CHECK(error_message([&] {
              gist(g, four, {x[0], x[1], x[2], x[2]});
          }) ==
          "GISTEmbedLoss: needs 2 to 3 columns (anchor, positive) or (anchor, positive, negative); got 4 "
          "columns "
          "and no label column");
    CHECK(error_message([&] {
              gist(g, two, {x[0], rnd({4, 6}, 1)});
          }).find("guide column 1 is [4, 6]") != std::string::npos);
    CHECK(error_message([&] { CachedGISTEmbedLoss<Cpu, double>({}, 0); }) ==
          "CachedGISTEmbedLoss: mini_batch_size must be positive, found 0");
}

TEST_CASE("the guided and wrapped losses run on the Sealed backend with the CPU's results") {
    using S = testing::Sealed;
    const auto x = columns(3);
    const auto guides = columns(3, 5, 4, 700);
    auto run = [&]<class Bk>() {
        auto to = [](const TD& t) { return Tensor<Bk, double>::from_vector(t.to_vector(), t.shape()); };
        Graph<Bk, double> g;
        std::vector<Var<Bk, double>> v;
        std::vector<Tensor<Bk, double>> guide;
        for (const auto& t : x) v.push_back(g.input(to(t), true));
        for (const auto& t : guides) guide.push_back(to(t));
        const GISTEmbedLoss<Bk, double> gist({.temperature = 0.1});
        const MatryoshkaLoss<Bk, double> matryoshka(
            AnyEmbeddingLoss<Bk, double>(GlobalOrthogonalRegularizationLoss<Bk, double>{}),
            {.matryoshka_dims = {6, 3}});
        auto loss = add(gist(g, v, guide), matryoshka(g, v, {}));
        g.backward(loss);
        std::vector<double> out = {loss.value().item()};
        for (const auto& c : v)
            for (double d : g.grad(c).to_vector()) out.push_back(d);
        return out;
    };
    CHECK(run.template operator()<Cpu>() == run.template operator()<S>());
}
