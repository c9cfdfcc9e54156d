// Added and special tokens (`added_tokens` in tokenizer.json): found in the text
// before the model runs, leftmost-longest, honouring single_word / lstrip /
// rstrip; tokens marked `normalized` are matched after normalisation, the others
// on the raw text. Mirrors HF `tokenizers::AddedVocabulary`.
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/text/detail/pattern.hpp>
#include <tandem/text/detail/utf8.hpp>
#include <tandem/text/model.hpp>
#include <tandem/text/normalizer.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tandem::text {

struct AddedToken {
    std::string content;
    uint32_t id = 0;
    bool special = false;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;

    json to_json() const {
        return {{"id", id},          {"content", content}, {"single_word", single_word},
                {"lstrip", lstrip},  {"rstrip", rstrip},   {"normalized", normalized},
                {"special", special}};
    }
};

// A stretch of text: an added token's id, or text for the model (`id` empty).
struct Segment {
    size_t begin, end;
    std::optional<uint32_t> id;
};

class AddedVocabulary {
public:
    void add(AddedToken token) {
        if (auto it = by_content_.find(token.content); it != by_content_.end()) {
            tokens_[it->second] = std::move(token);
        } else {
            by_content_[token.content] = tokens_.size();
            tokens_.push_back(std::move(token));
        }
        by_id_.clear();
        for (size_t i = 0; i < tokens_.size(); ++i) by_id_[tokens_[i].id] = i;
    }

    // Rebuilds both matchers; normalized tokens are matched in their normalised form.
    void rebuild(const Normalizer* normalizer) {
        raw_.clear();
        normalized_.clear();
        for (size_t i = 0; i < tokens_.size(); ++i) {
            auto text = detail::decode_utf8(tokens_[i].content, true);
            if (tokens_[i].normalized && normalizer) normalizer->normalize(text);
            if (text.empty()) continue;
            (tokens_[i].normalized ? normalized_ : raw_).push_back({std::move(text), i});
        }
        for (auto* set : {&raw_, &normalized_})
            std::stable_sort(set->begin(), set->end(),
                             [](const Entry& a, const Entry& b) { return a.text.size() > b.text.size(); });
    }

    const std::vector<AddedToken>& tokens() const { return tokens_; }
    bool empty() const { return tokens_.empty(); }

    const AddedToken* find(uint32_t id) const {
        auto it = by_id_.find(id);
        return it == by_id_.end() ? nullptr : &tokens_[it->second];
    }
    const AddedToken* find(std::string_view content) const {
        auto it = by_content_.find(std::string(content));
        return it == by_content_.end() ? nullptr : &tokens_[it->second];
    }

    // Splits `text` around the raw (normalized = false) or normalised tokens.
    void split(std::u32string_view text, bool normalized, std::vector<Segment>& out) const {
        out.clear();
        const auto& set = normalized ? normalized_ : raw_;
        size_t start = 0;  // end of the previous match
        size_t i = 0;
        while (i < text.size() && !set.empty()) {
            const Entry* hit = nullptr;
            for (const auto& e : set) {
                if (text.substr(i, e.text.size()) != e.text) continue;
                const AddedToken& t = tokens_[e.index];
                if (t.single_word) {
                    const bool space_before = i == 0 || !detail::is_word_char(text[i - 1]);
                    const size_t after = i + e.text.size();
                    const bool space_after = after == text.size() || !detail::is_word_char(text[after]);
                    if (!space_before || !space_after) continue;
                }
                hit = &e;
                break;
            }
            if (!hit) {
                ++i;
                continue;
            }
            const AddedToken& t = tokens_[hit->index];
            size_t b = i, e = i + hit->text.size();
            if (t.lstrip)
                while (b > start && detail::is_whitespace(text[b - 1])) --b;
            if (t.rstrip)
                while (e < text.size() && detail::is_whitespace(text[e])) ++e;
            if (b > start) out.push_back({start, b, std::nullopt});
            out.push_back({b, e, t.id});
            start = i = e;
        }
        if (start < text.size()) out.push_back({start, text.size(), std::nullopt});
    }

private:
    struct Entry {
        std::u32string text;
        size_t index;
    };
    std::vector<AddedToken> tokens_;
    std::unordered_map<std::string, size_t> by_content_;
    std::unordered_map<uint32_t, size_t> by_id_;
    std::vector<Entry> raw_, normalized_;
};

inline AddedToken added_token_from_json(const json& j, const detail::JsonPath& at) {
    AddedToken t;
    t.content = detail::json_string(j, at, "content");
    t.id = detail::token_id(detail::json_at(j, at, "id"), at / "id");
    t.special = detail::json_bool(j, at, "special", false);
    t.single_word = detail::json_bool(j, at, "single_word", false);
    t.lstrip = detail::json_bool(j, at, "lstrip", false);
    t.rstrip = detail::json_bool(j, at, "rstrip", false);
    t.normalized = detail::json_bool(j, at, "normalized", !t.special);
    return t;
}

}  // namespace tandem::text
