// Trainer callbacks: user code called at the points of the training loop transformers'
// TrainerCallback names, which may stop training early through TrainerControl, and
// EarlyStoppingCallback, which stops when the metric that chooses the best model has not
// improved for `patience` evaluations.
// reference: transformers.TrainerCallback, TrainerControl, EarlyStoppingCallback.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/train/arguments.hpp>
#include <tandem/train/checkpoint.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace tandem {

using Metrics = std::map<std::string, double>;

// What a callback may ask of the loop; read after each call.
struct TrainerControl {
    bool should_training_stop = false;
};

class TrainerCallback {
public:
    using Args = SentenceTransformerTrainingArguments;
    virtual ~TrainerCallback() = default;

    virtual void on_train_begin(const Args&, const TrainerState&, TrainerControl&) {}
    virtual void on_epoch_begin(const Args&, const TrainerState&, TrainerControl&) {}
    virtual void on_step_end(const Args&, const TrainerState&, TrainerControl&) {}
    virtual void on_epoch_end(const Args&, const TrainerState&, TrainerControl&) {}
    // `logs` is the entry just appended to state.log_history.
    virtual void on_log(const Args&, const TrainerState&, TrainerControl&, const nlohmann::json& /*logs*/) {}
    // `metrics` carry the "eval_" prefix, as in log_history.
    virtual void on_evaluate(const Args&, const TrainerState&, TrainerControl&, const Metrics& /*metrics*/) {}
    // Called once `checkpoint` is complete on disk.
    virtual void on_save(const Args&, const TrainerState&, TrainerControl&,
                         const std::filesystem::path& /*checkpoint*/) {}
    virtual void on_train_end(const Args&, const TrainerState&, TrainerControl&) {}

    // A callback whose state must survive a resume names it here; the trainer stores
    // state() under that name in trainer_state.json's stateful_callbacks at each
    // checkpoint and hands it back to load_state on resume. reference: transformers'
    // ExportableState.
    virtual std::string state_name() const { return ""; }
    virtual nlohmann::json state() const { return nullptr; }
    virtual void load_state(const nlohmann::json& /*state*/) {}
};

namespace detail {
// The key of metric_for_best_model in the evaluation's metrics ("eval_" added when absent).
inline std::string best_metric_key(const std::string& metric) {
    return metric.starts_with("eval_") ? metric : "eval_" + metric;
}

// transformers' default: greater is better unless the metric is a loss.
inline bool greater_is_better(const SentenceTransformerTrainingArguments& args) {
    if (args.greater_is_better) return *args.greater_is_better;
    return !(args.metric_for_best_model && args.metric_for_best_model->ends_with("loss"));
}
}  // namespace detail

// Stops training after `patience` evaluations in a row that did not improve
// metric_for_best_model by more than `threshold`.
class EarlyStoppingCallback : public TrainerCallback {
public:
    explicit EarlyStoppingCallback(int patience = 1, double threshold = 0.0)
        : patience_(patience), threshold_(threshold) {
        if (patience < 1)
            detail::throw_error("EarlyStoppingCallback: patience must be at least 1, found ", patience);
    }

    void on_train_begin(const Args& args, const TrainerState&, TrainerControl&) override {
        if (!args.metric_for_best_model)
            detail::throw_error(
                "EarlyStoppingCallback needs metric_for_best_model in the training arguments");
        if (args.eval_strategy == "no")
            detail::throw_error(
                "EarlyStoppingCallback needs evaluations: set eval_strategy to steps or epoch");
    }

    void on_evaluate(const Args& args, const TrainerState&, TrainerControl& control,
                     const Metrics& metrics) override {
        const std::string key = detail::best_metric_key(*args.metric_for_best_model);
        const auto it = metrics.find(key);
        if (it == metrics.end())
            detail::throw_error("EarlyStoppingCallback: metric_for_best_model '", key,
                                "' is not among the evaluation's metrics");
        const double value = it->second;
        const bool greater = detail::greater_is_better(args);
        const bool improved = !best_ || (greater ? value - *best_ > threshold_ : *best_ - value > threshold_);
        if (improved) {
            best_ = value;
            waited_ = 0;
        } else if (++waited_ >= patience_) {
            control.should_training_stop = true;
        }
    }

    int evaluations_without_improvement() const { return waited_; }

    // transformers' layout, plus the best value so far, which this callback compares against.
    std::string state_name() const override { return "EarlyStoppingCallback"; }
    nlohmann::json state() const override {
        return {{"args", {{"early_stopping_patience", patience_}, {"early_stopping_threshold", threshold_}}},
                {"attributes",
                 {{"early_stopping_patience_counter", waited_},
                  {"best_metric", best_ ? nlohmann::json(*best_) : nlohmann::json(nullptr)}}}};
    }
    void load_state(const nlohmann::json& state) override {
        const detail::JsonObjectReader r(state, "stateful_callbacks: EarlyStoppingCallback");
        const auto attributes = r.object("attributes");
        waited_ = attributes.require<int>("early_stopping_patience_counter");
        best_ = attributes.get_optional<double>("best_metric");
    }

private:
    int patience_;
    double threshold_;
    std::optional<double> best_{};
    int waited_ = 0;
};

}  // namespace tandem
