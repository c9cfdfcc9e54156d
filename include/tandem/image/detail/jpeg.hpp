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
#include <vector>

#include <jerror.h>
#include <jpeglib.h>

namespace tandem::image::detail {

struct JpegErrorManager {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    bool truncated;
};

// All libjpeg state, trivially destructible: libjpeg reports errors by longjmp, and a
// longjmp that skips a destructor is undefined behaviour (and here leaked the pixel
// buffers). So each libjpeg call runs in a step function below whose frame holds only
// plain values; the C++ objects (the image, the row buffer, the owner that destroys
// the decompressor) live in decode_jpeg, which no longjmp crosses.
struct JpegState {
    jpeg_decompress_struct cinfo;
    JpegErrorManager err;
    bool created;
};

struct JpegDecompressor {
    JpegState s{};
    ~JpegDecompressor() {
        if (s.created) jpeg_destroy_decompress(&s.cinfo);
    }
};

// PIL's cmyk2rgb with MULDIV255 rounding.
inline std::uint8_t cmyk_channel(int ink, int nk) {
    const int tmp = ink * nk + 128;
    const int v = nk - (((tmp >> 8) + tmp) >> 8);
    return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// The steps return false when libjpeg failed; the reason is in s.err.message.
inline bool jpeg_open(JpegState& s, const std::uint8_t* data, std::size_t size) {
    s.cinfo.err = jpeg_std_error(&s.err.pub);
    s.err.pub.error_exit = [](j_common_ptr c) {
        auto* e = reinterpret_cast<JpegErrorManager*>(c->err);
        (*c->err->format_message)(c, e->message);
        std::longjmp(e->jump, 1);
    };
    // libjpeg pads a file that ends early with an end-of-image marker and only warns;
    // PIL reports "image file is truncated", and so do we. Other warnings are ignored, as in PIL.
    s.err.pub.emit_message = [](j_common_ptr c, int level) {
        if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
            reinterpret_cast<JpegErrorManager*>(c->err)->truncated = true;
    };
    if (setjmp(s.err.jump)) return false;
    jpeg_create_decompress(&s.cinfo);
    s.created = true;
    jpeg_mem_src(&s.cinfo, data, static_cast<unsigned long>(size));
    jpeg_read_header(&s.cinfo, TRUE);
    return true;
}

inline bool jpeg_start(JpegState& s) {
    if (setjmp(s.err.jump)) return false;
    const bool cmyk = s.cinfo.jpeg_color_space == JCS_CMYK || s.cinfo.jpeg_color_space == JCS_YCCK;
    const bool gray = s.cinfo.jpeg_color_space == JCS_GRAYSCALE;
    s.cinfo.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&s.cinfo);
    return true;
}

// Decodes every scanline into `out` (output_height x output_width x 3); `row` holds one
// scanline of output_components bytes when those are not 3.
inline bool jpeg_read_rgb(JpegState& s, std::uint8_t* out, std::uint8_t* row) {
    if (setjmp(s.err.jump)) return false;
    const std::size_t ow = s.cinfo.output_width;
    const int comps = s.cinfo.output_components;
    while (s.cinfo.output_scanline < s.cinfo.output_height) {
        std::uint8_t* dst = out + static_cast<std::size_t>(s.cinfo.output_scanline) * ow * 3;
        JSAMPROW rows[1] = {comps == 3 ? dst : row};
        jpeg_read_scanlines(&s.cinfo, rows, 1);
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
    jpeg_finish_decompress(&s.cinfo);
    return true;
}

// Decodes to RGB. `max_pixels` (0: no limit) is checked against the header before
// any scan data is read.
inline ImageU8 decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                           std::uint64_t max_pixels) {
    JpegDecompressor d;
    const auto fail = [&] {
        tandem::detail::throw_error(name, ": corrupt or truncated JPEG (libjpeg: ", d.s.err.message, ")");
    };
    if (!jpeg_open(d.s, bytes.data(), bytes.size())) fail();
    const std::uint64_t w = d.s.cinfo.image_width, h = d.s.cinfo.image_height;
    if (w == 0 || h == 0) tandem::detail::throw_error(name, ": zero-size image (", w, "x", h, " pixels)");
    if (max_pixels && w * h > max_pixels) {
        tandem::detail::throw_error(
            name, ": ", w, "x", h, " = ", w * h, " pixels exceeds the limit of ", max_pixels,
            " (possible decompression bomb; raise DecodeOptions::max_pixels to allow it)");
    }
    if (!jpeg_start(d.s)) fail();
    const std::size_t ow = d.s.cinfo.output_width, oh = d.s.cinfo.output_height;
    ImageU8 out({oh, ow, std::size_t{3}});
    std::vector<std::uint8_t> row(ow * static_cast<std::size_t>(d.s.cinfo.output_components));
    if (!jpeg_read_rgb(d.s, out.data(), row.data())) fail();
    if (d.s.err.truncated)
        tandem::detail::throw_error(name, ": corrupt or truncated JPEG (image file is truncated)");
    return out;
}

}  // namespace tandem::image::detail
