// The Backend concept: memory (core/memory.hpp) plus every kernel the autograd ops
// call, for one scalar type. A new backend (CUDA) is a type that satisfies it; the
// CPU backend is the readable specification the others are tested against.
#pragma once

#include <tandem/backend/kernel_types.hpp>
#include <tandem/core/bfloat16.hpp>
#include <tandem/core/memory.hpp>
#include <tandem/core/shape.hpp>

#include <array>
#include <concepts>
#include <cstdint>

namespace tandem {

// Represents: the kernels of one backend for scalar type T.
// Requires: static functions with the signatures of backend/cpu/*.hpp, outputs first,
// backward kernels accumulating into their gradient outputs.
// Ensures: results equal the CPU kernels' within floating-point reassociation.
// Every pointer is the backend's own (Tensor::data()); host code never dereferences one.
template <class B, class T>
concept BackendKernels = requires(T* out, const T* in, const std::int64_t* ids, std::int64_t* ids_out,
                                  bfloat16* half_out, const bfloat16* half_in, index_t n, T s, bool flag,
                                  std::uint64_t u, std::int64_t i, const Shape& shape,
                                  const std::array<int, Shape::max_rank>& perm, const AttentionShape& attn,
                                  const AttentionDropout& drop) {
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
    B::scatter_add_rows(out, in, ids, n, n, i);
    { B::attention_saved_numel(attn) } -> std::same_as<index_t>;
    B::attention(out, out, in, in, in, attn, s, flag, ids, in, drop);
    B::attention_bwd(out, out, out, out, in, in, in, in, in, in, attn, s, flag, ids, in, drop);
    B::adamw_step(out, in, out, out, n, s, s, s, s, s, long{});
    B::logsumexp(out, in, n, n);
    B::logsumexp_bwd(out, in, in, in, n, n);
    B::fill_diagonal_blocks(out, n, n, n, n, s, s);
    B::mask_above_margin(out, in, in, n, n, s, flag, s, n, s);
    B::hard_pairs(out, out, in, in, n);
    B::label_equal_mask(out, ids, n, s, s);
    B::range_mask(out, in, n, s, s, s, s);
    B::semi_hard_negatives(ids_out, in, ids, n);
    B::repeat_each(ids_out, n, n);
    B::clamp(out, in, s, s, n);
    B::clamp_bwd(out, in, in, s, s, n);
    B::sgd_step(out, in, out, n, s, s, s, s, flag, flag);
    B::sum_squares(out, in, n);
    // Integer tensors and the small tensors built from them.
    B::index_range(ids_out, ids, n, i);
    B::iota(ids_out, n, i, i);
    B::find_in_rows(ids_out, ids, n, n, i);
    B::argmax_rows(ids_out, ids, n, n);
    B::flat_index(ids_out, ids, n, n);
    B::mask_fill(out, ids, n, n, s, s);
    B::mean_weights(out, ids, n, n);
    B::exclude_prompt(ids_out, ids, n, n, i);
    B::position_ids_from_input_ids(ids_out, ids, n, n, i);
    B::relative_position_buckets(ids_out, n, n, i, i);
    B::pooling_weights(out, ids, ids, n, n, PoolingWeights::Mean);
    B::fill_diagonal(out, n, s, s);
    B::dropout_mask(out, n, s, u, u);
    // Storage types apart from compute types: bf16 storage, float or double compute,
    // GEMM and reductions accumulating in the compute type.
    B::gemm(flag, flag, n, n, n, s, half_in, n, half_in, n, s, out, n);
    B::sum_all(out, half_in, n);
    B::convert(out, half_in, n);
    B::convert(half_out, in, n);
    B::convert(out, ids, n);
};

// Represents: a complete backend, usable for float training and double gradient checks.
template <class B>
concept Backend = BackendMemory<B> && BackendKernels<B, float> && BackendKernels<B, double>;

}  // namespace tandem
