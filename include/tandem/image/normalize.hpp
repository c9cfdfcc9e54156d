// HF image processors' `rescale` and `normalize` followed by HWC -> CHW
// (`to_channel_dimension_format`), in the same float arithmetic: rescale in double and
// cast to float32, then (x - mean) / std in float32 with float32 mean and std.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/image.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace tandem::image {

struct Normalization {
    bool do_rescale = true;
    double rescale_factor = 1.0 / 255.0;
    bool do_normalize = true;
    std::array<float, 3> image_mean = {0.48145466f, 0.4578275f, 0.40821073f};  // OPENAI_CLIP_MEAN
    std::array<float, 3> image_std = {0.26862954f, 0.26130258f, 0.27577711f};  // OPENAI_CLIP_STD

    // The float each uint8 level of channel `c` becomes.
    float apply(std::size_t c, std::uint8_t level) const {
        float x = do_rescale ? static_cast<float>(static_cast<double>(level) * rescale_factor)
                             : static_cast<float>(level);
        if (do_normalize) x = (x - image_mean[c]) / image_std[c];
        return x;
    }
};

// Writes the CHW float values of a 3-channel HWC image to `out` (3 * H * W floats).
// A uint8 input has only 256 levels per channel, so a table gives the exact
// result of the float arithmetic at the cost of a lookup.
inline void to_pixel_values(const ImageU8& image, const Normalization& norm, float* out) {
    if (image.shape()[2] != 3) {
        tandem::detail::throw_error("to_pixel_values: expected 3 channels (RGB), found ", image.shape()[2]);
    }
    std::array<std::array<float, 256>, 3> table;
    for (std::size_t c = 0; c < 3; ++c) {
        for (int v = 0; v < 256; ++v) table[c][v] = norm.apply(c, static_cast<std::uint8_t>(v));
    }
    const std::size_t plane = image.shape()[0] * image.shape()[1];
    const std::uint8_t* src = image.data();
    float* r = out;
    float* g = out + plane;
    float* b = out + 2 * plane;
    for (std::size_t i = 0; i < plane; ++i, src += 3) {
        r[i] = table[0][src[0]];
        g[i] = table[1][src[1]];
        b[i] = table[2][src[2]];
    }
}

inline ImageF to_pixel_values(const ImageU8& image, const Normalization& norm) {
    ImageF out({3, image.shape()[0], image.shape()[1]});
    to_pixel_values(image, norm, out.data());
    return out;
}

}  // namespace tandem::image
