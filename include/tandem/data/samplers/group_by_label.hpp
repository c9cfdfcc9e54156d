// GroupByLabelBatchSampler: sentence-transformers v6's sampler for the batch triplet
// losses. Rows are grouped by label (labels with fewer than 2 rows are left out), shuffled
// within each label and cut to an even count; then labels take turns giving 2 rows each,
// in an order reshuffled every round (the first label of a round is swapped with the
// second when it gave the previous pair, so neighbouring pairs differ), until fewer than
// 2 labels have rows left. The stream is cut into batches of batch_size; a last short
// batch is kept (without drop_last) only when it has at least 4 rows.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/concepts.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/permutation.hpp>
#include <tandem/data/samplers/default.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>
#include <vector>

namespace tandem::data {

class GroupByLabelBatchSampler {
public:
    GroupByLabelBatchSampler(const Dataset& dataset, SamplerOptions options) : o_(options) {
        using tandem::detail::throw_error;
        detail::check_sampler("GroupByLabelBatchSampler", dataset.size(), o_);
        if (o_.batch_size < 4 || o_.batch_size % 2)
            throw_error("GroupByLabelBatchSampler: batch_size must be an even number >= 4, found ",
                        o_.batch_size);
        const auto col = dataset.label_column();
        if (!col)
            throw_error(
                "GroupByLabelBatchSampler: expected a label column (label, labels, score or scores), found "
                "none among the dataset's columns");
        if (dataset.column(*col).type() != ColumnType::label)
            throw_error("GroupByLabelBatchSampler: column '", dataset.column(*col).name(),
                        "' must hold int64 labels, found ", column_type_name(dataset.column(*col).type()),
                        "s");
        // Labels in order of first appearance, as a Python dict keeps them.
        std::unordered_map<std::int64_t, std::size_t> group_of;
        std::vector<std::vector<std::size_t>> groups;
        for (std::size_t r = 0; r < dataset.size(); ++r) {
            const auto [it, added] = group_of.try_emplace(dataset.label(r, *col), groups.size());
            if (added) groups.emplace_back();
            groups[it->second].push_back(r);
        }
        for (auto& g : groups)
            if (g.size() >= 2) groups_.push_back(std::move(g));
        if (groups_.size() < 2)
            throw_error(
                "GroupByLabelBatchSampler: expected at least 2 distinct labels with >= 2 rows each, found ",
                groups_.size());
        std::vector<std::size_t> pairs;
        for (const auto& g : groups_) pairs.push_back(g.size() / 2);
        std::sort(pairs.begin(), pairs.end(), std::greater<>());
        for (std::size_t p : pairs) stream_length_ += 2 * std::min(p, pairs[1]);
    }

    void set_epoch(std::uint64_t epoch) { epoch_ = epoch; }
    std::size_t size() const {
        std::size_t n = stream_length_ / o_.batch_size;
        if (!o_.drop_last && stream_length_ % o_.batch_size >= 4) ++n;
        return n;
    }

    Batches batches() const {
        Shuffler shuffler(o_.seed, epoch_);
        std::vector<std::deque<std::size_t>> queues;
        for (const auto& g : groups_) {
            const auto perm = shuffler.permutation(g.size());
            std::deque<std::size_t> q;
            for (std::size_t i = 0; i < g.size() / 2 * 2; ++i) q.push_back(g[perm[i]]);
            queues.push_back(std::move(q));
        }
        Batches out;
        std::vector<std::size_t> batch, remaining(queues.size());
        for (std::size_t i = 0; i < remaining.size(); ++i) remaining[i] = i;
        std::size_t last = static_cast<std::size_t>(-1);
        while (remaining.size() >= 2) {
            const auto perm = shuffler.permutation(remaining.size());
            std::vector<std::size_t> round;
            for (std::size_t i : perm) round.push_back(remaining[i]);
            if (!batch.empty() && round[0] == last) std::swap(round[0], round[1]);
            for (std::size_t label : round) {
                for (int k = 0; k < 2; ++k) {
                    batch.push_back(queues[label].front());
                    queues[label].pop_front();
                }
                if (batch.size() >= o_.batch_size) {
                    out.emplace_back(batch.begin(),
                                     batch.begin() + static_cast<std::ptrdiff_t>(o_.batch_size));
                    batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(o_.batch_size));
                }
            }
            last = round.back();
            remaining.clear();
            for (std::size_t label : round)
                if (!queues[label].empty()) remaining.push_back(label);
        }
        if (!o_.drop_last && batch.size() >= 4) out.push_back(std::move(batch));
        return out;
    }

private:
    SamplerOptions o_;
    std::vector<std::vector<std::size_t>> groups_;
    std::size_t stream_length_ = 0;
    std::uint64_t epoch_ = 0;
};

static_assert(BatchSampler<GroupByLabelBatchSampler>);

}  // namespace tandem::data
