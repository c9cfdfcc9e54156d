// What every fuzz target shares: the one failure a hostile input may cause is a
// tandem::Error. Anything else escaping (nlohmann's exceptions, std::length_error,
// std::bad_alloc) is a finding, and libFuzzer reports it as a crash with the input.
#pragma once

#include <tandem/core/error.hpp>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

namespace tandem::fuzz {

template <class F>
void expect_clean(F&& f) {
    try {
        std::forward<F>(f)();
    } catch (const tandem::Error&) {
        // the input was refused with a message: what a hostile file should get
    }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// The input split at its first NUL byte: a file (JSON cannot hold a raw NUL) and a
// text to run through what the file built.
inline std::pair<std::string_view, std::string_view> split_at_nul(std::string_view input) {
    const auto nul = input.find('\0');
    if (nul == std::string_view::npos) return {input, {}};
    return {input.substr(0, nul), input.substr(nul + 1)};
}

// A scratch folder of this process, for readers that only take paths.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("tandem-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), std::streamsize(bytes.size()));
}

}  // namespace tandem::fuzz
