// Trainers: learn a new vocabulary from a corpus, as HF `tokenizers.trainers`
// WordLevelTrainer and BpeTrainer do, then install it in a Tokenizer whose
// normalizer and pre-tokenizer define the words; save() writes a tokenizer.json
// that Hugging Face loads.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/text/bpe.hpp>
#include <tandem/text/detail/utf8.hpp>
#include <tandem/text/tokenizer.hpp>
#include <tandem/text/word_level.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tandem {
namespace text {

struct WordLevelTrainer {
    size_t vocab_size = 30000;
    uint64_t min_frequency = 0;
    std::vector<std::string> special_tokens;
    std::string unk_token = "[UNK]";
};

struct BpeTrainer {
    size_t vocab_size = 30000;
    uint64_t min_frequency = 0;
    std::vector<std::string> special_tokens;
    std::optional<size_t> limit_alphabet;
    std::vector<char32_t> initial_alphabet;
    std::string continuing_subword_prefix;
    std::string end_of_word_suffix;
    std::optional<std::string> unk_token;
};

}  // namespace text

namespace detail {

// Word counts after the tokenizer's normalizer and pre-tokenizer, in a sorted map
// so that training does not depend on hash order (HF's does, for equal counts).
inline std::map<std::string, uint64_t> count_words(const Tokenizer& t,
                                                   const std::vector<std::string>& corpus) {
    std::map<std::string, uint64_t> counts;
    for (const auto& text : corpus)
        for (auto& w : t.words(text)) ++counts[std::move(w)];
    return counts;
}

inline void add_special_tokens(Tokenizer& t, const std::vector<std::string>& specials) {
    for (const auto& s : specials)
        if (auto id = t.model().token_to_id(s)) t.add_token({s, *id, true, false, false, false, false});
}

}  // namespace detail

