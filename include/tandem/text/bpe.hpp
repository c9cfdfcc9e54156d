// Byte-pair encoding (CLIP, GPT-2, RoBERTa, SentencePiece-BPE): each word starts
// as characters (with `continuing_subword_prefix` / `end_of_word_suffix` such as
// CLIP's `</w>`) and the lowest-ranked adjacent pair is merged until none applies.
// Mirrors HF `tokenizers.models.BPE`, including byte fallback, fused unknowns and its word cache.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/text/detail/utf8.hpp>
#include <tandem/text/model.hpp>

#include <array>
#include <concepts>
#include <cstdio>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace tandem {
namespace text {

struct BPEOptions {
    std::optional<std::string> unk_token;
    std::string continuing_subword_prefix;
    std::string end_of_word_suffix;
    bool fuse_unk = false;
    bool byte_fallback = false;
    bool ignore_merges = false;
};

}  // namespace text

namespace detail {

// Word → ids, shared by threads: sharded so parallel encoders rarely contend.
class WordCache {
public:
    static constexpr size_t kShards = 32;
    static constexpr size_t kCapacityPerShard = 10000 / kShards + 1;
    static constexpr size_t kMaxWordBytes = 256;

    bool find(std::string_view word, std::vector<uint32_t>& ids) const {
        const auto& shard = shards_[StringHash{}(word) % kShards];
        std::shared_lock lock(shard.mutex);
        auto it = shard.map.find(word);
        if (it == shard.map.end()) return false;
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return true;
    }

    void insert(std::string_view word, const uint32_t* ids, size_t n) {
        if (word.size() > kMaxWordBytes) return;
        auto& shard = shards_[StringHash{}(word) % kShards];
        std::unique_lock lock(shard.mutex);
        if (shard.map.size() >= kCapacityPerShard) return;
        shard.map.emplace(std::string(word), std::vector<uint32_t>(ids, ids + n));
    }

private:
    struct Shard {
        mutable std::shared_mutex mutex;
        std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>> map;
    };
    std::array<Shard, kShards> shards_;
};

}  // namespace detail

namespace text {

class BPE final : public Model {
public:
    using Merges = std::vector<std::pair<std::string, std::string>>;

    BPE(detail::Vocab vocab, Merges merges, BPEOptions options = {},
        const detail::JsonPath& at = {"BPE", "merges"})
        : vocab_(std::move(vocab)), merges_list_(std::move(merges)), options_(std::move(options)) {
        const size_t prefix_len = options_.continuing_subword_prefix.size();
        merges_.reserve(merges_list_.size());
        for (size_t rank = 0; rank < merges_list_.size(); ++rank) {
            const auto& [a, b] = merges_list_[rank];
            const auto ida = vocab_.id(a), idb = vocab_.id(b);
            if (!ida || !idb)
                at[rank].fail("merge '", a, " ", b, "' uses a token missing from the vocabulary ('",
                              ida ? b : a, "')");
            const std::string joined =
                a +
                (b.size() >= prefix_len && b.compare(0, prefix_len, options_.continuing_subword_prefix) == 0
                     ? b.substr(prefix_len)
                     : b);
            const auto idn = vocab_.id(joined);
            if (!idn) at[rank].fail("merge result '", joined, "' is missing from the vocabulary");
            merges_.emplace(pair_key(*ida, *idb),
                            std::pair<uint32_t, uint32_t>(static_cast<uint32_t>(rank), *idn));
        }
    }

    void tokenize(std::string_view word, std::vector<uint32_t>& ids) const override {
        if (word.empty()) return;
        if (options_.ignore_merges) {
            if (auto id = vocab_.id(word)) {
                ids.push_back(*id);
                return;
            }
        }
        if (cache_.find(word, ids)) return;
        const size_t mark = ids.size();
        merge_word(word, ids);
        cache_.insert(word, ids.data() + mark, ids.size() - mark);
    }

    std::optional<uint32_t> token_to_id(std::string_view t) const override { return vocab_.id(t); }
    std::optional<std::string> id_to_token(uint32_t id) const override { return vocab_.token(id); }
    size_t vocab_size() const override { return vocab_.size(); }
    const BPEOptions& options() const { return options_; }

    json to_json() const override {
        json merges = json::array();
        for (const auto& [a, b] : merges_list_) merges.push_back(json::array({a, b}));
        const auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
        return {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", options_.unk_token ? json(*options_.unk_token) : json(nullptr)},
                {"continuing_subword_prefix", opt(options_.continuing_subword_prefix)},
                {"end_of_word_suffix", opt(options_.end_of_word_suffix)},
                {"fuse_unk", options_.fuse_unk},
                {"byte_fallback", options_.byte_fallback},
                {"ignore_merges", options_.ignore_merges},
                {"vocab", vocab_.to_json()},
                {"merges", merges}};
    }

