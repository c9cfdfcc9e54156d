// DistributedSampler: one global batch plan, sharded. Every rank wraps the same batch
// sampler (same dataset, seed and batch size: the global batch), so every rank draws the
// same plan for an epoch, and takes its contiguous share of each global batch: rank r of
// W gets rows [floor(r n / W), floor((r + 1) n / W)) of a batch of n rows. Across ranks
// every row of the plan appears once, in the plan's order when the shards are gathered
// in rank order, and whatever the wrapped sampler guarantees of a batch (no duplicates,
// one dataset) holds over the global batch. A batch of fewer rows than ranks (a short
// last batch) would leave a rank with none and is dropped.
// reference: torch.utils.data.DistributedSampler; accelerate's BatchSamplerShard
// (split_batches=True), which shards each batch rather than the rows.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/concepts.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace tandem::dist {

class DistributedSampler {
public:
    DistributedSampler(data::AnyBatchSampler global, int rank, int world_size)
        : global_(std::move(global)), rank_(rank), world_(world_size) {
        if (world_size < 1 || rank < 0 || rank >= world_size)
            tandem::detail::throw_error("DistributedSampler: expected 0 <= rank < world_size, found rank ",
                                        rank, " of ", world_size);
    }

    void set_epoch(std::uint64_t epoch) { global_.set_epoch(epoch); }
    // Global batches advertised: every rank takes one step per global batch.
    std::size_t size() const { return global_.size(); }

    data::Batches batches() const {
        data::Batches out;
        const auto w = static_cast<std::size_t>(world_), r = static_cast<std::size_t>(rank_);
        for (const auto& batch : global_.batches()) {
            const std::size_t n = batch.size();
            if (n < w) continue;
            out.emplace_back(batch.begin() + static_cast<std::ptrdiff_t>(r * n / w),
                             batch.begin() + static_cast<std::ptrdiff_t>((r + 1) * n / w));
        }
        return out;
    }

    int rank() const { return rank_; }
    int world_size() const { return world_; }

private:
    data::AnyBatchSampler global_;
    int rank_, world_;
};

static_assert(data::BatchSampler<DistributedSampler>);

}  // namespace tandem::dist
