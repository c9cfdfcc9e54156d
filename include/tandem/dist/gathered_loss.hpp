// The local-loss form of the in-batch contrastive losses with negatives from every rank:
// each column gathered with its gradient, this rank's rows scored against every rank's
// columns. A loss that can be cut by anchor rows (rows_loss: MultipleNegativesRankingLoss,
// CLIPLoss, SigLIPLoss) gives the share of the global batch's loss that this rank's rows
// contribute; times the world size, the mean over ranks (which the gradient all-reduce
// takes) is exactly the loss on the concatenated batch, and so is its gradient.
// reference: open_clip ClipLoss(local_loss=True, gather_with_grad=True), SigLipLoss;
// sentence-transformers' gather_across_devices.
#pragma once

#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/dist/all_gather.hpp>
#include <tandem/losses/concepts.hpp>

#include <vector>

namespace tandem::dist {

// Represents: a loss over a batch that splits into the shares of its anchor rows.
// Requires: loss.rows_loss(graph, columns, begin, end): the share of rows [begin, end)
// against every row of every column.
// Ensures: the shares of any split of the rows add up to loss(graph, columns).
template <class L, class B, class T>
concept RowsLoss = Backend<B> && Scalar<T> &&
    requires(const L& loss, Graph<B, T>& g, const std::vector<Var<B, T>>& columns, index_t row) {
    { loss.rows_loss(g, columns, row, row) } -> std::same_as<Var<B, T>>;
};

// This rank's loss over its columns [rows_r, dim] with every rank's rows as candidates.
template <Backend B, Scalar T, class L>
requires RowsLoss<L, B, T> Var<B, T> gathered_loss(Communicator& comm, Graph<B, T>& g, const L& loss,
                                                   const std::vector<Var<B, T>>& columns) {
    if (columns.empty()) tandem::detail::throw_error("gathered_loss: no columns to gather");
    std::vector<Var<B, T>> all;
    index_t begin = 0, end = 0;
    for (const auto& column : columns) {
        auto gathered = all_gather(comm, column);
        all.push_back(gathered.all);
        begin = gathered.begin;
        end = gathered.end;
    }
    return scale(loss.rows_loss(g, all, begin, end), T(comm.size()));
}

}  // namespace tandem::dist