    static std::shared_ptr<BPE> from_json(const json& j, const detail::JsonPath& at) {
        auto vocab = detail::vocab_from_json(detail::json_at(j, at, "vocab"), at / "vocab");
        const json& list = detail::json_at(j, at, "merges");
        if (!list.is_array()) (at / "merges").fail("expected an array, found ", list.type_name());
        Merges merges;
        merges.reserve(list.size());
        for (size_t i = 0; i < list.size(); ++i) {
            const json& m = list[i];
            if (m.is_string()) {
                merges.push_back(parse_merge_line(m.get<std::string>(), (at / "merges")[i]));
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            } else {
                (at / "merges")[i].fail("expected \"a b\" or [\"a\", \"b\"], found ",
                                        detail::describe_json(m));
            }
        }
        // HF samples merges away with probability `dropout`; tandem's encoding is deterministic.
        if (const double dropout = detail::json_value_or<double>(j, at, "dropout", 0.0); dropout != 0.0) {
            (at / "dropout")
                .fail(dropout < 0 || dropout > 1 ? "expected a probability from 0 to 1"
                                                 : "BPE dropout is not implemented; expected null or 0",
                      ", found ", dropout);
        }
        BPEOptions o;
        if (auto it = j.find("unk_token"); it != j.end() && !it->is_null())
            o.unk_token = detail::json_as<std::string>(*it, at / "unk_token");
        o.continuing_subword_prefix = detail::json_optional_string(j, at, "continuing_subword_prefix");
        o.end_of_word_suffix = detail::json_optional_string(j, at, "end_of_word_suffix");
        o.fuse_unk = detail::json_bool(j, at, "fuse_unk", false);
        o.byte_fallback = detail::json_bool(j, at, "byte_fallback", false);
        o.ignore_merges = detail::json_bool(j, at, "ignore_merges", false);
        return std::make_shared<BPE>(std::move(vocab), std::move(merges), std::move(o), at / "merges");
    }

    // One "a b" line of merges.txt or of a tokenizer.json merges list.
    static std::pair<std::string, std::string> parse_merge_line(std::string_view line,
                                                                const detail::JsonPath& at) {
        const size_t space = line.find(' ');
        if (space == std::string_view::npos || space == 0 || space + 1 >= line.size() ||
            line.find(' ', space + 1) != std::string_view::npos)
            at.fail("expected two tokens separated by one space, found '", line, "'");
        return {std::string(line.substr(0, space)), std::string(line.substr(space + 1))};
    }

private:
    static uint64_t pair_key(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }

    struct Symbol {
        uint32_t id;
        int prev, next;
        bool alive;
    };
    struct Candidate {
        uint32_t rank;
        int pos;
        uint32_t new_id;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };

    uint32_t unk_id() const {
        auto id = vocab_.id(*options_.unk_token);
        if (!id)
            detail::throw_error("BPE: the unknown token '", *options_.unk_token,
                                "' is not in the vocabulary");
        return *id;
    }

    void merge_word(std::string_view word, std::vector<uint32_t>& out) const {
        std::vector<Symbol> sym;
        sym.reserve(word.size());
        const auto push = [&](uint32_t id) {
            const int n = static_cast<int>(sym.size());
            sym.push_back({id, n - 1, n + 1, true});
        };
        bool pending_unk = false;
        std::string piece;
        size_t i = 0;
        while (i < word.size()) {
            char32_t cp;
            size_t bad;
            size_t n = detail::utf8_sequence(word, i, cp, bad);
            if (n == 0) n = bad;
            const bool first = i == 0, last = i + n >= word.size();
            piece.clear();
            if (!first) piece += options_.continuing_subword_prefix;
            piece.append(word.substr(i, n));
            if (last) piece += options_.end_of_word_suffix;
            i += n;
            if (auto id = vocab_.id(piece)) {
                if (pending_unk) push(unk_id());
                pending_unk = false;
                push(*id);
                continue;
            }
            if (options_.byte_fallback && byte_fallback(piece, push)) continue;
            if (!options_.unk_token) continue;  // no unknown token: the character is dropped, as in HF
            if (pending_unk && !options_.fuse_unk) push(unk_id());
            pending_unk = true;
        }
        if (pending_unk) push(unk_id());
        if (sym.empty()) return;
        sym.back().next = -1;

        std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
        for (size_t k = 0; k + 1 < sym.size(); ++k)
            if (auto it = merges_.find(pair_key(sym[k].id, sym[k + 1].id)); it != merges_.end())
                queue.push({it->second.first, static_cast<int>(k), it->second.second});
        while (!queue.empty()) {
            const Candidate top = queue.top();
            queue.pop();
            Symbol& cur = sym[top.pos];
            if (!cur.alive || cur.next < 0) continue;
            Symbol& right = sym[cur.next];
            auto it = merges_.find(pair_key(cur.id, right.id));
            if (it == merges_.end() || it->second.second != top.new_id) continue;
            cur.id = top.new_id;
            right.alive = false;
            cur.next = right.next;
            if (cur.next >= 0) sym[cur.next].prev = top.pos;
            if (cur.prev >= 0)
                if (auto m = merges_.find(pair_key(sym[cur.prev].id, cur.id)); m != merges_.end())
                    queue.push({m->second.first, cur.prev, m->second.second});
            if (cur.next >= 0)
                if (auto m = merges_.find(pair_key(cur.id, sym[cur.next].id)); m != merges_.end())
                    queue.push({m->second.first, top.pos, m->second.second});
        }
        for (int k = 0; k >= 0; k = sym[k].next) out.push_back(sym[k].id);
    }

    // `<0xAB>` tokens for every byte of `piece`, if the vocabulary has them all.
    template <std::invocable<uint32_t> Push>
    bool byte_fallback(const std::string& piece, Push&& push) const {
        std::vector<uint32_t> ids;
        char name[8];
        for (unsigned char b : piece) {
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            auto id = vocab_.id(name);
            if (!id) return false;
            ids.push_back(*id);
        }
        for (uint32_t id : ids) push(id);
        return true;
    }

    detail::Vocab vocab_;
    Merges merges_list_;
    BPEOptions options_;
    std::unordered_map<uint64_t, std::pair<uint32_t, uint32_t>> merges_;
    mutable detail::WordCache cache_;
};

}  // namespace text
}  // namespace tandem
