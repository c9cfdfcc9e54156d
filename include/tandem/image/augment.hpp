// Random augmentations for contrastive training, as torchvision applies them to PIL
// images: RandomResizedCrop, RandomHorizontalFlip and ColorJitter (PIL's ImageEnhance
// and HSV arithmetic). Every draw comes from a Philox stream keyed by (seed, index),
// so an image's augmentation does not depend on thread scheduling or batch order.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/core/rng.hpp>
#include <tandem/image/crop.hpp>
#include <tandem/image/image.hpp>
#include <tandem/image/normalize.hpp>
#include <tandem/image/resize.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <vector>

namespace tandem::image {

// The random numbers one image's augmentation consumes, in order.
class AugmentRandom {
public:
    AugmentRandom(std::uint64_t seed, std::uint64_t index) : gen_(seed, index) {}
    double uniform(double lo, double hi) { return lo + (hi - lo) * gen_.uniform(next_++); }
    // Uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n) { return gen_.below(n, next_++); }

private:
    Philox gen_;
    std::uint64_t next_ = 0;
};

struct CropBox {
    std::ptrdiff_t top = 0, left = 0;
    std::size_t height = 0, width = 0;
};

// torchvision.transforms.RandomResizedCrop: a crop of random area (fraction of the
// image in `scale`) and aspect ratio (log-uniform in `ratio`), resized to height x width.
struct RandomResizedCrop {
    std::size_t height = 224, width = 224;
    std::array<double, 2> scale = {0.08, 1.0};
    std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0};
    Resample resample = Resample::bilinear;  // torchvision's default

    // RandomResizedCrop.get_params: ten tries, then a centre crop clamped to `ratio`.
    CropBox get_params(std::size_t in_h, std::size_t in_w, AugmentRandom& random) const {
        const double area = static_cast<double>(in_h) * static_cast<double>(in_w);
        const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
        for (int attempt = 0; attempt < 10; ++attempt) {
            const double target_area = area * random.uniform(scale[0], scale[1]);
            const double aspect = std::exp(random.uniform(log_lo, log_hi));
            const auto w = static_cast<long long>(std::nearbyint(std::sqrt(target_area * aspect)));
            const auto h = static_cast<long long>(std::nearbyint(std::sqrt(target_area / aspect)));
            if (0 < w && w <= static_cast<long long>(in_w) && 0 < h && h <= static_cast<long long>(in_h)) {
                CropBox box;
                box.height = static_cast<std::size_t>(h), box.width = static_cast<std::size_t>(w);
                box.top = static_cast<std::ptrdiff_t>(random.below(in_h - box.height + 1));
                box.left = static_cast<std::ptrdiff_t>(random.below(in_w - box.width + 1));
                return box;
            }
        }
        const double in_ratio = static_cast<double>(in_w) / static_cast<double>(in_h);
        CropBox box{0, 0, in_h, in_w};
        if (in_ratio < std::min(ratio[0], ratio[1])) {
            box.height = static_cast<std::size_t>(std::nearbyint(in_w / std::min(ratio[0], ratio[1])));
        } else if (in_ratio > std::max(ratio[0], ratio[1])) {
            box.width = static_cast<std::size_t>(std::nearbyint(in_h * std::max(ratio[0], ratio[1])));
        }
        box.top = static_cast<std::ptrdiff_t>((in_h - box.height) / 2);
        box.left = static_cast<std::ptrdiff_t>((in_w - box.width) / 2);
        return box;
    }

    ImageU8 operator()(const ImageU8& image, AugmentRandom& random) const {
        detail::require_pixels(image, "RandomResizedCrop");
        const auto box = get_params(image.shape()[0], image.shape()[1], random);
        return resize(crop(image, box.top, box.left, box.height, box.width), height, width, resample);
    }
};

// PIL's `ImageOps.mirror`.
inline ImageU8 hflip(const ImageU8& image) {
    ImageU8 out(image.shape());
    const std::size_t h = image.shape()[0], w = image.shape()[1], c = image.shape()[2];
    for (std::size_t y = 0; y < h; ++y) {
        for (std::size_t x = 0; x < w; ++x) {
            std::copy_n(&image(y, w - 1 - x, 0), c, &out(y, x, 0));
        }
    }
    return out;
}

