// Backends: the Backend concept, the CPU implementation and xtensor conversions.
#pragma once

#include <tandem/backend/concepts.hpp>
#include <tandem/backend/cpu.hpp>
#include <tandem/backend/xtensor.hpp>
