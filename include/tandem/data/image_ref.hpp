// ImageRef: one image cell of a dataset, as a file path, encoded bytes (a WebDataset
// member, bytes the user holds) or decoded pixels (IDX, an image::ImageU8). The
// decoding waits until a batch needs the image, so a dataset of a million photos
// costs a million paths, not a million pictures. Mirrors the `Image` feature of
// Hugging Face `datasets`, whose cells are {"path", "bytes"} or a PIL image.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/decode.hpp>
#include <tandem/image/image.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tandem::data {

struct ImageFile {
    std::filesystem::path path;
};

// `size` bytes at `offset` of a shared buffer; `name` is what errors call them.
struct EncodedImage {
    std::shared_ptr<const std::vector<std::uint8_t>> buffer;
    std::size_t offset = 0, size = 0;
    std::string name;
    std::span<const std::uint8_t> bytes() const { return {buffer->data() + offset, size}; }
};

// HWC uint8 pixels (1 to 4 channels) at `offset` of a shared buffer, so that the
// 60,000 images of an IDX file share one allocation.
struct DecodedImage {
    std::shared_ptr<const std::vector<std::uint8_t>> buffer;
    std::size_t offset = 0, height = 0, width = 0, channels = 0;
    std::span<const std::uint8_t> bytes() const {
        return {buffer->data() + offset, height * width * channels};
    }
};

using ImageRef = std::variant<ImageFile, EncodedImage, DecodedImage>;

inline ImageRef image_file(std::filesystem::path path) { return ImageFile{std::move(path)}; }

inline ImageRef encoded_image(std::vector<std::uint8_t> bytes, std::string name = "<memory>") {
    const std::size_t n = bytes.size();
    return EncodedImage{std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes)), 0, n,
                        std::move(name)};
}

inline ImageRef decoded_image(const image::ImageU8& pixels) {
    const auto& s = pixels.shape();
    if (s[2] < 1 || s[2] > 4) detail::throw_error("decoded_image: expected 1 to 4 channels, found ", s[2]);
    return DecodedImage{std::make_shared<const std::vector<std::uint8_t>>(pixels.begin(), pixels.end()), 0,
                        s[0], s[1], s[2]};
}

// What an error message calls the image: its path or its name.
inline std::string describe(const ImageRef& ref) {
    if (const auto* f = std::get_if<ImageFile>(&ref)) return f->path.string();
    if (const auto* e = std::get_if<EncodedImage>(&ref)) return e->name;
    const auto& d = std::get<DecodedImage>(ref);
    return "<decoded " + std::to_string(d.height) + "x" + std::to_string(d.width) + "x" +
           std::to_string(d.channels) + " image>";
}

// The pixels, as PIL's `Image.open(...).convert("RGB")` gives them.
inline image::ImageU8 load(const ImageRef& ref, const image::DecodeOptions& options = {}) {
    if (const auto* f = std::get_if<ImageFile>(&ref)) return image::load_image(f->path, options);
    if (const auto* e = std::get_if<EncodedImage>(&ref))
        return image::decode_image(e->bytes(), e->name, options);
    const auto& d = std::get<DecodedImage>(ref);
    if (d.height == 0 || d.width == 0) detail::throw_error(describe(ref), ": image has no pixels");
    image::ImageU8 pixels({d.height, d.width, d.channels});
    std::memcpy(pixels.data(), d.bytes().data(), pixels.size());
    return d.channels == 3 ? pixels : image::convert_rgb(pixels);
}

// Bytes that are equal exactly when two cells hold the same image as far as a
// batch sampler can tell without decoding: the path of a file (as sentence-transformers
// compares path strings), the encoded bytes, or the shape and pixels.
inline void append_identity(const ImageRef& ref, std::string& out) {
    out += '\x01';  // never equal to a text: texts are not tagged
    if (const auto* f = std::get_if<ImageFile>(&ref)) {
        out += 'f';
        out += f->path.string();
        return;
    }
    std::span<const std::uint8_t> bytes;
    if (const auto* e = std::get_if<EncodedImage>(&ref)) {
        out += 'e';
        bytes = e->bytes();
    } else {
        const auto& d = std::get<DecodedImage>(ref);
        out += 'd';
        for (std::size_t v : {d.height, d.width, d.channels})
            out.append(reinterpret_cast<const char*>(&v), sizeof v);
        bytes = d.bytes();
    }
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace tandem::data
