// The image layer: decoding (PIL's convert("RGB")), PIL-exact resizing, centre crops,
// HF image processors (CLIP, SigLIP) and training augmentations.
#pragma once

#include <tandem/image/augment.hpp>
#include <tandem/image/crop.hpp>
#include <tandem/image/decode.hpp>
#include <tandem/image/image.hpp>
#include <tandem/image/normalize.hpp>
#include <tandem/image/processor.hpp>
#include <tandem/image/resize.hpp>
#include <tandem/image/vilt_processor.hpp>
