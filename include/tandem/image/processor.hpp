// `ImageProcessor`: Hugging Face's CLIPImageProcessor and SiglipImageProcessor (the
// PIL-backed "slow" ones) driven by preprocessor_config.json: convert to RGB, resize
// (shortest edge or exact size), centre crop, rescale, normalise, HWC -> CHW, and the
// same over a batch of images or files in parallel, giving `pixel_values` [N, 3, H, W].
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/crop.hpp>
#include <tandem/image/decode.hpp>
#include <tandem/image/image.hpp>
#include <tandem/image/normalize.hpp>
#include <tandem/image/resize.hpp>

#include <array>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::image {

struct ImageProcessor {
    std::string image_processor_type = "CLIPImageProcessor";
    // Decoded images are always RGB; this only decides whether other arrays are converted.
    bool do_convert_rgb = true;
    bool do_resize = true;
    // size = {"shortest_edge": n} when size_height == 0, else {"height": h, "width": w}.
    std::size_t shortest_edge = 224;
    std::size_t size_height = 0, size_width = 0;
    Resample resample = Resample::bicubic;
    bool do_center_crop = true;
    std::size_t crop_height = 224, crop_width = 224;
    // HF processors floor the crop offsets; CropRounding::round gives torchvision's CenterCrop.
    CropRounding crop_rounding = CropRounding::floor;
    Normalization normalization;

    // The defaults of HF's classes, as when a key is absent from the config.
    static ImageProcessor clip() { return {}; }
    static ImageProcessor siglip() {
        ImageProcessor p;
        p.image_processor_type = "SiglipImageProcessor";
        p.size_height = p.size_width = 224;
        p.do_center_crop = false;
        p.normalization.image_mean = {0.5f, 0.5f, 0.5f};  // IMAGENET_STANDARD_MEAN
        p.normalization.image_std = {0.5f, 0.5f, 0.5f};
        return p;
    }

    static ImageProcessor from_json(const nlohmann::json& config, const std::string& file);
    static ImageProcessor from_file(const std::filesystem::path& path);

    // Height and width of the resized image before cropping.
    std::array<std::size_t, 2> resized_size(std::size_t height, std::size_t width) const {
        if (!do_resize) return {height, width};
        if (size_height) return {size_height, size_width};
        return shortest_edge_size(height, width, shortest_edge);
    }

    // Height and width of every output when they do not depend on the input.
    std::optional<std::array<std::size_t, 2>> fixed_output_size() const {
        if (do_center_crop) return std::array<std::size_t, 2>{crop_height, crop_width};
        if (do_resize && size_height) return std::array<std::size_t, 2>{size_height, size_width};
        return std::nullopt;
    }

    // Everything up to the rescale, in uint8 HWC: what PIL holds before `np.array`.
    ImageU8 resize_and_crop(const ImageU8& input) const {
        detail::require_pixels(input, "ImageProcessor");
        if (!do_convert_rgb && input.shape()[2] != 3) {
            tandem::detail::throw_error("ImageProcessor: image has ", input.shape()[2],
                                        " channels and do_convert_rgb is false; the model needs 3 (RGB)");
        }
        const ImageU8 rgb_storage = input.shape()[2] == 3 ? ImageU8{} : convert_rgb(input);
        const ImageU8& rgb = input.shape()[2] == 3 ? input : rgb_storage;
        const auto [rh, rw] = resized_size(rgb.shape()[0], rgb.shape()[1]);
        if (!do_center_crop) return do_resize ? resize(rgb, rh, rw, resample) : rgb;
        const auto [top, left] = center_crop_origin(rh, rw, crop_height, crop_width, crop_rounding);
        const bool inside = top >= 0 && left >= 0 && static_cast<std::size_t>(top) + crop_height <= rh &&
                            static_cast<std::size_t>(left) + crop_width <= rw;
        if (!do_resize) return crop(rgb, top, left, crop_height, crop_width);
        // Resizing only the pixels the crop keeps gives the same values as PIL's full resize.
        if (inside) return resize_window(rgb, rh, rw, resample, top, left, crop_height, crop_width);
        return crop(resize(rgb, rh, rw, resample), top, left, crop_height, crop_width);
    }

    // `pixel_values` of one image, CHW float32.
    ImageF preprocess(const ImageU8& image) const {
        return to_pixel_values(resize_and_crop(image), normalization);
    }
    ImageF operator()(const ImageU8& image) const { return preprocess(image); }

