// Losses over (sentence1, sentence2) pairs with a label for each pair: a similarity score
// to regress (CosineSimilarityLoss) or to rank (CoSENTLoss, AnglELoss), or 1 for similar
// and 0 for dissimilar pairs (ContrastiveLoss, OnlineContrastiveLoss).
// reference: sentence_transformers v6.3 sentence_transformer/losses/cosine_similarity.py,
// cosent.py, angle.py, contrastive.py, online_contrastive.py; util/similarity.py.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace tandem {

// The row-by-row similarities of sentence-transformers' util (pairwise_cos_sim,
// pairwise_dot_score, pairwise_angle_sim).
enum class PairwiseSimilarity { cos_sim, dot_score, angle_sim };

// The distances of SiameseDistanceMetric.
enum class SiameseDistanceMetric { euclidean, manhattan, cosine_distance };

namespace detail {
// |x| as relu(x) + relu(-x), whose gradient at 0 is 0 as torch.abs's is.
template <Backend B, Scalar T>
Var<B, T> absolute(const Var<B, T>& x) {
    return add(relu(x), relu(scale(x, T(-1))));
}

// alpha + x for a constant alpha.
template <Backend B, Scalar T>
Var<B, T> add_constant(const Var<B, T>& x, T alpha) {
    auto& g = graph_of("add_constant", x);
    return add(x, g.input(Tensor<B, T>::full({1}, alpha)));
}

// sim(a[i], b[i]) for every row: [rows].
template <Backend B, Scalar T>
Var<B, T> pairwise(PairwiseSimilarity f, const Var<B, T>& a, const Var<B, T>& b) {
    if (f == PairwiseSimilarity::dot_score) return sum(mul(a, b), 1);
    const auto x = l2_normalize(a), y = l2_normalize(b);
    const auto cosines = sum(mul(x, y), 1);
    if (f == PairwiseSimilarity::cos_sim) return cosines;
    // AnglE: |cos + sin|, pairing dimension k with k + ceil(d / 2). The reference pads an
    // odd width with a zero column, whose products vanish: the pairs stop at the width.
    const index_t d = a.shape()[1], half = (d + 1) / 2, paired = d - half;
    if (paired == 0) return absolute(cosines);
    const auto first = [&](const Var<B, T>& v) { return slice(v, 1, 0, paired); };
    const auto last = [&](const Var<B, T>& v) { return slice(v, 1, half, d); };
    const auto sines = sum(sub(mul(last(x), first(y)), mul(first(x), last(y))), 1);
    return absolute(add(cosines, sines));
}

// One float label per pair, [batch]: the float label column (any shape of `batch`
// elements), or, where `integers` allows, integer labels.
template <Backend B, Scalar T>
Var<B, T> pair_labels(std::string_view loss, Graph<B, T>& g, const LossLabels<B, T>& labels, index_t batch,
                      bool integers) {
    if (labels.labels && integers) {
        const Ids<B>& ids = *labels.labels;
        if (ids.numel() != batch)
            throw_error(loss, ": expects ", batch, " labels (one per pair), but got ", ids.numel(),
                        " labels with shape ", ids.shape().str());
        // As the reference's labels.float().
        auto values = Tensor<B, T>::empty({batch});
        if (batch) B::convert(values.data(), ids.data(), batch);
        return g.input(values);
    }
    if (!labels.scores)
        throw_error(loss, ": needs a float label column (one score per pair)",
                    integers ? " or integer labels" : "", "; got ",
                    labels.labels ? "integer class labels" : "no label column");
    const auto& scores = *labels.scores;
    if (scores.numel() != batch)
        throw_error(loss, ": expects ", batch, " labels (one per pair), but got ", scores.numel(),
                    " labels with shape ", scores.shape().str());
    return g.input(scores.reshape({batch}));
}

// The CoSENT objective of scaled similarities s [n] under labels [n]:
// log(1 + sum over pairs with label_i < label_j of exp(s_i - s_j)). The reference sorts
// the labels and sums suffixes; the [n, n] matrix of pairs gives the same sum.
template <Backend B, Scalar T>
Var<B, T> cosent(Graph<B, T>& g, const Var<B, T>& s, const Tensor<B, T>& labels) {
    const index_t n = s.shape()[0];
    const auto ones = Tensor<B, T>::full({1, n}, T(1));
    // s_i - s_j at [i, j].
    const auto differences = sub(matmul(reshape(s, {n, 1}), g.input(ones)), s);
    // The pairs the reference ranks (label_j > label_i) as log 1 = 0, the others as log 0 = -inf.
    Tensor<B, T> mask;
    {
        NoGradGuard no_grad;
        const auto rows = matmul(g.input(Tensor<B, T>::full({n, 1}, T(1))), g.input(labels.reshape({1, n})));
        const Tensor<B, T> label_j = rows.value();
        auto ranked = Tensor<B, T>::empty({n, n});
        B::mask_above_margin(ranked.data(), label_j.data(), labels.data(), n, n, T(0), false, T(1),
                             index_t{-1}, T(0));
        mask = log(g.input(ranked)).value();
    }
    const auto pairs = reshape(add(differences, g.input(mask)), {1, n * n});
    const auto all = concat(std::vector<Var<B, T>>{g.input(Tensor<B, T>::zeros({1, 1})), pairs}, 1);
    return sum(logsumexp(all));
}
}  // namespace detail

