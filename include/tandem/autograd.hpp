// Reverse-mode autograd: the Graph tape, the parameter arena and the ops.
#pragma once

#include <tandem/autograd/graph.hpp>
#include <tandem/autograd/ops.hpp>
#include <tandem/autograd/parameter_store.hpp>