    // [N, 3, H, W] for a batch, images processed in parallel (one per OpenMP thread).
    BatchF preprocess(const std::vector<ImageU8>& images) const {
        return run_batch(images.size(), [&](std::size_t i) { return resize_and_crop(images[i]); });
    }

    // Decodes and preprocesses files in parallel, in the order given.
    BatchF preprocess_files(const std::vector<std::filesystem::path>& paths,
                            const DecodeOptions& options = {}) const {
        return run_batch(paths.size(),
                         [&](std::size_t i) { return resize_and_crop(load_image(paths[i], options)); });
    }

private:
    template <class Make>
    BatchF run_batch(std::size_t n, Make make) const {
        const auto fixed = fixed_output_size();
        if (!fixed) {
            // Sizes depend on the inputs: make every image first, then check they agree.
            std::vector<ImageU8> done(n);
            std::vector<std::exception_ptr> errors(n);
#pragma omp parallel for schedule(dynamic, 1)
            for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
                try {
                    done[i] = make(static_cast<std::size_t>(i));
                } catch (...) {
                    errors[i] = std::current_exception();
                }
            }
            for (auto& e : errors) {
                if (e) std::rethrow_exception(e);
            }
            BatchF out({n, 3, n ? done[0].shape()[0] : 0, n ? done[0].shape()[1] : 0});
            for (std::size_t i = 0; i < n; ++i) {
                if (done[i].shape()[0] != out.shape()[2] || done[i].shape()[1] != out.shape()[3]) {
                    tandem::detail::throw_error("ImageProcessor: image ", i, " is ", done[i].shape()[0], "x",
                                                done[i].shape()[1], " after preprocessing, image 0 is ",
                                                out.shape()[2], "x", out.shape()[3],
                                                "; a batch needs do_center_crop or an exact size");
                }
                to_pixel_values(done[i], normalization, out.data() + i * 3 * out.shape()[2] * out.shape()[3]);
            }
            return out;
        }
        BatchF out({n, 3, (*fixed)[0], (*fixed)[1]});
        const std::size_t stride = 3 * (*fixed)[0] * (*fixed)[1];
        std::vector<std::exception_ptr> errors(n);
#pragma omp parallel for schedule(dynamic, 1)
        for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
            try {
                to_pixel_values(make(static_cast<std::size_t>(i)), normalization, out.data() + i * stride);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        }
        // The first failing image in input order, whatever the thread schedule.
        for (auto& e : errors) {
            if (e) std::rethrow_exception(e);
        }
        return out;
    }
};

namespace detail {

// Reads preprocessor_config.json keys with errors that name the file and the key.
struct ProcessorConfigReader {
    const nlohmann::json& config;
    const std::string& file;

    [[noreturn]] void fail(const std::string& key, const std::string& expected,
                           const nlohmann::json& found) const {
        tandem::detail::throw_error(file, ": key '", key, "': expected ", expected, ", found ",
                                    found.type_name(),
                                    found.is_primitive() ? " " + found.dump() : std::string());
    }
    const nlohmann::json* find(const std::string& key) const {
        auto it = config.find(key);
        return it == config.end() || it->is_null() ? nullptr : &*it;
    }
    void read(const std::string& key, bool& value) const {
        if (const auto* v = find(key)) {
            if (!v->is_boolean()) fail(key, "true or false", *v);
            value = v->get<bool>();
        }
    }
    void read(const std::string& key, double& value) const {
        if (const auto* v = find(key)) {
            if (!v->is_number()) fail(key, "a number", *v);
            value = v->get<double>();
        }
    }
    std::size_t positive(const std::string& key, const nlohmann::json& v) const {
        if (!v.is_number_integer() || v.get<long long>() <= 0) fail(key, "a positive integer", v);
        return v.get<std::size_t>();
    }
    std::size_t member(const std::string& key, const nlohmann::json& object, const char* name) const {
        auto it = object.find(name);
        if (it == object.end()) {
            tandem::detail::throw_error(file, ": key '", key, ".", name, "': missing (", key, " is ",
                                        object.dump(), ")");
        }
        return positive(key + "." + name, *it);
    }
    // image_mean / image_std: one number for all channels or three.
    void read(const std::string& key, std::array<float, 3>& value) const {
        const auto* v = find(key);
        if (!v) return;
        if (v->is_number()) {
            value.fill(static_cast<float>(v->get<double>()));
            return;
        }
        if (!v->is_array() || v->size() != 3) fail(key, "a number or an array of 3 numbers", *v);
        for (std::size_t c = 0; c < 3; ++c) {
            if (!(*v)[c].is_number()) fail(key + "[" + std::to_string(c) + "]", "a number", (*v)[c]);
            value[c] = static_cast<float>((*v)[c].get<double>());
        }
    }
};

}  // namespace detail

