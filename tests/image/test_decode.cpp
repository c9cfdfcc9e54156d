#include <tandem/image/decode.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "decode_fixtures.hpp"
#include "temp_dir.hpp"

using tandem::testing::TempDir;

namespace ti = tandem::image;

namespace {

std::vector<std::uint8_t> as_vector(const ti::ImageU8& image) { return {image.begin(), image.end()}; }

const fixtures::Fixture& fixture(const std::string& name) {
    for (const auto& f : fixtures::all()) {
        if (name == f.name) return f;
    }
    FAIL("no fixture " << name);
    throw;
}

// The message of the tandem::Error that `f` throws.
template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const tandem::Error& e) {
        return e.what();
    }
    FAIL("expected a tandem::Error");
    return {};
}

void put_be32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

}  // namespace

TEST_CASE("decode_image gives what PIL's convert(\"RGB\") gives, for every format and mode") {
    for (const auto& f : fixtures::all()) {
        CAPTURE(f.name);
        CAPTURE(f.pil_mode);
        const auto image = ti::decode_image(f.bytes, f.name);
        REQUIRE(image.shape()[0] == f.height);
        REQUIRE(image.shape()[1] == f.width);
        REQUIRE(image.shape()[2] == 3);
        CHECK(as_vector(image) == f.rgb);
    }
}

TEST_CASE("load_image reads a file") {
    TempDir dir("decode");
    const auto& f = fixture("png_rgba");
    const auto image = ti::load_image(dir.write("a.png", f.bytes));
    CHECK(as_vector(image) == f.rgb);
}

TEST_CASE("16-bit grey: clamped like PIL's mode I, or scaled on request") {
    const auto& f = fixture("png_gray16");  // values 17, 4017, 8017, ... (big-endian in the file)
    const auto clamped = ti::decode_image(f.bytes);
    CHECK(clamped(0, 0, 0) == 17);
    CHECK(clamped(0, 1, 0) == 255);
    ti::DecodeOptions options;
    options.scale_16bit = true;
    const auto scaled = ti::decode_image(f.bytes, "gray16", options);
    CHECK(scaled(0, 0, 0) == 0);          // 17 >> 8
    CHECK(scaled(0, 1, 1) == 4017 >> 8);  // 15
    CHECK(scaled(2, 4, 2) == (14 * 4000 + 17) >> 8);
}

TEST_CASE("convert_rgb drops alpha and replicates grey") {
    ti::ImageU8 la = {{{10, 200}, {20, 0}}};
    const auto rgb = ti::convert_rgb(la);
    CHECK(as_vector(rgb) == std::vector<std::uint8_t>{10, 10, 10, 20, 20, 20});
    ti::ImageU8 rgba = {{{1, 2, 3, 0}}};
    CHECK(as_vector(ti::convert_rgb(rgba)) == std::vector<std::uint8_t>{1, 2, 3});
    ti::ImageU8 five = xt::zeros<std::uint8_t>({1, 1, 5});
    CHECK_THROWS_AS(ti::convert_rgb(five), tandem::Error);
}

