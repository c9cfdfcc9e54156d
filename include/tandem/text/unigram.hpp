// Unigram language model (SentencePiece, as used by T5 and SigLIP): the best
// segmentation of a word by Viterbi over scored pieces; characters no piece
// covers cost min_score - 10 and become the unknown token, consecutive ones fused.
// Mirrors HF `tokenizers.models.Unigram` (its `encode_optimized`).
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/text/detail/utf8.hpp>
#include <tandem/text/model.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace tandem::text {

class Unigram final : public Model {
public:
    using Pieces = std::vector<std::pair<std::string, double>>;

    Unigram(Pieces pieces, std::optional<uint32_t> unk_id, bool byte_fallback = false)
        : pieces_(std::move(pieces)), unk_id_(unk_id), byte_fallback_(byte_fallback) {
        nodes_.push_back(-1);
        for (uint32_t id = 0; id < pieces_.size(); ++id) {
            const auto& [piece, score] = pieces_[id];
            vocab_.add(piece, id);
            min_score_ = std::min(min_score_, score);
            if (piece.empty()) continue;
            uint32_t node = 0;
            for (unsigned char c : piece) {
                const uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
                auto it = edges_.find(key);
                if (it == edges_.end()) {
                    it = edges_.emplace(key, static_cast<uint32_t>(nodes_.size())).first;
                    nodes_.push_back(-1);
                }
                node = it->second;
            }
            if (nodes_[node] < 0) nodes_[node] = static_cast<int64_t>(id);
        }
    }

    void tokenize(std::string_view word, std::vector<uint32_t>& ids) const override {
        struct Best {
            double score = 0;
            int64_t start = -1;
            uint32_t id = 0;
        };
        const size_t size = word.size();
        std::vector<Best> best(size + 1);
        const double unk_score = min_score_ - kUnkPenalty;
        size_t start = 0;
        while (start < size) {
            const double here = best[start].score;
            char32_t cp;
            size_t bad;
            size_t mblen = detail::utf8_sequence(word, start, cp, bad);
            if (mblen == 0) mblen = bad;
            bool has_single_node = false;
            uint32_t node = 0;
            for (size_t k = start; k < size; ++k) {
                auto it =
                    edges_.find((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(word[k]));
                if (it == edges_.end()) break;
                node = it->second;
                if (nodes_[node] < 0) continue;
                const auto id = static_cast<uint32_t>(nodes_[node]);
                Best& target = best[k + 1];
                const double candidate = pieces_[id].second + here;
                if (target.start < 0 || candidate > target.score)
                    target = {candidate, static_cast<int64_t>(start), id};
                if (k + 1 - start == mblen) has_single_node = true;
            }
            if (!has_single_node) {
                Best& target = best[start + mblen];
                const double candidate = unk_score + here;
                if (target.start < 0 || candidate > target.score)
                    target = {candidate, static_cast<int64_t>(start), unk_id()};
            }
            start += mblen;
        }
        // Walk back, fusing runs of unknown pieces into one token as HF does.
        std::vector<std::pair<size_t, size_t>> spans;
        std::vector<bool> unknown;
        size_t end = size;
        while (end > 0) {
            const Best& node = best[end];
            const auto s = static_cast<size_t>(node.start);
            const bool unk = unk_id_ && node.id == *unk_id_;
            if (unk && !unknown.empty() && unknown.back())
                spans.back().first = s;
            else {
                spans.emplace_back(s, end);
                unknown.push_back(unk);
            }
            end = s;
        }
        for (size_t k = spans.size(); k-- > 0;) {
            const auto piece = word.substr(spans[k].first, spans[k].second - spans[k].first);
            if (auto id = vocab_.id(piece)) {
                ids.push_back(*id);
            } else if (byte_fallback_ && push_bytes(piece, ids)) {
            } else {
                ids.push_back(unk_id());
            }
        }
    }

    std::optional<uint32_t> token_to_id(std::string_view t) const override { return vocab_.id(t); }
    std::optional<std::string> id_to_token(uint32_t id) const override {
        if (id >= pieces_.size()) return std::nullopt;
        return pieces_[id].first;
    }
    size_t vocab_size() const override { return pieces_.size(); }

    json to_json() const override {
        json vocab = json::array();
        for (const auto& [p, s] : pieces_) vocab.push_back(json::array({p, s}));
        return {{"type", "Unigram"},
                {"unk_id", unk_id_ ? json(*unk_id_) : json(nullptr)},
                {"vocab", vocab},
                {"byte_fallback", byte_fallback_}};
    }

    static std::shared_ptr<Unigram> from_json(const json& j, const detail::JsonPath& at) {
        const json& list = detail::json_at(j, at, "vocab");
        if (!list.is_array())
            (at / "vocab").fail("expected an array of [piece, score], found ", list.type_name());
        if (list.size() > detail::kMaxVocabSize)
            (at / "vocab")
                .fail(list.size(), " pieces are more than tandem's limit of ", detail::kMaxVocabSize);
        Pieces pieces;
        pieces.reserve(list.size());
        for (size_t i = 0; i < list.size(); ++i) {
            const json& e = list[i];
            if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
                (at / "vocab")[i].fail("expected [piece, score], found ", detail::describe_json(e));
            pieces.emplace_back(e[0].get<std::string>(), detail::json_as<double>(e[1], (at / "vocab")[i][1]));
        }
        std::optional<uint32_t> unk;
        if (auto it = j.find("unk_id"); it != j.end() && !it->is_null()) {
            unk = detail::token_id(*it, at / "unk_id");
            if (*unk >= pieces.size())
                (at / "unk_id").fail("id ", *unk, " is outside the ", pieces.size(), "-piece vocabulary");
        }
        return std::make_shared<Unigram>(std::move(pieces), unk,
                                         detail::json_bool(j, at, "byte_fallback", false));
    }

private:
    static constexpr double kUnkPenalty = 10.0;

    uint32_t unk_id() const {
        if (!unk_id_)
            detail::throw_error("Unigram: the text needs an unknown token but the model has no unk_id");
        return *unk_id_;
    }

    // `<0xAB>` pieces for every byte, all or nothing.
    bool push_bytes(std::string_view piece, std::vector<uint32_t>& ids) const {
        const size_t mark = ids.size();
        for (unsigned char b : piece) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            auto id = vocab_.id(name);
            if (!id) {
                ids.resize(mark);
                return false;
            }
            ids.push_back(*id);
        }
        return true;
    }

    Pieces pieces_;
    std::optional<uint32_t> unk_id_;
    bool byte_fallback_;
    double min_score_ = std::numeric_limits<double>::max();
    detail::Vocab vocab_;
    std::unordered_map<uint64_t, uint32_t> edges_;  // (node << 8 | byte) → child node
    std::vector<int64_t> nodes_;                    // piece id ending at node, or -1
};

}  // namespace tandem::text
