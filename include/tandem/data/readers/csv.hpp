// CSV and TSV files (RFC 4180): a header row, fields quoted with '"' when they hold the
// delimiter, a quote ("" inside quotes) or line breaks; CRLF or LF; a UTF-8 BOM is
// skipped; blank lines are ignored. What `datasets.load_dataset("csv")` reads for a
// sentence-transformers dataset. Columns named label, labels, score or scores hold
// int64 labels (all values integers) or float scores; text and image-path columns stay
// in the file and are read row by row (see detail/record_file.hpp).
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/detail/record_file.hpp>
#include <tandem/data/detail/table.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tandem::data {

struct CsvOptions : TableOptions {
    char delimiter = ',';
};

namespace detail {

// The fields of one record (without its line break); `where` names it in errors.
inline std::vector<std::string> split_csv_record(const std::string& record, char delimiter,
                                                 const std::string& where) {
    std::vector<std::string> fields(1);
    std::size_t i = 0;
    bool at_field_start = true;
    while (i < record.size()) {
        const char c = record[i];
        if (at_field_start && c == '"') {
            ++i;
            for (;;) {
                if (i >= record.size())
                    tandem::detail::throw_error(where, ": a quoted field is not closed (expected '\"')");
                if (record[i] == '"') {
                    if (i + 1 < record.size() && record[i + 1] == '"') {
                        fields.back() += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                fields.back() += record[i++];
            }
            if (i < record.size() && record[i] != delimiter) {
                tandem::detail::throw_error(where,
                                            ": expected the delimiter or the end of the row after a closing "
                                            "quote, found '",
                                            record[i], "'");
            }
            at_field_start = false;
            continue;
        }
        if (c == delimiter) {
            fields.emplace_back();
            at_field_start = true;
        } else {
            fields.back() += c;
            at_field_start = false;
        }
        ++i;
    }
    return fields;
}

}  // namespace detail

// Reads `path` into a Dataset; see CsvOptions and TableOptions for how columns are typed.
inline Dataset read_csv(const std::filesystem::path& path, const CsvOptions& options = {}) {
    using tandem::detail::throw_error;
    auto file = std::make_shared<detail::RecordFile>(path);
    const char delim = options.delimiter;

    // Pass 1: record boundaries (a line break outside quotes ends a record; "" toggles twice).
    std::uint64_t line = 1, begin = 0, begin_line = 1;
    bool quoted = false, have_header = false;
    std::vector<std::string> header;
    std::string record;
    std::vector<std::vector<std::string>> sample;  // first rows, for image detection
    std::vector<std::vector<std::string>> label_values;
    std::vector<std::size_t> label_cols;
    auto finish = [&](std::uint64_t end) {
        std::string body = record;
        std::uint64_t body_end = end;
        if (!body.empty() && body.back() == '\r') {
            body.pop_back();
            --body_end;
        }
        record.clear();
        if (body.empty()) return;
        // A UTF-8 byte order mark before the header is not part of the first name.
        if (!have_header && body.rfind("\xEF\xBB\xBF", 0) == 0) body.erase(0, 3);
        detail::check_utf8(body, *file, begin_line);
        const std::string where = path.string() + " line " + std::to_string(begin_line);
        auto fields = detail::split_csv_record(body, delim, where);
        if (!have_header) {
            header = std::move(fields);
            have_header = true;
            for (std::size_t c = 0; c < header.size(); ++c) {
                if (header[c].empty()) throw_error(where, ": header column ", c + 1, " has no name");
                for (std::size_t k = 0; k < c; ++k)
                    if (header[k] == header[c])
                        throw_error(where, ": header names column '", header[c], "' twice");
                if (detail::is_label_name(header[c])) label_cols.push_back(c);
            }
            label_values.resize(label_cols.size());
            return;
        }
        if (fields.size() != header.size())
            throw_error(where, ": expected ", header.size(), " fields as in the header, found ",
                        fields.size());
        for (std::size_t k = 0; k < label_cols.size(); ++k) label_values[k].push_back(fields[label_cols[k]]);
        if (sample.size() < options.detect_rows) sample.push_back(fields);
        file->add(begin, body_end, begin_line);
    };
    std::uint64_t size = 0;
    file->scan([&](std::uint64_t offset, char c) {
        size = offset + 1;
        if (c == '"') quoted = !quoted;
        if (c == '\n' && !quoted) {
            finish(offset);
            begin = offset + 1;
            begin_line = line + 1;
        } else {
            record += c;
        }
        if (c == '\n') ++line;
    });
    if (quoted)
        throw_error(path.string(), " line ", begin_line,
                    ": a quoted field is not closed at the end of the file");
    if (!record.empty()) finish(size);
    if (!have_header) throw_error(path.string(), ": the file is empty, expected a header row");
    detail::check_named(options.image_columns, header, path, "image_columns");
    detail::check_named(options.text_columns, header, path, "text_columns");

    const auto base = path.parent_path();
    std::shared_ptr<const detail::RecordFile> shared = file;
    std::vector<Column> columns;
    for (std::size_t c = 0; c < header.size(); ++c) {
        const auto label_at = std::find(label_cols.begin(), label_cols.end(), c);
        if (label_at != label_cols.end()) {
            const auto& values = label_values[static_cast<std::size_t>(label_at - label_cols.begin())];
            std::vector<std::int64_t> ints;
            std::vector<float> floats;
            bool integral = true;
            for (std::size_t r = 0; r < values.size(); ++r) {
                const std::string where = file->where(r) + ", column '" + header[c] + "'";
                if (values[r].empty()) throw_error(where, ": missing value, expected a number");
                const auto f = detail::parse_float(values[r]);
                if (!f) throw_error(where, ": expected a number, found '", values[r], "'");
                floats.push_back(*f);
                const auto i = integral ? detail::parse_int(values[r]) : std::nullopt;
                if (i)
                    ints.push_back(*i);
                else
                    integral = false;
            }
            if (integral)
                columns.emplace_back(header[c], std::move(ints));
            else
                columns.emplace_back(header[c], std::move(floats));
            continue;
        }
        std::vector<std::string> first;
        for (const auto& row : sample) first.push_back(row[c]);
        const bool image = detail::is_image_column(header[c], first, base, options);
        auto split = [c, delim, shared](const std::string& rec, std::size_t row) {
            auto fields = detail::split_csv_record(rec, delim, shared->where(row));
            if (c >= fields.size())
                tandem::detail::throw_error(shared->where(row), ": expected at least ", c + 1,
                                            " fields, found ", fields.size(),
                                            " (the file changed after it was read)");
            return std::move(fields[c]);
        };
        auto source = std::make_shared<detail::RecordField>(shared, split);
        columns.emplace_back(header[c], FileField{source, base},
                             image ? ColumnType::image : ColumnType::text);
    }
    return Dataset(std::move(columns));
}

inline Dataset read_tsv(const std::filesystem::path& path, CsvOptions options = {}) {
    options.delimiter = '\t';
    return read_csv(path, options);
}

}  // namespace tandem::data
