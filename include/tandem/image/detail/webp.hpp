// WebP decoding through libwebp (Debian's libwebp, the library PIL links), as
// `PIL.Image.open(f).convert("RGB")` gives it: PIL's WebP plugin decodes to RGBA (or
// RGBX) with libwebp's default options (fancy upsampling), and convert("RGB") drops the
// alpha channel without blending. The size is read from the header and checked
// against `max_pixels` before any pixel is decoded.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/image.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include <webp/decode.h>

namespace tandem::image::detail {

inline bool is_webp(std::span<const std::uint8_t> b) {
    return b.size() >= 12 && std::memcmp(b.data(), "RIFF", 4) == 0 &&
           std::memcmp(b.data() + 8, "WEBP", 4) == 0;
}

inline ImageU8 decode_webp(std::span<const std::uint8_t> bytes, const std::string& name,
                           std::uint64_t max_pixels) {
    using tandem::detail::throw_error;
    WebPBitstreamFeatures features;
    const VP8StatusCode status = WebPGetFeatures(bytes.data(), bytes.size(), &features);
    if (status != VP8_STATUS_OK)
        throw_error(name, ": corrupt or truncated WebP header (libwebp status ", static_cast<int>(status),
                    ")");
    if (features.has_animation)
        throw_error(name, ": animated WebP is not supported (expected a still image)");
    const auto w = static_cast<std::uint64_t>(features.width),
               h = static_cast<std::uint64_t>(features.height);
    if (w == 0 || h == 0) throw_error(name, ": zero-size image (", w, "x", h, " pixels)");
    if (max_pixels && w * h > max_pixels)
        throw_error(name, ": ", w, "x", h, " = ", w * h, " pixels exceeds the limit of ", max_pixels,
                    " (possible decompression bomb; raise DecodeOptions::max_pixels to allow it)");
    ImageU8 rgba({static_cast<std::size_t>(h), static_cast<std::size_t>(w), 4});
    const int stride = static_cast<int>(4 * w);
    if (!WebPDecodeRGBAInto(bytes.data(), bytes.size(), rgba.data(), rgba.size(), stride))
        throw_error(name, ": corrupt or truncated WebP image data (libwebp could not decode it)");
    return convert_rgb(rgba);
}

}  // namespace tandem::image::detail
