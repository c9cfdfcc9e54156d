// Pre-tokenizers: split normalised text into the words a model encodes one by
// one. Mirrors HF `tokenizers.pre_tokenizers` (ByteLevel, Split, Whitespace,
// WhitespaceSplit, BertPreTokenizer, Punctuation, Digits, Metaspace, Sequence),
// with the split behaviours (removed, isolated, merged, contiguous) of the Rust crate.
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/core/error.hpp>
#include <tandem/text/detail/pattern.hpp>
#include <tandem/text/detail/utf8.hpp>

#include <algorithm>
#include <array>
#include <concepts>
#include <memory>
#include <string>
#include <vector>

namespace tandem {
namespace text {

using detail::json;

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

inline const char* to_string(SplitBehavior b) {
    static const char* names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};
    return names[static_cast<int>(b)];
}

inline SplitBehavior split_behavior_from_json(const json& j, const detail::JsonPath& at) {
    const auto name = detail::json_as<std::string>(j, at);
    for (auto b : {SplitBehavior::Removed, SplitBehavior::Isolated, SplitBehavior::MergedWithPrevious,
                   SplitBehavior::MergedWithNext, SplitBehavior::Contiguous})
        if (name == to_string(b)) return b;
    at.fail("unknown split behaviour '", name, "'");
}

}  // namespace text

namespace detail {

// Splits `piece` around `matches` (sorted, disjoint) the way HF's
// NormalizedString::split does, appending the kept parts to `out`.
inline void split_piece(const std::u32string& piece, const std::vector<Span>& matches,
                        text::SplitBehavior behavior, bool invert, std::vector<std::u32string>& out) {
    struct Part {
        size_t b, e;
        bool is_match;
    };
    std::vector<Part> parts;
    size_t at = 0;
    for (auto [b, e] : matches) {
        if (b > at) parts.push_back({at, b, invert});
        parts.push_back({b, e, !invert});
        at = e;
    }
    if (at < piece.size()) parts.push_back({at, piece.size(), invert});

    std::vector<Part> kept;
    switch (behavior) {
        case text::SplitBehavior::Removed:
            for (const auto& p : parts)
                if (!p.is_match) kept.push_back(p);
            break;
        case text::SplitBehavior::Isolated:
            kept = parts;
            break;
        case text::SplitBehavior::Contiguous:
            for (size_t i = 0; i < parts.size(); ++i) {
                if (i > 0 && parts[i].is_match == parts[i - 1].is_match)
                    kept.back().e = parts[i].e;
                else
                    kept.push_back(parts[i]);
            }
            break;
        case text::SplitBehavior::MergedWithPrevious: {
            bool previous_match = false;
            for (const auto& p : parts) {
                if (p.is_match && !previous_match && !kept.empty())
                    kept.back().e = p.e;
                else
                    kept.push_back(p);
                previous_match = p.is_match;
            }
            break;
        }
        case text::SplitBehavior::MergedWithNext: {
            bool previous_match = false;
            for (size_t i = parts.size(); i-- > 0;) {
                const auto& p = parts[i];
                if (p.is_match && !previous_match && !kept.empty())
                    kept.back().b = p.b;
                else
                    kept.push_back(p);
                previous_match = p.is_match;
            }
            std::reverse(kept.begin(), kept.end());
            break;
        }
    }
    for (const auto& p : kept)
        if (p.e > p.b) out.push_back(piece.substr(p.b, p.e - p.b));
}

// Applies `split` to each piece in turn.
template <std::invocable<const std::u32string&, std::vector<std::u32string>&> F>
void split_each(std::vector<std::u32string>& pieces, F&& split) {
    std::vector<std::u32string> out;
    out.reserve(pieces.size() * 2);
    for (const auto& p : pieces) split(p, out);
    pieces.swap(out);
}

// Every character satisfying `pred` is one match (HF's `Fn(char) -> bool` pattern).
template <std::predicate<char32_t> Pred>
void char_matches(const std::u32string& s, Pred&& pred, std::vector<Span>& out) {
    out.clear();
    for (size_t i = 0; i < s.size(); ++i)
        if (pred(s[i])) out.emplace_back(i, i + 1);
}

// GPT-2's reversible byte → printable character table.
inline const std::array<char32_t, 256>& bytes_to_unicode() {
    static const std::array<char32_t, 256> table = [] {
        std::array<char32_t, 256> t{};
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[b] = printable ? static_cast<char32_t>(b) : next++;
        }
        return t;
    }();
    return table;
}

}  // namespace detail

namespace text {

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Replaces each piece by the pieces it splits into, in order.
    virtual void pre_tokenize(std::vector<std::u32string>& pieces) const = 0;
    virtual json to_json() const = 0;
};

using PreTokenizerPtr = std::shared_ptr<const PreTokenizer>;

