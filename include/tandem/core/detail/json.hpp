// The one checked JSON reader (and writer) behind every JSON file tandem touches:
// tokenizer.json, config.json, preprocessor_config.json, safetensors indexes. Values
// carry their location (file and key path, `model.vocab["abc"]`, `padding.strategy.Fixed`)
// so every error names it; integers are integer-only and range-checked, so 12.7 or
// 2^32 for a uint32 is an error rather than 12 or 0. It lives in core/ because text/,
// image/ and io/ all read JSON and none of them may include another.
#pragma once

#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/core/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace tandem::detail {

using json = nlohmann::json;

// "string \"64\"", "number 1.5", "null": enough of the value to recognise it.
template <class Json>
std::string describe_json(const Json& value) {
    if (value.is_object() || value.is_array()) return std::string(value.type_name());
    if (value.is_null()) return "null";
    std::string shown;
    try {
        shown = value.dump();
    } catch (const typename Json::exception&) {
        shown = "(invalid UTF-8)";
    }
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    return std::string(value.type_name()) + " " + shown;
}

// Where a JSON value lives: the file and the key path from its root.
struct JsonPath {
    std::string file;
    std::string key;

    // A field of the schema: `model.vocab`.
    JsonPath operator/(std::string_view field) const {
        return {file, key.empty() ? std::string(field) : key + "." + std::string(field)};
    }
    JsonPath operator[](std::size_t index) const { return {file, key + "[" + std::to_string(index) + "]"}; }
    // A key that is data, not schema (a token, a tensor name): quoted, so dots and
    // brackets in it cannot be mistaken for structure: `model.vocab["a.b"]`.
    JsonPath entry(std::string_view name) const {
        std::string quoted;
        try {
            quoted = json(std::string(name)).dump();
        } catch (const json::exception&) {
            quoted = "(invalid UTF-8)";
        }
        return {file, key + "[" + quoted + "]"};
    }

    // "config.json: key 'text_config.hidden_size'", or the file alone at the root.
    std::string where() const { return key.empty() ? file : file + ": key '" + key + "'"; }

    template <class... Parts>
    [[noreturn]] void fail(Parts&&... parts) const {
        throw_error(where(), ": ", std::forward<Parts>(parts)...);
    }
};

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

// An integer in [lo, hi]. Floats (12.7, and 12.0 too: Python writes ints without a
// point) and booleans are refused; `limit` says why hi is where it is when it is
// tandem's bound on a size rather than the type's.
template <std::integral T, class Json>
T json_integer(const Json& value, const JsonPath& at, T lo = std::numeric_limits<T>::min(),
               T hi = std::numeric_limits<T>::max(), std::string_view limit = {}) {
    if (value.is_boolean() || !value.is_number_integer())
        at.fail("expected an integer, found ", describe_json(value));
    bool inside = false;
    if (value.is_number_unsigned()) {
        const auto v = value.template get<std::uint64_t>();
        inside = !std::cmp_less(v, lo) && !std::cmp_greater(v, hi);
    } else {
        const auto v = value.template get<std::int64_t>();
        inside = !std::cmp_less(v, lo) && !std::cmp_greater(v, hi);
    }
    if (!inside) {
        // A 64-bit bound says nothing a reader needs: "non-negative" is the whole rule.
        if (lo == 0 && hi == std::numeric_limits<T>::max() && sizeof(T) == 8)
            at.fail("expected a non-negative integer, found ", value.dump());
        at.fail("expected an integer from ", +lo, " to ", +hi,
                limit.empty() ? std::string() : " (" + std::string(limit) + ")", ", found ", value.dump());
    }
    return value.template get<T>();
}

// Converts one JSON value to T without the silent conversions nlohmann allows
// (bool to int, 64.5 to 64, 2^32 to 0 in a uint32).
template <class T, class Json>
T json_as(const Json& value, const JsonPath& at) {
    if constexpr (std::same_as<T, Json>) {
        return value;
    } else if constexpr (std::same_as<T, bool>) {
        if (!value.is_boolean()) at.fail("expected a boolean, found ", describe_json(value));
        return value.template get<bool>();
    } else if constexpr (std::integral<T>) {
        return json_integer<T>(value, at);
    } else if constexpr (std::floating_point<T>) {
        if (!value.is_number()) at.fail("expected a number, found ", describe_json(value));
        const auto v = value.template get<double>();
        if (!std::isfinite(static_cast<T>(v)))
            at.fail("expected a finite number, found ", describe_json(value));
        return static_cast<T>(v);
    } else if constexpr (std::same_as<T, std::string>) {
        if (!value.is_string()) at.fail("expected a string, found ", describe_json(value));
        return value.template get<std::string>();
    } else {
        static_assert(sizeof(T) == 0,
                      "json_as supports bool, integers, floating point, std::string and json");
    }
}

// --- Field access in the tokenizers' style: null reads as absent (serde's None) ---

inline const json& json_at(const json& j, const JsonPath& at, std::string_view name) {
    if (!j.is_object()) at.fail("expected an object, found ", describe_json(j));
    auto it = j.find(name);
    if (it == j.end()) (at / name).fail("missing");
    return *it;
}

