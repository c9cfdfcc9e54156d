// Normalizers: the first step of a tokenizer, rewriting the text before it is
// split. Mirrors HF `tokenizers.normalizers` (NFC/NFD/NFKC/NFKD, Lowercase,
// StripAccents, Strip, Replace, Prepend, Sequence, BertNormalizer, Precompiled),
// Unicode tables from utf8proc, character by character as the Rust crate does.
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/core/error.hpp>
#include <tandem/text/detail/pattern.hpp>
#include <tandem/text/detail/precompiled.hpp>
#include <tandem/text/detail/utf8.hpp>

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace tandem::text {

using detail::json;

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void normalize(std::u32string& text) const = 0;
    virtual json to_json() const = 0;
};

using NormalizerPtr = std::shared_ptr<const Normalizer>;

enum class UnicodeForm { NFC, NFD, NFKC, NFKD };

class UnicodeNormalizer final : public Normalizer {
public:
    explicit UnicodeNormalizer(UnicodeForm form) : form_(form) {}

    void normalize(std::u32string& text) const override {
        bool ascii = true;
        for (char32_t c : text) ascii = ascii && c < 0x80;
        if (ascii) return;
        // utf8proc_map decomposes, reorders marks canonically and recomposes in one pass.
        int options = UTF8PROC_STABLE;
        options |=
            (form_ == UnicodeForm::NFC || form_ == UnicodeForm::NFKC) ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE;
        if (form_ == UnicodeForm::NFKC || form_ == UnicodeForm::NFKD) options |= UTF8PROC_COMPAT;
        const std::string in = detail::to_utf8(text);
        utf8proc_uint8_t* out = nullptr;
        const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(in.data()),
                                    static_cast<utf8proc_ssize_t>(in.size()), &out,
                                    static_cast<utf8proc_option_t>(options));
        if (n < 0) detail::throw_error("Unicode normalisation failed: ", utf8proc_errmsg(n));
        std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
        text = detail::decode_utf8(
            std::string_view(reinterpret_cast<const char*>(out), static_cast<size_t>(n)), true);
    }

    json to_json() const override {
        static const char* names[] = {"NFC", "NFD", "NFKC", "NFKD"};
        return {{"type", names[static_cast<int>(form_)]}};
    }

private:
    UnicodeForm form_;
};

class Lowercase final : public Normalizer {
public:
    void normalize(std::u32string& text) const override {
        std::u32string out;
        out.reserve(text.size());
        for (char32_t c : text) detail::append_lowercase(out, c);
        text.swap(out);
    }
    json to_json() const override { return {{"type", "Lowercase"}}; }
};

// Drops non-spacing marks; meant to follow NFD/NFKD as HF requires.
class StripAccents final : public Normalizer {
public:
    void normalize(std::u32string& text) const override { std::erase_if(text, detail::is_nonspacing_mark); }
    json to_json() const override { return {{"type", "StripAccents"}}; }
};

class Strip final : public Normalizer {
public:
    Strip(bool left, bool right) : left_(left), right_(right) {}
    void normalize(std::u32string& text) const override {
        size_t b = 0, e = text.size();
        if (left_)
            while (b < e && detail::is_whitespace(text[b])) ++b;
        if (right_)
            while (e > b && detail::is_whitespace(text[e - 1])) --e;
        text = text.substr(b, e - b);
    }
    json to_json() const override {
        return {{"type", "Strip"}, {"strip_left", left_}, {"strip_right", right_}};
    }

private:
    bool left_, right_;
};

class Replace final : public Normalizer {
public:
    Replace(detail::Pattern pattern, std::u32string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void normalize(std::u32string& text) const override {
        std::vector<detail::Span> matches;
        pattern_.find(text, matches);
        if (matches.empty()) return;
        std::u32string out;
        out.reserve(text.size());
        size_t at = 0;
        for (auto [b, e] : matches) {
            out.append(text, at, b - at);
            out += content_;
            at = e;
        }
        out.append(text, at);
        text.swap(out);
    }
    json to_json() const override {
        return {{"type", "Replace"}, {"pattern", pattern_.to_json()}, {"content", detail::to_utf8(content_)}};
    }

private:
    detail::Pattern pattern_;
    std::u32string content_;
};

class Prepend final : public Normalizer {
public:
    explicit Prepend(std::u32string prefix) : prefix_(std::move(prefix)) {}
    void normalize(std::u32string& text) const override {
        if (!text.empty()) text.insert(0, prefix_);
    }
    json to_json() const override { return {{"type", "Prepend"}, {"prepend", detail::to_utf8(prefix_)}}; }

private:
    std::u32string prefix_;
};

class NormalizerSequence final : public Normalizer {
public:
    explicit NormalizerSequence(std::vector<NormalizerPtr> steps) : steps_(std::move(steps)) {}
    void normalize(std::u32string& text) const override {
        for (const auto& s : steps_) s->normalize(text);
    }
    json to_json() const override {
        json list = json::array();
        for (const auto& s : steps_) list.push_back(s->to_json());
        return {{"type", "Sequence"}, {"normalizers", list}};
    }

private:
    std::vector<NormalizerPtr> steps_;
};

// BERT's cleanup: drop NUL, U+FFFD and control characters, map whitespace to
// ' ', pad CJK ideographs with spaces, strip accents (by default whenever
// lowercasing), lowercase.
class BertNormalizer final : public Normalizer {
public:
    enum class Accents { Default, Strip, Keep };

