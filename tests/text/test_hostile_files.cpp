// Tokenizer files written by an attacker: each finding of the first fuzzing probe,
// with its input made here, fails as one tandem::Error naming the file, the key path
// and the bad value, before anything is sized by it.
#include <tandem/text/tokenizer.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

using tandem::Tokenizer;
using tandem::text::json;

std::string error_of(const std::string& tokenizer_json) {
    try {
        (void)Tokenizer::from_json(json::parse(tokenizer_json), "tokenizer.json");
    } catch (const tandem::Error& e) {
        return e.what();
    }
    return "no error";
}

// A WordLevel tokenizer.json around one vocabulary and extra top-level keys.
std::string word_level(const std::string& vocab, const std::string& extra = "") {
    return R"({"model": {"type": "WordLevel", "vocab": )" + vocab + R"(, "unk_token": "[UNK]"})" + extra +
           "}";
}

const std::string kLimit = " (tandem's limit on token ids), found ";

}  // namespace

TEST_CASE("vocabulary ids that would wrap or ask for huge tables are refused") {
    // 4294967295 + 1 wrapped to 0 in Vocab::add's resize, then wrote past the end.
    CHECK(error_of(word_level(R"({"[UNK]": 0, "a": 4294967295})")) ==
          "tokenizer.json: key 'model.vocab[\"a\"]': expected an integer from 0 to 4194303" + kLimit +
              "4294967295");
    // 2^32 read as a uint32 became 0 and collided with [UNK].
    CHECK(error_of(word_level(R"({"[UNK]": 0, "a": 4294967296})")) ==
          "tokenizer.json: key 'model.vocab[\"a\"]': expected an integer from 0 to 4194303" + kLimit +
              "4294967296");
    // 4e9 fits a uint32 and asked for a 128 GB table; as a float it is not an id at all.
    CHECK(error_of(word_level(R"({"a": 4000000000})")).ends_with(kLimit + "4000000000"));
    CHECK(error_of(word_level(R"({"a": 4e9})")) ==
          "tokenizer.json: key 'model.vocab[\"a\"]': expected an integer, found number 4000000000.0");
    // Keys are data: a token with a dot or a quote is quoted, not mistaken for a path.
    CHECK(error_of(word_level(R"({"a.b\"c": -1})"))
              .starts_with(R"(tokenizer.json: key 'model.vocab["a.b\"c"]')"));
    // The limit holds for vocabularies built in code too.
    tandem::detail::Vocab v;
    CHECK_THROWS_WITH_AS(v.add("a", 4294967295u),
                         "vocabulary: token id 4294967295 is above tandem's limit of 4194303", tandem::Error);
}

TEST_CASE("added-token, template and unk ids are range-checked integers") {
    // 2^32 + 1 wrapped to 1 and shadowed [CLS].
    CHECK(error_of(word_level(R"({"[UNK]": 0, "[CLS]": 1})",
                              R"(, "added_tokens": [{"id": 4294967297, "content": "x"}])")) ==
          "tokenizer.json: key 'added_tokens[0].id': expected an integer from 0 to 4194303" + kLimit +
              "4294967297");

    const auto template_ids = [](const std::string& ids) {
        return word_level(R"({"[UNK]": 0, "[CLS]": 1})",
                          R"(, "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
                               "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": )" +
                              ids + R"(, "tokens": ["[CLS]"]}}})");
    };
    const std::string at = "tokenizer.json: key 'post_processor.special_tokens[\"[CLS]\"].ids[0]': ";
    CHECK(error_of(template_ids("[-1]")) == at + "expected an integer from 0 to 4194303" + kLimit + "-1");
    CHECK(error_of(template_ids("[1.7]")) == at + "expected an integer, found number 1.7");
    CHECK(error_of(template_ids("[4294967297]")) ==
          at + "expected an integer from 0 to 4194303" + kLimit + "4294967297");
    // Was nlohmann's bare "type must be number, but is string".
    CHECK(error_of(template_ids(R"(["x"])")) == at + "expected an integer, found string \"x\"");
    CHECK(error_of(template_ids("[1]")) == "no error");

    // A Unigram unk_id of 2^32 became 0 and passed the range check.
    CHECK(
        error_of(
            R"({"model": {"type": "Unigram", "vocab": [["<unk>", 0.0], ["a", -1.0]], "unk_id": 4294967296}})") ==
        "tokenizer.json: key 'model.unk_id': expected an integer from 0 to 4194303" + kLimit + "4294967296");
    CHECK(error_of(R"({"model": {"type": "Unigram", "vocab": [["<unk>", 0.0]], "unk_id": 1}})") ==
          "tokenizer.json: key 'model.unk_id': id 1 is outside the 1-piece vocabulary");
}

TEST_CASE("BPE dropout outside [0, 1] is an error, and dropout is not silently ignored") {
    const auto bpe = [](const std::string& dropout) {
        return R"({"model": {"type": "BPE", "dropout": )" + dropout +
               R"(, "vocab": {"a": 0}, "merges": []}})";
    };
    CHECK(error_of(bpe("7")) ==
          "tokenizer.json: key 'model.dropout': expected a probability from 0 to 1, found 7");
    CHECK(
        error_of(bpe("0.1")) ==
        "tokenizer.json: key 'model.dropout': BPE dropout is not implemented; expected null or 0, found 0.1");
    CHECK(error_of(bpe("null")) == "no error");
    CHECK(error_of(bpe("0.0")) == "no error");
}

