// `ImageProcessor`: Hugging Face's CLIPImageProcessor, SiglipImageProcessor and
// BlipImageProcessor (the PIL-backed "slow" ones) driven by preprocessor_config.json:
// convert to RGB, resize (shortest edge or exact size), centre crop, rescale, normalise,
// HWC -> CHW, and the same over a batch of images or files in parallel, giving
// `pixel_values` [N, 3, H, W].
#pragma once

#include <tandem/core/detail/json.hpp>
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
    // SigLIP's exact-size resize without a crop, at 384 x 384 with the OpenAI-CLIP mean and std.
    static ImageProcessor blip() {
        ImageProcessor p;
        p.image_processor_type = "BlipImageProcessor";
        p.size_height = p.size_width = 384;
        p.do_center_crop = false;
        return p;
    }

    static ImageProcessor from_json(const nlohmann::json& config, const std::string& file);
    static ImageProcessor from_file(const std::filesystem::path& path);
    // preprocessor_config.json as transformers writes it, read back by from_json unchanged
    // (crop_rounding, which no Hugging Face processor has, is not written).
    nlohmann::ordered_json to_json() const;

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
        if (do_resize) check_pixels(rgb, rh, rw);
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
    // A thin input resized to a shortest edge can ask for far more pixels than it has
    // (1x255255 to 224x57177120); even a resize that keeps only the crop sizes its
    // filter weights by the whole resized image, so the limit applies to every resize.
    static void check_pixels(const ImageU8& input, std::size_t rh, std::size_t rw) {
        constexpr std::uint64_t limit = DecodeOptions{}.max_pixels;
        if (std::uint64_t{rh} * rw > limit) {
            tandem::detail::throw_error("ImageProcessor: resizing a ", input.shape()[0], "x",
                                        input.shape()[1], " image to ", rh, "x", rw, " = ",
                                        std::uint64_t{rh} * rw, " pixels exceeds the limit of ", limit);
        }
    }

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

// The largest height or width a preprocessor_config.json may ask to resize or crop to:
// 8192^2 pixels stay under PIL's decompression-bomb limit, and no model uses more than 1024.
inline constexpr std::size_t kMaxProcessorSide = 8192;

// Reads preprocessor_config.json keys through the checked reader; null reads as absent.
struct ProcessorConfigReader {
    const nlohmann::json& config;
    tandem::detail::JsonPath root;

    [[noreturn]] void fail(const std::string& key, const std::string& expected,
                           const nlohmann::json& found) const {
        (root / key).fail("expected ", expected, ", found ", tandem::detail::describe_json(found));
    }
    const nlohmann::json* find(const std::string& key) const {
        auto it = config.find(key);
        return it == config.end() || it->is_null() ? nullptr : &*it;
    }
    template <class T>
    void read(const std::string& key, T& value) const {
        if (const auto* v = find(key)) value = tandem::detail::json_as<T>(*v, root / key);
    }
    std::size_t side(const tandem::detail::JsonPath& at, const nlohmann::json& v) const {
        return tandem::detail::json_integer<std::size_t>(v, at, 1, kMaxProcessorSide,
                                                         "tandem's limit on processor sizes");
    }
    std::size_t member(const std::string& key, const nlohmann::json& object, const char* name) const {
        auto it = object.find(name);
        if (it == object.end()) (root / key / name).fail("missing (", key, " is ", object.dump(), ")");
        return side(root / key / name, *it);
    }
    // image_mean / image_std: one number for all channels or three.
    void read(const std::string& key, std::array<float, 3>& value) const {
        const auto* v = find(key);
        if (!v) return;
        if (v->is_number()) {
            value.fill(tandem::detail::json_as<float>(*v, root / key));
            return;
        }
        if (!v->is_array() || v->size() != 3) fail(key, "a number or an array of 3 numbers", *v);
        for (std::size_t c = 0; c < 3; ++c)
            value[c] = tandem::detail::json_as<float>((*v)[c], (root / key)[c]);
    }
};

}  // namespace detail

