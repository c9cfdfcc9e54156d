// Multi-head attention with separate q/k/v/output projections whose names follow the
// model family (CLIP and SigLIP "q_proj"..., BERT "self.query"...).
// reference: transformers CLIPAttention, BertSelfAttention + BertSelfOutput's dense.
#pragma once

#include <tandem/autograd/ops/attention.hpp>
#include <tandem/autograd/ops/shape.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/nn/linear.hpp>

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
        : query_(store, scope / names.query, dim, dim),
          key_(store, scope / names.key, kv_dim ? kv_dim : dim, dim),
          value_(store, scope / names.value, kv_dim ? kv_dim : dim, dim),
          output_(store, scope / names.output, dim, dim),
          heads_(heads),
          dropout_(T(dropout)) {
        if (heads <= 0 || dim % heads != 0)
            detail::throw_error(scope.str(), ": hidden size ", dim, " is not divisible by ", heads, " heads");
    }

    // Self-attention over x [B, T, D].
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x, const AttentionOptions<B, T>& options = {}) const {
        return forward(g, x, x, options);
    }

    // Queries from x [B, Tq, D], keys and values from context [B, Tk, kv_dim].
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x, const Var<B, T>& context,
                      const AttentionOptions<B, T>& options) const {
        auto q = split_heads(query_.forward(g, x), heads_);
        auto k = split_heads(key_.forward(g, context), heads_);
        auto v = split_heads(value_.forward(g, context), heads_);
        AttentionOptions<B, T> dropping = options;
        dropping.dropout = dropout_;
        return output_.forward(g, merge_heads(scaled_dot_product_attention(q, k, v, dropping)));
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        query_.for_each_parameter(f);
        key_.for_each_parameter(f);
        value_.for_each_parameter(f);
        output_.for_each_parameter(f);
    }

    void reset_parameters_normal(double std, std::uint64_t seed) {
        for (auto* l : {&query_, &key_, &value_, &output_}) l->reset_parameters_normal(std, seed);
    }

private:
    Linear<B, T> query_, key_, value_, output_;
    index_t heads_;
    T dropout_;
};

}  // namespace tandem
