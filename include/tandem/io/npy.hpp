// NumPy .npy files, the format embeddings travel in: the header (dtype, shape, order and
// where the data starts), whole arrays of any numeric dtype converted to the type asked
// for, 2-D float embeddings whole or a range of rows at a time (a corpus streamed in
// chunks), and save_npy, which writes np.save's exact bytes to a temporary name and renames.
// reference: numpy.lib.format (format versions 1.0 to 3.0), numpy.load and numpy.save.
#pragma once

#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/core/error.hpp>
#include <tandem/io/detail/float16.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xcontainer.hpp>
#include <xtensor/xtensor.hpp>

namespace tandem::io {

static_assert(
    std::endian::native == std::endian::little,
    "np.save writes little-endian data; tandem reads and writes it in place on little-endian hosts");

// What the header of a .npy file says.
struct NpyHeader {
    std::string descr;  // the numpy dtype as written: "<f4", "<f8", "<i8", "|b1", ...
    bool fortran_order = false;
    std::vector<std::size_t> shape;  // empty for a 0-d array
    std::size_t data_offset = 0;     // bytes from the start of the file to the first element

    std::size_t size() const {
        std::size_t n = 1;
        for (std::size_t d : shape) n *= d;
        return n;
    }
};

// The dtype np.save writes for T.
template <class T>
constexpr std::string_view npy_descr() {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, bool>)
        return "|b1";
    else if constexpr (std::is_same_v<U, float>)
        return "<f4";
    else if constexpr (std::is_same_v<U, double>)
        return "<f8";
    else if constexpr (std::is_same_v<U, std::int8_t>)
        return "|i1";
    else if constexpr (std::is_same_v<U, std::uint8_t>)
        return "|u1";
    else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 2)
        return "<i2";
    else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 4)
        return "<i4";
    else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 8)
        return "<i8";
    else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 2)
        return "<u2";
    else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 4)
        return "<u4";
    else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 8)
        return "<u8";
    else
        static_assert(sizeof(U) == 0, "npy_descr: no numpy dtype for this element type");
}

}  // namespace tandem::io

