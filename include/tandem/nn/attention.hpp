// Multi-head attention with q/k/v/output projections whose names follow the model family
// (CLIP and SigLIP "q_proj"..., BERT "self.query"...), the three input projections
// separate or fused into one (BLIP's vision "qkv").
// reference: transformers CLIPAttention, BertSelfAttention + BertSelfOutput's dense, BlipAttention.
#pragma once

#include <tandem/autograd/ops/attention.hpp>
#include <tandem/autograd/ops/shape.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/nn/linear.hpp>

#include <string>
#include <vector>

namespace tandem {

// The attention options a text tower runs with: the attention mask as a key padding
// mask (padded keys get no weight; padded queries are still computed, as in HF).
template <Backend B, Scalar T>
AttentionOptions<B, T> attention_options(const TextBatch<B>& text, bool causal) {
    AttentionOptions<B, T> options;
    options.causal = causal;
    options.key_mask = text.attention_mask;
    return options;
}

struct AttentionNames {
    std::string query = "q_proj", key = "k_proj", value = "v_proj", output = "out_proj";
    // Set: one Linear(dim, 3 dim) under this name projects query, key and value at once,
    // its output rows [0, dim) the query, [dim, 2 dim) the key, [2 dim, 3 dim) the value
    // (BLIP's vision self_attn.qkv); query, key and value are then unused.
    std::string fused_qkv{};
};

// [B, T, H * Dh] -> [B, H, T, Dh]
template <Backend B, Scalar T>
Var<B, T> split_heads(const Var<B, T>& x, index_t heads) {
    const Shape& s = x.shape();
    return permute(reshape(x, {s[0], s[1], heads, s[2] / heads}), {0, 2, 1, 3});
}

// [B, H, T, Dh] -> [B, T, H * Dh]
template <Backend B, Scalar T>
Var<B, T> merge_heads(const Var<B, T>& x) {
    const Shape& s = x.shape();
    return reshape(permute(x, {0, 2, 1, 3}), {s[0], s[2], s[1] * s[3]});
}

template <Backend B, Scalar T>
class MultiHeadAttention {
public:
    using backend_type = B;
    using value_type = T;

    // Queries come from width `dim`; keys and values from width `kv_dim` (cross-attention).
    // `dropout` drops attention probabilities in train mode (HF's attention_dropout).
    MultiHeadAttention(ParameterStore<B, T>& store, const Scope& scope, index_t dim, index_t heads,
                       const AttentionNames& names = {}, index_t kv_dim = 0, double dropout = 0)
        : in_proj_(input_projections(store, scope, dim, names, kv_dim ? kv_dim : dim)),
          output_(store, scope / names.output, dim, dim),
          heads_(heads),
          dropout_(T(dropout)) {
        if (heads <= 0 || dim % heads != 0)
            detail::throw_error(scope.str(), ": hidden size ", dim, " is not divisible by ", heads, " heads");
        if (!names.fused_qkv.empty() && kv_dim && kv_dim != dim)
            detail::throw_error(scope.str(), ": a fused qkv projection reads one width, found queries of ",
                                dim, " and keys of ", kv_dim);
    }

    // Self-attention over x [B, T, D].
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x, const AttentionOptions<B, T>& options = {}) const {
        if (in_proj_.size() == 3) return forward(g, x, x, options);
        const index_t dim = output_.in_features();
        auto qkv = split(in_proj_[0].forward(g, x), x.shape().rank() - 1, {dim, dim, dim});
        auto q = split_heads(qkv[0], heads_);
        auto k = split_heads(qkv[1], heads_);
        return attend(g, q, k, split_heads(qkv[2], heads_), options);
    }

    // Queries from x [B, Tq, D], keys and values from context [B, Tk, kv_dim].
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x, const Var<B, T>& context,
                      const AttentionOptions<B, T>& options) const {
        if (in_proj_.size() != 3)
            detail::throw_error("MultiHeadAttention: a fused qkv projection attends only to its own input");
        // One projection after another: the graph's order, and so its rounding, stays fixed.
        auto q = split_heads(in_proj_[0].forward(g, x), heads_);
        auto k = split_heads(in_proj_[1].forward(g, context), heads_);
        return attend(g, q, k, split_heads(in_proj_[2].forward(g, context), heads_), options);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        for (const auto& l : in_proj_) l.for_each_parameter(f);
        output_.for_each_parameter(f);
    }

    void reset_parameters_normal(double std, std::uint64_t seed) {
        for (auto& l : in_proj_) l.reset_parameters_normal(std, seed);
        output_.reset_parameters_normal(std, seed);
    }

private:
    // Query, key and value, or the one fused projection.
    static std::vector<Linear<B, T>> input_projections(ParameterStore<B, T>& store, const Scope& scope,
                                                       index_t dim, const AttentionNames& names,
                                                       index_t kv_dim) {
        std::vector<Linear<B, T>> in;
        if (!names.fused_qkv.empty()) {
            in.emplace_back(store, scope / names.fused_qkv, dim, 3 * dim);
            return in;
        }
        in.emplace_back(store, scope / names.query, dim, dim);
        in.emplace_back(store, scope / names.key, kv_dim, dim);
        in.emplace_back(store, scope / names.value, kv_dim, dim);
        return in;
    }

    // q [B, H, Tq, Dh]; k, v [B, H, Tk, Dh].
    Var<B, T> attend(Graph<B, T>& g, const Var<B, T>& q, const Var<B, T>& k, const Var<B, T>& v,
                     const AttentionOptions<B, T>& options) const {
        AttentionOptions<B, T> dropping = options;
        dropping.dropout = dropout_;
        auto heads = scaled_dot_product_attention(q, k, v, dropping);
        return output_.forward(g, merge_heads(heads));
    }

    std::vector<Linear<B, T>> in_proj_;
    Linear<B, T> output_;
    index_t heads_;
    T dropout_;
};

}  // namespace tandem
