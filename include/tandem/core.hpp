// Core types: errors, shapes, dtypes, the deterministic RNG, threads and tensors.
#pragma once

#include <tandem/core/error.hpp>
