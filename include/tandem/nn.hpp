// Neural-network modules composed from autograd ops.
#pragma once

#include <tandem/nn/activation.hpp>
#include <tandem/nn/attention.hpp>
#include <tandem/nn/attention_pooling.hpp>
#include <tandem/nn/dense.hpp>
#include <tandem/nn/embedding.hpp>
#include <tandem/nn/init.hpp>
#include <tandem/nn/layer_norm.hpp>
#include <tandem/nn/linear.hpp>
#include <tandem/nn/mlp.hpp>
#include <tandem/nn/module.hpp>
#include <tandem/nn/normalize.hpp>
#include <tandem/nn/patch_embedding.hpp>
#include <tandem/nn/pooling.hpp>
#include <tandem/nn/pooling_layer.hpp>
#include <tandem/nn/sequential.hpp>
#include <tandem/nn/transformer.hpp>
