// expect: DualEncoder: the image tower must be an EncoderTower (encode(graph, ImageInput) returning a Var)
#include <tandem/backend/cpu.hpp>
#include <tandem/models/clip.hpp>

using namespace tandem;

// The vision tower encodes pixels, not token ids.
using Broken = DualEncoder<CLIPTextModelWithProjection<Cpu, float>, CLIPVisionModelWithProjection<Cpu, float>,
                           TextBatch<Cpu>, TextBatch<Cpu>>;

int main() { return sizeof(Broken) > 0 ? 0 : 1; }
