#include <tandem/text/tokenizer.hpp>

#include <doctest/doctest.h>

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

// Every reference string encodes to the HF Rust library's ids, with and without special tokens.
void check_parity(const std::string& name, size_t max_length) {
    auto dir = tandem::testing::test_data("tokenizers/" + name + "/tokenizer.json");
    auto refs_path = tandem::testing::test_data("tokenizers/" + name + "/reference_public.jsonl");
    if (!dir || !refs_path) return;
    Tokenizer plain = Tokenizer::from_file(*dir);
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
