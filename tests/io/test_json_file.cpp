#include <tandem/io/json_file.hpp>

#include <tandem/io/detail/atomic_file.hpp>

#include "error_message.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <string>

using tandem::io::JsonObjectReader;
using tandem::testing::error_message;
using tandem::testing::read_bytes;
using tandem::testing::TempDir;
using tandem::testing::write_bytes;

namespace {
bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("read_json_file names the file and the position of a syntax error") {
    TempDir dir;
    write_bytes(dir / "a.json", "{\n  \"x\": 1,\n  \"y\": }\n");
    const auto msg = error_message([&] { (void)tandem::io::read_json_file(dir / "a.json"); });
    CHECK(contains(msg, (dir / "a.json").string() + ": not valid JSON"));
    CHECK(contains(msg, "line 3"));
    write_bytes(dir / "b.json", R"({"x": [1, 2]})");
    CHECK(tandem::io::read_json_file(dir / "b.json").at("x").size() == 2);
}

TEST_CASE("write_json_file writes sorted keys, indent 2 and a final newline, like save_pretrained") {
    TempDir dir;
    tandem::io::write_json_file(dir / "c.json", {{"b", 1}, {"a", {{"d", true}}}});
    CHECK(read_bytes(dir / "c.json") == "{\n  \"a\": {\n    \"d\": true\n  },\n  \"b\": 1\n}\n");
    const auto msg = error_message([&] { tandem::io::write_json_file(dir / "d.json", {{"bad", "\xff"}}); });
    CHECK(contains(msg, "d.json: cannot serialise JSON"));
    CHECK(!std::filesystem::exists(dir / "d.json"));
}

TEST_CASE("JsonObjectReader reads typed fields with defaults and located errors") {
    const nlohmann::json j = {{"n", 3},          {"x", 0.5},         {"s", "gelu"}, {"b", true},
                              {"none", nullptr}, {"big", 1LL << 40}, {"neg", -1},   {"sub", {{"k", "v"}}}};
    const JsonObjectReader r(j, "cfg.json");
    CHECK(r.get<int>("n", 0) == 3);
    CHECK(r.get<double>("n", 0.0) == 3.0);  // an integer is a valid float value
    CHECK(r.get<double>("x", 0.0) == 0.5);
    CHECK(r.get<std::string>("s", "") == "gelu");
    CHECK(r.get<bool>("b", false));
    CHECK(r.get<int>("absent", 7) == 7);
    CHECK(!r.get_optional<int>("none", 4));
    CHECK(r.get_optional<int>("absent", 4) == 4);
    CHECK(r.require<std::int64_t>("big") == (1LL << 40));
    CHECK(r.object("sub").get<std::string>("k", "") == "v");
    CHECK(r.object("absent").json().empty());

    CHECK(error_message([&] { (void)r.get<int>("x", 0); }) ==
          "cfg.json: key 'x': expected an integer, found number 0.5");
    CHECK(error_message([&] { (void)r.get<int>("b", 0); }) ==
          "cfg.json: key 'b': expected an integer, found boolean true");
    CHECK(error_message([&] { (void)r.get<bool>("n", false); }) ==
          "cfg.json: key 'n': expected a boolean, found number 3");
    CHECK(error_message([&] { (void)r.get<int>("big", 0); }) ==
          "cfg.json: key 'big': expected an integer from -2147483648 to 2147483647, found 1099511627776");
    CHECK(error_message([&] { (void)r.get<unsigned>("neg", 0); }) ==
          "cfg.json: key 'neg': expected an integer from 0 to 4294967295, found -1");
    CHECK(error_message([&] { (void)r.require<int>("missing"); }) ==
          "cfg.json: key 'missing': required key is missing");
    CHECK(error_message([&] { (void)r.object("sub").require<int>("k"); }) ==
          "cfg.json: key 'sub.k': expected an integer, found string \"v\"");
    CHECK(error_message([&] { (void)r.object("s"); }) ==
          "cfg.json: key 's': expected a JSON object, found string \"gelu\"");
}

TEST_CASE("atomic_write replaces a file whole and cleans up after a failure") {
    TempDir dir;
    const auto path = dir / "f.txt";
    tandem::io::atomic_write(path, "first");
    CHECK(read_bytes(path) == "first");
    tandem::io::atomic_write(path, [](std::ostream& out) { out << "second"; });
    CHECK(read_bytes(path) == "second");
    CHECK_THROWS_AS(tandem::io::atomic_write(path,
                                             [](std::ostream& out) {
                                                 out << "partial";
                                                 throw std::runtime_error("interrupted");
                                             }),
                    std::runtime_error);
    CHECK(read_bytes(path) == "second");
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                        std::filesystem::directory_iterator{}) == 1);
    const auto msg = error_message([&] { tandem::io::atomic_write(dir / "no-such-dir" / "f.txt", "x"); });
    CHECK(contains(msg, "no-such-dir/f.txt: cannot create temporary file"));
}

TEST_CASE("one reader for every layer: integer-only, range-checked, the key path in every error") {
    using tandem::detail::json_integer;
    using tandem::detail::JsonPath;
    const JsonPath at{"tokenizer.json", "model"};
    CHECK((at / "vocab").entry("a.b").where() == "tokenizer.json: key 'model.vocab[\"a.b\"]'");
    CHECK((at / "merges")[3].where() == "tokenizer.json: key 'model.merges[3]'");
    CHECK(JsonPath{"config.json", ""}.where() == "config.json");
    CHECK(json_integer<std::uint32_t>(nlohmann::json(4294967295u), at) == 4294967295u);
    CHECK(error_message([&] { (void)json_integer<std::uint32_t>(nlohmann::json(4294967296u), at); }) ==
          "tokenizer.json: key 'model': expected an integer from 0 to 4294967295, found 4294967296");
    CHECK(error_message([&] { (void)json_integer<std::size_t>(nlohmann::json(12.7), at); }) ==
          "tokenizer.json: key 'model': expected an integer, found number 12.7");
    CHECK(error_message([&] { (void)json_integer<std::size_t>(nlohmann::json(12.0), at); }) ==
          "tokenizer.json: key 'model': expected an integer, found number 12.0");
    CHECK(error_message([&] { (void)json_integer<int>(nlohmann::json(9), at, 1, 8, "the limit"); }) ==
          "tokenizer.json: key 'model': expected an integer from 1 to 8 (the limit), found 9");
    CHECK(error_message([&] { (void)json_integer<std::int64_t>(nlohmann::json(-1), at, 0); }) ==
          "tokenizer.json: key 'model': expected a non-negative integer, found -1");
}

TEST_CASE("read_json_file refuses nesting deeper than the readers recurse") {
    TempDir dir;
    write_bytes(dir / "deep.json", std::string(129, '[') + std::string(129, ']'));
    CHECK(error_message([&] { (void)tandem::io::read_json_file(dir / "deep.json"); }) ==
          (dir / "deep.json").string() + ": JSON nested deeper than 128 levels (tandem's limit)");
    // Brackets inside strings are text, not nesting.
    write_bytes(dir / "text.json", "[\"" + std::string(200, '[') + "\\\"\"]");
    CHECK(tandem::io::read_json_file(dir / "text.json").at(0).get<std::string>().size() == 201);
}
