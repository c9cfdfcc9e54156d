// UTF-8 decoding, validation and the Unicode character classes the tokenizers
// need (letters, numbers, punctuation, White_Space, control), answered by
// utf8proc's tables. Mirrors what the HF Rust crate gets from `char` methods and
// the `unicode_categories` crate, so no std::regex is needed anywhere.
#pragma once

#include <tandem/core/error.hpp>

#include <utf8proc.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::detail {

inline void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

inline std::string to_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text) append_utf8(out, c);
    return out;
}

// Length of the valid sequence starting at `s[i]`, or 0 when it is not valid
// UTF-8 (overlong forms, surrogates and code points above U+10FFFF included).
// `bad_len` receives how many bytes Rust's `from_utf8_lossy` replaces by one U+FFFD.
inline size_t utf8_sequence(std::string_view s, size_t i, char32_t& cp, size_t& bad_len) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c0 = b(i);
    bad_len = 1;
    if (c0 < 0x80) {
        cp = c0;
        return 1;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c0 >= 0xC2 && c0 <= 0xDF) {
        n = 2;
    } else if (c0 >= 0xE0 && c0 <= 0xEF) {
        n = 3;
        if (c0 == 0xE0) lo = 0xA0;
        if (c0 == 0xED) hi = 0x9F;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
        n = 4;
        if (c0 == 0xF0) lo = 0x90;
        if (c0 == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    char32_t value = c0 & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
        if (i + k >= s.size()) return 0;
        const unsigned char c = b(i + k);
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return 0;
        value = (value << 6) | (c & 0x3F);
        bad_len = k + 1;
    }
    cp = value;
    return n;
}

// Decodes `text`; invalid bytes throw a tandem::Error giving the byte offset, or
// become U+FFFD when `replace_invalid` is set.
inline std::u32string decode_utf8(std::string_view text, bool replace_invalid = false) {
    std::u32string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out += c;
            ++i;
            continue;
        }
        char32_t cp = 0;
        size_t bad = 0;
        const size_t n = utf8_sequence(text, i, cp, bad);
        if (n == 0) {
            if (!replace_invalid)
                throw_error("invalid UTF-8 at byte offset ", i, ": expected a valid sequence, found byte 0x",
                            std::hex, static_cast<int>(c));
            out += U'\uFFFD';
            i += bad;
            continue;
        }
        out += cp;
        i += n;
    }
    return out;
}

// Rust's char::is_whitespace (the Unicode White_Space property); Oniguruma's \s
// in HF regexes matches the same set.
inline bool is_whitespace(char32_t c) {
    switch (c) {
        case 0x09:
        case 0x0A:
        case 0x0B:
        case 0x0C:
        case 0x0D:
        case 0x20:
        case 0x85:
        case 0xA0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202F:
        case 0x205F:
        case 0x3000:
            return true;
        default:
            return c >= 0x2000 && c <= 0x200A;
    }
}

inline utf8proc_category_t category(char32_t c) {
    return static_cast<utf8proc_category_t>(utf8proc_category(static_cast<utf8proc_int32_t>(c)));
}

// \p{L}
inline bool is_letter(char32_t c) {
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

// \p{N}
inline bool is_number(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

// \p{P}
inline bool is_punctuation(char32_t c) {
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

// BERT's punctuation: every non-alphanumeric ASCII symbol, plus Unicode \p{P}.
inline bool is_bert_punctuation(char32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;
    return c >= 0x80 && is_punctuation(c);
}

// \p{Mn}, the marks StripAccents removes.
inline bool is_nonspacing_mark(char32_t c) { return c >= 0x300 && category(c) == UTF8PROC_CATEGORY_MN; }

// What BERT's clean_text drops: the unicode_categories crate's is_other, whose
// tables come from UnicodeData.txt, which lists no unassigned (Cn) code points;
// so Cc, Cf and Co (Cs cannot occur in valid UTF-8), and noncharacters survive.
inline bool is_other(char32_t c) {
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_CC && k <= UTF8PROC_CATEGORY_CO;
}

// Rust's char::to_lowercase, one character at a time as HF's Lowercase does it:
// no final-sigma context; U+0130 is the one character whose unconditional
// lowercase is two characters.
inline void append_lowercase(std::u32string& out, char32_t c) {
    if (c < 0x80) {
        out += (c >= 'A' && c <= 'Z') ? c + 32 : c;
    } else if (c == 0x130) {
        out += U'i';
        out += U'\u0307';
    } else {
        out += static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    }
}

}  // namespace tandem::detail
