// expect: DualEncoder: the text tower must be an EncoderTower (encode(graph, TextInput) returning a Var)
#include <tandem/backend/cpu.hpp>
#include <tandem/models/clip.hpp>

using namespace tandem;

// A Linear has no encode: it is a Layer, not a tower.
using Broken = DualEncoder<Linear<Cpu, float>, CLIPVisionModelWithProjection<Cpu, float>, TextBatch<Cpu>,
                           Var<Cpu, float>>;

int main() { return sizeof(Broken) > 0 ? 0 : 1; }
