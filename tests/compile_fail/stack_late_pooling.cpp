// expect: SentenceTransformerStack: Pooling must come right after the tower, which gives the token states it
// pools
#include <tandem/backend/cpu.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/sentence_transformer_stack.hpp>

using namespace tandem;

// After a Dense there are no token states left to pool.
using Broken = SentenceTransformerStack<BertTower<Cpu, float>, Dense<Cpu, float>, Pooling<Cpu, float>>;

int main() { return sizeof(Broken) > 0 ? 0 : 1; }
