// Batch samplers: the BatchSampler concept and sentence-transformers v6's samplers.
#pragma once

#include <tandem/data/concepts.hpp>
#include <tandem/data/samplers/default.hpp>
#include <tandem/data/samplers/group_by_label.hpp>
#include <tandem/data/samplers/multi_dataset.hpp>
#include <tandem/data/samplers/no_duplicates.hpp>
