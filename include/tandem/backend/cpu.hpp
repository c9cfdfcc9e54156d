// backend::Cpu: host memory, GEMM through Eigen (or OpenBLAS with the `blas` option)
// and OpenMP loops for everything else. Each group of kernels is its own header
// under backend/cpu/; this struct gathers them into the one type modules name.
#pragma once

#include <tandem/backend/concepts.hpp>
#include <tandem/backend/cpu/attention.hpp>
#include <tandem/backend/cpu/contrastive.hpp>
#include <tandem/backend/cpu/elementwise.hpp>
#include <tandem/backend/cpu/embedding.hpp>
#include <tandem/backend/cpu/gemm.hpp>
#include <tandem/backend/cpu/guided.hpp>
#include <tandem/backend/cpu/index.hpp>
#include <tandem/backend/cpu/memory.hpp>
#include <tandem/backend/cpu/norm.hpp>
#include <tandem/backend/cpu/optim.hpp>
#include <tandem/backend/cpu/pooling.hpp>
#include <tandem/backend/cpu/reduce.hpp>
#include <tandem/backend/cpu/softmax.hpp>
#include <tandem/backend/cpu/triplet.hpp>

namespace tandem {

namespace backend {
struct Cpu : cpu::Memory,
             cpu::Gemm,
             cpu::Elementwise,
             cpu::Reduce,
             cpu::Softmax,
             cpu::Norm,
             cpu::Embedding,
             cpu::Index,
             cpu::PoolingMasks,
             cpu::Attention,
             cpu::Optim,
             cpu::Contrastive,
             cpu::Guided,
             cpu::Triplet {
    static constexpr const char* name = "cpu";
};
static_assert(Backend<Cpu>, "backend::Cpu must satisfy the Backend concept");
}  // namespace backend

using backend::Cpu;

}  // namespace tandem
