// The GEMM shapes of one CLIP ViT-B/32 training step at batch 32 (50 tokens per
// image, width 768, MLP 3072), forward and backward, plus the square 2048^3 ceiling.
#pragma once

#include <array>

namespace bench {

struct GemmShape {
    const char* what;
    bool trans_a, trans_b;
    long m, n, k;
};

inline constexpr long tokens = 50 * 32;

inline constexpr std::array<GemmShape, 8> clip_step_shapes = {{
    {"square 2048^3 (ceiling)", false, false, 2048, 2048, 2048},
    {"q/k/v/out proj  x W^T", false, true, tokens, 768, 768},
    {"mlp fc1         x W^T", false, true, tokens, 3072, 768},
    {"mlp fc2         x W^T", false, true, tokens, 768, 3072},
    {"fc2 dX          dY W", false, false, tokens, 3072, 768},
    {"fc1 dX          dY W", false, false, tokens, 768, 3072},
    {"fc1 dW          dY^T X", true, false, 3072, 768, tokens},
    {"proj dW         dY^T X", true, false, 768, 768, tokens},
}};

}  // namespace bench