inline std::string json_string(const json& j, const JsonPath& at, std::string_view name) {
    return json_as<std::string>(json_at(j, at, name), at / name);
}

// `fallback` when `name` is absent or null; any other value must have type T.
template <class T>
T json_value_or(const json& j, const JsonPath& at, std::string_view name, T fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    return json_as<T>(*it, at / name);
}

inline std::string json_optional_string(const json& j, const JsonPath& at, std::string_view name,
                                        const std::string& fallback = "") {
    return json_value_or<std::string>(j, at, name, fallback);
}

inline bool json_bool(const json& j, const JsonPath& at, std::string_view name, bool fallback) {
    return json_value_or<bool>(j, at, name, fallback);
}

// An integer field in [lo, hi]; `fallback` when absent or null.
template <std::integral T>
T json_number(const json& j, const JsonPath& at, std::string_view name, T fallback,
              T lo = std::numeric_limits<T>::min(), T hi = std::numeric_limits<T>::max(),
              std::string_view limit = {}) {
    if (!j.is_object()) return fallback;
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    return json_integer<T>(*it, at / name, lo, hi, limit);
}

inline std::string json_type(const json& j, const JsonPath& at) { return json_string(j, at, "type"); }

// --- Objects in the config.json style: null is a value of the wrong type ---

// Typed, located access to the fields of one JSON object, with the defaults a
// Python class fills in for absent keys.
class JsonObjectReader {
public:
    JsonObjectReader(const nlohmann::json& object, std::string file, std::string prefix = "")
        : object_(&object), at_{std::move(file), std::move(prefix)} {
        if (!object.is_object()) at_.fail("expected a JSON object, found ", describe_json(object));
    }

    // The reader points into `object`: a temporary would dangle.
    JsonObjectReader(nlohmann::json&&, std::string, std::string = "") = delete;

    const nlohmann::json& json() const { return *object_; }
    const std::string& file() const { return at_.file; }
    JsonPath path(std::string_view key) const { return at_ / key; }
    // "config.json: key 'text_config.hidden_size'"
    std::string where(std::string_view key) const { return path(key).where(); }

    bool contains(std::string_view key) const { return object_->contains(key); }

    // Absent: the fallback. Present, even as null: must have type T.
    template <class T>
    T get(std::string_view key, T fallback) const {
        const auto it = object_->find(key);
        if (it == object_->end()) return fallback;
        return json_as<T>(*it, path(key));
    }

    // For fields Python leaves as None: null reads as nullopt, absent as the fallback.
    template <class T>
    std::optional<T> get_optional(std::string_view key, std::optional<T> fallback = std::nullopt) const {
        const auto it = object_->find(key);
        if (it == object_->end()) return fallback;
        if (it->is_null()) return std::nullopt;
        return json_as<T>(*it, path(key));
    }

    template <class T>
    T require(std::string_view key) const {
        const auto it = object_->find(key);
        if (it == object_->end()) path(key).fail("required key is missing");
        return json_as<T>(*it, path(key));
    }

    // The nested object under `key`; absent or null reads as an empty object.
    JsonObjectReader object(std::string_view key) const {
        static const nlohmann::json empty = nlohmann::json::object();
        const auto it = object_->find(key);
        if (it == object_->end() || it->is_null()) return JsonObjectReader(empty, at_.file, path(key).key);
        return JsonObjectReader(*it, at_.file, path(key).key);
    }

private:
    const nlohmann::json* object_;
    JsonPath at_;
};

// --- Files ---

// Deeper nesting than any real file has; the limit keeps the recursive readers
// (normalizer and pre-tokenizer sequences, dump()) from exhausting the stack.
inline constexpr std::size_t kMaxJsonDepth = 128;

// Rejects nesting deeper than `max_depth` in one pass over the text, before parsing.
inline void check_json_depth(std::string_view text, const std::string& file, std::size_t max_depth) {
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                throw_error(file, ": JSON nested deeper than ", max_depth, " levels (tandem's limit)");
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
}

// Parses JSON text; errors name `file` and, for syntax errors, the position nlohmann reports.
inline json parse_json(std::string_view text, const std::string& file) {
    check_json_depth(text, file, kMaxJsonDepth);
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        throw_error(file, ": not valid JSON: ", e.what());
    }
}

inline std::string read_file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_error(path.string(), ": cannot open for reading");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw_error(path.string(), ": read failed");
    return text.str();
}

inline json read_json_file(const std::filesystem::path& path) {
    return parse_json(read_file_bytes(path), path.string());
}

// dump() throws nlohmann's type_error on a string that is not UTF-8.
inline std::string dump_json(const json& value, const std::string& file, int indent) {
    try {
        return value.dump(indent);
    } catch (const json::type_error& e) {
        throw_error(file, ": cannot serialise JSON: ", e.what());
    }
}

// Writes `value` with the layout transformers' save_pretrained uses (indent 2, keys
// sorted, trailing newline) through the atomic writer.
inline void write_json_file(const std::filesystem::path& path, const json& value, int indent = 2) {
    atomic_write(path, dump_json(value, path.string(), indent) + "\n");
}

}  // namespace tandem::detail
