// TextBatch: a padded batch of token ids with its attention mask and segment ids, as a
// tokenizer returns them (input_ids, attention_mask, token_type_ids), as integer tensors
// [batch, length] on the backend the model runs on.
#pragma once

#include <tandem/core/tensor.hpp>

#include <cstdint>
#include <vector>

namespace tandem {

template <BackendMemory B>
struct TextBatch {
    using Ids = Tensor<B, std::int64_t>;

    Ids input_ids{};
    // Undefined for "no mask" (every position attends), else 1 for tokens and 0 for padding.
    Ids attention_mask{};
    // Undefined, or segment ids (BERT sentence pairs).
    Ids token_type_ids{};
    // The prompt's tokens at the start of every row (after any left padding), which a
    // Pooling with include_prompt false leaves out: sentence-transformers' prompt_length.
    index_t prompt_length = 0;

    // From host rows of ids (row-major [batch, length]); empty masks or types mean none.
    static TextBatch from_host(const std::vector<std::int64_t>& input_ids, index_t batch, index_t length,
                               const std::vector<std::int64_t>& attention_mask = {},
                               const std::vector<std::int64_t>& token_type_ids = {}) {
        TextBatch t;
        t.input_ids = Ids::from_vector(input_ids, {batch, length});
        if (!attention_mask.empty()) t.attention_mask = Ids::from_vector(attention_mask, {batch, length});
        if (!token_type_ids.empty()) t.token_type_ids = Ids::from_vector(token_type_ids, {batch, length});
        return t;
    }

    index_t batch() const { return input_ids.rank() == 2 ? input_ids.size(0) : 0; }
    index_t length() const { return input_ids.rank() == 2 ? input_ids.size(1) : 0; }

    void check(const char* who) const {
        if (input_ids.rank() != 2 || batch() <= 0 || length() <= 0)
            detail::throw_error(who, ": expected input_ids [batch, length] with at least one token, found ",
                                input_ids.defined() ? input_ids.shape().str() : std::string("none"));
        const Shape s = input_ids.shape();
        if (attention_mask.defined() && !(attention_mask.shape() == s))
            detail::throw_error(who, ": attention_mask has shape ", attention_mask.shape().str(),
                                ", expected ", s.str(), " as input_ids");
        if (token_type_ids.defined() && !(token_type_ids.shape() == s))
            detail::throw_error(who, ": token_type_ids have shape ", token_type_ids.shape().str(),
                                ", expected ", s.str(), " as input_ids");
    }
};

}  // namespace tandem
