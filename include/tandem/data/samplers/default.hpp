// DefaultBatchSampler: sentence-transformers' default, a seeded random order of all rows
// cut into batches (torch's BatchSampler over a RandomSampler), a new order each epoch.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/concepts.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/permutation.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem::data {

struct SamplerOptions {
    std::size_t batch_size = 32;
    bool drop_last = false;
    std::uint64_t seed = 0;
};

namespace detail {

inline void check_sampler(const char* who, std::size_t rows, const SamplerOptions& o) {
    if (rows == 0) tandem::detail::throw_error(who, ": the dataset is empty, expected at least one row");
    if (o.batch_size == 0) tandem::detail::throw_error(who, ": batch_size must be at least 1, found 0");
    if (o.drop_last && o.batch_size > rows)
        tandem::detail::throw_error(who, ": batch_size ", o.batch_size,
                                    " with drop_last leaves no batch: the dataset has ", rows, " rows");
}

// Batches advertised for `rows` rows (torch's BatchSampler.__len__).
inline std::size_t batch_count(std::size_t rows, const SamplerOptions& o) {
    return o.drop_last ? rows / o.batch_size : (rows + o.batch_size - 1) / o.batch_size;
}

}  // namespace detail

class DefaultBatchSampler {
public:
    DefaultBatchSampler(const Dataset& dataset, SamplerOptions options) : rows_(dataset.size()), o_(options) {
        detail::check_sampler("DefaultBatchSampler", rows_, o_);
    }

    void set_epoch(std::uint64_t epoch) { epoch_ = epoch; }
    std::size_t size() const { return detail::batch_count(rows_, o_); }

    Batches batches() const {
        const auto order = permutation(rows_, o_.seed, epoch_);
        Batches out;
        for (std::size_t start = 0; start < rows_; start += o_.batch_size) {
            const std::size_t end = std::min(rows_, start + o_.batch_size);
            if (end - start < o_.batch_size && o_.drop_last) break;
            out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                             order.begin() + static_cast<std::ptrdiff_t>(end));
        }
        return out;
    }

private:
    std::size_t rows_;
    SamplerOptions o_;
    std::uint64_t epoch_ = 0;
};

static_assert(BatchSampler<DefaultBatchSampler>);

}  // namespace tandem::data
