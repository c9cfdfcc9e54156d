// The contrastive losses in double: finite-difference gradient checks of their new ops
// and of each loss over its embeddings and learned scalars, the errors a wrong batch
// gets, open_clip's logit_scale clamp, and a run on the Sealed backend.
#include <tandem/losses.hpp>

#include <tandem/testing/gradcheck.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
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
using MNRL = MultipleNegativesRankingLoss<Cpu, double>;

namespace {
constexpr double tolerance = 1e-6;

TD rnd(const Shape& s, std::uint64_t seed, double lo = -1, double hi = 1) {
    return random_tensor<Cpu, double>(s, seed, lo, hi);
}

std::vector<TD> columns(int count, index_t rows = 6, index_t dim = 5) {
    std::vector<TD> out;
    for (int c = 0; c < count; ++c) out.push_back(rnd({rows, dim}, 100 + c));
    return out;
}

void check(const std::string& name, const std::function<V(G&, const VS&)>& f, const std::vector<TD>& inputs) {
    auto r = gradcheck<Cpu>(f, inputs);
    INFO(name << ": worst input " << r.worst_input << ", relative error " << r.max_relative_error);
    CHECK(r.max_relative_error < tolerance);
}
}  // namespace

TEST_CASE("gradcheck: logsumexp, with -inf entries, and clamp") {
    check("logsumexp", [](G&, const VS& x) { return logsumexp(x[0]); }, {rnd({4, 7}, 1, -3, 3)});
    check("logsumexp masked",
          [](G& g, const VS& x) {
              auto mask = TD::empty({5, 5});
              Cpu::fill_diagonal_blocks(mask.data(), 5, 5, 0, 5, -std::numeric_limits<double>::infinity(),
                                        0.0);
              return logsumexp(add(x[0], g.input(mask)));
          },
          {rnd({5, 5}, 2, -3, 3)});
    // Away from the bounds, where the derivative is defined.
    check("clamp", [](G&, const VS& x) { return clamp(x[0], -0.5, 0.5); },
          {TD::from_vector({-0.9, -0.7, -0.3, 0.1, 0.45, 0.8, 1.2}, {7})});
    G g;
    const auto x = g.input(TD::from_vector({-0.9, 0.2, 0.9}, {3}));
    CHECK(clamp(x, -0.5, 0.5).value().to_vector() == std::vector<double>{-0.5, 0.2, 0.5});
    CHECK(logsumexp(x).value().item() ==
          doctest::Approx(std::log(std::exp(-0.9) + std::exp(0.2) + std::exp(0.9))));
}

TEST_CASE("fill_diagonal_blocks: rows of the identity repeated across column blocks") {
    auto t = TD::empty({2, 6});
    Cpu::fill_diagonal_blocks(t.data(), 2, 6, 1, 3, 1.0, 0.0);
    CHECK(t.to_vector() == std::vector<double>{0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1});
}

// The hardness modes stop the gradient of their penalty, so finite differences do not
// apply to them; the PyTorch fixtures check them (tests/tools).
TEST_CASE("gradcheck: MultipleNegativesRankingLoss in every configuration without hardness") {
    using O = MultipleNegativesRankingLossOptions;
    using D = Direction;
    const std::vector<std::pair<std::string, O>> configs = {
        {"default", {}},
        {"dot_score", {.scale = 1, .similarity_fct = SimilarityFunction::dot_score}},
        {"symmetric per direction",
         {.directions = {D::query_to_doc, D::doc_to_query}, .partition_mode = PartitionMode::per_direction}},
        {"all directions joint",
         {.directions = {D::query_to_doc, D::query_to_query, D::doc_to_query, D::doc_to_doc}}},
    };
    for (const auto& [name, options] : configs) {
        const MNRL loss(options);
        for (int n : {2, 4}) {
            check(
                name + ", " + std::to_string(n) + " columns", [&](G& g, const VS& x) { return loss(g, x); },
                columns(n));
        }
    }
    const MultipleNegativesSymmetricRankingLoss<Cpu, double> symmetric;
    check(
        "MultipleNegativesSymmetricRankingLoss", [&](G& g, const VS& x) { return symmetric(g, x); },
        columns(2));
}

