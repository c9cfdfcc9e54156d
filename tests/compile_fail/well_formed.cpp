// expect: compiles

// The control case: the same compile command accepts correct compositions, so the other
// cases fail for the reason they name and not for a broken command line.
#include <tandem/backend/cpu.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/pooled_tower.hpp>
#include <tandem/nn/sequential.hpp>

using namespace tandem;

using Net = Sequential<Linear<Cpu, float>, LayerNorm<Cpu, float>, Pooling<Cpu, float>>;
static_assert(Layer<Net>);
using BertClip = DualEncoder<PooledTower<BertTower<Cpu, float>>, CLIPVisionModelWithProjection<Cpu, float>,
                             TextBatch<Cpu>, Var<Cpu, float>>;
static_assert(Module<BertClip>);
static_assert(EncoderTower<BertTower<Cpu, float>, TextBatch<Cpu>>);

int main() {}
