// `tandem preprocess --config preprocessor_config.json --out OUT.npy IMAGE...`: runs
// a Hugging Face image processor over the images, in the order given, and saves
// `pixel_values` as float32 [N, 3, H, W] in .npy (what `np.load` and torch read).
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/processor.hpp>
#include <tandem/io/detail/atomic_file.hpp>

#include <cstdio>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <xtensor/xnpy.hpp>

#include "args.hpp"

namespace tandem::cli {

inline int preprocess_main(Args& args) {
    if (args.take_flag("--help")) {
        std::printf(
            "usage: tandem preprocess --config preprocessor_config.json --out OUT.npy [options] IMAGE...\n\n"
            "  --crop-rounding floor|round  centre crop offsets: floor (Hugging Face, default) or\n"
            "                               round (torchvision CenterCrop)\n"
            "  --max-pixels N               refuse images larger than N pixels (default 89478485, 0: no "
            "limit)\n"
            "  --scale-16bit                16-bit grey: keep the top 8 bits instead of clamping like PIL\n");
        return 0;
    }
    const std::string config = args.require("--config");
    const std::filesystem::path out = args.require("--out");
    const std::string rounding = args.take("--crop-rounding", "floor");
    const std::string max_pixels = args.take("--max-pixels", "");
    image::DecodeOptions decode;
    decode.scale_16bit = args.take_flag("--scale-16bit");
    if (!max_pixels.empty()) {
        std::size_t used = 0;
        try {
            decode.max_pixels = std::stoull(max_pixels, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != max_pixels.size()) {
            detail::throw_error("option --max-pixels: expected a non-negative integer, found '", max_pixels,
                                "'");
        }
    }
    const auto positional = args.positional();
    if (positional.empty()) detail::throw_error("expected at least one IMAGE after the options");

    auto processor = image::ImageProcessor::from_file(config);
    if (rounding == "round") {
        processor.crop_rounding = image::CropRounding::round;
    } else if (rounding != "floor") {
        detail::throw_error("option --crop-rounding: expected floor or round, found '", rounding, "'");
    }
    const std::vector<std::filesystem::path> paths(positional.begin(), positional.end());
    const auto pixel_values = processor.preprocess_files(paths, decode);
    // A partly written .npy is never left under the final name.
    io::atomic_write(out, [&](std::ostream& stream) { stream << xt::dump_npy(pixel_values); });
    const auto& s = pixel_values.shape();
    std::printf("%s: float32 [%zu, %zu, %zu, %zu]\n", out.string().c_str(), s[0], s[1], s[2], s[3]);
    return 0;
}

}  // namespace tandem::cli
