// WordLevel: each pre-tokenized word is one token, or the unknown token.
// Mirrors HF `tokenizers.models.WordLevel`.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/text/model.hpp>

#include <string>

namespace tandem::text {

class WordLevel final : public Model {
public:
    WordLevel(detail::Vocab vocab, std::string unk_token)
        : vocab_(std::move(vocab)), unk_token_(std::move(unk_token)) {}

    void tokenize(std::string_view word, std::vector<uint32_t>& ids) const override {
        if (auto id = vocab_.id(word)) {
            ids.push_back(*id);
        } else if (auto unk = vocab_.id(unk_token_)) {
            ids.push_back(*unk);
        } else {
            detail::throw_error("WordLevel: '", word, "' is not in the vocabulary and the unknown token '",
                                unk_token_, "' is missing from it");
        }
    }
    std::optional<uint32_t> token_to_id(std::string_view t) const override { return vocab_.id(t); }
    std::optional<std::string> id_to_token(uint32_t id) const override { return vocab_.token(id); }
    size_t vocab_size() const override { return vocab_.size(); }
    json to_json() const override {
        return {{"type", "WordLevel"}, {"vocab", vocab_.to_json()}, {"unk_token", unk_token_}};
    }

    static std::shared_ptr<WordLevel> from_json(const json& j, const detail::JsonPath& at) {
        return std::make_shared<WordLevel>(
            detail::vocab_from_json(detail::json_at(j, at, "vocab"), at / "vocab"),
            detail::json_optional_string(j, at, "unk_token", "<unk>"));
    }

private:
    detail::Vocab vocab_;
    std::string unk_token_;
};

}  // namespace tandem::text
