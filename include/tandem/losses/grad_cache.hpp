// GradCache (Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory
// Limited Setup"), for any loss that can be computed a few anchors at a time: every column
// is embedded in mini-batches without a tape; the loss and its gradient with respect to
// those embeddings are computed on the cached embeddings, one mini-batch of anchors at a
// time; then each mini-batch is embedded again with the tape and back-propagated from its
// cached gradient. The result is the uncached loss's value and gradient.
// reference: sentence_transformers v6 losses/cached_multiple_negatives_ranking.py.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/rng.hpp>
#include <tandem/losses/concepts.hpp>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tandem::detail {

// In training mode each mini-batch's graph takes a seed from (options.seed, column,
// mini-batch), so both of its passes draw the same dropout masks.
inline GraphOptions grad_cache_chunk_options(const GraphOptions& options, int column, index_t chunk) {
    const auto stream = (static_cast<std::uint64_t>(column) << 40) ^ static_cast<std::uint64_t>(chunk);
    const auto word = Philox(options.seed, stream).block(0);
    return {.training = options.training,
            .seed = (static_cast<std::uint64_t>(word[0]) << 32) | static_cast<std::uint64_t>(word[1])};
}

template <Backend B, Scalar T>
Var<B, T> grad_cache_embed(std::string_view loss, const ColumnEncoder<B, T>& encode, Graph<B, T>& g,
                           int column, index_t begin, index_t end) {
    auto e = encode(g, column, begin, end);
    if (e.shape().rank() != 2 || e.shape()[0] != end - begin)
        throw_error(loss, ": the encoder returned shape ", e.shape().str(), " for rows [", begin, ", ", end,
                    ") of column ", column, "; expected [", end - begin, ", dim]");
    return e;
}

// Runs the three passes over `columns` columns of `rows` rows; rows_loss(graph, embeddings,
// begin, end) is the share of the loss of anchors [begin, end), the loss the sum of the
// shares. Returns the loss (0-d); the encoder's parameters hold their gradients.
template <Backend B, Scalar T, class RowsLoss>
Tensor<B, T> grad_cache(std::string_view loss, const ColumnEncoder<B, T>& encode, int columns, index_t rows,
                        index_t mini_batch_size, const GraphOptions& options, const RowsLoss& rows_loss) {
    const index_t chunks = (rows + mini_batch_size - 1) / mini_batch_size;
    auto chunk_end = [&](index_t i) { return std::min(rows, (i + 1) * mini_batch_size); };

    // 1. Every column's embeddings, one mini-batch at a time, without a tape.
    std::vector<Tensor<B, T>> cached;
    for (int c = 0; c < columns; ++c) {
        NoGradGuard no_grad;
        Graph<B, T> g;
        std::vector<Var<B, T>> parts;
        for (index_t i = 0; i < chunks; ++i) {
            Graph<B, T> chunk(grad_cache_chunk_options(options, c, i));
            parts.push_back(
                g.input(grad_cache_embed(loss, encode, chunk, c, i * mini_batch_size, chunk_end(i)).value()));
        }
        cached.push_back(parts.size() == 1 ? parts[0].value() : concat(parts, 0).value());
    }

    // 2. The loss and its gradient with respect to the cached embeddings; a mini-batch of
    // anchors at a time, so no [rows, rows] matrix is held.
    std::vector<Tensor<B, T>> cached_grads;
    for (const auto& t : cached) cached_grads.push_back(Tensor<B, T>::zeros(t.shape()));
    auto total = Tensor<B, T>::zeros(Shape{});
    for (index_t i = 0; i < chunks; ++i) {
        Graph<B, T> g;
        std::vector<Var<B, T>> reps;
        for (const auto& t : cached) reps.push_back(g.input(t, true));
        auto part = rows_loss(g, reps, i * mini_batch_size, chunk_end(i));
        B::binary(BinaryOp::Add, total.data(), total.data(), 1, part.value().data(), 1);
        g.backward(part);
        for (std::size_t c = 0; c < reps.size(); ++c) {
            const auto grad = g.grad(reps[c]);
            B::binary(BinaryOp::Add, cached_grads[c].data(), cached_grads[c].data(), grad.numel(),
                      grad.data(), grad.numel());
        }
    }

    // 3. Each mini-batch again, with the tape, back-propagated from its cached gradient.
    for (int c = 0; c < columns; ++c) {
        for (index_t i = 0; i < chunks; ++i) {
            const index_t begin = i * mini_batch_size, end = chunk_end(i);
            Graph<B, T> g(grad_cache_chunk_options(options, c, i));
            auto embeddings = grad_cache_embed(loss, encode, g, c, begin, end);
            if (!embeddings.requires_grad()) continue;
            g.backward({embeddings}, {cached_grads[static_cast<std::size_t>(c)].rows(begin, end)});
        }
    }
    return total;
}

}  // namespace tandem::detail