namespace tandem::detail {

// A dtype tandem reads: float16/32/64, signed and unsigned integers, bool, in either byte order.
struct NpyDtype {
    char kind;  // 'f', 'i', 'u' or 'b'
    std::size_t size;
    bool big_endian;
};

inline std::optional<NpyDtype> parse_npy_dtype(std::string_view descr) {
    if (descr.size() < 3 || std::string_view("<>|=").find(descr[0]) == std::string_view::npos)
        return std::nullopt;
    std::size_t size = 0;
    const auto digits = descr.substr(2);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    const char kind = descr[1];
    const bool ok = (kind == 'f' && (size == 2 || size == 4 || size == 8)) ||
                    ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                    (kind == 'b' && size == 1);
    if (!ok) return std::nullopt;
    return NpyDtype{kind, size, descr[0] == '>' && size > 1};
}

// "float32", "int64", "bool": the numpy name of a descr, for messages.
inline std::string npy_dtype_name(std::string_view descr) {
    const auto d = parse_npy_dtype(descr);
    if (!d) return "'" + std::string(descr) + "'";
    const std::string base = d->kind == 'f'   ? "float"
                             : d->kind == 'i' ? "int"
                             : d->kind == 'u' ? "uint"
                                              : "bool";
    return d->kind == 'b' ? base : base + std::to_string(8 * d->size);
}

inline std::string npy_shape_string(const std::vector<std::size_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// The dictionary literal of a .npy header as numpy's safe_eval accepts it: the three keys
// in any order, either quote character, optional trailing commas, and the 'L' of Python 2
// integers, followed by nothing but padding.
class NpyDictParser {
public:
    // Trailing spaces and the final newline are np.save's padding.
    NpyDictParser(std::string_view text, const std::filesystem::path& path) : text_(text), path_(path) {
        while (!text_.empty() && (text_.back() == ' ' || text_.back() == '\n')) text_.remove_suffix(1);
    }

    io::NpyHeader parse() {
        io::NpyHeader h;
        bool seen_descr = false, seen_order = false, seen_shape = false;
        expect('{', "'{'");
        while (!consume('}')) {
            const std::string key = string_literal("a quoted key");
            expect(':', "':' after '" + key + "'");
            if (key == "descr" && !seen_descr) {
                skip_space();
                if (pos_ < text_.size() && text_[pos_] == '[')
                    fail("a dtype string such as '<f4' (structured dtypes are not supported)");
                h.descr = string_literal("a dtype string such as '<f4'");
                seen_descr = true;
            } else if (key == "fortran_order" && !seen_order) {
                h.fortran_order = boolean();
                seen_order = true;
            } else if (key == "shape" && !seen_shape) {
                h.shape = tuple();
                seen_shape = true;
            } else {
                fail("one each of the keys 'descr', 'fortran_order', 'shape', not '" + key + "'");
            }
            if (!consume(',')) {
                expect('}', "',' or '}'");
                break;
            }
        }
        skip_space();
        if (pos_ != text_.size()) fail("nothing but padding after the closing '}'");
        if (!seen_descr || !seen_order || !seen_shape)
            throw_error(path_.string(), ": .npy header ", text_,
                        ": expected the keys 'descr', 'fortran_order' and 'shape', missing '",
                        !seen_descr   ? "descr"
                        : !seen_order ? "fortran_order"
                                      : "shape",
                        "'");
        return h;
    }

private:
    [[noreturn]] void fail(const std::string& expected) const {
        const std::string found =
            pos_ < text_.size() ? "'" + std::string(text_.substr(pos_, 16)) + "'" : "the end";
        throw_error(path_.string(), ": .npy header ", text_, ": expected ", expected, " at character ", pos_,
                    ", found ", found);
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t'))
            ++pos_;
    }

    bool consume(char c) {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    void expect(char c, const std::string& what) {
        if (!consume(c)) fail(what);
    }

    std::string string_literal(const std::string& what) {
        skip_space();
        if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail(what);
        const char quote = text_[pos_];
        const std::size_t close = text_.find(quote, pos_ + 1);
        if (close == std::string_view::npos) fail("a closing quote");
        std::string s(text_.substr(pos_ + 1, close - pos_ - 1));
        pos_ = close + 1;
        return s;
    }

    bool boolean() {
        skip_space();
        for (const bool value : {true, false}) {
            const std::string_view word = value ? "True" : "False";
            if (text_.substr(pos_, word.size()) == word) {
                pos_ += word.size();
                return value;
            }
        }
        fail("True or False for 'fortran_order'");
    }

    std::vector<std::size_t> tuple() {
        expect('(', "a tuple of integers for 'shape'");
        std::vector<std::size_t> shape;
        std::size_t elements = 1;
        while (!consume(')')) {
            skip_space();
            std::size_t d = 0;
            const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), d);
            if (ec != std::errc{} || end == text_.data() + pos_) fail("a non-negative integer in 'shape'");
            pos_ = static_cast<std::size_t>(end - text_.data());
            if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
            if (d != 0 && elements > std::numeric_limits<std::size_t>::max() / d)
                fail("a shape whose element count fits in memory");
            elements *= d;
            shape.push_back(d);
            if (!consume(',')) {
                expect(')', "',' or ')' in 'shape'");
                break;
            }
        }
        return shape;
    }

    std::string_view text_;
    const std::filesystem::path& path_;
    std::size_t pos_ = 0;
};

inline io::NpyHeader read_npy_header(std::istream& in, const std::filesystem::path& path) {
    char magic[8];
    in.read(magic, 8);
    if (in.gcount() != 8 || std::string_view(magic, 6) != "\x93NUMPY")
        throw_error(path.string(), ": expected a .npy file (starting with \\x93NUMPY), ",
                    "found other bytes");
    const int major = static_cast<unsigned char>(magic[6]), minor = static_cast<unsigned char>(magic[7]);
    if (major < 1 || major > 3 || minor != 0)
        throw_error(path.string(), ": expected .npy format version 1.0, 2.0 or 3.0, found ", major, ".",
                    minor);
    const std::size_t field = major == 1 ? 2 : 4;
    unsigned char length_bytes[4] = {0, 0, 0, 0};
    in.read(reinterpret_cast<char*>(length_bytes), static_cast<std::streamsize>(field));
    if (static_cast<std::size_t>(in.gcount()) != field)
        throw_error(path.string(), ": truncated .npy header: the file ends inside its length");
    std::size_t length = 0;
    for (std::size_t i = 0; i < field; ++i) length |= std::size_t(length_bytes[i]) << (8 * i);
    std::string text(length, '\0');
    in.read(text.data(), static_cast<std::streamsize>(length));
    if (static_cast<std::size_t>(in.gcount()) != length)
        throw_error(path.string(), ": truncated .npy header: expected ", length, " bytes, found ",
                    in.gcount());
    io::NpyHeader h = NpyDictParser(text, path).parse();
    h.data_offset = 8 + field + length;
    return h;
}

inline std::ifstream open_npy(const std::filesystem::path& path) {
    if (std::filesystem::is_directory(path))
        throw_error(path.string(), ": is a directory, expected a .npy file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(path.string(), ": cannot open the file");
    return in;
}

// The dtype of a header, or an error naming the file when tandem cannot read it.
inline NpyDtype npy_readable_dtype(const io::NpyHeader& h, const std::filesystem::path& path) {
    const auto d = parse_npy_dtype(h.descr);
    if (!d)
        throw_error(path.string(), ": expected a numeric numpy dtype (float16/32/64, ",
                    "int8 to int64, uint8 to uint64 or bool), found '", h.descr, "'");
    return *d;
}

// The file holds every byte its header promises (numpy ignores what follows, and so does tandem).
inline void check_npy_complete(const io::NpyHeader& h, const NpyDtype& d, const std::filesystem::path& path) {
    const std::size_t elements = h.size();
    if (elements != 0 && d.size > std::numeric_limits<std::size_t>::max() / elements)
        throw_error(path.string(), ": shape ", npy_shape_string(h.shape), " is too large");
    std::error_code ec;
    const auto file_size = std::filesystem::file_size(path, ec);
    if (ec) throw_error(path.string(), ": cannot read the file size: ", ec.message());
    const std::size_t needed = elements * d.size;
    const std::size_t found =
        file_size > h.data_offset ? static_cast<std::size_t>(file_size) - h.data_offset : 0;
    if (found < needed)
        throw_error(path.string(), ": truncated .npy data: shape ", npy_shape_string(h.shape), " of ",
                    npy_dtype_name(h.descr), " needs ", needed, " bytes after the ", h.data_offset,
                    "-byte header, found ", found);
}

// The bits of an IEEE binary16 value, as stored.
struct NpyFloat16 {
    std::uint16_t bits;
};

template <class Source, class T>
void convert_npy_elements(const char* bytes, std::size_t count, bool big_endian, T* out) {
    for (std::size_t i = 0; i < count; ++i) {
        char raw[sizeof(Source)];
        std::memcpy(raw, bytes + i * sizeof(Source), sizeof(Source));
        if (big_endian) std::reverse(raw, raw + sizeof(Source));
        Source v;
        std::memcpy(&v, raw, sizeof(Source));
        if constexpr (std::is_same_v<Source, NpyFloat16>)
            out[i] = static_cast<T>(f16_to_float(v.bits));
        else
            out[i] = static_cast<T>(v);
    }
}

template <class T>
void convert_npy(const NpyDtype& d, const char* bytes, std::size_t count, T* out) {
    const bool be = d.big_endian;
    switch (d.kind) {
        case 'f':
            if constexpr (std::is_floating_point_v<T>) {
                if (d.size == 2) return convert_npy_elements<NpyFloat16>(bytes, count, be, out);
                if (d.size == 4) return convert_npy_elements<float>(bytes, count, be, out);
                return convert_npy_elements<double>(bytes, count, be, out);
            }
            break;
        case 'i':
            if (d.size == 1) return convert_npy_elements<std::int8_t>(bytes, count, be, out);
            if (d.size == 2) return convert_npy_elements<std::int16_t>(bytes, count, be, out);
            if (d.size == 4) return convert_npy_elements<std::int32_t>(bytes, count, be, out);
            return convert_npy_elements<std::int64_t>(bytes, count, be, out);
        case 'u':
            if (d.size == 1) return convert_npy_elements<std::uint8_t>(bytes, count, be, out);
            if (d.size == 2) return convert_npy_elements<std::uint16_t>(bytes, count, be, out);
            if (d.size == 4) return convert_npy_elements<std::uint32_t>(bytes, count, be, out);
            return convert_npy_elements<std::uint64_t>(bytes, count, be, out);
        case 'b':
            for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(bytes[i] != 0);
            return;
    }
}

// Reads `count` elements at the stream's position into `out`, a block at a time so that a
// conversion never holds a second copy of a large array.
template <class T>
void read_npy_elements(std::istream& in, const NpyDtype& d, std::size_t count, T* out,
                       const std::filesystem::path& path) {
    constexpr std::size_t block = std::size_t{1} << 16;
    std::vector<char> buffer(std::min(count, block) * d.size);
    for (std::size_t done = 0; done < count;) {
        const std::size_t n = std::min(block, count - done);
        in.read(buffer.data(), static_cast<std::streamsize>(n * d.size));
        if (static_cast<std::size_t>(in.gcount()) != n * d.size)
            throw_error(path.string(), ": truncated .npy data: the file ended while reading");
        convert_npy(d, buffer.data(), n, out + done);
        done += n;
    }
}

template <class T>
constexpr void check_npy_element_type() {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                  "tandem::io reads .npy arrays as a floating-point or integer element type");
}

// np.save's header: the dict in sorted key order, room for the first axis to grow to 21
// digits, spaces up to a multiple of 64 bytes and a newline, in format 1.0.
inline std::string npy_header_bytes(std::string_view descr, const std::vector<std::size_t>& shape) {
    std::string shape_repr = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) shape_repr += (i ? ", " : "") + std::to_string(shape[i]);
    shape_repr += shape.size() == 1 ? ",)" : ")";
    std::string dict =
        "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " + shape_repr + ", }";
    if (!shape.empty()) dict.append(21 - std::min<std::size_t>(21, std::to_string(shape[0]).size()), ' ');
    const std::size_t hlen = dict.size() + 1;
    const std::size_t pad = 64 - (10 + hlen) % 64;
    if (hlen + pad > 0xFFFF)
        throw_error("save_npy: a header of ", hlen + pad, " bytes for shape ", npy_shape_string(shape),
                    " does not fit format 1.0 (at most 65535)");
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>((hlen + pad) & 0xFF);
    out += static_cast<char>((hlen + pad) >> 8);
    return out + dict + std::string(pad, ' ') + "\n";
}

}  // namespace tandem::detail

