// Image files and preprocessor configs written by an attacker: each finding of the
// first fuzzing probe, with its input made here, fails as one tandem::Error naming
// the file, the key or field and the bad value, before anything is sized by it.
#include <tandem/image/decode.hpp>
#include <tandem/image/processor.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "decode_fixtures.hpp"

namespace ti = tandem::image;

namespace {

template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const tandem::Error& e) {
        return e.what();
    }
    return "no error";
}

std::string decode_error(const std::vector<std::uint8_t>& bytes) {
    return error_of([&] { (void)ti::decode_image(bytes, "x.img"); });
}

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

void put_le32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// A 24-bit BITMAPINFOHEADER BMP of the given header sizes and one pixel of data.
std::vector<std::uint8_t> bmp(std::int32_t width, std::int32_t height) {
    std::vector<std::uint8_t> b(58, 0);
    b[0] = 'B', b[1] = 'M';
    put_le32(b, 2, 58);
    put_le32(b, 10, 54);
    put_le32(b, 14, 40);
    put_le32(b, 18, static_cast<std::uint32_t>(width));
    put_le32(b, 22, static_cast<std::uint32_t>(height));
    b[26] = 1, b[28] = 24;
    return b;
}

}  // namespace

TEST_CASE("a libjpeg error after the pixels are allocated fails cleanly (no longjmp over destructors)") {
    const auto& f = *std::find_if(fixtures::all().begin(), fixtures::all().end(),
                                  [](const auto& x) { return std::string(x.name) == "jpeg_420"; });
    // A second start-of-scan in a single-scan JPEG: libjpeg raises its fatal
    // JERR_EOI_EXPECTED while finishing, after the image and row buffers exist. Its
    // longjmp used to skip their destructors (a leak under ASan, undefined behaviour).
    std::vector<std::uint8_t> b = f.bytes;
    std::size_t sos = 0;
    for (std::size_t i = 2; i + 3 < b.size(); ++i)
        if (b[i] == 0xFF && b[i + 1] == 0xDA) sos = i;
    REQUIRE(sos > 0);
    const std::size_t length = (std::size_t{b[sos + 2]} << 8) | b[sos + 3];
    const std::vector<std::uint8_t> segment(b.begin() + sos, b.begin() + sos + 2 + length);
    REQUIRE(b[b.size() - 2] == 0xFF);
    REQUIRE(b[b.size() - 1] == 0xD9);
    b.insert(b.end() - 2, segment.begin(), segment.end());
    CHECK(decode_error(b) == "x.img: corrupt or truncated JPEG (libjpeg: Didn't expect more than one scan)");
    // The same decoder still reads the intact file.
    CHECK(ti::decode_image(f.bytes, "ok.jpg").shape()[0] == f.height);
}

TEST_CASE("image sizes a header cannot mean are reported as the header states them") {
    // stb_image took abs(INT_MIN) and reported 18446744071562067968 pixels.
    CHECK(decode_error(bmp(1, INT_MIN)) ==
          "x.img: corrupt image header: width 1, height -2147483648 (expected sizes from 1 to 2147483647)");
    CHECK(decode_error(bmp(-5, 1)) ==
          "x.img: corrupt image header: width -5, height 1 (expected sizes from 1 to 2147483647)");
    CHECK(decode_error(bmp(1, 0)) == "x.img: zero-size image (1x0 pixels)");
    // stb_image's decimal parser wrapped 2^32 to 0 and reported a zero-size image.
    CHECK(decode_error(bytes_of("P6\n4294967296 1\n255\nabc")) ==
          "x.img: corrupt image header: width 4294967296, height 1 (expected sizes from 1 to 2147483647)");
    CHECK(decode_error(bytes_of("P5 # a comment\n3 99999999999999999999\n255\n")) ==
          "x.img: corrupt image header: width 3, height 1099511627776 (expected sizes from 1 to 2147483647)");
    // A top-down BMP (negative height) is valid.
    auto top_down = bmp(1, -1);
    top_down[54] = 10, top_down[55] = 20, top_down[56] = 30;
    const auto image = ti::decode_image(top_down, "t.bmp");
    CHECK(std::vector<std::uint8_t>(image.begin(), image.end()) == std::vector<std::uint8_t>{30, 20, 10});
}

TEST_CASE("preprocessor sizes are limited before anything is allocated") {
    const auto config_error = [](const std::string& text) {
        return error_of([&] { (void)ti::ImageProcessor::from_json(nlohmann::json::parse(text), "pp.json"); });
    };
    // Would have cropped to 100000 x 100000 (120 GB of float pixels).
    CHECK(config_error(R"({"image_processor_type": "CLIPImageProcessor", "crop_size": 100000})") ==
          "pp.json: key 'crop_size': expected an integer from 1 to 8192 (tandem's limit on processor sizes), "
          "found 100000");
    CHECK(config_error(R"({"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 1e5}})") ==
          "pp.json: key 'size.shortest_edge': expected an integer, found number 100000.0");
    CHECK(config_error(R"({"image_processor_type": "CLIPImageProcessor", "image_std": [0.5, 0, 0.5]})") ==
          "pp.json: key 'image_std[1]': expected a non-zero standard deviation, found 0");
    CHECK(config_error(R"({"image_processor_type": "CLIPImageProcessor", "resample": 2.5})") ==
          "pp.json: key 'resample': expected an integer, found number 2.5");

    // A thin image resized to a shortest edge can still ask for more pixels than it has.
    auto p = ti::ImageProcessor::clip();
    p.do_center_crop = false;
    p.shortest_edge = 8192;
    const ti::ImageU8 thin({1, 20000, 3});
    CHECK(
        error_of([&] { (void)p.resize_and_crop(thin); }) ==
        "ImageProcessor: resizing a 1x20000 image to 8192x163840000 = 1342177280000 pixels exceeds the limit "
        "of 89478485");
}
