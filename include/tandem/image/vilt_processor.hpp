// `ViltImageProcessor`: Hugging Face's ViltImageProcessor driven by
// preprocessor_config.json: resize the shortest edge to `shortest_edge` (the longest capped
// at 1333/800 of it), floor both sides to a multiple of `size_divisor`, rescale,
// normalise, and pad a batch bottom-right to its largest image with a `pixel_mask`
// marking each image's own pixels. Images keep their aspect ratio, so ViLT sees each at
// its own patch grid.
// reference: transformers models/vilt/image_processing_vilt.py (get_resize_output_image_size,
// ViltImageProcessor.resize, pad).
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/core/error.hpp>
#include <tandem/image/decode.hpp>
#include <tandem/image/image.hpp>
#include <tandem/image/normalize.hpp>
#include <tandem/image/processor.hpp>
#include <tandem/image/resize.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::image {

// A padded batch: pixel_values [N, 3, H, W] (0 on the padding) and pixel_mask [N, H, W].
struct PaddedPixels {
    BatchF pixel_values;
    xt::xtensor<std::int64_t, 3> pixel_mask;
};

struct ViltImageProcessor {
    bool do_resize = true;
    std::size_t shortest_edge = 384;
    std::size_t size_divisor = 32;
    Resample resample = Resample::bicubic;
    bool do_pad = true;
    Normalization normalization{.image_mean = {0.5f, 0.5f, 0.5f}, .image_std = {0.5f, 0.5f, 0.5f}};

    static ViltImageProcessor from_json(const nlohmann::json& config, const std::string& file);
    static ViltImageProcessor from_file(const std::filesystem::path& path) {
        return from_json(tandem::detail::read_json_file(path), path.string());
    }
    nlohmann::ordered_json to_json() const;

    // Height and width of an image after the resize.
    std::array<std::size_t, 2> resized_size(std::size_t height, std::size_t width) const {
        if (!do_resize) return {height, width};
        if (height == 0 || width == 0)
            tandem::detail::throw_error("ViltImageProcessor: expected a non-empty image, found ", height, "x",
                                        width);
        // Python's float arithmetic, as get_resize_output_image_size does it.
        const double shorter = double(shortest_edge), longer = double(std::size_t(1333.0 / 800.0 * shorter));
        const double scale = shorter / double(std::min(height, width));
        double h = height < width ? shorter : scale * double(height);
        double w = height < width ? scale * double(width) : shorter;
        if (std::max(h, w) > longer) {
            const double down = longer / std::max(h, w);
            h *= down, w *= down;
        }
        const auto floor_to_divisor = [&](double side) {
            return static_cast<std::size_t>(side + 0.5) / size_divisor * size_divisor;
        };
        const std::size_t out_h = floor_to_divisor(h), out_w = floor_to_divisor(w);
        if (out_h == 0 || out_w == 0)
            tandem::detail::throw_error("ViltImageProcessor: a ", height, "x", width, " image resizes to ",
                                        out_h, "x", out_w, " (size_divisor ", size_divisor, ")");
        return {out_h, out_w};
    }

    // One image, CHW float32, at its own size.
    ImageF preprocess(const ImageU8& input) const {
        detail::require_pixels(input, "ViltImageProcessor");
        const ImageU8 rgb = input.shape()[2] == 3 ? input : convert_rgb(input);
        const auto [h, w] = resized_size(rgb.shape()[0], rgb.shape()[1]);
        return to_pixel_values(do_resize ? resize(rgb, h, w, resample) : rgb, normalization);
    }

    // A batch, images processed in parallel and padded to the largest height and width.
    PaddedPixels preprocess(const std::vector<ImageU8>& images) const {
        return run_batch(images.size(), [&](std::size_t i) { return preprocess(images[i]); });
    }

