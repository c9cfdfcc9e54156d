// expect: PooledTower: the tower must be a Module whose forward(graph, TextBatch) returns last_hidden_state
#include <tandem/backend/cpu.hpp>
#include <tandem/models/pooled_tower.hpp>
#include <tandem/nn/linear.hpp>

using namespace tandem;

// A Linear maps states to states; it has no token states to pool.
int main() {
    ParameterStore<Cpu, float> store;
    PooledTower tower(Linear<Cpu, float>(store, "0", 3, 4), Pooling<Cpu, float>(PoolingMode::Mean));
}
