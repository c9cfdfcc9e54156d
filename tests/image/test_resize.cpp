#include <tandem/image/resize.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "resize_fixtures.hpp"

namespace ti = tandem::image;

namespace {

// PIL's resampling written out directly in double from its description (data README
// §3): per output index, centre (i + 0.5) * scale, support widened by max(scale, 1),
// taps in [int(c - s + 0.5), int(c + s + 0.5)) clipped to the input, weights
// k((x - c + 0.5) / fscale) normalised to sum 1; each pass rounds to uint8.
double keys(double x) {
    x = std::abs(x);
    const double a = -0.5;
    if (x < 1) return (a + 2) * x * x * x - (a + 3) * x * x + 1;
    if (x < 2) return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
    return 0;
}
double triangle(double x) { return std::max(0.0, 1 - std::abs(x)); }

std::vector<double> resample_1d(const std::vector<double>& in, int out_size, bool bicubic) {
    const int n = static_cast<int>(in.size());
    const double scale = double(n) / out_size, fscale = std::max(scale, 1.0);
    const double support = (bicubic ? 2.0 : 1.0) * fscale;
    std::vector<double> out(out_size);
    for (int i = 0; i < out_size; ++i) {
        const double c = (i + 0.5) * scale;
        const int lo = std::max(0, int(c - support + 0.5)), hi = std::min(n, int(c + support + 0.5));
        double sum = 0, total = 0;
        for (int x = lo; x < hi; ++x) {
            const double w = bicubic ? keys((x - c + 0.5) / fscale) : triangle((x - c + 0.5) / fscale);
            sum += w * in[x];
            total += w;
        }
        out[i] = std::clamp(std::floor(sum / total + 0.5), 0.0, 255.0);
    }
    return out;
}

// Single channel H x W, horizontal pass then vertical, as PIL.
std::vector<std::vector<double>> reference_resize(const std::vector<std::vector<double>>& in, int oh, int ow,
                                                  bool bicubic) {
    const int h = static_cast<int>(in.size());
    std::vector<std::vector<double>> mid(h);
    for (int y = 0; y < h; ++y) mid[y] = int(in[y].size()) == ow ? in[y] : resample_1d(in[y], ow, bicubic);
    std::vector<std::vector<double>> out(oh, std::vector<double>(ow));
    for (int x = 0; x < ow; ++x) {
        std::vector<double> column(h);
        for (int y = 0; y < h; ++y) column[y] = mid[y][x];
        const auto r = h == oh ? column : resample_1d(column, oh, bicubic);
        for (int y = 0; y < oh; ++y) out[y][x] = r[y];
    }
    return out;
}

ti::ImageU8 gray(const std::vector<std::vector<double>>& v) {
    ti::ImageU8 image({v.size(), v[0].size(), 1});
    for (std::size_t y = 0; y < v.size(); ++y) {
        for (std::size_t x = 0; x < v[0].size(); ++x) image(y, x, 0) = static_cast<std::uint8_t>(v[y][x]);
    }
    return image;
}

void check_against_reference(const std::vector<std::vector<double>>& in, int oh, int ow, ti::Resample r) {
    const auto expected = reference_resize(in, oh, ow, r == ti::Resample::bicubic);
    const auto got = ti::resize(gray(in), oh, ow, r);
    REQUIRE(got.shape()[0] == std::size_t(oh));
    REQUIRE(got.shape()[1] == std::size_t(ow));
    for (int y = 0; y < oh; ++y) {
        for (int x = 0; x < ow; ++x) {
            CAPTURE(y);
            CAPTURE(x);
            // 22-bit fixed point against double: equal but for rounding ties.
            CHECK(std::abs(got(y, x, 0) - expected[y][x]) <= 1);
        }
    }
}

std::vector<std::vector<double>> pattern(int h, int w) {
    std::vector<std::vector<double>> v(h, std::vector<double>(w));
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) v[y][x] = (37 * x + 91 * y + 13 * x * y) % 256;
    }
    return v;
}

}  // namespace

TEST_CASE("bilinear 2 -> 4 worked by hand") {
    // Centres 0.25, 0.75, 1.25, 1.75; weights (1, 0), (.75, .25), (.25, .75), (0, 1).
    const ti::ImageU8 row = {{{0}, {100}}};
    const auto out = ti::resize(row, 1, 4, ti::Resample::bilinear);
    CHECK(std::vector<int>(out.begin(), out.end()) == std::vector<int>{0, 25, 75, 100});
}

TEST_CASE("bicubic (a = -0.5) 2 -> 4 worked by hand") {
    // Output 1: k(0.25) = 0.8671875 on 0, k(0.75) = 0.2265625 on 100 -> 100 * 0.2265625 / 1.09375 = 20.71.
    // Output 0: k(0.25) on 0, k(1.25) = -0.0703125 on 100 -> -8.8, clamped to 0; outputs 2, 3 mirror.
    const ti::ImageU8 row = {{{0}, {100}}};
    const auto out = ti::resize(row, 1, 4, ti::Resample::bicubic);
    CHECK(std::vector<int>(out.begin(), out.end()) == std::vector<int>{0, 21, 79, 109});
}

