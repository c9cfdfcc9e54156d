// Distillation losses: a student's embeddings onto a teacher's (EmbedDistillLoss, and
// MSELoss, its mean-squared-error form), or a student's similarity scores onto a
// teacher's (MarginMSELoss on margins, DistillKLDivLoss on softmax distributions). The
// teacher's embeddings or scores arrive as the float label column.
// reference: sentence_transformers v6.3 losses/embed_distill.py, mse.py, margin_mse.py,
// distill_kl_div.py.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace tandem {

namespace detail {
// sim(a[i], b[i]) for every row: [rows]. reference: util.pairwise_cos_sim, pairwise_dot_score.
template <Backend B, Scalar T>
Var<B, T> pairwise_similarity(SimilarityFunction f, const Var<B, T>& a, const Var<B, T>& b) {
    if (f == SimilarityFunction::cos_sim) return sum(mul(l2_normalize(a), l2_normalize(b)), 1);
    return sum(mul(a, b), 1);
}

// The float label column, or an error naming what the loss needs.
template <Backend B, Scalar T>
const Tensor<B, T>& teacher_scores(std::string_view loss, const LossLabels<B, T>& labels,
                                   std::string_view meaning) {
    if (!labels.scores)
        throw_error(loss, ": needs a float label column (", meaning, "); got ",
                    labels.labels ? "integer class labels" : "no label column");
    return *labels.scores;
}
}  // namespace detail

enum class DistanceMetric { mse, l2, cosine };

struct EmbedDistillLossOptions {
    DistanceMetric distance_metric = DistanceMetric::cosine;
};

// Every column against the teacher's embeddings: labels [batch, dim] (one teacher
// embedding for every column) or [batch, columns, dim] (one per column); the mean over
// columns of each column's mean distance (mse: over every element; l2, cosine: over rows).
template <Backend B, Scalar T>
class EmbedDistillLoss {
public:
    using Options = EmbedDistillLossOptions;
    static constexpr LossInputs inputs{
        .min_columns = 1, .needs_labels = true, .columns_meaning = "(input_1, ...)"};

    explicit EmbedDistillLoss(Options options = {}, std::string_view name = "EmbedDistillLoss")
        : options_(options), name_(name) {}

    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name_, inputs, columns, labels);
        const auto& teacher =
            detail::teacher_scores(name_, labels, "teacher embeddings [batch, dim] or [batch, columns, dim]");
        const Shape& s = columns[0].shape();
        const auto n = static_cast<index_t>(columns.size());
        const Shape& t = teacher.shape();
        const bool shared = t.rank() == 2 && t[0] == s[0] && t[1] == s[1];
        const bool per_column = t.rank() == 3 && t[0] == s[0] && t[1] == n && t[2] == s[1];
        if (!shared && !per_column)
            detail::throw_error(name_, ": needs teacher embeddings of shape [", s[0], ", ", s[1], "] or [",
                                s[0], ", ", n, ", ", s[1], "] for ", n, n == 1 ? " column" : " columns",
                                " of embeddings ", s.str(), "; got labels of shape ", t.str());
        const auto all = g.input(shared ? teacher : teacher.reshape({s[0], n * s[1]}));
        Var<B, T> total;
        for (index_t c = 0; c < n; ++c) {
            const auto target = shared ? all : slice(all, 1, c * s[1], (c + 1) * s[1]);
            const auto d = distance(columns[static_cast<std::size_t>(c)], target);
            total = c == 0 ? d : add(total, d);
        }
        return scale(total, T(1) / T(n));
    }

private:
    Var<B, T> distance(const Var<B, T>& student, const Var<B, T>& teacher) const {
        const auto diff = sub(student, teacher);
        switch (options_.distance_metric) {
            case DistanceMetric::mse:
                return mean(mul(diff, diff));
            // ||x|| as x . x / ||x||, whose gradient is x / ||x||.
            case DistanceMetric::l2:
                return mean(sum(mul(diff, l2_normalize(diff)), 1));
            case DistanceMetric::cosine:
                break;
        }
        // reference: F.cosine_similarity divides by the product of the norms.
        const auto cos = detail::pairwise_similarity(SimilarityFunction::cos_sim, student, teacher);
        auto& g = detail::graph_of(name_, cos);
        return mean(sub(g.input(Tensor<B, T>::full(cos.shape(), T(1))), cos));
    }

    Options options_;
    std::string name_;
};

// The student's embeddings onto the teacher's by mean squared error: EmbedDistillLoss
// with distance_metric mse. (Versions before 6 concatenated the columns; with columns of
// one shape the mean over the concatenation is the mean of the columns' means.)
template <Backend B, Scalar T>
class MSELoss : public EmbedDistillLoss<B, T> {
public:
    MSELoss() : EmbedDistillLoss<B, T>({.distance_metric = DistanceMetric::mse}, "MSELoss") {}
};

struct MarginMSELossOptions {
    // Applied row by row (util.pairwise_dot_score, util.pairwise_cos_sim).
    SimilarityFunction similarity_fct = SimilarityFunction::dot_score;
};

// The student's margins sim(query, positive) - sim(query, negative_i) onto the teacher's,
// by mean squared error. Labels: the margins, [batch] or [batch, negatives], or the
// teacher's scores [batch, 1 + negatives] (positive first), whose margins are taken.
template <Backend B, Scalar T>
class MarginMSELoss {
public:
    using Options = MarginMSELossOptions;
    static constexpr const char* name = "MarginMSELoss";
    static constexpr LossInputs inputs{.min_columns = 3,
                                       .needs_labels = true,
                                       .columns_meaning = "(query, positive, negative_1, ..., negative_n)"};