namespace text {

// Specials first, then words by decreasing count (ties alphabetical), at least
// min_frequency, up to vocab_size entries.
inline void train(Tokenizer& tokenizer, const WordLevelTrainer& trainer,
                  const std::vector<std::string>& corpus) {
    const auto counts = detail::count_words(tokenizer, corpus);
    std::vector<std::pair<std::string, uint64_t>> ordered(counts.begin(), counts.end());
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    detail::Vocab vocab;
    uint32_t next = 0;
    for (const auto& s : trainer.special_tokens)
        if (next < trainer.vocab_size && !vocab.id(s)) vocab.add(s, next++);
    for (const auto& [w, n] : ordered) {
        if (next >= trainer.vocab_size) break;
        if (n >= trainer.min_frequency && !vocab.id(w)) vocab.add(w, next++);
    }
    tokenizer.set_model(std::make_shared<WordLevel>(std::move(vocab), trainer.unk_token));
    detail::add_special_tokens(tokenizer, trainer.special_tokens);
}

// HF's BpeTrainer: specials, then the alphabet in code point order, then merges of
// the most frequent adjacent pair (ties: smallest pair of ids) until vocab_size.
inline void train(Tokenizer& tokenizer, const BpeTrainer& trainer, const std::vector<std::string>& corpus) {
    const auto counts = detail::count_words(tokenizer, corpus);
    std::unordered_map<std::string, uint32_t> word_to_id;
    std::vector<std::string> id_to_word;
    const auto intern = [&](const std::string& s) {
        auto [it, added] = word_to_id.emplace(s, static_cast<uint32_t>(id_to_word.size()));
        if (added) id_to_word.push_back(s);
        return it->second;
    };
    for (const auto& s : trainer.special_tokens) intern(s);

    // The alphabet: every character, weighted by word count; the rarest dropped past limit_alphabet.
    std::map<char32_t, uint64_t> alphabet;
    for (const auto& [w, n] : counts)
        for (char32_t c : detail::decode_utf8(w)) alphabet[c] += n;
    for (char32_t c : trainer.initial_alphabet) alphabet[c] = std::numeric_limits<uint64_t>::max();
    std::vector<std::pair<char32_t, uint64_t>> kept(alphabet.begin(), alphabet.end());
    if (trainer.limit_alphabet && kept.size() > *trainer.limit_alphabet) {
        std::stable_sort(kept.begin(), kept.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
        kept.erase(kept.begin(), kept.begin() + static_cast<long>(kept.size() - *trainer.limit_alphabet));
        std::sort(kept.begin(), kept.end());
    }
    for (const auto& [c, n] : kept) intern(detail::to_utf8(std::u32string(1, c)));

    // Words as symbol ids, with the prefix on inner and the suffix on final characters.
    std::vector<std::vector<uint32_t>> words;
    std::vector<uint64_t> word_counts;
    for (const auto& [w, n] : counts) {
        const auto chars = detail::decode_utf8(w);
        std::vector<uint32_t> symbols;
        for (size_t i = 0; i < chars.size(); ++i) {
            std::string s = detail::to_utf8(std::u32string(1, chars[i]));
            if (!word_to_id.count(s)) continue;  // outside the kept alphabet
            if (i > 0) s = trainer.continuing_subword_prefix + s;
            if (i + 1 == chars.size()) s += trainer.end_of_word_suffix;
            symbols.push_back(intern(s));
        }
        words.push_back(std::move(symbols));
        word_counts.push_back(n);
    }

    using Pair = std::pair<uint32_t, uint32_t>;
    std::map<Pair, int64_t> pair_counts;
    std::map<Pair, std::set<size_t>> where;
    for (size_t i = 0; i < words.size(); ++i)
        for (size_t k = 0; k + 1 < words[i].size(); ++k) {
            const Pair p{words[i][k], words[i][k + 1]};
            pair_counts[p] += static_cast<int64_t>(word_counts[i]);
            where[p].insert(i);
        }
    struct Candidate {
        Pair pair;
        int64_t count;
        // Max-heap order: higher count first, then the smaller pair.
        bool operator<(const Candidate& o) const {
            return count != o.count ? count < o.count : pair > o.pair;
        }
    };
    std::priority_queue<Candidate> queue;
    for (const auto& [p, n] : pair_counts)
        if (n > 0) queue.push({p, n});

    std::vector<std::pair<std::string, std::string>> merges;
    const size_t prefix_len = trainer.continuing_subword_prefix.size();
    while (id_to_word.size() < trainer.vocab_size && !queue.empty()) {
        Candidate top = queue.top();
        queue.pop();
        if (top.count != pair_counts[top.pair]) {
            top.count = pair_counts[top.pair];
            if (top.count > 0) queue.push(top);
            continue;
        }
        if (top.count < 1 || static_cast<uint64_t>(top.count) < trainer.min_frequency) break;
        const std::string a = id_to_word[top.pair.first], b = id_to_word[top.pair.second];
        const std::string b_part =
            prefix_len && b.compare(0, prefix_len, trainer.continuing_subword_prefix) == 0
                ? b.substr(prefix_len)
                : b;
        const uint32_t merged = intern(a + b_part);
        merges.emplace_back(a, b);

        std::map<Pair, std::set<size_t>> touched;
        for (size_t i : where[top.pair]) {
            auto& w = words[i];
            const auto n = static_cast<int64_t>(word_counts[i]);
            for (size_t k = 0; k + 1 < w.size(); ++k) {
                if (w[k] != top.pair.first || w[k + 1] != top.pair.second) continue;
                if (k > 0) {
                    pair_counts[{w[k - 1], w[k]}] -= n;
                    pair_counts[{w[k - 1], merged}] += n;
                    touched[{w[k - 1], merged}].insert(i);
                }
                if (k + 2 < w.size()) {
                    pair_counts[{w[k + 1], w[k + 2]}] -= n;
                    pair_counts[{merged, w[k + 2]}] += n;
                    touched[{merged, w[k + 2]}].insert(i);
                }
                w[k] = merged;
                w.erase(w.begin() + static_cast<long>(k) + 1);
            }
        }
        for (auto& [p, words_with_pair] : touched) {
            where[p].insert(words_with_pair.begin(), words_with_pair.end());
            if (pair_counts[p] > 0) queue.push({p, pair_counts[p]});
        }
    }

    detail::Vocab vocab;
    for (uint32_t id = 0; id < id_to_word.size(); ++id) vocab.add(id_to_word[id], id);
    BPEOptions options;
    options.unk_token = trainer.unk_token;
    options.continuing_subword_prefix = trainer.continuing_subword_prefix;
    options.end_of_word_suffix = trainer.end_of_word_suffix;
    tokenizer.set_model(std::make_shared<BPE>(std::move(vocab), std::move(merges), std::move(options)));
    detail::add_special_tokens(tokenizer, trainer.special_tokens);
}

}  // namespace text
}  // namespace tandem
