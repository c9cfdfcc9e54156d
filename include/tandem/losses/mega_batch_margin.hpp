// MegaBatchMarginLoss: each anchor's positive pushed above positive_margin in cosine, and
// its hardest in-batch negative (the most similar other positive) below negative_margin.
// The reference's mini-batched version is GradCache over the same loss (sentence-transformers
// v6), so both versions give the same value and gradients; the mini-batched one holds only
// mini_batch_size rows of the similarity matrix and of the model's activations at a time.
// reference: sentence_transformers v6.3 sentence_transformer/losses/mega_batch_margin.py;
// Wieting and Gimpel 2018, "ParaNMT-50M".
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/losses/grad_cache.hpp>
#include <tandem/losses/pairs.hpp>

#include <algorithm>
#include <limits>
#include <vector>

namespace tandem {

struct MegaBatchMarginLossOptions {
    double positive_margin = 0.8;
    double negative_margin = 0.3;
    bool use_mini_batched_version = true;
    index_t mini_batch_size = 50;
};

template <Backend B, Scalar T>
class MegaBatchMarginLoss {
public:
    using Options = MegaBatchMarginLossOptions;
    static constexpr const char* name = "MegaBatchMarginLoss";
    static constexpr LossInputs inputs{
        .min_columns = 2, .max_columns = 2, .columns_meaning = "(anchor, positive)"};

    explicit MegaBatchMarginLoss(Options options = {}) : options_(options) {
        if (options.mini_batch_size <= 0)
            detail::throw_error(name, ": mini_batch_size must be positive, found ", options.mini_batch_size);
    }

    const Options& options() const { return options_; }

    // Over embeddings already computed (evaluation, `tandem loss`): the whole batch at once.
    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels = {}) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        return rows_loss(g, columns, 0, columns[0].shape()[0]);
    }

    // Training: GradCache over chunks of mini_batch_size anchors, or the whole batch as one
    // chunk without the mini-batched version.
    Tensor<B, T> forward_backward(const ColumnEncoder<B, T>& encode, int columns, index_t rows,
                                  const LossLabels<B, T>& labels = {},
                                  const GraphOptions& options = {}) const {
        detail::check_loss_inputs<B, T>(name, inputs, static_cast<std::size_t>(std::max(columns, 0)), rows,
                                        labels);
        const index_t chunk = options_.use_mini_batched_version ? options_.mini_batch_size : rows;
        return detail::grad_cache<B, T>(name, encode, columns, rows, chunk, options,
                                        [&](Graph<B, T>& g, const std::vector<Var<B, T>>& reps, index_t begin,
                                            index_t end) { return rows_loss(g, reps, begin, end); });
    }

    // Anchors [begin, end) against every positive: sum of relu(positive_margin - cos(a_i, p_i))
    // + relu(max_{j != i} cos(a_i, p_j) - negative_margin), over the whole batch's size.
    Var<B, T> rows_loss(Graph<B, T>& g, const std::vector<Var<B, T>>& reps, index_t begin,
                        index_t end) const {
        const index_t n = reps[1].shape()[0];
        const auto anchors = slice(reps[0], 0, begin, end);
        const auto positive =
            detail::pairwise(PairwiseSimilarity::cos_sim, anchors, slice(reps[1], 0, begin, end));
        // Each anchor's own positive is no negative: -inf before the max, as the reference.
        auto own = Tensor<B, T>::empty({end - begin, n});
        B::fill_diagonal_blocks(own.data(), end - begin, n, begin, n, -std::numeric_limits<T>::infinity(),
                                T(0));
        const auto hardest = max(add(cosine_similarity(anchors, reps[1]), g.input(own)), 1);
        const auto m = end - begin;
        const auto pull = relu(sub(g.input(Tensor<B, T>::full({m}, T(options_.positive_margin))), positive));
        const auto push = relu(sub(hardest, g.input(Tensor<B, T>::full({m}, T(options_.negative_margin)))));
        return scale(sum(add(pull, push)), T(1) / T(n));
    }

private:
    Options options_;
};

}  // namespace tandem
