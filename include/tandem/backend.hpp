// Backends: the Backend concept and the CPU implementation.
#pragma once

#include <tandem/backend/concepts.hpp>
#include <tandem/backend/cpu.hpp>
