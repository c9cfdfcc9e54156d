#include <tandem/image/normalize.hpp>

#include <doctest/doctest.h>

#include <cstdint>

namespace ti = tandem::image;

TEST_CASE("rescale in double, cast to float, normalise in float (HF's arithmetic)") {
    const ti::Normalization clip;
    for (int v : {0, 1, 77, 128, 254, 255}) {
        for (std::size_t c = 0; c < 3; ++c) {
            const float rescaled = static_cast<float>(static_cast<double>(v) * (1.0 / 255.0));
            const float expected = (rescaled - clip.image_mean[c]) / clip.image_std[c];
            CHECK(clip.apply(c, static_cast<std::uint8_t>(v)) == expected);
        }
    }
    ti::Normalization raw;
    raw.do_rescale = false;
    raw.do_normalize = false;
    CHECK(raw.apply(0, 200) == 200.0f);
}

TEST_CASE("to_pixel_values lays out CHW") {
    const ti::ImageU8 image = {{{0, 51, 102}, {153, 204, 255}}};  // 1 x 2 pixels
    ti::Normalization n;
    n.image_mean = {0.5f, 0.5f, 0.5f};
    n.image_std = {0.5f, 0.5f, 0.5f};
    const auto out = ti::to_pixel_values(image, n);
    REQUIRE(out.shape() == std::array<std::size_t, 3>{3, 1, 2});
    CHECK(out(0, 0, 0) == -1.0f);
    CHECK(out(0, 0, 1) == doctest::Approx(0.2f));
    CHECK(out(1, 0, 0) == doctest::Approx(-0.6f));
    CHECK(out(2, 0, 1) == 1.0f);
    CHECK_THROWS_AS(ti::to_pixel_values(ti::ImageU8(xt::zeros<std::uint8_t>({1, 1, 1})), n), tandem::Error);
}
