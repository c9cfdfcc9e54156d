// BinaryClassificationEvaluator: pairs labelled 1 (similar) or 0, scored by a similarity
// or a distance; the best accuracy and F1 over all thresholds (with those thresholds),
// precision and recall at the best F1, average precision and the Matthews correlation;
// metrics `cosine_accuracy`, `cosine_f1`, `cosine_ap`, ... and
// binary_classification_evaluation[_name]_results.csv.
// reference: sentence_transformers.sentence_transformer.evaluation.BinaryClassificationEvaluator
// (find_best_acc_and_threshold, find_best_f1_and_threshold; scikit-learn's
// average_precision_score and matthews_corrcoef).
#pragma once

#include <tandem/eval/metrics.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace tandem::eval {

// The constructor arguments of BinaryClassificationEvaluator after its data, under their Python names.
struct BinaryClassificationOptions {
    std::string name{};
    bool write_csv = true;
    std::optional<std::size_t> truncate_dim{};
    // Empty: "cosine" (a model's default).
    std::vector<std::string> similarity_fn_names{};
};

class BinaryClassificationEvaluator {
public:
    using Options = BinaryClassificationOptions;

    struct Scores {
        double accuracy, accuracy_threshold, f1, precision, recall, f1_threshold, ap, mcc;
    };

    explicit BinaryClassificationEvaluator(std::vector<int> labels, Options options = {})
        : labels_(std::move(labels)), options_(std::move(options)) {
        const std::string owner = "BinaryClassificationEvaluator";
        for (std::size_t i = 0; i < labels_.size(); ++i)
            if (labels_[i] != 0 && labels_[i] != 1)
                tandem::detail::throw_error(owner, ": labels[", i, "]: expected 0 or 1, found ", labels_[i]);
        if (labels_.empty())
            tandem::detail::throw_error(owner, ": labels: expected at least one pair, found none");
        names_ = options_.similarity_fn_names;
        if (names_.empty()) names_ = {"cosine"};
        for (const auto& n : names_) similarity_from_name(n, owner);
    }

    Metrics operator()(const EmbeddingSet& set, const EvalContext& context = {}) {
        return evaluate(detail::require(set, "embeddings1", "BinaryClassificationEvaluator"),
                        detail::require(set, "embeddings2", "BinaryClassificationEvaluator"), context);
    }

    template <class T>
    Metrics evaluate(const xt::xtensor<T, 2>& embeddings1, const xt::xtensor<T, 2>& embeddings2,
                     const EvalContext& context = {}) {
        const std::string owner = "BinaryClassificationEvaluator";
        const Matrix e1 = detail::truncate(to_matrix(embeddings1), options_.truncate_dim, owner);
        const Matrix e2 = detail::truncate(to_matrix(embeddings2), options_.truncate_dim, owner);
        detail::check_rows(e1, labels_.size(), "embeddings1 (one row per label)", owner);
        detail::check_same_shape(e1, e2, "embeddings1", "embeddings2", owner);
        Metrics metrics;
        std::vector<double> row;
        std::vector<Scores> all;
        for (const auto& name : names_) {
            const Similarity fn = similarity_from_name(name, owner);
            auto scores = pairwise_similarity(fn, e1, e2);
            // Distances are scored as distances, where lower means more similar (sentence-transformers
            // #3702).
            const bool greater_is_better = fn == Similarity::Cosine || fn == Similarity::Dot;
            if (!greater_is_better)
                for (double& s : scores) s = -s;
            const Scores s = compute(scores, greater_is_better);
            all.push_back(s);
            const std::vector<std::pair<const char*, double>> named = {
                {"accuracy", s.accuracy},
                {"accuracy_threshold", s.accuracy_threshold},
                {"f1", s.f1},
                {"precision", s.precision},
                {"recall", s.recall},
                {"f1_threshold", s.f1_threshold},
                {"ap", s.ap},
                {"mcc", s.mcc}};
            for (const auto& [metric, value] : named) {
                metrics[name + "_" + metric] = value;
                row.push_back(value);
            }
        }
        if (context.output_path && options_.write_csv) {
            std::vector<std::string> header = {"epoch", "steps"};
            for (const auto& name : names_)
                for (const char* m : {"accuracy", "accuracy_threshold", "f1", "precision", "recall",
                                      "f1_threshold", "ap", "mcc"})
                    header.push_back(name + "_" + m);
            append_csv(*context.output_path, csv_file(), header, context.epoch, context.steps, row);
        }
        if (names_.size() > 1) {
            auto best = [&](double Scores::*field) {
                double m = -std::numeric_limits<double>::infinity();
                for (const auto& s : all) m = std::max(m, s.*field);
                return m;
            };
            metrics["max_accuracy"] = best(&Scores::accuracy);
            metrics["max_accuracy_threshold"] = best(&Scores::accuracy_threshold);
            metrics["max_f1"] = best(&Scores::f1);
            metrics["max_f1_threshold"] = best(&Scores::f1_threshold);
            metrics["max_precision"] = best(&Scores::precision);
            metrics["max_recall"] = best(&Scores::recall);
            metrics["max_ap"] = best(&Scores::ap);
            metrics["max_mcc"] = best(&Scores::mcc);
        }
        primary_metric_ = (options_.name.empty() ? "" : options_.name + "_") +
                          (names_.size() > 1 ? std::string("max_ap") : names_.front() + "_ap");
        return prefix_name(metrics, options_.name);
    }