class Split final : public PreTokenizer {
public:
    Split(detail::Pattern pattern, SplitBehavior behavior, bool invert = false)
        : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        std::vector<detail::Span> m;
        detail::split_each(pieces, [&](const std::u32string& p, auto& out) {
            pattern_.find(p, m);
            detail::split_piece(p, m, behavior_, invert_, out);
        });
    }
    json to_json() const override {
        return {{"type", "Split"},
                {"pattern", pattern_.to_json()},
                {"behavior", to_string(behavior_)},
                {"invert", invert_}};
    }

private:
    detail::Pattern pattern_;
    SplitBehavior behavior_;
    bool invert_;
};

// GPT-2 style: optionally a leading space and the GPT-2 split, then every UTF-8
// byte becomes one printable character.
class ByteLevel final : public PreTokenizer {
public:
    explicit ByteLevel(bool add_prefix_space = true, bool use_regex = true, bool trim_offsets = true)
        : add_prefix_space_(add_prefix_space), use_regex_(use_regex), trim_offsets_(trim_offsets) {}

    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        if (add_prefix_space_)
            for (auto& p : pieces)
                if (p.empty() || p[0] != U' ') p.insert(p.begin(), U' ');
        if (use_regex_) {
            const detail::Pattern gpt2(detail::Pattern::Kind::Gpt2);
            std::vector<detail::Span> m;
            detail::split_each(pieces, [&](const std::u32string& p, auto& out) {
                gpt2.find(p, m);
                detail::split_piece(p, m, SplitBehavior::Isolated, false, out);
            });
        }
        const auto& table = detail::bytes_to_unicode();
        std::string bytes;
        for (auto& p : pieces) {
            bytes.clear();
            for (char32_t c : p) detail::append_utf8(bytes, c);
            p.resize(bytes.size());
            for (size_t i = 0; i < bytes.size(); ++i) p[i] = table[static_cast<unsigned char>(bytes[i])];
        }
    }
    json to_json() const override {
        return {{"type", "ByteLevel"},
                {"add_prefix_space", add_prefix_space_},
                {"trim_offsets", trim_offsets_},
                {"use_regex", use_regex_}};
    }

private:
    bool add_prefix_space_, use_regex_, trim_offsets_;
};

// `\w+|[^\w\s]+`: word runs and symbol runs, whitespace dropped.
class Whitespace final : public PreTokenizer {
public:
    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        Split(detail::Pattern(detail::Pattern::Kind::WordOrSymbolRun), SplitBehavior::Removed, true)
            .pre_tokenize(pieces);
    }
    json to_json() const override { return {{"type", "Whitespace"}}; }
};

class WhitespaceSplit final : public PreTokenizer {
public:
    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        std::vector<detail::Span> m;
        detail::split_each(pieces, [&](const std::u32string& p, auto& out) {
            detail::char_matches(p, detail::is_whitespace, m);
            detail::split_piece(p, m, SplitBehavior::Removed, false, out);
        });
    }
    json to_json() const override { return {{"type", "WhitespaceSplit"}}; }
};

class Punctuation final : public PreTokenizer {
public:
    explicit Punctuation(SplitBehavior behavior = SplitBehavior::Isolated) : behavior_(behavior) {}
    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        std::vector<detail::Span> m;
        detail::split_each(pieces, [&](const std::u32string& p, auto& out) {
            detail::char_matches(p, detail::is_bert_punctuation, m);
            detail::split_piece(p, m, behavior_, false, out);
        });
    }
    json to_json() const override { return {{"type", "Punctuation"}, {"behavior", to_string(behavior_)}}; }

private:
    SplitBehavior behavior_;
};

// Whitespace removed, then each punctuation character on its own.
class BertPreTokenizer final : public PreTokenizer {
public:
    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        WhitespaceSplit().pre_tokenize(pieces);
        Punctuation(SplitBehavior::Isolated).pre_tokenize(pieces);
    }
    json to_json() const override { return {{"type", "BertPreTokenizer"}}; }
};

class Digits final : public PreTokenizer {
public:
    explicit Digits(bool individual_digits = false) : individual_(individual_digits) {}
    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        std::vector<detail::Span> m;
        detail::split_each(pieces, [&](const std::u32string& p, auto& out) {
            detail::char_matches(p, detail::is_number, m);
            detail::split_piece(p, m, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous,
                                false, out);
        });
    }
    json to_json() const override { return {{"type", "Digits"}, {"individual_digits", individual_}}; }

private:
    bool individual_;
};

// SentencePiece's word boundary: spaces become `▁`, a `▁` is prepended
// (always, on the first piece only, or never) and each word keeps the `▁` before it.
class Metaspace final : public PreTokenizer {
public:
    enum class PrependScheme { Always, First, Never };

