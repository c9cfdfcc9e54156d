#include <tandem/text/wordpiece.hpp>

#include <tandem/text/tokenizer.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tandem;
using namespace tandem::text;

namespace {

using Ids = std::vector<uint32_t>;

// A BERT-shaped tokenizer (BertNormalizer, BertPreTokenizer, WordPiece, [CLS] $A [SEP]).
const char* kMiniBert = R"({
  "version": "1.0",
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
             {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
    "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
    "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "cafe": 4, "un": 5, "##aff": 6, "##able": 7, "中": 8,
              "文": 9, ",": 10, "!": 11, "a": 12, "##b": 13, "ａ": 14, "##ff": 15}}
})";

Ids tokenize(const Model& m, const std::string& word) {
    Ids ids;
    m.tokenize(word, ids);
    return ids;
}

}  // namespace

TEST_CASE("WordPiece takes the longest match from the left, or one unknown for the word") {
    const auto t = Tokenizer::from_json(json::parse(kMiniBert), "mini-bert.json");
    const Model& m = t.model();
    CHECK(tokenize(m, "unaffable") == Ids{5, 6, 7});  // "##aff" is longer than "##ff" would allow
    CHECK(tokenize(m, "ab") == Ids{12, 13});
    CHECK(tokenize(m, "abx") == Ids{1});  // a ##b, then nothing for "x": the whole word is unknown
    CHECK(tokenize(m, "b") == Ids{1});    // "b" exists only as a continuation
    const WordPiece short_words(detail::vocab_from_json(json::parse(R"({"[UNK]": 0, "a": 1, "##a": 2})"), {}),
                                "[UNK]", "##", 3);
    CHECK(tokenize(short_words, "aaa") == Ids{1, 2, 2});
    CHECK(tokenize(short_words, "aaaa") == Ids{0});  // longer than max_input_chars_per_word
    CHECK_THROWS_WITH_AS(
        WordPiece::from_json(json::parse(R"({"vocab": {"a": 0}, "max_input_chars_per_word": -1})"),
                             {"tokenizer.json", "model"}),
        "tokenizer.json: key 'model.max_input_chars_per_word': expected a non-negative integer, found -1",
        Error);
}

TEST_CASE("BERT-shaped tokenizer on hard cases, worked out by hand") {
    const auto t = Tokenizer::from_json(json::parse(kMiniBert), "mini-bert.json");
    const auto ids = [&](const std::string& s) { return t.encode(s, false).ids; };
    CHECK(ids("unaffable!") == Ids{5, 6, 7, 11});
    CHECK(ids("Caf\xC3\xA9") == Ids{4});                  // É stripped by NFD + drop Mn, then lowercased
    CHECK(ids("Cafe\xCC\x81") == Ids{4});                 // already decomposed
    CHECK(ids("\xE4\xB8\xAD\xE6\x96\x87") == Ids{8, 9});  // each ideograph padded with spaces: two words
    CHECK(ids("\x01"
              "a\tb") == Ids{12, 1});  // \x01 dropped, tab is a space, "b" alone is unknown
    CHECK(ids("ab") == Ids{12, 13});
    CHECK(ids("\xEF\xBC\xA1") == Ids{14});  // fullwidth Ａ: BERT lowercases, it does not apply NFKC
    // 👩‍💻: the ZWJ (Cf) is removed, the two emoji stay one word of symbols (So): unknown.
    CHECK(ids("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB") == Ids{1});
    CHECK(ids("") == Ids{});
    CHECK(ids(" \t\n ") == Ids{});
    CHECK(t.encode("").ids == Ids{2, 3});
    CHECK(ids("a [SEP] a") == Ids{12, 3, 12});  // special tokens match before normalisation
    CHECK(ids("[sep]") == Ids{1, 1, 1});        // ...case-sensitively: "[", "sep", "]"

    const auto pair = t.encode_pair("a", "ab");
    CHECK(pair.ids == Ids{2, 12, 3, 12, 13, 3});
    CHECK(pair.type_ids == Ids{0, 0, 0, 1, 1, 1});
    CHECK(pair.special_tokens_mask == Ids{1, 0, 1, 0, 0, 1});
    CHECK(t.decode({2, 5, 6, 7, 11, 3}) == "unaffable!");

    Tokenizer truncating = t;
    truncating.enable_truncation({512});
    std::string long_text;
    for (int i = 0; i < 600; ++i) long_text += "a ";
    Ids expected(512, 12);
    expected.front() = 2;
    expected.back() = 3;
    CHECK(truncating.encode(long_text).ids == expected);
}

TEST_CASE("pair truncation, longest first, and padding read from tokenizer.json") {
    auto j = json::parse(kMiniBert);
    // Nine tokens, three of them special, leave six for the pair: 5 + 3 becomes 3 + 3.
    j["truncation"] = {
        {"max_length", 9}, {"stride", 0}, {"strategy", "LongestFirst"}, {"direction", "Right"}};
    const auto nine = Tokenizer::from_json(j, "mini-bert.json");
    CHECK(nine.encode_pair("a a a a a", "a a a").ids == Ids{2, 12, 12, 12, 3, 12, 12, 12, 3});
    // Eight leave five: both halves would be 3, too many, so 5 / 2 = 2 for the shorter
    // text and 2 + 5 % 2 = 3 for the longer one.
    j["truncation"]["max_length"] = 8;
    const auto eight = Tokenizer::from_json(j, "mini-bert.json");
    const auto pair = eight.encode_pair("a a a a a", "a a a");
    CHECK(pair.ids == Ids{2, 12, 12, 12, 3, 12, 12, 3});
    CHECK(pair.type_ids == Ids{0, 0, 0, 0, 0, 1, 1, 1});
    j["truncation"] = {{"max_length", 8}, {"strategy", "OnlySecond"}};
    CHECK(Tokenizer::from_json(j, "mini-bert.json").encode_pair("a a a a", "a a a").ids ==
          Ids{2, 12, 12, 12, 12, 3, 12, 3});

    j["truncation"] = nullptr;
    j["padding"] = {{"strategy", {{"Fixed", 6}}}, {"direction", "Left"},  {"pad_id", 0},
                    {"pad_type_id", 0},           {"pad_token", "[PAD]"}, {"pad_to_multiple_of", nullptr}};
    const auto padded = Tokenizer::from_json(j, "mini-bert.json").encode("a");
    CHECK(padded.ids == Ids{0, 0, 0, 2, 12, 3});
    CHECK(padded.attention_mask == Ids{0, 0, 0, 1, 1, 1});
    j["padding"] = {{"strategy", "BatchLongest"}, {"pad_to_multiple_of", 4}, {"pad_id", 0}};
    const auto batch = Tokenizer::from_json(j, "mini-bert.json").encode_batch({"a", "a a a"});
    CHECK(batch[0].ids == Ids{2, 12, 3, 0, 0, 0, 0, 0});  // longest is 5, rounded up to 8
    CHECK(batch[1].ids == Ids{2, 12, 12, 12, 3, 0, 0, 0});
}
