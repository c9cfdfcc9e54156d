// The batches the collator makes: first on the host (what worker threads build), then
// as tensors on the model's backend, converted once per batch. One input per loss
// column, in column order: a text column gives a TextBatch (padded to the batch's
// longest row), an image column `pixel_values` [n, 3, H, W], a mixed column both, with
// the batch positions of each part so that its embeddings can be put back in row order.
// Labels are int64 (`labels`) or float (`scores`), as the dataset's label column holds.
#pragma once

#include <tandem/core/memory.hpp>
#include <tandem/core/tensor.hpp>
#include <tandem/core/text_batch.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <xxhash.h>

namespace tandem::data {

struct HostText {
    std::vector<std::int64_t> input_ids, attention_mask, token_type_ids;  // [batch, length]
    std::size_t batch = 0, length = 0;
    std::size_t prompt_length = 0;  // tokens of the column's prompt at the start of each row
};

struct HostInput {
    std::string name;
    std::vector<std::size_t> text_rows, image_rows;  // positions in the batch of each part
    HostText text;
    std::vector<float> pixel_values;  // [image_rows.size(), 3, height, width]
    std::size_t height = 0, width = 0;
};

struct HostBatch {
    std::string dataset_name;
    std::vector<std::size_t> rows;      // dataset rows, after replacing bad ones
    std::vector<std::size_t> replaced;  // bad rows replaced in this batch (skip_bad_rows)
    std::vector<HostInput> inputs;
    std::optional<std::vector<std::int64_t>> labels;
    std::optional<std::vector<float>> scores;

    // A 64-bit digest of everything the model sees, to compare batches cheaply.
    std::uint64_t digest() const {
        XXH64_state_t* s = XXH64_createState();
        XXH64_reset(s, 0);
        auto add = [&](const auto& v) {
            const std::uint64_t n = v.size();
            XXH64_update(s, &n, sizeof n);
            if (n) XXH64_update(s, v.data(), n * sizeof(v[0]));
        };
        add(dataset_name);
        add(rows);
        for (const auto& in : inputs) {
            add(in.name), add(in.text_rows), add(in.image_rows);
            add(in.text.input_ids), add(in.text.attention_mask), add(in.text.token_type_ids);
            const std::uint64_t prompt = in.text.prompt_length;
            XXH64_update(s, &prompt, sizeof prompt);
            add(in.pixel_values);
        }
        if (labels) add(*labels);
        if (scores) add(*scores);
        const std::uint64_t h = XXH64_digest(s);
        XXH64_freeState(s);
        return h;
    }
};

template <BackendMemory B>
struct Batch {
    struct Input {
        std::string name;
        std::vector<std::size_t> text_rows, image_rows;
        std::optional<TextBatch<B>> text;
        std::optional<Tensor<B, float>> pixel_values;
    };

    std::string dataset_name;
    std::vector<std::size_t> rows, replaced;
    std::vector<Input> inputs;
    std::optional<Tensor<B, std::int64_t>> labels;
    std::optional<Tensor<B, float>> scores;

    std::size_t size() const { return rows.size(); }

    // The host batch these tensors hold (copies back from the backend).
    HostBatch to_host() const {
        HostBatch h;
        h.dataset_name = dataset_name;
        h.rows = rows;
        h.replaced = replaced;
        for (const auto& in : inputs) {
            HostInput out{in.name, in.text_rows, in.image_rows, {}, {}, 0, 0};
            if (in.text) {
                out.text = {in.text->input_ids.to_vector(),
                            in.text->attention_mask.to_vector(),
                            in.text->token_type_ids.to_vector(),
                            static_cast<std::size_t>(in.text->batch()),
                            static_cast<std::size_t>(in.text->length()),
                            static_cast<std::size_t>(in.text->prompt_length)};
            }
            if (in.pixel_values) {
                out.pixel_values = in.pixel_values->to_vector();
                out.height = static_cast<std::size_t>(in.pixel_values->size(2));
                out.width = static_cast<std::size_t>(in.pixel_values->size(3));
            }
            h.inputs.push_back(std::move(out));
        }
        if (labels) h.labels = labels->to_vector();
        if (scores) h.scores = scores->to_vector();
        return h;
    }
    // HostBatch::digest of the batch, to compare batches by hash.
    std::uint64_t digest() const { return to_host().digest(); }

    static Batch from_host(const HostBatch& h) {
        Batch b;
        b.dataset_name = h.dataset_name;
        b.rows = h.rows;
        b.replaced = h.replaced;
        for (const auto& in : h.inputs) {
            Input out{in.name, in.text_rows, in.image_rows, std::nullopt, std::nullopt};
            const auto n = static_cast<index_t>(in.text.batch), len = static_cast<index_t>(in.text.length);
            if (!in.text_rows.empty()) {
                out.text = TextBatch<B>::from_host(in.text.input_ids, n, len, in.text.attention_mask,
                                                   in.text.token_type_ids);
                out.text->prompt_length = static_cast<index_t>(in.text.prompt_length);
            }
            if (!in.image_rows.empty())
                out.pixel_values = Tensor<B, float>::from_vector(
                    in.pixel_values, {static_cast<index_t>(in.image_rows.size()), 3,
                                      static_cast<index_t>(in.height), static_cast<index_t>(in.width)});
            b.inputs.push_back(std::move(out));
        }
        const auto n = static_cast<index_t>(h.rows.size());
        if (h.labels) b.labels = Tensor<B, std::int64_t>::from_vector(*h.labels, {n});
        if (h.scores) b.scores = Tensor<B, float>::from_vector(*h.scores, {n});
        return b;
    }
};

}  // namespace tandem::data