inline ImageProcessor ImageProcessor::from_json(const nlohmann::json& config, const std::string& file) {
    if (!config.is_object())
        tandem::detail::throw_error(file, ": expected a JSON object, found ", config.type_name());
    const detail::ProcessorConfigReader r{config, file};

    std::string type;
    std::string type_key = "image_processor_type";
    if (const auto* v = r.find(type_key)) {
        if (!v->is_string()) r.fail(type_key, "a string", *v);
        type = v->get<std::string>();
    } else if (const auto* f = r.find("feature_extractor_type")) {
        type_key = "feature_extractor_type";
        if (!f->is_string()) r.fail(type_key, "a string", *f);
        type = f->get<std::string>();
    } else {
        tandem::detail::throw_error(file,
                                    ": key 'image_processor_type': missing (expected CLIPImageProcessor or ",
                                    "SiglipImageProcessor; 'feature_extractor_type' is read too)");
    }
    // The "Fast" variants read the same keys; tandem always follows the PIL path.
    const bool is_clip =
        type == "CLIPImageProcessor" || type == "CLIPImageProcessorFast" || type == "CLIPFeatureExtractor";
    const bool is_siglip = type == "SiglipImageProcessor" || type == "SiglipImageProcessorFast";
    if (!is_clip && !is_siglip) {
        tandem::detail::throw_error(file, ": key '", type_key,
                                    "': expected CLIPImageProcessor, CLIPFeatureExtractor ",
                                    "or SiglipImageProcessor, found \"", type, "\"");
    }
    ImageProcessor p = is_clip ? clip() : siglip();
    p.image_processor_type = type;

    r.read("do_convert_rgb", p.do_convert_rgb);
    r.read("do_resize", p.do_resize);
    r.read("do_center_crop", p.do_center_crop);
    r.read("do_rescale", p.normalization.do_rescale);
    r.read("do_normalize", p.normalization.do_normalize);
    r.read("rescale_factor", p.normalization.rescale_factor);
    r.read("image_mean", p.normalization.image_mean);
    r.read("image_std", p.normalization.image_std);

    if (const auto* v = r.find("size")) {
        if (v->is_number_integer()) {
            // An int is the shortest edge for CLIP (HF's get_size_dict); SigLIP always resizes
            // to height x width, so there it means a square.
            const std::size_t n = r.positive("size", *v);
            if (is_clip) {
                p.shortest_edge = n, p.size_height = p.size_width = 0;
            } else {
                p.size_height = p.size_width = n;
            }
        } else if (v->is_object() && v->contains("shortest_edge")) {
            if (v->contains("longest_edge")) {
                tandem::detail::throw_error(file, ": key 'size.longest_edge': not supported by ", type);
            }
            p.shortest_edge = r.member("size", *v, "shortest_edge");
            p.size_height = p.size_width = 0;
        } else if (v->is_object() && (v->contains("height") || v->contains("width"))) {
            p.size_height = r.member("size", *v, "height");
            p.size_width = r.member("size", *v, "width");
        } else {
            r.fail("size", "an integer or an object with 'shortest_edge' or 'height' and 'width'", *v);
        }
    }
    if (const auto* v = r.find("crop_size")) {
        if (v->is_number_integer()) {
            p.crop_height = p.crop_width = r.positive("crop_size", *v);
        } else if (v->is_object()) {
            p.crop_height = r.member("crop_size", *v, "height");
            p.crop_width = r.member("crop_size", *v, "width");
        } else {
            r.fail("crop_size", "an integer or an object with 'height' and 'width'", *v);
        }
    }
    if (const auto* v = r.find("resample")) {
        if (!v->is_number_integer()) r.fail("resample", "an integer (PIL resampling filter)", *v);
        const int filter = v->get<int>();
        if (filter < 0 || filter > 5) {
            r.fail("resample",
                   "a PIL filter: 0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX or 5 HAMMING", *v);
        }
        p.resample = static_cast<Resample>(filter);
    }
    return p;
}

inline ImageProcessor ImageProcessor::from_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) tandem::detail::throw_error(path.string(), ": cannot open preprocessor config");
    nlohmann::json config;
    try {
        config = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        tandem::detail::throw_error(path.string(), ": invalid JSON (", e.what(), ")");
    }
    return from_json(config, path.string());
}

}  // namespace tandem::image
