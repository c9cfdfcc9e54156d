// SequentialEvaluator: several evaluators, composed at compile time, run in order on the
// same embeddings; their metrics merged, plus `sequential_score` from the primary metric
// of each (the last one's by default).
// reference: sentence_transformers.base.evaluation.SequentialEvaluator.
#pragma once

#include <tandem/eval/concepts.hpp>

#include <functional>
#include <string>
#include <tuple>
#include <vector>

namespace tandem::eval {

template <class... Evaluators>
class SequentialEvaluator {
    static_assert(sizeof...(Evaluators) > 0, "SequentialEvaluator needs at least one evaluator");
    static_assert((Evaluator<Evaluators> && ...),
                  "SequentialEvaluator: every part must be an Evaluator: callable as e(EmbeddingSet, "
                  "EvalContext) -> Metrics, with primary_metric() and greater_is_better()");

public:
    using MainScore = std::function<double(const std::vector<double>&)>;

    explicit SequentialEvaluator(
        std::tuple<Evaluators...> evaluators,
        MainScore main_score_function = [](const std::vector<double>& s) { return s.back(); })
        : evaluators_(std::move(evaluators)), main_score_(std::move(main_score_function)) {}
    explicit SequentialEvaluator(Evaluators... evaluators)
        : SequentialEvaluator(std::tuple<Evaluators...>(std::move(evaluators)...)) {}

    Metrics operator()(const EmbeddingSet& embeddings, const EvalContext& context = {}) {
        Metrics merged;
        std::vector<double> scores;
        std::apply(
            [&](auto&... e) {
                (
                    [&] {
                        const Metrics m = e(embeddings, context);
                        // A metric of the same name from a later evaluator wins, as in the dict merge.
                        for (const auto& [k, v] : m) merged[k] = v;
                        auto it = m.find(e.primary_metric());
                        scores.push_back(it != m.end() ? it->second : m.begin()->second);
                    }(),
                    ...);
            },
            evaluators_);
        merged["sequential_score"] = main_score_(scores);
        return merged;
    }

    std::string primary_metric() const { return "sequential_score"; }
    bool greater_is_better() const { return true; }
    std::tuple<Evaluators...>& evaluators() { return evaluators_; }

private:
    std::tuple<Evaluators...> evaluators_;
    MainScore main_score_;
};

// A tuple of evaluators, with or without a main score function, composes its elements.
template <class... Evaluators>
SequentialEvaluator(std::tuple<Evaluators...>) -> SequentialEvaluator<Evaluators...>;
template <class... Evaluators, class MainScore>
SequentialEvaluator(std::tuple<Evaluators...>, MainScore) -> SequentialEvaluator<Evaluators...>;

}  // namespace tandem::eval
