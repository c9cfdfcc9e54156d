// expect: Sequential: every module must use the same scalar type
#include <tandem/backend/cpu.hpp>
#include <tandem/nn/linear.hpp>
#include <tandem/nn/sequential.hpp>

using namespace tandem;

int main() {
    ParameterStore<Cpu, float> floats;
    ParameterStore<Cpu, double> doubles;
    Sequential net(Linear<Cpu, float>(floats, "0", 3, 4), Linear<Cpu, double>(doubles, "1", 4, 2));
}
