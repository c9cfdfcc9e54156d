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
    // A Var owns its value: the loss stays readable after the tape is gone.
    CHECK(loss.value().item() == 64.0f);
}

TEST_CASE("backward from non-scalar outputs with given gradients") {
    GF g;
    auto x = g.input(TF::from_vector({1, 2, 3, 4}, {2, 2}), true);
    auto y = mul(x, x);  // dy/dx = 2x
    auto z = sum(x, 1);  // dz/dx = 1 per row
    g.backward({y, z}, {TF::from_vector({1, 0, 0, 1}, {2, 2}), TF::from_vector({10, 20}, {2})});
    CHECK(x.grad().to_vector() == std::vector<float>{12, 10, 20, 28});
    GF h;
    auto a = h.input(TF::zeros({2}), true);
    CHECK_THROWS_WITH_AS(h.backward({a}, {TF::zeros({3})}),
                         "Graph::backward: output 0 has shape [2] but its gradient has shape [3]", Error);
    CHECK_THROWS_WITH_AS(h.backward(std::vector<Var<Cpu, float>>{a}, {}),
                         "Graph::backward: expected one gradient per output, found 1 outputs and 0 gradients",
                         Error);
}

TEST_CASE("reshape is a view: it shares its input's storage and gradient buffer, and records no backward") {
    GF g;
    auto x = g.input(TF::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}), true);
    auto v = reshape(x, {3, 2});
    CHECK(v.value().data() == x.value().data());
    auto loss = sum(mul(v, v));
    g.backward(loss);
    CHECK(x.grad().to_vector() == std::vector<float>{2, 4, 6, 8, 10, 12});
    CHECK(v.grad().data() == x.grad().data());
}

