// EmbeddingSimilarityEvaluator: Pearson and Spearman correlation between gold scores and
// the similarity of each pair of embeddings (cosine, euclidean, manhattan, dot), optionally
// after quantising both sides (`precision`); metrics `pearson_cosine`, `spearman_cosine`,
// ... and similarity_evaluation[_name][_precision]_results.csv.
// reference: sentence_transformers.sentence_transformer.evaluation.EmbeddingSimilarityEvaluator
// (encode with precision normalises, truncates first, and calibrates int8 on both sides).
#pragma once

#include <tandem/eval/metrics.hpp>
#include <tandem/eval/quantize.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace tandem::eval {

// The constructor arguments of EmbeddingSimilarityEvaluator after its data, under their Python names.
struct EmbeddingSimilarityOptions {
    std::optional<std::string> main_similarity{};
    // Empty: the main similarity alone, or "cosine" (a model's default) without one.
    std::vector<std::string> similarity_fn_names{};
    std::string name{};
    bool write_csv = true;
    std::optional<std::string> precision{};
    std::optional<std::size_t> truncate_dim{};
};

class EmbeddingSimilarityEvaluator {
public:
    using Options = EmbeddingSimilarityOptions;

    explicit EmbeddingSimilarityEvaluator(std::vector<double> scores, Options options = {})
        : scores_(std::move(scores)), options_(std::move(options)) {
        const std::string owner = "EmbeddingSimilarityEvaluator";
        if (scores_.size() < 2)
            tandem::detail::throw_error(owner, ": scores: expected at least 2 pairs, found ", scores_.size());
        if (options_.main_similarity) similarity_from_name(*options_.main_similarity, owner);
        names_ = options_.similarity_fn_names;
        if (names_.empty()) names_ = {options_.main_similarity.value_or("cosine")};
        for (const auto& n : names_) similarity_from_name(n, owner);
        if (options_.precision) precision_from_name(*options_.precision, owner);
    }

    Metrics operator()(const EmbeddingSet& set, const EvalContext& context = {}) {
        return evaluate(detail::require(set, "embeddings1", "EmbeddingSimilarityEvaluator"),
                        detail::require(set, "embeddings2", "EmbeddingSimilarityEvaluator"), context);
    }

    template <class T>
    Metrics evaluate(const xt::xtensor<T, 2>& embeddings1, const xt::xtensor<T, 2>& embeddings2,
                     const EvalContext& context = {}) {
        const std::string owner = "EmbeddingSimilarityEvaluator";
        Matrix e1 = detail::truncate(to_matrix(embeddings1), options_.truncate_dim, owner);
        Matrix e2 = detail::truncate(to_matrix(embeddings2), options_.truncate_dim, owner);
        detail::check_rows(e1, scores_.size(), "embeddings1 (one row per score)", owner);
        detail::check_same_shape(e1, e2, "embeddings1", "embeddings2", owner);
        if (options_.precision) {
            const Precision p = precision_from_name(*options_.precision, owner);
            e1 = detail::normalize_rows(e1);
            e2 = detail::normalize_rows(e2);
            Matrix ranges;
            if (p == Precision::Int8 || p == Precision::Uint8)
                ranges = quantization_ranges(xt::concatenate(xt::xtuple(e1, e2), 0));
            e1 = detail::quantized_values(e1, p, ranges);
            e2 = detail::quantized_values(e2, p, ranges);
        }
        Metrics metrics;
        std::vector<double> row;
        for (const auto& n : names_) {
            const auto sims = pairwise_similarity(similarity_from_name(n, owner), e1, e2);
            metrics["pearson_" + n] = pearson(scores_, sims);
            metrics["spearman_" + n] = spearman(scores_, sims);
            row.push_back(metrics["pearson_" + n]);
            row.push_back(metrics["spearman_" + n]);
        }
        if (context.output_path && options_.write_csv) {
            std::vector<std::string> header = {"epoch", "steps"};
            for (const auto& n : names_) {
                header.push_back(n + "_pearson");
                header.push_back(n + "_spearman");
            }
            append_csv(*context.output_path, csv_file(), header, context.epoch, context.steps, row);
        }
        if (names_.size() > 1) {
            double pearson_max = -1e300, spearman_max = -1e300;
            for (const auto& n : names_) {
                pearson_max = std::max(pearson_max, metrics["pearson_" + n]);
                spearman_max = std::max(spearman_max, metrics["spearman_" + n]);
            }
            metrics["pearson_max"] = pearson_max;
            metrics["spearman_max"] = spearman_max;
        }
        const std::string primary =
            options_.main_similarity
                ? "spearman_" + similarity_name(similarity_from_name(*options_.main_similarity, owner))
            : names_.size() > 1 ? std::string("spearman_max")
                                : "spearman_" + names_.front();
        primary_metric_ = (options_.name.empty() ? "" : options_.name + "_") + primary;
        return prefix_name(metrics, options_.name);
    }

    std::string primary_metric() const { return primary_metric_; }
    bool greater_is_better() const { return true; }
    std::string csv_file() const {
        return "similarity_evaluation" + (options_.name.empty() ? "" : "_" + options_.name) +
               (options_.precision ? "_" + *options_.precision : "") + "_results.csv";
    }

private:
    std::vector<double> scores_;
    Options options_;
    std::vector<std::string> names_;
    std::string primary_metric_;
};

}  // namespace tandem::eval
