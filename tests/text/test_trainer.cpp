#include <tandem/text/trainer.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_data.hpp"

using namespace tandem;
using namespace tandem::text;

namespace {

using Ids = std::vector<uint32_t>;

Tokenizer whitespace_tokenizer() {
    Tokenizer t;
    t.set_pre_tokenizer(std::make_shared<WhitespaceSplit>());
    return t;
}

// Saves, loads back, and checks the reloaded tokenizer encodes like the original.
Tokenizer round_trip(const Tokenizer& t, const std::string& name) {
    const auto path = std::filesystem::temp_directory_path() / name;
    t.save(path);
    auto back = Tokenizer::from_file(path);
    CHECK(back.to_json() == t.to_json());
    return back;
}

}  // namespace

TEST_CASE("WordLevelTrainer: specials, then words by count, ties alphabetical") {
    Tokenizer t = whitespace_tokenizer();
    WordLevelTrainer trainer;
    trainer.vocab_size = 4;
    trainer.special_tokens = {"[UNK]"};
    // Counts: the 3, cat 2, a 1, dog 1; four entries leave room for [UNK], the, cat and a.
    train(t, trainer, {"the cat the dog", "the cat a"});
    const auto back = round_trip(t, "tandem-wordlevel.json");
    CHECK(back.encode("the cat a dog [UNK]").ids == Ids{1, 2, 3, 0, 0});
    CHECK(back.token_to_id("a") == 3u);
    CHECK(back.added_tokens().find("[UNK]")->special);
}

TEST_CASE("BpeTrainer merges the most frequent pair first") {
    Tokenizer t = whitespace_tokenizer();
    BpeTrainer trainer;
    trainer.special_tokens = {"[UNK]"};
    trainer.unk_token = "[UNK]";
    trainer.vocab_size = 6;
    // Words ab ×3, abc ×2, bc ×1. Vocabulary: [UNK] 0, then the alphabet a 1, b 2, c 3.
    // Pairs: (a, b) 5, (b, c) 3 → "ab" = 4. In abc the (b, c) becomes (ab, c): (b, c) 1,
    // (ab, c) 2 → "abc" = 5, and six entries stop the training.
    train(t, trainer, {"ab ab abc", "ab abc bc"});
    const auto back = round_trip(t, "tandem-bpe.json");
    CHECK(back.to_json()["model"]["merges"] == json::parse(R"([["a", "b"], ["ab", "c"]])"));
    CHECK(back.encode("abc bc ab ca x").ids == Ids{5, 2, 3, 4, 3, 1, 0});

    trainer.vocab_size = 7;  // one more merge: (b, c), count 1
    Tokenizer t7 = whitespace_tokenizer();
    train(t7, trainer, {"ab ab abc", "ab abc bc"});
    CHECK(round_trip(t7, "tandem-bpe7.json").encode("bc").ids == Ids{6});
}

TEST_CASE("BpeTrainer with an end-of-word suffix and min_frequency") {
    Tokenizer t = whitespace_tokenizer();
    BpeTrainer trainer;
    trainer.end_of_word_suffix = "</w>";
    trainer.min_frequency = 2;
    // Alphabet a 0, b 1; symbols b</w> 2 (from "ab"), a</w> 3 (from "ba").
    // Pairs: (a, b</w>) ×2, (b, a</w>) ×1: one merge "ab</w>" = 4, then only pairs below min_frequency.
    train(t, trainer, {"ab ab ba"});
    const auto back = round_trip(t, "tandem-bpe-suffix.json");
    CHECK(back.model().vocab_size() == 5);
    CHECK(back.encode("ab ba").ids == Ids{4, 1, 3});
}
