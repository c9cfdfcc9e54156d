// Locates reference files under TANDEM_TEST_DATA (default: ../shared/data beside
// the source root). A test that cannot find its file reports itself as skipped,
// naming the file, instead of failing.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace tandem::testing {

inline std::filesystem::path test_data_root() {
    if (const char* env = std::getenv("TANDEM_TEST_DATA"); env && *env) return env;
    return std::filesystem::path(TANDEM_SOURCE_ROOT) / ".." / "shared" / "data";
}

// Returns the path when the file exists; otherwise prints "SKIPPED: ... needs <path>".
inline std::optional<std::filesystem::path> test_data(const std::string& relative) {
    auto path = test_data_root() / relative;
    if (std::filesystem::exists(path)) return path;
    MESSAGE("SKIPPED: this test needs " << path.string());
    return std::nullopt;
}

}  // namespace tandem::testing
