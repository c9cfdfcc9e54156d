// The Backend concept: memory (core/memory.hpp) plus every kernel the autograd ops
// call, for one scalar type. A new backend (CUDA) is a type that satisfies it; the
// CPU backend is the readable specification the others are tested against.
#pragma once

#include <tandem/backend/kernel_types.hpp>
#include <tandem/core/memory.hpp>
#include <tandem/core/shape.hpp>

#include <array>
#include <cstdint>

namespace tandem {

// Represents: the kernels of one backend for scalar type T.
// Requires: static functions with the signatures of backend/cpu/*.hpp, outputs first,
// backward kernels accumulating into their gradient outputs.
// Ensures: results equal the CPU kernels' within floating-point reassociation.
template <class B, class T>
concept BackendKernels = requires(T* out, const T* in, const std::int64_t* ids, std::int64_t* ids_out,
                                  index_t n, T s, bool flag, const Shape& shape,
                                  const std::array<int, Shape::max_rank>& perm, const AttentionShape& attn) {
    B::gemm(flag, flag, n, n, n, s, in, n, in, n, s, out, n);
    B::gemm_batched(flag, flag, n, n, n, s, in, n, n, in, n, n, s, out, n, n, n);
    B::binary(BinaryOp::Add, out, in, n, in, n);
    B::binary_bwd(BinaryOp::Add, out, out, in, in, n, in, n);
    B::scale(out, in, s, n, flag);
    B::unary(UnaryOp::Exp, out, in, n);
    B::unary_bwd(UnaryOp::Exp, out, in, in, in, n);
    B::sum_axis(out, in, n, n, n);
    B::sum_axis_bwd(out, in, s, n, n, n);
    B::sum_all(out, in, n);
    B::max_axis(out, ids_out, in, n, n, n);
    B::max_axis_bwd(out, in, ids, n, n, n);
    B::permute(out, in, shape, perm, flag);
    B::copy_along_axis(out, n, n, in, n, n, n, n, n, flag);
    B::softmax(out, in, n, n, flag);
    B::softmax_bwd(out, in, in, n, n, flag);
    B::cross_entropy(out, out, in, ids, n, n, s, std::int64_t{});
    B::cross_entropy_bwd(out, in, in, ids, n, n, s, std::int64_t{});
    B::bce_with_logits(out, in, in, n);
    B::bce_with_logits_bwd(out, out, in, in, in, n);
    B::layer_norm(out, out, out, in, in, in, n, n, s);
    B::layer_norm_bwd(out, out, out, in, in, in, in, in, n, n);
    B::l2_normalize(out, out, in, n, n, s);
    B::l2_normalize_bwd(out, in, in, in, n, n, s);
    B::gather_rows(out, in, ids, n, n);
    B::scatter_add_rows(out, in, ids, n, n);
    B::attention(out, out, in, in, in, attn, s, flag, in);
    B::attention_bwd(out, out, out, out, in, in, in, in, in, attn, s, flag, in);
    B::adamw_step(out, in, out, out, n, s, s, s, s, s, long{});
};

// Represents: a complete backend, usable for float training and double gradient checks.
template <class B>
concept Backend = BackendMemory<B> && BackendKernels<B, float> && BackendKernels<B, double>;

}  // namespace tandem
