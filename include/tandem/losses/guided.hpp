// GISTEmbedLoss and CachedGISTEmbedLoss: in-batch contrastive learning in which a frozen
// guide model decides which in-batch candidates are false negatives. Each anchor's softmax
// runs over its positive, the other positives, (contrast_anchors) the other anchors,
// (contrast_positives) the positives against its own positive, and the hard negatives;
// every candidate the guide scores above the guide's anchor-positive similarity (less a
// margin, absolute or relative to that similarity) is removed. Similarities are cosine,
// divided by the temperature. The cached form computes the same loss at any batch size
// in the memory of one mini-batch (GradCache), as CachedMultipleNegativesRankingLoss.
// reference: sentence_transformers v6.3 losses/gist_embed.py, cached_gist_embed.py;
// Solatorio 2024, "GISTEmbed: Guided In-sample Selection of Training Negatives".
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/losses/grad_cache.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

namespace tandem {

enum class MarginStrategy { absolute, relative };

struct GISTEmbedLossOptions {
    double temperature = 0.01;
    MarginStrategy margin_strategy = MarginStrategy::absolute;
    double margin = 0.0;
    bool contrast_anchors = true;
    bool contrast_positives = true;
};

template <Backend B, Scalar T>
class GISTEmbedLoss {
public:
    using Options = GISTEmbedLossOptions;
    static constexpr LossInputs inputs{
        .min_columns = 2,
        .max_columns = 3,
        .columns_meaning = "(anchor, positive) or (anchor, positive, negative)"};

    explicit GISTEmbedLoss(Options options = {}, std::string_view name = "GISTEmbedLoss",
                           LossInputs columns = inputs)
        : options_(options), name_(name), inputs_(columns) {
        if (!(options_.temperature > 0))
            detail::throw_error(name_, ": temperature must be positive, found ", options_.temperature);
    }

    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }
    const LossInputs& columns_needed() const { return inputs_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const std::vector<Tensor<B, T>>& guide_columns,
                         const LossLabels<B, T>& labels = {}) const {
        detail::check_loss_inputs<B, T>(name_, inputs_, columns, labels);
        check_guides(columns.size(), columns[0].shape()[0], guide_columns);
        return rows_loss(g, columns, guide_columns, 0, columns[0].shape()[0]);
    }

    // The guide's embeddings: as many columns as the student's, the same rows each.
    void check_guides(std::size_t columns, index_t rows, const std::vector<Tensor<B, T>>& guides) const {
        if (guides.size() != columns)
            detail::throw_error(name_, ": needs the guide's embeddings of each of the ", columns,
                                " columns; got ", guides.size(),
                                guides.size() == 1 ? " guide column" : " guide columns");
        for (std::size_t i = 0; i < guides.size(); ++i)
            if (guides[i].shape().rank() != 2 || guides[i].shape()[0] != rows ||
                !(guides[i].shape() == guides[0].shape()))
                detail::throw_error(name_, ": the guide's embeddings must be [", rows,
                                    ", guide_dim], one shape for every column; guide column ", i, " is ",
                                    guides[i].shape().str());
    }

