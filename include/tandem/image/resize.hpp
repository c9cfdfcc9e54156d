// Resizing that reproduces `PIL.Image.resize(size, resample)` on 8-bit images bit for
// bit: BICUBIC (a = -0.5), BILINEAR, LANCZOS, BOX and HAMMING with PIL's anti-aliasing
// support when down-scaling, and NEAREST. Also HF's shortest-edge output size
// (`get_resize_output_image_size(..., default_to_square=False)`).
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/detail/resample.hpp>
#include <tandem/image/image.hpp>

#include <array>
#include <climits>
#include <cstddef>

namespace tandem::image {

namespace detail {

inline ImageU8 resample_dispatch(const ImageU8& image, std::size_t out_h, std::size_t out_w,
                                 Resample resample, std::size_t top, std::size_t left, std::size_t h,
                                 std::size_t w) {
    require_pixels(image, "resize");
    if (out_h == 0 || out_w == 0) {
        tandem::detail::throw_error("resize: expected a positive output size, found ", out_h, "x", out_w);
    }
    if (out_h > INT_MAX / 4 || out_w > INT_MAX / 4 || image.shape()[0] > INT_MAX / 4 ||
        image.shape()[1] > INT_MAX / 4) {
        tandem::detail::throw_error("resize: image or output size too large (", out_h, "x", out_w, ")");
    }
    if (top + h > out_h || left + w > out_w) {
        tandem::detail::throw_error("resize: window ", h, "x", w, " at (", top, ", ", left,
                                    ") lies outside the ", out_h, "x", out_w, " output");
    }
    const int oh = static_cast<int>(out_h), ow = static_cast<int>(out_w), t = static_cast<int>(top),
              l = static_cast<int>(left), hh = static_cast<int>(h), ww = static_cast<int>(w);
    switch (image.shape()[2]) {
        case 1:
            return resample_window<1>(image, oh, ow, resample, t, l, hh, ww);
        case 2:
            return resample_window<2>(image, oh, ow, resample, t, l, hh, ww);
        case 3:
            return resample_window<3>(image, oh, ow, resample, t, l, hh, ww);
        case 4:
            return resample_window<4>(image, oh, ow, resample, t, l, hh, ww);
    }
    tandem::detail::throw_error("resize: expected 1 to 4 channels, found ", image.shape()[2]);
}

}  // namespace detail

// `PIL.Image.resize((width, height), resample)` on an HWC uint8 image. Channels are
// filtered independently (PIL premultiplies RGBA first; convert to RGB before resizing).
inline ImageU8 resize(const ImageU8& image, std::size_t height, std::size_t width,
                      Resample resample = Resample::bicubic) {
    return detail::resample_dispatch(image, height, width, resample, 0, 0, height, width);
}

// The window [top, top + h) x [left, left + w) of resize(image, height, width, resample),
// computing only those pixels (a resize followed by a crop, at the cost of the crop).
inline ImageU8 resize_window(const ImageU8& image, std::size_t height, std::size_t width, Resample resample,
                             std::size_t top, std::size_t left, std::size_t h, std::size_t w) {
    return detail::resample_dispatch(image, height, width, resample, top, left, h, w);
}

// HF's output size for `size={"shortest_edge": n}`: the short side becomes n and the long
// side int(n * long / short), floored. Returns {height, width}.
inline std::array<std::size_t, 2> shortest_edge_size(std::size_t height, std::size_t width,
                                                     std::size_t shortest_edge) {
    if (height == 0 || width == 0) {
        tandem::detail::throw_error("shortest_edge_size: expected a non-empty image, found ", height, "x",
                                    width);
    }
    const bool portrait = width <= height;
    const std::size_t short_side = portrait ? width : height, long_side = portrait ? height : width;
    const auto new_long = static_cast<std::size_t>(static_cast<double>(shortest_edge * long_side) /
                                                   static_cast<double>(short_side));
    return portrait ? std::array<std::size_t, 2>{new_long, shortest_edge}
                    : std::array<std::size_t, 2>{shortest_edge, new_long};
}

}  // namespace tandem::image
