// Cross-encoder losses over a query's candidates: the scores [batch, 1 + negatives] of each
// query with its positive (column 0) and its negatives (in-batch or hard, in any order).
// MultipleNegativesRankingLoss ranks the positive first; its cached form (GradCache) scores
// the pairs in mini-batches; MarginMSELoss regresses the margins onto a teacher's.
// reference: sentence_transformers v6.3 cross_encoder/losses/multiple_negatives_ranking.py,
// cached_multiple_negatives_ranking.py, margin_mse.py.
#pragma once

#include <tandem/losses/cross_encoder_scores.hpp>
#include <tandem/losses/grad_cache.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace tandem::cross_encoder {

struct MultipleNegativesRankingLossOptions {
    // 0: the activated scores unscaled (the reference's `if self.scale`).
    double scale = 10.0;
    Activation activation_fn = Activation::sigmoid;
};

// Softmax cross-entropy of scale * activation_fn(scores) with the positive as the target.
// Which negatives a query is scored against (the reference draws num_negatives of the
// other queries' candidates) is the caller's: the scores hold them.
template <Backend B, Scalar T>
class MultipleNegativesRankingLoss {
public:
    using Options = MultipleNegativesRankingLossOptions;

    explicit MultipleNegativesRankingLoss(Options options = {},
                                          std::string_view name = "MultipleNegativesRankingLoss")
        : options_(options), name_(name) {
        if (!std::isfinite(options_.scale))
            detail::throw_error(name_, ": scale must be a finite number, got ", options_.scale);
    }
    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }

    Var<B, T> operator()(Graph<B, T>&, const Var<B, T>& scores, const LossLabels<B, T>& = {}) const {
        detail::check_candidates(name_, scores.shape(), 1);
        auto x = detail::activate(options_.activation_fn, scores);
        if (options_.scale != 0) x = tandem::scale(x, T(options_.scale));
        return cross_entropy(x, Ids<B>::zeros({scores.shape()[0]}));
    }

private:
    Options options_;
    std::string name_;
};

// score(graph, begin, end): the scores [end - begin] of pairs [begin, end) of a batch's
// rows * candidates pairs, candidate-major as the reference orders them (every query with
// its positive, then every query with its first negative, ...), recorded on `graph`.
template <Backend B, Scalar T>
using PairScorer = std::function<Var<B, T>(Graph<B, T>&, index_t begin, index_t end)>;

// MultipleNegativesRankingLoss with the memory of one mini-batch of pairs: every pair is
// scored without a tape, the loss's gradient with respect to the scores is cached, and each
// mini-batch is scored again with the tape and back-propagated from it (GradCache).
template <Backend B, Scalar T>
class CachedMultipleNegativesRankingLoss {
public:
    using Options = MultipleNegativesRankingLossOptions;
    static constexpr const char* name = "CachedMultipleNegativesRankingLoss";

    explicit CachedMultipleNegativesRankingLoss(Options options = {}, index_t mini_batch_size = 32)
        : loss_(options, name), mini_batch_size_(mini_batch_size) {
        if (mini_batch_size <= 0)
            detail::throw_error(name, ": mini_batch_size must be positive, found ", mini_batch_size);
    }
    const Options& options() const { return loss_.options(); }
    index_t mini_batch_size() const { return mini_batch_size_; }

    // The same loss on scores already computed (evaluation).
    Var<B, T> operator()(Graph<B, T>& g, const Var<B, T>& scores, const LossLabels<B, T>& labels = {}) const {
        return loss_(g, scores, labels);
    }

