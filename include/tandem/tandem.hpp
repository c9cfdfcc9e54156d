// tandem: multimodal embedding models and rerankers, header-only.
// Including this header brings in every layer.
#pragma once

#include <tandem/core.hpp>
#include <tandem/image.hpp>
#include <tandem/io.hpp>
#include <tandem/text.hpp>