TEST_CASE("nearest follows PIL's sampling positions") {
    // 3 -> 5: positions 0.3, 0.9, 1.5, 2.1, 2.7; 5 -> 2: positions 1.25, 3.75.
    const ti::ImageU8 row3 = {{{10}, {20}, {30}}};
    const auto up = ti::resize(row3, 1, 5, ti::Resample::nearest);
    CHECK(std::vector<int>(up.begin(), up.end()) == std::vector<int>{10, 10, 20, 30, 30});
    const ti::ImageU8 row5 = {{{1}, {2}, {3}, {4}, {5}}};
    const auto down = ti::resize(row5, 1, 2, ti::Resample::nearest);
    CHECK(std::vector<int>(down.begin(), down.end()) == std::vector<int>{2, 4});
}

TEST_CASE("resize agrees with PIL's formula computed in double") {
    for (auto r : {ti::Resample::bicubic, ti::Resample::bilinear}) {
        CAPTURE(ti::resample_name(r));
        check_against_reference(pattern(2, 3), 4, 5, r);     // 3x2 -> 5x4, up-scaling
        check_against_reference(pattern(5, 7), 2, 3, r);     // down-scaling, widened support
        check_against_reference(pattern(9, 17), 4, 23, r);   // down one axis, up the other
        check_against_reference(pattern(6, 6), 6, 2, r);     // one pass skipped
        check_against_reference(pattern(31, 40), 7, 11, r);  // strong anti-aliasing
    }
}

TEST_CASE("channels are filtered independently") {
    ti::ImageU8 rgb({2, 3, 3});
    for (std::size_t i = 0; i < rgb.size(); ++i) rgb.data()[i] = static_cast<std::uint8_t>(i * 13 % 256);
    const auto out = ti::resize(rgb, 4, 5);
    for (std::size_t c = 0; c < 3; ++c) {
        ti::ImageU8 plane({2, 3, 1});
        for (std::size_t y = 0; y < 2; ++y) {
            for (std::size_t x = 0; x < 3; ++x) plane(y, x, 0) = rgb(y, x, c);
        }
        const auto single = ti::resize(plane, 4, 5);
        for (std::size_t y = 0; y < 4; ++y) {
            for (std::size_t x = 0; x < 5; ++x) CHECK(out(y, x, c) == single(y, x, 0));
        }
    }
}

TEST_CASE("resize_window equals resize followed by a crop") {
    ti::ImageU8 rgb({37, 53, 3});
    for (std::size_t i = 0; i < rgb.size(); ++i) rgb.data()[i] = static_cast<std::uint8_t>((i * 7919) % 251);
    for (auto r : {ti::Resample::bicubic, ti::Resample::bilinear, ti::Resample::nearest}) {
        const auto full = ti::resize(rgb, 20, 31, r);
        const auto window = ti::resize_window(rgb, 20, 31, r, 3, 5, 14, 22);
        for (std::size_t y = 0; y < 14; ++y) {
            for (std::size_t x = 0; x < 22; ++x) {
                for (std::size_t c = 0; c < 3; ++c) CHECK(window(y, x, c) == full(y + 3, x + 5, c));
            }
        }
    }
    CHECK_THROWS_AS(ti::resize_window(rgb, 20, 31, ti::Resample::bicubic, 10, 0, 14, 22), tandem::Error);
}

TEST_CASE("shortest_edge_size floors the long side as HF does") {
    CHECK(ti::shortest_edge_size(400, 600, 224) == std::array<std::size_t, 2>{224, 336});
    CHECK(ti::shortest_edge_size(9, 17, 224) == std::array<std::size_t, 2>{224, 423});
    CHECK(ti::shortest_edge_size(427, 640, 224) == std::array<std::size_t, 2>{224, 335});
    CHECK(ti::shortest_edge_size(40, 640, 224) == std::array<std::size_t, 2>{224, 3584});
    CHECK(ti::shortest_edge_size(600, 400, 224) == std::array<std::size_t, 2>{336, 224});
    CHECK(ti::shortest_edge_size(512, 512, 224) == std::array<std::size_t, 2>{224, 224});
}

TEST_CASE("resize rejects empty images and sizes") {
    CHECK_THROWS_AS(ti::resize(ti::ImageU8(xt::zeros<std::uint8_t>({0, 3, 3})), 4, 4), tandem::Error);
    CHECK_THROWS_AS(ti::resize(ti::ImageU8(xt::zeros<std::uint8_t>({3, 3, 3})), 0, 4), tandem::Error);
}

TEST_CASE("every PIL filter gives PIL's pixels") {
    ti::ImageU8 image({resize_fixtures::height, resize_fixtures::width, 3});
    std::copy(resize_fixtures::image.begin(), resize_fixtures::image.end(), image.begin());
    for (const auto& r : resize_fixtures::resized) {
        const auto filter = static_cast<ti::Resample>(r.pil_filter);
        CAPTURE(std::string(ti::resample_name(filter)));
        CAPTURE(r.height);
        CAPTURE(r.width);
        const auto out = ti::resize(image, r.height, r.width, filter);
        CHECK(std::vector<std::uint8_t>(out.begin(), out.end()) == r.rgb);
    }
}
