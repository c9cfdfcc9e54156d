// Model families: CLIP and SigLIP (and the DualEncoder they are built from) and BERT,
// with Hugging Face checkpoint loading and saving; PooledTower for sentence-transformers' pooling.
#pragma once

#include <tandem/core/text_batch.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/pooled_tower.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/models/siglip.hpp>
