// expect: Sequential: every module must use the same backend
#include <tandem/backend/cpu.hpp>
#include <tandem/nn/linear.hpp>
#include <tandem/nn/sequential.hpp>

#include "support/sealed_backend.hpp"

using namespace tandem;
using tandem::testing::Sealed;

int main() {
    ParameterStore<Cpu, float> host;
    ParameterStore<Sealed, float> sealed;
    Sequential net(Linear<Cpu, float>(host, "0", 3, 4), Linear<Sealed, float>(sealed, "1", 4, 2));
}