    // The best accuracy with its threshold: pairs sorted from most to least similar, a
    // threshold between each run of equal scores, starting from "every pair dissimilar".
    static std::pair<double, double> find_best_acc_and_threshold(const std::vector<double>& scores,
                                                                 const std::vector<int>& labels,
                                                                 bool high_score_more_similar) {
        const auto order = sorted(scores, high_score_more_similar);
        const double n = static_cast<double>(labels.size());
        long positive_so_far = 0;
        long remaining_negatives = std::count(labels.begin(), labels.end(), 0);
        double max_acc = static_cast<double>(remaining_negatives) / n;
        double best_threshold = std::nextafter(
            scores[order[0]], high_score_more_similar ? std::numeric_limits<double>::infinity()
                                                      : -std::numeric_limits<double>::infinity());
        for (std::size_t i = 0; i < order.size(); ++i) {
            const double score = scores[order[i]];
            if (labels[order[i]] == 1)
                ++positive_so_far;
            else
                --remaining_negatives;
            const bool last = i + 1 == order.size();
            if (!last && score == scores[order[i + 1]]) continue;
            const double acc = static_cast<double>(positive_so_far + remaining_negatives) / n;
            if (acc > max_acc) {
                max_acc = acc;
                best_threshold = last ? score : (score + scores[order[i + 1]]) / 2;
                // A rounded midpoint must not include the next run of scores.
                if (!last && best_threshold == scores[order[i + 1]]) best_threshold = score;
            }
        }
        return {max_acc, best_threshold};
    }

    // The best F1 with its precision, recall and threshold.
    static std::array<double, 4> find_best_f1_and_threshold(const std::vector<double>& scores,
                                                            const std::vector<int>& labels,
                                                            bool high_score_more_similar) {
        const auto order = sorted(scores, high_score_more_similar);
        double best_f1 = 0, best_precision = 0, best_recall = 0, threshold = 0;
        long extracted = 0, correct = 0;
        const long total_duplicates = std::count(labels.begin(), labels.end(), 1);
        for (std::size_t i = 0; i < order.size(); ++i) {
            const double score = scores[order[i]];
            ++extracted;
            if (labels[order[i]] == 1) ++correct;
            const bool last = i + 1 == order.size();
            if (!last && score == scores[order[i + 1]]) continue;
            if (correct == 0) continue;
            const double precision = static_cast<double>(correct) / static_cast<double>(extracted);
            const double recall = static_cast<double>(correct) / static_cast<double>(total_duplicates);
            const double f1 = 2 * precision * recall / (precision + recall);
            if (f1 > best_f1) {
                best_f1 = f1;
                best_precision = precision;
                best_recall = recall;
                threshold = last ? score : (score + scores[order[i + 1]]) / 2;
                if (!last && threshold == scores[order[i + 1]]) threshold = score;
            }
        }
        return {best_f1, best_precision, best_recall, threshold};
    }

    std::string primary_metric() const { return primary_metric_; }
    bool greater_is_better() const { return true; }
    std::string csv_file() const {
        return "binary_classification_evaluation" + (options_.name.empty() ? "" : "_" + options_.name) +
               "_results.csv";
    }

private:
    // Indices by score, most similar first; equal scores keep their order (Python's sorted).
    static std::vector<std::size_t> sorted(const std::vector<double>& scores, bool descending) {
        std::vector<std::size_t> order(scores.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return descending ? scores[a] > scores[b] : scores[a] < scores[b];
        });
        return order;
    }

    Scores compute(const std::vector<double>& scores, bool greater_is_better) const {
        Scores s{};
        std::tie(s.accuracy, s.accuracy_threshold) =
            find_best_acc_and_threshold(scores, labels_, greater_is_better);
        const auto f1 = find_best_f1_and_threshold(scores, labels_, greater_is_better);
        s.f1 = f1[0];
        s.precision = f1[1];
        s.recall = f1[2];
        s.f1_threshold = f1[3];
        std::vector<double> ranked = scores;
        if (!greater_is_better)
            for (double& v : ranked) v = -v;
        s.ap = average_precision(labels_, ranked);
        std::vector<int> predicted(scores.size());
        for (std::size_t i = 0; i < scores.size(); ++i)
            predicted[i] = greater_is_better ? scores[i] >= s.f1_threshold : scores[i] <= s.f1_threshold;
        s.mcc = matthews_corrcoef(labels_, predicted);
        return s;
    }

    std::vector<int> labels_;
    Options options_;
    std::vector<std::string> names_;
    std::string primary_metric_;
};

}  // namespace tandem::eval
