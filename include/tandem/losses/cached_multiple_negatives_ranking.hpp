// CachedMultipleNegativesRankingLoss: MultipleNegativesRankingLoss at any batch size in
// the memory of one mini-batch (GradCache, losses/grad_cache.hpp): the uncached loss's
// value and gradient.
// reference: sentence_transformers v6 losses/cached_multiple_negatives_ranking.py; Gao et
// al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup".
#pragma once

#include <tandem/losses/grad_cache.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>

#include <algorithm>
#include <vector>

namespace tandem {

template <Backend B, Scalar T>
class CachedMultipleNegativesRankingLoss {
public:
    static constexpr const char* name = "CachedMultipleNegativesRankingLoss";

    explicit CachedMultipleNegativesRankingLoss(MultipleNegativesRankingLossOptions options = {},
                                                index_t mini_batch_size = 32)
        : loss_(std::move(options), name), mini_batch_size_(mini_batch_size) {
        if (mini_batch_size <= 0)
            detail::throw_error(name, ": mini_batch_size must be positive, found ", mini_batch_size);
    }

    const MultipleNegativesRankingLossOptions& options() const { return loss_.options(); }

    // The same loss over embeddings already computed, for evaluation (eval_dataset): equal
    // to what forward_backward returns on the same rows, without the mini-batching.
    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels = {}) const {
        return loss_(g, columns, labels);
    }
    index_t mini_batch_size() const { return mini_batch_size_; }

    // Runs the forward and backward passes of one batch of `rows` rows in each of `columns`
    // columns and returns the loss (0-d). The gradients of every parameter `encode` reads
    // are accumulated into its ParameterStore, as g.backward(loss) would. In training mode
    // each mini-batch's graph takes a seed from (options.seed, column, mini-batch), so both
    // of its passes draw the same dropout masks.
    Tensor<B, T> forward_backward(const ColumnEncoder<B, T>& encode, int columns, index_t rows,
                                  const LossLabels<B, T>& labels = {},
                                  const GraphOptions& options = {}) const {
        detail::check_loss_inputs<B, T>(name, MultipleNegativesRankingLoss<B, T>::inputs,
                                        static_cast<std::size_t>(std::max(columns, 0)), rows, labels);
        return detail::grad_cache<B, T>(name, encode, columns, rows, mini_batch_size_, options,
                                        [&](Graph<B, T>& g, const std::vector<Var<B, T>>& reps, index_t begin,
                                            index_t end) { return loss_.rows_loss(g, reps, begin, end); });
    }

private:
    MultipleNegativesRankingLoss<B, T> loss_;
    index_t mini_batch_size_;
};

}  // namespace tandem
