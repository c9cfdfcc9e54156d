// Image bytes through every decoder (JPEG, PNG, GIF, BMP, TGA, PNM, WebP) and then
// the CLIP preprocessing a model applies after decoding.
#include <tandem/image/decode.hpp>
#include <tandem/image/processor.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto processor = tandem::image::ImageProcessor::clip();
    tandem::image::DecodeOptions options;
    // Below PIL's limit, so that a valid large image does not take seconds per input.
    options.max_pixels = 1u << 22;
    options.scale_16bit = size % 2;
    tandem::fuzz::expect_clean([&] {
        const auto image = tandem::image::decode_image({data, size}, "fuzz.img", options);
        (void)processor.preprocess(image);
    });
    return 0;
}
