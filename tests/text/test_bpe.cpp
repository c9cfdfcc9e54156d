#include <tandem/text/bpe.hpp>

#include <tandem/text/tokenizer.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tandem;
using namespace tandem::text;

namespace {

using Ids = std::vector<uint32_t>;

Ids tokenize(const Model& m, const std::string& word) {
    Ids ids;
    m.tokenize(word, ids);
    return ids;
}

detail::Vocab vocab(std::initializer_list<std::string> tokens) {
    detail::Vocab v;
    uint32_t id = 0;
    for (const auto& t : tokens) v.add(t, id++);
    return v;
}

// A CLIP-shaped tokenizer (same normalizer, split, byte level, `</w>`, specials)
// over a vocabulary small enough to work every case out by hand.
const char* kMiniClip = R"({
  "version": "1.0",
  "added_tokens": [
    {"id": 20, "content": "<|startoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true},
    {"id": 21, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"},
      {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}, {"type": "Lowercase"}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
       "behavior": "Removed", "invert": true},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
  "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", 21], "cls": ["<|startoftext|>", 20],
                     "trim_offsets": false, "add_prefix_space": false},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
    "end_of_word_suffix": "</w>", "fuse_unk": false, "byte_fallback": false,
    "vocab": {"a": 0, "a</w>": 1, "i": 2, "t": 3, "t</w>": 4, "it</w>": 5, "'": 6, "s</w>": 7, "'s</w>": 8,
              "Ã": 9, "©</w>": 10, "Ã©</w>": 11, "ï": 12, "½": 13, "ģ</w>": 14, "ā</w>": 15, "c": 16, "ca": 17,
              "cat</w>": 18, "at</w>": 19, "<|startoftext|>": 20, "<|endoftext|>": 21},
    "merges": ["i t</w>", "' s</w>", "Ã ©</w>", "a t</w>", "c a", "c at</w>"]}
})";

}  // namespace

TEST_CASE("BPE merges the lowest-ranked pair first, leftmost on ties") {
    const BPE m(vocab({"a", "aa", "aaaa"}), {{"a", "a"}, {"aa", "aa"}});
    CHECK(tokenize(m, "a") == Ids{0});
    CHECK(tokenize(m, "aaa") == Ids{1, 0});    // a a a → aa a: (aa, a) is no merge
    CHECK(tokenize(m, "aaaa") == Ids{2});      // aa aa → aaaa
    CHECK(tokenize(m, "aaaaa") == Ids{2, 0});  // aa aa a → aaaa a
    CHECK(tokenize(m, "aaaaa") == Ids{2, 0});  // again, from the cache
    CHECK(tokenize(m, "") == Ids{});
}

TEST_CASE("BPE suffix, prefix, byte fallback and unknown tokens") {
    BPEOptions suffix;
    suffix.end_of_word_suffix = "</w>";
    const BPE clip(vocab({"a", "b</w>", "ab</w>", "b"}), {{"a", "b</w>"}}, suffix);
    CHECK(tokenize(clip, "ab") == Ids{2});
    CHECK(tokenize(clip, "ba") == Ids{3});  // "a</w>" is not in the vocabulary and there is no unk: dropped

    BPEOptions prefix;
    prefix.continuing_subword_prefix = "##";
    const BPE wp(vocab({"a", "##b", "ab"}), {{"a", "##b"}}, prefix);
    CHECK(tokenize(wp, "ab") == Ids{2});  // the merge joins "a" + "b", the prefix dropped

    BPEOptions bytes;
    bytes.byte_fallback = true;
    bytes.unk_token = "<unk>";
    const BPE fb(vocab({"<unk>", "<0xC3>", "<0xA9>", "a"}), {}, bytes);
    CHECK(tokenize(fb, "a\xC3\xA9") == Ids{3, 1, 2});
    CHECK(tokenize(fb, "a\xE4\xB8\xAD") == Ids{3, 0});  // 中's bytes are not all there: unknown

    BPEOptions unk;
    unk.unk_token = "<unk>";
    CHECK(tokenize(BPE(vocab({"<unk>", "a"}), {}, unk), "xxa") == Ids{0, 0, 1});
    unk.fuse_unk = true;
    CHECK(tokenize(BPE(vocab({"<unk>", "a"}), {}, unk), "xxa") == Ids{0, 1});
    CHECK(tokenize(BPE(vocab({"<unk>", "a"}), {}, unk), "axx") == Ids{1, 0});

    BPEOptions whole;
    whole.ignore_merges = true;
    CHECK(tokenize(BPE(vocab({"a", "b", "ab"}), {}, whole), "ab") == Ids{2});
    CHECK(tokenize(BPE(vocab({"a", "b", "ab"}), {}, {}), "ab") == Ids{0, 1});
}

