#include <tandem/text/normalizer.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tandem;
using namespace tandem::text;

namespace {

std::u32string run(const Normalizer& n, std::u32string s) {
    n.normalize(s);
    return s;
}

std::string base64(const std::string& bytes) {
    static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned v =
            (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
        for (int k = 18; k >= 0; k -= 6) out += digits[(v >> k) & 63];
    }
    if (i < bytes.size()) {
        unsigned v = (unsigned char)bytes[i] << 16;
        if (i + 1 < bytes.size()) v |= (unsigned char)bytes[i + 1] << 8;
        out += digits[(v >> 18) & 63];
        out += digits[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? digits[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// A one-key charsmap "a" → "b": the root's offset is 1, so byte 0x61 lands on
// unit 1 ^ 0x61 = 96, which carries label 0x61, the leaf flag and offset 1; the
// value unit 96 ^ 1 = 97 holds 0, the start of "b\0" in the replacement blob.
std::string one_key_charsmap() {
    std::vector<uint32_t> units(98, 0);
    units[0] = 1u << 10;
    units[96] = (1u << 10) | (1u << 8) | 0x61;
    units[97] = 0;
    std::string blob;
    const auto put = [&](uint32_t v) {
        for (int k = 0; k < 4; ++k) blob += static_cast<char>((v >> (8 * k)) & 0xFF);
    };
    put(static_cast<uint32_t>(units.size() * 4));
    for (uint32_t u : units) put(u);
    blob += std::string("b\0", 2);
    return base64(blob);
}

}  // namespace

TEST_CASE("Unicode normal forms") {
    CHECK(run(UnicodeNormalizer(UnicodeForm::NFC), U"e\u0301") == U"\u00E9");
    CHECK(run(UnicodeNormalizer(UnicodeForm::NFD), U"\u00E9") == U"e\u0301");
    CHECK(run(UnicodeNormalizer(UnicodeForm::NFKC), U"\uFB01\uFF21") == U"fiA");       // ligature, fullwidth
    CHECK(run(UnicodeNormalizer(UnicodeForm::NFKD), U"\u2460\u00C5") == U"1A\u030A");  // ①, Å
    CHECK(run(UnicodeNormalizer(UnicodeForm::NFC), U"") == U"");
    // Canonical reordering: dot below (ccc 220) goes before acute (ccc 230).
    CHECK(run(UnicodeNormalizer(UnicodeForm::NFD), U"a\u0301\u0323") == U"a\u0323\u0301");
}

TEST_CASE("Lowercase, StripAccents, Strip, Replace, Prepend and Sequence") {
    CHECK(run(Lowercase(), U"HeLLo \u0130\u03A3") == U"hello i\u0307\u03C3");
    CHECK(run(StripAccents(), U"cafe\u0301 n\u0303") == U"cafe n");
    CHECK(run(Strip(true, true), U" \t a b \u3000") == U"a b");
    CHECK(run(Strip(false, true), U"  a  ") == U"  a");
    CHECK(run(Replace(detail::Pattern(detail::Pattern::Kind::WhitespaceRun), U" "),
              U"a \t\n b\u00A0\u00A0c ") == U"a b c ");
    CHECK(run(Replace(detail::Pattern::literal(U"``"), U"\""), U"``hi``") == U"\"hi\"");
    CHECK(run(Prepend(U"\u2581"), U"ab") == U"\u2581ab");
    CHECK(run(Prepend(U"\u2581"), U"") == U"");
    NormalizerSequence seq({std::make_shared<UnicodeNormalizer>(UnicodeForm::NFD),
                            std::make_shared<StripAccents>(), std::make_shared<Lowercase>()});
    CHECK(run(seq, U"\u00C9COLE") == U"ecole");
}

TEST_CASE("BertNormalizer cleans, spaces CJK, strips accents when lowercasing") {
    // \x01 dropped, tab → space, each ideograph padded, É → e.
    CHECK(run(BertNormalizer(), U"H\u00E9llo\tWorld\u0001\u4E2D\u6587") == U"hello world \u4E2D  \u6587 ");
    // Extension B ideographs are CJK too; U+200D (Cf) and U+FFFD are removed.
    CHECK(run(BertNormalizer(), U"\U00020000\u200D\uFFFD") == U" \U00020000 ");
    // strip_accents = false keeps accents even when lowercasing.
    CHECK(run(BertNormalizer(true, true, BertNormalizer::Accents::Keep, true), U"\u00C9") == U"\u00E9");
    CHECK(run(BertNormalizer(false, false, BertNormalizer::Accents::Default, false), U"A\u0001\u4E2D") ==
          U"A\u0001\u4E2D");
}

TEST_CASE("Precompiled charsmap lookup follows spm_precompiled, quirks included") {
    Precompiled p(one_key_charsmap(), "test");
    CHECK(run(p, U"cab") == U"cbb");
    // A grapheme under 6 bytes is looked up whole, and the shortest key that
    // prefixes it wins: "a" + acute (3 bytes) becomes "b", the accent dropped.
    CHECK(run(p, U"a\u0301") == U"b");
    // From 6 bytes on, each character is looked up alone and the marks survive.
    CHECK(run(p, U"a\u0301\u0301\u0301") == U"b\u0301\u0301\u0301");
    CHECK(run(p, U"") == U"");
}

TEST_CASE("normalizer_from_json builds each type and names the key of a bad one") {
    const auto j =
        json::parse(R"({"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
        {"type": "Replace", "pattern": {"String": "x"}, "content": "y"}, {"type": "Strip", "strip_left": false, "strip_right": true}]})");
    auto n = normalizer_from_json(j, {"tokenizer.json", "normalizer"});
    CHECK(run(*n, U"\uFF38 X ") == U"y y");
    CHECK(n->to_json() ==
          json::parse(R"({"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
        {"type": "Replace", "pattern": {"String": "x"}, "content": "y"}, {"type": "Strip", "strip_left": false, "strip_right": true}]})"));
    CHECK_THROWS_WITH_AS(
        normalizer_from_json(json::parse(R"({"type": "Sequence", "normalizers": [{"type": "Foo"}]})"),
                             {"tok.json", "normalizer"}),
        doctest::Contains("tok.json: key 'normalizer.normalizers[0].type': unknown normalizer type 'Foo'"),
        Error);
    CHECK_THROWS_WITH_AS(
        normalizer_from_json(
            json::parse(R"({"type": "Replace", "pattern": {"Regex": "[a-z]+"}, "content": ""})"),
            {"tok.json", "normalizer"}),
        doctest::Contains("key 'normalizer.pattern.Regex': unsupported regex '[a-z]+'"), Error);
    CHECK_THROWS_WITH_AS(
        normalizer_from_json(json::parse(R"({"type": "Precompiled", "precompiled_charsmap": "AAA*"})"),
                             {"tok.json", "normalizer"}),
        doctest::Contains("normalizer.precompiled_charsmap"), Error);
}
