#include <tandem/image/processor.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xview.hpp>

#include "temp_dir.hpp"
#include "test_data.hpp"

namespace ti = tandem::image;
using tandem::testing::TempDir;
using tandem::testing::test_data;

namespace {

struct Variant {
    const char* suffix;  // reference file suffix
    const char* config;  // file under images/configs/
};

const Variant variants[] = {
    {"clip", "clip_preprocessor_config.json"},
    {"clip", "clip_preprocessor_config_v2.json"},
    {"siglip_bilinear", "siglip_bilinear_preprocessor_config.json"},
    {"siglip_bicubic", "siglip_bicubic_preprocessor_config.json"},
};

template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    auto ia = a.begin();
    for (auto ib = b.begin(); ib != b.end(); ++ia, ++ib) m = std::max(m, std::abs(double(*ia) - double(*ib)));
    return m;
}

}  // namespace

TEST_CASE("ImageProcessor matches the PIL / Hugging Face references") {
    auto metadata_path = test_data("images/reference/metadata.json");
    if (!metadata_path) return;
    std::ifstream in(*metadata_path);
    const auto metadata = nlohmann::json::parse(in);
    int compared = 0;
    for (const auto& entry : metadata) {
        const std::string name = entry["name"];
        const auto dir = metadata_path->parent_path();
        if (!std::filesystem::exists(dir / (name + ".clip_u8.npy"))) continue;  // held-back reference
        auto image_path = test_data("images/" + entry["file"].get<std::string>());
        if (!image_path) continue;
        const auto image = ti::load_image(*image_path);
        CHECK(image.shape()[0] == entry["height"].get<std::size_t>());
        CHECK(image.shape()[1] == entry["width"].get<std::size_t>());
        for (const auto& v : variants) {
            auto config = test_data(std::string("images/configs/") + v.config);
            if (!config) continue;
            const auto processor = ti::ImageProcessor::from_file(*config);
            const auto u8_ref =
                xt::load_npy<std::uint8_t>((dir / (name + "." + v.suffix + "_u8.npy")).string());
            const auto f_ref = xt::load_npy<float>((dir / (name + "." + v.suffix + ".npy")).string());
            const auto u8 = processor.resize_and_crop(image);
            const auto f = processor.preprocess(image);
            REQUIRE(u8.shape()[0] == u8_ref.shape()[0]);
            REQUIRE(u8.shape()[1] == u8_ref.shape()[1]);
            REQUIRE(f.shape()[0] == f_ref.shape()[0]);
            const double d8 = max_abs_diff(u8, u8_ref), df = max_abs_diff(f, f_ref);
            const float min_std = *std::min_element(processor.normalization.image_std.begin(),
                                                    processor.normalization.image_std.end());
            MESSAGE(name << " " << std::string(v.config) << ": max |u8 diff| " << d8
                         << ", max |normalised diff| " << df);
            CHECK(d8 <= 1.0);
            CHECK(df <= 1.0 / 255.0 / min_std);
            ++compared;
        }
    }
    CHECK(compared > 0);
}

TEST_CASE("old and new CLIP config keys give the same processor") {
    const auto old_style = ti::ImageProcessor::from_json(
        nlohmann::json::parse(
            R"({"feature_extractor_type": "CLIPFeatureExtractor", "size": 224, "crop_size": 224,
                                 "resample": 3, "do_center_crop": true})"),
        "old.json");
    const auto new_style = ti::ImageProcessor::from_json(
        nlohmann::json::parse(
            R"({"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 224},
                                 "crop_size": {"height": 224, "width": 224}})"),
        "new.json");
    for (const auto* p : {&old_style, &new_style}) {
        CHECK(p->shortest_edge == 224);
        CHECK(p->size_height == 0);
        CHECK(p->crop_height == 224);
        CHECK(p->crop_width == 224);
        CHECK(p->resample == ti::Resample::bicubic);
        CHECK(p->normalization.image_std[2] == 0.27577711f);
    }
    const auto siglip = ti::ImageProcessor::from_json(
        nlohmann::json::parse(
            R"({"image_processor_type": "SiglipImageProcessor", "size": 384, "resample": 2})"),
        "s.json");
    CHECK(siglip.size_height == 384);
    CHECK(siglip.size_width == 384);
    CHECK(!siglip.do_center_crop);
    CHECK(siglip.resample == ti::Resample::bilinear);
    CHECK(siglip.normalization.image_mean[0] == 0.5f);
}