TEST_CASE("BPE reports merges it cannot use, naming file and key") {
    const auto j =
        json::parse(R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a q"]})");
    CHECK_THROWS_WITH_AS(
        BPE::from_json(j, {"tokenizer.json", "model"}),
        doctest::Contains("tokenizer.json: key 'model.merges[1]': merge 'a q' uses a token missing"), Error);
    const auto bad =
        json::parse(R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a b c"]})");
    CHECK_THROWS_WITH_AS(
        BPE::from_json(bad, {"tokenizer.json", "model"}),
        doctest::Contains("key 'model.merges[1]': expected two tokens separated by one space, found 'a b c'"),
        Error);
    const auto pairs =
        json::parse(R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]})");
    CHECK(tokenize(*BPE::from_json(pairs, {"t", "model"}), "ab") == Ids{2});
}

TEST_CASE("CLIP-shaped tokenizer on hard cases, worked out by hand") {
    const Tokenizer t = Tokenizer::from_json(json::parse(kMiniClip), "mini-clip.json");
    const auto ids = [&](const std::string& s) { return t.encode(s, false).ids; };
    CHECK(ids("A cat") == Ids{1, 18});   // c a t</w>: (a, t</w>) ranks before (c, a), then (c, at</w>)
    CHECK(ids("It's") == Ids{5, 8});     // lowercased, then the 's contraction
    CHECK(ids("e\xCC\x81") == Ids{11});  // NFD e + acute → NFC é → bytes C3 A9 → Ã ©</w> → merged
    CHECK(ids("\xC3\xA9") == Ids{11});   // the same, precomposed
    CHECK(ids("\xEF\xBC\xA1") == Ids{12, 13, 14});  // fullwidth Ａ → ａ (EF BD 81) → ï ½ ģ</w>
    CHECK(ids("\x01"
              "a") == Ids{15, 1});  // a control character is a symbol run: byte 01 → ā
    CHECK(ids("") == Ids{});
    CHECK(ids(" \t\n ") == Ids{});
    CHECK(t.encode("").ids == Ids{20, 21});
    CHECK(t.encode(" \t\n ").ids == Ids{20, 21});
    // 👩‍💻 (woman, ZWJ, laptop) is one symbol run of 11 bytes, none in the vocabulary.
    CHECK(ids("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB") == Ids(11, 21));
    CHECK(ids("\xE4\xB8\xAD\xE6\x96\x87") == Ids(6, 21));  // 中文: one letter run, six bytes
    // <|startoftext|> is matched after normalisation, <|endoftext|> only as written.
    CHECK(ids("<|STARTOFTEXT|> a") == Ids{20, 1});
    CHECK(ids("a<|endoftext|>") == Ids{1, 21});
    // Lowercased to "<|endoftext|>", which the CLIP split keeps whole but ByteLevel's
    // GPT-2 split cuts into "<|" "endoftext" "|>": only t (3) and the final t</w> (4) are known.
    CHECK(ids("<|ENDOFTEXT|>") == Ids{21, 21, 21, 21, 21, 21, 21, 3, 21, 21, 4, 21, 21});
    CHECK(t.decode({20, 1, 18, 21}) == "a</w>cat</w>");
    CHECK(t.decode({20, 1, 18, 21}, false) == "<|startoftext|>a</w>cat</w><|endoftext|>");

    Tokenizer truncating = t;
    truncating.enable_truncation({10});
    std::string long_text;
    for (int i = 0; i < 100; ++i) long_text += "a ";
    CHECK(truncating.encode(long_text).ids == Ids{20, 1, 1, 1, 1, 1, 1, 1, 1, 21});
    CHECK(truncating.encode(long_text).overflowing.size() == 12);  // 100 tokens: 13 windows of up to 8
    CHECK(t.encode(long_text).ids.size() == 102);
}
