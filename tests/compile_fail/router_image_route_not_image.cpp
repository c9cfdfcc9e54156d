// expect: Router: the image route must encode images (a Module with encode_image(graph, Var) returning a Var)
#include <tandem/backend/cpu.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/router.hpp>

using namespace tandem;

// A BERT stack encodes texts only: it cannot be the image route.
using TextStack = SentenceTransformerStack<BertTower<Cpu, float>, Pooling<Cpu, float>>;
using Broken = Router<TextStack, TextStack>;

int main() { return sizeof(Broken) > 0 ? 0 : 1; }
