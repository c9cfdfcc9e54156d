// The cross-encoder losses (namespace tandem::cross_encoder), over the scores a model gives
// its (query, document) pairs, as sentence_transformers.cross_encoder.losses names them.
#pragma once

#include <tandem/losses/cross_encoder_candidates.hpp>
#include <tandem/losses/cross_encoder_lambda.hpp>
#include <tandem/losses/cross_encoder_listwise.hpp>
#include <tandem/losses/cross_encoder_pointwise.hpp>
#include <tandem/losses/cross_encoder_scores.hpp>
