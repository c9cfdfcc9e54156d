// Training losses: the Loss concepts and the sentence-transformers and open_clip losses:
// contrastive, contrastive tension, distillation, guided, MegaBatchMargin, pairs, SoftmaxLoss,
// triplets, and the wrappers (Matryoshka, adaptive layers).
#pragma once

#include <tandem/losses/cached_multiple_negatives_ranking.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/losses/contrastive_tension.hpp>
#include <tandem/losses/cross_encoder.hpp>
#include <tandem/losses/distill.hpp>
#include <tandem/losses/grad_cache.hpp>
#include <tandem/losses/guided.hpp>
#include <tandem/losses/mega_batch_margin.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>
#include <tandem/losses/pairs.hpp>
#include <tandem/losses/softmax.hpp>
#include <tandem/losses/triplet.hpp>
#include <tandem/losses/wrappers.hpp>
