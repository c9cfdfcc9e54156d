// The Loss concept: what the trainer hands a loss and what it gets back. A loss reads
// the embeddings of each dataset column in order (anchor, positive, negatives...), plus
// the label column when the dataset has one, and returns a scalar to backpropagate.
// A cached loss (GradCache) needs the model itself: it is handed a column encoder and
// runs its own forward and backward passes.
// reference: sentence_transformers losses' forward(sentence_features, labels) and
// compute_loss_from_embeddings(embeddings, labels).
#pragma once

#include <tandem/autograd/ops/common.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// The label column of a batch: integer class labels, float scores, or neither.
template <Backend B, Scalar T>
struct LossLabels {
    std::optional<Ids<B>> labels;
    std::optional<Tensor<B, T>> scores;

    bool empty() const { return !labels && !scores; }
};

// Represents: an objective over the embeddings of one batch.
// Requires: loss(graph, columns, labels) with one Var [batch, dim] per dataset column.
// Ensures: a one-element Var on `graph`; backward() on it fills every gradient the
// embeddings (and the loss's own parameters, if any) need.
template <class L, class B, class T>
concept EmbeddingLoss = Backend<B> && Scalar<T> &&
    requires(const L& loss, Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
             const LossLabels<B, T>& labels) {
    { loss(g, columns, labels) } -> std::same_as<Var<B, T>>;
};

// encode(graph, column, begin_row, end_row): embeddings [end_row - begin_row, dim] of
// rows [begin_row, end_row) of one dataset column, recorded on `graph`.
template <Backend B, Scalar T>
using ColumnEncoder = std::function<Var<B, T>(Graph<B, T>&, int column, index_t begin, index_t end)>;

// Represents: an objective that encodes the batch itself, in pieces (GradCache).
// Requires: loss.forward_backward(encode, columns, rows, labels, options), with `columns`
// dataset columns of `rows` rows each.
// Ensures: the loss value (0-d); the gradient of the loss with respect to every parameter
// the encoder reads has been accumulated into its ParameterStore.
template <class L, class B, class T>
concept CachedLoss = Backend<B> && Scalar<T> &&
    requires(const L& loss, const ColumnEncoder<B, T>& encode, int columns, index_t rows,
             const LossLabels<B, T>& labels, const GraphOptions& options) {
    { loss.forward_backward(encode, columns, rows, labels, options) } -> std::same_as<Tensor<B, T>>;
};

template <class L, class B, class T>
concept Loss = EmbeddingLoss<L, B, T> || CachedLoss<L, B, T>;

// Represents: an objective guided by a second, frozen model (GISTEmbedLoss).
// Requires: loss(graph, columns, guide_columns, labels): the student's embeddings of each
// column as for an EmbeddingLoss, and the guide model's embeddings of the same rows of the
// same columns, [batch, guide_dim] each, computed by the caller without a tape (the guide
// is not trained; any EmbeddingModel may be the guide, its width need not be the student's).
// Ensures: as EmbeddingLoss; no gradient reaches the guide.
template <class L, class B, class T>
concept GuidedLoss = Backend<B> && Scalar<T> &&
    requires(const L& loss, Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
             const std::vector<Tensor<B, T>>& guide_columns, const LossLabels<B, T>& labels) {
    { loss(g, columns, guide_columns, labels) } -> std::same_as<Var<B, T>>;
};

// Represents: the GradCache form of a guided objective (CachedGISTEmbedLoss).
// Requires: loss.forward_backward(encode, columns, rows, guide_columns, labels, options):
// as CachedLoss, with the guide's embeddings of all `rows` rows of every column.
template <class L, class B, class T>
concept CachedGuidedLoss = Backend<B> && Scalar<T> &&
    requires(const L& loss, const ColumnEncoder<B, T>& encode, int columns, index_t rows,
             const std::vector<Tensor<B, T>>& guide_columns, const LossLabels<B, T>& labels,
             const GraphOptions& options) {
    {
        loss.forward_backward(encode, columns, rows, guide_columns, labels, options)
        } -> std::same_as<Tensor<B, T>>;
};

// Represents: an objective over the embeddings after every layer of the model
// (AdaptiveLayerLoss, Matryoshka2dLoss).
// Requires: loss(graph, layers, labels), layers[l][c] the embeddings [batch, dim] of column c
// pooled from hidden state l (0: the embedding layer's output; the last: the model's output,
// the columns an EmbeddingLoss sees), each recorded on `graph`.
// Ensures: as EmbeddingLoss, gradients reaching every layer's embeddings.
template <class L, class B, class T>
concept LayerwiseLoss = Backend<B> && Scalar<T> &&
    requires(const L& loss, Graph<B, T>& g, const std::vector<std::vector<Var<B, T>>>& layers,
             const LossLabels<B, T>& labels) {
    { loss(g, layers, labels) } -> std::same_as<Var<B, T>>;
};

// For entry points that take any loss: the first line of the error says what is missing.
template <class L, class B, class T>
consteval bool check_loss() {
    static_assert(Loss<L, B, T>,
                  "a loss must be callable as loss(Graph<B, T>&, const std::vector<Var<B, T>>& columns, "
                  "const LossLabels<B, T>&) -> Var<B, T>, or provide forward_backward(ColumnEncoder<B, T>, "
                  "columns, rows, LossLabels<B, T>, GraphOptions) -> Tensor<B, T> (a cached loss)");
    return true;
}

// What a loss reads from a batch, for the checks that name both what it needs and what
// it got.
struct LossInputs {
    std::size_t min_columns = 2;
    // 0: any number of columns from min_columns on.
    std::size_t max_columns = 0;
    bool needs_labels = false;
    // How the columns are read, for the error message ("(anchor, positive, negative_1, ...)").
    std::string_view columns_meaning = "";
};

namespace detail {
inline std::string columns_needed(const LossInputs& in) {
    std::string s = std::to_string(in.min_columns);
    if (in.max_columns == 0)
        s += " or more";
    else if (in.max_columns != in.min_columns)
        s += " to " + std::to_string(in.max_columns);
    return s + (in.min_columns == 1 && in.max_columns == 1 ? " column" : " columns");
}

// Fails with one message naming the loss, what it needs and what it was given.
template <Backend B, Scalar T>
void check_loss_inputs(std::string_view loss, const LossInputs& in, std::size_t columns, index_t rows,
                       const LossLabels<B, T>& labels) {
    const bool too_few = columns < in.min_columns, too_many = in.max_columns && columns > in.max_columns;
    if (too_few || too_many || (in.needs_labels && labels.empty()))
        throw_error(loss, ": needs ", columns_needed(in),
                    in.columns_meaning.empty() ? "" : " " + std::string(in.columns_meaning),
                    in.needs_labels ? " and a label column" : "", "; got ", columns,
                    columns == 1 ? " column" : " columns",
                    labels.empty() ? " and no label column" : " and a label column");
    if (rows == 0) throw_error(loss, ": the batch is empty (0 rows)");
}

template <Backend B, Scalar T>
void check_loss_inputs(std::string_view loss, const LossInputs& in, const std::vector<Var<B, T>>& columns,
                       const LossLabels<B, T>& labels) {
    check_loss_inputs<B, T>(loss, in, columns.size(), columns.empty() ? 0 : columns[0].shape()[0], labels);
    const Shape& first = columns[0].shape();
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i].shape().rank() != 2 || !(columns[i].shape() == first))
            throw_error(loss, ": every column must be embeddings [batch, dim] of one shape; column 0 is ",
                        first.str(), ", column ", i, " is ", columns[i].shape().str());
}
}  // namespace detail

}  // namespace tandem