    BertNormalizer(bool clean_text = true, bool handle_chinese_chars = true,
                   Accents strip_accents = Accents::Default, bool lowercase = true)
        : clean_text_(clean_text),
          chinese_(handle_chinese_chars),
          accents_(strip_accents),
          lowercase_(lowercase) {}

    static bool is_chinese_char(char32_t c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
               (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
               (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
               (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    void normalize(std::u32string& text) const override {
        std::u32string out;
        out.reserve(text.size() + 8);
        for (char32_t c : text) {
            if (clean_text_) {
                const bool control = c != U'\t' && c != U'\n' && c != U'\r' && detail::is_other(c);
                if (c == 0 || c == 0xFFFD || control) continue;
                if (detail::is_whitespace(c)) c = U' ';
            }
            if (chinese_ && is_chinese_char(c)) {
                out += U' ';
                out += c;
                out += U' ';
            } else {
                out += c;
            }
        }
        if (accents_ == Accents::Strip || (accents_ == Accents::Default && lowercase_)) {
            UnicodeNormalizer(UnicodeForm::NFD).normalize(out);
            StripAccents().normalize(out);
        }
        if (lowercase_) Lowercase().normalize(out);
        text.swap(out);
    }

    json to_json() const override {
        json accents = accents_ == Accents::Default ? json(nullptr) : json(accents_ == Accents::Strip);
        return {{"type", "BertNormalizer"},
                {"clean_text", clean_text_},
                {"handle_chinese_chars", chinese_},
                {"strip_accents", accents},
                {"lowercase", lowercase_}};
    }

private:
    bool clean_text_, chinese_;
    Accents accents_;
    bool lowercase_;
};

// SentencePiece's compiled normalisation rules (e.g. nmt_nfkc for T5/SigLIP).
class Precompiled final : public Normalizer {
public:
    Precompiled(std::string base64, const std::string& where)
        : base64_(std::move(base64)), map_(detail::base64_decode(base64_, where), where) {}

    void normalize(std::u32string& text) const override {
        text = detail::decode_utf8(map_.normalize(detail::to_utf8(text)), true);
    }
    json to_json() const override { return {{"type", "Precompiled"}, {"precompiled_charsmap", base64_}}; }

private:
    std::string base64_;
    detail::PrecompiledCharsmap map_;
};

// Builds a normalizer from its tokenizer.json object; `at` names file and key for errors.
inline NormalizerPtr normalizer_from_json(const json& j, const detail::JsonPath& at) {
    if (j.is_null()) return nullptr;
    const std::string type = detail::json_type(j, at);
    if (type == "NFC") return std::make_shared<UnicodeNormalizer>(UnicodeForm::NFC);
    if (type == "NFD") return std::make_shared<UnicodeNormalizer>(UnicodeForm::NFD);
    if (type == "NFKC") return std::make_shared<UnicodeNormalizer>(UnicodeForm::NFKC);
    if (type == "NFKD") return std::make_shared<UnicodeNormalizer>(UnicodeForm::NFKD);
    if (type == "Lowercase") return std::make_shared<Lowercase>();
    if (type == "StripAccents") return std::make_shared<StripAccents>();
    if (type == "Strip")
        return std::make_shared<Strip>(detail::json_bool(j, at, "strip_left", true),
                                       detail::json_bool(j, at, "strip_right", true));
    if (type == "Replace")
        return std::make_shared<Replace>(
            detail::Pattern::from_json(detail::json_at(j, at, "pattern"), at / "pattern"),
            detail::decode_utf8(detail::json_string(j, at, "content")));
    if (type == "Prepend")
        return std::make_shared<Prepend>(detail::decode_utf8(detail::json_string(j, at, "prepend")));
    if (type == "Sequence") {
        const json& list = detail::json_at(j, at, "normalizers");
        if (!list.is_array()) (at / "normalizers").fail("expected an array, found ", list.type_name());
        std::vector<NormalizerPtr> steps;
        for (size_t i = 0; i < list.size(); ++i)
            if (auto n = normalizer_from_json(list[i], (at / "normalizers")[i]))
                steps.push_back(std::move(n));
        return std::make_shared<NormalizerSequence>(std::move(steps));
    }
    if (type == "BertNormalizer") {
        auto accents = BertNormalizer::Accents::Default;
        if (auto it = j.find("strip_accents"); it != j.end() && !it->is_null())
            accents = detail::json_as<bool>(*it, at / "strip_accents") ? BertNormalizer::Accents::Strip
                                                                       : BertNormalizer::Accents::Keep;
        return std::make_shared<BertNormalizer>(detail::json_bool(j, at, "clean_text", true),
                                                detail::json_bool(j, at, "handle_chinese_chars", true),
                                                accents, detail::json_bool(j, at, "lowercase", true));
    }
    if (type == "Precompiled") {
        const std::string blob = detail::json_optional_string(j, at, "precompiled_charsmap");
        if (blob.empty()) return nullptr;  // an empty charsmap normalises nothing
        return std::make_shared<Precompiled>(blob, (at / "precompiled_charsmap").where());
    }
    (at / "type").fail("unknown normalizer type '", type, "'");
}

}  // namespace tandem::text
