#include <tandem/text/word_level.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace tandem;
using namespace tandem::text;

TEST_CASE("WordLevel maps whole words, the rest to the unknown token") {
    const auto m = WordLevel::from_json(
        json::parse(R"({"type": "WordLevel", "vocab": {"hello": 0, "world": 1, "[UNK]": 2},
        "unk_token": "[UNK]"})"),
        {"tokenizer.json", "model"});
    std::vector<uint32_t> ids;
    for (const char* w : {"hello", "there", "world"}) m->tokenize(w, ids);
    CHECK(ids == std::vector<uint32_t>{0, 2, 1});
    CHECK(m->id_to_token(1) == "world");
    CHECK(m->token_to_id("hello") == 0u);
    const WordLevel no_unk(detail::Vocab{}, "[UNK]");
    CHECK_THROWS_AS(no_unk.tokenize("x", ids), Error);
}