TEST_CASE("bad preprocessor configs name the file and the key") {
    auto error_of = [](const char* text) {
        try {
            ti::ImageProcessor::from_json(nlohmann::json::parse(text), "cfg/preprocessor_config.json");
        } catch (const tandem::Error& e) {
            return std::string(e.what());
        }
        FAIL("expected a tandem::Error for " << text);
        return std::string();
    };
    auto has = [](const std::string& msg, const char* part) {
        CAPTURE(msg);
        CHECK(msg.find("cfg/preprocessor_config.json") != std::string::npos);
        CHECK(msg.find(part) != std::string::npos);
    };
    has(error_of(R"({"size": 224})"), "'image_processor_type': missing");
    has(error_of(R"({"image_processor_type": "ViTImageProcessor"})"), "ViTImageProcessor");
    has(error_of(R"({"image_processor_type": "CLIPImageProcessor", "size": "224"})"), "'size': expected");
    has(error_of(R"({"image_processor_type": "CLIPImageProcessor", "size": -3})"),
        "'size': expected an integer from 1 to 8192 (tandem's limit on processor sizes), found -3");
    has(error_of(R"({"image_processor_type": "CLIPImageProcessor", "crop_size": {"height": 224}})"),
        "'crop_size.width': missing");
    has(error_of(R"({"image_processor_type": "SiglipImageProcessor", "size": {"height": 1.5, "width": 2}})"),
        "'size.height': expected an integer, found number 1.5");
    has(error_of(R"({"image_processor_type": "CLIPImageProcessor", "resample": 7})"), "'resample'");
    has(error_of(R"({"image_processor_type": "CLIPImageProcessor", "do_resize": "yes"})"), "'do_resize'");
    has(error_of(R"({"image_processor_type": "CLIPImageProcessor", "image_mean": [0.5, 0.5]})"),
        "'image_mean'");
    has(error_of(R"({"image_processor_type": "CLIPImageProcessor", "image_std": [0.5, "x", 0.5]})"),
        "'image_std[1]'");
    has(error_of(
            R"({"image_processor_type": "CLIPImageProcessor", "rescale_factor": null, "do_rescale": 1})"),
        "'do_rescale'");

    TempDir dir("processor_cfg");
    CHECK_THROWS_WITH_AS(ti::ImageProcessor::from_file(dir / "missing.json"),
                         doctest::Contains("missing.json: cannot open"), tandem::Error);
    const std::string broken = "{\"size\": ";
    const auto file = dir.write("broken.json", {broken.begin(), broken.end()});
    CHECK_THROWS_WITH_AS(ti::ImageProcessor::from_file(file),
                         doctest::Contains("broken.json: not valid JSON"), tandem::Error);
}

TEST_CASE("torchvision rounding shifts the crop by one pixel when the margin is odd") {
    auto image = ti::ImageU8({9, 17, 3});
    for (std::size_t i = 0; i < image.size(); ++i) image.data()[i] = static_cast<std::uint8_t>(i * 31 % 256);
    auto hf = ti::ImageProcessor::clip();
    auto tv = hf;
    tv.crop_rounding = ti::CropRounding::round;
    const auto resized = ti::resize(image, 224, 423);  // margin 199: offsets 99 and 100
    CHECK(hf.resize_and_crop(image) == xt::view(resized, xt::all(), xt::range(99, 323), xt::all()));
    CHECK(tv.resize_and_crop(image) == xt::view(resized, xt::all(), xt::range(100, 324), xt::all()));
}

TEST_CASE("grey arrays are converted unless do_convert_rgb is false") {
    auto p = ti::ImageProcessor::siglip();
    const ti::ImageU8 grey = xt::ones<std::uint8_t>({5, 5, 1}) * std::uint8_t{255};
    const auto out = p.preprocess(grey);
    CHECK(out(2, 100, 100) == 1.0f);
    p.do_convert_rgb = false;
    CHECK_THROWS_WITH_AS(p.preprocess(grey), doctest::Contains("do_convert_rgb"), tandem::Error);
}

TEST_CASE("crop larger than the resized image pads, as HF's center_crop does") {
    auto p = ti::ImageProcessor::clip();
    p.shortest_edge = 4;
    p.crop_height = p.crop_width = 6;
    const ti::ImageU8 image = xt::ones<std::uint8_t>({4, 8, 3}) * std::uint8_t{200};
    const auto out =
        p.resize_and_crop(image);  // 4x8 kept, padded 1 row above and below, cropped to 6 columns
    REQUIRE(out.shape() == std::array<std::size_t, 3>{6, 6, 3});
    CHECK(out(0, 0, 0) == 0);
    CHECK(out(1, 0, 0) == 200);
    CHECK(out(4, 5, 2) == 200);
    CHECK(out(5, 5, 2) == 0);
}

TEST_CASE("batches: same values as one at a time, first failing file reported") {
    auto dir_data = test_data("images/coffee.png");
    if (!dir_data) return;
    const auto processor = ti::ImageProcessor::clip();
    const std::vector<std::filesystem::path> paths = {*test_data("images/coffee.png"),
                                                      *test_data("images/camera_gray.png"),
                                                      *test_data("images/coffee_tiny_17x9.png")};
    const auto batch = processor.preprocess_files(paths);
    REQUIRE(batch.shape() == std::array<std::size_t, 4>{3, 3, 224, 224});
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const auto one = processor.preprocess(ti::load_image(paths[i]));
        CHECK(xt::view(batch, i) == one);
    }
    std::vector<ti::ImageU8> images;
    for (const auto& p : paths) images.push_back(ti::load_image(p));
    CHECK(processor.preprocess(images) == batch);

    TempDir dir("processor_batch");
    const auto bad = dir.write("bad.png", {1, 2, 3});
    auto with_bad = paths;
    with_bad.insert(with_bad.begin() + 1, bad);
    with_bad.push_back(dir / "missing.png");
    CHECK_THROWS_WITH_AS(processor.preprocess_files(with_bad), doctest::Contains("bad.png"), tandem::Error);

    // Without a crop the sizes differ, and a batch says so.
    auto no_crop = processor;
    no_crop.do_center_crop = false;
    CHECK_THROWS_WITH_AS(no_crop.preprocess(images), doctest::Contains("image 0 is 224x336"), tandem::Error);
}
