// MegaBatchMarginLoss in double: a finite-difference gradient check, GradCache in small
// mini-batches against the whole batch at once, margins exactly met on paper, and the
// errors of a wrong batch.
#include <tandem/losses/mega_batch_margin.hpp>

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

namespace {
TD rnd(const Shape& s, std::uint64_t seed) {
    return tandem::testing::random_tensor<Cpu, double>(s, seed, -1, 1);
}
}  // namespace

TEST_CASE("MegaBatchMarginLoss: gradcheck, and GradCache by mini-batches equals the whole batch") {
    static_assert(CachedLoss<MegaBatchMarginLoss<Cpu, double>, Cpu, double>);
    const std::vector<TD> inputs = {rnd({7, 5}, 81), rnd({7, 5}, 82)};
    const MegaBatchMarginLoss<Cpu, double> whole({.positive_margin = 0.9, .negative_margin = -0.2});
    const auto r = tandem::testing::gradcheck<Cpu>([&](G& g, const VS& x) { return whole(g, x); }, inputs);
    CHECK(r.max_relative_error < 1e-6);

    G g;
    VS x = {g.input(inputs[0], true), g.input(inputs[1], true)};
    const auto value = whole(g, x);
    g.backward(value);
    for (const index_t mini_batch : {1, 3, 7}) {
        const MegaBatchMarginLoss<Cpu, double> cached(
            {.positive_margin = 0.9, .negative_margin = -0.2, .mini_batch_size = mini_batch});
        ParameterStore<Cpu, double> store;
        const Parameter a = store.add("anchor", {7, 5}), p = store.add("positive", {7, 5});
        store.value(a).copy_from(inputs[0]);
        store.value(p).copy_from(inputs[1]);
        store.zero_grad();
        const ColumnEncoder<Cpu, double> encode = [&](G& h, int column, index_t begin, index_t end) {
            return slice(h.parameter(store, column == 0 ? a : p), 0, begin, end);
        };
        CHECK(cached.forward_backward(encode, 2, 7).item() ==
              doctest::Approx(value.value().item()).epsilon(1e-13));
        for (int c = 0; c < 2; ++c) {
            const auto expected = g.grad(x[c]).to_vector(), got = store.grad(c == 0 ? a : p).to_vector();
            for (std::size_t i = 0; i < expected.size(); ++i)
                CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-12));
        }
    }
}

TEST_CASE("hand-worked: both margins exactly met cost nothing; a missed positive margin costs its gap") {
    // cos(a0, p0) = cos(a1, p1) = 0.8; the hardest negative of a0 is p1 at cos 0.3, of a1 is
    // p0 at cos 0.
    const double x = std::sqrt(0.27);
    G g;
    const VS cols = {g.input(TD::from_vector({1, 0, 0, 0, 0, 1}, {2, 3})),
                     g.input(TD::from_vector({0.8, 0.6, 0, 0.3, x, 0.8}, {2, 3}))};
    CHECK(std::abs(MegaBatchMarginLoss<Cpu, double>()(g, cols).value().item()) < 1e-15);
    // positive_margin 0.9: each row misses it by 0.1, averaged over the 2 rows.
    CHECK(MegaBatchMarginLoss<Cpu, double>({.positive_margin = 0.9})(g, cols).value().item() ==
          doctest::Approx(0.1).epsilon(1e-12));
}

TEST_CASE("MegaBatchMarginLoss refuses a wrong batch, saying what it needs and what it got") {
    G g;
    const auto v = g.input(rnd({4, 3}, 90));
    CHECK(error_message([&] {
              MegaBatchMarginLoss<Cpu, double>()(g, {v, v, v});
          }) == "MegaBatchMarginLoss: needs 2 columns (anchor, positive); got 3 columns and no label column");
    CHECK(error_message([] { MegaBatchMarginLoss<Cpu, double>({.mini_batch_size = 0}); }) ==
          "MegaBatchMarginLoss: mini_batch_size must be positive, found 0");
    const auto w = g.input(rnd({4, 5}, 91));
    CHECK(
        error_message([&] {
            MegaBatchMarginLoss<Cpu, double>()(g, {v, w});
        }) ==
        "MegaBatchMarginLoss: every column must be embeddings [batch, dim] of one shape; column 0 is [4, 3], "
        "column 1 is [4, 5]");
}
