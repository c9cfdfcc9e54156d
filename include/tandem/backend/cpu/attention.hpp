// Scaled dot-product attention over [batch, heads, tokens, head_dim] with an optional
// causal mask and key padding mask, forward and backward. Probabilities are kept for
// the backward pass. reference: torch.nn.functional.scaled_dot_product_attention and
// HF eager attention (masked scores set to the lowest finite value, so a row with
// every key masked attends uniformly instead of producing NaN).
#pragma once

#include <tandem/backend/cpu/gemm.hpp>
#include <tandem/backend/cpu/softmax.hpp>

#include <limits>

namespace tandem {

namespace detail {
// True where key j of row (b, i) is hidden from the query.
template <class T>
bool masked(const AttentionShape& s, bool causal, const T* key_mask, index_t b, index_t i, index_t j) {
    return (causal && j > i) || (key_mask && key_mask[b * s.k_len + j] == T(0));
}
}  // namespace detail

namespace cpu {

struct Attention {
    // out = softmax(scale * q k^T + mask) v.
    // shapes: q, out [B, H, Tq, D]; k, v [B, H, Tk, D]; probs [B, H, Tq, Tk]; key_mask [B, Tk] (1 keep, 0
    // hide) or null
    template <class T>
    static void attention(T* out, T* probs, const T* q, const T* k, const T* v, const AttentionShape& s,
                          T scale, bool causal, const T* key_mask) {
        const index_t Tq = s.q_len, Tk = s.k_len, D = s.head_dim;
        Gemm::gemm_batched(false, true, Tq, Tk, D, scale, q, D, Tq * D, k, D, Tk * D, T(0), probs, Tk,
                           Tq * Tk, s.bh());
        if (causal || key_mask) {
#pragma omp parallel for schedule(static) if (s.bh() * Tq * Tk > detail::parallel_threshold)
            for (index_t bh = 0; bh < s.bh(); ++bh)
                for (index_t i = 0; i < Tq; ++i)
                    for (index_t j = 0; j < Tk; ++j)
                        if (detail::masked(s, causal, key_mask, bh / s.heads, i, j))
                            probs[(bh * Tq + i) * Tk + j] = std::numeric_limits<T>::lowest();
        }
        Softmax::softmax(probs, probs, s.bh() * Tq, Tk);
        Gemm::gemm_batched(false, false, Tq, D, Tk, T(1), probs, Tk, Tq * Tk, v, D, Tk * D, T(0), out, D,
                           Tq * D, s.bh());
    }

    // Accumulates dq, dk, dv. `workspace` holds B*H*Tq*Tk elements of scratch.
    template <class T>
    static void attention_bwd(T* dq, T* dk, T* dv, T* workspace, const T* dout, const T* q, const T* k,
                              const T* v, const T* probs, const AttentionShape& s, T scale, bool causal,
                              const T* key_mask) {
        const index_t Tq = s.q_len, Tk = s.k_len, D = s.head_dim;
        T* dp = workspace;
        // dP = dO V^T, then dS = P * (dP - rowsum(dP * P)), zero at masked positions.
        Gemm::gemm_batched(false, true, Tq, Tk, D, T(1), dout, D, Tq * D, v, D, Tk * D, T(0), dp, Tk, Tq * Tk,
                           s.bh());
#pragma omp parallel for schedule(static) if (s.bh() * Tq * Tk > detail::parallel_threshold)
        for (index_t bh = 0; bh < s.bh(); ++bh)
            for (index_t i = 0; i < Tq; ++i) {
                T* dpr = dp + (bh * Tq + i) * Tk;
                const T* pr = probs + (bh * Tq + i) * Tk;
                T dot = T(0);
                for (index_t j = 0; j < Tk; ++j) dot += dpr[j] * pr[j];
                for (index_t j = 0; j < Tk; ++j)
                    dpr[j] = detail::masked(s, causal, key_mask, bh / s.heads, i, j) ? T(0)
                                                                                     : pr[j] * (dpr[j] - dot);
            }
        if (dv)
            Gemm::gemm_batched(true, false, Tk, D, Tq, T(1), probs, Tk, Tq * Tk, dout, D, Tq * D, T(1), dv, D,
                               Tk * D, s.bh());
        if (dq)
            Gemm::gemm_batched(false, false, Tq, D, Tk, scale, dp, Tk, Tq * Tk, k, D, Tk * D, T(1), dq, D,
                               Tq * D, s.bh());
        if (dk)
            Gemm::gemm_batched(true, false, Tk, D, Tq, scale, dp, Tk, Tq * Tk, q, D, Tq * D, T(1), dk, D,
                               Tk * D, s.bh());
    }
};

}  // namespace cpu
}  // namespace tandem
