// tandem: multimodal embedding models and rerankers, header-only.
// Including this header brings in every layer.
#pragma once

#include <tandem/autograd.hpp>
#include <tandem/backend.hpp>
#include <tandem/core.hpp>
#include <tandem/dist.hpp>
#include <tandem/eval.hpp>
#include <tandem/image.hpp>
#include <tandem/infer.hpp>
#include <tandem/io.hpp>
#include <tandem/losses.hpp>
#include <tandem/models.hpp>
#include <tandem/nn.hpp>
#include <tandem/optim.hpp>
#include <tandem/testing/gradcheck.hpp>
#include <tandem/text.hpp>
#include <tandem/train.hpp>
