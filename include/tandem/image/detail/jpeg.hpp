// JPEG decoding through libjpeg(-turbo), the library PIL itself links, with PIL's
// settings (islow IDCT, fancy upsampling, CMYK read as Adobe-inverted), so decoded
// pixels are the ones `PIL.Image.open(f).convert("RGB")` returns, bit for bit.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/image.hpp>

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include <jerror.h>
#include <jpeglib.h>

namespace tandem::image::detail {

struct JpegErrorManager {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX] = {};
    bool truncated = false;
};

// Owns the libjpeg state so that every exit, thrown or not, releases it. Its address is
// handed to libjpeg, so its members live in memory across the setjmp below.
struct JpegDecompressor {
    jpeg_decompress_struct cinfo{};
    JpegErrorManager err;
    bool created = false;
    ~JpegDecompressor() {
        if (created) jpeg_destroy_decompress(&cinfo);
    }
};

// PIL's cmyk2rgb with MULDIV255 rounding.
inline std::uint8_t cmyk_channel(int ink, int nk) {
    const int tmp = ink * nk + 128;
    const int v = nk - (((tmp >> 8) + tmp) >> 8);
    return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// Decodes to RGB. `max_pixels` (0: no limit) is checked against the header before
// any scan data is read.
inline ImageU8 decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                           std::uint64_t max_pixels) {
    JpegDecompressor d;
    d.cinfo.err = jpeg_std_error(&d.err.pub);
    d.err.pub.error_exit = [](j_common_ptr c) {
        auto* e = reinterpret_cast<JpegErrorManager*>(c->err);
        (*c->err->format_message)(c, e->message);
        std::longjmp(e->jump, 1);
    };
    // libjpeg pads a file that ends early with an end-of-image marker and only warns;
    // PIL reports "image file is truncated", and so do we. Other warnings are ignored, as in PIL.
    d.err.pub.emit_message = [](j_common_ptr c, int level) {
        if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
            reinterpret_cast<JpegErrorManager*>(c->err)->truncated = true;
    };
    if (setjmp(d.err.jump)) {
        tandem::detail::throw_error(name, ": corrupt or truncated JPEG (libjpeg: ", d.err.message, ")");
    }
    jpeg_create_decompress(&d.cinfo);
    d.created = true;
    jpeg_mem_src(&d.cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&d.cinfo, TRUE);
    const std::uint64_t w = d.cinfo.image_width, h = d.cinfo.image_height;
    if (w == 0 || h == 0) tandem::detail::throw_error(name, ": zero-size image (", w, "x", h, " pixels)");
    if (max_pixels && w * h > max_pixels) {
        tandem::detail::throw_error(
            name, ": ", w, "x", h, " = ", w * h, " pixels exceeds the limit of ", max_pixels,
            " (possible decompression bomb; raise DecodeOptions::max_pixels to allow it)");
    }
    const bool cmyk = d.cinfo.jpeg_color_space == JCS_CMYK || d.cinfo.jpeg_color_space == JCS_YCCK;
    const bool gray = d.cinfo.jpeg_color_space == JCS_GRAYSCALE;
    d.cinfo.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&d.cinfo);

    const std::size_t ow = d.cinfo.output_width, oh = d.cinfo.output_height;
    const int comps = d.cinfo.output_components;
    ImageU8 out({oh, ow, std::size_t{3}});
    std::string row_storage(ow * static_cast<std::size_t>(comps), '\0');
    auto* row = reinterpret_cast<std::uint8_t*>(row_storage.data());
    while (d.cinfo.output_scanline < d.cinfo.output_height) {
        std::uint8_t* dst = out.data() + static_cast<std::size_t>(d.cinfo.output_scanline) * ow * 3;
        JSAMPROW rows[1] = {comps == 3 ? dst : row};
        jpeg_read_scanlines(&d.cinfo, rows, 1);
        if (comps == 1) {
            for (std::size_t x = 0; x < ow; ++x) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
        } else if (comps == 4) {
            // Pillow reads CMYK JPEGs as "CMYK;I" (Adobe's inverted inks), then cmyk2rgb.
            for (std::size_t x = 0; x < ow; ++x) {
                const int nk = row[4 * x + 3];  // 255 - (255 - stored)
                for (int c = 0; c < 3; ++c) dst[3 * x + c] = cmyk_channel(255 - row[4 * x + c], nk);
            }
        }
    }
    jpeg_finish_decompress(&d.cinfo);
    if (d.err.truncated)
        tandem::detail::throw_error(name, ": corrupt or truncated JPEG (image file is truncated)");
    return out;
}

}  // namespace tandem::image::detail
