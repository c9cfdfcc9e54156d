// Hugging Face model configurations (config.json) for the towers tandem builds: one
// header per model family under io/config/, gathered here for the models that include
// them all.
#pragma once

#include <tandem/io/config/bert.hpp>
#include <tandem/io/config/blip.hpp>
#include <tandem/io/config/clip.hpp>
#include <tandem/io/config/siglip.hpp>
#include <tandem/io/config/vilt.hpp>