struct CosineSimilarityLossOptions {};

// The mean squared error between cos(u, v) and the pair's score.
// (loss_fct is nn.MSELoss and cos_score_transformation nn.Identity, their defaults.)
template <Backend B, Scalar T>
class CosineSimilarityLoss {
public:
    using Options = CosineSimilarityLossOptions;
    static constexpr const char* name = "CosineSimilarityLoss";
    static constexpr LossInputs inputs{.min_columns = 2,
                                       .max_columns = 2,
                                       .needs_labels = true,
                                       .columns_meaning = "(sentence1, sentence2)"};

    explicit CosineSimilarityLoss(Options options = {}) : options_(options) {}
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const auto target = detail::pair_labels(name, g, labels, columns[0].shape()[0], false);
        const auto diff = sub(detail::pairwise(PairwiseSimilarity::cos_sim, columns[0], columns[1]), target);
        return mean(mul(diff, diff));
    }

private:
    Options options_;
};

struct CoSENTLossOptions {
    double scale = 20.0;
    PairwiseSimilarity similarity_fct = PairwiseSimilarity::cos_sim;
};

// Ranks the pairs by similarity as their scores rank them: every pair (i, j) whose score
// is lower for i than for j adds exp(scale (sim_i - sim_j)); tied scores add nothing.
template <Backend B, Scalar T>
class CoSENTLoss {
public:
    using Options = CoSENTLossOptions;
    static constexpr LossInputs inputs{.min_columns = 2,
                                       .max_columns = 2,
                                       .needs_labels = true,
                                       .columns_meaning = "(sentence1, sentence2)"};

    explicit CoSENTLoss(Options options = {}, std::string_view name = "CoSENTLoss")
        : options_(options), name_(name) {
        if (!std::isfinite(options_.scale))
            detail::throw_error(name_, ": scale must be a finite number, got ", options_.scale);
    }
    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name_, inputs, columns, labels);
        return ranked(g, columns[0], columns[1],
                      detail::pair_labels(name_, g, labels, columns[0].shape()[0], true).value());
    }

protected:
    Var<B, T> ranked(Graph<B, T>& g, const Var<B, T>& a, const Var<B, T>& b,
                     const Tensor<B, T>& labels) const {
        const auto s = scale(detail::pairwise(options_.similarity_fct, a, b), T(options_.scale));
        return detail::cosent(g, s, labels);
    }

    Options options_;
    std::string name_;
};

// CoSENT on the angle similarity. With more than two columns (anchor, positive,
// negative_1, ...), every column after the first is paired with the anchor: the
// positives with the labels (1 when there are none), each negative with 1 - label.
template <Backend B, Scalar T>
class AnglELoss : public CoSENTLoss<B, T> {
public:
    struct Options {
        double scale = 20.0;
    };
    static constexpr LossInputs inputs{
        .min_columns = 2, .columns_meaning = "(sentence1, sentence2) or (anchor, positive, negative_1, ...)"};

    explicit AnglELoss(Options options = {})
        : CoSENTLoss<B, T>({.scale = options.scale, .similarity_fct = PairwiseSimilarity::angle_sim},
                           "AnglELoss") {}

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        const std::string_view name = this->name();
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const index_t batch = columns[0].shape()[0];
        if (columns.size() == 2) {
            if (labels.empty()) detail::throw_error(name, ": needs a label column for pairs; got none");
            return this->ranked(g, columns[0], columns[1],
                                detail::pair_labels(name, g, labels, batch, true).value());
        }
        const std::size_t others = columns.size() - 1;
        Tensor<B, T> combined;
        {
            NoGradGuard no_grad;
            const auto positive = labels.empty() ? g.input(Tensor<B, T>::full({batch}, T(1)))
                                                 : detail::pair_labels(name, g, labels, batch, true);
            std::vector<Var<B, T>> parts{positive};
            const auto negative = sub(g.input(Tensor<B, T>::full({batch}, T(1))), positive);
            for (std::size_t i = 1; i < others; ++i) parts.push_back(negative);
            combined = concat(parts, 0).value();
        }
        const auto anchors = concat(std::vector<Var<B, T>>(others, columns[0]), 0);
        const auto candidates = concat(std::vector<Var<B, T>>(columns.begin() + 1, columns.end()), 0);
        return this->ranked(g, anchors, candidates, combined);
    }
};

