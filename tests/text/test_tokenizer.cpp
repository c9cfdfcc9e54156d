#include <tandem/text/tokenizer.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_data.hpp"

namespace {

using tandem::Tokenizer;

struct Reference {
    std::string id, text;
    std::vector<uint32_t> ids, ids_no_special;
    std::string decoded;
};

std::vector<Reference> read_references(const std::filesystem::path& path) {
    std::vector<Reference> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        out.push_back({j["id"], j["text"], j["ids"], j["ids_no_special"], j.value("decoded", "")});
    }
    return out;
}

// A scratch folder holding copies of some reference files, without tokenizer.json.
std::filesystem::path legacy_folder(const std::string& name, std::initializer_list<const char*> files) {
    const auto dir = std::filesystem::temp_directory_path() / ("tandem-test-" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto src = tandem::testing::test_data_root() / "tokenizers" / name;
    for (const char* f : files) std::filesystem::copy_file(src / f, dir / f);
    return dir;
}

// Every reference string encodes to the HF Rust library's ids, with and without
// special tokens; `folder` loads an older layout instead of tokenizer.json.
void check_parity(const std::string& name, size_t max_length,
                  std::initializer_list<const char*> folder = {}) {
    auto dir = tandem::testing::test_data("tokenizers/" + name + "/tokenizer.json");
    auto refs_path = tandem::testing::test_data("tokenizers/" + name + "/reference_public.jsonl");
    if (!dir || !refs_path) return;
    Tokenizer plain =
        folder.size() ? Tokenizer::from_file(legacy_folder(name, folder)) : Tokenizer::from_file(*dir);
    Tokenizer truncating = plain;
    truncating.enable_truncation({max_length});
    const auto refs = read_references(*refs_path);
    size_t ok = 0, ok_plain = 0, ok_decoded = 0;
    for (const auto& r : refs) {
        const auto ids = truncating.encode(r.text).ids;
        const auto plain_ids = plain.encode(r.text, false).ids;
        ok += ids == r.ids;
        ok_plain += plain_ids == r.ids_no_special;
        ok_decoded += plain.decode(r.ids_no_special) == r.decoded;
        if (ids != r.ids || plain_ids != r.ids_no_special)
            MESSAGE(name << " " << r.id << " differs: " << r.text);
    }
    MESSAGE(name << ": " << ok << "/" << refs.size() << " ids, " << ok_plain << "/" << refs.size()
                 << " ids_no_special, " << ok_decoded << " decoded");
    CHECK(refs.size() > 100);
    CHECK(ok == refs.size());
    CHECK(ok_plain == refs.size());
    CHECK(ok_decoded == refs.size());
}

}  // namespace

TEST_CASE("CLIP tokenizer.json matches Hugging Face on every public reference") {
    check_parity("clip-vit-base-patch32", 77);
}
TEST_CASE("BERT tokenizer.json matches Hugging Face on every public reference") {
    check_parity("bert-base-uncased", 512);
}
TEST_CASE("T5 Unigram tokenizer.json matches Hugging Face on every public reference") {
    check_parity("t5-small", 512);
}

