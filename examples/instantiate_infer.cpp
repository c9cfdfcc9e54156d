// SentenceTransformer<Cpu> and load_model<Cpu, float>, compiled here once for the program.
#define TANDEM_INSTANTIATE_INFER
#include <tandem/infer/instantiate.hpp>
