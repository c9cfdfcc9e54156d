// TextBatch: token ids of a padded batch and its attention mask, as a tokenizer
// returns them (input_ids, attention_mask), row-major [batch, length].
#pragma once

#include <tandem/autograd/ops/attention.hpp>
#include <tandem/core/error.hpp>
#include <tandem/core/shape.hpp>

#include <cstdint>
#include <vector>

namespace tandem {

struct TextBatch {
    std::vector<std::int64_t> input_ids;
    // Empty for "no mask" (every position attends), else [batch, length] of 0/1.
    std::vector<std::int64_t> attention_mask;
    // Empty, or [batch, length] segment ids (BERT sentence pairs).
    std::vector<std::int64_t> token_type_ids;
    index_t batch = 0, length = 0;

    void check(const char* who) const {
        const auto n = static_cast<std::size_t>(batch * length);
        if (batch <= 0 || length <= 0 || input_ids.size() != n)
            detail::throw_error(who, ": input_ids hold ", input_ids.size(), " ids, expected batch ", batch,
                                " x length ", length);
        if (!attention_mask.empty() && attention_mask.size() != n)
            detail::throw_error(who, ": attention_mask holds ", attention_mask.size(), " values, expected ",
                                n);
        if (!token_type_ids.empty() && token_type_ids.size() != n)
            detail::throw_error(who, ": token_type_ids hold ", token_type_ids.size(), " values, expected ",
                                n);
    }
};

// The attention options a text tower runs with: the attention mask as a key padding
// mask (padded keys get no weight; padded queries are still computed, as in HF).
template <Backend B, Scalar T>
AttentionOptions<B, T> attention_options(const TextBatch& text, bool causal) {
    AttentionOptions<B, T> options;
    options.causal = causal;
    if (!text.attention_mask.empty())
        options.key_mask =
            Tensor<B, T>::from_vector(std::vector<T>(text.attention_mask.begin(), text.attention_mask.end()),
                                      {text.batch, text.length});
    return options;
}

}  // namespace tandem
