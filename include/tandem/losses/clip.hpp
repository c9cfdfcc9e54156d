// The contrastive losses CLIP and SigLIP train with, from logits_per_text [n, n]
// whose diagonal holds the matching pairs.
// reference: transformers clip_loss (modeling_clip), SiglipModel.forward's loss (v4.43).
#pragma once

#include <tandem/autograd/ops.hpp>

namespace tandem {

// (CE(logits_per_text, arange) + CE(logits_per_image, arange)) / 2.
template <Backend B, Scalar T>
Var<B, T> clip_loss(const Var<B, T>& logits_per_text) {
    const Shape& s = logits_per_text.shape();
    if (s.rank() != 2 || s[0] != s[1])
        detail::throw_error("clip_loss: expected square logits [n, n] (pair i matches pair i), found ",
                            s.str());
    const auto labels = arange<B>(s[0]);
    auto text_loss = cross_entropy(logits_per_text, labels);
    auto image_loss = cross_entropy(permute(logits_per_text, {1, 0}), labels);
    return scale(add(text_loss, image_loss), T(0.5));
}

// mean over texts of sum over images of -log sigmoid(z * logits), z = +1 on the diagonal, -1 elsewhere.
template <Backend B, Scalar T>
Var<B, T> siglip_loss(Graph<B, T>& g, const Var<B, T>& logits_per_text) {
    const Shape& s = logits_per_text.shape();
    if (s.rank() != 2 || s[0] != s[1])
        detail::throw_error("siglip_loss: expected square logits [n, n] (pair i matches pair i), found ",
                            s.str());
    auto z = Tensor<B, T>::empty(s);
    if (z.numel()) B::fill_diagonal(z.data(), s[0], T(1), T(-1));
    auto signed_logits = mul(logits_per_text, g.input(z));
    return scale(sum(log_sigmoid(signed_logits)), T(-1) / T(s[0]));
}

}  // namespace tandem
