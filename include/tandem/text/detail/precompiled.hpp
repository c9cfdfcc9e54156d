// SentencePiece's precompiled normalisation charsmap (the `Precompiled`
// normalizer of tokenizer.json): a darts-clone double-array trie over UTF-8 keys
// plus a blob of NUL-terminated replacements, read exactly as the HF Rust crate
// `spm_precompiled` does, bounds-checked.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/text/detail/utf8.hpp>

#include <utf8proc.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::detail {

inline std::string base64_decode(std::string_view in, const std::string& where) {
    const auto value = [&](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    out.reserve(in.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '=') break;
        const int v = value(c);
        if (v < 0) throw_error(where, ": expected base64, found character '", c, "' at offset ", i);
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

class PrecompiledCharsmap {
public:
    PrecompiledCharsmap() = default;

    PrecompiledCharsmap(std::string_view blob, const std::string& where) {
        if (blob.size() < 4)
            throw_error(where, ": charsmap of ", blob.size(), " bytes is shorter than its header");
        const uint32_t trie_size = read_u32(blob, 0);
        if (trie_size % 4 != 0 || 4 + static_cast<size_t>(trie_size) > blob.size())
            throw_error(where, ": trie size ", trie_size, " does not fit the ", blob.size(),
                        "-byte charsmap");
        array_.resize(trie_size / 4);
        for (size_t i = 0; i < array_.size(); ++i) array_[i] = read_u32(blob, 4 + 4 * i);
        normalized_ = std::string(blob.substr(4 + trie_size));
        if (array_.empty()) throw_error(where, ": empty trie");
    }

    // Replacement for the shortest key that prefixes `chunk` (the crate takes
    // results[0] of its common-prefix search), or nothing.
    std::optional<std::string_view> transform(std::string_view chunk) const {
        size_t node = offset(array_[0]);
        for (unsigned char c : chunk) {
            if (c == 0) break;
            node ^= c;
            if (node >= array_.size()) return std::nullopt;
            const uint32_t unit = array_[node];
            if (label(unit) != c) return std::nullopt;
            node ^= offset(unit);
            if (node >= array_.size()) return std::nullopt;
            if ((unit >> 8) & 1) {
                const size_t start = array_[node] & 0x7FFFFFFFu;
                if (start >= normalized_.size()) return std::nullopt;
                const size_t end = normalized_.find('\0', start);
                return std::string_view(normalized_)
                    .substr(start, (end == std::string::npos ? normalized_.size() : end) - start);
            }
        }
        return std::nullopt;
    }

    // Grapheme by grapheme: a grapheme shorter than 6 bytes is looked up whole,
    // otherwise (or when absent) each character on its own.
    std::string normalize(std::string_view text) const {
        std::string out;
        out.reserve(text.size());
        size_t i = 0;
        while (i < text.size()) {
            const size_t end = next_grapheme(text, i);
            const std::string_view grapheme = text.substr(i, end - i);
            i = end;
            if (grapheme.size() < 6) {
                if (auto norm = transform(grapheme)) {
                    out += *norm;
                    continue;
                }
            }
            size_t k = 0;
            while (k < grapheme.size()) {
                char32_t cp;
                size_t bad;
                size_t n = utf8_sequence(grapheme, k, cp, bad);
                if (n == 0) n = bad;
                const std::string_view part = grapheme.substr(k, n);
                if (auto norm = transform(part)) {
                    out += *norm;
                } else {
                    out += part;
                }
                k += n;
            }
        }
        return out;
    }

private:
    static uint32_t read_u32(std::string_view s, size_t at) {
        return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) |
               static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8 |
               static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 16 |
               static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3])) << 24;
    }
    static uint32_t label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
    static size_t offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

    // End of the extended grapheme cluster starting at byte `i` (valid UTF-8).
    static size_t next_grapheme(std::string_view text, size_t i) {
        char32_t prev = 0;
        size_t bad;
        size_t n = utf8_sequence(text, i, prev, bad);
        size_t j = i + (n ? n : bad);
        utf8proc_int32_t state = 0;
        while (j < text.size()) {
            char32_t cp = 0;
            n = utf8_sequence(text, j, cp, bad);
            if (n == 0) break;
            if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev),
                                                 static_cast<utf8proc_int32_t>(cp), &state))
                break;
            prev = cp;
            j += n;
        }
        return j;
    }

    std::vector<uint32_t> array_;
    std::string normalized_;
};

}  // namespace tandem::detail
