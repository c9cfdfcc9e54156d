// Image types shared by the image layer: decoded pictures are HWC uint8 arrays
// (the layout of `np.array(PIL.Image)`), preprocessed ones CHW float32 (the layout
// of Hugging Face `pixel_values` and torchvision's `ToTensor`).
#pragma once

#include <tandem/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include <xtensor/xtensor.hpp>

namespace tandem::image {

// Height x width x channels, row-major; channels are RGB after decoding.
using ImageU8 = xt::xtensor<std::uint8_t, 3>;
// Channels x height x width, what a vision tower consumes.
using ImageF = xt::xtensor<float, 3>;
// Images x channels x height x width (`pixel_values`).
using BatchF = xt::xtensor<float, 4>;

// Resampling filters, numbered as PIL's `Image.Resampling` (and the `resample` key of
// preprocessor_config.json).
enum class Resample : int { nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5 };

inline const char* resample_name(Resample r) {
    switch (r) {
        case Resample::nearest:
            return "nearest";
        case Resample::lanczos:
            return "lanczos";
        case Resample::bilinear:
            return "bilinear";
        case Resample::bicubic:
            return "bicubic";
        case Resample::box:
            return "box";
        case Resample::hamming:
            return "hamming";
    }
    return "unknown";
}

inline std::size_t height(const ImageU8& image) { return image.shape()[0]; }
inline std::size_t width(const ImageU8& image) { return image.shape()[1]; }
inline std::size_t channels(const ImageU8& image) { return image.shape()[2]; }

// PIL's `convert("RGB")` for 8-bit HWC arrays with 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) channels.
inline ImageU8 convert_rgb(const ImageU8& image) {
    const std::size_t h = image.shape()[0], w = image.shape()[1], c = image.shape()[2];
    if (c == 3) return image;
    if (c < 1 || c > 4) tandem::detail::throw_error("convert_rgb: expected 1 to 4 channels, found ", c);
    ImageU8 out({h, w, 3});
    const std::uint8_t* src = image.data();
    std::uint8_t* dst = out.data();
    for (std::size_t i = 0; i < h * w; ++i, src += c, dst += 3) {
        if (c <= 2) {
            dst[0] = dst[1] = dst[2] = src[0];
        } else {
            dst[0] = src[0], dst[1] = src[1], dst[2] = src[2];
        }
    }
    return out;
}

namespace detail {

// Operations on an image with no pixels would divide by zero or index nothing.
inline void require_pixels(const ImageU8& image, const char* operation) {
    if (image.shape()[0] == 0 || image.shape()[1] == 0 || image.shape()[2] == 0) {
        tandem::detail::throw_error(operation, ": expected an image with pixels, found shape (",
                                    image.shape()[0], ", ", image.shape()[1], ", ", image.shape()[2], ")");
    }
}

}  // namespace detail
}  // namespace tandem::image
