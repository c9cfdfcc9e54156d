// The collectives over every rank, the parameter broadcast and gradient all-reduce over
// an arena in buckets, all_gather's gradient, and the DistributedSampler's shards.
#include <tandem/dist/communicator.hpp>

#include <tandem/autograd/ops.hpp>
#include <tandem/backend/cpu.hpp>
#include <tandem/data/samplers.hpp>
#include <tandem/dist.hpp>

#include <doctest/doctest.h>

#include "world.hpp"

#include <algorithm>
#include <numeric>
#include <set>

using namespace tandem;
using tandem::testing::world;

TEST_CASE("the communicator broadcasts from rank 0, sums in place and gathers blocks of any length") {
    auto& comm = world();
    REQUIRE(comm.size() >= 2);
    const int r = comm.rank(), n = comm.size();
    comm.barrier();

    std::vector<std::byte> bytes(5, std::byte(r + 1));
    comm.broadcast(bytes);
    CHECK(std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{1}; }));

    std::vector<float> f = {float(r), 1.5f};
    comm.all_reduce_sum(std::span<float>(f));
    CHECK(f[0] == float(n * (n - 1) / 2));
    CHECK(f[1] == 1.5f * float(n));
    std::vector<double> d = {0.25 * r};
    comm.all_reduce_sum(std::span<double>(d));
    CHECK(d[0] == doctest::Approx(0.25 * n * (n - 1) / 2));

    // Rank r sends r + 1 values r, ..., so blocks differ in length.
    const auto counts = comm.all_gather_count(r + 1);
    REQUIRE(counts.size() == std::size_t(n));
    std::vector<double> mine(std::size_t(r + 1), double(r)), all(std::size_t(n * (n + 1) / 2));
    comm.all_gather(std::span<const double>(mine), std::span<double>(all), counts);
    std::size_t at = 0;
    for (int k = 0; k < n; ++k)
        for (int i = 0; i <= k; ++i) CHECK(all[at++] == double(k));
}

TEST_CASE("parameters start as rank 0's and gradients become their mean over ranks, bucket by bucket") {
    auto& comm = world();
    const int r = comm.rank(), n = comm.size();
    ParameterStore<Cpu, float> store;
    const auto a = store.add("a", {3, 5});
    const auto b = store.add("b", {7});
    std::vector<float> va(15), vb(7), ga(15), gb(7);
    for (std::size_t i = 0; i < 15; ++i) {
        va[i] = float(i) + 100.0f * float(r);
        ga[i] = float(i) * float(r + 1);
    }
    for (std::size_t i = 0; i < 7; ++i) {
        vb[i] = -float(i) - 100.0f * float(r);
        gb[i] = float(r);
    }
    store.value(a).copy_from(Tensor<Cpu, float>::from_vector(va, {3, 5}));
    store.value(b).copy_from(Tensor<Cpu, float>::from_vector(vb, {7}));
    store.grad(a).copy_from(Tensor<Cpu, float>::from_vector(ga, {3, 5}));
    store.grad(b).copy_from(Tensor<Cpu, float>::from_vector(gb, {7}));
    // Buckets of 6 elements cut both parameters and the padding between them.
    dist::broadcast_parameters(comm, store, 6);
    dist::all_reduce_gradients(comm, store, 6);
    const auto value_a = store.value(a).to_vector(), value_b = store.value(b).to_vector();
    const auto grad_a = store.grad(a).to_vector(), grad_b = store.grad(b).to_vector();
    const float mean_factor = float(n + 1) / 2;  // the mean of r + 1 over ranks
    for (std::size_t i = 0; i < 15; ++i) {
        CHECK(value_a[i] == float(i));
        CHECK(grad_a[i] == doctest::Approx(double(i) * mean_factor));
    }
    for (std::size_t i = 0; i < 7; ++i) {
        CHECK(value_b[i] == -float(i));
        CHECK(grad_b[i] == doctest::Approx(double(n - 1) / 2));
    }
}