    explicit Metaspace(char32_t replacement = U'\u2581', PrependScheme scheme = PrependScheme::Always,
                       bool split = true)
        : replacement_(replacement), scheme_(scheme), split_(split) {}

    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        for (size_t i = 0; i < pieces.size(); ++i) {
            auto& p = pieces[i];
            for (auto& c : p)
                if (c == U' ') c = replacement_;
            const bool prepend =
                scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && i == 0);
            if (prepend && (p.empty() || p[0] != replacement_)) p.insert(p.begin(), replacement_);
        }
        if (!split_) return;
        std::vector<detail::Span> m;
        detail::split_each(pieces, [&](const std::u32string& p, auto& out) {
            detail::char_matches(
                p, [&](char32_t c) { return c == replacement_; }, m);
            detail::split_piece(p, m, SplitBehavior::MergedWithNext, false, out);
        });
    }
    json to_json() const override {
        static const char* schemes[] = {"always", "first", "never"};
        return {{"type", "Metaspace"},
                {"replacement", detail::to_utf8(std::u32string(1, replacement_))},
                {"prepend_scheme", schemes[static_cast<int>(scheme_)]},
                {"split", split_}};
    }
    char32_t replacement() const { return replacement_; }
    PrependScheme prepend_scheme() const { return scheme_; }

private:
    char32_t replacement_;
    PrependScheme scheme_;
    bool split_;
};

class PreTokenizerSequence final : public PreTokenizer {
public:
    explicit PreTokenizerSequence(std::vector<PreTokenizerPtr> steps) : steps_(std::move(steps)) {}
    void pre_tokenize(std::vector<std::u32string>& pieces) const override {
        for (const auto& s : steps_) s->pre_tokenize(pieces);
    }
    json to_json() const override {
        json list = json::array();
        for (const auto& s : steps_) list.push_back(s->to_json());
        return {{"type", "Sequence"}, {"pretokenizers", list}};
    }

private:
    std::vector<PreTokenizerPtr> steps_;
};

inline Metaspace::PrependScheme metaspace_scheme_from_json(const json& j, const detail::JsonPath& at) {
    if (const auto s = detail::json_optional_string(j, at, "prepend_scheme"); !s.empty()) {
        if (s == "always") return Metaspace::PrependScheme::Always;
        if (s == "first") return Metaspace::PrependScheme::First;
        if (s == "never") return Metaspace::PrependScheme::Never;
        (at / "prepend_scheme").fail("expected always, first or never, found '", s, "'");
    }
    // Files older than prepend_scheme carry add_prefix_space.
    return detail::json_bool(j, at, "add_prefix_space", true) ? Metaspace::PrependScheme::Always
                                                              : Metaspace::PrependScheme::Never;
}

inline char32_t metaspace_replacement_from_json(const json& j, const detail::JsonPath& at) {
    const auto r = detail::decode_utf8(detail::json_optional_string(j, at, "replacement", "\u2581"));
    if (r.size() != 1) (at / "replacement").fail("expected one character, found ", r.size());
    return r[0];
}

inline PreTokenizerPtr pre_tokenizer_from_json(const json& j, const detail::JsonPath& at) {
    if (j.is_null()) return nullptr;
    const std::string type = detail::json_type(j, at);
    if (type == "ByteLevel")
        return std::make_shared<ByteLevel>(detail::json_bool(j, at, "add_prefix_space", true),
                                           detail::json_bool(j, at, "use_regex", true),
                                           detail::json_bool(j, at, "trim_offsets", true));
    if (type == "Split") {
        auto behavior = split_behavior_from_json(detail::json_at(j, at, "behavior"), at / "behavior");
        return std::make_shared<Split>(
            detail::Pattern::from_json(detail::json_at(j, at, "pattern"), at / "pattern"), behavior,
            detail::json_bool(j, at, "invert", false));
    }
    if (type == "Whitespace") return std::make_shared<Whitespace>();
    if (type == "WhitespaceSplit") return std::make_shared<WhitespaceSplit>();
    if (type == "BertPreTokenizer") return std::make_shared<BertPreTokenizer>();
    if (type == "Punctuation") {
        auto behavior = SplitBehavior::Isolated;
        if (auto it = j.find("behavior"); it != j.end())
            behavior = split_behavior_from_json(*it, at / "behavior");
        return std::make_shared<Punctuation>(behavior);
    }
    if (type == "Digits")
        return std::make_shared<Digits>(detail::json_bool(j, at, "individual_digits", false));
    if (type == "Metaspace")
        return std::make_shared<Metaspace>(metaspace_replacement_from_json(j, at),
                                           metaspace_scheme_from_json(j, at),
                                           detail::json_bool(j, at, "split", true));
    if (type == "Sequence") {
        const json& list = detail::json_at(j, at, "pretokenizers");
        if (!list.is_array()) (at / "pretokenizers").fail("expected an array, found ", list.type_name());
        std::vector<PreTokenizerPtr> steps;
        for (size_t i = 0; i < list.size(); ++i)
            if (auto p = pre_tokenizer_from_json(list[i], (at / "pretokenizers")[i]))
                steps.push_back(std::move(p));
        return std::make_shared<PreTokenizerSequence>(std::move(steps));
    }
    (at / "type").fail("unknown pre-tokenizer type '", type, "'");
}

}  // namespace text
}  // namespace tandem
