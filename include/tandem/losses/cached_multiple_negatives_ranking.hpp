// CachedMultipleNegativesRankingLoss: MultipleNegativesRankingLoss at any batch size in
// the memory of one mini-batch (GradCache). Every column is embedded in mini-batches
// without a tape; the loss and its gradient with respect to those embeddings are computed
// on the cached embeddings, a few anchors at a time; then each mini-batch is embedded
// again with the tape and back-propagated from its cached gradient. The result is the
// uncached loss's value and gradient.
// reference: sentence_transformers v6 losses/cached_multiple_negatives_ranking.py; Gao et
// al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup".
#pragma once

#include <tandem/core/rng.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>

#include <algorithm>
#include <cstdint>
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
        const index_t chunks = (rows + mini_batch_size_ - 1) / mini_batch_size_;
        auto chunk_end = [&](index_t i) { return std::min(rows, (i + 1) * mini_batch_size_); };

        // 1. Every column's embeddings, one mini-batch at a time, without a tape.
        std::vector<Tensor<B, T>> cached;
        for (int c = 0; c < columns; ++c) {
            NoGradGuard no_grad;
            Graph<B, T> g;
            std::vector<Var<B, T>> parts;
            for (index_t i = 0; i < chunks; ++i) {
                Graph<B, T> chunk(chunk_options(options, c, i));
                parts.push_back(g.input(embed(encode, chunk, c, i * mini_batch_size_, chunk_end(i)).value()));
            }
            cached.push_back(parts.size() == 1 ? parts[0].value() : concat(parts, 0).value());
        }

        // 2. The loss and its gradient with respect to the cached embeddings; the similarity
        // rows of a mini-batch of anchors at a time, so no [rows, rows] matrix is held.
        std::vector<Tensor<B, T>> cached_grads;
        for (const auto& t : cached) cached_grads.push_back(Tensor<B, T>::zeros(t.shape()));
        auto total = Tensor<B, T>::zeros(Shape{});
        for (index_t i = 0; i < chunks; ++i) {
            Graph<B, T> g;
            std::vector<Var<B, T>> reps;
            for (const auto& t : cached) reps.push_back(g.input(t, true));
            auto part = loss_.rows_loss(g, reps, i * mini_batch_size_, chunk_end(i));
            B::binary(BinaryOp::Add, total.data(), total.data(), 1, part.value().data(), 1);
            g.backward(part);
            for (int c = 0; c < columns; ++c) {
                const auto grad = g.grad(reps[c]);
                B::binary(BinaryOp::Add, cached_grads[c].data(), cached_grads[c].data(), grad.numel(),
                          grad.data(), grad.numel());
            }
        }

        // 3. Each mini-batch again, with the tape, back-propagated from its cached gradient.
        for (int c = 0; c < columns; ++c) {
            for (index_t i = 0; i < chunks; ++i) {
                const index_t begin = i * mini_batch_size_, end = chunk_end(i);
                Graph<B, T> g(chunk_options(options, c, i));
                auto embeddings = embed(encode, g, c, begin, end);
                if (!embeddings.requires_grad()) continue;
                g.backward({embeddings}, {cached_grads[c].rows(begin, end)});
            }
        }
        return total;
    }

private:
    static GraphOptions chunk_options(const GraphOptions& options, int column, index_t chunk) {
        const auto stream = (static_cast<std::uint64_t>(column) << 40) ^ static_cast<std::uint64_t>(chunk);
        const auto word = Philox(options.seed, stream).block(0);
        return {.training = options.training,
                .seed = (static_cast<std::uint64_t>(word[0]) << 32) | static_cast<std::uint64_t>(word[1])};
    }

    static Var<B, T> embed(const ColumnEncoder<B, T>& encode, Graph<B, T>& g, int column, index_t begin,
                           index_t end) {
        auto e = encode(g, column, begin, end);
        if (e.shape().rank() != 2 || e.shape()[0] != end - begin)
            detail::throw_error(name, ": the encoder returned shape ", e.shape().str(), " for rows [", begin,
                                ", ", end, ") of column ", column, "; expected [", end - begin, ", dim]");
        return e;
    }

    MultipleNegativesRankingLoss<B, T> loss_;
    index_t mini_batch_size_;
};

}  // namespace tandem
