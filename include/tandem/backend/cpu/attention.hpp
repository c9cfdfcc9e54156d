// Scaled dot-product attention over [batch, heads, tokens, head_dim] with an optional
// causal mask, key padding mask, additive score bias (relative position biases, shared by
// every row of the batch) and dropout on the probabilities, forward and backward.
// What the forward saves for the backward is the backend's choice
// (attention_saved_numel elements): here the probabilities before dropout; the dropout
// mask is regenerated from its Philox counters, never stored. reference:
// torch.nn.functional.scaled_dot_product_attention and HF eager attention (masked scores set to the lowest
// finite value, so a row with every key masked attends uniformly instead of producing NaN;
// dropout after the softmax; MPNetSelfAttention's position_bias added to the scaled scores).
#pragma once

#include <tandem/backend/cpu/gemm.hpp>
#include <tandem/backend/cpu/memory.hpp>
#include <tandem/backend/cpu/softmax.hpp>
#include <tandem/core/rng.hpp>

#include <cstdint>
#include <limits>

namespace tandem {

namespace detail {
// True where key j of row (b, i) is hidden from the query.
inline bool masked(const AttentionShape& s, bool causal, const std::int64_t* key_mask, index_t b, index_t i,
                   index_t j) {
    return (causal && j > i) || (key_mask && key_mask[b * s.k_len + j] == 0);
}
}  // namespace detail

namespace cpu {

struct Attention {
    // The size of the forward's saved state: the probabilities [B, H, Tq, Tk].
    static index_t attention_saved_numel(const AttentionShape& s) { return s.bh() * s.q_len * s.k_len; }

    // out = dropout(softmax(scale * q k^T + bias + mask)) v.
    // shapes: q, out [B, H, Tq, D]; k, v [B, H, Tk, D]; probs [B, H, Tq, Tk]; key_mask [B, Tk] (non-zero
    // keep, 0 hide) or null; bias [H, Tq, Tk] or null
    template <class T>
    static void attention(T* out, T* probs, const T* q, const T* k, const T* v, const AttentionShape& s,
                          T scale, bool causal, const std::int64_t* key_mask, const T* bias,
                          const AttentionDropout& dropout) {
        const index_t Tq = s.q_len, Tk = s.k_len, D = s.head_dim;
        Gemm::gemm_batched(false, true, Tq, Tk, D, scale, q, D, Tq * D, k, D, Tk * D, T(0), probs, Tk,
                           Tq * Tk, s.bh());
        if (bias) {
#pragma omp parallel for schedule(static) if (s.bh() * Tq * Tk > detail::parallel_threshold)
            for (index_t bh = 0; bh < s.bh(); ++bh) {
                const T* b = bias + (bh % s.heads) * Tq * Tk;
                T* p = probs + bh * Tq * Tk;
                for (index_t e = 0; e < Tq * Tk; ++e) p[e] += b[e];
            }
        }
        if (causal || key_mask) {
#pragma omp parallel for schedule(static) if (s.bh() * Tq * Tk > detail::parallel_threshold)
            for (index_t bh = 0; bh < s.bh(); ++bh)
                for (index_t i = 0; i < Tq; ++i)
                    for (index_t j = 0; j < Tk; ++j)
                        if (detail::masked(s, causal, key_mask, bh / s.heads, i, j))
                            probs[(bh * Tq + i) * Tk + j] = std::numeric_limits<T>::lowest();
        }
        Softmax::softmax(probs, probs, s.bh() * Tq, Tk);
        const T* weights = probs;
        Workspace<T> dropped(dropout.p > 0 ? attention_saved_numel(s) : 0);
        if (dropout.p > 0) {
            apply_dropout(dropped.get(), probs, attention_saved_numel(s), dropout);
            weights = dropped.get();
        }
        Gemm::gemm_batched(false, false, Tq, D, Tk, T(1), weights, Tk, Tq * Tk, v, D, Tk * D, T(0), out, D,
                           Tq * D, s.bh());
    }