TEST_CASE("CLIP vocab.json + merges.txt gives the same ids as tokenizer.json") {
    check_parity("clip-vit-base-patch32", 77,
                 {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"});
}
TEST_CASE("BERT vocab.txt gives the same ids as tokenizer.json") {
    check_parity("bert-base-uncased", 512, {"vocab.txt", "tokenizer_config.json"});
}

TEST_CASE("a folder picks tokenizer.json first and reads model_max_length") {
    auto dir = tandem::testing::test_data("tokenizers/clip-vit-base-patch32/tokenizer.json");
    if (!dir) return;
    const auto t = Tokenizer::from_file(dir->parent_path());
    CHECK(t.model_max_length() == 77u);
    CHECK(t.encode("a photo").ids == std::vector<uint32_t>{49406, 320, 1125, 49407});
    CHECK(t.vocab_size() == 49408);
    CHECK(t.token_to_id("<|endoftext|>") == 49407u);
    CHECK(t.id_to_token(320) == "a</w>");
    CHECK_THROWS_WITH_AS(Tokenizer::from_file(std::filesystem::temp_directory_path()),
                         doctest::Contains("no tokenizer found"), tandem::Error);
}

TEST_CASE("batch encoding runs in parallel and keeps the input order") {
    auto path = tandem::testing::test_data("tokenizers/clip-vit-base-patch32/tokenizer.json");
    if (!path) return;
    auto t = Tokenizer::from_file(*path);
    std::vector<std::string> texts;
    for (int i = 0; i < 1000; ++i)
        texts.push_back("caption number " + std::to_string(i) + std::string(i % 7, '!'));
    const auto batch = t.encode_batch(texts);
    REQUIRE(batch.size() == texts.size());
    size_t same = 0;
    for (size_t i = 0; i < texts.size(); ++i) same += batch[i].ids == t.encode(texts[i]).ids;
    CHECK(same == texts.size());

    tandem::text::PaddingParams pad;
    pad.pad_id = 49407;
    t.enable_padding(pad);
    const auto padded = t.encode_batch({"a", "a photo of a cat"});
    CHECK(padded[0].ids == std::vector<uint32_t>{49406, 320, 49407, 49407, 49407, 49407, 49407});
    CHECK(padded[0].attention_mask == std::vector<uint32_t>{1, 1, 1, 0, 0, 0, 0});
    CHECK(padded[1].attention_mask == std::vector<uint32_t>(7, 1));
}

namespace {

std::string write_temp(const std::string& name, const std::string& content) {
    const auto path = std::filesystem::temp_directory_path() / name;
    std::ofstream(path) << content;
    return path.string();
}

std::string error_of(const std::string& path) {
    try {
        Tokenizer::from_file(path);
    } catch (const tandem::Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("malformed tokenizer.json files are reported with file and key") {
    const auto no_model = write_temp("tandem-no-model.json", R"({"version": "1.0", "normalizer": null})");
    CHECK(error_of(no_model) == no_model + ": key 'model': missing");

    const auto unknown =
        write_temp("tandem-unknown-model.json", R"({"model": {"type": "Transformer", "vocab": {}}})");
    CHECK(error_of(unknown) ==
          unknown +
              ": key 'model.type': unknown model type 'Transformer': expected BPE, WordPiece, "
              "Unigram or WordLevel");

    const auto merges = write_temp(
        "tandem-bad-merges.json",
        R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "ab"]}})");
    CHECK(error_of(merges) ==
          merges + ": key 'model.merges[1]': expected two tokens separated by one space, found 'ab'");

    const auto pre = write_temp(
        "tandem-bad-pre.json",
        R"({"model": {"type": "WordLevel", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Nope"}})");
    CHECK(error_of(pre) == pre + ": key 'pre_tokenizer.type': unknown pre-tokenizer type 'Nope'");

    const auto vocab =
        write_temp("tandem-bad-vocab.json", R"({"model": {"type": "WordPiece", "vocab": {"a": "zero"}}})");
    CHECK(error_of(vocab) ==
          vocab + ": key 'model.vocab[\"a\"]': expected an integer, found string \"zero\"");

    const auto added =
        write_temp("tandem-bad-added.json",
                   R"({"model": {"type": "WordLevel", "vocab": {"a": 0}}, "added_tokens": [{"id": 1}]})");
    CHECK(error_of(added) == added + ": key 'added_tokens[0].content': missing");

    const auto broken = write_temp("tandem-broken.json", R"({"model": )");
    CHECK(error_of(broken).rfind(broken + ": not valid JSON", 0) == 0);
    CHECK(error_of("/nonexistent/tokenizer.json") == "/nonexistent/tokenizer.json: cannot open for reading");
}

TEST_CASE("text that is not UTF-8 fails with its byte offset, or is repaired on request") {
    auto path = tandem::testing::test_data("tokenizers/bert-base-uncased/tokenizer.json");
    if (!path) return;
    auto t = Tokenizer::from_file(*path);
    CHECK_THROWS_WITH_AS(t.encode("caf\xC3 ok"),
                         "invalid UTF-8 at byte offset 3: expected a valid sequence, found byte 0xc3",
                         tandem::Error);
    CHECK_THROWS_WITH_AS(t.encode_batch({"fine", "bad \xFF"}), doctest::Contains("byte offset 4"),
                         tandem::Error);
    t.set_invalid_utf8(tandem::text::InvalidUtf8::Replace);
    CHECK(t.encode("caf\xC3 ok", false).ids == t.encode("caf\xEF\xBF\xBD ok", false).ids);
}

TEST_CASE("save writes a tokenizer.json that loads back to the same tokenizer") {
    for (const char* name : {"clip-vit-base-patch32", "bert-base-uncased", "t5-small"}) {
        auto path = tandem::testing::test_data(std::string("tokenizers/") + name + "/tokenizer.json");
        if (!path) return;
        const auto t = Tokenizer::from_file(*path);
        const auto out =
            std::filesystem::temp_directory_path() / (std::string("tandem-saved-") + name + ".json");
        t.save(out);
        const auto back = Tokenizer::from_file(out);
        CHECK(back.to_json() == t.to_json());
        const std::string text = "Hello, W\xC3\xB6rld! <|endoftext|> [SEP] </s> \xE4\xB8\xAD 12";
        CHECK(back.encode(text).ids == t.encode(text).ids);
    }
}
