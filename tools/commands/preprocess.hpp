// `tandem preprocess --config preprocessor_config.json --out OUT.npy IMAGE...`: runs
// a Hugging Face image processor over the images, in the order given, and saves
// `pixel_values` as float32 [N, 3, H, W] in .npy (what `np.load` and torch read).
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/processor.hpp>
#include <tandem/io/detail/atomic_file.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <xtensor/xnpy.hpp>

#include "validators.hpp"

namespace tandem::cli {

struct PreprocessOptions {
    std::string config, crop_rounding = "floor";
    std::filesystem::path out;
    std::vector<std::filesystem::path> images;
    std::size_t max_pixels = image::DecodeOptions{}.max_pixels;
    bool scale_16bit = false;
};

inline int preprocess_run(const PreprocessOptions& o) {
    image::DecodeOptions decode;
    decode.scale_16bit = o.scale_16bit;
    decode.max_pixels = o.max_pixels;
    auto processor = image::ImageProcessor::from_file(o.config);
    if (o.crop_rounding == "round") processor.crop_rounding = image::CropRounding::round;
    const auto pixel_values = processor.preprocess_files(o.images, decode);
    // A partly written .npy is never left under the final name.
    io::atomic_write(o.out, [&](std::ostream& stream) { stream << xt::dump_npy(pixel_values); });
    const auto& s = pixel_values.shape();
    std::printf("%s: float32 [%zu, %zu, %zu, %zu]\n", o.out.string().c_str(), s[0], s[1], s[2], s[3]);
    return 0;
}

inline void add_preprocess(CLI::App& app, int& status) {
    auto o = std::make_shared<PreprocessOptions>();
    CLI::App* sub = app.add_subcommand(
        "preprocess", "run a preprocessor_config.json over images, save pixel_values as .npy");
    sub->add_option("--config", o->config, "a Hugging Face preprocessor_config.json")->required();
    sub->add_option("--out", o->out, "the .npy to write: float32 [N, 3, H, W]")->required();
    sub->add_option("--crop-rounding", o->crop_rounding,
                    "centre crop offsets: floor (Hugging Face) or round (torchvision CenterCrop)")
        ->check(CLI::IsMember({"floor", "round"}))
        ->capture_default_str();
    sub->add_option("--max-pixels", o->max_pixels, "refuse images larger than N pixels (0: no limit)")
        ->check(integer_at_least(0))
        ->capture_default_str();
    sub->add_flag("--scale-16bit", o->scale_16bit,
                  "16-bit grey: keep the top 8 bits instead of clamping like PIL");
    sub->add_option("images", o->images, "the images, in the order of the output rows")->required();
    sub->callback([o, &status] { status = preprocess_run(*o); });
}

}  // namespace tandem::cli
