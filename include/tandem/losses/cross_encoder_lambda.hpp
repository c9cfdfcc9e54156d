// LambdaLoss (Wang et al. 2018, "The LambdaLoss Framework for Ranking Metric
// Optimization") and RankNetLoss, its unweighted case: for each pair of a query's
// documents ranked by the model, where the first is the more relevant, the log-sigmoid of
// sigma times their score difference, weighted by a scheme of NDCG gains and discounts.
// Scores [batch, docs], labels [batch, docs] with -inf for padding
// (losses/cross_encoder_scores.hpp).
// reference: sentence_transformers v6.3 cross_encoder/losses/lambda_loss.py, rank_net.py.
#pragma once

#include <tandem/losses/cross_encoder_scores.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace tandem::cross_encoder {

// The weighting schemes of lambda_loss.py, under their Python names.
enum class WeightingScheme {
    NoWeightingScheme,
    NDCGLoss1Scheme,
    NDCGLoss2Scheme,
    LambdaRankScheme,
    NDCGLoss2PPScheme
};

enum class ReductionLog { natural, binary };

struct LambdaLossOptions {
    WeightingScheme weighting_scheme = WeightingScheme::NDCGLoss2PPScheme;
    // NDCGLoss2PPScheme's mu: mu * NDCGLoss2 + LambdaRank.
    double mu = 10.0;
    // The pairs with either document in the top k count; none (or 0): every pair.
    std::optional<index_t> k{};
    double sigma = 1.0;
    double eps = 1e-10;
    ReductionLog reduction_log = ReductionLog::binary;
    Activation activation_fn = Activation::identity;
};

// -sum over the counted pairs of w_ij log sigmoid(sigma (s_i - s_j)), divided by their
// number (and by ln 2 for reduction_log binary). The weights, gains and ranks are
// constants of the labels and of the model's order, which the reference sorts without
// a gradient.
template <Backend B, Scalar T>
class LambdaLoss {
public:
    using Options = LambdaLossOptions;

    explicit LambdaLoss(Options options = {}, std::string_view name = "LambdaLoss")
        : options_(options), name_(name) {
        if (options_.k && *options_.k < 0)
            detail::throw_error(name_, ": k must be positive (or none), got ", *options_.k);
        for (const auto& [label, value] : {std::pair{"sigma", options_.sigma}, std::pair{"eps", options_.eps},
                                           std::pair{"mu", options_.mu}})
            if (!std::isfinite(value))
                detail::throw_error(name_, ": ", label, " must be a finite number, got ", value);
    }
    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }

    Var<B, T> operator()(Graph<B, T>&, const Var<B, T>& scores, const LossLabels<B, T>& labels) const {
        auto l = detail::lists(name_, scores, labels);
        const index_t n = l.batch, d = l.docs;
        const auto x = detail::pad(detail::activate(options_.activation_fn, scores), l.valid, T(0));
        // The order by the activated scores, padding last as the reference's -1e16.
        const std::vector<T> activated = x.value().to_vector();
        const index_t k = options_.k && *options_.k > 0 ? *options_.k : d;
        const WeightingScheme scheme = options_.weighting_scheme;
        std::vector<double> discount(static_cast<std::size_t>(d));
        for (index_t i = 0; i < d; ++i) discount[static_cast<std::size_t>(i)] = std::log2(2.0 + double(i));
        std::vector<std::int64_t> first(static_cast<std::size_t>(n * d * d)), second(first.size());
        std::vector<double> weight(first.size(), 0.0);
        index_t counted = 0;
        for (index_t b = 0; b < n; ++b) {
            std::vector<index_t> order(static_cast<std::size_t>(d));
            std::iota(order.begin(), order.end(), index_t{0});
            const auto by_score = [&](index_t i) {
                return l.is_valid(b, i) ? double(activated[static_cast<std::size_t>(l.at(b, i))]) : -1e16;
            };
            std::stable_sort(order.begin(), order.end(),
                             [&](index_t i, index_t j) { return by_score(i) > by_score(j); });
            std::vector<double> truth(static_cast<std::size_t>(d)), ideal(static_cast<std::size_t>(d));
            for (index_t i = 0; i < d; ++i) {
                truth[static_cast<std::size_t>(i)] = double(l.label(b, order[static_cast<std::size_t>(i)]));
                ideal[static_cast<std::size_t>(i)] = double(l.label(b, i));
            }
            std::sort(ideal.begin(), ideal.end(), std::greater<>());
            double max_dcg = 0;
            for (index_t i = 0; i < std::min(k, d); ++i)
                max_dcg += (std::pow(2.0, std::max(ideal[static_cast<std::size_t>(i)], 0.0)) - 1) /
                           discount[static_cast<std::size_t>(i)];
            max_dcg = std::max(max_dcg, options_.eps);
            std::vector<double> gain(static_cast<std::size_t>(d));
            for (index_t i = 0; i < d; ++i)
                gain[static_cast<std::size_t>(i)] =
                    (std::pow(2.0, std::max(truth[static_cast<std::size_t>(i)], 0.0)) - 1) / max_dcg;
            for (index_t i = 0; i < d; ++i)
                for (index_t j = 0; j < d; ++j) {
                    const auto at = static_cast<std::size_t>((b * d + i) * d + j);
                    first[at] = l.at(b, order[static_cast<std::size_t>(i)]);
                    second[at] = l.at(b, order[static_cast<std::size_t>(j)]);
                    const double diff =
                        truth[static_cast<std::size_t>(i)] - truth[static_cast<std::size_t>(j)];
                    const bool counts = std::isfinite(diff) &&
                                        (scheme == WeightingScheme::NDCGLoss1Scheme || diff > 0) &&
                                        (i < k || j < k);
                    if (!counts) continue;
                    ++counted;
                    weight[at] = pair_weight(gain, discount, i, j);
                }
        }
        const double norm = -1.0 / double(std::max<index_t>(counted, 1)) /
                            (options_.reduction_log == ReductionLog::binary ? std::log(2.0) : 1.0);
        std::vector<T> coef(weight.size());
        for (std::size_t at = 0; at < weight.size(); ++at) coef[at] = T(weight[at] * norm);
        // The reference clamps the differences to +-1e8 before scaling by sigma.
        const auto diff = clamp(sub(detail::gather(x, first), detail::gather(x, second)), T(-1e8), T(1e8));
        const auto terms = log_sigmoid(tandem::scale(diff, T(options_.sigma)));
        return sum(mul(detail::constant(x, coef, Shape{n * d * d}), terms));
    }

