// End to end: autograd, Linear, AdamW and cross-entropy train the XOR MLP of
// examples/mlp/xor_task.hpp, deterministically.
#include <tandem/optim/adamw.hpp>

#include <doctest/doctest.h>

#include <cmath>

#include "mlp/xor_task.hpp"

TEST_CASE("the XOR MLP trains below 0.05 in 300 AdamW steps, and the same seed gives the same bits") {
    const auto first = xor_task::train(300, 42);
    // A linear model cannot go below log 2 = 0.693 on this task.
    CHECK(first.front() > 0.6f);
    CHECK(first.back() < 0.05f);
    const auto second = xor_task::train(300, 42);
    CHECK(first == second);
    tandem::set_num_threads(1);
    const auto single = xor_task::train(300, 42);
    tandem::set_num_threads(2);
    CHECK(first == single);
}

TEST_CASE("Linear names its parameters by scope, as Hugging Face does") {
    tandem::ParameterStore<tandem::Cpu, float> store;
    tandem::Linear<tandem::Cpu, float> proj(
        store, tandem::Scope("text_model") / "encoder" / "layers" / 0 / "fc1", 4, 3, false);
    std::vector<std::string> names;
    proj.for_each_parameter([&](const std::string& n, tandem::Parameter) { names.push_back(n); });
    CHECK(names == std::vector<std::string>{"text_model.encoder.layers.0.fc1.weight"});
    CHECK(store.shape(store.find(names[0])) == tandem::Shape{3, 4});
}

TEST_CASE(
    "AdamW parameter groups: learning rate and weight decay per name pattern, frozen groups untouched") {
    using namespace tandem;
    ParameterStore<Cpu, double> store;
    auto w = store.add("layer.weight", {2, 3});
    auto b = store.add("layer.bias", {2});
    auto n = store.add("norm.weight", {3});
    auto e = store.add("embed.weight", {2});
    const std::vector<double> w0 = {1, -2, 3, -4, 5, -6}, b0 = {0.5, -0.5}, n0 = {1, 1, 1}, e0 = {2, -2};
    const std::vector<double> gw = {0.1, 0.2, -0.3, 0.4, -0.5, 0.6}, gb = {1, -1}, gn = {3, 3, 3},
                              ge = {-0.25, 4};
    store.value(w).copy_from(Tensor<Cpu, double>::from_vector(w0, {2, 3}));
    store.value(b).copy_from(Tensor<Cpu, double>::from_vector(b0, {2}));
    store.value(n).copy_from(Tensor<Cpu, double>::from_vector(n0, {3}));
    store.value(e).copy_from(Tensor<Cpu, double>::from_vector(e0, {2}));
    store.grad(w).copy_from(Tensor<Cpu, double>::from_vector(gw, {2, 3}));
    store.grad(b).copy_from(Tensor<Cpu, double>::from_vector(gb, {2}));
    store.grad(n).copy_from(Tensor<Cpu, double>::from_vector(gn, {3}));
    store.grad(e).copy_from(Tensor<Cpu, double>::from_vector(ge, {2}));
    AdamW<Cpu, double> adam(store, {.lr = 0.01, .weight_decay = 0.1},
                            {{.pattern = "*.bias", .weight_decay = 0.0},
                             {.pattern = "norm.*", .frozen = true},
                             {.pattern = "embed.*", .lr = 0.5}});
    CHECK(adam.group_of("layer.bias") == "*.bias");
    CHECK(adam.group_of("layer.weight") == "");
    adam.set_lr(0.02);  // the default group doubles, and so does every group's own rate
    adam.step();
    // After one step m_hat = g and v_hat = g^2: p <- p (1 - lr wd) - lr g / (|g| + eps).
    auto expect = [](const std::vector<double>& p, const std::vector<double>& g, double lr, double wd) {
        std::vector<double> out;
        for (std::size_t i = 0; i < p.size(); ++i)
            out.push_back(p[i] * (1 - lr * wd) - lr * g[i] / (std::abs(g[i]) + 1e-8));
        return out;
    };
    auto close = [](const std::vector<double>& a, const std::vector<double>& b) {
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-12));
    };
    close(store.value(w).to_vector(), expect(w0, gw, 0.02, 0.1));
    close(store.value(b).to_vector(), expect(b0, gb, 0.02, 0.0));
    CHECK(store.value(n).to_vector() == n0);
    close(store.value(e).to_vector(), expect(e0, ge, 1.0, 0.1));
    using Adam = AdamW<Cpu, double>;
    CHECK_THROWS_WITH_AS(Adam(store, {}, {{.pattern = ""}}),
                         "AdamW: a parameter group has an empty name pattern", Error);
}
