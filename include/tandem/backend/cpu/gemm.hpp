// Row-major GEMM through Eigen. With the `blas` build option Meson defines
// EIGEN_USE_BLAS, and Eigen forwards these products to OpenBLAS's OpenMP build.
// reference: torch.addmm / torch.baddbmm (row-major, alpha and beta as there).
#pragma once

#include <tandem/backend/cpu/index.hpp>
#include <tandem/core/bfloat16.hpp>
#include <tandem/core/shape.hpp>
#include <tandem/core/thread.hpp>

#include <omp.h>
#include <Eigen/Core>

#include <vector>

namespace tandem {

namespace detail {
template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstMap = Eigen::Map<const RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using Map = Eigen::Map<RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class T>
void gemm_one(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda,
              const T* b, index_t ldb, T beta, T* c, index_t ldc) {
    Map<T> C(c, m, n, Eigen::OuterStride<>(ldc));
    ConstMap<T> A(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
    ConstMap<T> B(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
    if (beta == T(0)) {
        C.setZero();
    } else if (beta != T(1)) {
        C *= beta;
    }
    if (k == 0) return;
    // Four branches because Eigen picks the kernel from the expression type.
    if (!trans_a && !trans_b) C.noalias() += alpha * (A * B);
    if (!trans_a && trans_b) C.noalias() += alpha * (A * B.transpose());
    if (trans_a && !trans_b) C.noalias() += alpha * (A.transpose() * B);
    if (trans_a && trans_b) C.noalias() += alpha * (A.transpose() * B.transpose());
}
}  // namespace detail

namespace cpu {

struct Gemm {
    // C[m, n] = alpha * op(A) op(B) + beta * C, where op(A) is [m, k] and op(B) is [k, n].
    template <class T>
    static void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a,
                     index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
        detail::gemm_one(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    // bf16 storage, accumulation in T: the same product with A and B widened to T first
    // (exact), so it equals gemm<T> on the widened values. A fused bf16 kernel keeps this
    // signature.
    template <class T>
    static void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const bfloat16* a,
                     index_t lda, const bfloat16* b, index_t ldb, T beta, T* c, index_t ldc) {
        const std::vector<T> wide_a = widen<T>(a, (trans_a ? k : m) * lda);
        const std::vector<T> wide_b = widen<T>(b, (trans_b ? n : k) * ldb);
        detail::gemm_one(trans_a, trans_b, m, n, k, alpha, wide_a.data(), lda, wide_b.data(), ldb, beta, c,
                         ldc);
    }

    // `batch` independent GEMMs at fixed strides (attention heads). Small products run
    // one per thread; large ones run one after another, each using every thread.
    template <class T>
    static void gemm_batched(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a,
                             index_t lda, index_t stride_a, const T* b, index_t ldb, index_t stride_b, T beta,
                             T* c, index_t ldc, index_t stride_c, index_t batch) {
        const bool small = m * n * k < (index_t{1} << 21);
        if (small && batch > 1) {
#pragma omp parallel for schedule(static) if (batch * m * n * k > detail::parallel_threshold)
            for (index_t i = 0; i < batch; ++i)
                detail::gemm_one(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b,
                                 ldb, beta, c + i * stride_c, ldc);
        } else {
            for (index_t i = 0; i < batch; ++i)
                detail::gemm_one(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b,
                                 ldb, beta, c + i * stride_c, ldc);
        }
    }

private:
    template <class T>
    static std::vector<T> widen(const bfloat16* x, index_t n) {
        std::vector<T> out(static_cast<std::size_t>(n));
        Index::convert(out.data(), x, n);
        return out;
    }
};

}  // namespace cpu
}  // namespace tandem
