// Decoding JPEG, PNG, BMP, GIF (first frame), TGA and PNM into RGB, as
// `PIL.Image.open(path).convert("RGB")` does: alpha dropped (not blended), grey
// replicated, palettes expanded, 16-bit grey clamped to 255 like PIL's mode "I".
// JPEG goes through libjpeg-turbo (PIL's own decoder), the other formats through
// stb_image (Debian's libstb); docs/architecture.md says why.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/detail/jpeg.hpp>
#include <tandem/image/detail/webp.hpp>
#include <tandem/image/image.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <stb/stb_image.h>

namespace tandem::image {

struct DecodeOptions {
    // Largest accepted width * height, checked from the header before any pixel is
    // decoded. The default is PIL's `Image.MAX_IMAGE_PIXELS`; 0 disables the check.
    std::uint64_t max_pixels = 89'478'485;
    // 16-bit grey images: false clamps values above 255 to 255 (PIL opens them as mode
    // "I" and `convert("RGB")` clamps); true keeps the top 8 bits (v >> 8), which is
    // what most other decoders do and what keeps the picture visible.
    bool scale_16bit = false;
};

namespace detail {

enum class Format { png, jpeg, gif, bmp, pnm, other };

inline Format sniff_format(std::span<const std::uint8_t> b) {
    auto starts = [&](const char* magic) {
        const std::size_t n = std::strlen(magic);
        return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
    };
    if (starts("\x89PNG\r\n\x1a\n")) return Format::png;
    if (starts("\xff\xd8\xff")) return Format::jpeg;
    if (starts("GIF87a") || starts("GIF89a")) return Format::gif;
    if (starts("BM")) return Format::bmp;
    if (starts("P5") || starts("P6")) return Format::pnm;
    return Format::other;
}

inline std::uint32_t read_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// The colour PIL shows for a GIF's transparent pixels: PIL keeps the first frame in
// mode "P" and convert("RGB") looks the transparent index up in the palette, where
// stb_image leaves those pixels black with alpha 0. Empty when the first frame has no
// transparency (or the file is too short to say).
inline std::optional<std::array<std::uint8_t, 3>> gif_transparent_color(std::span<const std::uint8_t> b) {
    if (b.size() < 13) return std::nullopt;
    std::size_t at = 13;
    std::span<const std::uint8_t> palette;
    if (b[10] & 0x80) {
        const std::size_t size = 3u << ((b[10] & 7) + 1);
        if (at + size > b.size()) return std::nullopt;
        palette = b.subspan(at, size);
        at += size;
    }
    int transparent = -1;
    while (at < b.size()) {
        if (b[at] == 0x21 && at + 1 < b.size()) {  // extension: label, then sub-blocks
            if (b[at + 1] == 0xF9 && at + 6 < b.size() && (b[at + 3] & 1)) transparent = b[at + 6];
            at += 2;
            while (at < b.size() && b[at] != 0) at += b[at] + 1u;
            ++at;
        } else if (b[at] == 0x2C && at + 9 < b.size()) {  // the first image descriptor
            if (b[at + 9] & 0x80) {
                const std::size_t size = 3u << ((b[at + 9] & 7) + 1);
                if (at + 10 + size > b.size()) return std::nullopt;
                palette = b.subspan(at + 10, size);
            }
            break;
        } else {
            return std::nullopt;
        }
    }
    if (transparent < 0 || static_cast<std::size_t>(transparent) * 3 + 3 > palette.size())
        return std::nullopt;
    return std::array<std::uint8_t, 3>{palette[transparent * 3], palette[transparent * 3 + 1],
                                       palette[transparent * 3 + 2]};
}

inline std::uint32_t read_le32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
           (std::uint32_t{p[3]} << 24);
}

// Width and height as a header states them (a negative BMP height means top-down), for the formats whose
// sizes stb_image misreads: it parses PNM's decimal sizes with signed overflow (2^32 wraps to 0) and takes
// abs() of a BMP height of INT_MIN. Empty when the header is too short to say.
inline std::optional<std::array<std::int64_t, 2>> stated_size(Format format,
                                                              std::span<const std::uint8_t> b) {
    if (format == Format::bmp) {
        if (b.size() < 26) return std::nullopt;
        if (read_le32(b.data() + 14) == 12)  // OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
            return std::array<std::int64_t, 2>{b[18] | (b[19] << 8), b[20] | (b[21] << 8)};
        return std::array<std::int64_t, 2>{static_cast<std::int32_t>(read_le32(b.data() + 18)),
                                           static_cast<std::int32_t>(read_le32(b.data() + 22))};
    }
    if (format != Format::pnm) return std::nullopt;
    std::array<std::int64_t, 2> size{};
    std::size_t at = 2;
    for (auto& v : size) {
        while (at < b.size() && (std::isspace(b[at]) || b[at] == '#')) {
            if (b[at] == '#')
                while (at < b.size() && b[at] != '\n' && b[at] != '\r') ++at;
            else
                ++at;
        }
        if (at >= b.size() || !std::isdigit(b[at])) return std::nullopt;
        for (; at < b.size() && std::isdigit(b[at]); ++at)
            v = std::min<std::int64_t>(v * 10 + (b[at] - '0'), std::int64_t{1} << 40);  // saturates
    }
    return size;
}

inline const char* stb_reason() {
    const char* reason = stbi_failure_reason();
    return reason ? reason : "unknown error";
}

struct StbFree {
    void operator()(void* p) const { stbi_image_free(p); }
};

inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
    // A directory opens as a stream on Linux and then fails to read with an ios_base::failure.
    if (std::filesystem::is_directory(path))
        tandem::detail::throw_error(path.string(), ": is a directory, expected an image file");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        tandem::detail::throw_error(path.string(), ": cannot open image file (", std::strerror(errno), ")");
    }
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) tandem::detail::throw_error(path.string(), ": read error");
    return bytes;
}

}  // namespace detail

