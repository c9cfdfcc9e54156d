// ZeroShotClassificationEvaluator: images classified by the class whose prompt embedding
// is most similar, with one prompt per class or an ensemble ("a photo of a {}.", "a
// drawing of a {}.", ...) averaged as open_clip builds its zero-shot classifier: each
// prompt embedding normalised, the mean per class normalised again. Reports top-k
// accuracy (`top1_accuracy`, `top5_accuracy`) and appends to
// zero_shot_classification_evaluation[_name]_results.csv. sentence-transformers has no
// such evaluator; the names follow its conventions.
// reference: open_clip.zero_shot_classifier.build_zero_shot_classifier and
// open_clip_train.zero_shot (accuracy over topk (1, 5)).
#pragma once

#include <tandem/eval/metrics.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tandem::eval {

// The constructor arguments of ZeroShotClassificationEvaluator after its data, under their Python names.
struct ZeroShotClassificationOptions {
    std::vector<int> top_k{1, 5};
    // Rows of the prompt embeddings per class, class after class.
    std::size_t prompts_per_class = 1;
    std::string name{};
    bool write_csv = true;
    std::optional<std::size_t> truncate_dim{};
};

class ZeroShotClassificationEvaluator {
public:
    using Options = ZeroShotClassificationOptions;

    // labels[i]: the class of image i, in [0, classes).
    explicit ZeroShotClassificationEvaluator(std::vector<std::int64_t> labels, Options options = {})
        : labels_(std::move(labels)), options_(std::move(options)) {
        const std::string owner = "ZeroShotClassificationEvaluator";
        if (labels_.empty())
            tandem::detail::throw_error(owner, ": labels: expected at least one image, found none");
        if (options_.prompts_per_class == 0)
            tandem::detail::throw_error(owner, ": prompts_per_class: expected > 0, found 0");
        if (options_.top_k.empty())
            tandem::detail::throw_error(owner, ": top_k: expected at least one k, found none");
        for (int k : options_.top_k)
            if (k <= 0) tandem::detail::throw_error(owner, ": top_k: expected values > 0, found ", k);
    }

    Metrics operator()(const EmbeddingSet& set, const EvalContext& context = {}) {
        return evaluate(detail::require(set, "images", "ZeroShotClassificationEvaluator"),
                        detail::require(set, "prompts", "ZeroShotClassificationEvaluator"), context);
    }

    template <class T>
    Metrics evaluate(const xt::xtensor<T, 2>& images, const xt::xtensor<T, 2>& prompts,
                     const EvalContext& context = {}) {
        const std::string owner = "ZeroShotClassificationEvaluator";
        const Matrix img = detail::truncate(to_matrix(images), options_.truncate_dim, owner);
        const Matrix txt = detail::truncate(to_matrix(prompts), options_.truncate_dim, owner);
        detail::check_rows(img, labels_.size(), "images (one row per label)", owner);
        if (txt.shape()[1] != img.shape()[1])
            tandem::detail::throw_error(owner, ": prompts: expected ", img.shape()[1],
                                        " columns as the images, found ", txt.shape()[1]);
        const std::size_t per = options_.prompts_per_class;
        if (txt.shape()[0] == 0 || txt.shape()[0] % per != 0)
            tandem::detail::throw_error(owner,
                                        ": prompts: expected a positive multiple of prompts_per_class (", per,
                                        ") rows, found ", txt.shape()[0]);
        const std::size_t classes = txt.shape()[0] / per;
        for (std::size_t i = 0; i < labels_.size(); ++i)
            if (labels_[i] < 0 || static_cast<std::size_t>(labels_[i]) >= classes)
                tandem::detail::throw_error(owner, ": labels[", i, "]: expected a class in [0, ", classes,
                                            "), found ", labels_[i]);
        const Matrix classifier = class_embeddings(txt, classes, per);
        const Matrix logits = all_pairs_similarity(Similarity::Cosine, img, classifier);
        Metrics metrics;
        std::vector<double> row;
        std::vector<std::string> header = {"epoch", "steps"};
        for (int k : options_.top_k) {
            double correct = 0;
            for (std::size_t i = 0; i < labels_.size(); ++i) {
                const double target = logits(i, static_cast<std::size_t>(labels_[i]));
                std::size_t above = 0;
                for (std::size_t c = 0; c < classes; ++c) above += logits(i, c) > target;
                correct += above < static_cast<std::size_t>(k);
            }
            const std::string metric = "top" + std::to_string(k) + "_accuracy";
            metrics[metric] = correct / static_cast<double>(labels_.size());
            row.push_back(metrics[metric]);
            header.push_back(metric);
        }
        if (context.output_path && options_.write_csv)
            append_csv(*context.output_path, csv_file(), header, context.epoch, context.steps, row);
        primary_metric_ = (options_.name.empty() ? "" : options_.name + "_") + "top" +
                          std::to_string(options_.top_k.front()) + "_accuracy";
        return prefix_name(metrics, options_.name);
    }

    std::string primary_metric() const { return primary_metric_; }
    bool greater_is_better() const { return true; }
    std::string csv_file() const {
        return "zero_shot_classification_evaluation" + (options_.name.empty() ? "" : "_" + options_.name) +
               "_results.csv";
    }

private:
    // One unit vector per class: the normalised mean of its normalised prompt embeddings.
    static Matrix class_embeddings(const Matrix& prompts, std::size_t classes, std::size_t per) {
        const Matrix unit = detail::normalize_rows(prompts);
        Matrix out = xt::zeros<double>({classes, prompts.shape()[1]});
        for (std::size_t c = 0; c < classes; ++c)
            for (std::size_t p = 0; p < per; ++p)
                for (std::size_t j = 0; j < prompts.shape()[1]; ++j)
                    out(c, j) += unit(c * per + p, j) / static_cast<double>(per);
        return detail::normalize_rows(out);
    }

    std::vector<std::int64_t> labels_;
    Options options_;
    std::string primary_metric_;
};

}  // namespace tandem::eval
