#include "../../tools/commands/preprocess.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xnpy.hpp>
#include <xtensor/xview.hpp>

#include "temp_dir.hpp"
#include "test_data.hpp"

using tandem::testing::TempDir;

namespace {

int run(const std::string& config, const std::filesystem::path& out,
        std::vector<std::filesystem::path> images) {
    tandem::cli::PreprocessOptions o;
    o.config = config;
    o.out = out;
    o.images = std::move(images);
    return tandem::cli::preprocess_run(o);
}

}  // namespace

TEST_CASE("tandem preprocess writes [N, 3, H, W] float32 .npy in the order given") {
    auto config = tandem::testing::test_data("images/configs/siglip_bicubic_preprocessor_config.json");
    auto reference = tandem::testing::test_data("images/reference/coffee.siglip_bicubic.npy");
    if (!config || !reference) return;
    const auto images = reference->parent_path().parent_path();
    TempDir dir("preprocess_command");
    const auto out = dir / "pixel_values.npy";
    CHECK(run(config->string(), out, {images / "camera_gray.png", images / "coffee.png"}) == 0);
    const auto values = xt::load_npy<float>(out.string());
    REQUIRE(values.shape() == std::vector<std::size_t>{2, 3, 224, 224});
    CHECK(xt::view(values, 0) ==
          xt::load_npy<float>((reference->parent_path() / "camera_gray.siglip_bicubic.npy").string()));
    CHECK(xt::view(values, 1) == xt::load_npy<float>(reference->string()));

    // A failure leaves no file behind, under the final name or a temporary one.
    CHECK_THROWS_WITH_AS(run(config->string(), dir / "bad.npy", {images / "coffee.png", dir / "missing.jpg"}),
                         doctest::Contains("missing.jpg"), tandem::Error);
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
}
