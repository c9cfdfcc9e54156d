// The Evaluator concept: what the trainer and SequentialEvaluator call.
#pragma once

#include <tandem/eval/metrics.hpp>

#include <concepts>
#include <string>

namespace tandem::eval {

// Represents: an evaluation over embeddings already computed (the roles it reads, such as
// "queries" and "corpus", are keys of the EmbeddingSet), as a sentence-transformers
// evaluator is once its model has encoded the inputs.
// Requires: `e(embeddings, context)` returning the metrics by sentence-transformers v6
// names, `primary_metric()` naming the one used to choose a checkpoint (valid after a
// call), `greater_is_better()`.
// Ensures: with `context.output_path`, the evaluator's CSV row is appended there.
template <class E>
concept Evaluator = requires(E& e, const EmbeddingSet& embeddings, const EvalContext& context) {
    { e(embeddings, context) } -> std::same_as<Metrics>;
    { e.primary_metric() } -> std::convertible_to<std::string>;
    { e.greater_is_better() } -> std::same_as<bool>;
};

}  // namespace tandem::eval
