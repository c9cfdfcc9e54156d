// Reading tokenizer.json: small helpers that turn a missing or mistyped key into
// a tandem::Error naming the file and the full key path ("model.merges[3]").
#pragma once

#include <tandem/core/error.hpp>

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

namespace tandem::detail {

using json = nlohmann::json;

// Where a JSON value lives: file name and key path, for error messages.
struct JsonPath {
    std::string file;
    std::string key;

    JsonPath operator/(const std::string& name) const {
        return {file, key.empty() ? name : key + "." + name};
    }
    JsonPath operator[](size_t index) const { return {file, key + "[" + std::to_string(index) + "]"}; }

    template <class... Parts>
    [[noreturn]] void fail(Parts&&... parts) const {
        throw_error(file, ": key '", key, "': ", std::forward<Parts>(parts)...);
    }
};

inline const json& json_at(const json& j, const JsonPath& at, const std::string& name) {
    if (!j.is_object()) at.fail("expected an object, found ", j.type_name());
    auto it = j.find(name);
    if (it == j.end()) (at / name).fail("missing");
    return *it;
}

inline std::string json_string(const json& j, const JsonPath& at, const std::string& name) {
    const json& v = json_at(j, at, name);
    if (!v.is_string()) (at / name).fail("expected a string, found ", v.type_name());
    return v.get<std::string>();
}

// A string or null; `fallback` when absent or null.
inline std::string json_optional_string(const json& j, const std::string& name,
                                        const std::string& fallback = "") {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return fallback;
    return it->get<std::string>();
}

inline bool json_bool(const json& j, const std::string& name, bool fallback) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_boolean()) return fallback;
    return it->get<bool>();
}

template <std::integral T>
T json_number(const json& j, const JsonPath& at, const std::string& name, T fallback) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number()) (at / name).fail("expected a number, found ", it->type_name());
    if constexpr (std::is_unsigned_v<T>)
        if (it->is_number_integer() && it->template get<std::int64_t>() < 0)
            (at / name).fail("expected a non-negative number, found ", it->dump());
    return it->get<T>();
}

inline std::string json_type(const json& j, const JsonPath& at) { return json_string(j, at, "type"); }

}  // namespace tandem::detail