// Decodes an encoded image held in memory; `name` is what error messages call it.
inline ImageU8 decode_image(std::span<const std::uint8_t> bytes, const std::string& name = "<memory>",
                            const DecodeOptions& options = {}) {
    using tandem::detail::throw_error;
    if (bytes.empty()) throw_error(name, ": file is empty, not an image");
    if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
        throw_error(name, ": ", bytes.size(), " bytes is more than stb_image can read (", INT_MAX, ")");
    }
    const auto* data = bytes.data();
    const int len = static_cast<int>(bytes.size());
    const auto format = detail::sniff_format(bytes);
    if (format == detail::Format::jpeg) return detail::decode_jpeg(bytes, name, options.max_pixels);
    if (detail::is_webp(bytes)) return detail::decode_webp(bytes, name, options.max_pixels);

    // Size from the header first, so that a decompression bomb is refused before
    // any pixel memory is allocated. PNG is read directly: stb_image refuses large
    // PNG headers itself with a less helpful "too large".
    std::uint64_t w = 0, h = 0;
    int png_color_type = -1, channels = 0;
    if (format == detail::Format::png) {
        if (bytes.size() < 33 || std::memcmp(data + 12, "IHDR", 4) != 0) {
            throw_error(name, ": corrupt or truncated PNG (no complete IHDR header)");
        }
        w = detail::read_be32(data + 16);
        h = detail::read_be32(data + 20);
        png_color_type = data[25];
    } else {
        if (const auto stated = detail::stated_size(format, bytes)) {
            const auto [sw, sh] = *stated;
            const std::int64_t height = format == detail::Format::bmp && sh < 0 ? -sh : sh;
            if (sw == 0 || height == 0) throw_error(name, ": zero-size image (", sw, "x", sh, " pixels)");
            if (sw < 0 || height < 0 || sw > INT_MAX || height > INT_MAX) {
                throw_error(name, ": corrupt image header: width ", sw, ", height ", sh,
                            " (expected sizes from 1 to ", INT_MAX, ")");
            }
        }
        int iw = 0, ih = 0;
        if (!stbi_info_from_memory(data, len, &iw, &ih, &channels)) {
            const std::string reason = detail::stb_reason();
            if (reason == "0-pixel image") throw_error(name, ": zero-size image (0 pixels)");
            if (reason == "too large")
                throw_error(name, ": image dimensions too large to decode (stb_image: too large)");
            if (format == detail::Format::other) {
                throw_error(name,
                            ": not a recognised image (expected JPEG, PNG, BMP, GIF, TGA or PNM; stb_image: ",
                            reason, ")");
            }
            throw_error(name, ": corrupt or truncated image header (stb_image: ", reason, ")");
        }
        // stb_image's info reports a top-down BMP's height as the negative number stored;
        // stated_size has ruled out INT_MIN.
        if (format == detail::Format::bmp && ih < 0) ih = -ih;
        if (iw < 0 || ih < 0) throw_error(name, ": corrupt image header: width ", iw, ", height ", ih);
        w = static_cast<std::uint64_t>(iw);
        h = static_cast<std::uint64_t>(ih);
    }
    if (w == 0 || h == 0) throw_error(name, ": zero-size image (", w, "x", h, " pixels)");
    if (options.max_pixels && w * h > options.max_pixels) {
        throw_error(name, ": ", w, "x", h, " = ", w * h, " pixels exceeds the limit of ", options.max_pixels,
                    " (possible decompression bomb; raise DecodeOptions::max_pixels to allow it)");
    }

    // Process-wide stb settings made elsewhere in the program must not change our result.
    stbi_set_flip_vertically_on_load_thread(0);
    stbi_convert_iphone_png_to_rgb_thread(0);

    int iw = 0, ih = 0, n = 0;
    const bool gray16 = stbi_is_16_bit_from_memory(data, len) &&
                        (png_color_type == 0 || (format == detail::Format::pnm && channels == 1));
    ImageU8 out;
    if (gray16) {
        // PIL's mode "I": convert("RGB") clamps each value to [0, 255].
        std::unique_ptr<stbi_us, detail::StbFree> pixels(
            stbi_load_16_from_memory(data, len, &iw, &ih, &n, 1));
        if (!pixels)
            throw_error(name, ": corrupt or truncated image (stb_image: ", detail::stb_reason(), ")");
        out = ImageU8({static_cast<std::size_t>(ih), static_cast<std::size_t>(iw), 3});
        std::uint8_t* dst = out.data();
        const std::size_t count = static_cast<std::size_t>(iw) * static_cast<std::size_t>(ih);
        for (std::size_t i = 0; i < count; ++i, dst += 3) {
            const stbi_us v = pixels.get()[i];
            dst[0] = dst[1] = dst[2] =
                static_cast<std::uint8_t>(options.scale_16bit ? v >> 8 : std::min<int>(v, 255));
        }
        return out;
    }
    if (format == detail::Format::gif) {
        if (const auto color = detail::gif_transparent_color(bytes)) {
            std::unique_ptr<stbi_uc, detail::StbFree> rgba(stbi_load_from_memory(data, len, &iw, &ih, &n, 4));
            if (!rgba)
                throw_error(name, ": corrupt or truncated image (stb_image: ", detail::stb_reason(), ")");
            out = ImageU8({static_cast<std::size_t>(ih), static_cast<std::size_t>(iw), 3});
            const std::size_t count = static_cast<std::size_t>(iw) * static_cast<std::size_t>(ih);
            for (std::size_t i = 0; i < count; ++i) {
                const stbi_uc* p = rgba.get() + 4 * i;
                for (int c = 0; c < 3; ++c) out.data()[3 * i + c] = p[3] ? p[c] : (*color)[c];
            }
            return out;
        }
    }
    // Asking stb_image for 3 channels performs convert("RGB"): it drops alpha, replicates
    // grey and expands palettes; 16-bit colour keeps the high byte, as PIL's ";16B" raw modes do.
    std::unique_ptr<stbi_uc, detail::StbFree> pixels(stbi_load_from_memory(data, len, &iw, &ih, &n, 3));
    if (!pixels) throw_error(name, ": corrupt or truncated image (stb_image: ", detail::stb_reason(), ")");
    if (iw <= 0 || ih <= 0) throw_error(name, ": zero-size image (", iw, "x", ih, " pixels)");
    out = ImageU8({static_cast<std::size_t>(ih), static_cast<std::size_t>(iw), 3});
    std::memcpy(out.data(), pixels.get(), out.size());
    return out;
}

// Reads and decodes an image file; errors name the path.
inline ImageU8 load_image(const std::filesystem::path& path, const DecodeOptions& options = {}) {
    const auto bytes = detail::read_file(path);
    return decode_image(bytes, path.string(), options);
}

}  // namespace tandem::image
