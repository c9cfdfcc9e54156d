#include <tandem/core/error.hpp>

#include <doctest/doctest.h>

TEST_CASE("throw_error joins its parts into the message") {
    try {
        tandem::detail::throw_error("file.json: key 'model': expected ", 3, " found ", 4.5);
        FAIL("no exception");
    } catch (const tandem::Error& e) {
        CHECK(std::string(e.what()) == "file.json: key 'model': expected 3 found 4.5");
    }
}
