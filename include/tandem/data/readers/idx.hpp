// IDX files, the format of MNIST and Fashion-MNIST (gzip-compressed or not): a big-endian
// header (two zero bytes, the element type 0x08 for unsigned bytes, the number of
// dimensions, then each size) followed by the values. `read_idx` pairs an images file
// [n, rows, cols] with a labels file [n] into columns `image` (grey pixels, kept in one
// shared buffer) and `label`, as torchvision's MNIST / FashionMNIST datasets do.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/image_ref.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

namespace tandem::data {

struct IdxArray {
    std::vector<std::size_t> shape;
    std::shared_ptr<const std::vector<std::uint8_t>> data;  // the whole file; values start at `offset`
    std::size_t offset = 0;
};

namespace detail {

// The file's bytes, inflated when it starts with the gzip magic.
inline std::vector<std::uint8_t> read_maybe_gzip(const std::filesystem::path& path) {
    using tandem::detail::throw_error;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(path.string(), ": cannot open (", std::strerror(errno), ")");
    std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        throw_error(path.string(), ": cannot start gzip decompression");
    std::vector<std::uint8_t> out(raw.size() * 4 + 1024);
    z.next_in = raw.data();
    z.avail_in = static_cast<uInt>(raw.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (z.total_out == out.size()) out.resize(out.size() * 2);
        z.next_out = out.data() + z.total_out;
        z.avail_out = static_cast<uInt>(out.size() - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            inflateEnd(&z);
            throw_error(path.string(), ": corrupt gzip data (zlib: ", z.msg ? z.msg : "error", ")");
        }
        if (rc == Z_BUF_ERROR && z.avail_in == 0) {
            inflateEnd(&z);
            throw_error(path.string(), ": truncated gzip data (the stream ends early)");
        }
    }
    out.resize(z.total_out);
    inflateEnd(&z);
    return out;
}

}  // namespace detail

inline IdxArray read_idx_array(const std::filesystem::path& path) {
    using tandem::detail::throw_error;
    if (!std::filesystem::is_regular_file(path))
        throw_error(path.string(), ": no such file (expected an IDX file)");
    auto bytes = std::make_shared<std::vector<std::uint8_t>>(detail::read_maybe_gzip(path));
    const auto& b = *bytes;
    if (b.size() < 4 || b[0] != 0 || b[1] != 0)
        throw_error(path.string(),
                    ": not an IDX file (expected two zero bytes, the type and the rank first)");
    if (b[2] != 0x08)
        throw_error(path.string(), ": IDX element type 0x", std::hex, int{b[2]}, std::dec,
                    " is not supported (expected 0x08, unsigned bytes)");
    IdxArray out;
    const std::size_t rank = b[3];
    out.offset = 4 + 4 * rank;
    if (rank == 0 || b.size() < out.offset)
        throw_error(path.string(), ": IDX header of rank ", rank, " is truncated (", b.size(), " bytes)");
    std::size_t count = 1;
    for (std::size_t d = 0; d < rank; ++d) {
        const std::uint8_t* p = b.data() + 4 + 4 * d;
        out.shape.push_back((std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) |
                            p[3]);
        count *= out.shape.back();
    }
    if (b.size() - out.offset != count)
        throw_error(path.string(), ": expected ", count, " values after the IDX header, found ",
                    b.size() - out.offset);
    out.data = std::move(bytes);
    return out;
}

inline Dataset read_idx(const std::filesystem::path& images_path, const std::filesystem::path& labels_path) {
    using tandem::detail::throw_error;
    const auto images = read_idx_array(images_path);
    const auto labels = read_idx_array(labels_path);
    if (images.shape.size() != 3)
        throw_error(images_path.string(), ": expected images [n, rows, cols], found rank ",
                    images.shape.size());
    if (labels.shape.size() != 1)
        throw_error(labels_path.string(), ": expected labels [n], found rank ", labels.shape.size());
    if (labels.shape[0] != images.shape[0])
        throw_error(labels_path.string(), ": ", labels.shape[0], " labels for the ", images.shape[0],
                    " images of ", images_path.string());
    const std::size_t n = images.shape[0], h = images.shape[1], w = images.shape[2];
    std::vector<ImageRef> cells;
    std::vector<std::int64_t> values;
    cells.reserve(n);
    values.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        cells.push_back(DecodedImage{images.data, images.offset + i * h * w, h, w, 1});
        values.push_back((*labels.data)[labels.offset + i]);
    }
    return Dataset({Column("image", std::move(cells)), Column("label", std::move(values))});
}

}  // namespace tandem::data
