// expect: DualEncoder: the text and image towers must use the same scalar type
#include <tandem/backend/cpu.hpp>
#include <tandem/models/clip.hpp>

using namespace tandem;

using Broken = DualEncoder<CLIPTextModelWithProjection<Cpu, float>,
                           CLIPVisionModelWithProjection<Cpu, double>, TextBatch<Cpu>, Var<Cpu, double>>;

int main() { return sizeof(Broken) > 0 ? 0 : 1; }
