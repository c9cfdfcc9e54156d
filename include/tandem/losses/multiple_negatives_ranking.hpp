// MultipleNegativesRankingLoss (InfoNCE with in-batch negatives) and its symmetric form:
// each anchor must score its own positive above every other document of the batch (the
// other positives and every hard-negative column), optionally also each document its own
// query, each query against the other queries and each document against the other
// documents, under one softmax or one per direction.
// reference: sentence_transformers v6 losses/multiple_negatives_ranking.py and
// multiple_negatives_symmetric_ranking.py.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// reference: sentence_transformers.util.cos_sim, util.dot_score.
enum class SimilarityFunction { cos_sim, dot_score };

enum class Direction { query_to_doc, query_to_query, doc_to_query, doc_to_doc };
enum class PartitionMode { joint, per_direction };
enum class HardnessMode { none, in_batch_negatives, hard_negatives, all_negatives };

struct MultipleNegativesRankingLossOptions {
    // Similarities are multiplied by scale (1 / temperature).
    double scale = 20.0;
    SimilarityFunction similarity_fct = SimilarityFunction::cos_sim;
    // Which interaction terms form the softmax; query_to_doc holds the positive and is required.
    std::vector<Direction> directions = {Direction::query_to_doc};
    // joint: one softmax over every direction; per_direction: one each, log-partitions averaged.
    PartitionMode partition_mode = PartitionMode::joint;
    // Adds hardness_strength * stop_gradient(similarity) to the chosen negatives' logits.
    HardnessMode hardness_mode = HardnessMode::none;
    double hardness_strength = 0.0;
};

// The loss over embeddings: column 0 holds the anchors (queries), column 1 their
// positives, any further column one hard negative per anchor.
template <Backend B, Scalar T>
class MultipleNegativesRankingLoss {
public:
    using Options = MultipleNegativesRankingLossOptions;
    static constexpr LossInputs inputs{.min_columns = 2,
                                       .columns_meaning = "(anchor, positive, negative_1, ..., negative_n)"};

    explicit MultipleNegativesRankingLoss(Options options = {},
                                          std::string_view name = "MultipleNegativesRankingLoss")
        : options_(std::move(options)), name_(name) {
        validate();
    }

    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels = {}) const {
        detail::check_loss_inputs<B, T>(name_, inputs, columns, labels);
        const index_t rows = columns[0].shape()[0];
        return rows_loss(g, columns, 0, rows);
    }

    // The share of the loss that anchors [begin, end) contribute (their summed terms over
    // the batch size), against the whole batch's documents: the batch's loss is the sum of
    // these over any split of the rows. GradCache computes it a few rows at a time.
    Var<B, T> rows_loss(Graph<B, T>& g, const std::vector<Var<B, T>>& columns, index_t begin,
                        index_t end) const {
        const index_t batch = columns[0].shape()[0], m = end - begin;
        const index_t docs = batch * static_cast<index_t>(columns.size() - 1);
        const bool cos = options_.similarity_fct == SimilarityFunction::cos_sim;
        // cos_sim normalises each side of every product; normalising each column once is the same.
        auto prepare = [&](const Var<B, T>& x) { return cos ? l2_normalize(x) : x; };
        const auto queries = prepare(columns[0]);
        const auto docs_all = prepare(
            columns.size() == 2 ? columns[1]
                                : concat(std::vector<Var<B, T>>(columns.begin() + 1, columns.end()), 0));
        const auto local_queries = slice(queries, 0, begin, end);
        const auto local_docs = slice(docs_all, 0, begin, end);
        const T inf = std::numeric_limits<T>::infinity();
        // Rows [begin, end) of the identity, repeated across the column blocks.
        auto own = [&](index_t cols, T diagonal, T off) {
            auto t = Tensor<B, T>::empty({m, cols});
            if (t.numel()) B::fill_diagonal_blocks(t.data(), m, cols, begin, batch, diagonal, off);
            return g.input(t);
        };

        auto query_to_doc = matmul(local_queries, docs_all, false, true);  // [m, docs]
        const Tensor<B, T> raw_query_to_doc = query_to_doc.value();
        query_to_doc = scale(query_to_doc, T(options_.scale));
        if (options_.hardness_mode != HardnessMode::none && options_.hardness_strength > 0)
            query_to_doc = add(query_to_doc, hardness_penalty(g, raw_query_to_doc, own, batch, docs));
        // In sentence-transformers' order, whatever the order of `directions`.
        std::vector<Var<B, T>> scores = {query_to_doc};
        const auto scaled = [&](const Var<B, T>& x) { return scale(x, T(options_.scale)); };
        if (has(Direction::query_to_query))
            // Each query's similarity to itself is removed.
            scores.push_back(
                add(scaled(matmul(local_queries, queries, false, true)), own(batch, -inf, T(0))));
        if (has(Direction::doc_to_query)) scores.push_back(scaled(matmul(local_docs, queries, false, true)));
        if (has(Direction::doc_to_doc))
            // A document is not compared with the documents of its own query (itself included).
            scores.push_back(add(scaled(matmul(local_docs, docs_all, false, true)), own(docs, -inf, T(0))));

        // The positive of anchor begin + r sits at column begin + r of query_to_doc.
        auto flat = Ids<B>::empty({m});
        const auto positive_columns = arange<B>(m, begin);
        if (m) B::flat_index(flat.data(), positive_columns.data(), m, docs);
        const auto positives = reshape(gather_rows(reshape(query_to_doc, {m * docs, 1}), flat), {m});

        Var<B, T> log_z;
        if (options_.partition_mode == PartitionMode::joint) {
            log_z = logsumexp(scores.size() == 1 ? scores[0] : concat(scores, 1));
        } else {
            log_z = logsumexp(scores[0]);
            for (std::size_t k = 1; k < scores.size(); ++k) log_z = add(log_z, logsumexp(scores[k]));
            log_z = scale(log_z, T(1) / T(scores.size()));
        }
        return scale(sum(sub(log_z, positives)), T(1) / T(batch));
    }

