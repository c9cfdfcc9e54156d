// Core types: errors, shapes, dtypes, the deterministic RNG, threads and tensors.
#pragma once

#include <tandem/core/bfloat16.hpp>
#include <tandem/core/dtype.hpp>
#include <tandem/core/error.hpp>
#include <tandem/core/memory.hpp>
#include <tandem/core/rng.hpp>
#include <tandem/core/shape.hpp>
#include <tandem/core/tensor.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/core/thread.hpp>
#include <tandem/core/version.hpp>
