// The BatchSampler concept: what the DataLoader asks of a sampler, so a user can write
// their own. Represents: an epoch's batches of dataset rows, reseeded per epoch as
// sentence-transformers' `set_epoch`. Requires: `set_epoch(e)`, `batches()` giving
// every batch of the current epoch in order, `size()` the number of batches advertised
// (what a learning-rate schedule counts). Ensures: `batches()` depends only on the
// sampler's seed and epoch, so a run can be repeated.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace tandem::data {

using Batches = std::vector<std::vector<std::size_t>>;

template <class S>
concept BatchSampler = std::copy_constructible<S> && requires(S& s, const S& cs, std::uint64_t epoch) {
    s.set_epoch(epoch);
    { cs.batches() } -> std::same_as<Batches>;
    { cs.size() } -> std::convertible_to<std::size_t>;
};

// Any BatchSampler behind one type, for the per-dataset samplers of a multi-dataset
// sampler, which may differ.
class AnyBatchSampler {
public:
    template <BatchSampler S>
    requires(!std::same_as<std::decay_t<S>, AnyBatchSampler>) AnyBatchSampler(S sampler)
        : self_(std::make_shared<Model<S>>(std::move(sampler))) {}
    AnyBatchSampler(const AnyBatchSampler& other) : self_(other.self_->clone()) {}
    AnyBatchSampler& operator=(const AnyBatchSampler& other) {
        self_ = other.self_->clone();
        return *this;
    }
    AnyBatchSampler(AnyBatchSampler&&) noexcept = default;
    AnyBatchSampler& operator=(AnyBatchSampler&&) noexcept = default;

    void set_epoch(std::uint64_t epoch) { self_->set_epoch(epoch); }
    Batches batches() const { return self_->batches(); }
    std::size_t size() const { return self_->size(); }

private:
    struct Base {
        virtual ~Base() = default;
        virtual std::shared_ptr<Base> clone() const = 0;
        virtual void set_epoch(std::uint64_t) = 0;
        virtual Batches batches() const = 0;
        virtual std::size_t size() const = 0;
    };
    template <class S>
    struct Model final : Base {
        explicit Model(S s) : sampler(std::move(s)) {}
        std::shared_ptr<Base> clone() const override { return std::make_shared<Model>(sampler); }
        void set_epoch(std::uint64_t e) override { sampler.set_epoch(e); }
        Batches batches() const override { return sampler.batches(); }
        std::size_t size() const override { return static_cast<std::size_t>(sampler.size()); }
        S sampler;
    };
    std::shared_ptr<Base> self_;
};

}  // namespace tandem::data
