// A two-layer MLP learning the XOR of the signs of two coordinates: the smallest task
// a linear model cannot solve (it stays at log 2), used by examples/train_mlp.cpp and
// by the training test.
#pragma once

#include <tandem/autograd.hpp>
#include <tandem/backend/cpu.hpp>
#include <tandem/nn.hpp>
#include <tandem/optim/adamw.hpp>

#include <cstdint>
#include <vector>

namespace xor_task {

using namespace tandem;

template <Backend B, Scalar T>
struct Mlp {
    using backend_type = B;
    using value_type = T;

    Linear<B, T> fc1, fc2;

    Mlp(ParameterStore<B, T>& store, index_t hidden)
        : fc1(store, "fc1", 2, hidden), fc2(store, "fc2", hidden, 2) {}

    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x) const {
        return fc2.forward(g, gelu(fc1.forward(g, x)));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        fc1.for_each_parameter(f);
        fc2.for_each_parameter(f);
    }
};
static_assert(Module<Mlp<Cpu, float>>, "Mlp must expose backend_type, value_type and for_each_parameter(f)");

struct Data {
    std::vector<float> points;  // [n, 2] uniform in [-1, 1]^2
    std::vector<std::int64_t> labels;
};

inline Data make_data(int n, std::uint64_t seed) {
    Philox rng(seed, 0);
    Data d;
    for (int i = 0; i < n; ++i) {
        const float x = float(2 * rng.uniform(2 * i) - 1), y = float(2 * rng.uniform(2 * i + 1) - 1);
        d.points.insert(d.points.end(), {x, y});
        d.labels.push_back((x > 0) != (y > 0) ? 1 : 0);
    }
    return d;
}

// Full-batch AdamW training on backend B; returns the loss after each step.
template <Backend B = Cpu>
std::vector<float> train(int steps, std::uint64_t seed, index_t hidden = 16) {
    ParameterStore<B, float> store;
    Mlp<B, float> model(store, hidden);
    model.fc1.reset_parameters(seed);
    model.fc2.reset_parameters(seed);
    AdamW<B, float> optimizer(store, {.lr = 0.03f, .weight_decay = 0.0f});
    const Data data = make_data(256, seed);
    const auto x = Tensor<B, float>::from_vector(data.points, {256, 2});
    const auto labels = Ids<B>::from_vector(data.labels, {256});
    std::vector<float> losses;
    for (int step = 0; step < steps; ++step) {
        Graph<B, float> g;
        auto loss = cross_entropy(model.forward(g, g.input(x)), labels);
        losses.push_back(loss.value().item());
        optimizer.zero_grad();
        g.backward(loss);
        optimizer.step();
    }
    return losses;
}

}  // namespace xor_task
