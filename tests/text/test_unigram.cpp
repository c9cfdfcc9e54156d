#include <tandem/text/unigram.hpp>

#include <tandem/text/tokenizer.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tandem;
using namespace tandem::text;

namespace {

using Ids = std::vector<uint32_t>;

// A T5-shaped tokenizer (WhitespaceSplit + Metaspace, Unigram, "$A </s>") whose
// scores make each Viterbi choice checkable by hand; min score -7, so an unknown
// character costs -17.
const char* kMiniT5 = R"({
  "version": "1.0",
  "added_tokens": [
    {"id": 0, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
      {"type": "Metaspace", "replacement": "▁", "str_rep": "▁", "add_prefix_space": true}]},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
             {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
    "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
  "decoder": {"type": "Metaspace", "replacement": "▁", "str_rep": "▁", "add_prefix_space": true},
  "model": {"type": "Unigram", "unk_id": 2, "vocab": [["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0],
    ["▁", -2.0], ["a", -3.0], ["▁a", -2.5], ["b", -3.0], ["ab", -4.0], ["▁ab", -7.0], ["é", -5.0], ["e", -3.0],
    ["\u0301", -4.0]]}
})";

}  // namespace

TEST_CASE("Unigram picks the best-scoring segmentation") {
    const auto t = Tokenizer::from_json(json::parse(kMiniT5), "mini-t5.json");
    Ids ids;
    // ▁ab: "▁a"+"b" = -5.5 beats "▁"+"ab" = -6, "▁ab" = -7 and "▁"+"a"+"b" = -8.
    t.model().tokenize(
        "\xE2\x96\x81"
        "ab",
        ids);
    CHECK(ids == Ids{5, 6});
    ids.clear();
    t.model().tokenize("abc", ids);  // "ab" (-4) + unknown c (-17)
    CHECK(ids == Ids{7, 2});
    ids.clear();
    t.model().tokenize("cc", ids);  // two unknowns fuse into one
    CHECK(ids == Ids{2});
}

TEST_CASE("T5-shaped tokenizer on hard cases, worked out by hand") {
    const auto t = Tokenizer::from_json(json::parse(kMiniT5), "mini-t5.json");
    const auto ids = [&](const std::string& s) { return t.encode(s, false).ids; };
    CHECK(ids("ab") == Ids{5, 6});
    CHECK(ids("a  b") == Ids{5, 3, 6});         // "▁a" (-2.5) beats "▁"+"a" (-5); "▁b" has no piece
    CHECK(ids("e\xCC\x81") == Ids{3, 10, 11});  // no normalizer here: NFD stays e + combining acute
    CHECK(ids("\xC3\xA9") == Ids{3, 9});        // precomposed é
    CHECK(ids("xyz") == Ids{3, 2});             // ▁ then one fused unknown
    CHECK(ids("\xE4\xB8\xAD\xE6\x96\x87") == Ids{3, 2});  // 中文
    CHECK(ids("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB") == Ids{3, 2});
    CHECK(ids("\x01") == Ids{3, 2});  // not whitespace: a word of one unknown
    CHECK(ids("") == Ids{});
    CHECK(ids(" \t\n") == Ids{});
    CHECK(t.encode(" \t\n").ids == Ids{1});
    CHECK(ids("a</s>b") == Ids{5, 1, 3, 6});
    CHECK(t.decode({5, 6, 3, 9, 1}) == "ab \xC3\xA9");
    CHECK(t.decode({5, 2, 1}, false) == "a<unk></s>");

    Tokenizer truncating = t;
    truncating.enable_truncation({512});
    std::string long_text;
    for (int i = 0; i < 600; ++i) long_text += "a ";
    Ids expected(512, 5);
    expected.back() = 1;
    CHECK(truncating.encode(long_text).ids == expected);
}

TEST_CASE("Unigram byte fallback and vocabulary errors") {
    const auto j = json::parse(R"({"type": "Unigram", "unk_id": 0, "byte_fallback": true,
        "vocab": [["<unk>", 0.0], ["a", -1.0], ["<0xC3>", -5.0], ["<0xA9>", -5.0]]})");
    const auto m = Unigram::from_json(j, {"tokenizer.json", "model"});
    Ids ids;
    m->tokenize("a\xC3\xA9", ids);
    CHECK(ids == Ids{1, 2, 3});
    ids.clear();
    m->tokenize("\xE4\xB8\xAD", ids);  // 中: E4 has no byte piece, so the unknown token
    CHECK(ids == Ids{0});
    CHECK_THROWS_WITH_AS(
        Unigram::from_json(json::parse(R"({"type": "Unigram", "vocab": [["a", -1.0], ["b"]]})"),
                           {"tokenizer.json", "model"}),
        doctest::Contains("tokenizer.json: key 'model.vocab[1]': expected [piece, score]"), Error);
}
