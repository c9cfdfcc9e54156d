// The local-loss forms with gathered negatives equal the loss on the concatenated batch:
// the mean over ranks of each rank's loss is its value, and each rank's gradient of its
// own rows (over the world size, as the gradient all-reduce divides) and the mean of the
// learned temperature's gradient are its gradients, in double to 1e-6. Ranks hold
// different numbers of rows.
#include <tandem/dist/gathered_loss.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/core/rng.hpp>
#include <tandem/dist/parameters.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>

#include <doctest/doctest.h>

#include "world.hpp"

#include <cmath>

using namespace tandem;
using tandem::testing::world;

namespace {

using Tensor64 = Tensor<Cpu, double>;
constexpr index_t dim = 6;

// Rank k's rows: 3 + k. The global batch is the same on every rank.
index_t rows_of(int rank) { return 3 + rank; }

Tensor64 global_column(int column, index_t rows) {
    std::vector<double> v(static_cast<std::size_t>(rows * dim));
    Philox rng(11, static_cast<std::uint64_t>(column));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = rng.normal(i);
    return Tensor64::from_vector(v, {rows, dim});
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

// Runs `loss` on the whole batch in one process and gathered over every rank, and
// compares value and gradients; `own` is the loss's own parameter store, if any.
template <class Loss>
void check_gathered(const Loss& loss, int columns, ParameterStore<Cpu, double>* own) {
    auto& comm = world();
    const int r = comm.rank(), n = comm.size();
    index_t total = 0, begin = 0;
    for (int k = 0; k < n; ++k) {
        if (k < r) begin += rows_of(k);
        total += rows_of(k);
    }
    const index_t mine = rows_of(r);

    // The reference: one process, the concatenated batch.
    std::vector<Tensor64> reference_grads;
    double reference_value = 0;
    std::vector<double> reference_own;
    {
        if (own) own->zero_grad();
        Graph<Cpu, double> g;
        std::vector<Var<Cpu, double>> inputs;
        for (int c = 0; c < columns; ++c) inputs.push_back(g.input(global_column(c, total), true));
        auto value = loss(g, inputs, {});
        reference_value = value.value().item();
        g.backward(value);
        for (const auto& in : inputs) reference_grads.push_back(g.grad(in).rows(begin, begin + mine).clone());
        if (own) reference_own = own->grads().to_vector();
    }

    if (own) own->zero_grad();
    Graph<Cpu, double> g;
    std::vector<Var<Cpu, double>> inputs;
    for (int c = 0; c < columns; ++c)
        inputs.push_back(g.input(global_column(c, total).rows(begin, begin + mine).clone(), true));
    auto local = dist::gathered_loss(comm, g, loss, inputs);
    const double value = dist::mean_over_ranks(comm, local.value().item());
    g.backward(local);
    CHECK(std::abs(value - reference_value) < 1e-6 * std::max(1.0, std::abs(reference_value)));
    for (int c = 0; c < columns; ++c) {
        auto grad = g.grad(inputs[std::size_t(c)]).to_vector();
        for (auto& x : grad) x /= double(n);
        CHECK(max_abs_diff(grad, reference_grads[std::size_t(c)].to_vector()) < 1e-6);
    }
    if (own) {
        dist::all_reduce_gradients(comm, *own);
        CHECK(max_abs_diff(own->grads().to_vector(), reference_own) < 1e-6);
    }
}

}  // namespace

TEST_CASE("MultipleNegativesRankingLoss with gathered negatives equals the loss on the concatenated batch") {
    SUBCASE("anchor, positive") { check_gathered(MultipleNegativesRankingLoss<Cpu, double>(), 2, nullptr); }
    SUBCASE("a hard negative, every direction, dot products") {
        const MultipleNegativesRankingLoss<Cpu, double> loss(
            {.scale = 7.0,
             .similarity_fct = SimilarityFunction::dot_score,
             .directions = {Direction::query_to_doc, Direction::query_to_query, Direction::doc_to_query,
                            Direction::doc_to_doc}});
        check_gathered(loss, 3, nullptr);
    }
}

TEST_CASE("CLIPLoss and SigLIPLoss with gathered negatives equal the loss on the concatenated batch") {
    SUBCASE("CLIPLoss") {
        const CLIPLoss<Cpu, double> loss;
        check_gathered(loss, 2, &loss.parameters());
    }
    SUBCASE("SigLIPLoss") {
        // A bias near 0 keeps both signs of every pair's term in play.
        const SigLIPLoss<Cpu, double> loss({.init_logit_scale = std::log(5.0), .init_logit_bias = -0.5});
        check_gathered(loss, 2, &loss.parameters());
    }
}
