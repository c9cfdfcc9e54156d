// What the CSV and JSONL readers share: UTF-8 checks that name the line, the choice of
// a column's type (labels by name, images by option or because the values name image
// files) and the lazy FieldSource over a RecordFile.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/detail/record_file.hpp>
#include <tandem/text/detail/utf8.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tandem::data {

// How a reader types the columns of a table file.
struct TableOptions {
    // Columns read as image paths (relative paths resolve against the file's folder).
    std::vector<std::string> image_columns;
    // Columns read as texts even when their values name image files.
    std::vector<std::string> text_columns;
    // Other columns become image columns when their first `detect_rows` values all name
    // existing image files.
    bool detect_images = true;
    std::size_t detect_rows = 16;
};

namespace detail {

// Throws, naming the line, when `record` (starting on `line`) is not UTF-8.
inline void check_utf8(std::string_view record, const RecordFile& file, std::uint64_t line) {
    for (std::size_t i = 0; i < record.size();) {
        if (static_cast<unsigned char>(record[i]) < 0x80) {
            i += 1;
            continue;
        }
        char32_t cp = 0;
        std::size_t bad = 0;
        const std::size_t n = tandem::detail::utf8_sequence(record, i, cp, bad);
        if (n == 0) {
            const auto at_line =
                line + static_cast<std::uint64_t>(std::count(record.begin(), record.begin() + i, '\n'));
            tandem::detail::throw_error(file.path().string(), " line ", at_line,
                                        ": invalid UTF-8: expected a valid sequence, found byte 0x", std::hex,
                                        static_cast<int>(static_cast<unsigned char>(record[i])));
        }
        i += n;
    }
}

inline bool has_image_extension(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    // torchvision's IMG_EXTENSIONS plus GIF and TGA, which image::load_image also reads.
    for (const char* e :
         {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif", ".tga"})
        if (ext == e) return true;
    return false;
}

inline std::filesystem::path resolve(const std::filesystem::path& base, const std::string& value) {
    std::filesystem::path p(value);
    return p.is_absolute() ? p : base / p;
}

inline bool names_image_file(const std::filesystem::path& base, const std::string& value) {
    if (value.empty()) return false;
    const auto p = resolve(base, value);
    std::error_code ec;
    return has_image_extension(p) && std::filesystem::is_regular_file(p, ec);
}

inline bool is_label_name(const std::string& name) {
    const auto& names = label_column_names();
    return std::find(names.begin(), names.end(), name) != names.end();
}

inline bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// Parses a whole string as an int64 or a float; empty when it is neither.
inline std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}
inline std::optional<float> parse_float(std::string_view s) {
    float v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// One field of a RecordFile's rows, split out on each read by `split`.
class RecordField final : public FieldSource {
public:
    using Split = std::function<std::string(const std::string& record, std::size_t row)>;
    RecordField(std::shared_ptr<const RecordFile> file, Split split)
        : file_(std::move(file)), split_(std::move(split)) {}
    std::size_t rows() const override { return file_->size(); }
    std::string field(std::size_t row) const override { return split_(file_->read(row), row); }
    std::string where(std::size_t row) const override { return file_->where(row); }

private:
    std::shared_ptr<const RecordFile> file_;
    Split split_;
};

// Whether column `name` of a table is read as images, given its first values.
inline bool is_image_column(const std::string& name, const std::vector<std::string>& first_values,
                            const std::filesystem::path& base, const TableOptions& o) {
    if (contains(o.image_columns, name)) return true;
    if (contains(o.text_columns, name) || !o.detect_images || first_values.empty()) return false;
    return std::all_of(first_values.begin(), first_values.end(),
                       [&](const std::string& v) { return names_image_file(base, v); });
}

// Names in `wanted` that are not among `names`: an option naming a missing column is an error.
inline void check_named(const std::vector<std::string>& wanted, const std::vector<std::string>& names,
                        const std::filesystem::path& file, const char* option) {
    for (const auto& w : wanted)
        if (!contains(names, w))
            tandem::detail::throw_error(file.string(), ": ", option, " names column '", w,
                                        "', which the file does not have");
}

}  // namespace detail
}  // namespace tandem::data
