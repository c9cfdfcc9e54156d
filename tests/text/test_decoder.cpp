#include <tandem/text/decoder.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tandem;
using namespace tandem::text;

using Tokens = std::vector<std::string>;

TEST_CASE("ByteLevel decoder maps characters back to bytes") {
    CHECK(ByteLevelDecoder().decode({"\xC4\xA0hello", "\xC4\xA0world"}) == " hello world");
    CHECK(ByteLevelDecoder().decode({"\xC3\x83", "\xC2\xA9"}) == "\xC3\xA9");  // Ã © → é across tokens
    CHECK(ByteLevelDecoder().decode({"\xC3\x83"}) == "\xEF\xBF\xBD");          // a lone C3 byte → U+FFFD
}

TEST_CASE("WordPiece decoder joins continuations and cleans up spaces") {
    CHECK(WordPieceDecoder().decode({"un", "##aff", "##able", ".", "do", "n't"}) == "unaffable. don't");
    CHECK(WordPieceDecoder().decode({"hello", ",", "world", "!"}) == "hello, world!");
    CHECK(WordPieceDecoder("##", false).decode({"a", ",", "##b"}) == "a ,b");
}

TEST_CASE("Metaspace, BPE, Replace, Strip, Fuse and ByteFallback decoders") {
    CHECK(MetaspaceDecoder().decode({"\u2581Hello", "\u2581wor", "ld", "\u2581", "!"}) == "Hello world !");
    CHECK(MetaspaceDecoder(U'\u2581', Metaspace::PrependScheme::Never).decode({"\u2581a"}) == " a");
    CHECK(BPEDecoder().decode({"hel", "lo</w>", "world</w>"}) == "hello world");
    CHECK(ReplaceDecoder("\u2581", " ").decode({"\u2581a", "\u2581b"}) == " a b");
    CHECK(StripDecoder(U' ', 1, 0).decode({"  a", " b"}) == " ab");
    Tokens tokens{"a", "b"};
    FuseDecoder().decode_chain(tokens);
    CHECK(tokens == Tokens{"ab"});
    // The run C3 A9 FF is not UTF-8 as a whole: one U+FFFD per byte, as HF does.
    CHECK(ByteFallbackDecoder().decode({"a", "<0xC3>", "<0xA9>", "<0xFF>", "b"}) ==
          "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
          "b");
    CHECK(ByteFallbackDecoder().decode({"<0xC3>", "<0xA9>", "<0xZZ>"}) == "\xC3\xA9<0xZZ>");
}

TEST_CASE("decoder_from_json reads a sequence and names unknown types") {
    const auto j = json::parse(
        R"({"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})");
    const auto d = decoder_from_json(j, {"tokenizer.json", "decoder"});
    CHECK(d->decode({"\u2581Hi", "\u2581", "<0x21>"}) == "Hi !");
    CHECK_THROWS_WITH_AS(decoder_from_json(json::parse(R"({"type": "CTC2"})"), {"tokenizer.json", "decoder"}),
                         "tokenizer.json: key 'decoder.type': unknown decoder type 'CTC2'", Error);
}