    explicit MarginMSELoss(Options options = {}) : options_(options) {}
    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const auto& teacher = detail::teacher_scores(name, labels, "teacher margins or scores");
        const index_t batch = columns[0].shape()[0], negatives = static_cast<index_t>(columns.size()) - 2;
        const Shape& t = teacher.shape();
        auto target = g.input(teacher);
        // In sentence-transformers' order: scores first, then a vector of margins.
        if (t.rank() == 2 && t[0] == batch && t[1] == negatives + 1) {
            const auto positive = slice(target, 1, 0, 1);
            target = sub(concat(std::vector<Var<B, T>>(static_cast<std::size_t>(negatives), positive), 1),
                         slice(target, 1, 1, negatives + 1));
        } else if (t.rank() == 1 && t[0] == batch) {
            target = reshape(target, {batch, 1});
        }
        if (!(target.shape() == Shape{batch, negatives}))
            detail::throw_error(name, ": needs labels of shape [", batch, ", ", negatives, "] (margins) or [",
                                batch, ", ", negatives + 1, "] (scores)", negatives == 1 ? " or [" : "",
                                negatives == 1 ? std::to_string(batch) + "]" : "", " for ", negatives,
                                negatives == 1 ? " negative" : " negatives", "; got labels of shape ",
                                t.str());
        const auto positive = detail::pairwise_similarity(options_.similarity_fct, columns[0], columns[1]);
        std::vector<Var<B, T>> margins;
        for (std::size_t i = 2; i < columns.size(); ++i)
            margins.push_back(reshape(
                sub(positive, detail::pairwise_similarity(options_.similarity_fct, columns[0], columns[i])),
                {batch, 1}));
        const auto diff = sub(margins.size() == 1 ? margins[0] : concat(margins, 1), target);
        return mean(mul(diff, diff));
    }

private:
    Options options_;
};

struct DistillKLDivLossOptions {
    SimilarityFunction similarity_fct = SimilarityFunction::dot_score;
    double temperature = 1.0;
    // Each defaults to temperature.
    std::optional<double> student_temperature{};
    std::optional<double> teacher_temperature{};
};

// KL(teacher || student) between softmax distributions over each query's candidates:
// the student's scores sim(query, candidate_i) / student_temperature, the teacher's
// (labels [batch, candidates]) / teacher_temperature; batchmean, times
// student_temperature^2 so gradients keep their scale.
template <Backend B, Scalar T>
class DistillKLDivLoss {
public:
    using Options = DistillKLDivLossOptions;
    static constexpr const char* name = "DistillKLDivLoss";
    // A softmax over one candidate is constant: two at least.
    static constexpr LossInputs inputs{.min_columns = 3,
                                       .needs_labels = true,
                                       .columns_meaning = "(query, positive, negative_1, ..., negative_n)"};

    explicit DistillKLDivLoss(Options options = {})
        : options_(options),
          student_temperature_(options.student_temperature ? *options.student_temperature
                                                           : options.temperature),
          teacher_temperature_(options.teacher_temperature ? *options.teacher_temperature
                                                           : options.temperature) {
        for (const auto& [label, value] : {std::pair{"temperature", options_.temperature},
                                           std::pair{"student_temperature", student_temperature_},
                                           std::pair{"teacher_temperature", teacher_temperature_}})
            if (!(value > 0 && value < std::numeric_limits<double>::infinity()))
                detail::throw_error(name, ": ", label, " must be a positive finite number, got ", value);
    }

    const Options& options() const { return options_; }
    double student_temperature() const { return student_temperature_; }
    double teacher_temperature() const { return teacher_temperature_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const auto& teacher = detail::teacher_scores(name, labels, "teacher scores [batch, candidates]");
        const index_t batch = columns[0].shape()[0], ways = static_cast<index_t>(columns.size()) - 1;
        if (!(teacher.shape() == Shape{batch, ways}))
            detail::throw_error(name, ": needs teacher scores of shape [", batch, ", ", ways, "] for ", ways,
                                " candidate columns; got labels of shape ", teacher.shape().str());
        std::vector<Var<B, T>> scores;
        for (std::size_t i = 1; i < columns.size(); ++i)
            scores.push_back(reshape(
                detail::pairwise_similarity(options_.similarity_fct, columns[0], columns[i]), {batch, 1}));
        const auto student = log_softmax(scale(concat(scores, 1), T(1) / T(student_temperature())));
        // The teacher's side is constant: p log p and p, without a tape.
        Tensor<B, T> p, p_log_p;
        {
            NoGradGuard no_grad;
            const auto t = scale(g.input(teacher), T(1) / T(teacher_temperature()));
            const auto probabilities = softmax(t);
            p = probabilities.value();
            p_log_p = sum(mul(probabilities, log_softmax(t))).value();
        }
        // reference: nn.KLDivLoss(reduction="batchmean"): sum p (log p - log q) / batch.
        const auto kl = sub(g.input(p_log_p), sum(mul(g.input(p), student)));
        const double st = student_temperature();
        return scale(kl, T(st * st / double(batch)));
    }

private:
    Options options_;
    double student_temperature_, teacher_temperature_;
};

}  // namespace tandem
