// Patch embedding: a convolution with stride equal to its kernel, done as unfold
// (reshape + permute) followed by one GEMM.
// reference: transformers CLIPVisionEmbeddings.patch_embedding (nn.Conv2d, weight [D, C, p, p]).
#pragma once

#include <tandem/autograd/ops/matmul.hpp>
#include <tandem/autograd/ops/shape.hpp>
#include <tandem/nn/init.hpp>
#include <tandem/nn/module.hpp>

namespace tandem {

template <Backend B, Scalar T>
class PatchEmbedding {
public:
    using backend_type = B;
    using value_type = T;

    PatchEmbedding(ParameterStore<B, T>& store, const Scope& scope, index_t channels, index_t patch,
                   index_t dim, bool bias)
        : store_(&store),
          weight_(store.add((scope / "weight").str(), {dim, channels, patch, patch})),
          has_bias_(bias),
          patch_(patch) {
        if (bias) bias_ = store.add((scope / "bias").str(), {dim});
    }

    // pixels [B, C, H, W] -> [B, (H / p) * (W / p), D], patches in row-major order.
    Var<B, T> forward(Graph<B, T>& g, const Var<B, T>& pixels) const {
        const Shape& s = pixels.shape();
        const Shape& w = store_->shape(weight_);
        if (s.rank() != 4 || s[1] != w[1] || s[2] % patch_ != 0 || s[3] % patch_ != 0)
            detail::throw_error("patch_embedding: expected pixel_values [batch, ", w[1],
                                ", H, W] with H and W ", "multiples of ", patch_, ", found ", s.str());
        const index_t gh = s[2] / patch_, gw = s[3] / patch_, c = s[1], p = patch_;
        auto cols = reshape(permute(reshape(pixels, {s[0], c, gh, p, gw, p}), {0, 2, 4, 1, 3, 5}),
                            {s[0], gh * gw, c * p * p});
        auto weight = reshape(g.parameter(*store_, weight_), {w[0], c * p * p});
        if (!has_bias_) return linear(cols, weight);
        auto bias = g.parameter(*store_, bias_);
        return linear(cols, weight, &bias);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        f(store_->name(weight_), weight_);
        if (has_bias_) f(store_->name(bias_), bias_);
    }

    void reset_parameters_normal(double std, std::uint64_t seed) {
        init_normal(*store_, weight_, std, seed);
        if (has_bias_) init_constant(*store_, bias_, 0.0);
    }

private:
    ParameterStore<B, T>* store_;
    Parameter weight_, bias_;
    bool has_bias_;
    index_t patch_;
};

}  // namespace tandem
