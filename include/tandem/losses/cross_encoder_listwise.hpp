// Listwise cross-encoder losses: each query's documents scored together against their
// relevance labels. ListNetLoss matches the softmax distributions of scores and labels;
// PListMLELoss (ListMLELoss without position weights) maximises the Plackett-Luce
// likelihood of the documents' order; ADRMSELoss regresses differentiable ranks onto the
// labels' ranks. Scores [batch, docs], labels [batch, docs] with -inf for padding
// (losses/cross_encoder_scores.hpp).
// reference: sentence_transformers v6.3 cross_encoder/losses/list_net.py, plist_mle.py,
// list_mle.py, adr_mse.py.
#pragma once

#include <tandem/losses/cross_encoder_scores.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <vector>

namespace tandem::cross_encoder {

struct ListNetLossOptions {
    Activation activation_fn = Activation::identity;
};

// The cross-entropy between softmax(labels) and softmax(scores) over each query's
// documents, the mean over queries.
template <Backend B, Scalar T>
class ListNetLoss {
public:
    using Options = ListNetLossOptions;
    static constexpr const char* name = "ListNetLoss";

    explicit ListNetLoss(Options options = {}) : options_(options) {}
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>&, const Var<B, T>& scores, const LossLabels<B, T>& labels) const {
        const auto l = detail::lists(name, scores, labels);
        // The reference pads scores with -1e16 and labels with -inf: padding weighs nothing.
        const auto x = detail::pad(detail::activate(options_.activation_fn, scores), l.valid, T(-1e16));
        std::vector<T> p(l.labels.size(), T(0));
        for (index_t b = 0; b < l.batch; ++b) {
            T top = -std::numeric_limits<T>::infinity(), total = 0;
            for (index_t i = 0; i < l.docs; ++i) top = std::max(top, l.label(b, i));
            for (index_t i = 0; i < l.docs; ++i)
                if (l.is_valid(b, i)) total += std::exp(l.label(b, i) - top);
            for (index_t i = 0; i < l.docs; ++i)
                if (l.is_valid(b, i))
                    p[static_cast<std::size_t>(l.at(b, i))] = std::exp(l.label(b, i) - top) / total;
        }
        return scale(sum(mul(detail::constant(x, p, x.shape()), log_softmax(x))), T(-1) / T(l.batch));
    }

private:
    Options options_;
};

// PListMLELoss's default position weights (PListMLELambdaWeight): 2^(n - rank) - 1 for
// ranks 1..n of a list of n documents, rescaled so a row sums to at most 2^127.
struct PListMLELambdaWeight {};

struct PListMLELossOptions {
    // none: ListMLE (every position weighs the same).
    std::optional<PListMLELambdaWeight> lambda_weight = PListMLELambdaWeight{};
    Activation activation_fn = Activation::identity;
    // true: the documents come in order of relevance; false: ordered by their labels.
    bool respect_input_order = true;
};

// -sum_i w_i log P(document i first among documents i..n) per query, the mean over
// queries; w the normalised position weights, or 1 (ListMLE).
template <Backend B, Scalar T>
class PListMLELoss {
public:
    using Options = PListMLELossOptions;

    explicit PListMLELoss(Options options = {}, std::string_view name = "PListMLELoss")
        : options_(options), name_(name) {}
    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }

    Var<B, T> operator()(Graph<B, T>&, const Var<B, T>& scores, const LossLabels<B, T>& labels) const {
        const auto l = detail::lists(name_, scores, labels);
        const index_t n = l.batch, d = l.docs;
        const auto x = detail::activate(options_.activation_fn, scores);
        // order[b, i]: the document at position i (by label, descending, ties in input order).
        std::vector<std::int64_t> sorted(static_cast<std::size_t>(n * d)),
            suffix(static_cast<std::size_t>(n * d * d));
        std::vector<T> valid_sorted(sorted.size()), suffix_mask(suffix.size()), coef(sorted.size(), T(0));
        const T lowest = std::numeric_limits<T>::lowest(), inf = std::numeric_limits<T>::infinity();
        for (index_t b = 0; b < n; ++b) {
            std::vector<index_t> order(static_cast<std::size_t>(d));
            std::iota(order.begin(), order.end(), index_t{0});
            if (!options_.respect_input_order)
                std::stable_sort(order.begin(), order.end(),
                                 [&](index_t i, index_t j) { return l.label(b, i) > l.label(b, j); });
            for (index_t i = 0; i < d; ++i) {
                const auto k = static_cast<std::size_t>(l.at(b, i));
                sorted[k] = l.at(b, order[static_cast<std::size_t>(i)]);
                valid_sorted[k] = l.valid[static_cast<std::size_t>(sorted[k])];
            }
            // log sum over positions j >= i of exp(score_j): padding as the lowest value.
            for (index_t i = 0; i < d; ++i)
                for (index_t j = 0; j < d; ++j) {
                    const auto k = static_cast<std::size_t>((b * d + i) * d + j);
                    suffix[k] = sorted[static_cast<std::size_t>(l.at(b, j))];
                    const bool valid = valid_sorted[static_cast<std::size_t>(l.at(b, j))] != T(0);
                    suffix_mask[k] = j < i ? -inf : valid ? T(0) : lowest;
                }
            std::vector<double> w(static_cast<std::size_t>(d), 1.0);
            if (options_.lambda_weight) {
                // Over the unsorted mask, as the reference's lambda_weight(mask).
                double docs = 0, total = 0;
                for (index_t i = 0; i < d; ++i) docs += l.is_valid(b, i);
                const double rescale = std::max(docs - 127, 0.0);
                for (index_t i = 0; i < d; ++i) {
                    w[static_cast<std::size_t>(i)] =
                        l.is_valid(b, i)
                            ? std::pow(2.0, docs - double(i + 1) - rescale) - std::pow(2.0, -rescale)
                            : 0.0;
                    total += w[static_cast<std::size_t>(i)];
                }
                for (auto& v : w) v /= total + 1e-10;
            }
            for (index_t i = 0; i < d; ++i) {
                const auto k = static_cast<std::size_t>(l.at(b, i));
                coef[k] = T(-w[static_cast<std::size_t>(i)] / double(n)) * valid_sorted[k];
            }
        }
        // Padding as 0 before the constants: no infinity meets a zero weight.
        const auto xz = detail::pad(x, l.valid, T(0));
        const auto ranked = detail::gather(xz, sorted);
        const auto masked =
            add(detail::gather(xz, suffix), detail::constant(x, suffix_mask, Shape{n * d * d}));
        const auto normalizers = logsumexp(reshape(masked, {n * d, d}));
        return sum(mul(detail::constant(x, coef, Shape{n * d}), sub(ranked, normalizers)));
    }

