// preprocessor_config.json, then the processor it describes run on a small image.
#include <tandem/image/processor.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    tandem::fuzz::expect_clean([&] {
        const auto p = tandem::image::ImageProcessor::from_json(
            tandem::detail::parse_json(tandem::fuzz::as_text(data, size), "preprocessor_config.json"),
            "preprocessor_config.json");
        tandem::image::ImageU8 image({7, 5, 3});
        for (std::size_t i = 0; i < image.size(); ++i) image.data()[i] = static_cast<std::uint8_t>(i * 37);
        // A valid config may ask for 8192^2 outputs: correct, but too slow to fuzz through.
        const auto [h, w] = p.resized_size(7, 5);
        const auto out = p.fixed_output_size();
        if (h * w > (1u << 20) || (out && (*out)[0] * (*out)[1] > (1u << 20))) return;
        (void)p.preprocess(image);
    });
    return 0;
}
