// NoDuplicatesBatchSampler and NoDuplicatesHashedBatchSampler: sentence-transformers v6's
// NoDuplicatesBatchSampler (without and with `precompute_hashes`). No value appears twice
// in a batch in any input column, so an in-batch negative is never a copy of the anchor
// or its positive. Rows are taken in a seeded random order; a row whose values clash with
// the batch is deferred, not reordered; with drop_last, when one pass gives fewer batches
// than advertised, up to two reshuffled passes top it up. The label column and
// `dataset_name` take no part. The plain sampler compares the values themselves (texts,
// image paths, image bytes); the hashed one their 64-bit xxHash digests, computed once.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/concepts.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/permutation.hpp>
#include <tandem/data/samplers/default.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include <xxhash.h>

namespace tandem::data {

namespace detail {

// The values of row `row` that must not repeat in a batch, one key per input cell.
inline std::vector<std::string> duplicate_keys(const Dataset& d, std::size_t row) {
    std::vector<std::string> keys;
    for (std::size_t c : d.input_columns()) {
        const Cell cell = d.cell(row, c);
        std::string key;
        if (const auto* t = std::get_if<std::string>(&cell))
            key = *t;
        else
            append_identity(std::get<ImageRef>(cell), key);
        keys.push_back(std::move(key));
    }
    return keys;
}

// One pass of sentence-transformers' `_iter_one_pass`: the shuffled rows as a linked
// list from which each batch unlinks the rows it takes.
template <class Values, class Key>
void no_duplicates_pass(std::size_t rows, const SamplerOptions& o, Shuffler& shuffler, Values values_of,
                        Batches& out, std::size_t limit) {
    const auto order = shuffler.permutation(rows);
    constexpr std::size_t end = static_cast<std::size_t>(-1);
    std::vector<std::size_t> next(rows);
    for (std::size_t i = 0; i < rows; ++i) next[i] = i + 1 < rows ? i + 1 : end;
    std::size_t head = 0;
    while (head != end && out.size() < limit) {
        std::unordered_set<Key> seen;
        std::vector<std::size_t> batch;
        std::size_t at = head, previous = end;
        bool full = false;
        while (at != end) {
            const std::size_t after = next[at], row = order[at];
            const auto values = values_of(row);
            const bool clash =
                std::any_of(values.begin(), values.end(), [&](const Key& v) { return seen.count(v) > 0; });
            if (clash) {
                previous = at;
                at = after;
                continue;
            }
            batch.push_back(row);
            if (previous == end)
                head = after;
            else
                next[previous] = after;
            if (batch.size() == o.batch_size) {
                full = true;
                break;
            }
            seen.insert(values.begin(), values.end());
            at = after;
        }
        // A short batch still took the first remaining row, so every loop makes progress.
        if (full || !o.drop_last) out.push_back(std::move(batch));
    }
}

template <class Values, class Key>
Batches no_duplicates_epoch(std::size_t rows, const SamplerOptions& o, std::uint64_t epoch,
                            Values values_of) {
    constexpr int max_resample_passes = 2;  // sentence-transformers' _MAX_RESAMPLE_PASSES
    Shuffler shuffler(o.seed, epoch);
    Batches out;
    const std::size_t expected = batch_count(rows, o);
    // The first pass is never cut short: without drop_last it may give more, smaller batches.
    no_duplicates_pass<Values, Key>(rows, o, shuffler, values_of, out, static_cast<std::size_t>(-1));
    if (out.size() >= expected || out.empty()) return out;
    for (int pass = 0; pass < max_resample_passes && out.size() < expected; ++pass)
        no_duplicates_pass<Values, Key>(rows, o, shuffler, values_of, out, expected);
    return out;
}

}  // namespace detail

class NoDuplicatesBatchSampler {
public:
    NoDuplicatesBatchSampler(Dataset dataset, SamplerOptions options) : d_(std::move(dataset)), o_(options) {
        detail::check_sampler("NoDuplicatesBatchSampler", d_.size(), o_);
    }
    void set_epoch(std::uint64_t epoch) { epoch_ = epoch; }
    std::size_t size() const { return detail::batch_count(d_.size(), o_); }
    Batches batches() const {
        auto values = [this](std::size_t row) { return detail::duplicate_keys(d_, row); };
        return detail::no_duplicates_epoch<decltype(values), std::string>(d_.size(), o_, epoch_, values);
    }

private:
    Dataset d_;
    SamplerOptions o_;
    std::uint64_t epoch_ = 0;
};

class NoDuplicatesHashedBatchSampler {
public:
    NoDuplicatesHashedBatchSampler(const Dataset& dataset, SamplerOptions options) : o_(options) {
        detail::check_sampler("NoDuplicatesHashedBatchSampler", dataset.size(), o_);
        rows_ = dataset.size();
        width_ = dataset.input_columns().size();
        std::vector<std::uint64_t> hashes;
        hashes.reserve(rows_ * width_);
        for (std::size_t r = 0; r < rows_; ++r)
            for (const auto& key : detail::duplicate_keys(dataset, r))
                hashes.push_back(XXH64(key.data(), key.size(), 0));
        hashes_ = std::make_shared<const std::vector<std::uint64_t>>(std::move(hashes));
    }
    void set_epoch(std::uint64_t epoch) { epoch_ = epoch; }
    std::size_t size() const { return detail::batch_count(rows_, o_); }
    Batches batches() const {
        auto values = [this](std::size_t row) {
            return std::span<const std::uint64_t>(hashes_->data() + row * width_, width_);
        };
        return detail::no_duplicates_epoch<decltype(values), std::uint64_t>(rows_, o_, epoch_, values);
    }
    // The digest of input cell `column` of row `row` (XXH64, seed 0).
    std::uint64_t hash(std::size_t row, std::size_t column) const {
        return (*hashes_)[row * width_ + column];
    }

private:
    SamplerOptions o_;
    std::size_t rows_ = 0, width_ = 0;
    std::shared_ptr<const std::vector<std::uint64_t>> hashes_;  // shared by copies: computed once
    std::uint64_t epoch_ = 0;
};

static_assert(BatchSampler<NoDuplicatesBatchSampler>);
static_assert(BatchSampler<NoDuplicatesHashedBatchSampler>);

}  // namespace tandem::data
