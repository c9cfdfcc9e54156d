// Compile time: the code every program that loads and encodes needs,
// SentenceTransformer<Cpu> and load_model<Cpu, float>, compiled once in a file of the
// program's own instead of in every file that uses it. Include this header in place of
// tandem/infer.hpp; in exactly one .cpp, define TANDEM_INSTANTIATE_INFER before including
// it. Optimising those instantiations is most of a file's compile time (README.md, "Using
// it from another project", has the measurement).
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/infer.hpp>

#ifdef TANDEM_INSTANTIATE_INFER
#define TANDEM_INFER_EXTERN
#else
#define TANDEM_INFER_EXTERN extern
#endif

namespace tandem {
TANDEM_INFER_EXTERN template class SentenceTransformer<Cpu>;
TANDEM_INFER_EXTERN template LoadedModel<Cpu, float> load_model<Cpu, float>(const io::StFolder&);
}  // namespace tandem

#undef TANDEM_INFER_EXTERN
