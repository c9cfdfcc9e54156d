// expect: DualEncoder: the text and image towers must use the same backend
#include <tandem/backend/cpu.hpp>
#include <tandem/models/clip.hpp>

#include "support/sealed_backend.hpp"

using namespace tandem;
using tandem::testing::Sealed;

using Broken = DualEncoder<CLIPTextModelWithProjection<Cpu, float>,
                           CLIPVisionModelWithProjection<Sealed, float>, TextBatch<Cpu>, Var<Sealed, float>>;

int main() { return sizeof(Broken) > 0 ? 0 : 1; }