TEST_CASE("padding and truncation: integer-only, limited, validated on load") {
    const auto padding = [](const std::string& strategy) {
        return word_level(
            R"({"[UNK]": 0})",
            R"(, "padding": {"strategy": )" + strategy +
                R"(, "direction": "Right", "pad_to_multiple_of": null, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"})");
    };
    // Was an escaping nlohmann::type_error.
    CHECK(error_of(padding(R"({"Fixed": "ten"})")) ==
          "tokenizer.json: key 'padding.strategy.Fixed': expected an integer, found string \"ten\"");
    // Would have allocated 1e10 ids per text.
    CHECK(error_of(padding(R"({"Fixed": 10000000000})")) ==
          "tokenizer.json: key 'padding.strategy.Fixed': expected an integer from 0 to 1048576 (tandem's "
          "limit on "
          "sequence lengths), found 10000000000");
    CHECK(error_of(padding(R"("Longest")")) ==
          "tokenizer.json: key 'padding.strategy': expected \"BatchLongest\" or {\"Fixed\": length}, found "
          "string "
          "\"Longest\"");
    auto fixed = Tokenizer::from_json(json::parse(padding(R"({"Fixed": 4})")));
    CHECK(fixed.encode("[UNK]").ids.size() == 4);

    const auto truncation = [](const std::string& body) {
        return word_level(R"({"[UNK]": 0})", R"(, "truncation": )" + body);
    };
    // Was read as 12.
    CHECK(error_of(truncation(
              R"({"max_length": 12.7, "stride": 0, "strategy": "LongestFirst", "direction": "Right"})")) ==
          "tokenizer.json: key 'truncation.max_length': expected an integer, found number 12.7");
    CHECK(error_of(truncation(
              R"({"max_length": 8, "stride": 0, "strategy": "Shortest", "direction": "Right"})")) ==
          "tokenizer.json: key 'truncation.strategy': expected LongestFirst, OnlyFirst or OnlySecond, found "
          "'Shortest'");
    // Was caught only when a text was encoded, without the file.
    CHECK(error_of(truncation(
              R"({"max_length": 8, "stride": 8, "strategy": "LongestFirst", "direction": "Right"})")) ==
          "tokenizer.json: key 'truncation.stride': stride 8 must be smaller than max_length 8 less the 0 "
          "special "
          "tokens");
    CHECK(error_of(truncation(
              R"({"max_length": 8, "stride": 7, "strategy": "LongestFirst", "direction": "Up"})")) ==
          "tokenizer.json: key 'truncation.direction': expected Left or Right, found 'Up'");
}

TEST_CASE("optional flags of the wrong type are errors, not their defaults") {
    CHECK(error_of(word_level(R"({"[UNK]": 0})",
                              R"(, "added_tokens": [{"id": 0, "content": "[UNK]", "special": "yes"}])")) ==
          "tokenizer.json: key 'added_tokens[0].special': expected a boolean, found string \"yes\"");
    CHECK(error_of(word_level(R"({"[UNK]": 0})",
                              R"(, "normalizer": {"type": "BertNormalizer", "lowercase": 1})")) ==
          "tokenizer.json: key 'normalizer.lowercase': expected a boolean, found number 1");
}

TEST_CASE("JSON nested deeper than any tokenizer.json is refused before parsing") {
    const auto path =
        std::filesystem::temp_directory_path() / ("tandem-deep-" + std::to_string(::getpid()) + ".json");
    std::ofstream(path) << std::string(100000, '[') << std::string(100000, ']');
    CHECK_THROWS_WITH_AS(Tokenizer::from_file(path),
                         (path.string() + ": JSON nested deeper than 128 levels (tandem's limit)").c_str(),
                         tandem::Error);
    std::filesystem::remove(path);
}

TEST_CASE("save goes through the atomic writer: a failed save leaves the old file and no temporary") {
    const auto dir = std::filesystem::temp_directory_path() / ("tandem-save-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto path = dir / "tokenizer.json";

    Tokenizer good = Tokenizer::from_json(json::parse(word_level(R"({"[UNK]": 0, "a": 1})")));
    good.save(path);
    CHECK(Tokenizer::from_file(path).encode("a").ids == std::vector<uint32_t>{1});

    // A token that is not UTF-8 cannot be written as JSON: the error names the file,
    // and the old tokenizer.json is still the whole good one.
    tandem::detail::Vocab bad_vocab;
    bad_vocab.add("\xff", 0);
    const Tokenizer bad(std::make_shared<tandem::text::WordLevel>(bad_vocab, "[UNK]"));
    CHECK_THROWS_WITH_AS(bad.save(path),
                         doctest::Contains((path.string() + ": cannot serialise JSON").c_str()),
                         tandem::Error);
    CHECK(Tokenizer::from_file(path).encode("a").ids == std::vector<uint32_t>{1});

    // The temporary file lives beside the target; a missing folder is the atomic writer's error.
    CHECK_THROWS_WITH_AS(good.save(dir / "absent" / "tokenizer.json"),
                         doctest::Contains("cannot create temporary file"), tandem::Error);
    CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) ==
          1);
    std::filesystem::remove_all(dir);
}
