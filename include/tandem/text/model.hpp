// The model interface every tokenizer family implements (HF `tokenizers.models`:
// BPE, WordPiece, Unigram, WordLevel): one pre-tokenized word in, token ids out,
// plus the vocabulary both ways.
#pragma once

#include <tandem/core/detail/json.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem {
namespace text {

using detail::json;

}  // namespace text

namespace detail {

// Token ids index a dense table, so an id is memory: 4M ids cover every published
// vocabulary (the largest are about 1M) and cap the table a file can ask for at 128 MB.
inline constexpr uint32_t kMaxVocabSize = uint32_t{1} << 22;

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// token → id with lookups by string_view, and id → token.
class Vocab {
public:
    Vocab() = default;

    // `tokens[id]` is the token of `id`; gaps are empty strings.
    static Vocab from_map(const std::unordered_map<std::string, uint32_t>& map) {
        Vocab v;
        uint32_t largest = 0;
        for (const auto& [t, id] : map) largest = std::max(largest, check_id(id));
        v.tokens_.resize(map.empty() ? 0 : size_t{largest} + 1);
        for (const auto& [t, id] : map) v.add(t, id);
        return v;
    }

    void add(const std::string& token, uint32_t id) {
        if (check_id(id) >= tokens_.size()) tokens_.resize(size_t{id} + 1);
        tokens_[id] = token;
        ids_[token] = id;
    }

    std::optional<uint32_t> id(std::string_view token) const {
        auto it = ids_.find(token);
        if (it == ids_.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::string> token(uint32_t id) const {
        if (id >= tokens_.size()) return std::nullopt;
        return tokens_[id];
    }
    size_t size() const { return ids_.size(); }
    const std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>& map() const { return ids_; }

    json to_json() const {
        json j = json::object();
        for (uint32_t id = 0; id < tokens_.size(); ++id)
            if (auto it = ids_.find(tokens_[id]); it != ids_.end() && it->second == id) j[tokens_[id]] = id;
        return j;
    }

private:
    static uint32_t check_id(uint32_t id) {
        if (id >= kMaxVocabSize)
            throw_error("vocabulary: token id ", id, " is above tandem's limit of ", kMaxVocabSize - 1);
        return id;
    }

    std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ids_;
    std::vector<std::string> tokens_;
};

// A token id in a file: an integer below the vocabulary limit, checked before anything is sized by it.
inline uint32_t token_id(const json& value, const JsonPath& at) {
    return json_integer<uint32_t>(value, at, 0, kMaxVocabSize - 1, "tandem's limit on token ids");
}

inline Vocab vocab_from_json(const json& j, const JsonPath& at) {
    if (!j.is_object()) at.fail("expected an object of token: id, found ", j.type_name());
    Vocab v;
    for (auto it = j.begin(); it != j.end(); ++it) v.add(it.key(), token_id(it.value(), at.entry(it.key())));
    return v;
}

}  // namespace detail

namespace text {

class Model {
public:
    virtual ~Model() = default;
    // Appends the ids of one pre-tokenized word (UTF-8).
    virtual void tokenize(std::string_view word, std::vector<uint32_t>& ids) const = 0;
    virtual std::optional<uint32_t> token_to_id(std::string_view token) const = 0;
    virtual std::optional<std::string> id_to_token(uint32_t id) const = 0;
    virtual size_t vocab_size() const = 0;
    virtual json to_json() const = 0;
};

using ModelPtr = std::shared_ptr<const Model>;

}  // namespace text
}  // namespace tandem
