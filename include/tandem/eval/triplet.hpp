// TripletEvaluator: the fraction of (anchor, positive, negative) triplets whose anchor is
// more similar to the positive than to the negative by more than a margin; metrics
// `cosine_accuracy`, ... (and `max_accuracy` with several functions) and
// triplet_evaluation[_name]_results.csv.
// reference: sentence_transformers.sentence_transformer.evaluation.TripletEvaluator.
#pragma once

#include <tandem/eval/metrics.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tandem::eval {

// The constructor arguments of TripletEvaluator after its data, under their Python names.
struct TripletOptions {
    std::optional<std::string> main_similarity_function{};
    // By similarity function; those not given are 0.
    std::map<std::string, double> margin{};
    std::string name{};
    bool write_csv = true;
    std::optional<std::size_t> truncate_dim{};
    // Empty: the main function alone, or "cosine" (a model's default) without one.
    std::vector<std::string> similarity_fn_names{};
};

class TripletEvaluator {
public:
    using Options = TripletOptions;

    explicit TripletEvaluator(Options options = {}) : options_(std::move(options)) {
        const std::string owner = "TripletEvaluator";
        if (options_.main_similarity_function)
            similarity_from_name(*options_.main_similarity_function, owner);
        names_ = options_.similarity_fn_names;
        if (names_.empty()) names_ = {options_.main_similarity_function.value_or("cosine")};
        for (const auto& n : names_) similarity_from_name(n, owner);
        for (const auto& [n, m] : options_.margin) similarity_from_name(n, owner + ": margin");
    }

    Metrics operator()(const EmbeddingSet& set, const EvalContext& context = {}) {
        return evaluate(detail::require(set, "anchors", "TripletEvaluator"),
                        detail::require(set, "positives", "TripletEvaluator"),
                        detail::require(set, "negatives", "TripletEvaluator"), context);
    }

    template <class T>
    Metrics evaluate(const xt::xtensor<T, 2>& anchors, const xt::xtensor<T, 2>& positives,
                     const xt::xtensor<T, 2>& negatives, const EvalContext& context = {}) {
        const std::string owner = "TripletEvaluator";
        const Matrix a = detail::truncate(to_matrix(anchors), options_.truncate_dim, owner);
        const Matrix p = detail::truncate(to_matrix(positives), options_.truncate_dim, owner);
        const Matrix n = detail::truncate(to_matrix(negatives), options_.truncate_dim, owner);
        detail::check_same_shape(a, p, "anchors", "positives", owner);
        detail::check_same_shape(a, n, "anchors", "negatives", owner);
        if (a.shape()[0] == 0)
            tandem::detail::throw_error(owner, ": anchors: expected at least one triplet, found 0");
        Metrics metrics;
        std::vector<double> row;
        for (const auto& name : names_) {
            const Similarity fn = similarity_from_name(name, owner);
            const auto pos = pairwise_similarity(fn, a, p);
            const auto neg = pairwise_similarity(fn, a, n);
            const auto it = options_.margin.find(name);
            const double margin = it == options_.margin.end() ? 0.0 : it->second;
            long correct = 0;
            for (std::size_t i = 0; i < pos.size(); ++i) correct += pos[i] > neg[i] + margin;
            // torch's .float().mean().item(): the fraction rounded to float32.
            const double accuracy = static_cast<float>(correct) / static_cast<float>(pos.size());
            metrics[name + "_accuracy"] = accuracy;
            row.push_back(accuracy);
        }
        if (context.output_path && options_.write_csv) {
            std::vector<std::string> header = {"epoch", "steps"};
            for (const auto& name : names_) header.push_back("accuracy_" + name);
            append_csv(*context.output_path, csv_file(), header, context.epoch, context.steps, row);
        }
        if (names_.size() > 1) metrics["max_accuracy"] = *std::max_element(row.begin(), row.end());
        const std::string primary =
            options_.main_similarity_function
                ? similarity_name(similarity_from_name(*options_.main_similarity_function, owner)) +
                      "_accuracy"
            : names_.size() > 1 ? std::string("max_accuracy")
                                : names_.front() + "_accuracy";
        primary_metric_ = (options_.name.empty() ? "" : options_.name + "_") + primary;
        return prefix_name(metrics, options_.name);
    }

    std::string primary_metric() const { return primary_metric_; }
    bool greater_is_better() const { return true; }
    std::string csv_file() const {
        return "triplet_evaluation" + (options_.name.empty() ? "" : "_" + options_.name) + "_results.csv";
    }

private:
    Options options_;
    std::vector<std::string> names_;
    std::string primary_metric_;
};

}  // namespace tandem::eval
