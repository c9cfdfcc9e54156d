#include <tandem/image/augment.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include "augment_fixtures.hpp"

namespace ti = tandem::image;

namespace {

ti::ImageU8 fixture_image() {
    ti::ImageU8 image({augment_fixtures::height, augment_fixtures::width, 3});
    std::copy(augment_fixtures::image.begin(), augment_fixtures::image.end(), image.begin());
    return image;
}

std::vector<std::uint8_t> as_vector(const ti::ImageU8& image) { return {image.begin(), image.end()}; }

int max_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
    REQUIRE(a.size() == b.size());
    int m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(int(a[i]) - int(b[i])));
    return m;
}

}  // namespace

TEST_CASE("colour adjustments match torchvision on PIL images") {
    const auto image = fixture_image();
    for (const auto& a : augment_fixtures::adjusted) {
        CAPTURE(std::string(a.what));
        CAPTURE(a.factor);
        const std::string what = a.what;
        const auto out = what == "brightness"   ? ti::adjust_brightness(image, a.factor)
                         : what == "contrast"   ? ti::adjust_contrast(image, a.factor)
                         : what == "saturation" ? ti::adjust_saturation(image, a.factor)
                                                : ti::adjust_hue(image, a.factor);
        CHECK(max_diff(as_vector(out), a.rgb) == 0);
    }
    CHECK_THROWS_AS(ti::adjust_hue(image, 0.7), tandem::Error);
}

TEST_CASE("hflip and resized crop match torchvision") {
    const auto image = fixture_image();
    CHECK(as_vector(ti::hflip(image)) == augment_fixtures::hflip);
    const auto cropped = ti::resize(ti::crop(image, 1, 2, 4, 5), 3, 8, ti::Resample::bilinear);
    CHECK(as_vector(cropped) == augment_fixtures::resized_crop);
}

TEST_CASE("RandomResizedCrop boxes stay inside the image with area and ratio in range") {
    const ti::RandomResizedCrop rrc;
    std::set<std::ptrdiff_t> tops;
    for (std::uint64_t index = 0; index < 500; ++index) {
        ti::AugmentRandom random(42, index);
        const auto box = rrc.get_params(480, 640, random);
        CHECK(box.top >= 0);
        CHECK(box.left >= 0);
        CHECK(std::size_t(box.top) + box.height <= 480);
        CHECK(std::size_t(box.left) + box.width <= 640);
        const double area = double(box.height * box.width) / (480.0 * 640.0);
        CHECK(area >= 0.08 * 0.9);
        CHECK(area <= 1.0);
        const double ratio = double(box.width) / double(box.height);
        CHECK(ratio >= 0.75 * 0.9);
        CHECK(ratio <= 4.0 / 3.0 * 1.1);
        tops.insert(box.top);
    }
    CHECK(tops.size() > 100);  // the boxes do vary
}

TEST_CASE("RandomResizedCrop falls back to a centre crop clamped to the ratio range") {
    ti::RandomResizedCrop rrc;
    rrc.scale = {1.0, 1.0};
    rrc.ratio = {2.0, 2.0};  // never fits a 100x100 image at full area
    ti::AugmentRandom random(1, 2);
    const auto box = rrc.get_params(100, 100, random);
    CHECK(box.width == 100);
    CHECK(box.height == 50);
    CHECK(box.top == 25);
    CHECK(box.left == 0);
}

TEST_CASE("TrainTransform is reproducible per (seed, index), whatever the thread schedule") {
    ti::TrainTransform t;
    t.random_resized_crop.height = t.random_resized_crop.width = 32;
    t.color_jitter = {0.4, 0.4, 0.4, 0.1};
    std::vector<ti::ImageU8> images;
    for (int k = 0; k < 6; ++k) {
        ti::ImageU8 image({40u + k, 50u, 3u});
        for (std::size_t i = 0; i < image.size(); ++i)
            image.data()[i] = static_cast<std::uint8_t>((i * 131 + k) % 256);
        images.push_back(image);
    }
    const std::vector<std::uint64_t> indices = {10, 11, 12, 13, 14, 15};
    const auto batch = t.batch(images, 7, indices);
    REQUIRE(batch.shape() == std::array<std::size_t, 4>{6, 3, 32, 32});
    for (std::size_t i = 0; i < images.size(); ++i) {
        CHECK(xt::view(batch, i) == t(images[i], 7, indices[i]));
    }
    CHECK(t.augment(images[0], 7, 10) == t.augment(images[0], 7, 10));
    CHECK(t.augment(images[0], 7, 10) != t.augment(images[0], 7, 11));
    CHECK(t.augment(images[0], 7, 10) != t.augment(images[0], 8, 10));
    CHECK_THROWS_AS(t.batch(images, 7, {1, 2}), tandem::Error);
}

TEST_CASE("horizontal flip happens about half the time") {
    ti::TrainTransform t;
    t.random_resized_crop.scale = {1.0, 1.0};
    t.random_resized_crop.ratio = {1.0, 1.0};
    t.random_resized_crop.height = t.random_resized_crop.width = 2;
    const ti::ImageU8 image = {{{0, 0, 0}, {255, 255, 255}}, {{0, 0, 0}, {255, 255, 255}}};
    int flipped = 0;
    for (std::uint64_t index = 0; index < 400; ++index) flipped += t.augment(image, 3, index)(0, 0, 0) == 255;
    CHECK(flipped > 150);
    CHECK(flipped < 250);
}
