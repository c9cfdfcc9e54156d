// Evaluators over embeddings, with sentence-transformers' definitions and metric names.
#pragma once

#include <tandem/eval/binary_classification.hpp>
#include <tandem/eval/concepts.hpp>
#include <tandem/eval/metrics.hpp>
#include <tandem/eval/quantize.hpp>
#include <tandem/eval/retrieval.hpp>
#include <tandem/eval/sequential.hpp>
#include <tandem/eval/similarity.hpp>
#include <tandem/eval/triplet.hpp>
#include <tandem/eval/zero_shot.hpp>
