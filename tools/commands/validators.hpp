// CLI11 validators of the `tandem` options, with messages that name what was expected.
#pragma once

#include <exception>
#include <string>

#include <CLI/CLI.hpp>

namespace tandem::cli {

// A whole integer of at least `least` (0 or 1); CLI11 alone would let "-1" wrap around
// into an unsigned option.
inline CLI::Validator integer_at_least(long long least) {
    const std::string expected = least == 0 ? "a non-negative integer" : "a positive integer";
    return CLI::Validator(
        [least, expected](std::string& value) -> std::string {
            std::size_t used = 0;
            try {
                if (std::stoll(value, &used) >= least && used == value.size()) return "";
            } catch (const std::exception&) {
            }
            return "expected " + expected + ", found '" + value + "'";
        },
        "N");
}

}  // namespace tandem::cli
