#include <tandem/text/detail/utf8.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace tandem;

TEST_CASE("decode_utf8 reads valid text and reports the byte offset of invalid bytes") {
    CHECK(detail::decode_utf8("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80") == U"a\u00E9\u4E2D\U0001F600");
    try {
        detail::decode_utf8(
            "abc\xFF"
            "def");
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("byte offset 3") != std::string::npos);
    }
    // A truncated sequence at the end, an overlong form, a surrogate.
    CHECK_THROWS_WITH_AS(detail::decode_utf8("ok\xE2\x82"), doctest::Contains("byte offset 2"), Error);
    CHECK_THROWS_WITH_AS(detail::decode_utf8("\xC0\xAF"), doctest::Contains("byte offset 0"), Error);
    CHECK_THROWS_WITH_AS(detail::decode_utf8("x\xED\xA0\x80"), doctest::Contains("byte offset 1"), Error);
}

TEST_CASE("decode_utf8 replaces bad bytes as Rust's from_utf8_lossy does") {
    // One U+FFFD per maximal invalid prefix: E2 82 is one (a valid prefix cut short),
    // C0 and AF are one each (C0 never starts a sequence), ED A0 80 three (A0 cannot follow ED).
    CHECK(detail::decode_utf8("ok\xE2\x82", true) == U"ok\uFFFD");
    CHECK(detail::decode_utf8("\xC0\xAF", true) == U"\uFFFD\uFFFD");
    CHECK(detail::decode_utf8("x\xED\xA0\x80y", true) == U"x\uFFFD\uFFFD\uFFFDy");
    CHECK(detail::decode_utf8("\xE2\x82(", true) == U"\uFFFD(");
}

TEST_CASE("append_utf8 round-trips every encoding length") {
    const std::u32string text = U"a\u00E9\u4E2D\U0001F600";
    CHECK(detail::decode_utf8(detail::to_utf8(text)) == text);
}

TEST_CASE("character classes follow the Unicode categories the HF crate uses") {
    CHECK(detail::is_letter(U'\u00E9'));
    CHECK(detail::is_letter(U'\u4E2D'));
    CHECK_FALSE(detail::is_letter(U'\u0301'));  // a mark, not a letter
    CHECK(detail::is_number(U'\u0663'));        // Arabic-Indic three
    CHECK(detail::is_number(U'\u00BD'));        // ½ is \p{No}
    CHECK(detail::is_whitespace(U'\u3000'));
    CHECK(detail::is_whitespace(U'\u0085'));
    CHECK_FALSE(detail::is_whitespace(U'\u200B'));        // zero width space is Cf, not White_Space
    CHECK(detail::is_bert_punctuation(U'$'));             // ASCII symbol counts for BERT
    CHECK(detail::is_bert_punctuation(U'\u3002'));        // 。
    CHECK_FALSE(detail::is_bert_punctuation(U'\u20AC'));  // € is Sc, not punctuation
    CHECK(detail::is_nonspacing_mark(U'\u0301'));
    CHECK(detail::is_other(U'\u200D'));        // Cf
    CHECK(detail::is_other(U'\uE000'));        // Co
    CHECK_FALSE(detail::is_other(U'\uFDD0'));  // noncharacter: unassigned, kept by HF
}

TEST_CASE("append_lowercase lowercases one character at a time") {
    std::u32string out;
    for (char32_t c : std::u32string(U"A\u0130\u03A3\u00C9")) detail::append_lowercase(out, c);
    CHECK(out == U"ai\u0307\u03C3\u00E9");  // İ → i + combining dot; Σ → σ even word-final
}