TEST_CASE("bad input gives a tandem::Error naming the file and the reason") {
    TempDir dir("decode_bad");
    const auto path_text = [&](const std::string& name) { return (dir / name).string(); };

    SUBCASE("missing file") {
        const auto msg = error_of([&] { ti::load_image(dir / "missing.png"); });
        CHECK(msg.find(path_text("missing.png")) != std::string::npos);
        CHECK(msg.find("cannot open") != std::string::npos);
    }
    SUBCASE("empty file") {
        const auto file = dir.write("empty.png", {});
        const auto msg = error_of([&] { ti::load_image(file); });
        CHECK(msg.find(file.string()) != std::string::npos);
        CHECK(msg.find("empty") != std::string::npos);
    }
    SUBCASE("not an image") {
        std::mt19937 gen(7);
        std::vector<std::uint8_t> noise(1000);
        for (auto& b : noise) b = static_cast<std::uint8_t>(gen());
        noise[0] = 'x';  // no accidental magic number
        const auto file = dir.write("noise.jpg", noise);
        const auto msg = error_of([&] { ti::load_image(file); });
        CHECK(msg.find(file.string()) != std::string::npos);
        CHECK(msg.find("not a recognised image") != std::string::npos);
        const auto text = dir.write("notes.png", {'h', 'e', 'l', 'l', 'o', '\n'});
        CHECK(error_of([&] { ti::load_image(text); }).find("not a recognised image") != std::string::npos);
    }
    SUBCASE("truncated PNG") {
        auto bytes = fixture("png_rgb").bytes;
        bytes.resize(bytes.size() / 2);
        const auto file = dir.write("truncated.png", bytes);
        const auto msg = error_of([&] { ti::load_image(file); });
        CHECK(msg.find(file.string()) != std::string::npos);
        CHECK(msg.find("corrupt or truncated") != std::string::npos);
        bytes.resize(20);  // cut inside the IHDR chunk
        const auto header = dir.write("header.png", bytes);
        CHECK(error_of([&] { ti::load_image(header); }).find("corrupt or truncated PNG") !=
              std::string::npos);
    }
    SUBCASE("corrupt PNG data") {
        auto bytes = fixture("png_rgb").bytes;
        for (std::size_t i = 41; i < bytes.size() - 16; ++i) bytes[i] ^= 0x5A;  // inside IDAT
        const auto file = dir.write("corrupt.png", bytes);
        const auto msg = error_of([&] { ti::load_image(file); });
        CHECK(msg.find(file.string()) != std::string::npos);
        CHECK(msg.find("corrupt") != std::string::npos);
    }
    SUBCASE("truncated JPEG") {
        auto bytes = fixture("jpeg_420").bytes;
        bytes.resize(bytes.size() * 2 / 3);
        const auto file = dir.write("truncated.jpg", bytes);
        const auto msg = error_of([&] { ti::load_image(file); });
        CHECK(msg.find(file.string()) != std::string::npos);
        CHECK(msg.find("truncated") != std::string::npos);
        bytes.resize(40);  // inside the quantisation tables
        const auto header = dir.write("header.jpg", bytes);
        CHECK(error_of([&] { ti::load_image(header); }).find("corrupt or truncated JPEG") !=
              std::string::npos);
    }
    SUBCASE("zero-size images") {
        auto png = fixture("png_rgb").bytes;
        put_be32(png, 16, 0);  // IHDR width
        const auto file = dir.write("zero.png", png);
        const auto msg = error_of([&] { ti::load_image(file); });
        CHECK(msg.find(file.string()) != std::string::npos);
        CHECK(msg.find("zero-size") != std::string::npos);
        const std::string pgm = "P5\n0 0\n255\n";
        const auto pnm = dir.write("zero.pgm", {pgm.begin(), pgm.end()});
        CHECK(error_of([&] { ti::load_image(pnm); }).find(pnm.string()) != std::string::npos);
        CHECK_THROWS_AS(ti::convert_rgb(ti::ImageU8(xt::zeros<std::uint8_t>({2, 2, 0}))), tandem::Error);
    }
    SUBCASE("decompression bombs are refused from the header") {
        auto png = fixture("png_rgb").bytes;
        put_be32(png, 16, 20000);
        put_be32(png, 20, 20000);
        const auto file = dir.write("bomb.png", png);
        const auto msg = error_of([&] { ti::load_image(file); });
        CHECK(msg.find(file.string()) != std::string::npos);
        CHECK(msg.find("20000x20000") != std::string::npos);
        CHECK(msg.find("89478485") != std::string::npos);
        CHECK(msg.find("decompression bomb") != std::string::npos);

        // The same limit for JPEG (SOF dimensions) and for the other formats (stb_image's header).
        ti::DecodeOptions small;
        small.max_pixels = 100;
        const auto jpeg = error_of([&] { ti::decode_image(fixture("jpeg_420").bytes, "j.jpg", small); });
        CHECK(jpeg.find("16x24") == std::string::npos);  // width x height order
        CHECK(jpeg.find("24x16 = 384 pixels exceeds the limit of 100") != std::string::npos);
        const auto bmp =
            error_of([&] { ti::decode_image(fixture("bmp_rgb").bytes, "b.bmp", {.max_pixels = 10}); });
        CHECK(bmp.find("b.bmp: 5x3 = 15 pixels exceeds the limit of 10") != std::string::npos);
        ti::DecodeOptions unlimited;
        unlimited.max_pixels = 0;
        CHECK(ti::decode_image(fixture("bmp_rgb").bytes, "b.bmp", unlimited).size() == 45);
    }
}
