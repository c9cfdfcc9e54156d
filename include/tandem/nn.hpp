// Neural-network modules composed from autograd ops.
#pragma once

#include <tandem/nn/linear.hpp>
#include <tandem/nn/module.hpp>
