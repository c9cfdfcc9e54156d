// Optimizers, learning-rate schedules and gradient clipping.
#pragma once

#include <tandem/optim/adamw.hpp>
#include <tandem/optim/clip_grad.hpp>
#include <tandem/optim/param_groups.hpp>
#include <tandem/optim/schedule.hpp>
#include <tandem/optim/sgd.hpp>
