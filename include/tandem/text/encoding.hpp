// The result of encoding one text (or a pair): ids with their type ids,
// attention and special-token masks, and the windows truncation cut off.
// Mirrors HF `tokenizers.Encoding`, with truncation and padding as it does them.
#pragma once

#include <tandem/core/error.hpp>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace tandem::text {

// The longest sequence a file may ask to pad or truncate to: far beyond any model's
// context, and it bounds the memory a padding of {"Fixed": n} allocates per text.
inline constexpr size_t kMaxSequenceLength = size_t{1} << 20;

enum class TruncationStrategy { LongestFirst, OnlyFirst, OnlySecond };
enum class Direction { Left, Right };

struct Encoding {
    std::vector<uint32_t> ids;
    std::vector<uint32_t> type_ids;
    std::vector<uint32_t> attention_mask;
    std::vector<uint32_t> special_tokens_mask;
    std::vector<Encoding> overflowing;

    size_t size() const { return ids.size(); }

    // An encoding of ordinary tokens, all of one type.
    static Encoding from_ids(std::vector<uint32_t> ids, uint32_t type_id = 0) {
        Encoding e;
        const size_t n = ids.size();
        e.ids = std::move(ids);
        e.type_ids.assign(n, type_id);
        e.attention_mask.assign(n, 1);
        e.special_tokens_mask.assign(n, 0);
        return e;
    }

    void append(const Encoding& other) {
        ids.insert(ids.end(), other.ids.begin(), other.ids.end());
        type_ids.insert(type_ids.end(), other.type_ids.begin(), other.type_ids.end());
        attention_mask.insert(attention_mask.end(), other.attention_mask.begin(), other.attention_mask.end());
        special_tokens_mask.insert(special_tokens_mask.end(), other.special_tokens_mask.begin(),
                                   other.special_tokens_mask.end());
    }

    void push_special(uint32_t id, uint32_t type_id) {
        ids.push_back(id);
        type_ids.push_back(type_id);
        attention_mask.push_back(1);
        special_tokens_mask.push_back(1);
    }

    // Keeps `max_length` tokens; what is cut goes to `overflowing` as windows of
    // `max_length` tokens that overlap by `stride`, as HF's Encoding::truncate.
    void truncate(size_t max_length, size_t stride = 0, Direction direction = Direction::Right) {
        const size_t n = ids.size();
        if (max_length >= n) return;
        if (max_length == 0) {
            Encoding all = std::move(*this);
            *this = Encoding{};
            overflowing.push_back(std::move(all));
            return;
        }
        if (stride >= max_length)
            detail::throw_error("truncation: stride ", stride, " must be smaller than max_length ",
                                max_length);
        const size_t step = max_length - stride;
        std::vector<std::pair<size_t, size_t>> windows;
        if (direction == Direction::Right) {
            for (size_t start = 0;; start += step) {
                const size_t stop = std::min(start + max_length, n);
                windows.emplace_back(start, stop);
                if (stop == n) break;
            }
        } else {
            for (size_t stop = n;; stop -= step) {
                const size_t start = stop > max_length ? stop - max_length : 0;
                windows.emplace_back(start, stop);
                if (start == 0 || stop <= step) break;
            }
        }
        std::vector<Encoding> parts;
        for (auto [b, e] : windows) parts.push_back(slice(b, e));
        *this = std::move(parts[0]);
        for (size_t k = 1; k < parts.size(); ++k) overflowing.push_back(std::move(parts[k]));
    }

    // Pads to `length` with pad tokens (attention 0, special 1), on the right or left.
    void pad(size_t length, uint32_t pad_id, uint32_t pad_type_id, Direction direction = Direction::Right) {
        for (auto& o : overflowing) o.pad(length, pad_id, pad_type_id, direction);
        if (ids.size() >= length) return;
        const size_t k = length - ids.size();
        const auto fill = [&](std::vector<uint32_t>& v, uint32_t value) {
            if (direction == Direction::Right)
                v.insert(v.end(), k, value);
            else
                v.insert(v.begin(), k, value);
        };
        fill(ids, pad_id);
        fill(type_ids, pad_type_id);
        fill(attention_mask, 0);
        fill(special_tokens_mask, 1);
    }

private:
    Encoding slice(size_t b, size_t e) const {
        Encoding s;
        s.ids.assign(ids.begin() + b, ids.begin() + e);
        s.type_ids.assign(type_ids.begin() + b, type_ids.begin() + e);
        s.attention_mask.assign(attention_mask.begin() + b, attention_mask.begin() + e);
        s.special_tokens_mask.assign(special_tokens_mask.begin() + b, special_tokens_mask.begin() + e);
        return s;
    }
};

}  // namespace tandem::text
