#include <tandem/text/pre_tokenizer.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tandem;
using namespace tandem::text;

namespace {

std::vector<std::string> run(const PreTokenizer& p, const std::string& text) {
    std::vector<std::u32string> pieces{detail::decode_utf8(text)};
    p.pre_tokenize(pieces);
    std::vector<std::string> out;
    for (const auto& piece : pieces) out.push_back(detail::to_utf8(piece));
    return out;
}

using V = std::vector<std::string>;

Split dash(SplitBehavior b, bool invert = false) { return Split(detail::Pattern::literal(U"-"), b, invert); }

}  // namespace

TEST_CASE("Split behaviours around the matches of a-b--c") {
    CHECK(run(dash(SplitBehavior::Removed), "a-b--c") == V{"a", "b", "c"});
    CHECK(run(dash(SplitBehavior::Isolated), "a-b--c") == V{"a", "-", "b", "-", "-", "c"});
    // A match joins the piece before it unless that piece was itself a match.
    CHECK(run(dash(SplitBehavior::MergedWithPrevious), "a-b--c") == V{"a-", "b-", "-", "c"});
    CHECK(run(dash(SplitBehavior::MergedWithNext), "a-b--c") == V{"a", "-b", "-", "-c"});
    CHECK(run(dash(SplitBehavior::Contiguous), "a-b--c") == V{"a", "-", "b", "--", "c"});
    CHECK(run(dash(SplitBehavior::Removed, true), "a-b--c") == V{"-", "-", "-"});
    CHECK(run(dash(SplitBehavior::Removed), "") == V{});
}

TEST_CASE("CLIP's expression keeps letter runs, single digits, symbol runs and contractions") {
    const Split clip(detail::Pattern(detail::Pattern::Kind::Clip), SplitBehavior::Removed, true);
    CHECK(run(clip, "a photo's 12 cats!? <|endoftext|>x") ==
          V{"a", "photo", "'s", "1", "2", "cats", "!?", "<|endoftext|>", "x"});
    // Contractions are case-sensitive; a mark is neither letter nor number.
    CHECK(run(clip, "IT'S e\xCC\x81") == V{"IT", "'", "S", "e", "\xCC\x81"});
    CHECK(run(clip, " \t ") == V{});
}

TEST_CASE("ByteLevel maps bytes to GPT-2's printable characters after the GPT-2 split") {
    // The space before a word stays with it; two spaces: the first stands alone.
    CHECK(run(ByteLevel(true), "hello  world") == V{"\xC4\xA0hello", "\xC4\xA0", "\xC4\xA0world"});
    CHECK(run(ByteLevel(false), "I've 3 dogs!!") == V{"I", "'ve",
                                                      "\xC4\xA0"
                                                      "3",
                                                      "\xC4\xA0"
                                                      "dogs",
                                                      "!!"});
    // é = C3 A9 → Ã ©; byte 0x01 → U+0101; byte 0x81 → U+0123.
    CHECK(run(ByteLevel(false, false), "\xC3\xA9\x01") == V{"\xC3\x83\xC2\xA9\xC4\x81"});
    CHECK(run(ByteLevel(false, false), "\xEF\xBD\x81") == V{"\xC3\xAF\xC2\xBD\xC4\xA3"});
    CHECK(detail::bytes_to_unicode()[' '] == U'\u0120');
}

TEST_CASE("Whitespace, WhitespaceSplit, Punctuation, BertPreTokenizer, Digits") {
    CHECK(run(Whitespace(), "Hello, world! foo_bar") == V{"Hello", ",", "world", "!", "foo_bar"});
    CHECK(run(WhitespaceSplit(), "  a\tb\u3000c  ") == V{"a", "b", "c"});
    CHECK(run(Punctuation(), "a.b,c") == V{"a", ".", "b", ",", "c"});
    CHECK(run(Punctuation(SplitBehavior::Contiguous), "a..b") == V{"a", "..", "b"});
    CHECK(run(BertPreTokenizer(), "Hey, you're $5!") == V{"Hey", ",", "you", "'", "re", "$", "5", "!"});
    CHECK(run(Digits(true), "abc123d4") == V{"abc", "1", "2", "3", "d", "4"});
    CHECK(run(Digits(false), "abc123d4") == V{"abc", "123", "d", "4"});
}

TEST_CASE("Metaspace replaces spaces, prepends the marker and splits before each") {
    CHECK(run(Metaspace(), "Hey there") == V{"\u2581Hey", "\u2581there"});
    CHECK(run(Metaspace(U'\u2581', Metaspace::PrependScheme::Never), "Hey there") == V{"Hey", "\u2581there"});
    CHECK(run(Metaspace(U'\u2581', Metaspace::PrependScheme::Always, false), "a b") == V{"\u2581a\u2581b"});
    PreTokenizerSequence t5({std::make_shared<WhitespaceSplit>(), std::make_shared<Metaspace>()});
    CHECK(run(t5, " a  b ") == V{"\u2581a", "\u2581b"});
}

TEST_CASE("pre_tokenizer_from_json reads the CLIP sequence and reports bad keys") {
    const auto j = json::parse(R"({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
         "behavior": "Removed", "invert": true},
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]})");
    auto p = pre_tokenizer_from_json(j, {"tokenizer.json", "pre_tokenizer"});
    CHECK(run(*p, "a cat's") == V{"a", "cat", "'s"});
    CHECK(p->to_json() == j);
    CHECK_THROWS_WITH_AS(
        pre_tokenizer_from_json(
            json::parse(R"({"type": "Split", "pattern": {"String": "-"}, "behavior": "Sideways"})"),
            {"tok.json", "pre_tokenizer"}),
        doctest::Contains("tok.json: key 'pre_tokenizer.behavior': unknown split behaviour 'Sideways'"),
        Error);
    CHECK_THROWS_WITH_AS(
        pre_tokenizer_from_json(json::parse(R"({"kind": "Split"})"), {"tok.json", "pre_tokenizer"}),
        doctest::Contains("key 'pre_tokenizer.type': missing"), Error);
}