private:
    // The scheme's weight of the pair at ranks (i, j) of the model's order.
    double pair_weight(const std::vector<double>& gain, const std::vector<double>& discount, index_t i,
                       index_t j) const {
        const auto at = [](const std::vector<double>& v, index_t i) {
            return v[static_cast<std::size_t>(i)];
        };
        const double gain_gap = std::abs(at(gain, i) - at(gain, j));
        const auto ndcg2 = [&] {
            if (i == j) return 0.0;
            const index_t delta = std::abs(i - j);
            return std::abs(1 / at(discount, delta - 1) - 1 / at(discount, delta)) * gain_gap;
        };
        const auto lambda_rank = [&] {
            return std::abs(1 / at(discount, i) - 1 / at(discount, j)) * gain_gap;
        };
        switch (options_.weighting_scheme) {
            case WeightingScheme::NoWeightingScheme:
                return 1.0;
            case WeightingScheme::NDCGLoss1Scheme:
                return at(gain, i) / at(discount, i);
            case WeightingScheme::NDCGLoss2Scheme:
                return ndcg2();
            case WeightingScheme::LambdaRankScheme:
                return lambda_rank();
            case WeightingScheme::NDCGLoss2PPScheme:
                break;
        }
        return options_.mu * ndcg2() + lambda_rank();
    }

    Options options_;
    std::string name_;
};

struct RankNetLossOptions {
    std::optional<index_t> k{};
    double sigma = 1.0;
    double eps = 1e-10;
    ReductionLog reduction_log = ReductionLog::binary;
    Activation activation_fn = Activation::identity;
};

// LambdaLoss with NoWeightingScheme: every correctly labelled pair weighs the same.
template <Backend B, Scalar T>
class RankNetLoss : public LambdaLoss<B, T> {
public:
    using Options = RankNetLossOptions;

    explicit RankNetLoss(Options options = {})
        : LambdaLoss<B, T>({.weighting_scheme = WeightingScheme::NoWeightingScheme,
                            .k = options.k,
                            .sigma = options.sigma,
                            .eps = options.eps,
                            .reduction_log = options.reduction_log,
                            .activation_fn = options.activation_fn},
                           "RankNetLoss") {}
};

}  // namespace tandem::cross_encoder
