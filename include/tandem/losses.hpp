// Training losses: the Loss concept and the contrastive losses of sentence-transformers
// and open_clip.
#pragma once

#include <tandem/losses/cached_multiple_negatives_ranking.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>