TEST_CASE("the rows of MultipleNegativesRankingLoss add up to the loss") {
    const MNRL loss({.directions = {Direction::query_to_doc, Direction::query_to_query,
                                    Direction::doc_to_query, Direction::doc_to_doc},
                     .hardness_mode = HardnessMode::all_negatives,
                     .hardness_strength = 3});
    G g;
    VS x;
    for (const auto& t : columns(3, 7)) x.push_back(g.input(t));
    const double whole = loss(g, x).value().item();
    const double parts =
        loss.rows_loss(g, x, 0, 3).value().item() + loss.rows_loss(g, x, 3, 7).value().item();
    CHECK(parts == doctest::Approx(whole).epsilon(1e-13));
}

TEST_CASE("gradcheck: CLIPLoss and SigLIPLoss over embeddings and their learned scalars") {
    const CLIPLoss<Cpu, double> clip;
    const SigLIPLoss<Cpu, double> siglip;
    check(
        "CLIPLoss embeddings", [&](G& g, const VS& x) { return clip(g, x); }, columns(2));
    check(
        "SigLIPLoss embeddings", [&](G& g, const VS& x) { return siglip(g, x); }, columns(2));
    const auto fixed = columns(2);
    for (auto* store : {&clip.parameters(), &siglip.parameters()}) {
        const bool is_clip = store == &clip.parameters();
        const auto r = testing::gradcheck_parameters<Cpu>(*store, [&](G& g) {
            const VS x = {g.input(fixed[0]), g.input(fixed[1])};
            return is_clip ? clip(g, x) : siglip(g, x);
        });
        INFO((is_clip ? "CLIPLoss" : "SigLIPLoss") << " parameters: " << r.max_relative_error);
        CHECK(r.max_relative_error < tolerance);
    }
}

TEST_CASE("CLIPLoss and SigLIPLoss start from open_clip's values and clamp logit_scale to [0, ln 100]") {
    CLIPLoss<Cpu, double> clip;
    SigLIPLoss<Cpu, double> siglip;
    auto& cs = clip.parameters();
    auto& ss = siglip.parameters();
    CHECK(cs.value(cs.find("logit_scale")).item() == doctest::Approx(std::log(1 / 0.07)));
    CHECK(ss.value(ss.find("logit_scale")).item() == doctest::Approx(std::log(10.0)));
    CHECK(ss.value(ss.find("logit_bias")).item() == doctest::Approx(-10.0));
    CHECK(cs.shape(clip.logit_scale()) == Shape{});
    cs.value(clip.logit_scale()).copy_from(TD::full({}, 5.0));
    clip.clamp_logit_scale();
    CHECK(cs.value(clip.logit_scale()).item() == doctest::Approx(std::log(100.0)));
    ss.value(siglip.logit_scale()).copy_from(TD::full({}, -1.0));
    siglip.clamp_logit_scale();
    CHECK(ss.value(siglip.logit_scale()).item() == 0.0);
    ss.value(siglip.logit_scale()).copy_from(TD::full({}, 3.0));
    siglip.clamp_logit_scale();
    CHECK(ss.value(siglip.logit_scale()).item() == 3.0);
}

TEST_CASE("CLIPLoss reads a model's own logit_scale; a store without one is refused by name") {
    ParameterStore<Cpu, double> model;
    const auto p = model.add("logit_scale", {});
    init_constant(model, p, 1.5);
    const CLIPLoss<Cpu, double> clip(model);
    CHECK(&clip.parameters() == &model);
    G g;
    const auto x = columns(2);
    g.backward(clip(g, {g.input(x[0], true), g.input(x[1], true)}));
    CHECK(model.grad(p).item() != 0.0);
    ParameterStore<Cpu, double> no_bias;
    no_bias.add("logit_scale", {1});
    const auto message = error_message([&] { SigLIPLoss<Cpu, double> siglip(no_bias); });
    CHECK(message.find("SigLIPLoss: the model's parameters have no 'logit_bias'") != std::string::npos);
}

TEST_CASE("a loss given the wrong number of columns says what it needs and what it got") {
    const MNRL mnrl;
    const CLIPLoss<Cpu, double> clip;
    G g;
    const auto x = columns(3);
    const VS one = {g.input(x[0])}, three = {g.input(x[0]), g.input(x[1]), g.input(x[2])};
    CHECK(error_message([&] { mnrl(g, one); }) ==
          "MultipleNegativesRankingLoss: needs 2 or more columns (anchor, positive, negative_1, ..., "
          "negative_n); got 1 column and no label column");
    CHECK(error_message([&] { clip(g, three); }) ==
          "CLIPLoss: needs 2 columns (text, image); got 3 columns and no label column");
    const LossInputs labelled{.min_columns = 2,
                              .max_columns = 2,
                              .needs_labels = true,
                              .columns_meaning = "(sentence_A, sentence_B)"};
    CHECK(error_message([&] { detail::check_loss_inputs<Cpu, double>("SoftmaxLoss", labelled, 2, 4, {}); }) ==
          "SoftmaxLoss: needs 2 columns (sentence_A, sentence_B) and a label column; got 2 columns and no "
          "label column");
    const VS mismatched = {g.input(x[0]), g.input(rnd({6, 4}, 9))};
    CHECK(error_message([&] { mnrl(g, mismatched); }).find("column 1 is [6, 4]") != std::string::npos);
}

