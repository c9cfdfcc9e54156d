// Optimizers.
#pragma once

#include <tandem/optim/adamw.hpp>
