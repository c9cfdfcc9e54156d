// The split patterns tokenizer.json files use (`{"String": ...}` or
// `{"Regex": ...}`), matched by hand-written scanners over Unicode categories
// instead of a regex engine: the CLIP and GPT-2 pre-tokenizer expressions,
// `\s+`, and any regex without metacharacters. Others are reported by name.
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/text/detail/utf8.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::detail {

// Onig's \w: letters, marks, decimal digits and connector punctuation.
inline bool is_word_char(char32_t c) {
    if (c < 0x80) return is_letter(c) || (c >= '0' && c <= '9') || c == '_';
    const auto k = category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_ME) || k == UTF8PROC_CATEGORY_ND ||
           k == UTF8PROC_CATEGORY_PC;
}

inline constexpr std::string_view kClipRegex =
    R"(<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+)";
inline constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

using Span = std::pair<size_t, size_t>;

class Pattern {
public:
    enum class Kind { Literal, Whitespace, WhitespaceRun, Clip, Gpt2, WordOrSymbolRun };

    Pattern() = default;
    Pattern(Kind kind, std::u32string literal = {}, std::string source = {})
        : kind_(kind),
          literal_(std::move(literal)),
          source_(std::move(source)),
          is_regex_(kind != Kind::Literal) {}

    static Pattern literal(std::u32string_view text) {
        return Pattern(Kind::Literal, std::u32string(text), to_utf8(text));
    }

    static Pattern from_json(const json& j, const JsonPath& at) {
        if (!j.is_object()) at.fail("expected {\"String\": ...} or {\"Regex\": ...}, found ", j.type_name());
        if (j.contains("String")) {
            const std::string s = json_string(j, at, "String");
            Pattern p(Kind::Literal, decode_utf8(s), s);
            p.is_regex_ = false;
            return p;
        }
        const std::string re = json_string(j, at, "Regex");
        Pattern p = from_regex(re, at / "Regex");
        p.is_regex_ = true;
        return p;
    }

    static Pattern from_regex(const std::string& re, const JsonPath& at) {
        if (re == R"(\s+)") return Pattern(Kind::WhitespaceRun, {}, re);
        if (re == kClipRegex) return Pattern(Kind::Clip, {}, re);
        if (re == kGpt2Regex) return Pattern(Kind::Gpt2, {}, re);
        if (re == R"(\w+|[^\w\s]+)") return Pattern(Kind::WordOrSymbolRun, {}, re);
        if (re.find_first_of(R"(\^$.|?*+()[]{})") == std::string::npos)
            return Pattern(Kind::Literal, decode_utf8(re), re);
        at.fail("unsupported regex '", re,
                "': expected a literal, \\s+, or the CLIP, GPT-2 or Whitespace pre-tokenizer expression");
    }

    json to_json() const {
        json j;
        j[is_regex_ ? "Regex" : "String"] = source_;
        return j;
    }

    // Non-overlapping matches, left to right, as leftmost-first regex search finds them.
    void find(std::u32string_view s, std::vector<Span>& out) const {
        out.clear();
        const size_t n = s.size();
        size_t i = 0;
        while (i < n) {
            const size_t end = match_at(s, i);
            if (end > i) {
                out.emplace_back(i, end);
                i = end;
            } else {
                ++i;
            }
        }
    }

private:
    // End of the match starting exactly at i, or i when none starts there.
    size_t match_at(std::u32string_view s, size_t i) const {
        const size_t n = s.size();
        const auto run = [&](size_t k, auto&& pred) {
            while (k < n && pred(s[k])) ++k;
            return k;
        };
        const auto other = [](char32_t c) { return !is_whitespace(c) && !is_letter(c) && !is_number(c); };
        switch (kind_) {
            case Kind::Literal:
                if (!literal_.empty() && s.substr(i, literal_.size()) == literal_) return i + literal_.size();
                return i;
            case Kind::Whitespace:
                return is_whitespace(s[i]) ? i + 1 : i;
            case Kind::WhitespaceRun:
                return run(i, is_whitespace);
            case Kind::WordOrSymbolRun:
                if (is_word_char(s[i])) return run(i, is_word_char);
                return run(i, [](char32_t c) { return !is_word_char(c) && !is_whitespace(c); });
            case Kind::Clip: {
                static constexpr std::u32string_view specials[] = {U"<|startoftext|>", U"<|endoftext|>"};
                for (auto sp : specials)
                    if (s.substr(i, sp.size()) == sp) return i + sp.size();
                if (size_t e = contraction(s, i)) return e;
                if (is_letter(s[i])) return run(i, is_letter);
                if (is_number(s[i])) return i + 1;
                return run(i, other);
            }
            case Kind::Gpt2: {
                if (size_t e = contraction(s, i)) return e;
                const size_t j = (s[i] == U' ' && i + 1 < n) ? i + 1 : i;
                if (is_letter(s[j])) return run(j, is_letter);
                if (is_number(s[j])) return run(j, is_number);
                if (other(s[j])) return run(j, other);
                const size_t e = run(i, is_whitespace);
                // \s+(?!\S): leave the last space to the word that follows it.
                if (e < n && e - i > 1) return e - 1;
                return e;
            }
        }
        return i;
    }

    // 's 't 're 've 'm 'll 'd (case-sensitive, as in the expressions).
    static size_t contraction(std::u32string_view s, size_t i) {
        if (s[i] != U'\'' || i + 1 >= s.size()) return 0;
        const char32_t a = s[i + 1];
        if (a == U's' || a == U't' || a == U'm' || a == U'd') return i + 2;
        if (i + 2 < s.size()) {
            const char32_t b = s[i + 2];
            if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l'))
                return i + 3;
        }
        return 0;
    }

    Kind kind_ = Kind::Literal;
    std::u32string literal_;
    std::string source_;
    bool is_regex_ = false;
};

}  // namespace tandem::detail