inline ImageProcessor ImageProcessor::from_json(const nlohmann::json& config, const std::string& file) {
    if (!config.is_object())
        tandem::detail::throw_error(file, ": expected a JSON object, found ",
                                    tandem::detail::describe_json(config));
    const detail::ProcessorConfigReader r{config, {file, ""}};

    std::string type;
    std::string type_key = "image_processor_type";
    if (r.find(type_key)) {
        r.read(type_key, type);
    } else if (r.find("feature_extractor_type")) {
        type_key = "feature_extractor_type";
        r.read(type_key, type);
    } else {
        tandem::detail::throw_error(
            file, ": key 'image_processor_type': missing (expected CLIPImageProcessor, ",
            "SiglipImageProcessor or BlipImageProcessor; ", "'feature_extractor_type' is read too)");
    }
    // The "Fast" variants read the same keys; tandem always follows the PIL path.
    const bool is_clip =
        type == "CLIPImageProcessor" || type == "CLIPImageProcessorFast" || type == "CLIPFeatureExtractor";
    const bool is_siglip = type == "SiglipImageProcessor" || type == "SiglipImageProcessorFast";
    const bool is_blip = type == "BlipImageProcessor" || type == "BlipImageProcessorFast";
    if (!is_clip && !is_siglip && !is_blip) {
        tandem::detail::throw_error(file, ": key '", type_key,
                                    "': expected CLIPImageProcessor, CLIPFeatureExtractor, ",
                                    "SiglipImageProcessor or BlipImageProcessor, found \"", type, "\"");
    }
    ImageProcessor p = is_clip ? clip() : is_siglip ? siglip() : blip();
    p.image_processor_type = type;

    r.read("do_convert_rgb", p.do_convert_rgb);
    r.read("do_resize", p.do_resize);
    r.read("do_center_crop", p.do_center_crop);
    r.read("do_rescale", p.normalization.do_rescale);
    r.read("do_normalize", p.normalization.do_normalize);
    r.read("rescale_factor", p.normalization.rescale_factor);
    r.read("image_mean", p.normalization.image_mean);
    r.read("image_std", p.normalization.image_std);
    for (std::size_t c = 0; c < 3; ++c) {
        if (p.normalization.image_std[c] == 0.0f)
            (r.root / "image_std")[c].fail("expected a non-zero standard deviation, found 0");
    }

    if (const auto* v = r.find("size")) {
        if (v->is_number_integer()) {
            // An int is the shortest edge for CLIP (HF's get_size_dict); SigLIP and BLIP always
            // resize to height x width, so there it means a square.
            const std::size_t n = r.side(r.root / "size", *v);
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
            p.crop_height = p.crop_width = r.side(r.root / "crop_size", *v);
        } else if (v->is_object()) {
            p.crop_height = r.member("crop_size", *v, "height");
            p.crop_width = r.member("crop_size", *v, "width");
        } else {
            r.fail("crop_size", "an integer or an object with 'height' and 'width'", *v);
        }
    }
    if (const auto* v = r.find("resample")) {
        const int filter = tandem::detail::json_integer<int>(
            *v, r.root / "resample", 0, 5,
            "a PIL filter: 0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX or 5 HAMMING");
        p.resample = static_cast<Resample>(filter);
    }
    return p;
}

inline nlohmann::ordered_json ImageProcessor::to_json() const {
    nlohmann::ordered_json j;
    j["image_processor_type"] = image_processor_type;
    j["do_convert_rgb"] = do_convert_rgb;
    j["do_resize"] = do_resize;
    if (size_height)
        j["size"] = {{"height", size_height}, {"width", size_width}};
    else
        j["size"] = {{"shortest_edge", shortest_edge}};
    j["resample"] = static_cast<int>(resample);
    // SiglipImageProcessor and BlipImageProcessor have no crop settings: they are written
    // only where they crop.
    if (!(image_processor_type.starts_with("Siglip") || image_processor_type.starts_with("Blip")) ||
        do_center_crop) {
        j["do_center_crop"] = do_center_crop;
        j["crop_size"] = {{"height", crop_height}, {"width", crop_width}};
    }
    j["do_rescale"] = normalization.do_rescale;
    j["rescale_factor"] = normalization.rescale_factor;
    j["do_normalize"] = normalization.do_normalize;
    j["image_mean"] = normalization.image_mean;
    j["image_std"] = normalization.image_std;
    return j;
}

inline ImageProcessor ImageProcessor::from_file(const std::filesystem::path& path) {
    return from_json(tandem::detail::read_json_file(path), path.string());
}

}  // namespace tandem::image
