// Pointwise cross-encoder losses: each pair's score against its own label, under
// sentence-transformers' names (tandem::cross_encoder::BinaryCrossEntropyLoss, ...).
// Scores and labels as losses/cross_encoder_scores.hpp lays them out.
// reference: sentence_transformers v6.3 cross_encoder/losses/binary_cross_entropy.py,
// cross_entropy.py, mse.py (nn.BCEWithLogitsLoss, nn.CrossEntropyLoss, nn.MSELoss).
#pragma once

#include <tandem/losses/cross_encoder_scores.hpp>

#include <optional>
#include <string>

namespace tandem::cross_encoder {

namespace detail {
// One float label per pair, [batch].
template <Backend B, Scalar T>
Var<B, T> pair_labels(std::string_view loss, Graph<B, T>& g, const LossLabels<B, T>& labels, index_t batch) {
    const auto values = float_labels(loss, labels, "one label per pair");
    if (values.numel() != batch)
        throw_error(loss, ": expects ", batch, " labels (one per pair), but got ", values.numel(),
                    " labels with shape ", values.shape().str());
    return g.input(values.reshape({batch}));
}
}  // namespace detail

struct BinaryCrossEntropyLossOptions {
    Activation activation_fn = Activation::identity;
    // The weight of the positive term (nn.BCEWithLogitsLoss's pos_weight); none: 1.
    std::optional<double> pos_weight{};
};

// The mean over pairs of -(pos_weight y log s(x) + (1 - y) log(1 - s(x))), s the sigmoid.
template <Backend B, Scalar T>
class BinaryCrossEntropyLoss {
public:
    using Options = BinaryCrossEntropyLossOptions;
    static constexpr const char* name = "BinaryCrossEntropyLoss";

    explicit BinaryCrossEntropyLoss(Options options = {}) : options_(options) {
        if (options.pos_weight && !std::isfinite(*options.pos_weight))
            detail::throw_error(name, ": pos_weight must be a finite number, got ", *options.pos_weight);
    }
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const Var<B, T>& scores, const LossLabels<B, T>& labels) const {
        const auto x = detail::activate(options_.activation_fn, detail::pair_scores(name, scores));
        const auto y = detail::pair_labels(name, g, labels, x.shape()[0]);
        if (!options_.pos_weight) return binary_cross_entropy_with_logits(x, y);
        // torch's form: (1 - y) x + (1 + (pos_weight - 1) y) (-log s(x)).
        Var<B, T> negative, weight;
        {
            NoGradGuard no_grad;
            const auto one = g.input(Tensor<B, T>::full({1}, T(1)));
            negative = add(scale(y, T(-1)), one);
            weight = add(scale(y, T(*options_.pos_weight - 1)), one);
        }
        return mean(sub(mul(negative, x), mul(weight, log_sigmoid(x))));
    }

private:
    Options options_;
};

struct CrossEntropyLossOptions {
    Activation activation_fn = Activation::identity;
};

// Softmax cross-entropy over each pair's logits [batch, num_labels]: integer class labels
// [batch] (or [batch, 1]), or class probabilities [batch, num_labels] (float labels).
template <Backend B, Scalar T>
class CrossEntropyLoss {
public:
    using Options = CrossEntropyLossOptions;
    static constexpr const char* name = "CrossEntropyLoss";

    explicit CrossEntropyLoss(Options options = {}) : options_(options) {}
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const Var<B, T>& scores, const LossLabels<B, T>& labels) const {
        const Shape& s = scores.shape();
        if (s.rank() != 2 || s[0] == 0)
            detail::throw_error(
                name, ": needs logits [batch, num_labels] with batch > 0; got scores of shape ", s.str());
        const auto x = detail::activate(options_.activation_fn, scores);
        if (labels.labels) {
            const Ids<B>& ids = *labels.labels;
            if (ids.numel() != s[0] || ids.rank() > 2)
                detail::throw_error(name, ": expects ", s[0],
                                    " class labels (one per pair), but got labels of shape ",
                                    ids.shape().str());
            return cross_entropy(x, ids.reshape({s[0]}));
        }
        if (!labels.scores)
            detail::throw_error(name, ": needs a label column (class labels [", s[0], "] or probabilities ",
                                s.str(), "); got no label column");
        if (!(labels.scores->shape() == s))
            detail::throw_error(name, ": needs integer class labels [", s[0], "] or float probabilities ",
                                s.str(), "; got float labels of shape ", labels.scores->shape().str());
        // reference: nn.CrossEntropyLoss with probabilities, -sum p log softmax(x), mean over rows.
        return scale(sum(mul(g.input(*labels.scores), log_softmax(x))), T(-1) / T(s[0]));
    }

private:
    Options options_;
};

struct MSELossOptions {
    Activation activation_fn = Activation::identity;
};

// The mean squared error between each pair's score and its label.
template <Backend B, Scalar T>
class MSELoss {
public:
    using Options = MSELossOptions;
    static constexpr const char* name = "MSELoss";

    explicit MSELoss(Options options = {}) : options_(options) {}
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const Var<B, T>& scores, const LossLabels<B, T>& labels) const {
        const auto x = detail::activate(options_.activation_fn, detail::pair_scores(name, scores));
        const auto diff = sub(x, detail::pair_labels(name, g, labels, x.shape()[0]));
        return mean(mul(diff, diff));
    }

private:
    Options options_;
};

}  // namespace tandem::cross_encoder
