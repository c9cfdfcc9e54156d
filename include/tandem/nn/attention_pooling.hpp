// Attention-probe pooling (MAP): a learned probe token attends over all tokens, then a
// pre-LN MLP residual; the probe's output is the pooled vector.
// reference: transformers SiglipMultiheadAttentionPoolingHead (torch.nn.MultiheadAttention
// with packed in_proj_weight / in_proj_bias, then x + mlp(layernorm(x))).
#pragma once

#include <tandem/autograd/ops/attention.hpp>
#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/autograd/ops/matmul.hpp>
#include <tandem/autograd/ops/shape.hpp>
#include <tandem/nn/transformer.hpp>

namespace tandem {

template <Backend B, Scalar T>
class MultiheadAttentionPoolingHead {
public:
    using backend_type = B;
    using value_type = T;

    // Names as SigLIP: probe, attention.{in_proj_weight, in_proj_bias, out_proj}, layernorm, mlp.
    MultiheadAttentionPoolingHead(ParameterStore<B, T>& store, const Scope& scope, const TransformerSizes& s)
        : store_(&store),
          probe_(store.add((scope / "probe").str(), {1, 1, s.hidden})),
          in_proj_weight_(
              store.add((scope / "attention" / "in_proj_weight").str(), {3 * s.hidden, s.hidden})),
          in_proj_bias_(store.add((scope / "attention" / "in_proj_bias").str(), {3 * s.hidden})),
          out_proj_(store, scope / "attention" / "out_proj", s.hidden, s.hidden),
          layernorm_(store, scope / "layernorm", s.hidden, s.layer_norm_eps),
          mlp_(store, scope / "mlp", s.hidden, s.intermediate, s.activation),
          hidden_(s.hidden),
          heads_(s.heads) {
        if (s.heads <= 0 || s.hidden % s.heads != 0)
            detail::throw_error(scope.str(), ": hidden size ", s.hidden, " is not divisible by ", s.heads,
                                " heads");
    }

    // x [batch, tokens, hidden] -> [batch, hidden].
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& x) const {
        const Shape& s = x.shape();
        if (s.rank() != 3 || s[2] != hidden_)
            detail::throw_error("MultiheadAttentionPoolingHead: expected states [batch, tokens, ", hidden_,
                                "], found ", s.str());
        // The probe repeated over the batch (HF: probe.repeat(batch, 1, 1)).
        auto probe = add(g.input(Tensor<B, T>::zeros({s[0], 1, hidden_})),
                         reshape(g.parameter(*store_, probe_), {hidden_}));
        // Slices of the packed Var, so the gradients of all three land in in_proj_weight / in_proj_bias.
        auto w = g.parameter(*store_, in_proj_weight_);
        auto b = g.parameter(*store_, in_proj_bias_);
        auto project = [&](const Var<B, T>& input, index_t part) {
            auto bias = slice(b, 0, part * hidden_, (part + 1) * hidden_);
            return split_heads(linear(input, slice(w, 0, part * hidden_, (part + 1) * hidden_), &bias),
                               heads_);
        };
        auto attended = scaled_dot_product_attention(project(probe, 0), project(x, 1), project(x, 2));
        auto h = out_proj_.forward(g, merge_heads(attended));
        h = add(h, mlp_.forward(g, layernorm_.forward(g, h)));
        // One probe token, so h[:, 0] is h without its token axis.
        return reshape(h, {s[0], hidden_});
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        f(store_->name(probe_), probe_);
        f(store_->name(in_proj_weight_), in_proj_weight_);
        f(store_->name(in_proj_bias_), in_proj_bias_);
        out_proj_.for_each_parameter(f);
        layernorm_.for_each_parameter(f);
        mlp_.for_each_parameter(f);
    }

private:
    ParameterStore<B, T>* store_;
    Parameter probe_, in_proj_weight_, in_proj_bias_;
    Linear<B, T> out_proj_;
    LayerNorm<B, T> layernorm_;
    Mlp<B, T> mlp_;
    index_t hidden_, heads_;
};

}  // namespace tandem
