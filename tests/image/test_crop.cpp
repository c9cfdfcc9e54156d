#include <tandem/image/crop.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

namespace ti = tandem::image;

namespace {

ti::ImageU8 numbered(std::size_t h, std::size_t w) {
    ti::ImageU8 image({h, w, 1});
    for (std::size_t i = 0; i < image.size(); ++i) image.data()[i] = static_cast<std::uint8_t>(i + 1);
    return image;
}

std::vector<int> values(const ti::ImageU8& image) { return {image.begin(), image.end()}; }

}  // namespace

TEST_CASE("centre crop offsets: HF floors, torchvision rounds half to even") {
    using R = ti::CropRounding;
    // Margins from the reference images: coffee_tiny_17x9 (423 wide -> 224) and rocket (335 -> 224).
    CHECK(ti::center_crop_offset(423, 224, R::floor) == 99);
    CHECK(ti::center_crop_offset(423, 224, R::round) == 100);
    CHECK(ti::center_crop_offset(335, 224, R::floor) == 55);
    CHECK(ti::center_crop_offset(335, 224, R::round) == 56);
    // Python's round(0.5) == 0 and round(2.5) == 2: even margins and halves toward even agree.
    CHECK(ti::center_crop_offset(5, 4, R::round) == 0);
    CHECK(ti::center_crop_offset(9, 4, R::round) == 2);
    CHECK(ti::center_crop_offset(7, 4, R::round) == 2);  // round(1.5)
    CHECK(ti::center_crop_offset(7, 4, R::floor) == 1);
    CHECK(ti::center_crop_offset(336, 224, R::floor) == 56);
    CHECK(ti::center_crop_offset(336, 224, R::round) == 56);
    // Smaller than the crop: HF pads ceil((crop - in) / 2) before, torchvision floor.
    CHECK(ti::center_crop_offset(3, 8, R::floor) == -3);
    CHECK(ti::center_crop_offset(3, 8, R::round) == -2);
    CHECK(ti::center_crop_offset(4, 8, R::floor) == -2);
    CHECK(ti::center_crop_offset(4, 8, R::round) == -2);
}

TEST_CASE("centre crop of a 3x2 image to 2x1 and padding to 5x4") {
    const auto image = numbered(2, 3);  // 1 2 3 / 4 5 6
    CHECK(values(ti::center_crop(image, 1, 2, ti::CropRounding::floor)) == std::vector<int>{1, 2});
    CHECK(values(ti::center_crop(image, 1, 2, ti::CropRounding::round)) == std::vector<int>{1, 2});
    // HF: 2 rows of padding above (ceil(3/2)), 1 column left (ceil(2/2)).
    CHECK(values(ti::center_crop(image, 5, 5, ti::CropRounding::floor)) ==
          std::vector<int>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0});
    // torchvision: 1 row above (3 // 2), 1 column left.
    CHECK(values(ti::center_crop(image, 5, 5, ti::CropRounding::round)) ==
          std::vector<int>{0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    // Taller and narrower at once: pad rows, crop columns (margin 1: floor and round(0.5) both give 0).
    CHECK(values(ti::center_crop(image, 4, 2, ti::CropRounding::floor)) ==
          std::vector<int>{0, 0, 1, 2, 4, 5, 0, 0});
    CHECK(values(ti::center_crop(image, 4, 2, ti::CropRounding::round)) ==
          std::vector<int>{0, 0, 1, 2, 4, 5, 0, 0});
}

TEST_CASE("crop pads outside the image with zeros") {
    const auto image = numbered(2, 3);
    CHECK(values(ti::crop(image, -1, 1, 2, 3)) == std::vector<int>{0, 0, 0, 2, 3, 0});
    CHECK(values(ti::crop(image, 5, 5, 1, 2)) == std::vector<int>{0, 0});
    CHECK(values(ti::crop(image, 0, 0, 2, 3)) == values(image));
}