private:
    Options options_;
    std::string name_;
};

struct ListMLELossOptions {
    Activation activation_fn = Activation::identity;
    bool respect_input_order = true;
};

// PListMLELoss without position weights.
template <Backend B, Scalar T>
class ListMLELoss : public PListMLELoss<B, T> {
public:
    using Options = ListMLELossOptions;

    explicit ListMLELoss(Options options = {})
        : PListMLELoss<B, T>({.lambda_weight = std::nullopt,
                              .activation_fn = options.activation_fn,
                              .respect_input_order = options.respect_input_order},
                             "ListMLELoss") {}
};

struct ADRMSELossOptions {
    // The steepness of the sigmoid that approximates each rank.
    double alpha = 1.0;
    Activation activation_fn = Activation::identity;
};

// The approximate rank 1 + sum_{j != i} sigmoid(alpha (s_j - s_i)) of each document
// against its labels' rank (ties share the mean of their ranks), squared and discounted
// by 1 / log2(1 + rank); the mean over documents.
template <Backend B, Scalar T>
class ADRMSELoss {
public:
    using Options = ADRMSELossOptions;
    static constexpr const char* name = "ADRMSELoss";

    explicit ADRMSELoss(Options options = {}) : options_(options) {
        if (!std::isfinite(options_.alpha))
            detail::throw_error(name, ": alpha must be a finite number, got ", options_.alpha);
    }
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>&, const Var<B, T>& scores, const LossLabels<B, T>& labels) const {
        const auto l = detail::lists(name, scores, labels);
        const index_t n = l.batch, d = l.docs, documents = l.count();
        if (documents == 0) detail::throw_error(name, ": every document is padding (label -inf)");
        const auto x = detail::pad(detail::activate(options_.activation_fn, scores), l.valid, T(0));
        std::vector<std::int64_t> first(static_cast<std::size_t>(n * d * d)), second(first.size());
        std::vector<T> column_mask(first.size()), base(static_cast<std::size_t>(n * d)), truth(base.size()),
            weight(base.size());
        for (index_t b = 0; b < n; ++b)
            for (index_t i = 0; i < d; ++i) {
                double greater = 0, equal = 0;
                for (index_t j = 0; j < d; ++j) {
                    const auto k = static_cast<std::size_t>((b * d + i) * d + j);
                    first[k] = l.at(b, j);
                    second[k] = l.at(b, i);
                    column_mask[k] = l.valid[static_cast<std::size_t>(l.at(b, j))];
                    if (!l.is_valid(b, j)) continue;
                    greater += l.label(b, j) > l.label(b, i);
                    equal += l.label(b, j) == l.label(b, i);
                }
                const auto k = static_cast<std::size_t>(l.at(b, i));
                const double rank = greater + (equal + 1) / 2;
                truth[k] = T(rank);
                base[k] = T(1) - T(0.5) * l.valid[k];
                weight[k] = l.valid[k] * T(1 / std::log2(rank + 1) / double(documents));
            }
        const Shape pairs{n * d * d}, flat{n * d};
        const auto above = sigmoid(
            tandem::scale(sub(detail::gather(x, first), detail::gather(x, second)), T(options_.alpha)));
        const auto ranks =
            add(sum(reshape(mul(above, detail::constant(x, column_mask, pairs)), {n * d, d}), 1),
                detail::constant(x, base, flat));
        const auto error = sub(detail::constant(x, truth, flat), ranks);
        return sum(mul(detail::constant(x, weight, flat), mul(error, error)));
    }

private:
    Options options_;
};

}  // namespace tandem::cross_encoder
