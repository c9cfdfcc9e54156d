// Reading and writing the JSON files of a Hugging Face model folder (config.json,
// tokenizer_config.json, preprocessor_config.json, model.safetensors.index.json)
// with errors that name the file and the dotted key path, plus JsonObjectReader
// for typed fields with the defaults a Python class would fill in.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/detail/atomic_file.hpp>

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace tandem::detail {

// "string \"64\"", "number 1.5", "null": enough of the value to recognise it.
template <class Json>
std::string describe_json(const Json& value) {
    std::string shown;
    if (value.is_object() || value.is_array()) return std::string(value.type_name());
    try {
        shown = value.dump();
    } catch (const typename Json::exception&) {
        shown = "(invalid UTF-8)";
    }
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    if (value.is_null()) return "null";
    return std::string(value.type_name()) + " " + shown;
}

template <class T>
constexpr const char* json_type_wanted() {
    if constexpr (std::same_as<T, bool>)
        return "a boolean";
    else if constexpr (std::integral<T>)
        return "an integer";
    else if constexpr (std::floating_point<T>)
        return "a number";
    else if constexpr (std::same_as<T, std::string>)
        return "a string";
    else
        return "a JSON value";
}

// Converts one JSON value to T without the silent conversions nlohmann allows
// (bool to int, 64.5 to 64); `where` is the "file: key 'a.b'" prefix of the error.
template <class T>
T json_as(const nlohmann::json& value, const std::string& where) {
    const auto wrong = [&] {
        throw_error(where, ": expected ", json_type_wanted<T>(), ", found ", describe_json(value));
    };
    if constexpr (std::same_as<T, nlohmann::json>) {
        return value;
    } else if constexpr (std::same_as<T, bool>) {
        if (!value.is_boolean()) wrong();
        return value.template get<bool>();
    } else if constexpr (std::integral<T>) {
        if (value.is_number_unsigned()) {
            const auto v = value.template get<std::uint64_t>();
            if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                throw_error(where, ": value ", v, " is out of range for the field");
            return static_cast<T>(v);
        }
        if (value.is_number_integer()) {
            const auto v = value.template get<std::int64_t>();
            const bool out_of_range =
                v < 0 ? std::is_unsigned_v<T> || v < std::int64_t(std::numeric_limits<T>::min())
                      : std::uint64_t(v) > std::uint64_t(std::numeric_limits<T>::max());
            if (out_of_range) throw_error(where, ": value ", v, " is out of range for the field");
            return static_cast<T>(v);
        }
        wrong();
    } else if constexpr (std::floating_point<T>) {
        if (!value.is_number()) wrong();
        return value.template get<T>();
    } else if constexpr (std::same_as<T, std::string>) {
        if (!value.is_string()) wrong();
        return value.template get<std::string>();
    } else {
        static_assert(sizeof(T) == 0,
                      "json_as supports bool, integers, floating point, std::string and json");
    }
    return T{};
}

}  // namespace tandem::detail

namespace tandem::io {

// Parses a whole JSON file. Errors name the file, and for syntax errors the line
// and column nlohmann reports.
inline nlohmann::json read_json_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) detail::throw_error(path.string(), ": cannot open for reading");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) detail::throw_error(path.string(), ": read failed");
    try {
        return nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::parse_error& e) {
        detail::throw_error(path.string(), ": not valid JSON: ", e.what());
    }
}

// Writes `value` with the layout transformers' save_pretrained uses (indent 2,
// keys sorted, trailing newline), atomically.
inline void write_json_file(const std::filesystem::path& path, const nlohmann::json& value, int indent = 2) {
    std::string text;
    try {
        text = value.dump(indent) + "\n";
    } catch (const nlohmann::json::type_error& e) {
        detail::throw_error(path.string(), ": cannot serialise JSON: ", e.what());
    }
    atomic_write(path, text);
}

// Typed, located access to the fields of one JSON object. Every error says which
// file and which dotted key (text_config.hidden_size), what was expected and what
// was found.
class JsonObjectReader {
public:
    JsonObjectReader(const nlohmann::json& object, std::string file, std::string prefix = "")
        : object_(&object), file_(std::move(file)), prefix_(std::move(prefix)) {
        if (!object.is_object()) {
            detail::throw_error(file_, prefix_.empty() ? std::string() : ": key '" + prefix_ + "'",
                                ": expected a JSON object, found ", detail::describe_json(object));
        }
    }

    // The reader points into `object`: a temporary would dangle.
    JsonObjectReader(nlohmann::json&&, std::string, std::string = "") = delete;

    const nlohmann::json& json() const { return *object_; }
    const std::string& file() const { return file_; }

    // "config.json: key 'text_config.hidden_size'"
    std::string where(std::string_view key) const { return file_ + ": key '" + path(key) + "'"; }

    bool contains(std::string_view key) const { return object_->contains(key); }

    // Absent: the fallback. Present, even as null: must have type T.
    template <class T>
    T get(std::string_view key, T fallback) const {
        const auto it = object_->find(key);
        if (it == object_->end()) return fallback;
        return detail::json_as<T>(*it, where(key));
    }

    // For fields Python leaves as None: null reads as nullopt, absent as the fallback.
    template <class T>
    std::optional<T> get_optional(std::string_view key, std::optional<T> fallback = std::nullopt) const {
        const auto it = object_->find(key);
        if (it == object_->end()) return fallback;
        if (it->is_null()) return std::nullopt;
        return detail::json_as<T>(*it, where(key));
    }

    template <class T>
    T require(std::string_view key) const {
        const auto it = object_->find(key);
        if (it == object_->end()) detail::throw_error(where(key), ": required key is missing");
        return detail::json_as<T>(*it, where(key));
    }

    // The nested object under `key`; absent or null reads as an empty object.
    JsonObjectReader object(std::string_view key) const {
        static const nlohmann::json empty = nlohmann::json::object();
        const auto it = object_->find(key);
        if (it == object_->end() || it->is_null()) return JsonObjectReader(empty, file_, path(key));
        return JsonObjectReader(*it, file_, path(key));
    }

private:
    std::string path(std::string_view key) const {
        return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
    }

    const nlohmann::json* object_;
    std::string file_;
    std::string prefix_;
};

}  // namespace tandem::io