namespace detail {

// PIL's Image.blend(a, b, alpha) on uint8: a + alpha * (b - a) in float, truncated;
// outside [0, 1] the result is clamped first.
inline std::uint8_t pil_blend(int a, int b, float alpha) {
    const float v = static_cast<float>(a) + alpha * static_cast<float>(b - a);
    if (alpha >= 0.0f && alpha <= 1.0f) return static_cast<std::uint8_t>(v);
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : static_cast<std::uint8_t>(v);
}

// PIL's RGB -> L (ITU-R 601-2 luma in 16-bit fixed point).
inline int pil_luma(const std::uint8_t* p) {
    return (p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16;
}

inline std::uint8_t clamp8(int v) { return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// PIL's rgb2hsv_row (Convert.c), float arithmetic as there.
inline void pil_rgb_to_hsv(const std::uint8_t* in, std::uint8_t* out) {
    const std::uint8_t r = in[0], g = in[1], b = in[2];
    const std::uint8_t maxc = std::max({r, g, b}), minc = std::min({r, g, b});
    out[2] = maxc;
    if (minc == maxc) {
        out[0] = out[1] = 0;
        return;
    }
    const float cr = static_cast<float>(maxc - minc);
    const float s = cr / static_cast<float>(maxc);
    const float rc = static_cast<float>(maxc - r) / cr, gc = static_cast<float>(maxc - g) / cr,
                bc = static_cast<float>(maxc - b) / cr;
    float h;
    if (r == maxc) {
        h = bc - gc;
    } else if (g == maxc) {
        h = static_cast<float>(2.0 + rc - bc);
    } else {
        h = static_cast<float>(4.0 + gc - rc);
    }
    h = static_cast<float>(std::fmod(h / 6.0 + 1.0, 1.0));
    out[0] = clamp8(static_cast<int>(h * 255.0));
    out[1] = clamp8(static_cast<int>(s * 255.0));
}

// PIL's hsv2rgb (Convert.c).
inline void pil_hsv_to_rgb(const std::uint8_t* in, std::uint8_t* out) {
    const std::uint8_t h = in[0], s = in[1], v = in[2];
    if (s == 0) {
        out[0] = out[1] = out[2] = v;
        return;
    }
    const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
    const float f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
    const float fs = static_cast<float>(static_cast<float>(s) / 255.0);
    const std::uint8_t p = clamp8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs))));
    const std::uint8_t q = clamp8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * f))));
    const std::uint8_t t =
        clamp8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * (1.0 - f)))));
    const std::uint8_t rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    std::copy_n(rgb[i % 6], 3, out);
}

inline void require_rgb(const ImageU8& image, const char* operation) {
    require_pixels(image, operation);
    if (image.shape()[2] != 3)
        tandem::detail::throw_error(operation, ": expected 3 channels, found ", image.shape()[2]);
}

}  // namespace detail

// torchvision.transforms.functional.adjust_brightness on a PIL image (ImageEnhance.Brightness).
inline ImageU8 adjust_brightness(const ImageU8& image, double factor) {
    detail::require_rgb(image, "adjust_brightness");
    ImageU8 out(image.shape());
    for (std::size_t i = 0; i < image.size(); ++i)
        out.data()[i] = detail::pil_blend(0, image.data()[i], static_cast<float>(factor));
    return out;
}

// adjust_contrast (ImageEnhance.Contrast): blend with the mean grey level, rounded.
inline ImageU8 adjust_contrast(const ImageU8& image, double factor) {
    detail::require_rgb(image, "adjust_contrast");
    const std::size_t pixels = image.shape()[0] * image.shape()[1];
    double sum = 0;
    for (std::size_t i = 0; i < pixels; ++i) sum += detail::pil_luma(image.data() + 3 * i);
    const int mean = static_cast<int>(sum / static_cast<double>(pixels) + 0.5);
    ImageU8 out(image.shape());
    for (std::size_t i = 0; i < image.size(); ++i)
        out.data()[i] = detail::pil_blend(mean, image.data()[i], static_cast<float>(factor));
    return out;
}

// adjust_saturation (ImageEnhance.Color): blend with the image's own grey version.
inline ImageU8 adjust_saturation(const ImageU8& image, double factor) {
    detail::require_rgb(image, "adjust_saturation");
    ImageU8 out(image.shape());
    const std::size_t pixels = image.shape()[0] * image.shape()[1];
    for (std::size_t i = 0; i < pixels; ++i) {
        const std::uint8_t* p = image.data() + 3 * i;
        const int grey = detail::pil_luma(p);
        for (int c = 0; c < 3; ++c)
            out.data()[3 * i + c] = detail::pil_blend(grey, p[c], static_cast<float>(factor));
    }
    return out;
}

