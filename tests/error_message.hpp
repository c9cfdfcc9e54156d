// The message of the tandem::Error a callable throws, for tests that check a message
// by its parts rather than whole.
#pragma once

#include <tandem/core/error.hpp>

#include <exception>
#include <string>

namespace tandem::testing {

// The message of the tandem::Error that f throws, or a marker that makes CHECKs fail.
template <class F>
std::string error_message(F&& f) {
    try {
        f();
    } catch (const tandem::Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<not a tandem::Error: ") + e.what() + ">";
    }
    return "<no exception>";
}

}  // namespace tandem::testing
