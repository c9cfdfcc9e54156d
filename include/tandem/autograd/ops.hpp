// Every differentiable op. Each computes its value with backend kernels and records a
// hand-written backward on the Graph of its inputs.
#pragma once

#include <tandem/autograd/ops/attention.hpp>
#include <tandem/autograd/ops/clamp.hpp>
#include <tandem/autograd/ops/elementwise.hpp>
#include <tandem/autograd/ops/embedding.hpp>
#include <tandem/autograd/ops/logsumexp.hpp>
#include <tandem/autograd/ops/loss.hpp>
#include <tandem/autograd/ops/matmul.hpp>
#include <tandem/autograd/ops/norm.hpp>
#include <tandem/autograd/ops/reduce.hpp>
#include <tandem/autograd/ops/shape.hpp>
#include <tandem/autograd/ops/softmax.hpp>
