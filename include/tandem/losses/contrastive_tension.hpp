// The Contrastive Tension losses (Carlsson et al. 2021, "Semantic Re-Tuning with
// Contrastive Tension"). The reference trains two encoders: column 0 is embedded by a deep
// copy of the model made when the loss is built (model1), column 1 by the model itself
// (model2, the one kept for inference). Over embeddings both are just columns: a trainer
// gives column 0 the copy's embeddings and column 1 the model's.
// reference: sentence_transformers v6.3 sentence_transformer/losses/contrastive_tension.py.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>
#include <tandem/losses/pairs.hpp>
#include <tandem/nn/init.hpp>

#include <cmath>
#include <memory>
#include <vector>

namespace tandem {

struct ContrastiveTensionLossOptions {};

// The summed binary cross-entropy of each pair's dot product as a logit against its label:
// 1 where both columns hold the same input, 0 otherwise. The reference derives the label
// from identical token ids when none is given; over embeddings it must be the label column.
template <Backend B, Scalar T>
class ContrastiveTensionLoss {
public:
    using Options = ContrastiveTensionLossOptions;
    static constexpr const char* name = "ContrastiveTensionLoss";
    static constexpr LossInputs inputs{.min_columns = 2,
                                       .max_columns = 2,
                                       .needs_labels = true,
                                       .columns_meaning = "(sentence_A, sentence_B)"};

    explicit ContrastiveTensionLoss(Options options = {}) : options_(options) {}
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        if (!labels.labels && !labels.scores)
            detail::throw_error(name, ": needs a label column (1 where both columns hold the same input, 0 ",
                                "otherwise); got ", columns.size(), " columns and no label column");
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const index_t n = columns[0].shape()[0];
        const auto target = detail::pair_labels(name, g, labels, n, true);
        const auto logits = detail::pairwise(PairwiseSimilarity::dot_score, columns[0], columns[1]);
        // BCEWithLogitsLoss(reduction="sum"): the mean over the n pairs, times n.
        return scale(binary_cross_entropy_with_logits(logits, target), T(n));
    }

private:
    Options options_;
};

struct ContrastiveTensionLossInBatchNegativesOptions {
    // The initial temperature: logit_scale starts at log(scale).
    double scale = 20.0;
    SimilarityFunction similarity_fct = SimilarityFunction::cos_sim;
};

// The symmetric in-batch cross-entropy (CE(S, arange) + CE(S^T, arange)) / 2 of
// S = sim(column 0, column 1) exp(logit_scale). The reference's dataset has one column,
// embedded by both encoders: row i of each column is the same input, and every other row
// is a negative.
template <Backend B, Scalar T>
class ContrastiveTensionLossInBatchNegatives {
public:
    using Options = ContrastiveTensionLossInBatchNegativesOptions;
    static constexpr const char* name = "ContrastiveTensionLossInBatchNegatives";
    static constexpr LossInputs inputs{
        .min_columns = 2, .max_columns = 2, .columns_meaning = "(copy's embeddings, model's embeddings)"};

    // The loss owns logit_scale (shape [], as the reference's nn.Parameter), set to log(scale).
    explicit ContrastiveTensionLossInBatchNegatives(Options options = {})
        : options_(options), store_(std::make_unique<ParameterStore<B, T>>()) {
        if (!(options.scale > 0))
            detail::throw_error(name, ": scale must be positive (logit_scale = log(scale)), found ",
                                options.scale);
        logit_scale_ = store_->add("logit_scale", {});
        init_constant(*store_, logit_scale_, std::log(options.scale));
    }
    const Options& options() const { return options_; }

    // Where logit_scale lives: the optimizer steps this store too.
    ParameterStore<B, T>& parameters() const { return *store_; }
    Parameter logit_scale() const { return logit_scale_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels = {}) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const auto& a = columns[0];
        const auto& b = columns[1];
        const auto sim = options_.similarity_fct == SimilarityFunction::cos_sim
                             ? cosine_similarity(a, b)
                             : matmul(a, permute(b, {1, 0}));
        return clip_loss(mul(sim, exp(g.parameter(*store_, logit_scale_))));
    }

private:
    Options options_;
    std::unique_ptr<ParameterStore<B, T>> store_;
    Parameter logit_scale_;
};

}  // namespace tandem