private:
    bool has(Direction x) const {
        const auto& d = options_.directions;
        return std::find(d.begin(), d.end(), x) != d.end();
    }

    void validate() const {
        const auto& d = options_.directions;
        if (!(options_.scale > 0))
            detail::throw_error(name_, ": scale must be a positive value, found ", options_.scale);
        if (d.empty()) detail::throw_error(name_, ": at least one direction must be specified");
        if (!has(Direction::query_to_doc))
            detail::throw_error(name_,
                                ": the 'query_to_doc' direction is required (it holds the positive pair)");
        for (std::size_t i = 0; i < d.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (d[i] == d[j]) detail::throw_error(name_, ": a direction is listed twice");
        if (options_.partition_mode == PartitionMode::per_direction &&
            (has(Direction::query_to_query) || has(Direction::doc_to_doc)))
            detail::throw_error(name_,
                                ": partition_mode 'per_direction' requires every direction's candidates to "
                                "include the positive pair; 'query_to_query' and 'doc_to_doc' never do (use "
                                "partition_mode 'joint')");
        if (options_.hardness_strength < 0)
            detail::throw_error(name_, ": hardness_strength must be non-negative, found ",
                                options_.hardness_strength);
    }

    // hardness_strength * stop_gradient(raw query_to_doc) on the chosen negatives, 0 elsewhere.
    template <class Own>
    Var<B, T> hardness_penalty(Graph<B, T>& g, const Tensor<B, T>& raw, Own& own, index_t batch,
                               index_t docs) const {
        Var<B, T> keep;
        if (options_.hardness_mode == HardnessMode::in_batch_negatives) {
            // Everything but the query's own positive and hard negatives.
            keep = own(docs, T(0), T(1));
        } else {
            // The positives' block: nothing (hard_negatives) or the other queries' positives
            // (all_negatives); the hard-negative blocks: the own ones, or all of them.
            const bool all = options_.hardness_mode == HardnessMode::all_negatives;
            std::vector<Var<B, T>> blocks = {own(batch, T(0), all ? T(1) : T(0))};
            if (docs > batch) blocks.push_back(own(docs - batch, T(1), all ? T(1) : T(0)));
            keep = blocks.size() == 1 ? blocks[0] : concat(blocks, 1);
        }
        return scale(mul(g.input(raw), keep), T(options_.hardness_strength));
    }

    Options options_;
    std::string name_;
};

// Query to doc and doc to query, one softmax each: (forward + backward) / 2.
// reference: sentence_transformers MultipleNegativesSymmetricRankingLoss (deprecated in v6
// for MultipleNegativesRankingLoss with these options, which it is).
struct MultipleNegativesSymmetricRankingLossOptions {
    double scale = 20.0;
    SimilarityFunction similarity_fct = SimilarityFunction::cos_sim;
};

template <Backend B, Scalar T>
class MultipleNegativesSymmetricRankingLoss : public MultipleNegativesRankingLoss<B, T> {
public:
    using Options = MultipleNegativesSymmetricRankingLossOptions;
    explicit MultipleNegativesSymmetricRankingLoss(Options options = {})
        : MultipleNegativesRankingLoss<B, T>(
              {.scale = options.scale,
               .similarity_fct = options.similarity_fct,
               .directions = {Direction::query_to_doc, Direction::doc_to_query},
               .partition_mode = PartitionMode::per_direction},
              "MultipleNegativesSymmetricRankingLoss") {}
};

}  // namespace tandem