namespace tandem::io {

// The header of a .npy file: dtype, order, shape and where the data begins. A file that is
// not a .npy file, or whose header does not parse, is a tandem::Error naming it.
inline NpyHeader read_npy_header(const std::filesystem::path& path) {
    auto in = detail::open_npy(path);
    return detail::read_npy_header(in, path);
}

// A whole array of any rank in either order, converted to T as numpy's astype(T) converts
// (float16/32/64, integers and bool into a floating T; integers and bool into an integral T).
template <class T>
xt::xarray<T> load_npy(const std::filesystem::path& path) {
    detail::check_npy_element_type<T>();
    auto in = detail::open_npy(path);
    const NpyHeader h = detail::read_npy_header(in, path);
    const detail::NpyDtype d = detail::npy_readable_dtype(h, path);
    if (std::is_integral_v<T> && d.kind == 'f')
        detail::throw_error(path.string(), ": expected integer values, found ",
                            detail::npy_dtype_name(h.descr));
    detail::check_npy_complete(h, d, path);
    if (h.fortran_order) {
        xt::xarray<T, xt::layout_type::column_major> column_major(h.shape);
        detail::read_npy_elements(in, d, h.size(), column_major.data(), path);
        return column_major;
    }
    xt::xarray<T> out(h.shape);
    detail::read_npy_elements(in, d, h.size(), out.data(), path);
    return out;
}

// A 2-D float16/32/64 array in C order, read a range of rows at a time; the file stays
// open between reads, so a corpus larger than memory streams through in chunks.
class NpyMatrixReader {
public:
    explicit NpyMatrixReader(std::filesystem::path path)
        : path_(std::move(path)), in_(detail::open_npy(path_)), header_(detail::read_npy_header(in_, path_)) {
        dtype_ = detail::npy_readable_dtype(header_, path_);
        if (dtype_.kind != 'f')
            detail::throw_error(path_.string(),
                                ": expected float embeddings (float16, float32 or float64), found ",
                                detail::npy_dtype_name(header_.descr));
        if (header_.shape.size() != 2)
            detail::throw_error(path_.string(), ": expected a 2-D array [rows, dim], found shape ",
                                detail::npy_shape_string(header_.shape), " (", header_.shape.size(),
                                " dimensions)");
        if (header_.fortran_order && rows() > 1 && cols() > 1)
            detail::throw_error(path_.string(),
                                ": expected rows stored one after another (C order), found "
                                "fortran_order True; save np.ascontiguousarray(embeddings)");
        detail::check_npy_complete(header_, dtype_, path_);
    }

