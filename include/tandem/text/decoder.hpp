// Decoders: turn tokens back into text. Mirrors HF `tokenizers.decoders`
// (ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, Strip, Fuse,
// ByteFallback, Sequence): each rewrites the token list, the results are joined.
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/text/detail/utf8.hpp>
#include <tandem/text/pre_tokenizer.hpp>

#include <cctype>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tandem {
namespace text {

using detail::json;

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
    virtual json to_json() const = 0;

    std::string decode(std::vector<std::string> tokens) const {
        decode_chain(tokens);
        std::string out;
        for (const auto& t : tokens) out += t;
        return out;
    }
};

using DecoderPtr = std::shared_ptr<const Decoder>;

}  // namespace text

namespace detail {

inline void replace_all(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    std::string out;
    size_t at = 0;
    for (size_t p; (p = s.find(from, at)) != std::string::npos; at = p + from.size()) {
        out.append(s, at, p - at);
        out += to;
    }
    out.append(s, at);
    s.swap(out);
}

// Rust's String::from_utf8_lossy.
inline std::string utf8_lossy(std::string_view bytes) { return to_utf8(decode_utf8(bytes, true)); }

}  // namespace detail

namespace text {

// Maps GPT-2's printable characters back to bytes, then reads them as UTF-8.
class ByteLevelDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        static const auto inverse = [] {
            std::unordered_map<char32_t, unsigned char> m;
            const auto& t = detail::bytes_to_unicode();
            for (int b = 0; b < 256; ++b) m[t[b]] = static_cast<unsigned char>(b);
            return m;
        }();
        std::string bytes;
        for (const auto& token : tokens) {
            for (char32_t c : detail::decode_utf8(token, true)) {
                if (auto it = inverse.find(c); it != inverse.end())
                    bytes += static_cast<char>(it->second);
                else
                    detail::append_utf8(bytes, c);
            }
        }
        tokens.assign(1, detail::utf8_lossy(bytes));
    }
    json to_json() const override {
        return {
            {"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    }
};

class WordPieceDecoder final : public Decoder {
public:
    explicit WordPieceDecoder(std::string prefix = "##", bool cleanup = true)
        : prefix_(std::move(prefix)), cleanup_(cleanup) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            auto& t = tokens[i];
            if (i != 0) {
                if (!prefix_.empty() && t.compare(0, prefix_.size(), prefix_) == 0)
                    t.erase(0, prefix_.size());
                else
                    t.insert(0, " ");
            }
            if (cleanup_) cleanup(t);
        }
    }
    // Undoes the spaces BERT's pre-tokenizer put around punctuation and contractions.
    static void cleanup(std::string& t) {
        static const std::pair<const char*, const char*> rules[] = {
            {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
            {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
            {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
        for (auto [from, to] : rules) detail::replace_all(t, from, to);
    }
    json to_json() const override {
        return {{"type", "WordPiece"}, {"prefix", prefix_}, {"cleanup", cleanup_}};
    }

private:
    std::string prefix_;
    bool cleanup_;
};

class MetaspaceDecoder final : public Decoder {
public:
    explicit MetaspaceDecoder(char32_t replacement = U'\u2581',
                              Metaspace::PrependScheme scheme = Metaspace::PrependScheme::Always)
        : replacement_(replacement), scheme_(scheme) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            std::u32string out;
            for (char32_t c : detail::decode_utf8(tokens[i], true)) {
                if (c != replacement_)
                    out += c;
                else if (i != 0 || scheme_ == Metaspace::PrependScheme::Never)
                    out += U' ';
            }
            tokens[i] = detail::to_utf8(out);
        }
    }
    json to_json() const override {
        static const char* schemes[] = {"always", "first", "never"};
        return {{"type", "Metaspace"},
                {"replacement", detail::to_utf8(std::u32string(1, replacement_))},
                {"prepend_scheme", schemes[static_cast<int>(scheme_)]},
                {"split", true}};
    }

private:
    char32_t replacement_;
    Metaspace::PrependScheme scheme_;
};

// Original BPE files mark word ends with a suffix such as `</w>`: it becomes a space.
class BPEDecoder final : public Decoder {
public:
    explicit BPEDecoder(std::string suffix = "</w>") : suffix_(std::move(suffix)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i)
            detail::replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    }
    json to_json() const override { return {{"type", "BPEDecoder"}, {"suffix", suffix_}}; }

private:
    std::string suffix_;
};

class ReplaceDecoder final : public Decoder {
public:
    ReplaceDecoder(std::string pattern, std::string content)
        : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) detail::replace_all(t, pattern_, content_);
    }
    json to_json() const override {
        return {{"type", "Replace"}, {"pattern", {{"String", pattern_}}}, {"content", content_}};
    }

