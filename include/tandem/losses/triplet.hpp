// The triplet losses: an anchor must lie closer to its positive than to its negative by
// a margin. TripletLoss reads explicit (anchor, positive, negative) columns; the batch
// forms read one column and integer class labels and mine the triplets in the batch:
// every valid one (BatchAll), each anchor's hardest positive and negative (BatchHard, and
// BatchHardSoftMargin with a softplus instead of the margin), or each anchor-positive
// pair's semi-hard negative (BatchSemiHard).
// reference: sentence_transformers v6.3 sentence_transformer/losses/triplet.py,
// batch_hard_triplet.py, batch_all_triplet.py, batch_semi_hard_triplet.py,
// batch_hard_soft_margin_triplet.py.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>

#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// reference: TripletDistanceMetric: 1 - util.pairwise_cos_sim, -util.pairwise_euclidean_sim,
// -util.pairwise_manhattan_sim.
enum class TripletDistanceMetric { cosine, euclidean, manhattan };

struct TripletLossOptions {
    TripletDistanceMetric distance_metric = TripletDistanceMetric::euclidean;
    double triplet_margin = 5.0;
};

// mean(relu(d(anchor, positive) - d(anchor, negative) + triplet_margin)).
template <Backend B, Scalar T>
class TripletLoss {
public:
    using Options = TripletLossOptions;
    static constexpr const char* name = "TripletLoss";
    static constexpr LossInputs inputs{
        .min_columns = 3, .max_columns = 3, .columns_meaning = "(anchor, positive, negative)"};

    explicit TripletLoss(Options options = {}) : options_(options) {}
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels = {}) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const auto gap = sub(distance(columns[0], columns[1]), distance(columns[0], columns[2]));
        const auto margin = g.input(Tensor<B, T>::full({1}, T(options_.triplet_margin)));
        return mean(relu(add(gap, margin)));
    }

private:
    // [rows]: the distance of each row of a to the same row of b.
    Var<B, T> distance(const Var<B, T>& a, const Var<B, T>& b) const {
        switch (options_.distance_metric) {
            case TripletDistanceMetric::cosine: {
                const auto cos = sum(mul(l2_normalize(a), l2_normalize(b)), 1);
                auto& g = detail::graph_of(name, cos);
                return sub(g.input(Tensor<B, T>::full(cos.shape(), T(1))), cos);
            }
            case TripletDistanceMetric::euclidean: {
                // v6's pairwise_euclidean_sim is torch.linalg.vector_norm(a - b), with no
                // epsilon (F.pairwise_distance, used before, adds 1e-6 to the difference).
                // ||x|| as x . x / ||x||: its gradient x / ||x|| is 0 at x = 0, as torch's.
                const auto diff = sub(a, b);
                return sum(mul(diff, l2_normalize(diff)), 1);
            }
            case TripletDistanceMetric::manhattan:
                break;
        }
        return sum(abs(sub(a, b)), 1);
    }

    Options options_;
};

// reference: BatchHardTripletLossDistanceFunction.cosine_distance, euclidean_distance
// (also spelled eucledian_distance). v6 has no manhattan form.
enum class BatchHardTripletLossDistanceFunction { cosine_distance, euclidean_distance };

struct BatchTripletLossOptions {
    BatchHardTripletLossDistanceFunction distance_metric =
        BatchHardTripletLossDistanceFunction::euclidean_distance;
    double margin = 5.0;
};

