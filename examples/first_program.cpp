// The program shown in README.md, built so that it keeps compiling.
#include <tandem/tandem.hpp>
using namespace tandem;

int main() {
    ParameterStore<Cpu, float> store;  // one arena for every parameter
    Linear<Cpu, float> fc1(store, "fc1", 2, 16), fc2(store, "fc2", 16, 2);
    fc1.reset_parameters(42);
    fc2.reset_parameters(42);
    AdamW<Cpu, float> optimizer(store, {.lr = 0.03f});

    auto x = Tensor<Cpu, float>::from_vector({1, 1, -1, 1, -1, -1, 1, -1}, {4, 2});
    auto labels = Ids<Cpu>::from_vector({0, 1, 0, 1}, {4});  // XOR of the signs
    for (int step = 0; step < 200; ++step) {
        Graph<Cpu, float> g;  // the tape of one step
        auto logits = fc2.forward(g, gelu(fc1.forward(g, g.input(x))));
        auto loss = cross_entropy(logits, labels);
        optimizer.zero_grad();
        g.backward(loss);  // gradients land in store.grads()
        optimizer.step();
    }
}
