// Column: one named column of a dataset, holding texts, images, a mix of both (each
// cell knows its modality, as sentence-transformers v6 allows for models that embed
// both), int64 labels or float scores. Text and image-path columns of a file read
// by `readers/` stay in the file: the column holds a FieldSource that reads row i on
// demand from an index of row offsets, so a file larger than memory still loads.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/image_ref.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace tandem::data {

enum class Modality { text, image };
enum class ColumnType { text, image, mixed, label, score };

inline const char* column_type_name(ColumnType t) {
    switch (t) {
        case ColumnType::text:
            return "text";
        case ColumnType::image:
            return "image";
        case ColumnType::mixed:
            return "mixed text/image";
        case ColumnType::label:
            return "int64 label";
        case ColumnType::score:
            return "float score";
    }
    return "unknown";
}

// A cell of a mixed column.
using Cell = std::variant<std::string, ImageRef>;

inline Modality modality(const Cell& c) { return c.index() == 0 ? Modality::text : Modality::image; }

// One field of every row of a file, read on demand (CSV, JSONL).
class FieldSource {
public:
    virtual ~FieldSource() = default;
    virtual std::size_t rows() const = 0;
    virtual std::string field(std::size_t row) const = 0;
    // "file.csv line 12": where an error message sends the user.
    virtual std::string where(std::size_t row) const = 0;
};

// A FieldSource read as texts, or as image paths resolved against `base`.
struct FileField {
    std::shared_ptr<const FieldSource> source;
    std::filesystem::path base;
};

class Column {
public:
    using Storage = std::variant<std::vector<std::string>, std::vector<ImageRef>, std::vector<Cell>,
                                 std::vector<std::int64_t>, std::vector<float>, FileField>;

    Column(std::string name, std::vector<std::string> texts)
        : name_(std::move(name)), type_(ColumnType::text), data_(std::move(texts)) {}
    Column(std::string name, std::vector<ImageRef> images)
        : name_(std::move(name)), type_(ColumnType::image), data_(std::move(images)) {}
    Column(std::string name, std::vector<Cell> cells)
        : name_(std::move(name)), type_(ColumnType::mixed), data_(std::move(cells)) {}
    Column(std::string name, std::vector<std::int64_t> labels)
        : name_(std::move(name)), type_(ColumnType::label), data_(std::move(labels)) {}
    Column(std::string name, std::vector<float> scores)
        : name_(std::move(name)), type_(ColumnType::score), data_(std::move(scores)) {}
    // `type` is text or image (paths relative to field.base).
    Column(std::string name, FileField field, ColumnType type)
        : name_(std::move(name)), type_(type), data_(std::move(field)) {
        if (type != ColumnType::text && type != ColumnType::image)
            detail::throw_error("column '", name_, "': a file field is read as text or image, not ",
                                column_type_name(type));
    }

    const std::string& name() const { return name_; }
    ColumnType type() const { return type_; }
    bool is_label() const { return type_ == ColumnType::label || type_ == ColumnType::score; }

    std::size_t size() const {
        return std::visit(
            [](const auto& v) -> std::size_t {
                if constexpr (std::is_same_v<std::decay_t<decltype(v)>, FileField>)
                    return v.source->rows();
                else
                    return v.size();
            },
            data_);
    }

    // The cell at `row` of a text, image or mixed column.
    Cell cell(std::size_t row) const {
        check_row(row);
        switch (data_.index()) {
            case 0:
                return std::get<0>(data_)[row];
            case 1:
                return std::get<1>(data_)[row];
            case 2:
                return std::get<2>(data_)[row];
            case 5: {
                const auto& f = std::get<FileField>(data_);
                std::string value = f.source->field(row);
                if (type_ == ColumnType::text) return value;
                std::filesystem::path p(value);
                return ImageRef(ImageFile{p.is_absolute() ? p : f.base / p});
            }
            default:
                detail::throw_error("column '", name_, "' holds ", column_type_name(type_),
                                    "s, expected texts or images");
        }
    }
    std::int64_t label(std::size_t row) const {
        check_row(row);
        if (type_ != ColumnType::label)
            detail::throw_error("column '", name_, "': expected int64 labels, found ",
                                column_type_name(type_));
        return std::get<3>(data_)[row];
    }
    float score(std::size_t row) const {
        check_row(row);
        if (type_ == ColumnType::label) return static_cast<float>(std::get<3>(data_)[row]);
        if (type_ != ColumnType::score)
            detail::throw_error("column '", name_, "': expected float scores, found ",
                                column_type_name(type_));
        return std::get<4>(data_)[row];
    }
    // Where row `row` came from, for error messages; empty for in-memory columns.
    std::string where(std::size_t row) const {
        if (const auto* f = std::get_if<FileField>(&data_)) return f->source->where(row);
        return {};
    }

    // The same cells under another name.
    Column renamed(std::string name) const {
        Column c = *this;
        c.name_ = std::move(name);
        return c;
    }
    // A copy of rows `rows` held in memory (file fields are read).
    Column gather(const std::vector<std::size_t>& rows) const {
        switch (type_) {
            case ColumnType::label:
                return Column(name_, pick<std::int64_t>(rows, [&](std::size_t r) { return label(r); }));
            case ColumnType::score:
                return Column(name_, pick<float>(rows, [&](std::size_t r) { return score(r); }));
            case ColumnType::text:
                return Column(name_,
                              pick<std::string>(rows, [&](std::size_t r) { return std::get<0>(cell(r)); }));
            case ColumnType::image:
                return Column(name_,
                              pick<ImageRef>(rows, [&](std::size_t r) { return std::get<1>(cell(r)); }));
            case ColumnType::mixed:
                break;
        }
        return Column(name_, pick<Cell>(rows, [&](std::size_t r) { return cell(r); }));
    }

private:
    template <class T, class F>
    static std::vector<T> pick(const std::vector<std::size_t>& rows, F get) {
        std::vector<T> out;
        out.reserve(rows.size());
        for (std::size_t r : rows) out.push_back(get(r));
        return out;
    }
    void check_row(std::size_t row) const {
        if (row >= size())
            detail::throw_error("column '", name_, "': row ", row, " is out of range (", size(), " rows)");
    }

    std::string name_;
    ColumnType type_;
    Storage data_;
};

}  // namespace tandem::data