    // The loss (0-d) of `rows` queries with `candidates` candidates each; the gradients of
    // every parameter `score` reads are accumulated into its ParameterStore. In training
    // mode both passes over a mini-batch draw the same dropout masks.
    Tensor<B, T> forward_backward(const PairScorer<B, T>& score, index_t rows, index_t candidates,
                                  const GraphOptions& options = {}) const {
        detail::check_candidates(name, Shape{rows, candidates}, 1);
        const index_t pairs = rows * candidates, chunks = (pairs + mini_batch_size_ - 1) / mini_batch_size_;
        auto end_of = [&](index_t i) { return std::min(pairs, (i + 1) * mini_batch_size_); };
        auto scored = [&](Graph<B, T>& g, index_t i) {
            const index_t begin = i * mini_batch_size_, end = end_of(i);
            auto s = score(g, begin, end);
            if (s.shape().numel() != end - begin || s.shape().rank() > 2)
                detail::throw_error(name, ": the scorer returned shape ", s.shape().str(), " for pairs [",
                                    begin, ", ", end, "); expected [", end - begin, "]");
            return reshape(s, {end - begin});
        };
        Tensor<B, T> all;
        {
            NoGradGuard no_grad;
            Graph<B, T> g;
            std::vector<Var<B, T>> parts;
            for (index_t i = 0; i < chunks; ++i) {
                Graph<B, T> chunk(tandem::detail::grad_cache_chunk_options(options, 0, i));
                parts.push_back(g.input(scored(chunk, i).value()));
            }
            all = parts.size() == 1 ? parts[0].value() : concat(parts, 0).value();
        }
        Graph<B, T> g;
        const auto leaf = g.input(all, true);
        const auto loss = loss_(g, permute(reshape(leaf, {candidates, rows}), {1, 0}));
        g.backward(loss);
        const Tensor<B, T> cached = g.grad(leaf);
        for (index_t i = 0; i < chunks; ++i) {
            Graph<B, T> chunk(tandem::detail::grad_cache_chunk_options(options, 0, i));
            const auto s = scored(chunk, i);
            if (s.requires_grad()) chunk.backward({s}, {cached.rows(i * mini_batch_size_, end_of(i))});
        }
        return loss.value();
    }

private:
    MultipleNegativesRankingLoss<B, T> loss_;
    index_t mini_batch_size_;
};

struct MarginMSELossOptions {
    Activation activation_fn = Activation::identity;
};

// The mean squared error between the margins activation_fn(score(query, positive)) -
// activation_fn(score(query, negative_i)) and the teacher's. Labels: the margins, [batch]
// or [batch, negatives], or the teacher's scores [batch, 1 + negatives] (positive first).
template <Backend B, Scalar T>
class MarginMSELoss {
public:
    using Options = MarginMSELossOptions;
    static constexpr const char* name = "MarginMSELoss";

    explicit MarginMSELoss(Options options = {}) : options_(options) {}
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const Var<B, T>& scores, const LossLabels<B, T>& labels) const {
        detail::check_candidates(name, scores.shape(), 2);
        const index_t batch = scores.shape()[0], negatives = scores.shape()[1] - 1;
        const auto teacher = detail::float_labels(name, labels, "teacher margins or scores");
        const Shape& t = teacher.shape();
        auto target = g.input(teacher);
        // In the reference's order: scores first, then a vector of margins.
        if (t.rank() == 2 && t[0] == batch && t[1] == negatives + 1)
            target = sub(
                concat(std::vector<Var<B, T>>(static_cast<std::size_t>(negatives), slice(target, 1, 0, 1)),
                       1),
                slice(target, 1, 1, negatives + 1));
        else if (t.rank() == 1 && t[0] == batch)
            target = reshape(target, {batch, 1});
        if (!(target.shape() == Shape{batch, negatives}))
            detail::throw_error(name, ": needs labels of shape [", batch, ", ", negatives, "] (margins) or [",
                                batch, ", ", negatives + 1, "] (scores)", negatives == 1 ? " or [" : "",
                                negatives == 1 ? std::to_string(batch) + "]" : "", " for scores of shape ",
                                scores.shape().str(), "; got labels of shape ", t.str());
        const auto x = detail::activate(options_.activation_fn, scores);
        const auto positive = slice(x, 1, 0, 1);
        const auto margins =
            sub(concat(std::vector<Var<B, T>>(static_cast<std::size_t>(negatives), positive), 1),
                slice(x, 1, 1, negatives + 1));
        const auto diff = sub(margins, target);
        return mean(mul(diff, diff));
    }

private:
    Options options_;
};

}  // namespace tandem::cross_encoder
