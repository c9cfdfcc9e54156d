// expect: Sequential: every element must be a Module (backend_type, value_type, for_each_parameter)
#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/backend/cpu.hpp>
#include <tandem/nn/linear.hpp>
#include <tandem/nn/sequential.hpp>

using namespace tandem;

// A callable is not a module: it has no parameters to visit.
struct Relu {
    Var<Cpu, float> operator()(const Var<Cpu, float>& x) const { return relu(x); }
};

int main() {
    ParameterStore<Cpu, float> store;
    Sequential net(Linear<Cpu, float>(store, "0", 3, 4), Relu{});
}