    PaddedPixels preprocess_files(const std::vector<std::filesystem::path>& paths,
                                  const DecodeOptions& options = {}) const {
        return run_batch(paths.size(),
                         [&](std::size_t i) { return preprocess(load_image(paths[i], options)); });
    }

private:
    template <class Make>
    PaddedPixels run_batch(std::size_t n, Make make) const {
        std::vector<ImageF> done(n);
        std::vector<std::exception_ptr> errors(n);
#pragma omp parallel for schedule(dynamic, 1)
        for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
            try {
                done[i] = make(static_cast<std::size_t>(i));
            } catch (...) {
                errors[i] = std::current_exception();
            }
        }
        // The first failing image in input order, whatever the thread schedule.
        for (auto& e : errors)
            if (e) std::rethrow_exception(e);
        std::size_t height = 0, width = 0;
        for (const auto& image : done)
            height = std::max(height, image.shape()[1]), width = std::max(width, image.shape()[2]);
        for (std::size_t i = 0; i < n; ++i)
            if (!do_pad && (done[i].shape()[1] != height || done[i].shape()[2] != width))
                tandem::detail::throw_error("ViltImageProcessor: image ", i, " is ", done[i].shape()[1], "x",
                                            done[i].shape()[2],
                                            " after preprocessing, the batch's largest is ", height, "x",
                                            width, "; a batch of different sizes needs do_pad");
        PaddedPixels out{BatchF::from_shape({n, 3, height, width}),
                         xt::xtensor<std::int64_t, 3>::from_shape({n, height, width})};
        out.pixel_values.fill(0.0f);
        out.pixel_mask.fill(0);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t h = done[i].shape()[1], w = done[i].shape()[2];
            for (std::size_t c = 0; c < 3; ++c)
                for (std::size_t y = 0; y < h; ++y)
                    std::copy_n(&done[i](c, y, 0), w, &out.pixel_values(i, c, y, 0));
            for (std::size_t y = 0; y < h; ++y) std::fill_n(&out.pixel_mask(i, y, 0), w, 1);
        }
        return out;
    }
};

inline ViltImageProcessor ViltImageProcessor::from_json(const nlohmann::json& config,
                                                        const std::string& file) {
    if (!config.is_object())
        tandem::detail::throw_error(file, ": expected a JSON object, found ",
                                    tandem::detail::describe_json(config));
    const detail::ProcessorConfigReader r{config, {file, ""}};
    std::string type;
    r.read("image_processor_type", type);
    if (type != "ViltImageProcessor" && type != "ViltFeatureExtractor")
        tandem::detail::throw_error(file,
                                    ": key 'image_processor_type': expected ViltImageProcessor, found \"",
                                    type.empty() ? "(missing)" : type, "\"");
    ViltImageProcessor p;
    r.read("do_resize", p.do_resize);
    r.read("do_pad", p.do_pad);
    r.read("do_rescale", p.normalization.do_rescale);
    r.read("do_normalize", p.normalization.do_normalize);
    r.read("rescale_factor", p.normalization.rescale_factor);
    r.read("image_mean", p.normalization.image_mean);
    r.read("image_std", p.normalization.image_std);
    for (std::size_t c = 0; c < 3; ++c)
        if (p.normalization.image_std[c] == 0.0f)
            (r.root / "image_std")[c].fail("expected a non-zero standard deviation, found 0");
    if (const auto* v = r.find("size")) {
        if (v->is_number_integer())
            p.shortest_edge = r.side(r.root / "size", *v);
        else if (v->is_object() && v->contains("shortest_edge"))
            p.shortest_edge = r.member("size", *v, "shortest_edge");
        else
            r.fail("size", "an integer or an object with 'shortest_edge'", *v);
    }
    if (const auto* v = r.find("size_divisor")) p.size_divisor = r.side(r.root / "size_divisor", *v);
    if (const auto* v = r.find("resample")) {
        const int filter = tandem::detail::json_integer<int>(
            *v, r.root / "resample", 0, 5,
            "a PIL filter: 0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX or 5 HAMMING");
        p.resample = static_cast<Resample>(filter);
    }
    return p;
}

inline nlohmann::ordered_json ViltImageProcessor::to_json() const {
    nlohmann::ordered_json j;
    j["image_processor_type"] = "ViltImageProcessor";
    j["do_resize"] = do_resize;
    j["size"] = {{"shortest_edge", shortest_edge}};
    j["size_divisor"] = size_divisor;
    j["resample"] = static_cast<int>(resample);
    j["do_rescale"] = normalization.do_rescale;
    j["rescale_factor"] = normalization.rescale_factor;
    j["do_normalize"] = normalization.do_normalize;
    j["image_mean"] = normalization.image_mean;
    j["image_std"] = normalization.image_std;
    j["do_pad"] = do_pad;
    return j;
}

}  // namespace tandem::image