struct ContrastiveLossOptions {
    SiameseDistanceMetric distance_metric = SiameseDistanceMetric::cosine_distance;
    double margin = 0.5;
    bool size_average = true;
};

namespace detail {
// d(a[i], b[i]) for every row: [rows]. reference: F.pairwise_distance(x, y, p) adds its
// eps (1e-6) to the difference, ||x - y + eps||_p, not to the distance; matched here.
template <Backend B, Scalar T>
Var<B, T> siamese_distance(SiameseDistanceMetric metric, const Var<B, T>& a, const Var<B, T>& b) {
    if (metric == SiameseDistanceMetric::cosine_distance)
        return add_constant(scale(pairwise(PairwiseSimilarity::cos_sim, a, b), T(-1)), T(1));
    const auto diff = add_constant(sub(a, b), T(1e-6));
    if (metric == SiameseDistanceMetric::manhattan) return sum(absolute(diff), 1);
    // ||x|| as x . x / ||x||, whose gradient is x / ||x||.
    return sum(mul(diff, l2_normalize(diff)), 1);
}

template <Backend B, Scalar T>
void check_margin(std::string_view loss, double margin) {
    if (!std::isfinite(margin)) throw_error(loss, ": margin must be a finite number, got ", margin);
}
}  // namespace detail

// Pulls similar pairs (label 1) together and pushes dissimilar ones (label 0) to a
// distance of at least the margin: 0.5 (label d^2 + (1 - label) relu(margin - d)^2),
// the mean over pairs (size_average) or their sum.
template <Backend B, Scalar T>
class ContrastiveLoss {
public:
    using Options = ContrastiveLossOptions;
    static constexpr const char* name = "ContrastiveLoss";
    static constexpr LossInputs inputs{
        .min_columns = 2, .max_columns = 2, .needs_labels = true, .columns_meaning = "(anchor, other)"};

    explicit ContrastiveLoss(Options options = {}) : options_(options) {
        detail::check_margin<B, T>(name, options_.margin);
    }
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const index_t batch = columns[0].shape()[0];
        const auto label = detail::pair_labels(name, g, labels, batch, true);
        const auto d = detail::siamese_distance(options_.distance_metric, columns[0], columns[1]);
        const auto short_of_margin = relu(detail::add_constant(scale(d, T(-1)), T(options_.margin)));
        const auto other = detail::add_constant(scale(label, T(-1)), T(1));
        const auto losses = add(mul(label, mul(d, d)), mul(other, mul(short_of_margin, short_of_margin)));
        return scale(sum(losses), T(options_.size_average ? 0.5 / double(batch) : 0.5));
    }

private:
    Options options_;
};

struct OnlineContrastiveLossOptions {
    SiameseDistanceMetric distance_metric = SiameseDistanceMetric::cosine_distance;
    double margin = 0.5;
};

// ContrastiveLoss on the hard pairs only: the positives (label 1) farther apart than the
// nearest negative, and the negatives (label 0) closer than the farthest positive;
// d^2 + relu(margin - d)^2 over them (no factor 0.5). Pairs labelled neither are ignored.
template <Backend B, Scalar T>
class OnlineContrastiveLoss {
public:
    using Options = OnlineContrastiveLossOptions;
    static constexpr const char* name = "OnlineContrastiveLoss";
    static constexpr LossInputs inputs{
        .min_columns = 2, .max_columns = 2, .needs_labels = true, .columns_meaning = "(anchor, other)"};

    explicit OnlineContrastiveLoss(Options options = {}) : options_(options) {
        detail::check_margin<B, T>(name, options_.margin);
    }
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const index_t batch = columns[0].shape()[0];
        const Tensor<B, T> label = detail::pair_labels(name, g, labels, batch, true).value();
        const auto d = detail::siamese_distance(options_.distance_metric, columns[0], columns[1]);
        auto positive = Tensor<B, T>::empty({batch}), negative = Tensor<B, T>::empty({batch});
        B::hard_pairs(positive.data(), negative.data(), d.value().data(), label.data(), batch);
        const auto short_of_margin = relu(detail::add_constant(scale(d, T(-1)), T(options_.margin)));
        // A sum over the hard pairs, not a mean, as the reference returns
        // positive_pairs.pow(2).sum() + F.relu(margin - negative_pairs).pow(2).sum().
        return sum(add(mul(g.input(positive), mul(d, d)),
                       mul(g.input(negative), mul(short_of_margin, short_of_margin))));
    }

private:
    Options options_;
};

}  // namespace tandem
