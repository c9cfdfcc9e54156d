#include <tandem/autograd/graph.hpp>

#include <tandem/autograd/ops.hpp>
#include <tandem/backend/cpu.hpp>

#include <doctest/doctest.h>

using namespace tandem;
using TF = Tensor<Cpu, float>;
using GF = Graph<Cpu, float>;

TEST_CASE("backward accumulates into leaves, then frees the tape; a second backward is an error") {
    GF g;
    auto x = g.input(TF::from_vector({1, 2, 3}, {3}), true);
    auto y = g.input(TF::from_vector({4, 5, 6}, {3}));
    auto loss = sum(mul(add(x, x), y));  // d/dx = 2 y
    CHECK(loss.value().item() == 64.0f);
    g.backward(loss);
    CHECK(x.grad().to_vector() == std::vector<float>{8, 10, 12});
    CHECK(g.freed());
    CHECK_THROWS_WITH_AS(
        g.backward(loss),
        "Graph::backward: this tape was already run and freed by an earlier backward(); build a "
        "new Graph for each step",
        Error);
    CHECK_THROWS_AS(add(x, x), Error);
    CHECK_THROWS_WITH_AS(loss.value(), "Graph::value: this intermediate value was freed by backward()",
                         Error);
}

TEST_CASE("parameters accumulate straight into the store's gradient arena") {
    ParameterStore<Cpu, float> store;
    auto w = store.add("layer.weight", {2, 3});
    auto b = store.add("layer.bias", {2});
    CHECK(store.numel() == 8);
    store.value(w).copy_from(TF::from_vector({1, 0, 0, 0, 1, 0}, {2, 3}));
    for (int step = 0; step < 2; ++step) {
        GF g;
        auto x = g.input(TF::from_vector({1, 2, 3}, {1, 3}));
        auto pw = g.parameter(store, w), pb = g.parameter(store, b);
        g.backward(sum(linear(x, pw, &pb)));
    }
    // Two steps without zero_grad: the gradient of sum(x W^T + b) is x per row and 1 per bias, twice.
    CHECK(store.grad(w).to_vector() == std::vector<float>{2, 4, 6, 2, 4, 6});
    CHECK(store.grad(b).to_vector() == std::vector<float>{2, 2});
    store.zero_grad();
    CHECK(store.grad(b).to_vector() == std::vector<float>{0, 0});
    CHECK(store.name(store.find("layer.bias")) == "layer.bias");
    CHECK_THROWS_WITH_AS(
        store.add("late", {1}),
        "ParameterStore::add('late'): the arena is already laid out; add every parameter before "
        "the first value() or grad()",
        Error);
    CHECK_THROWS_WITH_AS(store.find("missing"), "ParameterStore: no parameter named 'missing'", Error);
}

TEST_CASE("NoGradGuard records no backward; backward on such a loss is an error") {
    ParameterStore<Cpu, float> store;
    auto w = store.add("w", {3});
    GF g;
    Var<Cpu, float> loss;
    {
        NoGradGuard guard;
        CHECK_FALSE(grad_enabled());
        loss = sum(g.parameter(store, w));
    }
    CHECK(grad_enabled());
    CHECK_FALSE(g.requires_grad(loss));
    CHECK_THROWS_WITH_AS(
        g.backward(loss),
        "Graph::backward: the loss does not depend on any parameter or input that requires a "
        "gradient",
        Error);
}

TEST_CASE("shape mismatches name the op and both shapes") {
    GF g;
    auto a = g.input(TF::zeros({2, 3}), true), b = g.input(TF::zeros({3, 2}), true);
    CHECK_THROWS_WITH_AS(
        add(a, b),
        "add: shape mismatch, [2, 3] and [3, 2] (the second must equal the first, its trailing "
        "dimensions, or have one element)",
        Error);
    CHECK_THROWS_WITH_AS(matmul(a, a), "matmul: shape mismatch, [2, 3] and [2, 3]", Error);
    CHECK_THROWS_WITH_AS(linear(a, b),
                         "linear: shape mismatch, input [2, 3] and weight [3, 2] (expected weight [out, 3])",
                         Error);
    CHECK_THROWS_WITH_AS(cross_entropy(a, {0, 5}), "cross_entropy: target 5 in row 1 is outside [0, 3)",
                         Error);
    CHECK_THROWS_WITH_AS(gather_rows(a, {2}),
                         "gather_rows: index 2 at position 0 is outside [0, 2) for shape [2, 3]", Error);
}

TEST_CASE("Vars from different graphs cannot be mixed") {
    GF g1, g2;
    auto a = g1.input(TF::zeros({2}), true), b = g2.input(TF::zeros({2}), true);
    CHECK_THROWS_WITH_AS(add(a, b), "add: inputs belong to different graphs (or to none)", Error);
    CHECK_THROWS_WITH_AS(add(Var<Cpu, float>{}, b), "add: the input is an empty Var (not created by a Graph)",
                         Error);
}

TEST_CASE("dropout: deterministic by (seed, stream), scaled to keep the mean, identity in eval") {
    GF g;
    auto x = g.input(TF::full({1000}, 1.0f), true);
    auto y1 = dropout(x, 0.25f, Philox(5, 1)).value().to_vector();
    auto y2 = dropout(x, 0.25f, Philox(5, 1)).value().to_vector();
    auto y3 = dropout(x, 0.25f, Philox(5, 2)).value().to_vector();
    CHECK(y1 == y2);
    CHECK(y1 != y3);
    int kept = 0;
    for (float v : y1) {
        CHECK_UNARY(v == 0.0f || std::abs(v - 1.0f / 0.75f) < 1e-6f);
        kept += v != 0.0f;
    }
    CHECK(std::abs(kept - 750) < 60);
    CHECK(dropout(x, 0.25f, Philox(5, 1), false).index == x.index);
    CHECK_THROWS_AS(dropout(x, 1.0f, Philox(5, 1)), Error);
}
