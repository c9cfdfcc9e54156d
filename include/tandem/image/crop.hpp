// Cropping with zero padding, and centre crops with either of the two roundings in
// use: HF `image_transforms.center_crop` (floored offsets, image padded at ceil offsets
// when smaller) and torchvision `CenterCrop` (offsets rounded half to even, padded at
// floor offsets). They differ by one pixel when the margin is odd.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/image.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace tandem::image {

enum class CropRounding {
    floor,  // Hugging Face image processors: top = (H - h) // 2
    round,  // torchvision CenterCrop (OpenAI / open_clip `preprocess`): top = round((H - h) / 2)
};

// Rows [top, top + h) and columns [left, left + w); pixels outside the image are 0,
// so negative offsets or a window larger than the image pad with black.
inline ImageU8 crop(const ImageU8& image, std::ptrdiff_t top, std::ptrdiff_t left, std::size_t h,
                    std::size_t w) {
    const auto in_h = static_cast<std::ptrdiff_t>(image.shape()[0]),
               in_w = static_cast<std::ptrdiff_t>(image.shape()[1]);
    const std::size_t c = image.shape()[2];
    ImageU8 out = xt::zeros<std::uint8_t>({h, w, c});
    const std::ptrdiff_t y0 = std::max<std::ptrdiff_t>(top, 0),
                         y1 = std::min<std::ptrdiff_t>(top + static_cast<std::ptrdiff_t>(h), in_h);
    const std::ptrdiff_t x0 = std::max<std::ptrdiff_t>(left, 0),
                         x1 = std::min<std::ptrdiff_t>(left + static_cast<std::ptrdiff_t>(w), in_w);
    if (y1 <= y0 || x1 <= x0) return out;
    const std::size_t run = static_cast<std::size_t>(x1 - x0) * c;
    for (std::ptrdiff_t y = y0; y < y1; ++y) {
        const std::uint8_t* s = image.data() + (static_cast<std::size_t>(y) * in_w + x0) * c;
        std::uint8_t* d = out.data() + (static_cast<std::size_t>(y - top) * w + (x0 - left)) * c;
        std::copy_n(s, run, d);
    }
    return out;
}

// Offset of a centred window of `size` in an axis of `in` pixels (negative: padding).
inline std::ptrdiff_t center_crop_offset(std::size_t in, std::size_t size, CropRounding rounding) {
    const auto margin = static_cast<std::ptrdiff_t>(in) - static_cast<std::ptrdiff_t>(size);
    if (rounding == CropRounding::floor) {
        // Python's floor division, also for a negative margin (HF pads at ceil offsets).
        return margin >= 0 ? margin / 2 : -((-margin + 1) / 2);
    }
    // torchvision pads (size - in) // 2 on the left/top, then crops at offset 0.
    if (margin < 0) return -(-margin / 2);
    // Python's round(margin / 2): half to even.
    const std::ptrdiff_t q = margin / 2;
    return (margin % 2 == 0 || q % 2 == 0) ? q : q + 1;
}

// Top-left corner of the centre crop, {top, left}.
inline std::array<std::ptrdiff_t, 2> center_crop_origin(std::size_t in_h, std::size_t in_w, std::size_t h,
                                                        std::size_t w,
                                                        CropRounding rounding = CropRounding::floor) {
    return {center_crop_offset(in_h, h, rounding), center_crop_offset(in_w, w, rounding)};
}

inline ImageU8 center_crop(const ImageU8& image, std::size_t h, std::size_t w,
                           CropRounding rounding = CropRounding::floor) {
    const auto [top, left] = center_crop_origin(image.shape()[0], image.shape()[1], h, w, rounding);
    return crop(image, top, left, h, w);
}

}  // namespace tandem::image