TEST_CASE("intermediates are freed as soon as nothing needs them") {
    Cpu::empty_cache();
    const auto before = Cpu::allocated_bytes();
    {
        NoGradGuard no_grad;
        GF g;
        auto x = g.input(TF::full({1 << 16}, 1.0f));
        for (int i = 0; i < 20; ++i) x = scale(exp(x), 0.5f);
        CHECK(g.tape_size() == 0);
        // x and at most one intermediate (256 KiB each) are alive, not 40 of them.
        CHECK(Cpu::allocated_bytes() - before <= std::size_t{2} << 18);
        CHECK(x.value().to_vector()[0] > 0.0f);
    }
    CHECK(Cpu::allocated_bytes() == before);
    // With gradients the tape keeps what the closures need: exp keeps x and y, scale nothing.
    GF g;
    auto x = g.input(TF::full({1 << 16}, 1.0f), true);
    const auto with_input = Cpu::allocated_bytes();
    auto y = x;
    for (int i = 0; i < 4; ++i) y = add(y, y);
    CHECK(g.tape_size() == 5);
    CHECK(Cpu::allocated_bytes() - with_input == std::size_t{1} << 18);  // only the last sum is alive
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

TEST_CASE("a frozen parameter is a constant leaf: no gradient, and no backward for what only it feeds") {
    ParameterStore<Cpu, float> store;
    auto w1 = store.add("tower.fc1.weight", {2, 3});
    auto w2 = store.add("tower.fc2.weight", {2, 2});
    auto head = store.add("head.weight", {1, 2});
    store.value(w1).copy_from(TF::from_vector({1, 0, 1, 0, 1, 1}, {2, 3}));
    store.value(w2).copy_from(TF::from_vector({1, 2, 3, 4}, {2, 2}));
    store.value(head).copy_from(TF::from_vector({1, -1}, {1, 2}));
    auto run = [&] {
        GF g;
        auto x = g.input(TF::from_vector({1, 2, 3}, {1, 3}));
        auto h = linear(linear(x, g.parameter(store, w1)), g.parameter(store, w2));
        auto loss = sum(linear(h, g.parameter(store, head)));
        const auto recorded = g.tape_size();
        g.backward(loss);
        return std::pair{recorded, h.requires_grad()};
    };
    // Unfrozen: three parameters and three linears on the tape, plus the sum.
    CHECK(store.requires_grad(w1));
    CHECK(run() == std::pair<std::size_t, bool>{7, true});
    const auto unfrozen_head = store.grad(head).to_vector();

    store.zero_grad();
    CHECK(store.freeze("tower.*") == 2);
    CHECK(!store.requires_grad(w1));
    CHECK(!store.requires_grad(w2));
    CHECK(store.requires_grad(head));
    // The tower's linears read only constants: the tape holds the head's parameter, its
    // linear and the sum; the tower's output needs no gradient.
    CHECK(run() == std::pair<std::size_t, bool>{3, false});
    CHECK(store.grad(w1).to_vector() == std::vector<float>(6, 0.0f));
    CHECK(store.grad(w2).to_vector() == std::vector<float>(4, 0.0f));
    CHECK(store.grad(head).to_vector() == unfrozen_head);

    store.set_requires_grad(w2, true);
    store.zero_grad();
    CHECK(run().first == 5);
    CHECK(store.grad(w1).to_vector() == std::vector<float>(6, 0.0f));
    CHECK(store.set_requires_grad("tower.*", true) == 2);
    CHECK_THROWS_WITH_AS(store.freeze("vision_model.*"),
                         "ParameterStore::set_requires_grad: pattern 'vision_model.*' matches no parameter "
                         "name (expected a glob such as 'vision_model.*')",
                         Error);
    CHECK_THROWS_WITH_AS(store.set_requires_grad(Parameter{7}, false),
                         "ParameterStore: invalid parameter handle 7", Error);
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
    CHECK_FALSE(loss.requires_grad());
    CHECK(g.tape_size() == 0);
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
    CHECK_THROWS_WITH_AS(cross_entropy(a, Ids<Cpu>::from_vector({0, 5}, {2})),
                         "cross_entropy: targets range over [0, 5], outside the classes [0, 3)", Error);
    CHECK_THROWS_WITH_AS(gather_rows(a, Ids<Cpu>::from_vector({2}, {1})),
                         "gather_rows: ids range over [2, 2], outside [0, 2)", Error);
}

TEST_CASE("Vars from different graphs cannot be mixed") {
    GF g1, g2;
    auto a = g1.input(TF::zeros({2}), true), b = g2.input(TF::zeros({2}), true);
    CHECK_THROWS_WITH_AS(add(a, b), "add: the Var belongs to another graph (or to none)", Error);
    CHECK_THROWS_WITH_AS(add(Var<Cpu, float>{}, b), "add: the input is an empty Var (not created by a Graph)",
                         Error);
}

TEST_CASE("dropout: in train mode only, each call a new stream of the graph's seed, same seed same masks") {
    auto masks = [](std::uint64_t seed) {
        GF g({.training = true, .seed = seed});
        auto x = g.input(TF::full({1000}, 1.0f), true);
        return std::pair{dropout(x, 0.25f).value().to_vector(), dropout(x, 0.25f).value().to_vector()};
    };
    const auto [a1, a2] = masks(5);
    const auto [b1, b2] = masks(5);
    CHECK(a1 == b1);
    CHECK(a2 == b2);
    CHECK(a1 != a2);
    CHECK(masks(6).first != a1);
    // The mask is Philox(seed, stream = call number) drawn per element, as the kernel promises.
    const Philox first(5, 0);
    int kept = 0;
    for (std::size_t i = 0; i < a1.size(); ++i) {
        CHECK(a1[i] == (first.uniform(i) >= 0.25 ? 1.0f / 0.75f : 0.0f));
        kept += a1[i] != 0.0f;
    }
    CHECK(std::abs(kept - 750) < 60);
    GF eval;
    auto x = eval.input(TF::full({4}, 1.0f), true);
    CHECK(dropout(x, 0.25f).index == x.index);
    CHECK_THROWS_AS(dropout(x, 1.0f), Error);
}