// adjust_hue on a PIL image: to HSV, add int(factor * 255) to H modulo 256, back to RGB.
inline ImageU8 adjust_hue(const ImageU8& image, double factor) {
    detail::require_rgb(image, "adjust_hue");
    if (factor < -0.5 || factor > 0.5)
        tandem::detail::throw_error("adjust_hue: factor ", factor, " not in [-0.5, 0.5]");
    // np.uint8(hue_factor * 255): truncation toward zero, then wrap-around.
    const auto shift = static_cast<std::uint8_t>(static_cast<int>(factor * 255) & 0xFF);
    ImageU8 out(image.shape());
    const std::size_t pixels = image.shape()[0] * image.shape()[1];
    for (std::size_t i = 0; i < pixels; ++i) {
        std::uint8_t hsv[3];
        detail::pil_rgb_to_hsv(image.data() + 3 * i, hsv);
        hsv[0] = static_cast<std::uint8_t>(hsv[0] + shift);
        detail::pil_hsv_to_rgb(hsv, out.data() + 3 * i);
    }
    return out;
}

// torchvision.transforms.ColorJitter: factors drawn from [max(0, 1 - b), 1 + b] etc. and
// hue from [-hue, hue], the four adjustments applied in a random order. 0 disables one.
struct ColorJitter {
    double brightness = 0, contrast = 0, saturation = 0, hue = 0;

    ImageU8 operator()(const ImageU8& image, AugmentRandom& random) const {
        std::array<int, 4> order = {0, 1, 2, 3};
        for (int i = 3; i > 0; --i)
            std::swap(order[i], order[random.below(static_cast<std::uint64_t>(i) + 1)]);
        auto factor = [&](double spread) {
            return random.uniform(std::max(0.0, 1.0 - spread), 1.0 + spread);
        };
        const double b = brightness > 0 ? factor(brightness) : 1.0;
        const double c = contrast > 0 ? factor(contrast) : 1.0;
        const double s = saturation > 0 ? factor(saturation) : 1.0;
        const double h = hue > 0 ? random.uniform(-hue, hue) : 0.0;
        ImageU8 out = image;
        for (int op : order) {
            if (op == 0 && brightness > 0) out = adjust_brightness(out, b);
            if (op == 1 && contrast > 0) out = adjust_contrast(out, c);
            if (op == 2 && saturation > 0) out = adjust_saturation(out, s);
            if (op == 3 && hue > 0) out = adjust_hue(out, h);
        }
        return out;
    }
};

// The usual contrastive training transform: RandomResizedCrop, horizontal flip with
// probability `flip_p`, ColorJitter, then rescale and normalise to CHW float32.
struct TrainTransform {
    RandomResizedCrop random_resized_crop;
    double flip_p = 0.5;
    ColorJitter color_jitter;
    Normalization normalization;

    // The augmented uint8 image for dataset item `index` under `seed`.
    ImageU8 augment(const ImageU8& image, std::uint64_t seed, std::uint64_t index) const {
        AugmentRandom random(seed, index);
        const ImageU8 rgb_storage = image.shape()[2] == 3 ? ImageU8{} : convert_rgb(image);
        ImageU8 out = random_resized_crop(image.shape()[2] == 3 ? image : rgb_storage, random);
        if (random.uniform(0.0, 1.0) < flip_p) out = hflip(out);
        return color_jitter(out, random);
    }

    ImageF operator()(const ImageU8& image, std::uint64_t seed, std::uint64_t index) const {
        return to_pixel_values(augment(image, seed, index), normalization);
    }

    // [N, 3, H, W]; image i uses key (seed, indices[i]), so results do not depend on threads.
    BatchF batch(const std::vector<ImageU8>& images, std::uint64_t seed,
                 const std::vector<std::uint64_t>& indices) const {
        if (indices.size() != images.size()) {
            tandem::detail::throw_error("TrainTransform::batch: ", images.size(), " images but ",
                                        indices.size(), " indices");
        }
        const std::size_t h = random_resized_crop.height, w = random_resized_crop.width, n = images.size();
        BatchF out({n, 3, h, w});
        std::vector<std::exception_ptr> errors(n);
#pragma omp parallel for schedule(dynamic, 1)
        for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
            try {
                to_pixel_values(augment(images[i], seed, indices[i]), normalization,
                                out.data() + i * 3 * h * w);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        }
        for (auto& e : errors) {
            if (e) std::rethrow_exception(e);
        }
        return out;
    }
};

}  // namespace tandem::image