namespace detail {
// The class labels of a batch of `rows`, or an error naming what the loss needs.
template <Backend B, Scalar T>
const Ids<B>& class_labels(std::string_view loss, const LossLabels<B, T>& labels, index_t rows) {
    if (!labels.labels)
        throw_error(loss, ": needs integer class labels (one per row); got ",
                    labels.scores ? "float labels" : "no label column");
    const auto& ids = *labels.labels;
    if (ids.numel() != rows)
        throw_error(loss, ": expects ", rows, " labels (one per example), but got ", ids.numel(),
                    " labels with shape ", ids.shape().str());
    return ids;
}

template <Backend B, Scalar T>
Var<B, T> constant(Graph<B, T>& g, const Shape& shape, T value) {
    return g.input(Tensor<B, T>::full(shape, value));
}

// out[i, j] = v[i] for j < cols: each element of v [n] repeated along a row.
template <Backend B, Scalar T>
Var<B, T> repeat_along_rows(Graph<B, T>& g, const Var<B, T>& v, index_t cols) {
    const index_t n = v.shape()[0];
    return matmul(reshape(v, {n, 1}), constant(g, {1, cols}, T(1)));
}

// The distances between every two rows of x [n, dim]: [n, n].
// reference: BatchHardTripletLossDistanceFunction.
template <Backend B, Scalar T>
Var<B, T> pairwise_distances(Graph<B, T>& g, BatchHardTripletLossDistanceFunction f, const Var<B, T>& x) {
    const index_t n = x.shape()[0];
    if (f == BatchHardTripletLossDistanceFunction::cosine_distance) {
        auto off_diagonal = Tensor<B, T>::empty({n, n});
        B::fill_diagonal(off_diagonal.data(), n, T(0), T(1));
        // (1 - cos_sim).clamp(min=0), then fill_diagonal_(0), which also stops its gradient.
        const auto unit = l2_normalize(x);
        const auto d = sub(constant(g, {n, n}, T(1)), matmul(unit, unit, false, true));
        return mul(clamp(d, T(0), std::numeric_limits<T>::infinity()), g.input(off_diagonal));
    }
    // |x_i|^2 - 2 x_i . x_j + |x_j|^2, the squared norms read off the Gram matrix's
    // diagonal so that each distance to itself is exactly 0.
    const auto dot = matmul(x, x, false, true);
    const auto square_norm = reshape(gather_rows(reshape(dot, {n * n, 1}), arange<B>(n, 0, n + 1)), {n});
    const auto rows_term = add(scale(dot, T(-2)), square_norm);
    // Negative rounding residues become 0 (torch's distances[distances < 0] = 0, whose
    // gradient passes at 0 and stops below it, as clamp's).
    const auto squared = clamp(permute(add(permute(rows_term, {1, 0}), square_norm), {1, 0}), T(0),
                               std::numeric_limits<T>::infinity());
    // sqrt has an infinite gradient at 0: where the distance is 0 it is taken of 1e-16
    // and multiplied by 0, as the reference does.
    auto zero = Tensor<B, T>::empty({n, n});
    B::range_mask(zero.data(), squared.value().data(), n * n, T(0), T(0), T(1), T(0));
    auto nonzero = Tensor<B, T>::empty({n, n});
    B::range_mask(nonzero.data(), squared.value().data(), n * n, T(0), T(0), T(0), T(1));
    return mul(g.input(nonzero), sqrt(add(squared, scale(g.input(zero), T(1e-16)))));
}

// The label masks of a batch: [n, n] of 1 and 0.
template <Backend B, Scalar T>
struct TripletMasks {
    // same: labels[i] == labels[j]; anchor_positive: the same, i != j; anchor_negative: not the same.
    Tensor<B, T> same, anchor_positive, anchor_negative;

    TripletMasks(const Ids<B>& labels, index_t n)
        : same(Tensor<B, T>::empty({n, n})),
          anchor_positive(Tensor<B, T>::empty({n, n})),
          anchor_negative(Tensor<B, T>::empty({n, n})) {
        auto diagonal = Tensor<B, T>::empty({n, n});
        B::label_equal_mask(same.data(), labels.data(), n, T(1), T(0));
        B::label_equal_mask(anchor_negative.data(), labels.data(), n, T(0), T(1));
        B::fill_diagonal(diagonal.data(), n, T(1), T(0));
        B::binary(BinaryOp::Sub, anchor_positive.data(), same.data(), n * n, diagonal.data(), n * n);
    }
};

// Each anchor's hardest positive distance minus its hardest negative distance: [n].
// reference: BatchHardTripletLoss.batch_hard_triplet_loss.
template <Backend B, Scalar T>
Var<B, T> hardest_gap(Graph<B, T>& g, const Var<B, T>& d, const TripletMasks<B, T>& masks) {
    const index_t n = d.shape()[0];
    const auto hardest_positive = max(mul(d, g.input(masks.anchor_positive)), 1);
    // Non-negatives are pushed past the row's largest distance, so that the minimum is a
    // negative's; in a row without negatives it is the row maximum (plus d(i, i) = 0),
    // which then takes the gradient, as in the reference.
    const auto pushed = add(d, mul(repeat_along_rows(g, max(d, 1), n), g.input(masks.same)));
    const auto hardest_negative = scale(max(scale(pushed, T(-1)), 1), T(-1));
    return sub(hardest_positive, hardest_negative);
}
}  // namespace detail

// The batch losses' shared shape: one column, class labels, a distance and a margin.
template <Backend B, Scalar T>
class BatchTripletLossBase {
public:
    using Options = BatchTripletLossOptions;
    static constexpr LossInputs inputs{.min_columns = 1,
                                       .max_columns = 1,
                                       .needs_labels = true,
                                       .columns_meaning = "(the embeddings to mine triplets from)"};

    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }

protected:
    BatchTripletLossBase(Options options, std::string_view name) : options_(options), name_(name) {}

    // The distances [n, n] and label masks of a checked batch.
    struct Batch {
        Var<B, T> distances;
        detail::TripletMasks<B, T> masks;
        const Ids<B>& labels;
    };

    Batch prepare(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                  const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name_, inputs, columns, labels);
        const index_t n = columns[0].shape()[0];
        const auto& ids = detail::class_labels(name_, labels, n);
        return {detail::pairwise_distances(g, options_.distance_metric, columns[0]),
                detail::TripletMasks<B, T>(ids, n), ids};
    }

    Options options_;
    std::string name_;
};

