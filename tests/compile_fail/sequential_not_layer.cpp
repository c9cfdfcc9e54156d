// expect: Sequential: every module must be a Layer, with forward(graph, Var) returning a Var
#include <tandem/backend/cpu.hpp>
#include <tandem/nn/embedding.hpp>
#include <tandem/nn/linear.hpp>
#include <tandem/nn/sequential.hpp>

using namespace tandem;

// Embedding is a Module, but its forward reads token ids, not a Var.
int main() {
    ParameterStore<Cpu, float> store;
    Sequential net(Linear<Cpu, float>(store, "0", 3, 4), Embedding<Cpu, float>(store, "1", 10, 4));
}
