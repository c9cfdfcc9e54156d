// WebP decoding against PIL: files made here with libwebp's encoder, decoded by
// image::load_image and by Debian's python3-pil (`Image.open(f).convert("RGB")`).
#include <tandem/image/decode.hpp>

#include <doctest/doctest.h>

#include "../io/temp_dir.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <webp/encode.h>

using tandem::testing::error_message;
using tandem::testing::read_bytes;
using tandem::testing::TempDir;
using tandem::testing::write_bytes;

namespace {

constexpr int W = 37, H = 23;

// A pattern with edges and gradients (so lossy coding and chroma upsampling matter),
// and, with alpha, fully and partly transparent pixels.
std::vector<std::uint8_t> pattern(int channels) {
    std::vector<std::uint8_t> px(static_cast<std::size_t>(W * H * channels));
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            std::uint8_t* p = px.data() + (y * W + x) * channels;
            p[0] = static_cast<std::uint8_t>(x * 7);
            p[1] = static_cast<std::uint8_t>((x + y) % 5 == 0 ? 255 : y * 11);
            p[2] = static_cast<std::uint8_t>((x * y) & 0xFF);
            if (channels == 4) p[3] = static_cast<std::uint8_t>(x < 5 ? 0 : x < 12 ? 128 : 255);
        }
    return px;
}

std::string encode(bool lossless, int channels) {
    const auto px = pattern(channels);
    std::uint8_t* out = nullptr;
    std::size_t n = 0;
    if (lossless)
        n = WebPEncodeLosslessRGBA(px.data(), W, H, W * 4, &out);
    else if (channels == 4)
        n = WebPEncodeRGBA(px.data(), W, H, W * 4, 80, &out);
    else
        n = WebPEncodeRGB(px.data(), W, H, W * 3, 80, &out);
    std::string bytes(reinterpret_cast<const char*>(out), n);
    WebPFree(out);
    return bytes;
}

bool have_pil() {
    return std::system("/usr/bin/python3 -c 'import PIL.WebPImagePlugin' >/dev/null 2>&1") == 0;
}

// PIL's pixels of `file`, written by Debian's python3 to `raw`.
std::string pil_rgb(const std::filesystem::path& file, const std::filesystem::path& raw) {
    const std::string cmd =
        "/usr/bin/python3 -c 'import sys; from PIL import Image; "
        "open(sys.argv[2], \"wb\").write(Image.open(sys.argv[1]).convert(\"RGB\").tobytes())' '" +
        file.string() + "' '" + raw.string() + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    return read_bytes(raw);
}

}  // namespace

TEST_CASE("WebP: lossy, lossy with alpha and lossless pixels equal PIL's convert(\"RGB\")") {
    if (!have_pil()) {
        MESSAGE(
            "SKIPPED: this test needs /usr/bin/python3 with PIL's WebP plugin (Debian package python3-pil)");
        return;
    }
    TempDir dir;
    struct Case {
        const char* name;
        bool lossless;
        int channels;
    };
    for (const Case c : {Case{"lossy.webp", false, 3}, Case{"lossy_alpha.webp", false, 4},
                         Case{"lossless_alpha.webp", true, 4}}) {
        CAPTURE(c.name);
        write_bytes(dir / c.name, encode(c.lossless, c.channels));
        const auto ours = tandem::image::load_image(dir / c.name);
        REQUIRE(ours.shape()[0] == H);
        REQUIRE(ours.shape()[1] == W);
        REQUIRE(ours.shape()[2] == 3);
        const std::string theirs = pil_rgb(dir / c.name, dir / "pil.raw");
        REQUIRE(theirs.size() == ours.size());
        std::size_t differing = 0;
        for (std::size_t i = 0; i < ours.size(); ++i)
            differing += ours.data()[i] != static_cast<std::uint8_t>(theirs[i]);
        CHECK(differing == 0);
    }
    // Lossless keeps the colour of half-transparent pixels: alpha is dropped, not blended.
    const auto lossless = tandem::image::load_image(dir / "lossless_alpha.webp");
    const auto px = pattern(4);
    CHECK(lossless(0, 6, 0) == px[6 * 4 + 0]);
    CHECK(lossless(4, 8, 2) == px[(4 * W + 8) * 4 + 2]);
}

TEST_CASE("WebP: corrupt files and decompression bombs are errors naming the file") {
    TempDir dir;
    std::string bytes = encode(true, 4);
    write_bytes(dir / "cut.webp", bytes.substr(0, bytes.size() / 2));
    CHECK(error_message([&] {
              tandem::image::load_image(dir / "cut.webp");
          }).rfind((dir / "cut.webp").string() + ": corrupt or truncated WebP", 0) == 0);
    write_bytes(dir / "ok.webp", bytes);
    tandem::image::DecodeOptions small;
    small.max_pixels = 100;
    CHECK(error_message([&] { tandem::image::load_image(dir / "ok.webp", small); }) ==
          (dir / "ok.webp").string() +
              ": 37x23 = 851 pixels exceeds the limit of 100 (possible decompression bomb; "
              "raise DecodeOptions::max_pixels to allow it)");
    write_bytes(dir / "header.webp", std::string("RIFF\x10\0\0\0WEBPVP8 ", 16));
    CHECK(error_message([&] {
              tandem::image::load_image(dir / "header.webp");
          }).find("corrupt or truncated WebP header") != std::string::npos);
}
