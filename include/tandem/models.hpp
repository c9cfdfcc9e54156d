// Model families: CLIP (and the DualEncoder it is built from) and BERT, with Hugging
// Face checkpoint loading and saving.
#pragma once

#include <tandem/models/bert.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/models/text_batch.hpp>
