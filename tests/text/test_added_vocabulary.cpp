#include <tandem/text/added_vocabulary.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tandem;
using namespace tandem::text;

namespace {

// Segments as "text" or "#id" strings, for compact checks.
std::vector<std::string> split(const AddedVocabulary& v, const std::u32string& text,
                               bool normalized = false) {
    std::vector<Segment> segments;
    v.split(text, normalized, segments);
    std::vector<std::string> out;
    for (const auto& s : segments)
        out.push_back(s.id ? "#" + std::to_string(*s.id)
                           : detail::to_utf8(text.substr(s.begin, s.end - s.begin)));
    return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("added tokens match leftmost-longest and honour lstrip, rstrip and single_word") {
    AddedVocabulary v;
    v.add({"<mask>", 1, true, false, true, false, false});   // lstrip
    v.add({"<sep>", 2, true, false, false, true, false});    // rstrip
    v.add({"<sep>x", 3, true, false, false, false, false});  // longer, wins where it matches
    v.add({"hi", 4, false, true, false, false, false});      // single word
    v.add({"Hey", 5, false, false, false, false, true});     // matched after normalisation
    v.rebuild(nullptr);
    CHECK(split(v, U"a  <mask> b") == V{"a", "#1", " b"});
    CHECK(split(v, U"a<sep>  b") == V{"a", "#2", "b"});
    CHECK(split(v, U"<sep>x!") == V{"#3", "!"});
    CHECK(split(v, U"hi chip hi!") == V{"#4", " chip ", "#4", "!"});
    CHECK(split(v, U"Hey") == V{"Hey"});
    CHECK(split(v, U"Hey", true) == V{"#5"});
    CHECK(split(v, U"") == V{});
    CHECK(v.find(2)->content == "<sep>");
    CHECK(v.find("hi")->id == 4u);
}

TEST_CASE("normalized added tokens are matched in their normalised form") {
    AddedVocabulary v;
    v.add({"HEY", 7, false, false, false, false, true});
    const Lowercase lower;
    v.rebuild(&lower);
    CHECK(split(v, U"oh hey", true) == V{"oh ", "#7"});
    CHECK(added_token_from_json(json::parse(R"({"id": 3, "content": "[X]", "special": true})"), {"t", "a"})
              .normalized == false);
    CHECK_THROWS_WITH_AS(
        added_token_from_json(json::parse(R"({"id": -1, "content": "[X]"})"), {"t.json", "added_tokens[0]"}),
        doctest::Contains("t.json: key 'added_tokens[0].id': expected an integer from 0 to 4194303 (tandem's "
                          "limit on token ids), found -1"),
        Error);
}
