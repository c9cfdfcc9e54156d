// WordPiece (BERT): greedy longest match from the start of each word,
// continuation pieces prefixed with `##`; a word with an unmatched rest, or
// longer than max_input_chars_per_word, is one unknown token.
// Mirrors HF `tokenizers.models.WordPiece`.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/text/detail/utf8.hpp>
#include <tandem/text/model.hpp>

#include <string>

namespace tandem::text {

class WordPiece final : public Model {
public:
    WordPiece(detail::Vocab vocab, std::string unk_token = "[UNK]",
              std::string continuing_subword_prefix = "##", size_t max_input_chars_per_word = 100)
        : vocab_(std::move(vocab)),
          unk_token_(std::move(unk_token)),
          prefix_(std::move(continuing_subword_prefix)),
          max_chars_(max_input_chars_per_word) {}

    void tokenize(std::string_view word, std::vector<uint32_t>& ids) const override {
        size_t chars = 0;
        for (unsigned char c : word) chars += (c & 0xC0) != 0x80;
        const size_t mark = ids.size();
        if (chars <= max_chars_) {
            std::string candidate;
            size_t start = 0;
            while (start < word.size()) {
                size_t end = word.size();
                std::optional<uint32_t> found;
                while (start < end) {
                    candidate.assign(start > 0 ? prefix_ : std::string());
                    candidate.append(word.substr(start, end - start));
                    if ((found = vocab_.id(candidate))) break;
                    do --end;  // back off one whole character
                    while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
                }
                if (!found) break;
                ids.push_back(*found);
                start = end;
            }
            if (start == word.size()) return;
        }
        ids.resize(mark);
        ids.push_back(unk_id());
    }

    std::optional<uint32_t> token_to_id(std::string_view t) const override { return vocab_.id(t); }
    std::optional<std::string> id_to_token(uint32_t id) const override { return vocab_.token(id); }
    size_t vocab_size() const override { return vocab_.size(); }
    const std::string& continuing_subword_prefix() const { return prefix_; }
    json to_json() const override {
        return {{"type", "WordPiece"},
                {"unk_token", unk_token_},
                {"continuing_subword_prefix", prefix_},
                {"max_input_chars_per_word", max_chars_},
                {"vocab", vocab_.to_json()}};
    }

    static std::shared_ptr<WordPiece> from_json(const json& j, const detail::JsonPath& at) {
        return std::make_shared<WordPiece>(
            detail::vocab_from_json(detail::json_at(j, at, "vocab"), at / "vocab"),
            detail::json_optional_string(j, at, "unk_token", "[UNK]"),
            detail::json_optional_string(j, at, "continuing_subword_prefix", "##"),
            detail::json_number<size_t>(j, at, "max_input_chars_per_word", 100));
    }

private:
    uint32_t unk_id() const {
        auto id = vocab_.id(unk_token_);
        if (!id)
            detail::throw_error("WordPiece: the unknown token '", unk_token_, "' is not in the vocabulary");
        return *id;
    }

    detail::Vocab vocab_;
    std::string unk_token_, prefix_;
    size_t max_chars_;
};

}  // namespace tandem::text