// The mean of clamp(d(a, p) - d(a, n) + margin, min=0) over every valid triplet (a != p
// of one class, n of another) whose value is positive (more than 1e-16).
template <Backend B, Scalar T>
class BatchAllTripletLoss : public BatchTripletLossBase<B, T> {
public:
    explicit BatchAllTripletLoss(BatchTripletLossOptions options = {})
        : BatchTripletLossBase<B, T>(options, "BatchAllTripletLoss") {}

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        const auto batch = this->prepare(g, columns, labels);
        const auto& d = batch.distances;
        const index_t n = d.shape()[0];
        // Row (a, p) of [n * n, n]: d(a, p) against d(a, k) for every k.
        auto anchor_rows = Ids<B>::empty({n * n});
        B::repeat_each(anchor_rows.data(), n, n);
        const auto positive = detail::repeat_along_rows(g, reshape(d, {n * n}), n);
        const auto negative = gather_rows(d, anchor_rows);
        const auto valid =
            mul(detail::repeat_along_rows(g, g.input(batch.masks.anchor_positive.reshape({n * n})), n),
                gather_rows(g.input(batch.masks.anchor_negative), anchor_rows));
        const auto margin = detail::constant(g, {1}, T(this->options_.margin));
        const auto losses =
            clamp(mul(add(sub(positive, negative), margin), valid), T(0), std::numeric_limits<T>::infinity());
        auto counted = Tensor<B, T>::empty(losses.shape());
        B::range_mask(counted.data(), losses.value().data(), losses.value().numel(),
                      -std::numeric_limits<T>::infinity(), T(1e-16), T(0), T(1));
        const auto count = add(sum(g.input(counted)), detail::constant(g, {1}, T(1e-16)));
        return div(sum(losses), count);
    }
};

// The mean over anchors of clamp(hardest positive - hardest negative + margin, min=0).
template <Backend B, Scalar T>
class BatchHardTripletLoss : public BatchTripletLossBase<B, T> {
public:
    explicit BatchHardTripletLoss(BatchTripletLossOptions options = {})
        : BatchTripletLossBase<B, T>(options, "BatchHardTripletLoss") {}

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        const auto batch = this->prepare(g, columns, labels);
        const auto gap = detail::hardest_gap(g, batch.distances, batch.masks);
        const auto margin = detail::constant(g, {1}, T(this->options_.margin));
        return mean(clamp(add(gap, margin), T(0), std::numeric_limits<T>::infinity()));
    }
};

struct BatchHardSoftMarginTripletLossOptions {
    BatchHardTripletLossDistanceFunction distance_metric =
        BatchHardTripletLossDistanceFunction::euclidean_distance;
};

// The mean over anchors of softplus(hardest positive - hardest negative): no margin.
template <Backend B, Scalar T>
class BatchHardSoftMarginTripletLoss : public BatchTripletLossBase<B, T> {
public:
    using Options = BatchHardSoftMarginTripletLossOptions;
    explicit BatchHardSoftMarginTripletLoss(Options options = {})
        : BatchTripletLossBase<B, T>({.distance_metric = options.distance_metric},
                                     "BatchHardSoftMarginTripletLoss") {}

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        const auto batch = this->prepare(g, columns, labels);
        const auto gap = detail::hardest_gap(g, batch.distances, batch.masks);
        // softplus(x) = -log_sigmoid(-x); torch's softplus returns x itself above 20,
        // where the two differ by less than 3e-9.
        return mean(scale(log_sigmoid(scale(gap, T(-1))), T(-1)));
    }
};

// The sum over anchor-positive pairs of max(d(a, p) - d(a, n) + margin, 0), n the pair's
// semi-hard negative (the closest negative farther than p; without one, the farthest
// negative), over the number of anchor-positive pairs.
template <Backend B, Scalar T>
class BatchSemiHardTripletLoss : public BatchTripletLossBase<B, T> {
public:
    explicit BatchSemiHardTripletLoss(BatchTripletLossOptions options = {})
        : BatchTripletLossBase<B, T>(options, "BatchSemiHardTripletLoss") {}

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        const auto batch = this->prepare(g, columns, labels);
        const auto& d = batch.distances;
        const index_t n = d.shape()[0];
        auto chosen = Ids<B>::empty({n * n});
        B::semi_hard_negatives(chosen.data(), d.value().data(), batch.labels.data(), n);
        const auto negative = reshape(gather_rows(reshape(d, {n * n, 1}), chosen), {n, n});
        const auto margin = detail::constant(g, {1}, T(this->options_.margin));
        const auto positives = g.input(batch.masks.anchor_positive);
        const auto losses = mul(add(sub(d, negative), margin), positives);
        // torch.max(x, 0) splits the gradient of a tie at 0 between its two sides.
        const auto kept =
            scale(add(relu(losses), clamp(losses, T(0), std::numeric_limits<T>::infinity())), T(0.5));
        const auto count = clamp(sum(positives), T(1e-16), std::numeric_limits<T>::infinity());
        return div(sum(kept), count);
    }
};

}  // namespace tandem
