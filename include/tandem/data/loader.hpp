// DataLoader: the sampler's batches, collated by background threads while the model
// trains (torch's DataLoader with workers and prefetch_factor). Batch i of an epoch is
// always rows sampler.batches()[i], collated from those rows and the epoch alone, and
// batches come out in sampler order, so what a run sees depends only on the seed, never
// on thread timing or thread count. At most `prefetch` batches are made ahead of the
// consumer (a bounded queue); prefetch 0 makes each batch in next() on the caller's thread.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/core/memory.hpp>
#include <tandem/data/batch.hpp>
#include <tandem/data/collator.hpp>
#include <tandem/data/concepts.hpp>
#include <tandem/data/dataset.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tandem::data {

struct LoaderOptions {
    std::size_t num_workers = 1;  // threads collating batches
    std::size_t prefetch = 2;     // batches made ahead of next(); 0: none, no threads
    // Replace unreadable rows (missing file, corrupt image, bad UTF-8) and count them,
    // instead of stopping with an error naming the row.
    bool skip_bad_rows = false;
};

template <BackendMemory B, class S>
class DataLoader {
    static_assert(BatchSampler<S>,
                  "DataLoader<B, S>: S must model data::BatchSampler (set_epoch(epoch), batches() returning "
                  "data::Batches, size()); see data/concepts.hpp");

public:
    // Over a DatasetDict the sampler's rows index the datasets one after another
    // (RoundRobinBatchSampler, ProportionalBatchSampler); each batch comes from one.
    DataLoader(DatasetDict datasets, S sampler, Collator collator, LoaderOptions options = {})
        : data_(std::move(datasets)),
          sampler_(std::move(sampler)),
          collator_(std::move(collator)),
          o_(options) {
        if (data_.size() == 0)
            tandem::detail::throw_error("DataLoader: expected at least one dataset, found none");
        for (std::size_t i = 0; i < data_.size(); ++i)
            collator_.check(data_[i],
                            data_.names()[i].empty() ? "dataset" : "dataset '" + data_.names()[i] + "'");
        if (o_.num_workers == 0)
            tandem::detail::throw_error("DataLoader: num_workers must be at least 1, found 0");
        set_epoch(0);
    }
    DataLoader(Dataset dataset, S sampler, Collator collator, LoaderOptions options = {})
        : DataLoader(DatasetDict{{"", std::move(dataset)}}, std::move(sampler), std::move(collator),
                     options) {}
    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;
    ~DataLoader() { stop(); }

    // Batches per epoch, as the sampler advertises them.
    std::size_t size() const { return sampler_.size(); }
    std::uint64_t epoch() const { return epoch_; }

    // Starts epoch `epoch` (sentence-transformers' set_epoch): the sampler reseeds and
    // batches in flight for the old epoch are dropped.
    void set_epoch(std::uint64_t epoch) {
        stop();
        epoch_ = epoch;
        sampler_.set_epoch(epoch);
        plan_ = sampler_.batches();
        next_start_ = next_deliver_ = 0;
        ready_.clear();
    }

    // The next batch of the epoch, or nothing at its end. A bad row throws here, in order.
    std::optional<Batch<B>> next() {
        if (next_deliver_ >= plan_.size()) return std::nullopt;
        HostBatch host;
        if (o_.prefetch == 0) {
            host = make(next_deliver_++);
        } else {
            if (threads_.empty()) start();
            Slot slot;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return ready_.count(next_deliver_) > 0; });
                slot = std::move(ready_[next_deliver_]);
                ready_.erase(next_deliver_);
                ++next_deliver_;
            }
            changed_.notify_all();
            if (slot.error) std::rethrow_exception(slot.error);
            host = std::move(*slot.batch);
        }
        for (std::size_t r : host.replaced) skipped_.push_back(r);
        return Batch<B>::from_host(host);
    }

    // Rows replaced under skip_bad_rows so far (global row ids over a DatasetDict).
    const std::vector<std::size_t>& skipped_rows() const { return skipped_; }
    std::size_t skipped_count() const { return skipped_.size(); }

private:
    struct Slot {
        std::optional<HostBatch> batch;
        std::exception_ptr error;
    };

    HostBatch make(std::size_t i) const {
        const auto& rows = plan_[i];
        if (rows.empty())
            tandem::detail::throw_error("DataLoader: the sampler gave an empty batch (", i, ")");
        const auto [which, first] = data_.locate(rows[0]);
        std::size_t offset = rows[0] - first;
        std::vector<std::size_t> local;
        for (std::size_t r : rows) {
            const auto [w, l] = data_.locate(r);
            if (w != which)
                tandem::detail::throw_error("DataLoader: batch ", i, " mixes rows of datasets '",
                                            data_.names()[which], "' and '", data_.names()[w],
                                            "'; a batch must come from one dataset");
            local.push_back(l);
        }
        const Dataset& d = data_[which];
        HostBatch out;
        try {
            out = collator_.collate(d, local, epoch_, o_.skip_bad_rows, data_.names()[which]);
        } catch (const Error& e) {
            const std::string& name = data_.names()[which];
            if (name.empty()) throw;
            tandem::detail::throw_error("dataset '", name, "': ", e.what());
        }
        out.dataset_name = data_.names()[which];
        for (auto& r : out.replaced) r += offset;
        return out;
    }

    void start() {
        stop_ = false;
        for (std::size_t t = 0; t < o_.num_workers; ++t) threads_.emplace_back([this] { work(); });
    }

    void work() {
        for (;;) {
            std::size_t i = 0;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] {
                    return stop_ || (next_start_ < plan_.size() && next_start_ < next_deliver_ + o_.prefetch);
                });
                if (stop_) return;
                i = next_start_++;
            }
            Slot slot;
            try {
                slot.batch = make(i);
            } catch (...) {
                slot.error = std::current_exception();
            }
            {
                std::lock_guard lock(mutex_);
                ready_[i] = std::move(slot);
            }
            changed_.notify_all();
        }
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        for (auto& t : threads_) t.join();
        threads_.clear();
    }

    DatasetDict data_;
    S sampler_;
    Collator collator_;
    LoaderOptions o_;
    std::uint64_t epoch_ = 0;
    Batches plan_;
    std::size_t next_start_ = 0, next_deliver_ = 0;
    std::map<std::size_t, Slot> ready_;
    std::vector<std::size_t> skipped_;
    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool stop_ = false;
};

}  // namespace tandem::data