TEST_CASE("MultipleNegativesRankingLoss refuses the options sentence-transformers refuses") {
    using D = Direction;
    auto message = [](MultipleNegativesRankingLossOptions o) { return error_message([&] { MNRL loss(o); }); };
    CHECK(message({.scale = 0}).find("scale must be a positive value") != std::string::npos);
    CHECK(message({.directions = {}}).find("at least one direction") != std::string::npos);
    CHECK(message({.directions = {D::doc_to_query}}).find("'query_to_doc' direction is required") !=
          std::string::npos);
    CHECK(message({.directions = {D::query_to_doc, D::doc_to_doc},
                   .partition_mode = PartitionMode::per_direction})
              .find("use partition_mode 'joint'") != std::string::npos);
    CHECK(message({.hardness_strength = -1}).find("hardness_strength must be non-negative") !=
          std::string::npos);
    CHECK(error_message([] {
              CachedMultipleNegativesRankingLoss<Cpu, double> loss({}, 0);
          }).find("mini_batch_size must be positive") != std::string::npos);
}

TEST_CASE("the losses satisfy the Loss concept: plain ones on embeddings, the cached one on an encoder too") {
    static_assert(EmbeddingLoss<MNRL, Cpu, double>);
    static_assert(EmbeddingLoss<MultipleNegativesSymmetricRankingLoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<CLIPLoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<SigLIPLoss<Cpu, float>, Cpu, float>);
    static_assert(CachedLoss<CachedMultipleNegativesRankingLoss<Cpu, float>, Cpu, float>);
    static_assert(EmbeddingLoss<CachedMultipleNegativesRankingLoss<Cpu, float>, Cpu, float>);
    static_assert(!Loss<int, Cpu, float>);
    static_assert(check_loss<CLIPLoss<Cpu, double>, Cpu, double>());
}

TEST_CASE("the losses, cached one included, run on the Sealed backend with the CPU's results") {
    using S = testing::Sealed;
    const auto x = columns(3);
    auto run = [&]<class Bk>() {
        Graph<Bk, double> g;
        std::vector<Var<Bk, double>> v;
        for (const auto& t : x)
            v.push_back(g.input(Tensor<Bk, double>::from_vector(t.to_vector(), t.shape()), true));
        const MultipleNegativesRankingLoss<Bk, double> mnrl(
            {.directions = {Direction::query_to_doc, Direction::query_to_query, Direction::doc_to_doc},
             .hardness_mode = HardnessMode::hard_negatives,
             .hardness_strength = 5});
        SigLIPLoss<Bk, double> siglip;
        siglip.clamp_logit_scale();
        auto loss = add(mnrl(g, v), siglip(g, {v[0], v[1]}));
        g.backward(loss);
        std::vector<double> out = {loss.value().item()};
        for (const auto& c : v)
            for (double d : g.grad(c).to_vector()) out.push_back(d);
        // GradCache over an encoder whose parameters are the embeddings themselves.
        ParameterStore<Bk, double> store;
        std::vector<Parameter> params;
        for (std::size_t i = 0; i < x.size(); ++i)
            params.push_back(store.add("column_" + std::to_string(i), x[i].shape()));
        for (std::size_t i = 0; i < x.size(); ++i) store.value(params[i]).copy_from(v[i].value());
        const CachedMultipleNegativesRankingLoss<Bk, double> cached({}, 4);
        out.push_back(cached
                          .forward_backward(
                              [&](Graph<Bk, double>& h, int c, index_t begin, index_t end) {
                                  return slice(h.parameter(store, params[static_cast<std::size_t>(c)]), 0,
                                               begin, end);
                              },
                              3, 6)
                          .item());
        for (double d : store.grads().to_vector()) out.push_back(d);
        return out;
    };
    const auto cpu = run.template operator()<Cpu>();
    const auto sealed = run.template operator()<S>();
    CHECK(cpu == sealed);
}
