// JSON Lines: one JSON object per line, the same keys on every line (in the first
// line's order), as `datasets.load_dataset("json")` reads a sentence-transformers
// dataset. Integer values make an int64 label column, numbers with a fraction a float
// score column; strings are texts or image paths (TableOptions); blank lines are
// skipped. Texts stay in the file and are read back line by line.
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
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::data {

namespace detail {

inline nlohmann::ordered_json parse_json_line(const std::string& line, const std::string& where) {
    nlohmann::ordered_json j;
    try {
        j = nlohmann::ordered_json::parse(line);
    } catch (const nlohmann::json::exception& e) {
        tandem::detail::throw_error(where, ": not valid JSON (", e.what(), ")");
    }
    if (!j.is_object()) tandem::detail::throw_error(where, ": expected a JSON object, found ", j.type_name());
    return j;
}

}  // namespace detail

inline Dataset read_jsonl(const std::filesystem::path& path, const TableOptions& options = {}) {
    using tandem::detail::throw_error;
    auto file = std::make_shared<detail::RecordFile>(path);
    std::vector<std::string> keys;
    enum class Kind { string, integer, number };
    std::vector<Kind> kinds;
    std::vector<std::vector<double>> numbers;  // per numeric key
    std::vector<std::vector<std::int64_t>> integers;
    std::vector<std::vector<std::string>> sample;
    std::string record;
    std::uint64_t line = 1, begin = 0, size = 0;

    auto finish = [&](std::uint64_t end) {
        std::string body = record;
        record.clear();
        std::uint64_t body_end = end;
        if (!body.empty() && body.back() == '\r') body.pop_back(), --body_end;
        if (body.find_first_not_of(" \t") == std::string::npos) return;
        detail::check_utf8(body, *file, line);
        const std::string where = path.string() + " line " + std::to_string(line);
        const auto j = detail::parse_json_line(body, where);
        const bool first = keys.empty();
        if (first) {
            for (const auto& [k, v] : j.items()) {
                keys.push_back(k);
                kinds.push_back(v.is_number_integer() ? Kind::integer
                                : v.is_number()       ? Kind::number
                                                      : Kind::string);
            }
            if (keys.empty()) throw_error(where, ": the first object has no keys, expected the column names");
            numbers.resize(keys.size());
            integers.resize(keys.size());
        }
        if (j.size() != keys.size()) {
            for (const auto& [k, v] : j.items())
                if (!detail::contains(keys, k))
                    throw_error(where, ": key '", k, "' is not a column of line 1's object");
        }
        std::vector<std::string> strings(keys.size());
        for (std::size_t c = 0; c < keys.size(); ++c) {
            const auto it = j.find(keys[c]);
            if (it == j.end()) throw_error(where, ": missing key '", keys[c], "'");
            if (kinds[c] == Kind::string) {
                if (!it->is_string())
                    throw_error(where, ": key '", keys[c], "': expected a string, found ", it->type_name());
                strings[c] = it->get<std::string>();
                continue;
            }
            if (!it->is_number())
                throw_error(where, ": key '", keys[c], "': expected a number, found ", it->type_name());
            if (!it->is_number_integer()) kinds[c] = Kind::number;
            numbers[c].push_back(it->get<double>());
            if (kinds[c] == Kind::integer) integers[c].push_back(it->get<std::int64_t>());
        }
        if (sample.size() < options.detect_rows) sample.push_back(strings);
        file->add(begin, body_end, line);
    };
    file->scan([&](std::uint64_t offset, char c) {
        size = offset + 1;
        if (c == '\n') {
            finish(offset);
            begin = offset + 1;
            ++line;
        } else {
            record += c;
        }
    });
    if (!record.empty()) finish(size);
    if (keys.empty()) throw_error(path.string(), ": no JSON objects in the file, expected one per line");
    detail::check_named(options.image_columns, keys, path, "image_columns");
    detail::check_named(options.text_columns, keys, path, "text_columns");

    const auto base = path.parent_path();
    std::shared_ptr<const detail::RecordFile> shared = file;
    std::vector<Column> columns;
    for (std::size_t c = 0; c < keys.size(); ++c) {
        if (kinds[c] == Kind::integer) {
            columns.emplace_back(keys[c], std::move(integers[c]));
        } else if (kinds[c] == Kind::number) {
            columns.emplace_back(keys[c], std::vector<float>(numbers[c].begin(), numbers[c].end()));
        } else {
            std::vector<std::string> first;
            for (const auto& row : sample) first.push_back(row[c]);
            const bool image = detail::is_image_column(keys[c], first, base, options);
            auto split = [key = keys[c], shared](const std::string& rec, std::size_t row) {
                const auto j = detail::parse_json_line(rec, shared->where(row));
                const auto it = j.find(key);
                if (it == j.end() || !it->is_string())
                    tandem::detail::throw_error(
                        shared->where(row), ": key '", key,
                        "' is no longer a string (the file changed after it was read)");
                return it->template get<std::string>();
            };
            columns.emplace_back(keys[c],
                                 FileField{std::make_shared<detail::RecordField>(shared, split), base},
                                 image ? ColumnType::image : ColumnType::text);
        }
    }
    return Dataset(std::move(columns));
}

}  // namespace tandem::data