    // Accumulates dq, dk, dv and dbias [H, Tq, Tk] (summed over the batch; each may be
    // null). `out` and `bias` are unused here: a fused kernel that saves only row statistics
    // needs them to recompute the probabilities.
    template <class T>
    static void attention_bwd(T* dq, T* dk, T* dv, T* dbias, const T* dout, const T* q, const T* k,
                              const T* v, [[maybe_unused]] const T* out, const T* probs,
                              const AttentionShape& s, T scale, bool causal, const std::int64_t* key_mask,
                              [[maybe_unused]] const T* bias, const AttentionDropout& dropout) {
        const index_t Tq = s.q_len, Tk = s.k_len, D = s.head_dim, n = attention_saved_numel(s);
        Workspace<T> workspace(n);
        T* dp = workspace.get();
        // dV reads the dropped probabilities M * P, drawn again with the mask applied to dP.
        Workspace<T> dropped(dv && dropout.p > 0 ? n : 0);
        // dP = M * (dO V^T), with the dropout mask M scaled by 1 / (1 - p), then
        // dS = P * (dP - rowsum(dP * P)), zero at masked positions.
        Gemm::gemm_batched(false, true, Tq, Tk, D, T(1), dout, D, Tq * D, v, D, Tk * D, T(0), dp, Tk, Tq * Tk,
                           s.bh());
        if (dropout.p > 0) apply_dropout(dp, dp, n, dropout, dropped.get(), probs);
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
        // The bias adds to the scores unscaled, so its gradient is dS summed over the batch,
        // each element in batch order at any thread count.
        if (dbias) {
#pragma omp parallel for schedule(static) if (s.bh() * Tq * Tk > detail::parallel_threshold)
            for (index_t h = 0; h < s.heads; ++h)
                for (index_t b = 0; b < s.batch; ++b) {
                    const T* ds = dp + (b * s.heads + h) * Tq * Tk;
                    T* db = dbias + h * Tq * Tk;
                    for (index_t e = 0; e < Tq * Tk; ++e) db[e] += ds[e];
                }
        }
        if (dv)
            Gemm::gemm_batched(true, false, Tk, D, Tq, T(1), dropped.get() ? dropped.get() : probs, Tk,
                               Tq * Tk, dout, D, Tq * D, T(1), dv, D, Tk * D, s.bh());
        if (dq)
            Gemm::gemm_batched(false, false, Tq, D, Tk, scale, dp, Tk, Tq * Tk, k, D, Tk * D, T(1), dq, D,
                               Tq * D, s.bh());
        if (dk)
            Gemm::gemm_batched(true, false, Tk, D, Tq, scale, dp, Tk, Tq * Tk, q, D, Tq * D, T(1), dk, D,
                               Tk * D, s.bh());
    }

private:
    // Scratch memory of n elements (none for n = 0), released on scope exit.
    template <class T>
    class Workspace {
    public:
        explicit Workspace(index_t n)
            : bytes_(static_cast<std::size_t>(n) * sizeof(T)),
              data_(n ? Memory::allocate(bytes_) : nullptr) {}
        ~Workspace() {
            if (data_) Memory::deallocate(data_, bytes_);
        }
        Workspace(const Workspace&) = delete;
        Workspace& operator=(const Workspace&) = delete;
        T* get() const { return static_cast<T*>(data_); }

    private:
        std::size_t bytes_;
        void* data_;
    };

    // out[e] = in[e] * M[e], M the dropout mask's element e (the rule of
    // Index::dropout_mask): a pure function of (seed, stream, e), the same at any thread
    // count. With `out2`, also out2[e] = in2[e] * M[e] from the same draw.
    template <class T>
    static void apply_dropout(T* out, const T* in, index_t n, const AttentionDropout& dropout,
                              T* out2 = nullptr, const T* in2 = nullptr) {
        const Philox rng(dropout.seed, dropout.stream);
        const T p = T(dropout.p), kept = T(1) / (T(1) - p);
#pragma omp parallel for schedule(static) if (n > detail::parallel_threshold)
        for (index_t e = 0; e < n; ++e) {
            const bool keep = rng.uniform(static_cast<std::uint64_t>(e)) >= double(p);
            out[e] = keep ? in[e] * kept : T(0);
            if (out2) out2[e] = keep ? in2[e] * kept : T(0);
        }
    }
};

}  // namespace cpu
}  // namespace tandem