private:
    std::string pattern_, content_;
};

class FuseDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.assign(1, all);
    }
    json to_json() const override { return {{"type", "Fuse"}}; }
};

// Removes up to `start` leading and `stop` trailing copies of `content` from each token.
class StripDecoder final : public Decoder {
public:
    StripDecoder(char32_t content, size_t start, size_t stop)
        : content_(content), start_(start), stop_(stop) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            auto s = detail::decode_utf8(t, true);
            size_t b = 0, e = s.size();
            while (b < start_ && b < e && s[b] == content_) ++b;
            for (size_t k = 0; k < stop_ && e > b && s[e - 1] == content_; ++k) --e;
            t = detail::to_utf8(s.substr(b, e - b));
        }
    }
    json to_json() const override {
        return {{"type", "Strip"},
                {"content", detail::to_utf8(std::u32string(1, content_))},
                {"start", start_},
                {"stop", stop_}};
    }

private:
    char32_t content_;
    size_t start_, stop_;
};

// Runs of `<0xAB>` tokens become the UTF-8 text they spell (U+FFFD per bad byte run).
class ByteFallbackDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        std::string bytes;
        const auto flush = [&] {
            if (bytes.empty()) return;
            const bool valid = [&] {
                try {
                    detail::decode_utf8(bytes);
                    return true;
                } catch (const Error&) {
                    return false;
                }
            }();
            if (valid)
                out.push_back(bytes);
            else
                for (size_t k = 0; k < bytes.size(); ++k) out.push_back("\xEF\xBF\xBD");
            bytes.clear();
        };
        for (const auto& t : tokens) {
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
                std::isxdigit(static_cast<unsigned char>(t[3])) &&
                std::isxdigit(static_cast<unsigned char>(t[4]))) {
                bytes += static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16));
                continue;
            }
            flush();
            out.push_back(t);
        }
        flush();
        tokens.swap(out);
    }
    json to_json() const override { return {{"type", "ByteFallback"}}; }
};

class DecoderSequence final : public Decoder {
public:
    explicit DecoderSequence(std::vector<DecoderPtr> steps) : steps_(std::move(steps)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (const auto& s : steps_) s->decode_chain(tokens);
    }
    json to_json() const override {
        json list = json::array();
        for (const auto& s : steps_) list.push_back(s->to_json());
        return {{"type", "Sequence"}, {"decoders", list}};
    }

private:
    std::vector<DecoderPtr> steps_;
};

inline DecoderPtr decoder_from_json(const json& j, const detail::JsonPath& at) {
    if (j.is_null()) return nullptr;
    const std::string type = detail::json_type(j, at);
    if (type == "ByteLevel") return std::make_shared<ByteLevelDecoder>();
    if (type == "WordPiece")
        return std::make_shared<WordPieceDecoder>(detail::json_optional_string(j, at, "prefix", "##"),
                                                  detail::json_bool(j, at, "cleanup", true));
    if (type == "Metaspace")
        return std::make_shared<MetaspaceDecoder>(metaspace_replacement_from_json(j, at),
                                                  metaspace_scheme_from_json(j, at));
    if (type == "BPEDecoder")
        return std::make_shared<BPEDecoder>(detail::json_optional_string(j, at, "suffix", "</w>"));
    if (type == "Replace") {
        const json& p = detail::json_at(j, at, "pattern");
        if (!p.is_object() || !p.contains("String"))
            (at / "pattern")
                .fail("only {\"String\": ...} patterns are supported in decoders, found ", p.dump());
        return std::make_shared<ReplaceDecoder>(detail::json_string(p, at / "pattern", "String"),
                                                detail::json_string(j, at, "content"));
    }
    if (type == "Fuse") return std::make_shared<FuseDecoder>();
    if (type == "ByteFallback") return std::make_shared<ByteFallbackDecoder>();
    if (type == "Strip") {
        const auto content = detail::decode_utf8(detail::json_string(j, at, "content"));
        if (content.size() != 1) (at / "content").fail("expected one character, found ", content.size());
        return std::make_shared<StripDecoder>(content[0], detail::json_number<size_t>(j, at, "start", 0),
                                              detail::json_number<size_t>(j, at, "stop", 0));
    }
    if (type == "Sequence") {
        const json& list = detail::json_at(j, at, "decoders");
        if (!list.is_array()) (at / "decoders").fail("expected an array, found ", list.type_name());
        std::vector<DecoderPtr> steps;
        for (size_t i = 0; i < list.size(); ++i)
            if (auto d = decoder_from_json(list[i], (at / "decoders")[i])) steps.push_back(std::move(d));
        return std::make_shared<DecoderSequence>(std::move(steps));
    }
    (at / "type").fail("unknown decoder type '", type, "'");
}

}  // namespace text
}  // namespace tandem