TEST_CASE(
    "all_gather concatenates every rank's rows and returns each rank its slice of the summed gradient") {
    auto& comm = world();
    const int r = comm.rank(), n = comm.size();
    // Rank k holds k + 1 rows of 2 values: (k, i).
    const index_t rows = r + 1;
    std::vector<double> x;
    for (index_t i = 0; i < rows; ++i) x.insert(x.end(), {double(r), double(i)});
    Graph<Cpu, double> g;
    auto input = g.input(Tensor<Cpu, double>::from_vector(x, {rows, 2}), true);
    const auto gathered = dist::all_gather(comm, input);
    const index_t total = index_t(n) * (n + 1) / 2;
    REQUIRE(gathered.all.shape() == Shape{total, 2});
    CHECK(gathered.begin == index_t(r) * (r + 1) / 2);
    CHECK(gathered.end == gathered.begin + rows);
    const auto all = gathered.all.value().to_vector();
    index_t at = 0;
    for (int k = 0; k < n; ++k)
        for (int i = 0; i <= k; ++i, ++at) {
            CHECK(all[std::size_t(2 * at)] == double(k));
            CHECK(all[std::size_t(2 * at + 1)] == double(i));
        }
    // Rank k's loss weighs gathered element j by (k + 1) (j + 1): the summed weight of
    // element j over ranks is n (n + 1) / 2 (j + 1).
    std::vector<double> w(std::size_t(2 * total));
    for (std::size_t j = 0; j < w.size(); ++j) w[j] = double(r + 1) * double(j + 1);
    auto loss = sum(mul(gathered.all, g.input(Tensor<Cpu, double>::from_vector(w, {total, 2}))));
    g.backward(loss);
    const auto dx = g.grad(input).to_vector();
    for (std::size_t j = 0; j < dx.size(); ++j)
        CHECK(dx[j] ==
              doctest::Approx(double(n) * (n + 1) / 2 * double(std::size_t(2 * gathered.begin) + j + 1)));
}

TEST_CASE(
    "DistributedSampler: every rank shards the same global plan, each row once, no duplicates per global "
    "batch") {
    std::vector<std::string> texts;
    for (int i = 0; i < 50; ++i) texts.push_back("text " + std::to_string(i % 20));
    const data::Dataset d({data::Column("anchor", texts)});
    const data::SamplerOptions o{.batch_size = 8, .drop_last = false, .seed = 3};
    for (int world_size : {1, 2, 3}) {
        data::NoDuplicatesBatchSampler global(d, o);
        global.set_epoch(1);
        const auto plan = global.batches();
        std::vector<data::Batches> shards;
        for (int r = 0; r < world_size; ++r) {
            dist::DistributedSampler s(global, r, world_size);
            s.set_epoch(1);
            CHECK(s.size() == global.size());
            shards.push_back(s.batches());
        }
        std::size_t kept = 0, kept_rows = 0;
        for (const auto& batch : plan) {
            if (batch.size() < std::size_t(world_size)) continue;
            kept_rows += batch.size();
            std::vector<std::size_t> joined;
            for (int r = 0; r < world_size; ++r) {
                const auto& shard = shards[std::size_t(r)].at(kept);
                CHECK(shard.size() >= batch.size() / std::size_t(world_size));
                joined.insert(joined.end(), shard.begin(), shard.end());
            }
            CHECK(joined == batch);
            std::set<std::string> seen;
            for (std::size_t row : joined) CHECK(seen.insert(texts[row]).second);
            ++kept;
        }
        std::multiset<std::size_t> rows;
        for (const auto& shard : shards) {
            CHECK(shard.size() == kept);
            for (const auto& batch : shard) rows.insert(batch.begin(), batch.end());
        }
        // Each row of the kept batches once across ranks; with one rank, every row of the dataset.
        CHECK(rows.size() == kept_rows);
        CHECK(std::set<std::size_t>(rows.begin(), rows.end()).size() == kept_rows);
        if (world_size == 1) CHECK(kept_rows == 50);
    }
    CHECK_THROWS_WITH_AS(dist::DistributedSampler(data::DefaultBatchSampler(d, o), 2, 2),
                         "DistributedSampler: expected 0 <= rank < world_size, found rank 2 of 2", Error);
}
