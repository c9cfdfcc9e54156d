// expect: SequentialEvaluator: every part must be an Evaluator: callable as e(EmbeddingSet, EvalContext) ->
// Metrics, with primary_metric() and greater_is_better()
#include <tandem/eval/sequential.hpp>

using namespace tandem;

// Computes metrics but cannot say which one chooses the best checkpoint.
struct NoPrimaryMetric {
    eval::Metrics operator()(const eval::EmbeddingSet&, const eval::EvalContext&) { return {}; }
    bool greater_is_better() const { return true; }
};

int main() { eval::SequentialEvaluator evaluator(NoPrimaryMetric{}); }
