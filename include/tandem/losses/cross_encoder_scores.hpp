// What a cross-encoder loss reads: the scores (logits) a model gives its (query, document)
// pairs, one per pair, laid out once for every loss, and the label column.
//   pointwise (BinaryCrossEntropyLoss, MSELoss): scores [batch] or [batch, 1], one label per pair;
//   CrossEntropyLoss: logits [batch, num_labels], class labels [batch] (or probabilities);
//   a query against its candidates (MultipleNegativesRankingLoss, MarginMSELoss):
//     scores [batch, 1 + negatives], column 0 the query's positive;
//   listwise (LambdaLoss, RankNetLoss, ListNetLoss, ListMLELoss, PListMLELoss, ADRMSELoss):
//     scores [batch, docs], labels [batch, docs]; a query with fewer documents pads its row
//     at the end with label -inf (as the reference pads its labels matrix), whose score is
//     ignored and gets no gradient.
// reference: sentence_transformers v6.3 cross_encoder/losses/*.py (model(...)["scores"]).
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::cross_encoder {

// Represents: an objective over the scores of one batch of (query, document) pairs.
// Requires: loss(graph, scores, labels), scores a Var on `graph` laid out as above.
// Ensures: a one-element Var; backward() on it fills the gradient of the scores.
template <class L, class B, class T>
concept ScoreLoss = Backend<B> && Scalar<T> &&
    requires(const L& loss, Graph<B, T>& g, const Var<B, T>& scores, const LossLabels<B, T>& labels) {
    { loss(g, scores, labels) } -> std::same_as<Var<B, T>>;
};

// The losses' activation_fn: applied to the scores before the loss.
enum class Activation { identity, sigmoid, tanh };

namespace detail {
using tandem::detail::throw_error;

template <Backend B, Scalar T>
Var<B, T> activate(Activation f, const Var<B, T>& x) {
    switch (f) {
        case Activation::sigmoid:
            return sigmoid(x);
        case Activation::tanh:
            return tanh(x);
        case Activation::identity:
            break;
    }
    return x;
}

// A constant of x's graph.
template <Backend B, Scalar T>
Var<B, T> constant(const Var<B, T>& x, const std::vector<T>& values, const Shape& shape) {
    return tandem::detail::graph_of("constant", x).input(Tensor<B, T>::from_vector(values, shape));
}

// The float label column (integer labels as the reference's labels.float()).
template <Backend B, Scalar T>
Tensor<B, T> float_labels(std::string_view loss, const LossLabels<B, T>& labels, std::string_view meaning) {
    if (labels.scores) return *labels.scores;
    if (labels.labels) {
        auto values = Tensor<B, T>::empty(labels.labels->shape());
        if (values.numel()) B::convert(values.data(), labels.labels->data(), values.numel());
        return values;
    }
    throw_error(loss, ": needs a label column (", meaning, "); got no label column");
}

// The scores of one score per pair, [batch] or [batch, 1], as [batch].
template <Backend B, Scalar T>
Var<B, T> pair_scores(std::string_view loss, const Var<B, T>& scores) {
    const Shape& s = scores.shape();
    if (!(s.rank() == 1 || (s.rank() == 2 && s[1] == 1)) || s[0] == 0)
        throw_error(loss,
                    ": needs one score per pair, [batch] or [batch, 1] with batch > 0; got scores of shape ",
                    s.str());
    return reshape(scores, {s[0]});
}

// Scores [batch, 1 + negatives], the positive first.
inline void check_candidates(std::string_view loss, const Shape& s, index_t min_candidates) {
    if (s.rank() != 2 || s[0] == 0 || s[1] < min_candidates)
        throw_error(loss, ": needs scores [batch, 1 + negatives] (column 0 the positive) with batch > 0",
                    min_candidates > 1 ? " and at least one negative" : "", "; got scores of shape ",
                    s.str());
}

// One query per row: its documents' labels, copied to the host once per batch for the
// constants the listwise losses derive from them (ranks, gains, weights), which carry no
// gradient.
template <Backend B, Scalar T>
struct Lists {
    index_t batch = 0, docs = 0;
    std::vector<T> labels;
    std::vector<T> valid;  // 1 for a document, 0 for padding (label -inf)

    index_t at(index_t b, index_t i) const { return b * docs + i; }
    bool is_valid(index_t b, index_t i) const { return valid[static_cast<std::size_t>(at(b, i))] != T(0); }
    T label(index_t b, index_t i) const { return labels[static_cast<std::size_t>(at(b, i))]; }
    index_t count() const {
        index_t n = 0;
        for (const T v : valid) n += v != T(0);
        return n;
    }
};

template <Backend B, Scalar T>
Lists<B, T> lists(std::string_view loss, const Var<B, T>& scores, const LossLabels<B, T>& labels) {
    const Shape& s = scores.shape();
    if (s.rank() != 2 || s[0] == 0 || s[1] == 0)
        throw_error(loss,
                    ": needs scores [batch, docs] (one row of documents per query); got scores of shape ",
                    s.str());
    const Tensor<B, T> l = float_labels(loss, labels, "labels [batch, docs], -inf for padding");
    if (!(l.shape() == s))
        throw_error(loss, ": needs labels of the scores' shape ", s.str(),
                    " (one per document, -inf for padding); got labels of shape ", l.shape().str());
    Lists<B, T> out{.batch = s[0], .docs = s[1], .labels = l.to_vector(), .valid = {}};
    out.valid.resize(out.labels.size());
    for (std::size_t k = 0; k < out.labels.size(); ++k)
        out.valid[k] = out.labels[k] == -std::numeric_limits<T>::infinity() ? T(0) : T(1);
    return out;
}

// x with its padded entries replaced by `fill`; no gradient reaches them.
template <Backend B, Scalar T>
Var<B, T> pad(const Var<B, T>& x, const std::vector<T>& valid, T fill) {
    std::vector<T> rest(valid.size());
    for (std::size_t k = 0; k < valid.size(); ++k) rest[k] = valid[k] != T(0) ? T(0) : fill;
    return add(mul(x, constant(x, valid, x.shape())), constant(x, rest, x.shape()));
}

// x.flat[ids[k]] for every k: [ids.size()].
template <Backend B, Scalar T>
Var<B, T> gather(const Var<B, T>& x, const std::vector<std::int64_t>& ids) {
    const auto n = static_cast<index_t>(ids.size());
    return gather_rows(reshape(x, {x.shape().numel()}), Ids<B>::from_vector(ids, {n}));
}
}  // namespace detail

}  // namespace tandem::cross_encoder