    const std::filesystem::path& path() const { return path_; }
    const NpyHeader& header() const { return header_; }
    std::size_t rows() const { return header_.shape[0]; }
    std::size_t cols() const { return header_.shape[1]; }

    // Rows [begin, end). [end - begin, cols]
    template <class T>
    xt::xtensor<T, 2> read_rows(std::size_t begin, std::size_t end) {
        static_assert(std::is_floating_point_v<T>, "NpyMatrixReader reads embeddings as float or double");
        if (begin > end || end > rows())
            detail::throw_error(path_.string(), ": rows [", begin, ", ", end,
                                "): expected 0 <= begin <= end <= ", rows());
        xt::xtensor<T, 2> out = xt::zeros<T>({end - begin, cols()});
        in_.clear();
        in_.seekg(static_cast<std::streamoff>(header_.data_offset + begin * cols() * dtype_.size));
        if (!in_) detail::throw_error(path_.string(), ": cannot seek to row ", begin);
        detail::read_npy_elements(in_, dtype_, out.size(), out.data(), path_);
        return out;
    }

private:
    std::filesystem::path path_;
    std::ifstream in_;
    NpyHeader header_;
    detail::NpyDtype dtype_{};
};

// A whole 2-D float array (embeddings [rows, dim]) as T.
template <class T>
xt::xtensor<T, 2> load_npy_matrix(const std::filesystem::path& path) {
    NpyMatrixReader reader(path);
    return reader.read_rows<T>(0, reader.rows());
}

// Rows [begin, end) of a 2-D float array, reading only those rows from disk.
template <class T>
xt::xtensor<T, 2> load_npy_rows(const std::filesystem::path& path, std::size_t begin, std::size_t end) {
    return NpyMatrixReader(path).read_rows<T>(begin, end);
}

// Writes the array as np.save writes it (byte for byte: format 1.0, C order, the same
// padding), to a temporary file renamed over `path` once complete.
template <class E>
void save_npy(const std::filesystem::path& path, const xt::xexpression<E>& expression) {
    using T = std::remove_cv_t<typename E::value_type>;
    const auto& e = expression.derived_cast();
    auto write = [&](const auto& a) {
        const std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
        const std::string header = detail::npy_header_bytes(npy_descr<T>(), shape);
        detail::atomic_write(path, [&](std::ostream& out) {
            out.write(header.data(), static_cast<std::streamsize>(header.size()));
            if constexpr (std::is_same_v<T, bool>) {
                for (const bool b : a) out.put(b ? '\x01' : '\x00');
            } else {
                out.write(reinterpret_cast<const char*>(a.data()),
                          static_cast<std::streamsize>(a.size() * sizeof(T)));
            }
        });
    };
    // A row-major container is written from its own memory; anything else is evaluated first.
    if constexpr (std::is_base_of_v<xt::xcontainer<E>, E> && E::static_layout == xt::layout_type::row_major)
        write(e);
    else
        write(xt::xarray<T, xt::layout_type::row_major>(e));
}

}  // namespace tandem::io
