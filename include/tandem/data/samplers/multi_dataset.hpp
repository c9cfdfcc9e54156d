// Samplers over a DatasetDict, as sentence-transformers v6's multi-dataset samplers:
// each dataset has its own sampler, whose batches are shifted by the dataset's offset
// in the concatenated rows, so every batch comes from one dataset.
// RoundRobinBatchSampler takes one batch from each dataset in turn and stops at the end
// of the first round some dataset cannot complete (datasets are sampled equally, rows of
// larger ones go unused). ProportionalBatchSampler draws the dataset of each batch at
// random in proportion to its number of batches, so every batch of every dataset is used.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/concepts.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/permutation.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tandem::data {

namespace detail {

class MultiDatasetSampler {
public:
    MultiDatasetSampler(const char* who, const DatasetDict& datasets, std::vector<AnyBatchSampler> samplers,
                        std::uint64_t seed)
        : samplers_(std::move(samplers)), seed_(seed) {
        if (datasets.size() == 0) tandem::detail::throw_error(who, ": the DatasetDict is empty");
        if (datasets.size() != samplers_.size())
            tandem::detail::throw_error(who, ": expected one sampler per dataset (", datasets.size(),
                                        "), found ", samplers_.size());
        std::size_t offset = 0;
        for (std::size_t i = 0; i < datasets.size(); ++i) {
            offsets_.push_back(offset);
            offset += datasets[i].size();
        }
    }

    void set_epoch(std::uint64_t epoch) {
        epoch_ = epoch;
        for (auto& s : samplers_) s.set_epoch(epoch);
    }

protected:
    std::vector<Batches> child_batches() const {
        std::vector<Batches> out;
        for (std::size_t i = 0; i < samplers_.size(); ++i) {
            out.push_back(samplers_[i].batches());
            for (auto& batch : out.back())
                for (auto& row : batch) row += offsets_[i];
        }
        return out;
    }

    std::vector<AnyBatchSampler> samplers_;
    std::vector<std::size_t> offsets_;
    std::uint64_t seed_, epoch_ = 0;
};

}  // namespace detail

class RoundRobinBatchSampler : public detail::MultiDatasetSampler {
public:
    RoundRobinBatchSampler(const DatasetDict& datasets, std::vector<AnyBatchSampler> samplers,
                           std::uint64_t seed = 0)
        : MultiDatasetSampler("RoundRobinBatchSampler", datasets, std::move(samplers), seed) {}

    std::size_t size() const {
        std::size_t shortest = samplers_[0].size();
        for (const auto& s : samplers_) shortest = std::min(shortest, s.size());
        return shortest * samplers_.size();
    }

    Batches batches() const {
        auto children = child_batches();
        std::size_t rounds = children[0].size();
        for (const auto& c : children) rounds = std::min(rounds, c.size());
        Batches out;
        for (std::size_t r = 0; r < rounds; ++r)
            for (auto& c : children) out.push_back(std::move(c[r]));
        return out;
    }
};

class ProportionalBatchSampler : public detail::MultiDatasetSampler {
public:
    ProportionalBatchSampler(const DatasetDict& datasets, std::vector<AnyBatchSampler> samplers,
                             std::uint64_t seed = 0)
        : MultiDatasetSampler("ProportionalBatchSampler", datasets, std::move(samplers), seed) {}

    std::size_t size() const {
        std::size_t n = 0;
        for (const auto& s : samplers_) n += s.size();
        return n;
    }

    Batches batches() const {
        auto children = child_batches();
        // One entry per advertised batch of each dataset, drawn in a seeded random order.
        std::vector<std::size_t> which;
        for (std::size_t i = 0; i < samplers_.size(); ++i) which.insert(which.end(), samplers_[i].size(), i);
        std::vector<std::size_t> next(children.size(), 0);
        Batches out;
        for (std::size_t k : permutation(which.size(), seed_, epoch_)) {
            const std::size_t i = which[k];
            // A sampler that gives fewer batches than it advertised is skipped when exhausted.
            if (next[i] < children[i].size()) out.push_back(std::move(children[i][next[i]++]));
        }
        return out;
    }
};

static_assert(BatchSampler<RoundRobinBatchSampler>);
static_assert(BatchSampler<ProportionalBatchSampler>);

}  // namespace tandem::data
