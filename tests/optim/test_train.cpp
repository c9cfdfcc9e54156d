// End to end: autograd, Linear, AdamW and cross-entropy train the XOR MLP of
// examples/mlp/xor_task.hpp, deterministically.
#include <tandem/optim/adamw.hpp>

#include <doctest/doctest.h>

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
