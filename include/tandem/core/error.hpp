// tandem::Error: the one exception type every user-facing failure throws.
// Messages name the file, key or line, what was expected and what was found,
// so a user can fix the input without a debugger.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace tandem {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {

// Builds a message from any streamable pieces: throw_error("file.json: key 'model': expected object, found ",
// t).
template <class... Parts>
[[noreturn]] void throw_error(Parts&&... parts) {
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    throw Error(out.str());
}

}  // namespace detail
}  // namespace tandem