    // The share of the loss that anchors [begin, end) contribute (their cross-entropy terms
    // over the batch size): the loss is the sum of these over any split of the rows.
    Var<B, T> rows_loss(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                        const std::vector<Tensor<B, T>>& guide_columns, index_t begin, index_t end) const {
        const index_t batch = columns[0].shape()[0], m = end - begin;
        const T inf = std::numeric_limits<T>::infinity();
        std::vector<Var<B, T>> student;
        for (const auto& c : columns) student.push_back(l2_normalize(c));
        // The guide's cosine similarities, without a tape.
        std::vector<Tensor<B, T>> guide;
        {
            NoGradGuard no_grad;
            for (const auto& t : guide_columns) guide.push_back(l2_normalize(g.input(t)).value());
        }
        const auto local = [&](const Var<B, T>& x) { return slice(x, 0, begin, end); };
        const auto guide_sim = [&](std::size_t a, std::size_t b) {
            NoGradGuard no_grad;
            return matmul(g.input(guide[a].rows(begin, end)), g.input(guide[b]), false, true).value();
        };
        const Tensor<B, T> guide_ap = guide_sim(0, 1);
        // The guide's anchor-positive similarity of each local anchor.
        Tensor<B, T> guide_positive;
        {
            NoGradGuard no_grad;
            auto flat = Ids<B>::empty({m});
            const auto positive_columns = arange<B>(m, begin);
            if (m) B::flat_index(flat.data(), positive_columns.data(), m, batch);
            guide_positive =
                gather_rows(reshape(g.input(guide_ap), {m * batch, 1}), flat).value().reshape({m});
        }
        // -inf where the guide finds a false negative; the own positive (ap) or the row
        // itself (aa, pp) at column begin + r.
        const auto masked = [&](const Var<B, T>& scores, const Tensor<B, T>& guide_scores, bool diagonal,
                                T on_diagonal) {
            auto mask = Tensor<B, T>::empty(guide_scores.shape());
            if (mask.numel())
                B::mask_above_margin(mask.data(), guide_scores.data(), guide_positive.data(), m, batch,
                                     T(options_.margin), options_.margin_strategy == MarginStrategy::relative,
                                     -inf, diagonal ? begin : index_t{-1}, on_diagonal);
            return add(scores, g.input(mask));
        };
        std::vector<Var<B, T>> scores = {
            masked(matmul(local(student[0]), student[1], false, true), guide_ap, true, T(0))};
        if (options_.contrast_anchors)
            scores.push_back(
                masked(matmul(local(student[0]), student[0], false, true), guide_sim(0, 0), true, -inf));
        if (options_.contrast_positives)
            scores.push_back(
                masked(matmul(local(student[1]), student[1], false, true), guide_sim(1, 1), true, -inf));
        for (std::size_t i = 2; i < columns.size(); ++i)
            scores.push_back(
                masked(matmul(local(student[0]), student[i], false, true), guide_sim(0, i), false, T(0)));
        const auto logits =
            scale(scores.size() == 1 ? scores[0] : concat(scores, 1), T(1.0 / options_.temperature));
        // Cross-entropy with the positive at column begin + r.
        const index_t width = logits.shape()[1];
        auto flat = Ids<B>::empty({m});
        const auto positive_columns = arange<B>(m, begin);
        if (m) B::flat_index(flat.data(), positive_columns.data(), m, width);
        const auto positives = reshape(gather_rows(reshape(logits, {m * width, 1}), flat), {m});
        return scale(sum(sub(logsumexp(logits), positives)), T(1) / T(batch));
    }

private:
    Options options_;
    std::string name_;
    LossInputs inputs_;
};

// GISTEmbedLoss at any batch size in the memory of one mini-batch; any number of hard
// negative columns. The guide's embeddings of the whole batch are given (they hold no tape).
template <Backend B, Scalar T>
class CachedGISTEmbedLoss {
public:
    static constexpr const char* name = "CachedGISTEmbedLoss";
    static constexpr LossInputs inputs{.min_columns = 2,
                                       .columns_meaning = "(anchor, positive, negative_1, ..., negative_n)"};

    explicit CachedGISTEmbedLoss(GISTEmbedLossOptions options = {}, index_t mini_batch_size = 32)
        : loss_(options, name, inputs), mini_batch_size_(mini_batch_size) {
        if (mini_batch_size <= 0)
            detail::throw_error(name, ": mini_batch_size must be positive, found ", mini_batch_size);
    }

    const GISTEmbedLossOptions& options() const { return loss_.options(); }
    index_t mini_batch_size() const { return mini_batch_size_; }

    // As CachedMultipleNegativesRankingLoss::forward_backward, with the guide's embeddings.
    Tensor<B, T> forward_backward(const ColumnEncoder<B, T>& encode, int columns, index_t rows,
                                  const std::vector<Tensor<B, T>>& guide_columns,
                                  const LossLabels<B, T>& labels = {},
                                  const GraphOptions& options = {}) const {
        detail::check_loss_inputs<B, T>(name, inputs, static_cast<std::size_t>(std::max(columns, 0)), rows,
                                        labels);
        loss_.check_guides(static_cast<std::size_t>(columns), rows, guide_columns);
        return detail::grad_cache<B, T>(
            name, encode, columns, rows, mini_batch_size_, options,
            [&](Graph<B, T>& g, const std::vector<Var<B, T>>& reps, index_t begin, index_t end) {
                for (std::size_t c = 1; c < reps.size(); ++c)
                    if (!(reps[c].shape() == reps[0].shape()))
                        detail::throw_error(name,
                                            ": every column must be embeddings [batch, dim] of one shape; "
                                            "column 0 is ",
                                            reps[0].shape().str(), ", column ", c, " is ",
                                            reps[c].shape().str());
                return loss_.rows_loss(g, reps, guide_columns, begin, end);
            });
    }

private:
    GISTEmbedLoss<B, T> loss_;
    index_t mini_batch_size_;
};

}  // namespace tandem
